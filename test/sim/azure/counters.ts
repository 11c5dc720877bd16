// Calls the simulator answered, by method and resource type ("PUT loadBalancers"), with how many were
// throttled or faulted, and a bounded log of recent requests (when, what, which status) for tests that check
// a client's pacing.

export interface CounterSnapshot {
  total: number;
  byCall: Record<string, number>;
  /** Answered 429 (injected or by the token buckets). */
  throttled: number;
  /** Answered with an injected fault other than 429. */
  faulted: number;
  /** Rejected for a missing or wrong bearer token. */
  unauthenticated: number;
}

export interface LoggedRequest {
  at: number;
  method: string;
  resourceType: string;
  path: string;
  status: number;
  requestId: string;
}

const LOG_SIZE = 2000;

export class CallCounters {
  #byCall = new Map<string, number>();
  #total = 0;
  #throttled = 0;
  #faulted = 0;
  #unauthenticated = 0;
  #log: LoggedRequest[] = [];

  record(method: string, resourceType: string): void {
    const key = `${method} ${resourceType}`;
    this.#byCall.set(key, (this.#byCall.get(key) ?? 0) + 1);
    this.#total++;
  }

  outcome(entry: LoggedRequest, kind: 'ok' | 'throttled' | 'faulted' | 'unauthenticated'): void {
    if (kind === 'throttled') this.#throttled++;
    if (kind === 'faulted') this.#faulted++;
    if (kind === 'unauthenticated') this.#unauthenticated++;
    this.#log.push(entry);
    if (this.#log.length > LOG_SIZE) this.#log.splice(0, this.#log.length - LOG_SIZE);
  }

  snapshot(): CounterSnapshot {
    return {
      total: this.#total,
      byCall: Object.fromEntries([...this.#byCall.entries()].sort(([a], [b]) => a.localeCompare(b))),
      throttled: this.#throttled,
      faulted: this.#faulted,
      unauthenticated: this.#unauthenticated,
    };
  }

  log(): LoggedRequest[] {
    return [...this.#log];
  }

  reset(): void {
    this.#byCall.clear();
    this.#total = 0;
    this.#throttled = 0;
    this.#faulted = 0;
    this.#unauthenticated = 0;
    this.#log = [];
  }
}
