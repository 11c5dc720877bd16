// Retries and idempotency under faults: the io talks to moto through the fault proxy, which
// throttles, fails and drops responses (after moto acted) at seeded rates. Reconciling until ready
// (as the controller would, requeueing what stops short) must end in the same state as without
// faults, with no duplicate load balancer, target group, listener, certificate, security group or
// rule; removal must leave nothing. Counts are read from moto directly, never through the proxy.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadBalancerIntent, ServiceRef } from '../../src/intent/types.ts';
import { applyPlan, applyRemoval } from '../../src/providers/aws/apply.ts';
import { AwsCallError } from '../../src/providers/aws/errors.ts';
import type { AwsOperation } from '../../src/providers/aws/model.ts';
import { TAG } from '../../src/providers/aws/model.ts';
import { observe, observeOwned } from '../../src/providers/aws/observe.ts';
import type { ApplyResult, RemoveResult } from '../../src/providers/provider.ts';
import { type SeededAccount, seedAccount } from '../harness/aws-seed.ts';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.ts';
import { plainIntent } from '../harness/intent-fixture.ts';
import { type Moto, startMoto } from '../harness/moto.ts';
import {
  createEverything,
  DEFAULT_SHAPE,
  type IoWorld,
  ioWorld,
  type MotoCounts,
  namesFor,
  nodeRules,
  plainSettings,
  readMoto,
  type ServiceShape,
} from './aws-support.ts';

const CLUSTER = 'fault-test';

let moto: Moto;
let proxy: FaultProxy;
let account: SeededAccount;

const SETTINGS = plainSettings();

function intentFor(service: ServiceRef): LoadBalancerIntent {
  return plainIntent({
    service,
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 },
      { name: 'https', protocol: 'TCP', port: 443, nodePort: 30443 },
    ],
    sourceRanges: ['0.0.0.0/0'],
    nodes: account.instances.map((i) => ({
      name: i.nodeName,
      providerID: i.providerID,
      labels: {},
      internalAddresses: [i.privateIp],
    })),
  });
}

/** Observe → apply until ready, as the controller requeues; a call that ran out of retries is one more round. */
async function reconcileUntilReady(
  world: IoWorld,
  service: ServiceRef,
  shape: ServiceShape = DEFAULT_SHAPE,
  maxRounds = 30,
): Promise<{ result: ApplyResult; rounds: number }> {
  let last: ApplyResult | undefined;
  for (let round = 1; round <= maxRounds; round++) {
    try {
      const observed = await observe(intentFor(service), SETTINGS, world.observeDeps);
      last = await applyPlan(createEverything(CLUSTER, service, account, shape), observed, world.applyDeps);
      if (last.kind === 'ready') return { result: last, rounds: round };
      assert.notEqual(last.kind, 'failed', `round ${round}: ${JSON.stringify(last)}`);
    } catch (error) {
      if (!(error instanceof AwsCallError)) throw error;
    }
  }
  assert.fail(`not ready after ${maxRounds} rounds: ${JSON.stringify(last)}`);
}

async function removeUntilGone(world: IoWorld, service: ServiceRef, maxRounds = 30): Promise<number> {
  const names = namesFor(CLUSTER, service, account);
  const lbNamed = `=${names.loadBalancer}`;
  let last: RemoveResult | undefined;
  for (let round = 1; round <= maxRounds; round++) {
    try {
      const observed = await observeOwned(service, world.observeDeps);
      const operations: AwsOperation[] = [
        ...observed.environment.nodeSecurityGroups.map(
          (g): AwsOperation => ({
            op: 'revokeIngress',
            groupId: g.id,
            rules: g.ingress.filter((r) => r.description.endsWith(lbNamed)),
          }),
        ),
        ...observed.owned.loadBalancers.map(
          (lb): AwsOperation => ({ op: 'deleteLoadBalancer', loadBalancerArn: lb.arn }),
        ),
        ...observed.owned.targetGroups.map(
          (tg): AwsOperation => ({ op: 'deleteTargetGroup', targetGroupArn: tg.arn }),
        ),
        ...observed.owned.securityGroups.map(
          (sg): AwsOperation => ({ op: 'deleteSecurityGroup', groupId: sg.id }),
        ),
      ];
      last = await applyRemoval(operations, world.applyDeps, observed);
      if (last.kind === 'gone') {
        // Gone means gone: a fresh look finds nothing left.
        const check = await observeOwned(service, world.observeDeps);
        if (
          check.owned.loadBalancers.length +
            check.owned.targetGroups.length +
            check.owned.securityGroups.length ===
          0
        ) {
          return round;
        }
      }
    } catch (error) {
      if (!(error instanceof AwsCallError)) throw error;
    }
  }
  assert.fail(`not gone after ${maxRounds} rounds: ${JSON.stringify(last)}`);
}

/** One Service's resources in moto, counted: duplicates would show here. */
function countsFor(counts: MotoCounts, service: ServiceRef, shape: ServiceShape = DEFAULT_SHAPE) {
  const names = namesFor(CLUSTER, service, account, shape);
  const mine = (tags: Record<string, string>) =>
    tags[TAG.cluster] === CLUSTER && tags[TAG.serviceUid] === service.uid;
  const lbs = counts.loadBalancers.filter((lb) => mine(lb.tags) || lb.name === names.loadBalancer);
  const listeners = counts.listeners.filter((l) => l.loadBalancer === names.loadBalancer);
  const nodeGroup = counts.securityGroups.find((g) => g.id === account.nodeSecurityGroup);
  return {
    loadBalancers: lbs.length,
    targetGroups: counts.targetGroups.filter(
      (tg) => mine(tg.tags) || tg.name === names.tg80 || tg.name === names.tg443,
    ).length,
    targets: counts.targetGroups.filter((tg) => mine(tg.tags)).flatMap((tg) => tg.targets).length,
    listeners: listeners.map((l) => `${l.port}/${l.protocol}`).sort(),
    certificates: listeners.flatMap((l) => l.certificates).length,
    securityGroups: counts.securityGroups.filter((g) => mine(g.tags) || g.name === names.securityGroup)
      .length,
    frontendRules: counts.securityGroups.filter((g) => mine(g.tags)).flatMap((g) => g.rules).length,
    nodeRules: (nodeGroup?.rules ?? []).filter((r) => r.endsWith(`=${names.loadBalancer}`)).length,
  };
}

const EXPECTED = {
  loadBalancers: 1,
  targetGroups: 2,
  targets: 4,
  listeners: ['443/TLS', '80/TCP'],
  certificates: 2,
  securityGroups: 1,
  frontendRules: 3,
  nodeRules: 5,
};

before(async () => {
  moto = await startMoto();
  account = await seedAccount({ endpoint: moto.endpoint, cluster: CLUSTER, nodeNames: ['node-a', 'node-b'] });
  assert.equal(nodeRules('x', account.vpcCidr).length, EXPECTED.nodeRules);
  proxy = await startFaultProxy({ target: moto.endpoint, seed: 7 });
});

after(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('aws io under faults', () => {
  test('30% throttling, 10% server errors, 10% dropped responses: same end state, no duplicates', async () => {
    // Three Services one after the other, so the faults meet many calls; each its own NodePorts and source range.
    const services = [1, 2, 3].map((i) => ({
      service: { namespace: 'shop', name: `storm-${i}`, uid: `a0c7e1f2-1111-4a4a-8b8b-00000000000${i}` },
      shape: { nodePorts: [30100 + i, 30200 + i], clientCidr: `10.${i}.0.0/16` } as ServiceShape,
    }));
    const faulty = { throttleRate: 0.3, serverErrorRate: 0.1, dropRate: 0.1, serverErrorAfterForward: true };
    proxy.resetCounters();
    proxy.setFaults(faulty);
    const world = ioWorld(proxy.url, CLUSTER);
    const rounds: number[] = [];
    for (const { service, shape } of services) {
      const { result, rounds: taken } = await reconcileUntilReady(world, service, shape);
      assert.equal(result.kind, 'ready');
      rounds.push(taken);
    }
    const faults = { ...proxy.counters };
    proxy.setFaults({});
    const counts = await readMoto(moto.endpoint);
    for (const { service, shape } of services) {
      assert.deepEqual(countsFor(counts, service, shape), EXPECTED, service.name);
    }
    // The faults did happen, of every kind, to both APIs. (Which writes lost their answer depends on the
    // draw; the next test loses the first answer of every write that is not idempotent, on purpose.)
    assert.ok(faults.throttled > 0 && faults.serverErrors > 0 && faults.dropped > 0, JSON.stringify(faults));
    assert.ok(world.calls.some((c) => c.service === 'ec2' && c.outcome === 'throttled'));
    assert.ok(world.calls.some((c) => c.service === 'elbv2' && c.outcome === 'throttled'));
    const hitWrites = Object.keys(faults.faultsByAction).filter((k) =>
      /^(?!Describe)\S+ (drop|server-error)$/.test(k),
    );
    const outcomes: Record<string, number> = {};
    let limitedMs = 0;
    let inFlightMs = 0;
    for (const c of world.calls) {
      outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
      limitedMs += c.waitedMs;
      inFlightMs += c.durationMs;
    }
    process.stdout.write(
      `# faults: ${faults.requests} requests, ${faults.throttled} throttled, ${faults.serverErrors} server errors, ` +
        `${faults.dropped} dropped; reconcile rounds ${rounds.join(', ')}; attempts by outcome ${JSON.stringify(outcomes)}; ` +
        `writes whose answer was lost or failed after moto acted: ${hitWrites.join(', ') || 'none'}; ` +
        `${Math.round(limitedMs)} ms held by the client-side rate limits, ${Math.round(inFlightMs)} ms in flight\n`,
    );

    proxy.resetCounters();
    proxy.setFaults(faulty);
    const removalRounds: number[] = [];
    for (const { service } of services) removalRounds.push(await removeUntilGone(world, service));
    const removalFaults = { ...proxy.counters };
    proxy.setFaults({});
    const after = await readMoto(moto.endpoint);
    const none = {
      loadBalancers: 0,
      targetGroups: 0,
      targets: 0,
      listeners: [],
      certificates: 0,
      securityGroups: 0,
      frontendRules: 0,
      nodeRules: 0,
    };
    for (const { service, shape } of services)
      assert.deepEqual(countsFor(after, service, shape), none, service.name);
    assert.deepEqual(after.securityGroups.find((g) => g.id === account.nodeSecurityGroup)?.rules, [
      'tcp 22-22 10.20.0.0/16 ssh from the VPC',
    ]);
    process.stdout.write(
      `# removal under the same faults: rounds ${removalRounds.join(', ')}; ${removalFaults.requests} requests, ` +
        `${removalFaults.throttled} throttled, ${removalFaults.serverErrors} server errors, ${removalFaults.dropped} dropped\n`,
    );
  });

  test('the first answer of every write that is not idempotent is lost: one of everything all the same', async () => {
    const service: ServiceRef = {
      namespace: 'shop',
      name: 'lost',
      uid: 'a0c7e1f2-2222-4a4a-8b8b-000000000002',
    };
    const lostOnce = new Set<string>();
    proxy.resetCounters();
    proxy.setFaults({
      dropRate: 1,
      applies: (request) => {
        if (!/^(Create|Add|Authorize|Register)/.test(request.action) || lostOnce.has(request.action))
          return false;
        lostOnce.add(request.action);
        return true;
      },
    });
    const world = ioWorld(proxy.url, CLUSTER);
    const { result, rounds } = await reconcileUntilReady(world, service);
    proxy.setFaults({});
    assert.equal(result.kind, 'ready');
    assert.equal(rounds, 1, 'every lost answer was recovered within the call');
    assert.deepEqual([...lostOnce].sort(), [
      'AddListenerCertificates',
      'AddTags',
      'AuthorizeSecurityGroupIngress',
      'CreateListener',
      'CreateLoadBalancer',
      'CreateSecurityGroup',
      'CreateTargetGroup',
      'RegisterTargets',
    ]);
    assert.equal(proxy.counters.dropped, lostOnce.size);
    assert.deepEqual(countsFor(await readMoto(moto.endpoint), service), EXPECTED);
    await removeUntilGone(world, service);
  });

  test("a failure's request ID is in the log: AWS's own, and the proxy's on a throttling answer", async () => {
    const world = ioWorld(proxy.url, CLUSTER, { maxAttempts: 3 });
    proxy.setFaults({ throttleRate: 1, applies: (request) => request.action === 'DescribeLoadBalancers' });
    await assert.rejects(world.inventory.refresh(), (error: unknown) => {
      assert.ok(error instanceof AwsCallError);
      assert.equal(error.code, 'Throttling');
      assert.equal(error.attempts, 3);
      assert.match(error.message, /request ID fault-proxy-\d+-\d+/);
      return true;
    });
    proxy.setFaults({});
    const throttled = world.logs.filter((l) => l.api === 'DescribeLoadBalancers' && l.code === 'Throttling');
    assert.equal(throttled.length, 3);
    for (const line of throttled) assert.match(String(line.requestId), /^fault-proxy-\d+-\d+$/);
    // The EC2 shape of a throttling answer (RequestLimitExceeded, HTTP 503) is understood too.
    proxy.setFaults({ throttleRate: 1, applies: (request) => request.action === 'DescribeVpcs' });
    await assert.rejects(
      observe(intentFor({ namespace: 'shop', name: 'x', uid: 'uid-x' }), SETTINGS, world.observeDeps),
      (error: unknown) =>
        error instanceof AwsCallError && error.code === 'RequestLimitExceeded' && error.attempts === 3,
    );
    proxy.setFaults({});
    assert.ok(world.logs.some((l) => l.api === 'DescribeVpcs' && /^fault-proxy-/.test(String(l.requestId))));
  });
});
