// The GCP provider through the real @google-cloud/compute clients against the Compute Engine
// simulator, reconciling as the controller does (validate → observe → plan → apply, again after a
// pending answer's delay). Operations take time (PENDING → RUNNING → DONE), so every Service meets
// running operations and converges over several reconciles without any worker waiting.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadBalancerIntent, TargetNode } from '../../src/intent/types.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ComputeCallError } from '../../src/providers/gcp/errors.ts';
import { DEFAULT_LISTING_MAX_AGE_MS } from '../../src/providers/gcp/inventory.ts';
import type { GcpConfig } from '../../src/providers/gcp/model.ts';
import { GcpProvider } from '../../src/providers/gcp/provider.ts';
import type { ApplyResult } from '../../src/providers/provider.ts';
import { plainIntent } from '../harness/intent-fixture.ts';
import { type ComputeClients, computeClients } from '../sim/gcp/clients.ts';
import { type GcpSimulator, startGcpSimulator } from '../sim/gcp/server.ts';
import type { ProjectSnapshot } from '../sim/gcp/simulator.ts';
import { succeeded } from '../sim/gcp/testing.ts';

const PROJECT = 'sluice-test';
const REGION = 'us-central1';
const CONFIG: GcpConfig = {
  project: PROJECT,
  region: REGION,
  network: 'default',
  subnetwork: 'default',
  cluster: 'kube',
  nodeTags: ['kube-node'],
};
const NODE_NAMES = ['n-a1', 'n-b1', 'n-b2'];
const zoneOf = (name: string) => `${REGION}-${name[2]}`;
const NODES: TargetNode[] = NODE_NAMES.map((name) => ({
  name,
  providerID: `gce://${PROJECT}/${zoneOf(name)}/${name}`,
  labels: {},
  internalAddresses: [],
}));

let sim: GcpSimulator;
let compute: ComputeClients;
const providers: GcpProvider[] = [];

before(async () => {
  sim = await startGcpSimulator({ operations: { pendingMs: 10, runningMs: 60 } });
  compute = computeClients(sim);
});
afterEach(() => {
  sim.reset();
});
after(async () => {
  for (const p of providers) await p.close();
  await compute.close();
  await sim.stop();
});

function seedNodes(): void {
  sim.seed.instances(
    PROJECT,
    NODE_NAMES.map((name) => ({ zone: zoneOf(name), name, tags: ['kube-node'] })),
  );
}

function newProvider(): GcpProvider {
  const provider = new GcpProvider({
    config: CONFIG,
    logger: createLogger(process.env.SLUICE_TEST_LOG ?? 'silent'),
    endpoint: sim.url,
    requeueMs: 20,
    // Far above the default 20/s: the tests measure behaviour, not Google's quota.
    rateLimit: { perSecond: 1000, burst: 1000 },
    retry: { baseDelayMs: 10, maxDelayMs: 100 },
  });
  providers.push(provider);
  return provider;
}

function intent(n: number, overrides: Partial<LoadBalancerIntent> = {}): LoadBalancerIntent {
  return plainIntent({
    service: {
      namespace: 'shop',
      name: `svc-${n}`,
      uid: `${String(n).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd`,
    },
    nodes: NODES,
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: 'https', protocol: 'TCP', port: 443 },
    ],
    ...overrides,
  });
}

/** Throttled or failing after all the client's retries: the controller backs off and tries again. */
function retriedByController(error: unknown): boolean {
  return error instanceof ComputeCallError && error.failure.retryable;
}

async function reconcile(provider: GcpProvider, i: LoadBalancerIntent): Promise<ApplyResult> {
  const error = provider.validate(i).find((p) => p.severity === 'error');
  if (error) return { kind: 'failed', reason: error.reason, message: error.message };
  try {
    return await provider.apply(i, provider.plan(i, await provider.observe(i)));
  } catch (thrown) {
    if (!retriedByController(thrown)) throw thrown;
    return { kind: 'pending', message: String(thrown), retryAfterMs: 50 };
  }
}

/** Reconciles until ready or failed, as the controller does; returns the last answer and the rounds. */
async function converge(
  provider: GcpProvider,
  i: LoadBalancerIntent,
): Promise<ApplyResult & { rounds: number }> {
  for (let round = 1; round <= 200; round++) {
    const result = await reconcile(provider, i);
    if (result.kind !== 'pending') return { ...result, rounds: round };
    await sleep(Math.min(result.retryAfterMs, 50));
  }
  throw new Error(`${i.service.name} did not converge`);
}

async function ready(provider: GcpProvider, i: LoadBalancerIntent): Promise<string> {
  const result = await converge(provider, i);
  assert.equal(result.kind, 'ready', JSON.stringify(result));
  return result.kind === 'ready' ? String(result.ingress[0]?.ip) : '';
}

async function removeUntilGone(provider: GcpProvider, i: LoadBalancerIntent): Promise<void> {
  for (let round = 0; round < 200; round++) {
    const result = await provider
      .remove(i.service, `${i.service.namespace}/${i.service.name}`)
      .catch((thrown: unknown) => {
        if (!retriedByController(thrown)) throw thrown;
        return { kind: 'pending' as const, message: String(thrown), retryAfterMs: 50 };
      });
    if (result.kind === 'gone') return;
    await sleep(Math.min(result.retryAfterMs, 50));
  }
  throw new Error(`${i.service.name} was not removed`);
}

type Resource = Record<string, unknown>;
const project = (): ProjectSnapshot => sim.snapshot(PROJECT).projects[PROJECT]!;
const ownedBy = (list: ReadonlyArray<unknown>, i: LoadBalancerIntent): Resource[] =>
  (list as Resource[]).filter((r) => String(r.description ?? '').includes(`"${i.service.uid}"`));
const last = (url: unknown) => String(url ?? '').replace(/.*\//, '');
const members = (): string[] => Object.values(project().instanceGroupMembers).flat().map(last).sort();

function writes(): number {
  return Object.entries(sim.counters())
    .filter(([method]) =>
      /\.(insert|delete|patch|update|addInstances|removeInstances|setLabels)$/.test(method),
    )
    .reduce((sum, [, n]) => sum + n, 0);
}

describe('GCP provider against the Compute simulator', () => {
  it('external by default: reserved address, one rule and backend per protocol, shared check, groups per zone', async () => {
    seedNodes();
    const provider = newProvider();
    const svc = intent(1, {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80 },
        { name: 'dns', protocol: 'UDP', port: 53 },
      ],
      sessionAffinity: 'ClientIP',
    });
    const result = await converge(provider, svc);
    assert.equal(result.kind, 'ready');
    assert.ok(result.rounds > 2, `converged over several reconciles (${result.rounds}), none waiting`);
    const ip = result.kind === 'ready' ? result.ingress[0]?.ip : '';
    const s = project();
    const rules = ownedBy(s.forwardingRules, svc);
    assert.deepEqual(rules.map((r) => r.IPProtocol).sort(), ['TCP', 'UDP']);
    for (const rule of rules) {
      assert.equal(rule.IPAddress, ip);
      assert.equal(rule.loadBalancingScheme, 'EXTERNAL');
      assert.equal(rule.networkTier, 'PREMIUM');
    }
    const backends = ownedBy(s.backendServices, svc);
    assert.equal(backends.length, 2);
    for (const b of backends) {
      assert.equal(b.sessionAffinity, 'CLIENT_IP');
      assert.match(String((b.healthChecks as string[])[0]), /-node-hc$/);
      assert.equal((b.backends as unknown[]).length, 2, 'a group in each of the two zones');
    }
    assert.deepEqual(members(), ['n-a1', 'n-b1', 'n-b2']);
    const [address] = ownedBy(s.addresses, svc);
    assert.equal(address?.address, ip);
    const client = ownedBy(s.firewalls, svc).find((f) => f.destinationRanges !== undefined);
    assert.deepEqual(client?.sourceRanges, ['0.0.0.0/0']);
    assert.deepEqual(client?.targetTags, ['kube-node']);
    const health = (s.firewalls as Resource[]).find((f) => String(f.name).endsWith('-node-hc-fw'));
    assert.deepEqual(health?.sourceRanges, ['130.211.0.0/22', '35.191.0.0/16']);
    assert.deepEqual(health?.allowed, [{ IPProtocol: 'tcp', ports: ['10256'] }]);

    // Steady state: nothing to write; a new provider (a restart) adopts everything by name.
    const before = writes();
    assert.equal((await reconcile(provider, svc)).kind, 'ready');
    assert.equal((await reconcile(newProvider(), svc)).kind, 'ready');
    assert.equal(writes() - before, 0, 'no writes in the steady state or after a restart');

    await removeUntilGone(provider, svc);
    assert.deepEqual(project().created, [], 'nothing Sluice created is left');
  });

  it('internal with a subnet and global access; more than five ports → allPorts; changes recreate the rule on the same IP', async () => {
    seedNodes();
    const provider = newProvider();
    const base = {
      annotations: {
        'networking.gke.io/load-balancer-type': 'Internal',
        'networking.gke.io/internal-load-balancer-subnet': 'default',
        'networking.gke.io/internal-load-balancer-allow-global-access': 'true',
      },
    };
    const svc = intent(2, base);
    const ip = await ready(provider, svc);
    let [rule] = ownedBy(project().forwardingRules, svc);
    assert.equal(rule?.loadBalancingScheme, 'INTERNAL');
    assert.equal(rule?.allowGlobalAccess, true);
    assert.equal(last(rule?.subnetwork), 'default');
    assert.match(ip, /^10\.128\./, 'an address of the subnet');

    const wide = intent(2, {
      ...base,
      ports: [1, 2, 3, 4, 5, 6].map((p) => ({ name: `p${p}`, protocol: 'TCP' as const, port: 8000 + p })),
    });
    assert.equal(await ready(provider, wide), ip, 'the reserved IP stays');
    [rule] = ownedBy(project().forwardingRules, svc);
    assert.equal(rule?.allPorts, true);
    assert.equal(ownedBy(project().forwardingRules, svc).length, 1);
    await removeUntilGone(provider, wide);
    assert.deepEqual(project().created, []);
  });

  it('externalTrafficPolicy Local: its own check on healthCheckNodePort; back to Cluster deletes it', async () => {
    seedNodes();
    const provider = newProvider();
    const local = intent(3, { trafficPolicy: 'Local', healthCheckNodePort: 31999 });
    await ready(provider, local);
    let [check] = ownedBy(project().healthChecks, local);
    assert.equal(((check?.httpHealthCheck ?? {}) as Resource).port, 31999);
    assert.equal(((check?.httpHealthCheck ?? {}) as Resource).requestPath, '/healthz');
    assert.ok(ownedBy(project().firewalls, local).some((f) => JSON.stringify(f.allowed).includes('"31999"')));

    const cluster = intent(3);
    const switched = await converge(provider, cluster);
    assert.equal(switched.kind, 'ready');
    [check] = ownedBy(project().healthChecks, local);
    assert.equal(check, undefined, 'no per-Service check left');
    assert.ok(
      !ownedBy(project().firewalls, local).some((f) => JSON.stringify(f.allowed).includes('"31999"')),
    );
    await removeUntilGone(provider, cluster);
    assert.deepEqual(project().created, []);
  });

  it('external → internal: the internal load balancer is built and the external one removed', async () => {
    seedNodes();
    const provider = newProvider();
    const external = intent(4);
    const publicIp = await ready(provider, external);
    const internal = intent(4, { annotations: { 'cloud.google.com/load-balancer-type': 'Internal' } });
    const events: string[] = [];
    let result: ApplyResult | undefined;
    for (let round = 0; round < 200; round++) {
      result = await reconcile(provider, internal);
      if (result.kind === 'pending') for (const c of result.changed ?? []) events.push(c.reason);
      if (result.kind !== 'pending') break;
      await sleep(20);
    }
    assert.equal(result?.kind, 'ready');
    assert.ok(events.includes('ReplacingLoadBalancer'), events.join());
    const s = project();
    assert.deepEqual(
      ownedBy(s.forwardingRules, internal).map((r) => r.loadBalancingScheme),
      ['INTERNAL'],
    );
    assert.deepEqual(
      ownedBy(s.addresses, internal).map((a) => a.addressType),
      ['INTERNAL'],
      'the external address is released',
    );
    assert.ok(!(s.addresses as Resource[]).some((a) => a.address === publicIp));
    await removeUntilGone(provider, internal);
    assert.deepEqual(project().created, []);
  });

  it("the user's reserved address is used and never deleted; an address nobody reserved is refused", async () => {
    seedNodes();
    await succeeded(
      compute,
      compute.addresses.insert({
        project: PROJECT,
        region: REGION,
        addressResource: { name: 'team-ip', address: '198.51.100.77', addressType: 'EXTERNAL' },
      }),
    );
    const provider = newProvider();
    const svc = intent(5, { requestedAddresses: ['198.51.100.77'] });
    assert.equal(await ready(provider, svc), '198.51.100.77');
    assert.equal(ownedBy(project().addresses, svc).length, 0, 'Sluice reserved nothing of its own');
    await removeUntilGone(provider, svc);
    assert.deepEqual(
      (project().addresses as Resource[]).map((a) => a.name),
      ['team-ip'],
      "the user's address stays",
    );

    const missing = await converge(provider, intent(6, { requestedAddresses: ['198.51.100.99'] }));
    assert.equal(missing.kind, 'failed');
    assert.equal(missing.kind === 'failed' && missing.reason, 'AddressNotReserved');
    assert.match(missing.kind === 'failed' ? missing.message : '', /gcloud compute addresses create/);
    assert.equal(ownedBy(project().forwardingRules, intent(6)).length, 0);
  });

  it('node changes: one add and one remove per zone, shared by every Service', async () => {
    seedNodes();
    const provider = newProvider();
    const two = [NODES[0]!, NODES[1]!];
    const a = intent(7, { nodes: two });
    const b = intent(8, { nodes: two });
    await Promise.all([ready(provider, a), ready(provider, b)]);
    assert.deepEqual(members(), ['n-a1', 'n-b1']);
    const before = sim.counters();
    // The controller wakes every Service on a node change; both see the same new node set.
    const next = [NODES[0]!, NODES[2]!];
    await Promise.all([ready(provider, { ...a, nodes: next }), ready(provider, { ...b, nodes: next })]);
    assert.deepEqual(members(), ['n-a1', 'n-b2']);
    const after = sim.counters();
    const delta = (method: string) => (after[method] ?? 0) - (before[method] ?? 0);
    assert.equal(delta('instanceGroups.addInstances'), 1, 'one add for both Services');
    assert.equal(delta('instanceGroups.removeInstances'), 1, 'one remove for both Services');
    assert.equal(delta('regionBackendServices.patch'), 0, 'both zones keep their groups');
    await removeUntilGone(provider, { ...a, nodes: next });
    assert.ok(
      project().created.some((p) => p.includes('instanceGroups')),
      'groups stay while b uses them',
    );
    await removeUntilGone(provider, { ...b, nodes: next });
    assert.deepEqual(project().created, []);
  });

  it("a burst of reconciles shares listings of the cluster's resources: no read per name, nobody misses its own", async () => {
    seedNodes();
    const provider = newProvider();
    const services = Array.from({ length: 12 }, (_, n) => intent(40 + n));
    await Promise.all(services.map((i) => ready(provider, i)));
    // Another cluster's resources in the same region are not read at all.
    await succeeded(
      compute,
      compute.healthChecks.insert({
        project: PROJECT,
        region: REGION,
        healthCheckResource: { name: 'other-cluster-hc', type: 'HTTP', httpHealthCheck: { port: 10256 } },
      }),
    );
    // Past the age a listing is reused for (what the burst shares is then a listing of its own).
    await sleep(DEFAULT_LISTING_MAX_AGE_MS + 100);
    const before = sim.counters();
    const observations = await Promise.all(services.map((i) => provider.observe(i)));
    const after = sim.counters();
    const delta = (method: string) => (after[method] ?? 0) - (before[method] ?? 0);
    for (const method of [
      'addresses.list',
      'regionHealthChecks.list',
      'regionBackendServices.list',
      'forwardingRules.list',
      'firewalls.list',
      'instanceGroups.aggregatedList',
    ]) {
      assert.ok(
        delta(method) >= 1 && delta(method) <= 2,
        `${method}: ${delta(method)} listings for 12 Services`,
      );
    }
    const gets = Object.keys(after).filter((m) => m.endsWith('.get') && delta(m) > 0);
    assert.deepEqual(gets, [], 'no read by name');
    observations.forEach((o, n) => {
      const uid = services[n]!.service.uid.replace(/-/g, '');
      assert.equal(o.observed?.backendServices.length, 1, `${services[n]!.service.name} sees its backend`);
      assert.ok(o.observed?.backendServices.every((b) => b.name.includes(uid)));
      assert.ok(o.observed?.healthChecks.every((h) => h.name !== 'other-cluster-hc'));
    });
    // And the shared answers are fresh: a steady state plans nothing and writes nothing.
    const writesBefore = sim.calls().filter((c) => c.requestId !== undefined).length;
    await Promise.all(services.map((i) => ready(provider, i)));
    assert.equal(sim.calls().filter((c) => c.requestId !== undefined).length, writesBefore);
    for (const i of services) await removeUntilGone(provider, i);
    assert.deepEqual(
      project().created.filter((p) => !p.includes('other-cluster-hc')),
      [],
    );
  });

  it('throttling and 5xx answers after the write took effect: exactly one of everything', async () => {
    seedNodes();
    sim.faults.set({
      rateLimit: { rate: 0.2 },
      serverError: { rate: 0.2, afterApplying: true, methods: ['*.insert', '*.delete', '*.addInstances'] },
    });
    const provider = newProvider();
    const services = [intent(9), intent(10), intent(11)];
    await Promise.all(services.map((s) => ready(provider, s)));
    const fired = sim.faults.fired();
    assert.ok(Object.values(fired).reduce((a, b) => a + b, 0) > 5, `faults fired: ${JSON.stringify(fired)}`);
    const s = project();
    for (const svc of services) {
      assert.equal(ownedBy(s.forwardingRules, svc).length, 1, 'one rule');
      assert.equal(ownedBy(s.backendServices, svc).length, 1, 'one backend service');
      assert.equal(ownedBy(s.addresses, svc).length, 1, 'one address');
    }
    assert.equal((s.healthChecks as Resource[]).length, 1, 'one shared check');
    assert.equal((s.instanceGroups as Resource[]).length, 2, 'one group per zone');
    for (const svc of services) await removeUntilGone(provider, svc);
    sim.faults.clear();
    assert.deepEqual(project().created, []);
  });

  it('a resource at one of its names that Sluice did not make: NameConflict, never touched', async () => {
    seedNodes();
    const svc = intent(12);
    const provider = newProvider();
    const name = (await import('../../src/providers/gcp/names.ts')).clientFirewallName(
      CONFIG.cluster,
      svc.service,
    );
    await succeeded(
      compute,
      compute.firewalls.insert({
        project: PROJECT,
        firewallResource: {
          name,
          network: 'global/networks/default',
          sourceRanges: ['10.0.0.0/8'],
          allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
        },
      }),
    );
    const result = await converge(provider, svc);
    assert.equal(result.kind, 'failed');
    assert.equal(result.kind === 'failed' && result.reason, 'NameConflict');
    const firewall = (project().firewalls as Resource[]).find((f) => f.name === name);
    assert.deepEqual(firewall?.sourceRanges, ['10.0.0.0/8'], 'left as it was');
  });

  it('source ranges and node tags reach the client firewall; a change patches it in place', async () => {
    seedNodes();
    const provider = newProvider();
    const svc = intent(14, { sourceRanges: ['192.0.2.0/24', '198.51.100.8/29'] });
    const ip = await ready(provider, svc);
    const clientRule = () => ownedBy(project().firewalls, svc).find((f) => f.destinationRanges !== undefined);
    assert.deepEqual(clientRule()?.sourceRanges, ['192.0.2.0/24', '198.51.100.8/29']);
    assert.deepEqual(clientRule()?.destinationRanges, [ip]);
    assert.deepEqual(clientRule()?.targetTags, ['kube-node']);
    assert.deepEqual(clientRule()?.allowed, [{ IPProtocol: 'tcp', ports: ['80', '443'] }]);
    const before = sim.counters();
    const narrower = intent(14, { sourceRanges: ['192.0.2.0/24'] });
    assert.equal(await ready(provider, narrower), ip);
    assert.deepEqual(clientRule()?.sourceRanges, ['192.0.2.0/24']);
    const after = sim.counters();
    assert.equal((after['firewalls.patch'] ?? 0) - (before['firewalls.patch'] ?? 0), 1);
    assert.equal((after['firewalls.delete'] ?? 0) - (before['firewalls.delete'] ?? 0), 0);
    await removeUntilGone(provider, narrower);
    assert.deepEqual(project().created, []);
  });

  it('internal: a requested IP nobody reserved is reserved by Sluice in the subnet, and released with the Service', async () => {
    seedNodes();
    const provider = newProvider();
    const svc = intent(15, {
      annotations: { 'networking.gke.io/load-balancer-type': 'Internal' },
      requestedAddresses: ['10.128.0.77'],
    });
    assert.equal(await ready(provider, svc), '10.128.0.77');
    const [address] = ownedBy(project().addresses, svc);
    assert.equal(address?.address, '10.128.0.77');
    assert.equal(address?.addressType, 'INTERNAL');
    assert.equal(last(address?.subnetwork), 'default');
    await removeUntilGone(provider, svc);
    assert.deepEqual(project().created, [], 'the address Sluice reserved goes with the Service');
  });

  it('an internal Service in a subnetwork that does not exist: SubnetNotFound, nothing created', async () => {
    seedNodes();
    const provider = newProvider();
    const svc = intent(16, {
      annotations: {
        'networking.gke.io/load-balancer-type': 'Internal',
        'networking.gke.io/internal-load-balancer-subnet': 'no-such-subnet',
      },
    });
    const result = await converge(provider, svc);
    assert.equal(result.kind, 'failed');
    assert.equal(result.kind === 'failed' && result.reason, 'SubnetNotFound');
    assert.match(result.kind === 'failed' ? result.message : '', /no-such-subnet/);
    assert.deepEqual(project().created, []);
  });

  it('over quota: failed QuotaExceeded naming the quota; converges once the quota allows it', async () => {
    seedNodes();
    sim.quotas.set({ limits: { FORWARDING_RULES: 0 } });
    const provider = newProvider();
    const svc = intent(17);
    const result = await converge(provider, svc);
    assert.equal(result.kind, 'failed', JSON.stringify(result));
    assert.equal(result.kind === 'failed' && result.reason, 'QuotaExceeded');
    assert.match(result.kind === 'failed' ? result.message : '', /FORWARDING_RULES/);
    sim.quotas.set({ limits: { FORWARDING_RULES: 10 } });
    await ready(provider, svc);
    await removeUntilGone(provider, svc);
    assert.deepEqual(project().created, []);
  });

  it('a restart while operations run: the new provider forgets them and still converges, one of everything', async () => {
    seedNodes();
    const first = newProvider();
    const svc = intent(18, {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80 },
        { name: 'dns', protocol: 'UDP', port: 53 },
      ],
    });
    sim.operations.hold();
    for (let round = 0; round < 3; round++) assert.equal((await reconcile(first, svc)).kind, 'pending');
    // The process dies with its operations RUNNING; the new one sees nothing of them yet.
    const second = newProvider();
    assert.equal((await reconcile(second, svc)).kind, 'pending');
    sim.operations.release();
    const ip = await ready(second, svc);
    const s = project();
    assert.equal(ownedBy(s.addresses, svc).length, 1);
    assert.equal(ownedBy(s.forwardingRules, svc).length, 2);
    assert.equal(ownedBy(s.backendServices, svc).length, 2);
    assert.equal((s.healthChecks as Resource[]).length, 1);
    assert.equal((s.instanceGroups as Resource[]).length, 2);
    assert.ok(ownedBy(s.forwardingRules, svc).every((r) => r.IPAddress === ip));
    const before = writes();
    assert.equal((await reconcile(newProvider(), svc)).kind, 'ready');
    assert.equal(writes(), before, 'a third start writes nothing');
    await removeUntilGone(second, svc);
    assert.deepEqual(project().created, []);
  });

  it('many Services at once on shared groups while nodes come and go: no errors, no lost members', async () => {
    seedNodes();
    sim.seed.instances(PROJECT, [{ zone: `${REGION}-c`, name: 'n-c1', tags: ['kube-node'] }]);
    const nodeC: TargetNode = {
      name: 'n-c1',
      providerID: `gce://${PROJECT}/${REGION}-c/n-c1`,
      labels: {},
      internalAddresses: [],
    };
    const provider = newProvider();
    const services = [20, 21, 22, 23, 24].map((n) => intent(n, { nodes: [NODES[0]!, NODES[1]!] }));
    await Promise.all(services.map((svc) => ready(provider, svc)));
    assert.deepEqual(members(), ['n-a1', 'n-b1']);
    // A new zone and a node gone: every Service is woken with the new node set at once.
    const next = [NODES[0]!, NODES[2]!, nodeC];
    const before = sim.counters();
    await Promise.all(services.map((svc) => ready(provider, { ...svc, nodes: next })));
    assert.deepEqual(members(), ['n-a1', 'n-b2', 'n-c1']);
    const after = sim.counters();
    const delta = (method: string) => (after[method] ?? 0) - (before[method] ?? 0);
    assert.equal(delta('instanceGroups.insert'), 1, 'one new group, in the new zone');
    assert.equal(delta('instanceGroups.addInstances'), 2, 'one add per zone that gained a node');
    assert.equal(delta('instanceGroups.removeInstances'), 1, 'one remove per zone that lost one');
    for (const backend of project().backendServices as Resource[]) {
      assert.equal((backend.backends as unknown[]).length, 3, `${String(backend.name)}: a group per zone`);
    }
    await Promise.all(services.map((svc) => removeUntilGone(provider, { ...svc, nodes: next })));
    assert.deepEqual(project().created, []);
  });

  it('one Service removed while another is being created: the shared groups end up as the new one needs', async () => {
    seedNodes();
    const provider = newProvider();
    const old = intent(25);
    await ready(provider, old);
    const fresh = intent(26);
    await Promise.all([removeUntilGone(provider, old), ready(provider, fresh)]);
    assert.deepEqual(members(), ['n-a1', 'n-b1', 'n-b2']);
    assert.equal(ownedBy(project().forwardingRules, old).length, 0);
    const before = writes();
    assert.equal((await reconcile(provider, fresh)).kind, 'ready');
    assert.equal(writes(), before);
    await removeUntilGone(provider, fresh);
    assert.deepEqual(project().created, []);
  });

  it('a Service removed soon after the one before it still deletes the shared resources', async () => {
    seedNodes();
    const provider = newProvider();
    const first = intent(27);
    await ready(provider, first);
    await removeUntilGone(provider, first);
    assert.deepEqual(project().created, []);
    // The shared check, firewall and groups are made again, and must go again with this one.
    const second = intent(28);
    await ready(provider, second);
    await removeUntilGone(provider, second);
    assert.deepEqual(project().created, []);
  });

  it('bad values are problems before anything is created', () => {
    const provider = newProvider();
    const problems = provider.validate(
      intent(13, {
        annotations: { 'cloud.google.com/network-tier': 'Gold', 'cloud.google.com/l4-rbs': 'enabled' },
        ports: [{ name: 'x', protocol: 'SCTP', port: 9 }],
      }),
    );
    assert.deepEqual(problems.map((p) => `${p.severity} ${p.reason} ${p.field}`).sort(), [
      'error InvalidAnnotation cloud.google.com/network-tier',
      'error Unsupported spec.ports',
      'warning Unsupported cloud.google.com/l4-rbs',
    ]);
  });
});
