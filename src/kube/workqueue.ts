// A keyed work queue with controller-runtime semantics:
// - a key waiting in the queue is held once, however often it is added (de-duplication);
// - a key is never handed to two workers at once; an add while it is processed marks it
//   dirty, and it is queued again when the worker finishes;
// - failures back off per key, exponentially, until the key succeeds (`forget`);
// - `addAfter` schedules a key for later; the earliest pending schedule wins.

export interface ReconcileOutcome {
  /** Check this key again after this delay even though it succeeded (long operations). */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileOutcome | undefined>;

export interface WorkQueueOptions {
  workers: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called when a reconcile throws; the queue then backs the key off. */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
  /** Called whenever the number of waiting keys changes, for metrics. */
  onDepth?: (depth: number) => void;
  /** Called after each reconcile, for metrics. */
  onDone?: (key: string, outcome: 'success' | 'error', seconds: number) => void;
}

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #scheduled = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: Array<() => void> = [];
  #shuttingDown = false;
  #workers: Promise<void>[] = [];

  constructor(options: WorkQueueOptions) {
    this.#options = options;
  }

  /** Keys waiting (not counting those being processed or scheduled for later). */
  get depth(): number {
    return this.#queue.length;
  }

  get processingCount(): number {
    return this.#processing.size;
  }

  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#options.onDepth?.(this.#queue.length);
    this.#waiters.shift()?.();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.#scheduled.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#scheduled.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#scheduled.set(key, { at, timer });
  }

  /** Schedules the key after its next backoff step; returns the delay chosen. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = backoffDelay(failures, this.#options.baseDelayMs, this.#options.maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's backoff history after a success. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failureCount(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  start(reconcile: Reconcile): void {
    for (let i = 0; i < this.#options.workers; i++) this.#workers.push(this.#work(reconcile));
  }

  /** Stops intake, cancels scheduled keys, and waits for in-flight reconciles to finish. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { timer } of this.#scheduled.values()) clearTimeout(timer);
    this.#scheduled.clear();
    this.#queue.length = 0;
    this.#queued.clear();
    for (const wake of this.#waiters.splice(0)) wake();
    await Promise.all(this.#workers);
  }

  async #next(): Promise<string | undefined> {
    while (!this.#shuttingDown) {
      const key = this.#queue.shift();
      if (key !== undefined) {
        this.#queued.delete(key);
        // Claimed here, synchronously: the worker resumes only after a few microtasks, and an
        // add() in between must see the key as in flight (dirty), not queue it for another worker.
        this.#processing.add(key);
        this.#options.onDepth?.(this.#queue.length);
        return key;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return undefined;
  }

  async #work(reconcile: Reconcile): Promise<void> {
    for (;;) {
      const key = await this.#next();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const outcome = await reconcile(key);
        this.forget(key);
        this.#options.onDone?.(key, 'success', (performance.now() - started) / 1000);
        if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
      } catch (error) {
        this.#options.onDone?.(key, 'error', (performance.now() - started) / 1000);
        const retryInMs = this.addRateLimited(key);
        this.#options.onError?.(key, error, retryInMs);
      } finally {
        this.#processing.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
      }
    }
  }
}

/** Exponential backoff: base × 2^failures, capped. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures, 32));
}
