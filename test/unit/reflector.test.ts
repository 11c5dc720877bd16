// The Reflector against a small fake apiserver: a real HTTP server on 127.0.0.1 that serves
// the watch endpoint (newline-delimited JSON events); the list comes from a function.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { type ListResult, Reflector, type ReflectorOptions } from '../../src/kube/reflector.ts';

const NS = 'default';

function svc(name: string, resourceVersion: string, port = 80): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, resourceVersion },
    spec: { ports: [{ port }] },
  };
}

/** What the apiserver sends when the requested resourceVersion is too old. */
const GONE = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 };

function bookmark(resourceVersion: string): V1Service {
  return { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion } };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** One watch request the fake apiserver received. */
class WatchRequest {
  readonly url: URL;
  readonly at = performance.now();
  readonly res: ServerResponse;
  /** Set when the connection is gone (client abort, or the server ended it). */
  closedAt: number | undefined;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.res = res;
    res.on('close', () => {
      this.closedAt = performance.now();
    });
  }

  get resourceVersion(): string | null {
    return this.url.searchParams.get('resourceVersion');
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  /** Accepts the watch: status and headers now, events later. */
  accept(): void {
    this.res.writeHead(200, { 'content-type': 'application/json' });
    this.res.flushHeaders();
  }

  send(type: string, object: unknown): void {
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  /** Ends the watch normally, as the apiserver does when `timeoutSeconds` is up. */
  end(): void {
    this.res.end();
  }

  fail(code: number): void {
    this.res.writeHead(code, { 'content-type': 'application/json' });
    this.res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code }));
  }
}

class FakeApiserver {
  readonly watches: WatchRequest[] = [];
  readonly unexpected: string[] = [];
  /** How each watch request is answered; by default it is accepted and held open. */
  respond: (w: WatchRequest) => void = (w) => w.accept();
  readonly #server = createServer((req, res) => this.#handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get latest(): WatchRequest {
    const w = this.watches.at(-1);
    assert.ok(w, 'no watch request yet');
    return w;
  }

  get open(): WatchRequest[] {
    return this.watches.filter((w) => !w.closed);
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  /** Waits for watch request number `n` (1-based). */
  async watchNumber(n: number, timeoutMs = 3000): Promise<WatchRequest> {
    await waitFor(
      `watch request #${n} (have ${this.watches.length})`,
      () => this.watches.length >= n,
      timeoutMs,
    );
    return this.watches[n - 1]!;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (
      req.method !== 'GET' ||
      url.pathname !== '/api/v1/services' ||
      url.searchParams.get('watch') !== 'true'
    ) {
      this.unexpected.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
      return;
    }
    const w = new WatchRequest(req, res);
    this.watches.push(w);
    this.respond(w);
  }
}

/** The `list` the Reflector is given: returns `items` directly, or throws while `failures` > 0. */
class ListSource {
  items: V1Service[] = [];
  resourceVersion = '10';
  failures = 0;
  /** While set, every list waits for it. */
  hold: Promise<void> | undefined;
  readonly calls: number[] = [];

  readonly list = async (): Promise<ListResult<V1Service>> => {
    this.calls.push(performance.now());
    await this.hold;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('list failed (test)');
    }
    return { items: this.items.map((s) => structuredClone(s)), resourceVersion: this.resourceVersion };
  };
}

type Reason = Parameters<NonNullable<ReflectorOptions<V1Service>['onRestart']>>[0];

/** Everything the Reflector told us, in order. */
class Recorder {
  readonly upserts: Array<{ obj: V1Service; old: V1Service | undefined }> = [];
  readonly deletes: V1Service[] = [];
  readonly restarts: Array<{ reason: Reason; at: number }> = [];
  listed = 0;

  restartsFor(reason: Reason): number[] {
    return this.restarts.filter((r) => r.reason === reason).map((r) => r.at);
  }

  upsertsOf(name: string): Array<{ obj: V1Service; old: V1Service | undefined }> {
    return this.upserts.filter((u) => u.obj.metadata?.name === name);
  }
}

interface Harness {
  api: FakeApiserver;
  source: ListSource;
  seen: Recorder;
  reflector: Reflector<V1Service>;
}

async function harness(
  t: TestContext,
  options: { watchdogMs?: number; relistMs?: number; items?: V1Service[]; start?: boolean } = {},
): Promise<Harness> {
  const api = new FakeApiserver();
  await api.start();
  const source = new ListSource();
  source.items = options.items ?? [svc('a', '5'), svc('b', '7')];
  const seen = new Recorder();
  const reflector = new Reflector<V1Service>(
    {
      name: 'services',
      kubeConfig: api.kubeConfig(),
      watchPath: '/api/v1/services',
      list: source.list,
      decode: (raw) => raw as V1Service,
      watchdogMs: options.watchdogMs ?? 300,
      relistMs: options.relistMs ?? 600_000,
      log: pino({ level: 'silent' }),
      onRestart: (reason) => seen.restarts.push({ reason, at: performance.now() }),
    },
    {
      onUpsert: (obj, old) => seen.upserts.push({ obj, old }),
      onDelete: (obj) => seen.deletes.push(obj),
      onListed: () => seen.listed++,
    },
  );
  t.after(async () => {
    reflector.stop();
    await api.close();
    assert.deepEqual(api.unexpected, [], 'the Reflector made requests other than watches');
  });
  if (options.start !== false) reflector.start();
  return { api, source, seen, reflector };
}

// Each test has its own server and Reflector, so they run side by side; most of the time is backoff waits.
describe('Reflector', { concurrency: true }, () => {
  it('fills the cache from the initial list, calls onListed, becomes synced and watches from the list version', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { start: false });
    assert.equal(reflector.synced, false);
    assert.equal(reflector.idleMs, 0);
    reflector.start();
    reflector.start(); // a second start is a no-op
    await waitFor('synced', () => reflector.synced);
    assert.equal(source.calls.length, 1);
    assert.equal(seen.listed, 1);
    assert.equal(reflector.size, 2);
    assert.equal(reflector.get('default/a')?.metadata?.resourceVersion, '5');
    assert.equal(reflector.get('default/b')?.metadata?.resourceVersion, '7');
    assert.equal(reflector.get('default/c'), undefined);
    assert.deepEqual(
      reflector
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
      ['a', 'b'],
    );
    assert.deepEqual(
      seen.upserts.map((u) => [u.obj.metadata?.name, u.old]),
      [
        ['a', undefined],
        ['b', undefined],
      ],
    );
    const w = await api.watchNumber(1);
    assert.equal(w.url.pathname, '/api/v1/services');
    assert.equal(w.url.searchParams.get('watch'), 'true');
    assert.equal(w.resourceVersion, '10');
    assert.equal(w.url.searchParams.get('allowWatchBookmarks'), 'true');
    const timeoutSeconds = Number(w.url.searchParams.get('timeoutSeconds'));
    assert.ok(timeoutSeconds >= 240 && timeoutSeconds < 360, `timeoutSeconds=${timeoutSeconds}`);
    assert.deepEqual(seen.restarts, []);
  });

  it('applies ADDED, MODIFIED and DELETED events to the cache and calls the handlers', async (t) => {
    const { api, seen, reflector } = await harness(t, { watchdogMs: 5000 });
    const w = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    seen.upserts.length = 0;

    w.send('ADDED', svc('c', '11'));
    await waitFor('c added', () => reflector.get('default/c') !== undefined);
    assert.equal(seen.upserts.length, 1);
    assert.equal(seen.upserts[0]?.obj.metadata?.name, 'c');
    assert.equal(seen.upserts[0]?.old, undefined);

    w.send('MODIFIED', svc('a', '12', 8080));
    await waitFor('a modified', () => reflector.get('default/a')?.metadata?.resourceVersion === '12');
    assert.equal(reflector.get('default/a')?.spec?.ports?.[0]?.port, 8080);
    const modified = seen.upsertsOf('a');
    assert.equal(modified.length, 1);
    assert.equal(modified[0]?.obj.metadata?.resourceVersion, '12');
    assert.equal(modified[0]?.old?.metadata?.resourceVersion, '5', 'onUpsert gets the previous object');

    // The DELETED event carries the final state; the handler gets the cached object.
    w.send('DELETED', svc('b', '13'));
    await waitFor('b deleted', () => reflector.get('default/b') === undefined);
    assert.equal(seen.deletes.length, 1);
    assert.equal(seen.deletes[0]?.metadata?.name, 'b');
    assert.deepEqual(
      reflector
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
      ['a', 'c'],
    );
    assert.equal(reflector.size, 2);

    // Deleting something the cache never had still reports it.
    w.send('DELETED', svc('ghost', '14'));
    await waitFor('ghost delete reported', () => seen.deletes.length === 2);
    assert.equal(seen.deletes[1]?.metadata?.name, 'ghost');
    assert.equal(seen.upserts.length, 2);
    assert.deepEqual(seen.restarts, []);
    assert.equal(api.watches.length, 1);
  });

  it('does not call onUpsert for a MODIFIED event whose resourceVersion is unchanged', async (t) => {
    const { api, seen, reflector } = await harness(t, { watchdogMs: 5000 });
    const w = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    seen.upserts.length = 0;
    w.send('MODIFIED', svc('a', '5'));
    w.send('MODIFIED', svc('b', '7'));
    // Events are handled in order: once this one is seen, the two before it were handled too.
    w.send('ADDED', svc('marker', '20'));
    await waitFor('marker', () => reflector.get('default/marker') !== undefined);
    assert.deepEqual(
      seen.upserts.map((u) => u.obj.metadata?.name),
      ['marker'],
    );
    w.send('MODIFIED', svc('a', '21'));
    await waitFor('a changed', () => seen.upsertsOf('a').length === 1);
    assert.equal(seen.upsertsOf('a')[0]?.old?.metadata?.resourceVersion, '5');
  });

  it('tracks the resourceVersion of BOOKMARK events and resumes the next watch from it', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    const upserts = seen.upserts.length;
    first.send('ADDED', svc('c', '11'));
    first.send('BOOKMARK', bookmark('57'));
    await waitFor(
      'bookmark handled',
      () => reflector.idleMs < 100 && reflector.get('default/c') !== undefined,
    );
    await sleep(20);
    first.end();
    const second = await api.watchNumber(2);
    assert.equal(second.resourceVersion, '57');
    // A bookmark is not an object: no handler call and nothing in the cache.
    assert.equal(seen.upserts.length, upserts + 1);
    assert.equal(seen.deletes.length, 0);
    assert.equal(reflector.size, 3);
    assert.equal(source.calls.length, 1, 'a bookmark must not cause a relist');
  });

  it('reconnects from the last resourceVersion seen when the server closes the watch', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    first.send('ADDED', svc('c', '11'));
    first.send('MODIFIED', svc('a', '12'));
    await waitFor('a modified', () => reflector.get('default/a')?.metadata?.resourceVersion === '12');
    first.end();
    const second = await api.watchNumber(2);
    assert.equal(second.resourceVersion, '12');
    assert.equal(second.url.searchParams.get('watch'), 'true');
    assert.deepEqual(
      seen.restarts.map((r) => r.reason),
      ['closed'],
    );
    assert.equal(source.calls.length, 1, 'a normal close must not cause a relist');
    assert.equal(seen.listed, 1);
    // The new watch works, and the cache was kept.
    second.send('DELETED', svc('c', '13'));
    await waitFor('c deleted', () => reflector.get('default/c') === undefined);
    assert.equal(reflector.size, 2);
    second.end();
    const third = await api.watchNumber(3);
    assert.equal(third.resourceVersion, '13');
    await sleep(50);
    assert.equal(api.watches.length, 3);
    assert.equal(api.open.length, 1);
  });

  it('reconnects a silent watch after about watchdogMs', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 300 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    first.send('MODIFIED', svc('a', '12'));
    const second = await api.watchNumber(2, 2000);
    const silentFor = second.at - first.at;
    assert.ok(silentFor >= 280 && silentFor < 1500, `reconnected after ${Math.round(silentFor)} ms`);
    assert.equal(second.resourceVersion, '12');
    await waitFor('first watch closed', () => first.closed);
    assert.deepEqual(
      seen.restarts.map((r) => r.reason),
      ['watchdog'],
    );
    assert.equal(source.calls.length, 1, 'a watchdog restart must not relist');
    // Events keep the watch alive: sending every 100 ms for 600 ms does not trip a 300 ms watchdog.
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      second.send('BOOKMARK', bookmark(`${20 + i}`));
    }
    assert.equal(api.watches.length, 2);
    assert.equal(second.closed, false);
    const third = await api.watchNumber(3, 2000);
    assert.equal(third.resourceVersion, '25');
    assert.deepEqual(
      seen.restarts.map((r) => r.reason),
      ['watchdog', 'watchdog'],
    );
  });

  it('relists when the watch sends an ERROR event with code 410 (Gone)', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    // Meanwhile b was deleted and c created; the relist must find both.
    source.items = [svc('a', '5'), svc('c', '90')];
    source.resourceVersion = '95';
    first.send('ERROR', GONE);
    const second = await api.watchNumber(2);
    assert.equal(source.calls.length, 2);
    assert.equal(seen.listed, 2);
    assert.equal(second.resourceVersion, '95');
    assert.deepEqual(
      seen.restarts.map((r) => r.reason),
      ['gone'],
    );
    assert.deepEqual(
      seen.deletes.map((s) => s.metadata?.name),
      ['b'],
    );
    assert.deepEqual(
      reflector
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
      ['a', 'c'],
    );
    await waitFor('first watch closed', () => first.closed);
    assert.equal(api.open.length, 1);
  });

  it('relists when the watch request is answered with HTTP 410', async (t) => {
    const { api, source, seen } = await harness(t, { watchdogMs: 5000 });
    api.respond = (w) => {
      if (api.watches.length > 1) return w.accept();
      source.resourceVersion = '30';
      w.fail(410);
    };
    const second = await api.watchNumber(2);
    assert.equal(second.resourceVersion, '30');
    assert.equal(source.calls.length, 2);
    assert.deepEqual(
      seen.restarts.map((r) => r.reason),
      ['gone'],
    );
  });

  it('retries a watch that fails with HTTP 500 with growing backoff, relisting each time', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000 });
    const failures = 3;
    api.respond = (w) => (api.watches.length <= failures ? w.fail(500) : w.accept());
    const good = await api.watchNumber(failures + 1, 6000);
    assert.equal(good.closed, false);
    const restarts = seen.restartsFor('error');
    assert.equal(restarts.length, failures);
    assert.equal(source.calls.length, failures + 1, 'every retry starts with a list');
    assert.equal(seen.listed, failures + 1);
    assert.equal(reflector.synced, true);
    assert.equal(reflector.size, 2);
    // Backoff starts at 250-500 ms and doubles per consecutive failure (jitter: x0.5..1).
    const gaps = api.watches.slice(1).map((w, i) => w.at - api.watches[i]!.at);
    assert.ok(gaps[0]! >= 200 && gaps[0]! < 1000, `first retry after ${Math.round(gaps[0]!)} ms`);
    assert.ok(
      gaps[2]! >= 950,
      `the third retry came after only ${Math.round(gaps[2]!)} ms: the backoff did not grow`,
    );
    // Once a watch works, the next failure starts from the shortest backoff again.
    good.send('ADDED', svc('c', '11'));
    await waitFor('c added', () => reflector.get('default/c') !== undefined);
    api.respond = (w) => w.accept();
    good.res.destroy();
    const next = await api.watchNumber(failures + 2, 3000);
    assert.ok(next.at - good.closedAt! < 700, `retry after ${Math.round(next.at - good.closedAt!)} ms`);
  });

  it('retries a list that throws, and is not synced until a list succeeds', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { start: false });
    source.failures = 2;
    reflector.start();
    await waitFor('second list call', () => source.calls.length === 2, 2000);
    assert.equal(reflector.synced, false);
    assert.equal(seen.listed, 0);
    assert.equal(api.watches.length, 0, 'no watch without a list');
    await waitFor('synced', () => reflector.synced, 3000);
    assert.equal(source.calls.length, 3);
    assert.equal(seen.listed, 1);
    assert.equal(reflector.size, 2);
    assert.equal(seen.restartsFor('error').length, 2);
    const gaps = source.calls.slice(1).map((at, i) => at - source.calls[i]!);
    assert.ok(gaps[0]! >= 200, `first retry after ${Math.round(gaps[0]!)} ms`);
    assert.ok(gaps[1]! >= 450, `second retry after ${Math.round(gaps[1]!)} ms`);
    const w = await api.watchNumber(1);
    assert.equal(w.resourceVersion, '10');
  });

  it('relists every relistMs: objects that vanished are deleted and every object is delivered again', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000, relistMs: 200 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    // b's deletion is never seen by the watch; only the relist can notice.
    source.items = [svc('a', '5'), svc('c', '15')];
    source.resourceVersion = '16';
    await waitFor('b deleted by relist', () => seen.deletes.length === 1, 2000);
    const relistedAt = source.calls[1]!;
    assert.ok(
      relistedAt - source.calls[0]! >= 170,
      `relisted after ${Math.round(relistedAt - source.calls[0]!)} ms`,
    );
    assert.equal(seen.deletes[0]?.metadata?.name, 'b');
    assert.equal(reflector.get('default/b'), undefined);
    assert.equal(reflector.get('default/c')?.metadata?.resourceVersion, '15');
    // The periodic resync delivers unchanged objects too, with the previous copy.
    const a = seen.upsertsOf('a');
    assert.ok(a.length >= 2);
    assert.equal(a[1]?.old?.metadata?.resourceVersion, '5');
    assert.equal(seen.restartsFor('relist').length >= 1, true);
    assert.ok(seen.listed >= 2);
    await waitFor('first watch closed', () => first.closed);
    const second = await api.watchNumber(2);
    assert.equal(second.resourceVersion, '16');
    // It keeps going: more relists, and never more than one open watch.
    await waitFor('third list', () => source.calls.length >= 3, 2000);
    await sleep(20);
    assert.ok(api.open.length <= 1, `${api.open.length} watches open`);
  });

  it('stop() closes the watch and makes no more requests', async (t) => {
    const { api, source, reflector } = await harness(t, { watchdogMs: 300, relistMs: 200 });
    const w = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    reflector.stop();
    await waitFor('watch closed', () => w.closed, 1000);
    const lists = source.calls.length;
    // Longer than the watchdog, the relist period and the first backoff together.
    await sleep(1000);
    assert.equal(api.watches.length, 1);
    assert.equal(source.calls.length, lists);
    reflector.stop(); // idempotent
  });

  it('stop() during a retry backoff cancels the retry', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { start: false });
    source.failures = 100;
    reflector.start();
    await waitFor('first list', () => source.calls.length === 1);
    await waitFor('retry scheduled', () => seen.restarts.length === 1);
    reflector.stop();
    await sleep(1200);
    assert.equal(source.calls.length, 1);
    assert.equal(api.watches.length, 0);
  });

  it('stop() while the watch is still connecting closes it once it connects', async (t) => {
    const { api, source, reflector } = await harness(t, { watchdogMs: 5000, start: false });
    let accept: (() => void) | undefined;
    api.respond = (w) => {
      accept = () => w.accept();
    };
    reflector.start();
    const w = await api.watchNumber(1);
    reflector.stop();
    accept!();
    await waitFor('watch closed', () => w.closed, 1000);
    await sleep(600);
    assert.equal(api.watches.length, 1);
    assert.equal(source.calls.length, 1);
  });

  it('backs off when the server ends every watch at once, instead of reconnecting in a busy loop', async (t) => {
    const { api, source, seen } = await harness(t, { watchdogMs: 5000 });
    api.respond = (w) => {
      w.accept();
      w.end();
    };
    await sleep(1000);
    // Backoff 250-500 ms, then 500-1000 ms: at most three watches in the first second.
    assert.ok(api.watches.length <= 3, `${api.watches.length} watches in 1 s`);
    assert.ok(seen.restartsFor('error').length >= 1);
    assert.equal(seen.restartsFor('closed').length, 0);
    assert.equal(source.calls.length, api.watches.length, 'each retry relists');
  });

  it('runs one list+watch loop when the relist falls due while a list is in flight', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000, relistMs: 400 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    let release!: () => void;
    source.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    first.send('ERROR', GONE);
    await waitFor('relist after 410', () => source.calls.length === 2);
    // The periodic relist falls due while that list is still waiting for the apiserver.
    await waitFor('periodic relist', () => source.calls.length === 3, 2000);
    assert.equal(seen.restartsFor('relist').length, 1);
    source.hold = undefined;
    release();
    await api.watchNumber(2);
    await sleep(100);
    assert.equal(api.watches.length, 2, 'both lists started a watch');
    assert.equal(api.open.length, 1);
  });

  it('runs one list+watch loop when the relist falls due during a retry backoff', async (t) => {
    const { api, source, seen, reflector } = await harness(t, { watchdogMs: 5000, relistMs: 400 });
    const first = await api.watchNumber(1);
    await waitFor('synced', () => reflector.synced);
    // The apiserver goes away: the watch ends, and lists fail until the periodic relist has
    // fallen due while a retry was waiting.
    source.failures = Number.POSITIVE_INFINITY;
    first.send('ERROR', GONE);
    await waitFor('relist due during backoff', () => seen.restartsFor('relist').length === 1, 2000);
    await waitFor('retry after it', () => seen.restarts.at(-1)?.reason === 'error', 2000);
    source.failures = 0;
    await api.watchNumber(2, 5000);
    // A second loop would, once its own retry is due, open a second watch that nothing tracks.
    await sleep(2500);
    await waitFor('a single watch open', () => api.open.length === 1, 1000);
  });
});
