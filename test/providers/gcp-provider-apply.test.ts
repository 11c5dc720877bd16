// The GCP provider's effects, one layer down: hand-written operation lists started through the real
// @google-cloud/compute clients against the Compute simulator (operations take time: PENDING →
// RUNNING → DONE), then looked at again the way the next reconcile does. What each Compute answer
// means (409 on insert, 404 on delete, in use, stale fingerprint, quota, a failed operation), that
// nothing waits for an operation, and that lost, throttled, late and failed answers never make a
// second resource.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceRef } from '../../src/intent/types.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { Clock } from '../../src/providers/aws/rate-limit.ts';
import {
  type ApplyContext,
  applyOperations,
  KeyedLock,
  SharedWriteLedger,
} from '../../src/providers/gcp/apply.ts';
import { type ComputeCallEvent, ComputeClient } from '../../src/providers/gcp/client.ts';
import { ComputeCallError } from '../../src/providers/gcp/errors.ts';
import type {
  AddressSpec,
  BackendServiceSpec,
  FirewallSpec,
  ForwardingRuleSpec,
  GcpConfig,
  GcpObserved,
  GcpOperation,
  HealthCheckSpec,
  InstanceGroupSpec,
} from '../../src/providers/gcp/model.ts';
import {
  addressName,
  backendName,
  clientFirewallName,
  instanceGroupName,
  isOwned,
  sharedHealthCheckName,
  sharedHealthFirewallName,
  urls,
} from '../../src/providers/gcp/names.ts';
import { observe } from '../../src/providers/gcp/observe.ts';
import { OperationTracker, operationRef } from '../../src/providers/gcp/operations.ts';
import { type FaultProxy, type ProxiedRequest, startFaultProxy } from '../harness/fault-proxy.ts';
import { type GcpSimulator, startGcpSimulator } from '../sim/gcp/server.ts';
import type { ProjectSnapshot } from '../sim/gcp/simulator.ts';

const PROJECT = 'sluice-test';
const REGION = 'us-central1';
const ZONE = 'us-central1-a';
const CONFIG: GcpConfig = {
  project: PROJECT,
  region: REGION,
  network: 'default',
  subnetwork: 'default',
  cluster: 'kube',
  nodeTags: [],
};
const NETWORK = urls.network(PROJECT, 'default');
const logger = createLogger(process.env.SLUICE_TEST_LOG ?? 'silent');

let sim: GcpSimulator;
const clients: ComputeClient[] = [];
const proxies: FaultProxy[] = [];

before(async () => {
  sim = await startGcpSimulator({ operations: { pendingMs: 10, runningMs: 50 } });
});
afterEach(async () => {
  sim.reset();
  for (const proxy of proxies.splice(0)) await proxy.stop();
});
after(async () => {
  for (const client of clients) await client.close();
  await sim.stop();
});

function newClient(
  options: {
    endpoint?: string;
    onCall?: (e: ComputeCallEvent) => void;
    callTimeoutMs?: number;
    maxAttempts?: number;
  } = {},
): ComputeClient {
  const client = new ComputeClient({
    logger,
    endpoint: options.endpoint ?? sim.url,
    rateLimit: { perSecond: 1000, burst: 1000 },
    retry: { maxAttempts: options.maxAttempts ?? 8, baseDelayMs: 5, maxDelayMs: 40 },
    ...(options.onCall ? { onCall: options.onCall } : {}),
    ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
  });
  clients.push(client);
  return client;
}

const service = (n: number): ServiceRef => ({
  namespace: 'shop',
  name: `svc-${n}`,
  uid: `${String(n).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd`,
});

/** One process's shared state (lock, ledger, tracker) and the cluster's instance group, made by Service `n`. */
async function sharedGroup(n: number) {
  const client = newClient();
  const shared = {
    lock: new KeyedLock(),
    sharedWrites: new SharedWriteLedger(),
    tracker: new OperationTracker(),
  };
  const first = context(client, service(n), shared);
  await applyOperations([{ kind: 'insert', resource: 'instanceGroup', spec: group() }], first);
  await settled(first);
  return { client, shared, first };
}

function context(client: ComputeClient, svc: ServiceRef, shared?: Partial<ApplyContext>): ApplyContext {
  return {
    client,
    config: CONFIG,
    tracker: new OperationTracker(),
    lock: new KeyedLock(),
    sharedWrites: new SharedWriteLedger(),
    logger,
    service: svc,
    ...shared,
  };
}

function seedNodes(names: string[]): string[] {
  sim.seed.instances(
    PROJECT,
    names.map((name) => ({ zone: ZONE, name })),
  );
  return names.map((name) => urls.instance(PROJECT, ZONE, name));
}

// Specs as desired.ts would make them for one Service with TCP port 80.
const healthCheck = (name = sharedHealthCheckName(CONFIG.cluster)): HealthCheckSpec => ({
  name,
  port: 10256,
  requestPath: '/healthz',
  checkIntervalSec: 8,
  timeoutSec: 1,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
});
const group = (): InstanceGroupSpec => ({
  name: instanceGroupName(CONFIG.cluster),
  zone: ZONE,
  network: NETWORK,
  instances: [],
});
const address = (svc: ServiceRef): AddressSpec => ({
  name: addressName(CONFIG.cluster, svc, 'EXTERNAL'),
  addressType: 'EXTERNAL',
  networkTier: 'PREMIUM',
});
const backend = (svc: ServiceRef): BackendServiceSpec => ({
  name: backendName(CONFIG.cluster, svc, 'EXTERNAL', 'TCP'),
  scheme: 'EXTERNAL',
  protocol: 'TCP',
  sessionAffinity: 'NONE',
  healthCheck: urls.healthCheck(PROJECT, REGION, sharedHealthCheckName(CONFIG.cluster)),
  groups: [urls.instanceGroup(PROJECT, ZONE, instanceGroupName(CONFIG.cluster))],
});
const rule = (svc: ServiceRef, ip: string): ForwardingRuleSpec => ({
  name: backendName(CONFIG.cluster, svc, 'EXTERNAL', 'TCP'),
  scheme: 'EXTERNAL',
  protocol: 'TCP',
  ip,
  ports: [80],
  backendService: urls.backendService(PROJECT, REGION, backendName(CONFIG.cluster, svc, 'EXTERNAL', 'TCP')),
  networkTier: 'PREMIUM',
});
const clientFirewall = (svc: ServiceRef, ip: string): FirewallSpec => ({
  name: clientFirewallName(CONFIG.cluster, svc),
  network: NETWORK,
  sourceRanges: ['0.0.0.0/0'],
  destinationRanges: [ip],
  allowed: [{ protocol: 'tcp', ports: ['80'] }],
  targetTags: [],
  priority: 1000,
});
const healthFirewall = (): FirewallSpec => ({
  name: sharedHealthFirewallName(CONFIG.cluster),
  network: NETWORK,
  sourceRanges: ['130.211.0.0/22', '35.191.0.0/16'],
  allowed: [{ protocol: 'tcp', ports: ['10256'] }],
  targetTags: [],
  priority: 1000,
});

const project = (): ProjectSnapshot => sim.snapshot(PROJECT).projects[PROJECT]!;
type Resource = Record<string, unknown>;
const named = (list: unknown[], name: string): Resource | undefined =>
  (list as Resource[]).find((r) => r.name === name);

/** Observes until the Service has no operation running (the next reconciles, without any waiting call). */
async function settled(
  ctx: ApplyContext,
  input: { requestedIp?: string } = {},
): Promise<GcpObserved & { rounds: number }> {
  for (let rounds = 1; rounds < 200; rounds++) {
    const observed = await observe(ctx.client, CONFIG, ctx.tracker, { service: ctx.service, ...input });
    if (observed.running.length === 0) return { ...observed, rounds };
    await sleep(20);
  }
  throw new Error('operations did not finish');
}

/** Builds one Service's external load balancer from hand-written steps; returns its IP. */
async function build(ctx: ApplyContext, nodes: string[]): Promise<string> {
  const svc = ctx.service;
  await applyOperations(
    [
      { kind: 'insert', resource: 'address', spec: address(svc) },
      { kind: 'insert', resource: 'healthCheck', spec: healthCheck() },
      { kind: 'insert', resource: 'instanceGroup', spec: group() },
    ],
    ctx,
  );
  const first = await settled(ctx);
  const ip = String(first.addresses[0]?.address);
  await applyOperations(
    [
      { kind: 'insert', resource: 'backendService', spec: backend(svc) },
      { kind: 'addInstances', group: group().name, zone: ZONE, instances: nodes },
      { kind: 'insert', resource: 'firewall', spec: clientFirewall(svc, ip) },
    ],
    ctx,
  );
  await settled(ctx);
  await applyOperations([{ kind: 'insert', resource: 'forwardingRule', spec: rule(svc, ip) }], ctx);
  await settled(ctx);
  return ip;
}

describe('GCP apply: operations against the Compute simulator', () => {
  it('inserts every kind; returns before any operation is done; observe finds them running, then done', async () => {
    const nodes = seedNodes(['n-1', 'n-2']);
    const svc = service(1);
    const ctx = context(newClient(), svc);
    sim.operations.hold();
    const outcome = await applyOperations(
      [
        { kind: 'insert', resource: 'address', spec: address(svc) },
        { kind: 'insert', resource: 'healthCheck', spec: healthCheck() },
        { kind: 'insert', resource: 'instanceGroup', spec: group() },
        { kind: 'insert', resource: 'firewall', spec: healthFirewall() },
      ],
      ctx,
    );
    // Every operation is RUNNING (held): apply returned without waiting for any.
    assert.deepEqual(outcome, { started: 4, waiting: [] });
    assert.equal(ctx.tracker.count(svc.uid), 4);
    let observed = await observe(ctx.client, CONFIG, ctx.tracker, { service: svc });
    assert.equal(observed.running.length, 4);
    assert.deepEqual(observed.running.map((r) => r.target).sort(), [
      `address ${address(svc).name} insert`,
      `firewall ${healthFirewall().name} insert`,
      `healthCheck ${healthCheck().name} insert`,
      `instanceGroup ${group().name} insert`,
    ]);
    assert.equal(observed.addresses.length, 0, 'nothing is visible before its operation is done');
    sim.operations.release();
    observed = await settled(ctx);
    assert.deepEqual(observed.failed, []);
    assert.equal(ctx.tracker.count(svc.uid), 0, 'finished operations are forgotten');
    assert.equal(observed.addresses.length, 1);
    assert.equal(observed.healthChecks[0]?.name, healthCheck().name);
    assert.equal(observed.instanceGroups[0]?.zone, ZONE);
    assert.equal(observed.firewalls[0]?.name, healthFirewall().name);
    // Ownership: the Service's own resources name it; the cluster's shared ones only the cluster.
    assert.ok(isOwned(observed.addresses[0]?.description, CONFIG.cluster, svc.uid));
    assert.ok(isOwned(observed.healthChecks[0]?.description, CONFIG.cluster));
    assert.equal(JSON.parse(String(observed.healthChecks[0]?.description))['sluice.dev/service'], undefined);
    assert.equal(
      JSON.parse(String(observed.instanceGroups[0]?.description))['sluice.dev/service'],
      undefined,
    );

    const ip = await build(ctx, nodes);
    const s = project();
    const fr = named(s.forwardingRules, rule(svc, ip).name);
    assert.equal(fr?.IPAddress, ip);
    assert.deepEqual(fr?.ports, ['80']);
    assert.equal(fr?.loadBalancingScheme, 'EXTERNAL');
    const bs = named(s.backendServices, backend(svc).name);
    assert.deepEqual(
      ((bs?.backends ?? []) as Resource[]).map((b) => [
        String(b.group).replace(/.*\/zones\//, ''),
        b.balancingMode,
      ]),
      [[`${ZONE}/instanceGroups/${group().name}`, 'CONNECTION']],
    );
    assert.deepEqual(
      Object.values(s.instanceGroupMembers)
        .flat()
        .map((m) => m.replace(/.*\//, '')),
      ['n-1', 'n-2'],
    );
    const fw = named(s.firewalls, clientFirewallName(CONFIG.cluster, svc));
    assert.deepEqual(fw?.destinationRanges, [ip]);
    assert.equal(fw?.direction, 'INGRESS');
  });

  it('409 on insert is "already so" (a retry or another Service made it); 404 on delete is done', async () => {
    const svc = service(2);
    const ctx = context(newClient(), svc);
    sim.operations.hold();
    const insert: GcpOperation = { kind: 'insert', resource: 'healthCheck', spec: healthCheck() };
    assert.equal((await applyOperations([insert], ctx)).started, 1);
    // Again while the first is pending (Compute: 409 for a name being created), and after it is done.
    const other = context(newClient(), service(3));
    assert.deepEqual(await applyOperations([insert], other), { started: 0, waiting: [] });
    sim.operations.release();
    await settled(ctx);
    assert.deepEqual(await applyOperations([insert], other), { started: 0, waiting: [] });
    assert.equal(project().healthChecks.length, 1);
    assert.equal(sim.counters()['regionHealthChecks.insert'], 3);

    const gone: GcpOperation[] = [
      { kind: 'delete', resource: 'forwardingRule', name: 'sl-nothing-here' },
      { kind: 'delete', resource: 'firewall', name: 'sl-nothing-here' },
      { kind: 'delete', resource: 'instanceGroup', name: 'sl-nothing-here', zone: ZONE },
    ];
    assert.deepEqual(await applyOperations(gone, ctx), { started: 0, waiting: [] });
  });

  it('deleting what is still used waits (pending), and goes once the user is gone', async () => {
    const nodes = seedNodes(['n-3']);
    const svc = service(4);
    const ctx = context(newClient(), svc);
    const ip = await build(ctx, nodes);
    const deletes: GcpOperation[] = [
      { kind: 'delete', resource: 'healthCheck', name: healthCheck().name },
      { kind: 'delete', resource: 'backendService', name: backend(svc).name },
      { kind: 'delete', resource: 'address', name: address(svc).name },
    ];
    const refused = await applyOperations(deletes, ctx);
    assert.equal(refused.started, 0);
    assert.equal(refused.waiting.length, 3, refused.waiting.join('\n'));
    assert.match(refused.waiting.join('\n'), /already being used/);
    assert.equal(project().healthChecks.length, 1, 'still there');

    await applyOperations([{ kind: 'delete', resource: 'forwardingRule', name: rule(svc, ip).name }], ctx);
    await settled(ctx);
    const next = await applyOperations(deletes, ctx);
    assert.equal(next.started, 2, 'the rule is gone: backend service and address go');
    assert.equal(next.waiting.length, 1, 'the check is still used by the backend service being deleted');
    await settled(ctx);
    assert.equal((await applyOperations(deletes, ctx)).started, 1);
    await settled(ctx);
    assert.equal(project().healthChecks.length, 0);
    assert.equal(project().backendServices.length, 0);
  });

  it('a stale fingerprint on a backend-service patch waits for the next read; the current one patches', async () => {
    const nodes = seedNodes(['n-4']);
    const svc = service(5);
    const ctx = context(newClient(), svc);
    await build(ctx, nodes);
    const patched = { ...backend(svc), sessionAffinity: 'CLIENT_IP' as const };
    const stale = await applyOperations(
      [{ kind: 'patch', resource: 'backendService', spec: patched, fingerprint: 'c3RhbGU=' }],
      ctx,
    );
    assert.equal(stale.started, 0);
    assert.match(stale.waiting[0] ?? '', /fingerprint|condition/i);
    const observed = await settled(ctx);
    const current = observed.backendServices[0]?.fingerprint;
    assert.ok(current);
    const fresh = await applyOperations(
      [{ kind: 'patch', resource: 'backendService', spec: patched, fingerprint: current }],
      ctx,
    );
    assert.equal(fresh.started, 1);
    const after = await settled(ctx);
    assert.equal(after.backendServices[0]?.sessionAffinity, 'CLIENT_IP');
    assert.notEqual(after.backendServices[0]?.fingerprint, current);
  });

  it('a change while the resource is still being changed waits (resourceNotReady)', async () => {
    const svc = service(6);
    const ctx = context(newClient(), svc);
    sim.operations.hold();
    await applyOperations([{ kind: 'insert', resource: 'firewall', spec: healthFirewall() }], ctx);
    sim.operations.release();
    await settled(ctx);
    sim.operations.hold();
    const wider = { ...healthFirewall(), sourceRanges: ['130.211.0.0/22', '35.191.0.0/16', '10.0.0.0/8'] };
    assert.equal(
      (await applyOperations([{ kind: 'patch', resource: 'firewall', spec: wider }], ctx)).started,
      1,
    );
    const second = await applyOperations(
      [{ kind: 'patch', resource: 'firewall', spec: healthFirewall() }],
      context(ctx.client, service(7)),
    );
    assert.equal(second.started, 0);
    assert.equal(second.waiting.length, 1, 'refused while the first patch runs');
    sim.operations.release();
    await settled(ctx);
  });

  it('an operation that fails at DONE is reported by the next observe, once', async () => {
    const svc = service(8);
    const ctx = context(newClient(), svc);
    sim.faults.set({
      operationError: {
        nextN: 1,
        methods: ['addresses.insert'],
        code: 'IP_IN_USE_BY_ANOTHER_RESOURCE',
        message: 'IP is in use',
      },
    });
    assert.equal(
      (await applyOperations([{ kind: 'insert', resource: 'address', spec: address(svc) }], ctx)).started,
      1,
    );
    const observed = await settled(ctx);
    assert.deepEqual(observed.failed, [
      {
        target: `address ${address(svc).name} insert`,
        code: 'IP_IN_USE_BY_ANOTHER_RESOURCE',
        message: 'IP is in use',
      },
    ]);
    assert.equal(observed.addresses.length, 0);
    const again = await observe(ctx.client, CONFIG, ctx.tracker, { service: svc });
    assert.deepEqual(again.failed, [], 'a failure is reported once; the plan decides what comes next');
  });

  it('over quota: the request refused → QuotaExceeded; the operation failed → its quota metric in the message', async () => {
    const svc = service(9);
    sim.quotas.set({ limits: { STATIC_ADDRESSES: 0 } });
    const ctx = context(newClient(), svc);
    const outcome = await applyOperations(
      [
        { kind: 'insert', resource: 'address', spec: address(svc) },
        { kind: 'insert', resource: 'healthCheck', spec: healthCheck() },
      ],
      ctx,
    );
    assert.equal(outcome.problem?.reason, 'QuotaExceeded');
    assert.match(outcome.problem?.message ?? '', /STATIC_ADDRESSES/);
    assert.equal(outcome.started, 1, 'the rest still starts');

    const other = await startGcpSimulator({
      operations: { pendingMs: 5, runningMs: 20 },
      quotaErrorsIn: 'operation',
      quotas: { limits: { FIREWALLS: 0 } },
    });
    try {
      const octx = context(newClient({ endpoint: other.url }), svc);
      const started = await applyOperations(
        [{ kind: 'insert', resource: 'firewall', spec: healthFirewall() }],
        octx,
      );
      assert.equal(started.started, 1);
      const observed = await settled(octx);
      assert.equal(observed.failed[0]?.code, 'QUOTA_EXCEEDED');
      assert.match(observed.failed[0]?.message ?? '', /quota metric compute\.googleapis\.com\/firewalls/);
    } finally {
      await other.stop();
    }
  });

  it('membership: Services waking for the same node change send one add per group; the lock orders writes', async () => {
    const nodes = seedNodes(['n-5', 'n-6', 'n-7']);
    const { client, shared, first: a } = await sharedGroup(10);
    const add: GcpOperation = { kind: 'addInstances', group: group().name, zone: ZONE, instances: nodes };
    const outcomes = await Promise.all(
      [10, 11, 12].map((n) => applyOperations([add], context(client, service(n), shared))),
    );
    assert.deepEqual(
      outcomes.map((o) => o.started),
      [1, 0, 0],
    );
    assert.equal(sim.counters()['instanceGroups.addInstances'], 1);
    await settled(a);
    // A member already in (another Service's add finished first): memberAlreadyExists is "already so".
    const late = context(client, service(13));
    assert.deepEqual(await applyOperations([add], late), { started: 0, waiting: [] });
    assert.equal(
      Object.values(project().instanceGroupMembers)
        .flat()
        .map((m) => m.replace(/.*\//, ''))
        .join(),
      'n-5,n-6,n-7',
    );
  });

  it('Services removed together send one delete per shared resource', async () => {
    const { client, shared, first: a } = await sharedGroup(14);
    const remove: GcpOperation = {
      kind: 'delete',
      resource: 'instanceGroup',
      name: group().name,
      zone: ZONE,
    };
    const outcomes = await Promise.all(
      [14, 15, 16].map((n) => applyOperations([remove], context(client, service(n), shared))),
    );
    assert.deepEqual(
      outcomes.map((o) => o.started),
      [1, 0, 0],
    );
    assert.equal(sim.counters()['instanceGroups.delete'], 1);
    await settled(a);
    assert.deepEqual(project().created, []);
  });

  it('KeyedLock: one task per key at a time, in call order, a failure does not block the next', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let inside = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        inside++;
        assert.equal(inside, 1, 'never two at once on a key');
        log.push(`${name} start`);
        await sleep(5);
        log.push(`${name} end`);
        inside--;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      lock.run('ig', task('a', true)),
      lock.run('ig', task('b')),
      lock.run('ig', task('c')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('5xx after the write took effect and throttling: retried with the same requestId, one of each', async () => {
    const nodes = seedNodes(['n-8']);
    const svc = service(14);
    const events: ComputeCallEvent[] = [];
    const ctx = context(newClient({ onCall: (e) => events.push(e) }), svc);
    sim.faults.set({
      serverError: { nextN: 6, afterApplying: true, methods: ['*.insert', '*.addInstances'] },
      rateLimit: { rate: 0.2, status: 429 },
    });
    const ip = await build(ctx, nodes);
    const s = project();
    for (const kind of [
      'addresses',
      'healthChecks',
      'instanceGroups',
      'backendServices',
      'firewalls',
      'forwardingRules',
    ] as const) {
      assert.equal(s[kind].length, 1, kind);
    }
    assert.equal(named(s.forwardingRules, rule(svc, ip).name)?.IPAddress, ip);
    // Each retried write repeated its requestId, and got the first call's operation back.
    const writes = sim.calls().filter((c) => c.requestId !== undefined);
    const byRequest = new Map<string, number>();
    for (const call of writes) byRequest.set(call.requestId!, (byRequest.get(call.requestId!) ?? 0) + 1);
    assert.ok(
      [...byRequest.values()].some((n) => n > 1),
      'some write was sent twice with the same requestId',
    );
    assert.equal(byRequest.size, 7, 'seven logical writes');
    assert.ok(events.some((e) => e.outcome === 'retryable'));
    assert.ok(events.some((e) => e.outcome === 'throttled'));
    assert.ok(events.every((e) => e.service === 'compute' && e.durationMs >= 0));
  });

  it('dropped answers and Google-shaped 429s through a fault proxy: everything once', async () => {
    const nodes = seedNodes(['n-9', 'n-10']);
    const googleThrottle = (request: ProxiedRequest) => ({
      status: 429,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: JSON.stringify({
        error: {
          code: 429,
          message: `Quota exceeded for quota metric 'Queries' of service 'compute.googleapis.com' (${request.method}).`,
          errors: [{ message: 'Rate Limit Exceeded', domain: 'usageLimits', reason: 'rateLimitExceeded' }],
          status: 'RESOURCE_EXHAUSTED',
        },
      }),
    });
    const proxy = await startFaultProxy({
      target: sim.url,
      faults: { throttleRate: 0.15, dropRate: 0.2 },
      throttleResponse: googleThrottle,
      seed: 7,
    });
    proxies.push(proxy);
    const events: ComputeCallEvent[] = [];
    // Each call may meet a fault (35%): enough attempts that one always gets through.
    const client = newClient({ endpoint: proxy.url, onCall: (e) => events.push(e), maxAttempts: 14 });
    const svcs = [service(15), service(16)];
    // One after the other: the second meets the shared check and group already there (409: adopted).
    for (const svc of svcs) await build(context(client, svc), nodes);
    assert.ok(proxy.counters.dropped > 0 && proxy.counters.throttled > 0, JSON.stringify(proxy.counters));
    const s = project();
    for (const svc of svcs) {
      assert.ok(named(s.addresses, address(svc).name));
      assert.ok(named(s.forwardingRules, rule(svc, '').name));
    }
    assert.equal(s.addresses.length, 2);
    assert.equal(s.forwardingRules.length, 2);
    assert.equal(s.backendServices.length, 2);
    assert.equal(s.firewalls.length, 2);
    assert.equal(s.healthChecks.length, 1);
    assert.equal(s.instanceGroups.length, 1);
    assert.equal(Object.values(s.instanceGroupMembers).flat().length, 2);
    assert.ok(events.some((e) => e.outcome === 'throttled'));
  });

  it('an answer that does not come in time is retried as lost (the SDK would wait forever)', async () => {
    let delayed = 0;
    const proxy = await startFaultProxy({
      target: sim.url,
      // Only the first insert is late: it reaches the simulator after the client gave up on it.
      faults: {
        latencyMs: 400,
        applies: (r) => r.method === 'POST' && r.path.includes('/healthChecks') && delayed++ === 0,
      },
    });
    proxies.push(proxy);
    const events: ComputeCallEvent[] = [];
    const svc = service(17);
    const ctx = context(
      newClient({ endpoint: proxy.url, callTimeoutMs: 100, onCall: (e) => events.push(e) }),
      svc,
    );
    const outcome = await applyOperations(
      [{ kind: 'insert', resource: 'healthCheck', spec: healthCheck() }],
      ctx,
    );
    assert.equal(outcome.started, 1);
    assert.deepEqual(
      events.map((e) => e.outcome),
      ['retryable', 'success'],
    );
    await sleep(500); // the late first attempt arrives too
    await settled(ctx);
    assert.equal(project().healthChecks.length, 1);
    const inserts = sim.calls().filter((c) => c.method === 'regionHealthChecks.insert');
    assert.equal(inserts.length, 2);
    assert.equal(inserts[0]?.requestId, inserts[1]?.requestId, 'both attempts carry one requestId');
  });

  it('the client-side token bucket spaces calls out (and a throttled answer empties it)', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(Math.round(ms));
        now += ms;
      },
    };
    const client = new ComputeClient({
      logger,
      endpoint: sim.url,
      rateLimit: { perSecond: 10, burst: 2 },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      clock,
    });
    clients.push(client);
    const get = () =>
      client
        .call('firewalls.get', () => client.firewalls.get({ project: PROJECT, firewall: 'none' }))
        .catch((e: unknown) => e);
    for (let i = 0; i < 4; i++) assert.ok((await get()) instanceof ComputeCallError);
    assert.deepEqual(sleeps, [100, 100], 'a burst of 2, then one call per 100 ms');
    sim.faults.set({ rateLimit: { nextN: 1 } });
    sleeps.length = 0;
    now += 1000; // the bucket is full again
    await get();
    // 403 rateLimitExceeded: the backoff (≤ 1 ms here), then a token, which the 403 took away: 100 ms.
    assert.equal(sleeps.at(-1), 100, `after the 403 the retry waits for a new token: ${sleeps.join()}`);
  });

  it('operationRef reads a quota error with its metric, and where the operation lives', () => {
    const ref = operationRef({
      name: 'operation-1',
      status: 'DONE',
      region: `https://compute.googleapis.com/compute/v1/projects/${PROJECT}/regions/${REGION}`,
      error: {
        errors: [
          {
            code: 'QUOTA_EXCEEDED',
            message: "Quota 'FORWARDING_RULES' exceeded.  Limit: 15.0 in region us-central1.",
            errorDetails: [
              {
                quotaInfo: {
                  metricName: 'compute.googleapis.com/forwarding_rules',
                  limitName: 'FORWARDING-RULES-per-project-region',
                  limit: 15,
                },
              },
            ],
          },
        ],
      },
    });
    assert.deepEqual(ref.scope, { kind: 'region', region: REGION });
    assert.equal(ref.error?.code, 'QUOTA_EXCEEDED');
    assert.match(
      ref.error?.message ?? '',
      /forwarding_rules, limit FORWARDING-RULES-per-project-region = 15\)$/,
    );
    assert.deepEqual(operationRef({ name: 'o', status: 'RUNNING', zone: 'zones/z-1' }).scope, {
      kind: 'zone',
      zone: 'z-1',
    });
    assert.deepEqual(operationRef({ name: 'o', status: 'DONE' }).scope, { kind: 'global' });
  });
});
