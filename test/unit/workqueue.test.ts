import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type Reconcile, type ReconcileOutcome, WorkQueue } from '../../src/kube/workqueue.ts';

// Real timers throughout; delays are a few milliseconds. Timers may fire up to ~1ms early
// relative to performance.now(), hence the slack in the timing assertions.
const SLACK_MS = 2;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function queue(workers = 1, options: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}): WorkQueue {
  return new WorkQueue({ workers, baseDelayMs: 5, maxDelayMs: 50, ...options });
}

/** Records every call and checks that no key is ever processed twice at once. */
class Recorder {
  readonly calls: string[] = [];
  readonly inFlight = new Set<string>();
  readonly overlaps: string[] = [];
  maxParallel = 0;

  wrap(
    body: (key: string, call: number) => Promise<ReconcileOutcome | undefined> = async () => undefined,
  ): Reconcile {
    return async (key) => {
      if (this.inFlight.has(key)) this.overlaps.push(key);
      this.inFlight.add(key);
      this.maxParallel = Math.max(this.maxParallel, this.inFlight.size);
      this.calls.push(key);
      try {
        return await body(key, this.count(key));
      } finally {
        this.inFlight.delete(key);
      }
    };
  }

  count(key: string): number {
    return this.calls.filter((k) => k === key).length;
  }
}

describe('WorkQueue: de-duplication', () => {
  it('holds a key once however often it is added while queued', async () => {
    const q = queue(1);
    for (const key of ['a', 'a', 'b', 'a', 'b', 'c']) q.add(key);
    assert.equal(q.depth, 3);
    const r = new Recorder();
    q.start(r.wrap());
    await waitFor('three calls', () => r.calls.length === 3);
    await sleep(10);
    assert.deepEqual(r.calls, ['a', 'b', 'c']);
    assert.equal(q.depth, 0);
    await q.shutdown();
  });
});

describe('WorkQueue: one worker per key', () => {
  it('an add while processing marks the key dirty: processed again exactly once, after', async () => {
    const q = queue(4);
    const r = new Recorder();
    const first = gate();
    q.start(
      r.wrap(async (_key, call) => {
        if (call === 1) await first.promise;
      }),
    );
    q.add('k');
    await waitFor('k in flight', () => r.inFlight.has('k'));
    for (let i = 0; i < 5; i++) {
      q.add('k');
      await sleep(1);
    }
    assert.equal(q.depth, 0, 'a key being processed is not queued again');
    assert.equal(q.processingCount, 1);
    assert.equal(r.count('k'), 1, 'no second worker took k while it was in flight');
    first.open();
    await waitFor('second call', () => r.count('k') === 2);
    await sleep(10);
    assert.equal(r.count('k'), 2);
    assert.deepEqual(r.overlaps, []);
    await q.shutdown();
  });

  it('an add between dequeue and the start of processing does not hand the key to a second worker', async () => {
    // Workers are idle; the first add wakes one. The second add lands in a microtask, after the
    // woken worker took the key from the queue but before its reconcile started.
    const q = queue(4);
    const r = new Recorder();
    q.start(
      r.wrap(async () => {
        await sleep(5);
        return undefined;
      }),
    );
    await sleep(1);
    q.add('k');
    queueMicrotask(() => q.add('k'));
    await waitFor('two calls', () => r.count('k') === 2);
    await sleep(15);
    assert.deepEqual(r.overlaps, []);
    assert.equal(r.count('k'), 2);
    await q.shutdown();
  });

  it('never overlaps a key under churn from 4 workers and adds from everywhere', async () => {
    const q = queue(4, { baseDelayMs: 1, maxDelayMs: 4 });
    const r = new Recorder();
    const keys = ['a', 'b', 'c', 'd', 'e'];
    let n = 0;
    q.start(
      r.wrap(async (key) => {
        const i = n++;
        // Add other keys (and this one) synchronously, in microtasks and after timers.
        q.add(keys[i % keys.length]!);
        queueMicrotask(() => q.add(keys[(i + 1) % keys.length]!));
        await sleep(i % 3);
        q.add(key);
        if (i % 7 === 0) throw new Error('transient');
        return i % 5 === 0 ? { requeueAfterMs: 1 } : undefined;
      }),
    );
    for (const key of keys) {
      q.add(key);
      queueMicrotask(() => q.add(key));
    }
    await waitFor('200 reconciles', () => r.calls.length >= 200, 5000);
    await q.shutdown();
    assert.deepEqual(r.overlaps, []);
    assert.ok(r.maxParallel > 1, 'different keys ran in parallel');
  });

  it('runs different keys in parallel', async () => {
    const q = queue(2);
    const r = new Recorder();
    const both = gate();
    q.start(
      r.wrap(async () => {
        if (r.inFlight.size === 2) both.open();
        await both.promise;
        return undefined;
      }),
    );
    let processingWhenBothIn = 0;
    void both.promise.then(() => {
      processingWhenBothIn = q.processingCount;
    });
    q.add('a');
    q.add('b');
    // With one key at a time, the first reconcile would wait for the second forever.
    await waitFor('both done', () => r.calls.length === 2 && r.inFlight.size === 0);
    assert.equal(r.maxParallel, 2);
    assert.equal(processingWhenBothIn, 2);
    assert.deepEqual([...r.calls].sort(), ['a', 'b']);
    await q.shutdown();
  });

  it('uses no more than the configured number of workers', async () => {
    const q = queue(3);
    const r = new Recorder();
    const release = gate();
    q.start(r.wrap(() => release.promise.then(() => undefined)));
    for (const key of ['a', 'b', 'c', 'd', 'e']) q.add(key);
    await waitFor('three in flight', () => r.inFlight.size === 3);
    await sleep(10);
    assert.equal(r.inFlight.size, 3);
    assert.equal(q.depth, 2);
    release.open();
    await waitFor('all five', () => r.calls.length === 5);
    assert.equal(r.maxParallel, 3);
    await q.shutdown();
  });
});

describe('WorkQueue: failures and backoff', () => {
  it('retries a throwing key after a growing backoff, then forgets it on success', async () => {
    const errors: Array<[string, string, number]> = [];
    const done: string[] = [];
    const q = queue(1, {
      baseDelayMs: 4,
      maxDelayMs: 10,
      onError: (key, error, retryInMs) => errors.push([key, (error as Error).message, retryInMs]),
      onDone: (key, outcome, seconds) => {
        assert.ok(seconds >= 0);
        done.push(`${key}:${outcome}`);
      },
    });
    const failuresSeen: number[] = [];
    const at: number[] = [];
    q.start(
      new Recorder().wrap(async (key, call) => {
        failuresSeen.push(q.failureCount(key));
        at.push(performance.now());
        if (call <= 3) throw new Error(`fail ${call}`);
        return undefined;
      }),
    );
    q.add('k');
    await waitFor('success', () => done.includes('k:success'));
    assert.deepEqual(failuresSeen, [0, 1, 2, 3]);
    assert.deepEqual(errors, [
      ['k', 'fail 1', 4],
      ['k', 'fail 2', 8],
      ['k', 'fail 3', 10],
    ]);
    assert.deepEqual(done, ['k:error', 'k:error', 'k:error', 'k:success']);
    for (let i = 1; i < at.length; i++) {
      const gap = at[i]! - at[i - 1]!;
      assert.ok(gap >= errors[i - 1]![2] - SLACK_MS, `attempt ${i + 1} came ${gap}ms after the previous one`);
    }
    assert.equal(q.failureCount('k'), 0, 'success forgets the failures');
    await sleep(20);
    assert.equal(at.length, 4, 'no retry after success');
    await q.shutdown();
  });

  it('addRateLimited and forget track failures per key', async () => {
    const q = queue(1, { baseDelayMs: 1000, maxDelayMs: 5000 });
    assert.deepEqual(
      [q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('b'), q.addRateLimited('a')],
      [1000, 2000, 1000, 4000],
    );
    assert.equal(q.failureCount('a'), 3);
    assert.equal(q.failureCount('b'), 1);
    q.forget('a');
    assert.equal(q.failureCount('a'), 0);
    assert.equal(q.failureCount('b'), 1);
    await q.shutdown();
  });
});

describe('WorkQueue: scheduling', () => {
  it('requeueAfterMs processes the key again after the delay', async () => {
    const q = queue(1);
    const at: number[] = [];
    q.start(
      new Recorder().wrap(async (_key, call) => {
        at.push(performance.now());
        return call === 1 ? { requeueAfterMs: 15 } : undefined;
      }),
    );
    q.add('k');
    await waitFor('second call', () => at.length === 2);
    assert.ok(at[1]! - at[0]! >= 15 - SLACK_MS, `requeued after ${at[1]! - at[0]!}ms`);
    await sleep(30);
    assert.equal(at.length, 2);
    await q.shutdown();
  });

  const earliest: Array<[string, number[], number]> = [
    ['later then earlier', [100, 10], 10],
    ['earlier then later', [10, 100], 10],
    ['three schedules', [100, 10, 50], 10],
  ];
  for (const [name, delays, expected] of earliest) {
    it(`addAfter: the earliest schedule wins (${name}), and the key runs once`, async () => {
      const q = queue(1);
      const r = new Recorder();
      const at: number[] = [];
      q.start(
        r.wrap(async () => {
          at.push(performance.now());
          return undefined;
        }),
      );
      const start = performance.now();
      for (const d of delays) q.addAfter('k', d);
      assert.equal(q.depth, 0, 'scheduled keys are not queued yet');
      await waitFor('k', () => at.length === 1);
      const elapsed = at[0]! - start;
      assert.ok(elapsed >= expected - SLACK_MS && elapsed < 90, `ran after ${elapsed}ms`);
      // Past every other schedule: none of them fires.
      await sleep(start + 130 - performance.now());
      assert.deepEqual(r.calls, ['k']);
      await q.shutdown();
    });
  }

  it('addAfter with no delay adds at once', async () => {
    const q = queue(1);
    q.addAfter('k', 0);
    q.addAfter('j', -5);
    assert.equal(q.depth, 2);
    await q.shutdown();
  });
});

describe('WorkQueue: shutdown', () => {
  it('waits for in-flight work, drops queued and scheduled keys, and stops intake', async () => {
    const q = queue(1);
    const r = new Recorder();
    const release = gate();
    q.start(
      r.wrap((key) => (key === 'busy' ? release.promise.then(() => undefined) : Promise.resolve(undefined))),
    );
    q.add('busy');
    await waitFor('busy in flight', () => r.inFlight.has('busy'));
    q.add('queued');
    q.addAfter('scheduled', 5);
    assert.equal(q.depth, 1);

    let finished = false;
    const stopping = q.shutdown().then(() => {
      finished = true;
    });
    q.add('late');
    q.addAfter('late-scheduled', 1);
    q.add('busy'); // would mark it dirty if intake were still open
    await sleep(20);
    assert.equal(finished, false, 'shutdown waits for the in-flight reconcile');
    assert.equal(q.depth, 0);

    release.open();
    await stopping;
    assert.equal(finished, true);
    await sleep(20);
    assert.deepEqual(r.calls, ['busy']);
    assert.equal(q.processingCount, 0);
  });

  it('a failure during shutdown schedules no retry', async () => {
    const q = queue(1, { baseDelayMs: 1 });
    const r = new Recorder();
    const release = gate();
    q.start(
      r.wrap(async () => {
        await release.promise;
        throw new Error('late failure');
      }),
    );
    q.add('k');
    await waitFor('k in flight', () => r.inFlight.has('k'));
    const stopping = q.shutdown();
    release.open();
    await stopping;
    await sleep(10);
    assert.deepEqual(r.calls, ['k']);
  });

  it('shuts down idle workers promptly', async () => {
    const q = queue(4);
    q.start(new Recorder().wrap());
    await sleep(1);
    const start = performance.now();
    await q.shutdown();
    assert.ok(performance.now() - start < 50);
  });
});

describe('backoffDelay', () => {
  const cases: Array<[number, number, number, number]> = [
    [0, 5, 300, 5],
    [1, 5, 300, 10],
    [2, 5, 300, 20],
    [5, 5, 300, 160],
    [6, 5, 300, 300],
    [7, 5, 300, 300],
    [1000, 5, 300, 300],
    [3, 1000, 1000, 1000],
    [40, 1, Number.MAX_SAFE_INTEGER, 2 ** 32],
  ];
  for (const [failures, base, max, want] of cases) {
    it(`failures=${failures} base=${base} max=${max} → ${want}`, () => {
      assert.equal(backoffDelay(failures, base, max), want);
    });
  }
});
