// Faults on demand (rate limits, 5xx, failed operations) and requestId idempotency, seen through
// the real SDK. Also records what the SDK itself does with such errors: its REST transport does
// not retry them, so a provider has to.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ComputeClients, computeClients } from '../sim/gcp/clients.ts';
import { type GcpSimulator, startGcpSimulator } from '../sim/gcp/server.ts';
import { computeError, done, operationOf, rejection, succeeded } from '../sim/gcp/testing.ts';

const project = 'sluice-faults';
const region = 'us-central1';

let sim: GcpSimulator;
let compute: ComputeClients;

before(async () => {
  sim = await startGcpSimulator({ operations: { pendingMs: 0, runningMs: 5 } });
  compute = computeClients(sim);
});

after(async () => {
  await compute.close();
  await sim.stop();
});

beforeEach(() => sim.reset());

function insertHealthCheck(name: string, requestId?: string) {
  return compute.healthChecks.insert({
    project,
    region,
    ...(requestId ? { requestId } : {}),
    healthCheckResource: { name, type: 'TCP', tcpHealthCheck: { port: 80 } },
  });
}

function operationsOf(): Array<Record<string, unknown>> {
  return sim.snapshot(project).projects[project]?.operations ?? [];
}

describe('rate limits', () => {
  it('the next N calls of a method get 403 rateLimitExceeded, then calls pass again', async () => {
    sim.faults.set({ rateLimit: { nextN: 2, methods: ['networks.get'] } });
    for (let i = 0; i < 2; i += 1) {
      const error = await rejection(compute.networks.get({ project, network: 'default' }));
      assert.equal(error.status, 403);
      assert.equal(error.reason, 'rateLimitExceeded');
      assert.match(error.message, /Quota exceeded for quota metric 'Read requests'/);
    }
    const [network] = await compute.networks.get({ project, network: 'default' });
    assert.equal(network.name, 'default');
    await compute.networks.list({ project });
    assert.equal(sim.counters()['networks.get'], 3, 'the SDK did not retry: one call per attempt');
    assert.equal(sim.faults.fired().rateLimit, 2);
  });

  it('429 RESOURCE_EXHAUSTED in the shape of the API front end, for writes too', async () => {
    sim.faults.set({ rateLimit: { nextN: 1, status: 429, methods: ['*.insert'] } });
    const error = await rejection(insertHealthCheck('hc'));
    assert.equal(error.status, 429);
    assert.equal(error.body.status, 'RESOURCE_EXHAUSTED');
    assert.match(error.message, /'Write requests'/);
    const details = error.body.details as Array<Record<string, unknown>>;
    assert.equal(details[0]?.reason, 'RATE_LIMIT_EXCEEDED');
    assert.equal(operationsOf().length, 0, 'a throttled insert starts nothing');
    await succeeded(compute, insertHealthCheck('hc'));
  });

  it('at a rate: a seeded share of the calls fail, the rest pass', async () => {
    sim.faults.set({ rateLimit: { rate: 0.5, methods: ['networks.list'] } });
    let failed = 0;
    for (let i = 0; i < 40; i += 1) {
      try {
        await compute.networks.list({ project });
      } catch (error) {
        assert.equal(computeError(error).status, 403);
        failed += 1;
      }
    }
    assert.ok(failed > 5 && failed < 35, `about half of 40 calls failed, not ${failed}`);
    assert.equal(sim.faults.fired().rateLimit, failed);
  });
});

describe('server errors', () => {
  it('5xx for the next N calls; the SDK surfaces them without retrying', async () => {
    sim.faults.set({ serverError: { nextN: 1, status: 503, methods: ['regionHealthChecks.list'] } });
    const unavailable = await rejection(compute.healthChecks.list({ project, region }));
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.reason, 'backendError');
    sim.faults.set({ serverError: { nextN: 1, status: 500 } });
    const internal = await rejection(insertHealthCheck('hc'));
    assert.equal(internal.status, 500);
    assert.equal(operationsOf().length, 0, 'a 5xx before applying starts nothing');
    await succeeded(compute, insertHealthCheck('hc'));
    assert.equal(sim.counters()['regionHealthChecks.list'], 1);
  });

  it('a 5xx after applying: the insert happened; retrying with the same requestId returns its operation', async () => {
    sim.faults.set({
      serverError: { nextN: 1, status: 503, afterApplying: true, methods: ['regionHealthChecks.insert'] },
    });
    const requestId = randomUUID();
    const lost = await rejection(insertHealthCheck('hc', requestId));
    assert.equal(lost.status, 503);
    assert.equal(operationsOf().length, 1, 'the call was carried out before its answer was lost');
    const retried = operationOf(await insertHealthCheck('hc', requestId));
    assert.equal(retried.name, operationsOf()[0]?.name);
    const finished = await done(compute, insertHealthCheck('hc', requestId));
    assert.equal(finished.error ?? undefined, undefined);
    assert.equal(operationsOf().length, 1, 'no second operation');
    const [checks] = await compute.healthChecks.list({ project, region });
    assert.equal(checks.length, 1, 'no duplicate');
    const withoutRequestId = await rejection(insertHealthCheck('hc'));
    assert.equal(withoutRequestId.status, 409, 'a retry without requestId is a second insert');
  });
});

describe('requestId', () => {
  it('a repeated requestId returns the first operation instead of doing the call again', async () => {
    const requestId = randomUUID();
    const first = await done(compute, insertHealthCheck('hc', requestId));
    const second = operationOf(await insertHealthCheck('hc', requestId));
    assert.equal(second.id, first.id);
    assert.equal(second.status, 'DONE');
    const deleteId = randomUUID();
    const deleted = await succeeded(
      compute,
      compute.healthChecks.delete({ project, region, healthCheck: 'hc', requestId: deleteId }),
    );
    const repeatedDelete = operationOf(
      await compute.healthChecks.delete({ project, region, healthCheck: 'hc', requestId: deleteId }),
    );
    assert.equal(repeatedDelete.id, deleted.id, 'not a 404 for a resource already gone');
    const other = await rejection(
      compute.healthChecks.delete({ project, region, healthCheck: 'hc', requestId: randomUUID() }),
    );
    assert.equal(other.status, 404);
    assert.equal(operationsOf().length, 2);
  });

  it('request ids belong to their project', async () => {
    const requestId = randomUUID();
    await succeeded(compute, insertHealthCheck('hc', requestId));
    await succeeded(
      compute,
      compute.healthChecks.insert({
        project: 'another-project',
        region,
        requestId,
        healthCheckResource: { name: 'hc', type: 'TCP' },
      }),
    );
    assert.equal(sim.snapshot('another-project').projects['another-project']?.healthChecks.length, 1);
  });
});

describe('failed operations', () => {
  it('an operation that fails at DONE applies nothing; the same call then works', async () => {
    sim.faults.set({
      operationError: { nextN: 1, code: 'INTERNAL_ERROR', message: 'Internal error.', httpStatus: 500 },
    });
    const failed = await done(compute, insertHealthCheck('hc'));
    assert.equal(failed.status, 'DONE');
    assert.equal(failed.httpErrorStatusCode, 500);
    assert.equal(failed.httpErrorMessage, 'INTERNAL SERVER ERROR');
    assert.deepEqual(
      failed.error?.errors?.map((entry) => [entry.code, entry.message]),
      [['INTERNAL_ERROR', 'Internal error.']],
    );
    assert.equal(
      (await rejection(compute.healthChecks.get({ project, region, healthCheck: 'hc' }))).status,
      404,
    );
    await succeeded(compute, insertHealthCheck('hc'));
  });
});

describe('controls', () => {
  it('counters count calls by method; reset forgets resources, counters and faults', async () => {
    await succeeded(compute, insertHealthCheck('hc'));
    await compute.healthChecks.get({ project, region, healthCheck: 'hc' });
    const counters = sim.counters();
    assert.equal(counters['regionHealthChecks.insert'], 1);
    assert.equal(counters['regionHealthChecks.get'], 1);
    assert.ok((counters['regionOperations.wait'] ?? 0) >= 1);
    assert.ok(sim.calls().some((call) => call.method === 'regionHealthChecks.insert' && call.status === 200));
    sim.faults.set({ rateLimit: { nextN: 5 } });
    sim.reset();
    assert.deepEqual(sim.counters(), {});
    assert.deepEqual(sim.faults.get(), {});
    assert.equal(
      (await rejection(compute.healthChecks.get({ project, region, healthCheck: 'hc' }))).status,
      404,
    );
  });

  it('bad fault or quota configurations are refused with the reason', () => {
    assert.throws(
      () => sim.faults.set({ rateLimit: { rate: 2 } }),
      /rateLimit.rate must be a number between 0 and 1/,
    );
    assert.throws(() => sim.quotas.set({ limits: { ROUTERS: 1 } as never }), /ROUTERS is not a quota/);
    assert.throws(() => sim.operations.setTiming({ runningMs: -1 }), /runningMs/);
  });
});
