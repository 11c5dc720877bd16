// Client-side rate limits for AWS API calls, per API class, as aws-load-balancer-controller does
// (pkg/aws/throttle/defaults.go): a token bucket per class, so a burst of reconciles (a restart,
// a node change touching every Service) queues here instead of being throttled by AWS. Pure
// except for the injected clock: tests drive time by hand.

/** Sustained calls per second and how many may go at once after a quiet spell. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export type AwsService = 'elbv2' | 'ec2';

/**
 * Limits by `<service>:<class>`. ELBv2: aws-load-balancer-controller's defaults (Describe* 50/s
 * burst 200, (De)RegisterTargets 4/s burst 20, Modify* 3/s burst 20; Set* counted with Modify*).
 * EC2: below the account's own buckets (non-mutating 20/s burst 100, mutating 5/s burst 50), so
 * the nodes' other tools keep their share.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  'elbv2:describe': { perSecond: 50, burst: 200 },
  'elbv2:targets': { perSecond: 4, burst: 20 },
  'elbv2:modify': { perSecond: 3, burst: 20 },
  'elbv2:other': { perSecond: 5, burst: 20 },
  'ec2:describe': { perSecond: 20, burst: 100 },
  'ec2:other': { perSecond: 5, burst: 50 },
};

/** The class an API call counts against, e.g. `elbv2:describe` for DescribeTags. */
export function rateClassOf(service: AwsService, api: string): string {
  if (/^(Describe|Get|List)/.test(api)) return `${service}:describe`;
  if (service === 'elbv2') {
    if (/^(Register|Deregister)Targets$/.test(api)) return 'elbv2:targets';
    if (/^(Modify|Set)/.test(api)) return 'elbv2:modify';
  }
  return `${service}:other`;
}

/**
 * A token bucket that hands out reservations: a caller takes a token now and is told how long to
 * wait before using it. Tokens may go negative (callers queued), so waits grow in call order and
 * the sustained rate never exceeds `perSecond`.
 */
export class TokenBucket {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(limit: RateLimit, now: () => number) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new Error(`rate limit needs perSecond > 0 and burst >= 1, got ${JSON.stringify(limit)}`);
    }
    this.#limit = limit;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#updatedAt = now();
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + (elapsed * this.#limit.perSecond) / 1000);
  }

  /** Takes one token; returns the milliseconds to wait before the call may go (0: at once). */
  reserve(): number {
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#limit.perSecond;
  }

  /** AWS said slow down: nothing saved up counts any more, the next callers wait for the refill. */
  drain(): void {
    this.#refill();
    this.#tokens = Math.min(this.#tokens, 0);
  }

  /** Tokens available now (negative: callers queued). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }
}

/** One bucket per API class, created on first use. */
export class RateLimiter {
  readonly #limits: Readonly<Record<string, RateLimit>>;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(clock: Clock = systemClock, overrides: Partial<Record<string, RateLimit>> = {}) {
    this.#clock = clock;
    const limits: Record<string, RateLimit> = { ...DEFAULT_RATE_LIMITS };
    for (const [key, limit] of Object.entries(overrides)) if (limit) limits[key] = limit;
    this.#limits = limits;
  }

  bucket(service: AwsService, api: string): TokenBucket {
    const key = rateClassOf(service, api);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      const limit = this.#limits[key] ?? this.#limits[`${service}:other`] ?? { perSecond: 5, burst: 20 };
      bucket = new TokenBucket(limit, () => this.#clock.now());
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Resolves when the call may go; returns how long it waited (ms). */
  async acquire(service: AwsService, api: string): Promise<number> {
    const wait = this.bucket(service, api).reserve();
    if (wait > 0) await this.#clock.sleep(wait);
    return wait;
  }

  /** After a throttling answer: the class's bucket keeps nothing in reserve. */
  throttled(service: AwsService, api: string): void {
    this.bucket(service, api).drain();
  }
}
