// A list+watch cache for one resource kind, with the robustness the JS client's informer
// lacks: it restarts itself after any error (with backoff and jitter), relists on 410 Gone,
// reconnects when a watch goes silent (the client's inactivity timeout serves as watchdog),
// and relists the whole collection periodically so that any missed event is repaired.
import { ApiException, type KubeConfig, type KubernetesObject, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describe } from './leader-election.ts';

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface ReflectorHandlers<T> {
  /** A new object, an update (resourceVersion changed), or a periodic resync (same object). */
  onUpsert?: (obj: T, old: T | undefined) => void;
  onDelete?: (obj: T) => void;
  /** After every complete list (the first one marks the cache as synced). */
  onListed?: () => void;
}

export interface ReflectorOptions<T> {
  name: string;
  kubeConfig: KubeConfig;
  /** Path for the watch, e.g. `/api/v1/services`. */
  watchPath: string;
  list: () => Promise<ListResult<T>>;
  /** Converts a raw watch object into the same shape `list` returns. */
  decode: (raw: unknown) => T;
  /** A watch that receives nothing (not even a bookmark) for this long is reconnected. */
  watchdogMs: number;
  /** Full relist period; every object is delivered again to `onUpsert`. */
  relistMs: number;
  log: Logger;
  onRestart?: (reason: 'error' | 'watchdog' | 'gone' | 'relist' | 'closed') => void;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A watch that ends normally this soon without delivering any event counts as a failure (as in client-go). */
const SHORT_WATCH_MS = 1000;

export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export class Reflector<T extends KubernetesObject> {
  readonly #options: ReflectorOptions<T>;
  readonly #handlers: ReflectorHandlers<T>;
  readonly #cache = new Map<string, T>();
  readonly #log: Logger;
  #resourceVersion = '';
  #synced = false;
  #stopped = true;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #relistTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastActivity = 0;
  /** Bumped whenever a list+watch run starts or is abandoned; callbacks of older runs do nothing. */
  #generation = 0;

  constructor(options: ReflectorOptions<T>, handlers: ReflectorHandlers<T>) {
    this.#options = options;
    this.#handlers = handlers;
    this.#log = options.log.child({ component: 'reflector', resource: options.name });
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Milliseconds since the last list, watch event or (re)connect. */
  get idleMs(): number {
    return this.#lastActivity === 0 ? 0 : Date.now() - this.#lastActivity;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get size(): number {
    return this.#cache.size;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#listAndWatch();
  }

  stop(): void {
    this.#stopped = true;
    this.#generation++;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#relistTimer) clearTimeout(this.#relistTimer);
    this.#abort?.abort();
    this.#abort = undefined;
  }

  async #listAndWatch(): Promise<void> {
    if (this.#stopped) return;
    // Only one run at a time: this one replaces any run in progress or waiting to retry.
    const generation = ++this.#generation;
    if (this.#timer) clearTimeout(this.#timer);
    try {
      const result = await this.#options.list();
      if (generation !== this.#generation) return;
      this.#replace(result.items);
      this.#resourceVersion = result.resourceVersion;
      this.#synced = true;
      this.#handlers.onListed?.();
      this.#scheduleRelist();
      await this.#watch(generation);
    } catch (error) {
      if (generation === this.#generation) this.#retryLater(error);
    }
  }

  #scheduleRelist(): void {
    if (this.#relistTimer) clearTimeout(this.#relistTimer);
    // Jitter spreads the relists of many replicas and kinds.
    const delay = this.#options.relistMs * (0.9 + Math.random() * 0.2);
    this.#relistTimer = setTimeout(() => this.#restart('relist', true), delay);
    this.#relistTimer.unref();
  }

  #retryLater(error: unknown): void {
    if (this.#stopped) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#failures) * (0.5 + Math.random() / 2);
    this.#failures++;
    const notServed = statusCodeOf(error) === 404;
    this.#log.warn(
      { err: describe(error), retryInMs: Math.round(delay) },
      notServed
        ? `the apiserver does not serve ${this.#options.watchPath}: is its CustomResourceDefinition installed (kubectl apply -f crds/)? retrying`
        : 'list or watch failed; retrying',
    );
    this.#options.onRestart?.('error');
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#listAndWatch(), delay);
    this.#timer.unref();
  }

  #restart(reason: 'watchdog' | 'gone' | 'relist' | 'closed', relist: boolean): void {
    if (this.#stopped) return;
    this.#options.onRestart?.(reason);
    const generation = ++this.#generation;
    const abort = this.#abort;
    this.#abort = undefined;
    abort?.abort();
    if (relist) void this.#listAndWatch();
    else {
      void this.#watch(generation).catch((error: unknown) => {
        if (generation === this.#generation) this.#retryLater(error);
      });
    }
  }

  async #watch(generation: number): Promise<void> {
    const current = (): boolean => generation === this.#generation;
    const watch = new Watch(this.#options.kubeConfig);
    // The client aborts a watch after this long without data; that is our stall watchdog.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.#options.watchdogMs;
    const startedAt = Date.now();
    this.#lastActivity = startedAt;
    let events = 0;
    let ended: 'gone' | 'error' | undefined;
    let thisWatch: AbortController | undefined;
    const done = (error: unknown): void => {
      if (!current()) return;
      if (ended === 'gone') this.#restart('gone', true);
      else if (ended === 'error') this.#retryLater(new Error('watch ended with an error event'));
      else if (error === null || error === undefined) {
        // Reconnecting at once to a server that ends every watch at once would be a busy loop.
        if (events === 0 && Date.now() - startedAt < SHORT_WATCH_MS) {
          this.#retryLater(new Error('watch closed at once without any event'));
        } else this.#restart('closed', false);
      } else if (error instanceof Error && error.name === 'TimeoutError') this.#restart('watchdog', false);
      else if (error instanceof Error && error.name === 'AbortError') return;
      else if (statusCodeOf(error) === 410) this.#restart('gone', true);
      else this.#retryLater(error);
    };
    thisWatch = await watch.watch(
      this.#options.watchPath,
      {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        // The server ends each watch after a few minutes; we resume from the last version.
        timeoutSeconds: 240 + Math.floor(Math.random() * 120),
      },
      (type: string, raw: unknown) => {
        if (!current() || ended) return;
        this.#lastActivity = Date.now();
        if (type === 'ERROR') {
          ended = (raw as { code?: number }).code === 410 ? 'gone' : 'error';
          if (ended === 'error') this.#log.warn({ status: raw }, 'watch error event');
          thisWatch?.abort();
          return;
        }
        // A watch that delivers events works: the next failure starts from the shortest backoff.
        events++;
        this.#failures = 0;
        const version = (raw as KubernetesObject).metadata?.resourceVersion;
        if (version) this.#resourceVersion = version;
        if (type === 'BOOKMARK') return;
        const obj = this.#options.decode(raw);
        if (type === 'DELETED') this.#delete(obj);
        else this.#upsert(obj);
      },
      done,
    );
    if (!current()) thisWatch.abort();
    else {
      this.#abort = thisWatch;
      if (ended) thisWatch.abort();
    }
  }

  #upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    this.#cache.set(key, obj);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    this.#handlers.onUpsert?.(obj, old);
  }

  #delete(obj: T): void {
    const key = objectKey(obj);
    const old = this.#cache.get(key) ?? obj;
    this.#cache.delete(key);
    this.#handlers.onDelete?.(old);
  }

  /** Swaps in a full list: deletions for vanished objects, and every object delivered again. */
  #replace(items: T[]): void {
    const fresh = new Map(items.map((item) => [objectKey(item), item]));
    for (const [key, old] of this.#cache) {
      if (!fresh.has(key)) {
        this.#cache.delete(key);
        this.#handlers.onDelete?.(old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      this.#handlers.onUpsert?.(obj, old);
    }
  }
}

function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (error && typeof error === 'object' && 'statusCode' in error && typeof error.statusCode === 'number') {
    return error.statusCode;
  }
  return undefined;
}
