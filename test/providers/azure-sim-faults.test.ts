// Faults on demand through the real SDK: 429 with Retry-After (the SDK waits, then retries), throttling at a
// rate and by ARM-like token buckets, 5xx (retried), a fault returned after the write took effect (the retry
// with If-Match then meets 412), and operations that fail to provision.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  armRequest,
  errorCode,
  FAST,
  loadBalancer,
  publicIp,
  publicIpWire,
  RG,
  restError,
  startTestSimulator,
  type TestSimulator,
} from '../sim/azure/testing.ts';

let t: TestSimulator;

before(async () => {
  t = await startTestSimulator();
});
afterEach(() => t.sim.reset());
after(async () => {
  await t.sim.stop();
});

describe('throttling', () => {
  it('429 with Retry-After for the next N calls: the SDK waits Retry-After, retries, and succeeds', async () => {
    const { client, sim } = t;
    sim.seed.publicIPAddress({ resourceGroup: RG, name: 'pip' });
    sim.faults.add({
      status: 429,
      retryAfterSeconds: 1,
      nextCalls: 2,
      methods: ['GET'],
      resourceTypes: ['publicIPAddresses'],
      subscriptionId: sim.subscriptionId,
    });
    const pip = await client.publicIPAddresses.get(RG, 'pip');
    assert.equal(pip.name, 'pip');
    const counters = sim.counters();
    assert.equal(counters.byCall['GET publicIPAddresses'], 3);
    assert.equal(counters.throttled, 2);
    const gets = sim.requestLog().filter((r) => r.resourceType === 'publicIPAddresses');
    assert.deepEqual(
      gets.map((r) => r.status),
      [429, 429, 200],
    );
    for (let i = 1; i < gets.length; i++) {
      const gap = (gets[i]?.at ?? 0) - (gets[i - 1]?.at ?? 0);
      // Server-side times: the retry came no sooner than Retry-After (less a millisecond of timer rounding).
      assert.ok(gap >= 990, `retry ${i} came ${gap} ms after the 429`);
    }
    assert.deepEqual(sim.faults.list(), [], 'the rule retired after its calls');
  });

  it('a throttled call carries ARM’s error and Retry-After; a rule for another subscription does not fire', async () => {
    const { sim, ids } = t;
    sim.faults.add({ status: 429, retryAfterSeconds: 7, subscriptionId: 'another-subscription' });
    const url = `${ids.vnet}?api-version=2025-05-01`;
    assert.equal((await armRequest(sim, 'GET', url)).status, 200);
    sim.faults.clear();
    sim.faults.add({ status: 429, retryAfterSeconds: 7, nextCalls: 1 });
    const throttled = await armRequest(sim, 'GET', url);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '7');
    assert.equal(errorCode(throttled.body), 'SubscriptionRequestsThrottled');
  });

  it('at a rate: a fraction of matching calls, spread deterministically', async () => {
    const { sim, ids } = t;
    sim.faults.add({ status: 429, retryAfterSeconds: 1, rate: 0.5, methods: ['GET'] });
    const statuses = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await armRequest(sim, 'GET', `${ids.vnet}?api-version=2025-05-01`)).status);
    assert.deepEqual(statuses, [200, 429, 200, 429, 200, 429]);
    const put = await armRequest(sim, 'PUT', `${ids.pip('p')}?api-version=2025-05-01`, {
      body: publicIpWire(),
    });
    assert.equal(put.status, 201, 'the rule matches GETs only');
  });

  it('ARM-like token buckets: writes beyond the bucket get 429 with the seconds until a token is back', async () => {
    const { sim, ids, client } = t;
    sim.faults.throttle(sim.subscriptionId, { writes: { capacity: 2, refillPerSecond: 1 } });
    const put = (name: string) =>
      armRequest(sim, 'PUT', `${ids.pip(name)}?api-version=2025-05-01`, { body: publicIpWire() });
    const first = await put('w1');
    assert.equal(first.status, 201);
    assert.equal(first.headers['x-ms-ratelimit-remaining-subscription-writes'], '1');
    assert.equal((await put('w2')).status, 201);
    const third = await put('w3');
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '1');
    assert.equal(
      (await armRequest(sim, 'GET', `${ids.vnet}?api-version=2025-05-01`)).status,
      200,
      'reads have their own bucket',
    );
    // The SDK honours the Retry-After and gets through once a token is back.
    const pip = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'w4', publicIp(), FAST);
    assert.equal(pip.provisioningState, 'Succeeded');
    assert.ok(sim.counters().throttled >= 1);
  });
});

describe('server errors', () => {
  it('5xx on demand: the SDK retries and succeeds', async () => {
    const { client, sim } = t;
    sim.faults.add({ status: 503, nextCalls: 1, methods: ['PUT'] });
    sim.faults.add({ status: 500, nextCalls: 1, resourceTypes: ['operations'] });
    const pip = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), FAST);
    assert.equal(pip.provisioningState, 'Succeeded');
    const counters = sim.counters();
    assert.equal(counters.faulted, 2);
    assert.equal(counters.byCall['PUT publicIPAddresses'], 2);
  });

  it('a fault after the write took effect: a retry without If-Match succeeds, one with If-Match meets 412', async () => {
    const { client, sim, ids } = t;
    const pip = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), FAST);
    const lbBody = loadBalancer(ids, {
      name: 'lb',
      frontends: [{ name: 'fe', pip: pip.id ?? '' }],
      ports: [{ frontend: 'fe', port: 80 }],
    });
    await client.loadBalancers.beginCreateOrUpdateAndWait(RG, 'lb', lbBody, FAST);

    sim.faults.add({
      status: 500,
      when: 'after',
      nextCalls: 1,
      methods: ['PUT'],
      resourceTypes: ['loadBalancers'],
    });
    const tagged = await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'lb',
      { ...lbBody, tags: { round: '1' } },
      FAST,
    );
    assert.deepEqual(tagged.tags, { round: '1' });
    assert.equal(
      sim.counters().byCall['PUT loadBalancers'],
      3,
      'the lost answer made the SDK send the PUT again',
    );

    const current = await client.loadBalancers.get(RG, 'lb');
    sim.faults.add({
      status: 500,
      when: 'after',
      nextCalls: 1,
      methods: ['PUT'],
      resourceTypes: ['loadBalancers'],
    });
    await assert.rejects(
      client.loadBalancers.beginCreateOrUpdateAndWait(
        RG,
        'lb',
        { ...lbBody, tags: { round: '2' } },
        {
          ...FAST,
          requestOptions: { customHeaders: { 'If-Match': current.etag ?? '' } },
        },
      ),
      (e) => {
        assert.deepEqual([restError(e).statusCode, restError(e).code], [412, 'PreconditionFailed']);
        return true;
      },
    );
    assert.deepEqual(
      (await client.loadBalancers.get(RG, 'lb')).tags,
      { round: '2' },
      'the first attempt did take effect',
    );
  });

  it('an operation that fails to provision: the poller fails, the resource is Failed until a new PUT', async () => {
    const { client, sim } = t;
    sim.faults.failOperations({
      count: 1,
      resourceTypes: ['publicIPAddresses'],
      code: 'InternalServerError',
      message: 'boom',
    });
    await assert.rejects(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), FAST),
      (e) => {
        assert.match(restError(e).message, /boom|failed/i);
        return true;
      },
    );
    assert.equal((await client.publicIPAddresses.get(RG, 'pip')).provisioningState, 'Failed');
    const ops = sim.operations.list();
    assert.deepEqual(
      ops.map((o) => [o.status, o.error?.code]),
      [['Failed', 'InternalServerError']],
    );
    const fixed = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), FAST);
    assert.equal(fixed.provisioningState, 'Succeeded');
  });
});

describe('latency', () => {
  it('adds the configured delay before each ARM answer', async () => {
    const { sim, ids } = t;
    sim.updateSettings({ latencyMs: 150 });
    const started = performance.now();
    await armRequest(sim, 'GET', `${ids.vnet}?api-version=2025-05-01`);
    const took = performance.now() - started;
    assert.ok(took >= 140, `took ${took.toFixed(0)} ms`);
  });
});
