// One read shared by everyone who asks for the same resource at about the same time. Every Service of the cluster
// reads the same two load balancers and the same NSG: without this, a node change that wakes 500 Services would
// GET the load balancer 500 times within a second. A caller says how old an answer it accepts; a read in flight is
// joined, not repeated; the writer puts in what its own write returned (fresher than any read).

import type { Clock } from './client.ts';

export class SharedRead<T> {
  readonly #read: () => Promise<T>;
  readonly #clock: Clock;
  #value: { value: T; at: number } | undefined;
  #inFlight: { promise: Promise<T>; startedAt: number } | undefined;
  /** Reads actually sent (for tests and figures). */
  reads = 0;

  constructor(read: () => Promise<T>, clock: Clock) {
    this.#read = read;
    this.#clock = clock;
  }

  /** A value no older than maxAgeMs (0: a read that starts now, or one in flight that started no earlier). */
  async get(maxAgeMs: number): Promise<T> {
    const now = this.#clock.now();
    if (this.#value !== undefined && now - this.#value.at <= maxAgeMs && maxAgeMs > 0)
      return this.#value.value;
    if (this.#inFlight !== undefined && now - this.#inFlight.startedAt <= maxAgeMs)
      return this.#inFlight.promise;
    return this.#start(now);
  }

  /** The last value read or set, however old (undefined when none yet). */
  peek(): T | undefined {
    return this.#value?.value;
  }

  /** What a write just returned: the newest truth there is. */
  set(value: T): void {
    this.#value = { value, at: this.#clock.now() };
  }

  /** Forget the cached value (e.g. after a 412: it is stale). */
  invalidate(): void {
    this.#value = undefined;
  }

  #start(now: number): Promise<T> {
    this.reads++;
    const promise = this.#read().then(
      (value) => {
        // A write that finished while this read was in flight put in a newer value: keep that one.
        if (this.#value === undefined || this.#value.at <= now) this.#value = { value, at: now };
        return value;
      },
      (error: unknown) => {
        throw error;
      },
    );
    const entry = { promise, startedAt: now };
    this.#inFlight = entry;
    const clear = () => {
      if (this.#inFlight === entry) this.#inFlight = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }
}
