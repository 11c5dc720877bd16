// The Azure provider through the real @azure/arm-network client against the ARM simulator (long-running operations
// take time, ETags change on every write): each reconcile runs as the controller runs it (validate → observe → plan
// → apply, again after a pending answer's delay), and the simulator's state is checked after.
//
// Public by default (Sluice's public IP, its address in status), internal with a subnet and a static address,
// ETP Local probes, source ranges and service tags in the NSG, annotations in place and back to their defaults, a
// missing public IP named by loadBalancerIP, the user's public IP by azure-pip-name (never deleted), internal ↔
// public switches, node changes, removal that leaves nothing, and a restart that adopts without writing.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadBalancerIntent, TargetNode } from '../../src/intent/types.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { AzureProvider, type AzureProviderOptions } from '../../src/providers/azure/provider.ts';
import type { ApplyResult } from '../../src/providers/provider.ts';
import { plainIntent } from '../harness/intent-fixture.ts';
import type { JsonObject } from '../sim/azure/json.ts';
import { LOCATION, NODES, RG, startTestSimulator, type TestSimulator } from '../sim/azure/testing.ts';

const CLUSTER = 'kube';
const A = 'service.beta.kubernetes.io/';
const NODE_LIST: TargetNode[] = NODES.map((ip, i) => ({
  name: `node-${i}`,
  labels: {},
  internalAddresses: [ip],
}));

let t: TestSimulator;
const providers: AzureProvider[] = [];

before(async () => {
  // Operations take a while, as in Azure (scaled down): every reconcile meets Updating states.
  t = await startTestSimulator({ settings: { provisioningDelayMs: 150 } });
  t.sim.seed.publicIPAddress({ resourceGroup: RG, name: 'users-own-ip', ipAddress: '198.19.7.7' });
  t.sim.seed.resourceGroup({ name: 'net-rg', location: LOCATION });
  t.sim.seed.publicIPAddress({ resourceGroup: 'net-rg', name: 'team-ip', ipAddress: '198.19.8.8' });
});
afterEach(async () => {
  for (const p of providers.splice(0)) await p.idle();
  t.sim.reset();
  t.sim.seed.publicIPAddress({ resourceGroup: RG, name: 'users-own-ip', ipAddress: '198.19.7.7' });
  t.sim.seed.resourceGroup({ name: 'net-rg', location: LOCATION });
  t.sim.seed.publicIPAddress({ resourceGroup: 'net-rg', name: 'team-ip', ipAddress: '198.19.8.8' });
});
after(async () => {
  await t.sim.stop();
});

function newProvider(extra: Partial<AzureProviderOptions> = {}): AzureProvider {
  const provider = new AzureProvider({
    subscriptionId: t.sim.subscriptionId,
    resourceGroup: RG,
    location: LOCATION,
    vnetName: 'vnet',
    subnetName: 'nodes',
    cluster: CLUSTER,
    logger: createLogger(process.env.SLUICE_TEST_LOG ?? 'silent'),
    endpoint: t.sim.endpoint,
    credential: t.sim.credential,
    caCertificate: t.sim.caCertificate,
    requeueMs: 60,
    pollIntervalMs: 25,
    coalesceMs: 20,
    readMaxAgeMs: 0,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
  providers.push(provider);
  return provider;
}

function uid(n: number): string {
  return `${String(n).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd`;
}

function frontendOf(n: number): string {
  return `a${uid(n).replace(/-/g, '')}`;
}

function service(n: number, overrides: Partial<LoadBalancerIntent> = {}): LoadBalancerIntent {
  return plainIntent({
    service: { namespace: 'shop', name: `web-${n}`, uid: uid(n) },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 + n }],
    nodes: NODE_LIST,
    ...overrides,
  });
}

/** One reconcile as the controller runs it. */
async function reconcile(provider: AzureProvider, intent: LoadBalancerIntent): Promise<ApplyResult> {
  const errors = (provider.validate?.(intent) ?? []).filter((p) => p.severity === 'error');
  assert.deepEqual(errors, [], 'the Service is valid');
  const observed = await provider.observe(intent);
  return provider.apply(intent, provider.plan(intent, observed));
}

/** Reconciles until the answer is not pending (the controller's requeue, compressed). */
async function settle(
  provider: AzureProvider,
  intent: LoadBalancerIntent,
  rounds = 80,
): Promise<ApplyResult> {
  for (let i = 0; i < rounds; i++) {
    const result = await reconcile(provider, intent);
    if (result.kind !== 'pending') return result;
    await sleep(result.retryAfterMs);
  }
  assert.fail(`${intent.service.name} still pending after ${rounds} reconciles`);
}

async function ready(provider: AzureProvider, intent: LoadBalancerIntent): Promise<string> {
  const result = await settle(provider, intent);
  assert.equal(result.kind, 'ready', JSON.stringify(result));
  const ip = result.kind === 'ready' ? result.ingress[0]?.ip : undefined;
  assert.ok(ip);
  return ip;
}

async function removeUntilGone(provider: AzureProvider, intent: LoadBalancerIntent): Promise<void> {
  for (let i = 0; i < 80; i++) {
    const result = await provider.remove(intent.service, `shop/${intent.service.name}`);
    if (result.kind === 'gone') return;
    await sleep(result.retryAfterMs);
  }
  assert.fail(`${intent.service.name} not removed`);
}

// ---- reading the simulator's state (ARM's wire shape: { name, properties }) ----------------------------------

function props(resource: JsonObject | undefined): JsonObject {
  return (resource?.properties as JsonObject | undefined) ?? {};
}

function list(resource: JsonObject | undefined, key: string): JsonObject[] {
  return (props(resource)[key] as JsonObject[] | undefined) ?? [];
}

function loadBalancer(name: string): JsonObject | undefined {
  return t.sim.resource(t.ids.lb(name));
}

function child(resource: JsonObject | undefined, key: string, name: string): JsonObject {
  const found = list(resource, key).find((c) => c.name === name);
  assert.ok(found, `${key}/${name} in ${resource?.name}`);
  return props(found);
}

function publicIps(group = RG): JsonObject[] {
  return (
    t.sim
      .snapshot()
      .subscriptions[0]?.resourceGroups.find((g) => g.name === group)
      ?.publicIPAddresses.map((p) => p) ?? []
  );
}

function securityRules(): JsonObject[] {
  return list(t.sim.resource(t.ids.nsg('cluster-nsg')), 'securityRules');
}

function rulesOf(n: number): JsonObject[] {
  return securityRules().filter((r) => String(r.name).startsWith(`${frontendOf(n)}-`));
}

function writes(): number {
  const byCall = t.sim.counters().byCall;
  return Object.entries(byCall)
    .filter(([call]) => /^(PUT|PATCH|DELETE) /.test(call))
    .reduce((sum, [, n]) => sum + n, 0);
}

function nameOf(id: unknown): string {
  return (
    String((id as { id?: string } | undefined)?.id ?? '')
      .split('/')
      .at(-1) ?? ''
  );
}

describe('Azure provider against the ARM simulator', () => {
  it('public by default: a Standard static public IP Sluice creates (tagged), its address in status, rules and probes, open to the Internet', async () => {
    const provider = newProvider();
    const intent = service(1, {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 },
        { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 },
      ],
    });
    const ip = await ready(provider, intent);

    const pip = publicIps().find((p) => p.name === `${CLUSTER}-${frontendOf(1)}`);
    assert.ok(pip, 'Sluice created the public IP');
    assert.equal(props(pip).ipAddress, ip, 'status carries the public IP address');
    assert.equal(props(pip).publicIPAllocationMethod, 'Static');
    assert.equal((pip.sku as JsonObject).name, 'Standard');
    assert.deepEqual(pip.tags, {
      'sluice.dev-cluster': CLUSTER,
      'sluice.dev-service': 'shop/web-1',
      'sluice.dev-service-uid': uid(1),
    });

    const lb = loadBalancer(CLUSTER);
    assert.equal(props(lb).provisioningState, 'Succeeded');
    assert.equal(nameOf(child(lb, 'frontendIPConfigurations', frontendOf(1)).publicIPAddress), pip.name);
    const tcp = child(lb, 'loadBalancingRules', `${frontendOf(1)}-TCP-80`);
    assert.equal(tcp.protocol, 'Tcp');
    assert.equal(tcp.frontendPort, 80);
    assert.equal(tcp.backendPort, 80, 'floating IP: backend port = service port');
    assert.equal(tcp.enableFloatingIP, true);
    assert.equal(tcp.enableTcpReset, true);
    assert.equal(tcp.idleTimeoutInMinutes, 4);
    assert.equal(tcp.loadDistribution, 'Default');
    assert.equal(nameOf(tcp.probe), `${frontendOf(1)}-TCP-80`);
    const tcpProbe = child(lb, 'probes', `${frontendOf(1)}-TCP-80`);
    assert.deepEqual([tcpProbe.protocol, tcpProbe.port], ['Tcp', 30080], 'TCP probe on the NodePort');
    const udp = child(lb, 'loadBalancingRules', `${frontendOf(1)}-UDP-53`);
    assert.equal(udp.enableTcpReset, false);
    const udpProbe = child(lb, 'probes', nameOf(udp.probe));
    assert.deepEqual([udpProbe.protocol, udpProbe.port, udpProbe.requestPath], ['Http', 10256, '/healthz']);

    const pool = child(lb, 'backendAddressPools', CLUSTER);
    assert.deepEqual(
      (pool.loadBalancerBackendAddresses as JsonObject[]).map((a) => [a.name, props(a).ipAddress]),
      NODE_LIST.map((n) => [n.name, n.internalAddresses[0]]),
      'IP-based pool with every node',
    );

    const rules = rulesOf(1);
    assert.deepEqual(
      rules.map((r) => [
        r.name,
        props(r).sourceAddressPrefix,
        props(r).destinationAddressPrefixes,
        props(r).access,
      ]),
      [
        [`${frontendOf(1)}-allow-TCP-tag-Internet`, 'Internet', [ip], 'Allow'],
        [`${frontendOf(1)}-allow-UDP-tag-Internet`, 'Internet', [ip], 'Allow'],
      ],
    );

    // Steady state: a resync reads and writes nothing.
    t.sim.resetCounters();
    assert.equal((await reconcile(provider, intent)).kind, 'ready');
    await provider.idle();
    assert.equal(writes(), 0, JSON.stringify(t.sim.counters().byCall));
  });

  it('internal with a subnet and a static address; internal with the default subnet and a dynamic one', async () => {
    const provider = newProvider();
    const pinned = service(2, {
      internal: true,
      requestedAddresses: ['10.10.1.50'],
      annotations: {
        [`${A}azure-load-balancer-internal`]: 'true',
        [`${A}azure-load-balancer-internal-subnet`]: 'internal',
      },
    });
    const dynamic = service(3, { annotations: { [`${A}azure-load-balancer-internal`]: 'true' } });
    const [ipPinned, ipDynamic] = await Promise.all([ready(provider, pinned), ready(provider, dynamic)]);
    assert.equal(ipPinned, '10.10.1.50');
    assert.match(ipDynamic, /^10\.10\.0\./, 'an address of the default subnet');
    assert.ok(!NODES.includes(ipDynamic), 'not a node address');

    const lb = loadBalancer(`${CLUSTER}-internal`);
    const pinnedFe = child(lb, 'frontendIPConfigurations', frontendOf(2));
    assert.equal(pinnedFe.privateIPAllocationMethod, 'Static');
    assert.equal(pinnedFe.privateIPAddress, '10.10.1.50');
    assert.equal(nameOf(pinnedFe.subnet), 'internal');
    assert.equal(nameOf(child(lb, 'frontendIPConfigurations', frontendOf(3)).subnet), 'nodes');
    assert.equal(loadBalancer(CLUSTER), undefined, 'no public load balancer');
    assert.deepEqual(
      publicIps().map((p) => p.name),
      ['users-own-ip'],
      'no public IP created',
    );
    assert.deepEqual([...rulesOf(2), ...rulesOf(3)], [], 'no source named: the VNet rule admits the VNet');
  });

  it('externalTrafficPolicy Local: one HTTP probe on healthCheckNodePort /healthz for every rule', async () => {
    const provider = newProvider();
    const intent = service(4, {
      trafficPolicy: 'Local',
      healthCheckNodePort: 32123,
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, nodePort: 30081 },
        { name: 'https', protocol: 'TCP', port: 443, nodePort: 30443 },
      ],
    });
    await ready(provider, intent);
    const lb = loadBalancer(CLUSTER);
    const probes = list(lb, 'probes').filter((p) => String(p.name).startsWith(frontendOf(4)));
    assert.deepEqual(
      probes.map((p) => [p.name, props(p).protocol, props(p).port, props(p).requestPath]),
      [[`${frontendOf(4)}-HTTP-32123`, 'Http', 32123, '/healthz']],
    );
    for (const port of [80, 443]) {
      assert.equal(
        nameOf(child(lb, 'loadBalancingRules', `${frontendOf(4)}-TCP-${port}`).probe),
        `${frontendOf(4)}-HTTP-32123`,
      );
    }
  });

  it('source ranges and service tags become NSG allow rules (and a deny rule) to the frontend; removed, the Internet default returns', async () => {
    const provider = newProvider();
    const restricted = service(5, {
      sourceRanges: ['203.0.113.0/24', '198.51.100.7/32'],
      sourceRangesField: 'spec.loadBalancerSourceRanges',
      annotations: {
        [`${A}azure-allowed-service-tags`]: 'AzureFrontDoor.Backend',
        [`${A}azure-deny-all-except-load-balancer-source-ranges`]: 'true',
      },
    });
    const ip = await ready(provider, restricted);
    const fe = frontendOf(5);
    const rules: JsonObject[] = rulesOf(5).map((r) => ({ name: r.name ?? null, ...props(r) }));
    const byName = new Map(rules.map((r) => [r.name, r]));
    assert.deepEqual([...byName.keys()].sort(), [
      `${fe}-allow-TCP-ranges`,
      `${fe}-allow-TCP-tag-AzureFrontDoor.Backend`,
      `${fe}-deny-TCP`,
    ]);
    const ranges = byName.get(`${fe}-allow-TCP-ranges`);
    assert.deepEqual(ranges?.sourceAddressPrefixes, ['198.51.100.7/32', '203.0.113.0/24']);
    assert.deepEqual(ranges?.destinationAddressPrefixes, [ip]);
    assert.deepEqual(ranges?.destinationPortRanges, ['80']);
    assert.equal(
      byName.get(`${fe}-allow-TCP-tag-AzureFrontDoor.Backend`)?.sourceAddressPrefix,
      'AzureFrontDoor.Backend',
    );
    const deny = byName.get(`${fe}-deny-TCP`);
    assert.equal(deny?.access, 'Deny');
    for (const rule of rules) {
      assert.ok(
        Number(rule.priority) >= 500 && Number(rule.priority) <= 4096,
        'priority in the managed range',
      );
    }
    assert.ok(
      rules.filter((r) => r.access === 'Allow').every((r) => Number(r.priority) < Number(deny?.priority)),
      'allows come before the deny',
    );

    // Every restriction removed: back to the default (open to the Internet), no rule of the old ones left.
    await ready(provider, service(5));
    assert.deepEqual(
      rulesOf(5).map((r) => [r.name, props(r).sourceAddressPrefix]),
      [[`${fe}-allow-TCP-tag-Internet`, 'Internet']],
    );
  });

  it('annotations change the rules and probes in place; removed, each returns to its default', async () => {
    const provider = newProvider();
    const annotated = service(6, {
      sessionAffinity: 'ClientIP',
      annotations: {
        [`${A}azure-load-balancer-tcp-idle-timeout`]: '30',
        [`${A}azure-load-balancer-disable-tcp-reset`]: 'true',
        [`${A}azure-disable-load-balancer-floating-ip`]: 'true',
        [`${A}azure-load-balancer-health-probe-protocol`]: 'Http',
        [`${A}azure-load-balancer-health-probe-request-path`]: '/ready',
        [`${A}azure-load-balancer-health-probe-interval`]: '10',
        [`${A}azure-load-balancer-health-probe-num-of-probe`]: '3',
        [`${A}azure-dns-label-name`]: 'shop-web-6',
      },
    });
    const ip = await ready(provider, annotated);
    const fe = frontendOf(6);
    let lb = loadBalancer(CLUSTER);
    let rule = child(lb, 'loadBalancingRules', `${fe}-TCP-80`);
    assert.deepEqual(
      [
        rule.idleTimeoutInMinutes,
        rule.enableTcpReset,
        rule.enableFloatingIP,
        rule.backendPort,
        rule.loadDistribution,
      ],
      [30, false, false, 30086, 'SourceIP'],
    );
    let probe = child(lb, 'probes', `${fe}-TCP-80`);
    assert.deepEqual(
      [probe.protocol, probe.port, probe.requestPath, probe.intervalInSeconds, probe.numberOfProbes],
      ['Http', 30086, '/ready', 10, 3],
    );
    const pip = () => publicIps().find((p) => p.name === `${CLUSTER}-${fe}`);
    assert.equal((props(pip()).dnsSettings as JsonObject | undefined)?.domainNameLabel, 'shop-web-6');
    // Floating IP off: packets reach the nodes' own addresses, so those are the NSG destinations.
    assert.deepEqual(props(rulesOf(6)[0]).destinationAddressPrefixes, [...NODES].sort());
    assert.deepEqual(props(rulesOf(6)[0]).destinationPortRanges, ['30086']);

    assert.equal(await ready(provider, service(6)), ip, 'the same public IP');
    lb = loadBalancer(CLUSTER);
    rule = child(lb, 'loadBalancingRules', `${fe}-TCP-80`);
    assert.deepEqual(
      [
        rule.idleTimeoutInMinutes,
        rule.enableTcpReset,
        rule.enableFloatingIP,
        rule.backendPort,
        rule.loadDistribution,
      ],
      [4, true, true, 80, 'Default'],
    );
    probe = child(lb, 'probes', `${fe}-TCP-80`);
    assert.deepEqual(
      [probe.protocol, probe.port, probe.intervalInSeconds, probe.numberOfProbes],
      ['Tcp', 30086, 5, 2],
    );
    assert.equal(props(pip()).dnsSettings, undefined, 'the DNS label is gone');
    assert.deepEqual(props(rulesOf(6)[0]).destinationAddressPrefixes, [ip]);
  });

  it('loadBalancerIP naming a public IP that does not exist: failed, saying it must be created there first; nothing created', async () => {
    const provider = newProvider();
    const result = await settle(provider, service(7, { requestedAddresses: ['198.19.250.1'] }));
    assert.equal(result.kind, 'failed');
    if (result.kind === 'failed') {
      assert.equal(result.reason, 'PublicIPNotFound');
      assert.match(
        result.message,
        /no public IP in resource group sluice-rg has the address 198\.19\.250\.1/,
      );
      assert.match(result.message, /must be created there first/);
    }
    const named = await settle(provider, service(7, { annotations: { [`${A}azure-pip-name`]: 'nope' } }));
    assert.equal(named.kind === 'failed' && named.reason, 'PublicIPNotFound');
    assert.equal(loadBalancer(CLUSTER), undefined);
    assert.deepEqual(
      publicIps().map((p) => p.name),
      ['users-own-ip'],
    );
    assert.deepEqual(rulesOf(7), []);
  });

  it("loadBalancerIP of the user's public IP in the annotated resource group is used as it is", async () => {
    const provider = newProvider();
    const ip = await ready(
      provider,
      service(8, {
        requestedAddresses: ['198.19.8.8'],
        annotations: { [`${A}azure-load-balancer-resource-group`]: 'net-rg' },
      }),
    );
    assert.equal(ip, '198.19.8.8');
    const fe = child(loadBalancer(CLUSTER), 'frontendIPConfigurations', frontendOf(8));
    assert.match(String((fe.publicIPAddress as JsonObject).id), /resourceGroups\/net-rg\/.*\/team-ip$/);
    await removeUntilGone(provider, service(8));
    assert.deepEqual(
      publicIps('net-rg').map((p) => p.name),
      ['team-ip'],
      'never deleted',
    );
  });

  it("the user's public IP by azure-pip-name: Sluice's own is deleted once unused, the user's is never deleted", async () => {
    const provider = newProvider();
    const managedIp = await ready(provider, service(9));
    assert.ok(publicIps().some((p) => p.name === `${CLUSTER}-${frontendOf(9)}`));

    const named = service(9, { annotations: { [`${A}azure-pip-name`]: 'users-own-ip' } });
    const ip = await ready(provider, named);
    assert.equal(ip, '198.19.7.7');
    assert.notEqual(ip, managedIp);
    // Sluice's own IP goes once the frontend no longer uses it (its delete runs in the background).
    for (let i = 0; i < 40 && publicIps().length > 1; i++) {
      await reconcile(provider, named);
      await sleep(50);
    }
    assert.deepEqual(
      publicIps().map((p) => p.name),
      ['users-own-ip'],
    );

    await removeUntilGone(provider, named);
    assert.deepEqual(
      publicIps().map((p) => p.name),
      ['users-own-ip'],
      "the user's public IP stays",
    );
    const own = publicIps()[0];
    assert.equal(props(own).ipConfiguration, undefined, 'and is free again');
    assert.equal(loadBalancer(CLUSTER), undefined, 'a load balancer with no frontend left is deleted');
  });

  it('public → internal → public: the frontend moves between the load balancers; leftovers are removed', async () => {
    const provider = newProvider();
    await ready(provider, service(10));
    await ready(provider, service(11)); // keeps the public load balancer alive
    const internal = service(10, { annotations: { [`${A}azure-load-balancer-internal`]: 'true' } });
    await ready(provider, internal);
    for (let i = 0; i < 40; i++) {
      const lb = loadBalancer(CLUSTER);
      const left = list(lb, 'frontendIPConfigurations').some((f) => f.name === frontendOf(10));
      if (!left && !publicIps().some((p) => p.name === `${CLUSTER}-${frontendOf(10)}`)) break;
      await reconcile(provider, internal);
      await sleep(50);
    }
    assert.deepEqual(
      list(loadBalancer(CLUSTER), 'frontendIPConfigurations').map((f) => f.name),
      [frontendOf(11)],
    );
    assert.ok(
      list(loadBalancer(`${CLUSTER}-internal`), 'frontendIPConfigurations').some(
        (f) => f.name === frontendOf(10),
      ),
    );
    assert.ok(
      !publicIps().some((p) => p.name === `${CLUSTER}-${frontendOf(10)}`),
      "Sluice's public IP deleted",
    );

    await ready(provider, service(10));
    for (let i = 0; i < 40 && loadBalancer(`${CLUSTER}-internal`) !== undefined; i++) {
      await reconcile(provider, service(10));
      await sleep(50);
    }
    assert.equal(
      loadBalancer(`${CLUSTER}-internal`),
      undefined,
      'the internal load balancer, empty, is deleted',
    );
  });

  it('a node change updates the shared pool once for every Service', async () => {
    const provider = newProvider();
    const intents = [12, 13, 14].map((n) => service(n));
    await Promise.all(intents.map((i) => ready(provider, i)));
    await provider.idle();
    t.sim.resetCounters();
    const fewer = NODE_LIST.slice(0, 2);
    const results = await Promise.all(intents.map((i) => settle(provider, { ...i, nodes: fewer })));
    assert.ok(
      results.every((r) => r.kind === 'ready'),
      'the Services stay ready while the pool changes',
    );
    await provider.idle();
    const pool = child(loadBalancer(CLUSTER), 'backendAddressPools', CLUSTER);
    assert.deepEqual(
      (pool.loadBalancerBackendAddresses as JsonObject[]).map((a) => props(a).ipAddress),
      fewer.map((n) => n.internalAddresses[0]),
    );
    assert.equal(t.sim.counters().byCall['PUT loadBalancers'], 1, 'one write for three Services');
  });

  it('removal leaves nothing Sluice created; a restarted provider adopts what exists without a single write', async () => {
    const first = newProvider();
    const intents = [
      service(20),
      service(21, { annotations: { [`${A}azure-load-balancer-internal`]: 'true' } }),
      service(22, { sourceRanges: ['203.0.113.0/24'], sourceRangesField: 'spec.loadBalancerSourceRanges' }),
      service(23, { annotations: { [`${A}azure-pip-name`]: 'users-own-ip' } }),
    ];
    const addresses = await Promise.all(intents.map((i) => ready(first, i)));
    await first.idle();

    // A new process: nothing in memory. Every Service is ready at once, with the same address, and nothing is written.
    t.sim.resetCounters();
    const restarted = newProvider();
    const again = await Promise.all(intents.map((i) => reconcile(restarted, i)));
    assert.deepEqual(
      again.map((r) => (r.kind === 'ready' ? r.ingress[0]?.ip : r.kind)),
      addresses,
    );
    await restarted.idle();
    assert.equal(writes(), 0, JSON.stringify(t.sim.counters().byCall));

    const seededRules = securityRules().filter((r) => !/^a[0-9a-f]{32}-/.test(String(r.name)));
    await Promise.all(intents.map((i) => removeUntilGone(restarted, i)));
    assert.equal(loadBalancer(CLUSTER), undefined);
    assert.equal(loadBalancer(`${CLUSTER}-internal`), undefined);
    assert.deepEqual(
      publicIps().map((p) => p.name),
      ['users-own-ip'],
    );
    assert.deepEqual(securityRules(), seededRules, 'only the rules that were there before');
  });
});
