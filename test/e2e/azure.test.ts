// The Azure provider end to end: the real apiserver, the real kubectl, Sluice as a process with
// --provider=azure, and the ARM simulator behind the real @azure/arm-network client. Sluice signs in
// exactly as in a cluster with Azure Workload Identity: DefaultAzureCredential with a projected token
// file and three variables, against the simulator's Entra ID stand-in, over HTTPS with the simulator's
// CA given by --azure-ca-file.
//
// The docs' internal Service gets an internal frontend and its private IP; a Service without
// annotations a public IP Sluice creates; ETP Local an HTTP probe on healthCheckNodePort; source
// ranges reach the NSG (with the deny-all key, a deny rule after the allows); an edit is followed in
// place; the internal annotation added later moves the Service to the internal load balancer and
// removes its public entries and IP; loadBalancerIP naming a missing public IP is a clear Event until
// the IP exists, and that IP is never written or deleted; the backend pools follow nodes; 50 Services
// at once share one load balancer; a bad value, or a sharing key, is an Event and a condition; a
// restart writes nothing to ARM and nothing to the Services; deleting every Service leaves nothing
// Sluice created, and what the user owns (an NSG rule, public IPs, the VNet) exactly as it was.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import {
  armWrites,
  type LoadBalancerView,
  type ResourceGroupView,
  resourceGroupView,
  type SecurityRuleView,
  writesToPublicIp,
} from '../harness/azure-inspect.ts';
import { testCluster } from '../harness/test-cluster.ts';
import type { AzureSimulator } from '../sim/azure/simulator.ts';
import { ids, NODES, RG, standardSeed, startTestSimulator } from '../sim/azure/testing.ts';
import {
  clients,
  eventsFor,
  kubectl,
  readService,
  SluiceProcess,
  waitFor,
  waitForIngressIp,
} from './support.ts';

const CLASS = 'sluice.dev/e2e-azure';
const CLUSTER = 'e2e-azure';
const NS = 'e2e-azure';
const NSG = 'cluster-nsg';
const A = 'service.beta.kubernetes.io/';
const MANY = 50;
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
let sim: AzureSimulator;
let dir: string;
let sluice: SluiceProcess | undefined;
/** What the user owned before Sluice started, as the simulator returned it. */
let userOwned: ReturnType<typeof userResources>;

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));

function startSluice(): SluiceProcess {
  // What a pod with Azure Workload Identity sees (the simulator stands in for Entra ID); the child inherits them.
  Object.assign(process.env, {
    AZURE_AUTHORITY_HOST: sim.endpoint,
    AZURE_TENANT_ID: 'e2e-tenant',
    AZURE_CLIENT_ID: 'e2e-client',
    AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'),
  });
  return new SluiceProcess(cluster.kubeconfigPath, [
    '--provider=azure',
    `--azure-endpoint=${sim.endpoint}`,
    `--azure-ca-file=${join(dir, 'ca.pem')}`,
    `--azure-subscription-id=${sim.subscriptionId}`,
    `--azure-resource-group=${RG}`,
    '--azure-location=eastus',
    '--azure-vnet=vnet',
    '--azure-subnet=nodes',
    `--cluster-name=${CLUSTER}`,
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
    '--workers=8',
    '--backoff-base=0.2',
    '--backoff-max=2',
  ]);
}

async function node(name: string, ip: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { e2e: 'azure' } },
    spec: { providerID: `azure:///subscriptions/${sim.subscriptionId}/virtualMachines/${name}` },
    // A new Node keeps the status it is created with (as the kubelet registers one).
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  });
}

function service(
  name: string,
  annotations: Record<string, string>,
  spec: Record<string, unknown> = {},
): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, annotations },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      ...spec,
    },
  };
}

const ipOf = (name: string, timeoutMs = 60_000) =>
  waitForIngressIp(api.core, NS, name, timeoutMs, () => sluice?.tail() ?? '');

const arm = (): ResourceGroupView => resourceGroupView(sim, RG);
const loadBalancer = (internal: boolean, view = arm()): LoadBalancerView | undefined =>
  view.loadBalancers.find((lb) => lb.name === (internal ? `${CLUSTER}-internal` : CLUSTER));
const securityRules = (view = arm()): SecurityRuleView[] =>
  view.securityGroups.find((g) => g.name === NSG)?.rules ?? [];
const frontendOf = (svc: V1Service): string => `a${svc.metadata!.uid!.replace(/-/g, '')}`;
const ownedBy = (frontend: string) => (entry: { name: string }) =>
  entry.name === frontend || entry.name.startsWith(`${frontend}-`);
const sorted = (values: readonly string[]): string[] => [...values].sort();

/** The user's NSG rule, public IPs and VNet, as they must stay. */
function userResources(view = arm()) {
  return {
    rules: securityRules(view).filter((r) => !/^a[0-9a-f]{32}-/.test(r.name)),
    publicIps: view.publicIps
      .filter((p) => p.tags['sluice.dev-cluster'] === undefined)
      .map(({ name, ipAddress, tags }) => ({ name, ipAddress, tags }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    virtualNetworks: view.virtualNetworks,
  };
}

async function until(
  check: () => boolean,
  what: string,
  timeoutMs = 60_000,
  state: () => string = () => '',
): Promise<void> {
  await waitFor(check, timeoutMs, () => `${what}: ${state()}\n${sluice?.tail()}`);
}

async function conditionOf(name: string, match: (c: { reason: string; message: string }) => boolean) {
  let svc: V1Service | undefined;
  await waitFor(
    async () => {
      svc = await readService(api.core, NS, name);
      return svc?.status?.conditions?.some((c) => c.status === 'False' && match(c)) ?? false;
    },
    30_000,
    () => `${name}: no such condition: ${JSON.stringify(svc?.status)}\n${sluice?.tail()}`,
  );
  return svc!;
}

/** Waits for a Warning Event about the Service (the condition and the Event are written separately). */
async function warningEvent(
  name: string,
  match: (event: { reason?: string; note?: string }) => boolean,
): Promise<void> {
  let events: Awaited<ReturnType<typeof eventsFor>> = [];
  await waitFor(
    async () => {
      events = await eventsFor(api, NS, name);
      return events.some((e) => e.type === 'Warning' && match(e));
    },
    10_000,
    () => `${name}: no such Warning Event: ${JSON.stringify(events)}`,
  );
}

before(async () => {
  const seed = standardSeed();
  seed.networkSecurityGroups = [
    {
      resourceGroup: RG,
      name: NSG,
      securityRules: [
        {
          name: 'allow-ssh-from-vnet',
          properties: {
            protocol: 'Tcp',
            access: 'Allow',
            direction: 'Inbound',
            priority: 100,
            sourceAddressPrefix: '10.10.0.0/16',
            sourcePortRange: '*',
            destinationAddressPrefix: '*',
            destinationPortRange: '22',
          },
        },
      ],
    },
  ];
  seed.publicIPAddresses = [{ resourceGroup: RG, name: 'bastion-ip', tags: { team: 'ops' } }];
  ({ sim } = await startTestSimulator({ seed, settings: { provisioningDelayMs: 200 } }));
  userOwned = userResources();
  dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-azure-'));
  await writeFile(join(dir, 'ca.pem'), sim.caCertificate);
  // A projected service-account token as the kubelet writes it (the stand-in does not verify it).
  await writeFile(
    join(dir, 'token'),
    'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZTJlOnNsdWljZSJ9.',
  );
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await node('azure-node-a', NODES[0]!);
  await node('azure-node-b', NODES[1]!);
  sluice = startSluice();
});

after(async () => {
  await kubectl(cluster, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'node', '-l', 'e2e=azure', '--ignore-not-found']).catch(() => '');
  await sluice?.stop();
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('azure: Standard Load Balancers, end to end', () => {
  test('the docs internal Service gets an internal frontend and its private IP', async () => {
    // The Kubernetes docs' Service with the Azure internal annotation (and Sluice's class).
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'internal',
        namespace: NS,
        annotations: { [`${A}azure-load-balancer-internal`]: 'true' },
      },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: CLASS,
        selector: { 'app.kubernetes.io/name': 'MyApp' },
        ports: [{ protocol: 'TCP', port: 80, targetPort: 9376 }],
      },
    });
    const { ip, service: svc } = await ipOf('internal');
    const frontend = frontendOf(svc);
    const id = ids(sim.subscriptionId);
    const lbName = `${CLUSTER}-internal`;
    const view = arm();
    const lb = loadBalancer(true, view);
    assert.ok(lb, 'the internal load balancer');
    assert.equal(lb.sku, 'Standard');
    const config = lb.frontends.find((f) => f.name === frontend);
    assert.ok(config, 'the Service has its frontend');
    assert.equal(config.privateIPAddress, ip, 'the frontend address is in the status');
    assert.match(ip, /^10\.10\.0\.\d+$/, 'a private address in the node subnet');
    assert.ok(!NODES.includes(ip), 'not a node address');
    assert.equal(config.privateIPAllocationMethod, 'Dynamic');
    assert.equal(config.subnet?.toLowerCase(), id.subnet('nodes').toLowerCase(), 'in the configured subnet');
    assert.equal(config.publicIp, undefined);

    const nodePort = svc.spec!.ports![0]!.nodePort!;
    assert.deepEqual(
      lb.probes.filter(ownedBy(frontend)).map(({ name, protocol, port, intervalInSeconds }) => ({
        name,
        protocol,
        port,
        intervalInSeconds,
      })),
      [{ name: `${frontend}-TCP-80`, protocol: 'Tcp', port: nodePort, intervalInSeconds: 5 }],
      'a TCP probe on the NodePort',
    );
    const rules = lb.rules.filter(ownedBy(frontend));
    assert.equal(rules.length, 1, 'one rule for the one port');
    assert.deepEqual(rules[0], {
      name: `${frontend}-TCP-80`,
      frontend: id.frontend(lbName, frontend),
      backendPool: id.pool(lbName, CLUSTER),
      probe: id.probe(lbName, `${frontend}-TCP-80`),
      protocol: 'Tcp',
      frontendPort: 80,
      backendPort: 80,
      enableFloatingIP: true,
      enableTcpReset: true,
      idleTimeoutInMinutes: 4,
      loadDistribution: 'Default',
      disableOutboundSnat: true,
    });
    assert.deepEqual(lb.pools, { [CLUSTER]: sorted([NODES[0]!, NODES[1]!]) }, 'the nodes, by IP');
    assert.equal(loadBalancer(false, view), undefined, 'no public load balancer for an internal Service');
    assert.equal(view.publicIps.length, 1, 'no public IP made (only the seeded bastion-ip)');
    assert.deepEqual(
      securityRules(view).filter(ownedBy(frontend)),
      [],
      'an internal Service naming no source needs no NSG rule (AllowVnetInBound admits the VNet)',
    );
    // Signed in through Workload Identity (client assertion from the token file) and every ARM call carried it.
    const counters = sim.counters();
    assert.ok((counters.byCall['POST entra/token'] ?? 0) >= 1, JSON.stringify(counters.byCall));
    assert.equal(counters.unauthenticated, 0);
  });

  test('public by default, with a public IP Sluice creates; ETP Local probes healthCheckNodePort; source ranges reach the NSG', async () => {
    await apply(
      service(
        'web',
        { [`${A}azure-deny-all-except-load-balancer-source-ranges`]: 'true' },
        { externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'] },
      ),
    );
    const { ip, service: svc } = await ipOf('web');
    const frontend = frontendOf(svc);
    const view = arm();
    const pip = view.publicIps.find((p) => p.ipAddress === ip);
    assert.ok(pip, 'a public IP holds the address');
    assert.equal(pip.name, `${CLUSTER}-${frontend}`);
    assert.equal(pip.sku, 'Standard');
    assert.equal(pip.allocation, 'Static');
    assert.deepEqual(pip.tags, {
      'sluice.dev-cluster': CLUSTER,
      'sluice.dev-service': `${NS}/web`,
      'sluice.dev-service-uid': svc.metadata!.uid!,
    });
    const lb = loadBalancer(false, view);
    assert.ok(lb, `the public load balancer ${CLUSTER}`);
    assert.equal(lb.sku, 'Standard');
    const config = lb.frontends.find((f) => f.name === frontend);
    assert.equal(config?.publicIp?.toLowerCase(), pip.id.toLowerCase(), 'the frontend uses that public IP');
    assert.equal(pip.usedBy?.toLowerCase(), config?.id.toLowerCase());
    const probes = lb.probes.filter(ownedBy(frontend));
    assert.equal(probes.length, 1, JSON.stringify(probes));
    assert.equal(probes[0]!.protocol, 'Http');
    assert.equal(probes[0]!.port, svc.spec!.healthCheckNodePort);
    assert.equal(probes[0]!.requestPath, '/healthz');
    const rule = lb.rules.find((r) => r.name === `${frontend}-TCP-80`);
    assert.equal(rule?.probe.toLowerCase(), probes[0]!.id.toLowerCase(), 'the rule uses the HTTP probe');
    assert.deepEqual(lb.pools, { [CLUSTER]: sorted([NODES[0]!, NODES[1]!]) });

    // Source ranges: an allow rule from the range to the address and port, a deny rule for everyone else after it,
    // and no rule opening the Service to the Internet.
    const mine = securityRules(view).filter(ownedBy(frontend));
    assert.deepEqual(sorted(mine.map((r) => r.name)), [
      `${frontend}-allow-TCP-ranges`,
      `${frontend}-deny-TCP`,
    ]);
    const allow = mine.find((r) => r.access === 'Allow')!;
    const deny = mine.find((r) => r.access === 'Deny')!;
    assert.deepEqual(allow.sources, ['203.0.113.0/24']);
    assert.deepEqual(allow.destinations, [ip]);
    assert.deepEqual(allow.ports, ['80']);
    assert.deepEqual(deny.sources, ['*']);
    assert.deepEqual(deny.destinations, [ip]);
    assert.ok(allow.priority >= 500 && deny.priority <= 4096, `${allow.priority}, ${deny.priority}`);
    assert.ok(allow.priority < deny.priority, 'the allow rule is evaluated before the deny rule');
  });

  test('an edit is followed in place: ETP Cluster probes the NodePort, the NSG rules change, the address stays', async () => {
    const before = await readService(api.core, NS, 'web');
    const frontend = frontendOf(before!);
    const address = before!.status!.loadBalancer!.ingress![0]!.ip!;
    const allowPriority = securityRules().find((r) => r.name === `${frontend}-allow-TCP-ranges`)!.priority;
    // kubectl apply without the deny-all key removes it (it was in the last applied configuration).
    await apply(
      service(
        'web',
        {},
        {
          externalTrafficPolicy: 'Cluster',
          loadBalancerSourceRanges: ['203.0.113.0/24', '198.51.100.0/24'],
        },
      ),
    );
    const nodePort = before!.spec!.ports![0]!.nodePort!;
    const wanted = (view: ResourceGroupView): boolean => {
      const probes = loadBalancer(false, view)?.probes.filter(ownedBy(frontend)) ?? [];
      const rules = securityRules(view).filter(ownedBy(frontend));
      return (
        probes.length === 1 &&
        probes[0]!.protocol === 'Tcp' &&
        probes[0]!.port === nodePort &&
        rules.length === 1 &&
        JSON.stringify(rules[0]!.sources) === JSON.stringify(['198.51.100.0/24', '203.0.113.0/24'])
      );
    };
    await until(() => wanted(arm()), 'the probe and NSG rules follow the edit');
    const view = arm();
    const allow = securityRules(view).find((r) => r.name === `${frontend}-allow-TCP-ranges`)!;
    assert.equal(allow.priority, allowPriority, 'the rule kept its priority');
    assert.equal(
      view.publicIps.filter((p) => p.tags['sluice.dev-service'] === `${NS}/web`).length,
      1,
      'the same public IP',
    );
    const svc = await readService(api.core, NS, 'web');
    assert.equal(svc?.status?.loadBalancer?.ingress?.[0]?.ip, address, 'the address did not change');
  });

  test('the internal annotation added later moves the Service: a private frontend, and its public entries and IP are removed', async () => {
    await apply(service('flip', {}, { loadBalancerSourceRanges: ['192.0.2.0/24'] }));
    const { ip: publicAddress, service: svc } = await ipOf('flip');
    const frontend = frontendOf(svc);
    assert.ok(
      arm().publicIps.some((p) => p.name === `${CLUSTER}-${frontend}`),
      'public first, with its own public IP',
    );
    await apply(
      service(
        'flip',
        { [`${A}azure-load-balancer-internal`]: 'true' },
        { loadBalancerSourceRanges: ['192.0.2.0/24'] },
      ),
    );
    let address = publicAddress;
    await waitFor(
      async () => {
        address = (await readService(api.core, NS, 'flip'))?.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
        return address !== publicAddress && address !== '';
      },
      60_000,
      () => `flip still at ${address}\n${sluice?.tail()}`,
    );
    assert.match(address, /^10\.10\.0\.\d+$/, 'a private address in the node subnet');
    await until(() => {
      const view = arm();
      const publicLb = loadBalancer(false, view);
      return (
        [...(publicLb?.frontends ?? []), ...(publicLb?.rules ?? []), ...(publicLb?.probes ?? [])].filter(
          ownedBy(frontend),
        ).length === 0 && !view.publicIps.some((p) => p.name === `${CLUSTER}-${frontend}`)
      );
    }, "the public frontend, its rules and probe, and Sluice's public IP are removed");
    const view = arm();
    const internalLb = loadBalancer(true, view)!;
    assert.equal(
      internalLb.frontends.find((f) => f.name === frontend)?.privateIPAddress,
      address,
      'the internal frontend holds the new address',
    );
    const rules = securityRules(view).filter(ownedBy(frontend));
    assert.deepEqual(
      rules.map((r) => [r.name, r.sources, r.destinations]),
      [[`${frontend}-allow-TCP-ranges`, ['192.0.2.0/24'], [address]]],
      'the NSG rule now admits the range to the private address',
    );
  });

  test('loadBalancerIP naming a missing public IP: a clear Event until it exists, and it is never written or deleted', async () => {
    await apply(service('byo', {}, { loadBalancerIP: '198.19.50.50' }));
    const svc = await conditionOf('byo', (c) =>
      /198\.19\.50\.50.*must be created there first/.test(c.message),
    );
    const condition = svc.status!.conditions!.find((c) => c.status === 'False')!;
    assert.equal(condition.reason, 'PublicIPNotFound');
    assert.match(condition.message, new RegExp(`resource group ${RG}`));
    await warningEvent('byo', (e) => /198\.19\.50\.50.*created there first/.test(e.note ?? ''));
    const frontend = frontendOf(svc);
    assert.equal(
      loadBalancer(false)?.frontends.filter((f) => f.name === frontend).length ?? 0,
      0,
      'no frontend without its public IP',
    );

    sim.seed.publicIPAddress({
      resourceGroup: RG,
      name: 'team-ip',
      ipAddress: '198.19.50.50',
      tags: { team: 'shop' },
    });
    const { ip } = await ipOf('byo', 60_000);
    assert.equal(ip, '198.19.50.50');
    const view = arm();
    const teamIp = view.publicIps.find((p) => p.name === 'team-ip')!;
    const config = loadBalancer(false, view)?.frontends.find((f) => f.name === frontend);
    assert.equal(config?.publicIp?.toLowerCase(), teamIp.id.toLowerCase(), "the frontend uses the user's IP");
    assert.deepEqual(writesToPublicIp(sim, 'team-ip'), [], "the user's public IP was not written");
    assert.deepEqual(teamIp.tags, { team: 'shop' });
    assert.equal(
      view.publicIps.filter((p) => p.name === `${CLUSTER}-${frontend}`).length,
      0,
      'Sluice made no public IP of its own for it',
    );
    userOwned = { ...userOwned, publicIps: userResources(view).publicIps };
  });

  test('the backend pools follow nodes', async () => {
    const pools = (): string => {
      const view = arm();
      return JSON.stringify([loadBalancer(false, view)?.pools, loadBalancer(true, view)?.pools]);
    };
    const both = (addresses: string[]) => {
      const pool = { [CLUSTER]: sorted(addresses) };
      return JSON.stringify([pool, pool]);
    };
    await node('azure-node-c', NODES[2]!);
    await until(() => pools() === both(NODES), `the new node joins both pools: ${pools()}`);
    await kubectl(cluster, ['delete', 'node', 'azure-node-a']);
    await until(
      () => pools() === both([NODES[1]!, NODES[2]!]),
      `the deleted node leaves both pools: ${pools()}`,
    );
  });

  test('a bad annotation value, or a bare-metal request, is an Event and a condition, and nothing is created', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        service('typo', { [`${A}azure-load-balancer-tcp-idle-timeout`]: '500' }),
        service('shared', { 'sluice.dev/sharing-key': 'team' }),
      ],
    });
    const cases = [
      { name: 'typo', reason: 'InvalidAnnotation', key: 'azure-load-balancer-tcp-idle-timeout' },
      { name: 'shared', reason: 'Unsupported', key: 'sluice.dev/sharing-key' },
    ];
    for (const { name, reason, key } of cases) {
      const svc = await conditionOf(name, (c) => c.reason === reason);
      const condition = svc.status!.conditions!.find((c) => c.reason === reason)!;
      assert.ok(condition.message.includes(key), condition.message);
      await warningEvent(name, (e) => e.reason === reason && (e.note?.includes(key) ?? false));
      assert.equal(svc.status?.loadBalancer?.ingress, undefined);
      const frontend = frontendOf(svc);
      const view = arm();
      for (const lb of view.loadBalancers) {
        assert.deepEqual([...lb.frontends, ...lb.rules, ...lb.probes].filter(ownedBy(frontend)), []);
      }
      assert.deepEqual(
        view.publicIps.filter((p) => p.name.includes(frontend)),
        [],
      );
      assert.deepEqual(securityRules(view).filter(ownedBy(frontend)), []);
    }
  });

  test(`${MANY} Services at once converge on one load balancer`, async () => {
    const before = sim.counters().byCall;
    const writesBefore = armWrites(sim);
    const started = Date.now();
    const items = Array.from({ length: MANY }, (_, i) => service(`many-${i}`, {}));
    await apply({ apiVersion: 'v1', kind: 'List', items });
    const addresses = new Set<string>();
    for (let i = 0; i < MANY; i++) addresses.add((await ipOf(`many-${i}`, 120_000)).ip);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(addresses.size, MANY, 'every Service has its own address');
    const view = arm();
    assert.deepEqual(
      sorted(view.loadBalancers.map((lb) => lb.name)),
      [CLUSTER, `${CLUSTER}-internal`],
      'one public and one internal load balancer',
    );
    const lb = loadBalancer(false, view)!;
    assert.equal(
      lb.frontends.length,
      MANY + 2,
      `web, byo and the ${MANY} new ones (typo and shared have none)`,
    );
    assert.equal(lb.rules.length, MANY + 2);
    const made = view.publicIps.filter((p) => p.tags['sluice.dev-service']?.startsWith(`${NS}/many-`));
    assert.equal(made.length, MANY, 'one public IP each');
    const count = (call: string) => (sim.counters().byCall[call] ?? 0) - (before[call] ?? 0);
    console.log(
      `# figures: ${MANY} Services addressed in ${seconds.toFixed(1)} s; ARM writes ${armWrites(sim) - writesBefore} ` +
        `(load-balancer PUTs ${count('PUT loadBalancers')}, NSG PUTs ${count('PUT networkSecurityGroups')}, ` +
        `public-IP PUTs ${count('PUT publicIPAddresses')}); ARM reads ${count('GET loadBalancers')} load-balancer GETs`,
    );
  });

  test('a restart adopts everything: no ARM write, no status write', async () => {
    const versions = async (): Promise<Record<string, string>> => {
      const list = await api.core.listNamespacedService({ namespace: NS });
      return Object.fromEntries(list.items.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion!]));
    };
    await sluice!.stop();
    const before = await versions();
    assert.equal(Object.keys(before).length, MANY + 6);
    const writesBefore = armWrites(sim);
    sluice = startSluice();
    // Every Service reconciled at least once by the new process.
    await waitFor(
      async () => (await sluice!.metric('sluice_reconcile_total')) >= MANY + 6,
      60_000,
      () => sluice!.tail(),
    );
    // Time for anything a reconcile handed to a writer to reach ARM (the writers coalesce for 100 ms).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(
      armWrites(sim) - writesBefore,
      0,
      `ARM writes after a restart: ${JSON.stringify(sim.counters().byCall)}`,
    );
    assert.deepEqual(await versions(), before, 'no Service was written');
  });

  test('deleting every Service leaves nothing Sluice created; what the user owns is untouched', async () => {
    await kubectl(cluster, ['delete', 'service', '--all', '-n', NS, '--wait=true', '--timeout=120s']);
    await until(
      () => {
        const view = arm();
        return (
          view.loadBalancers.length === 0 &&
          view.publicIps.every(
            (p) => p.tags['sluice.dev-cluster'] === undefined && !p.name.startsWith(`${CLUSTER}-`),
          ) &&
          securityRules(view).every((r) => !/^a[0-9a-f]{32}-/.test(r.name))
        );
      },
      'everything Sluice created is deleted',
      120_000,
      () => {
        const view = arm();
        return JSON.stringify({
          loadBalancers: view.loadBalancers.map((lb) => ({
            name: lb.name,
            state: lb.provisioningState,
            frontends: lb.frontends.map((f) => f.name),
          })),
          publicIps: view.publicIps.map((p) => [p.name, p.usedBy]),
          rules: securityRules(view).map((r) => r.name),
          total: sim.counters().total,
        });
      },
    );
    const view = arm();
    assert.ok(
      view.securityGroups.some((g) => g.name === NSG),
      'the NSG is not Sluice’s: it stays',
    );
    assert.deepEqual(userResources(view), userOwned, "the user's NSG rule, public IPs and VNet as they were");
    for (const name of userOwned.publicIps.map((p) => p.name)) {
      assert.deepEqual(writesToPublicIp(sim, name), [], `${name} was never written`);
    }
  });
});
