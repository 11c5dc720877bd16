// The AWS provider's one way to call AWS: ELBv2 and EC2 through the SDK, each call rate-limited
// by its API class, retried with exponential backoff and full jitter on throttling and transient
// failures (a bounded number of attempts), every failure logged with AWS's request ID, and every
// attempt reported to a metrics hook. The SDK's own retries are off so the attempts, the waits and
// the "did a lost create happen?" question are all decided here.

import {
  EC2Client,
  type EC2ClientResolvedConfig,
  type $Command as Ec2CommandBase,
  type ServiceInputTypes as Ec2Input,
  type ServiceOutputTypes as Ec2Output,
} from '@aws-sdk/client-ec2';
import {
  ElasticLoadBalancingV2Client,
  type ElasticLoadBalancingV2ClientResolvedConfig,
  type $Command as ElbCommandBase,
  type ServiceInputTypes as ElbInput,
  type ServiceOutputTypes as ElbOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Logger } from '../../observability/logger.ts';
import { AwsCallError, type AwsFailure, describeAwsError } from './errors.ts';
import { type AwsService, type Clock, type RateLimit, RateLimiter, systemClock } from './rate-limit.ts';

export type ElbCommand<I extends ElbInput, O extends ElbOutput> = ElbCommandBase<
  I,
  O,
  ElasticLoadBalancingV2ClientResolvedConfig,
  ElbInput,
  ElbOutput
>;
export type Ec2Command<I extends Ec2Input, O extends Ec2Output> = Ec2CommandBase<
  I,
  O,
  EC2ClientResolvedConfig,
  Ec2Input,
  Ec2Output
>;

/** Static credentials (tests) or a provider function; absent: the SDK's standard chain (env, IRSA, Pod Identity, IMDS). */
export type AwsCredentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>);

/** One attempt of one API call, for metrics (e.g. a prom-client counter by api and outcome). */
export interface AwsCallEvent {
  service: AwsService;
  api: string;
  /** success; throttled (AWS said slow down); retryable (5xx, network, timeout); error (refused as it is). */
  outcome: 'success' | 'throttled' | 'retryable' | 'error';
  attempt: number;
  durationMs: number;
  /** How long the client-side rate limit held this attempt back. */
  waitedMs: number;
  code?: string;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The backoff ceiling doubles from this with each attempt... */
  baseDelayMs: number;
  /** ...up to this; the actual wait is uniformly random below the ceiling ("full jitter"). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 20_000 };

export interface AwsClientOptions {
  region: string;
  /** Overrides the ELBv2 and EC2 endpoints (tests: moto, or a fault proxy in front of it). */
  endpoint?: string;
  credentials?: AwsCredentials;
  logger: Logger;
  onCall?: (event: AwsCallEvent) => void;
  retry?: Partial<RetryPolicy>;
  /** Per-class overrides, keys as in DEFAULT_RATE_LIMITS (e.g. `elbv2:modify`). */
  rateLimits?: Partial<Record<string, RateLimit>>;
  /** One attempt's deadline. Default 20 s. */
  attemptTimeoutMs?: number;
  clock?: Clock;
  /** [0, 1); jitter source (tests pass a fixed one). */
  random?: () => number;
  /** Replaces the SDK (unit tests): sends one command, resolves with its output or throws like the SDK. */
  send?: (service: AwsService, command: object, signal: AbortSignal) => Promise<unknown>;
}

export interface CallOptions<O> {
  /**
   * For a call that is not idempotent (a create): after a failure that may have happened after AWS
   * acted (a lost response, a timeout, a 5xx), this looks for the result before trying again; a
   * value ends the call with it. Throttled calls never reached the API, so they skip the lookup.
   */
  lookup?: () => Promise<O | undefined>;
}

/** The API name of an SDK command: DescribeTagsCommand → DescribeTags. */
export function apiName(command: object): string {
  return command.constructor.name.replace(/Command$/, '');
}

/** The wait before attempt `attempt + 1`: full jitter below min(max, base·2^(attempt-1)), at least Retry-After. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: number,
  retryAfterSeconds?: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random * ceiling);
  return retryAfterSeconds === undefined
    ? jittered
    : Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterSeconds * 1000));
}

export class AwsClient {
  readonly region: string;
  readonly #send: (service: AwsService, command: object, signal: AbortSignal) => Promise<unknown>;
  readonly #logger: Logger;
  readonly #onCall: ((event: AwsCallEvent) => void) | undefined;
  readonly #retry: RetryPolicy;
  readonly #limiter: RateLimiter;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #attemptTimeoutMs: number;

  constructor(options: AwsClientOptions) {
    this.region = options.region;
    this.#logger = options.logger;
    this.#onCall = options.onCall;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#clock = options.clock ?? systemClock;
    this.#limiter = new RateLimiter(this.#clock, options.rateLimits);
    this.#random = options.random ?? Math.random;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 20_000;
    this.#send = options.send ?? sdkSender(options);
  }

  /** The rate limiter (tests and metrics read its buckets). */
  get limiter(): RateLimiter {
    return this.#limiter;
  }

  elbv2<I extends ElbInput, O extends ElbOutput>(
    command: ElbCommand<I, O>,
    options: CallOptions<O> = {},
  ): Promise<O> {
    return this.#call<O>('elbv2', command, options);
  }

  ec2<I extends Ec2Input, O extends Ec2Output>(
    command: Ec2Command<I, O>,
    options: CallOptions<O> = {},
  ): Promise<O> {
    return this.#call<O>('ec2', command, options);
  }

  async #call<O>(service: AwsService, command: object, options: CallOptions<O>): Promise<O> {
    const api = apiName(command);
    for (let attempt = 1; ; attempt++) {
      const waitedMs = await this.#limiter.acquire(service, api);
      const started = this.#clock.now();
      let failure: AwsFailure;
      try {
        const output = (await this.#send(service, command, AbortSignal.timeout(this.#attemptTimeoutMs))) as O;
        this.#report({
          service,
          api,
          outcome: 'success',
          attempt,
          durationMs: this.#clock.now() - started,
          waitedMs,
        });
        return output;
      } catch (error) {
        failure = describeAwsError(error);
      }
      const outcome =
        failure.kind === 'throttled' ? 'throttled' : failure.kind === 'transient' ? 'retryable' : 'error';
      this.#report({
        service,
        api,
        outcome,
        attempt,
        durationMs: this.#clock.now() - started,
        waitedMs,
        code: failure.code,
      });
      if (failure.kind === 'throttled') this.#limiter.throttled(service, api);
      const context = {
        service,
        api,
        attempt,
        code: failure.code,
        requestId: failure.requestId ?? 'none',
        httpStatus: failure.httpStatus,
      };
      if (failure.kind === 'fatal' || attempt >= this.#retry.maxAttempts) {
        this.#logger.warn({ ...context, err: failure.message }, `AWS ${api} failed`);
        throw new AwsCallError(service, api, attempt, failure);
      }
      const delayMs = backoffDelay(this.#retry, attempt, this.#random(), failure.retryAfterSeconds);
      this.#logger.info(
        { ...context, err: failure.message, retryInMs: delayMs },
        `AWS ${api} failed, will retry`,
      );
      await this.#clock.sleep(delayMs);
      if (failure.kind === 'transient' && options.lookup) {
        const found = await options.lookup();
        if (found !== undefined) {
          this.#logger.info({ service, api, attempt }, `AWS ${api}: the lost call had taken effect`);
          return found;
        }
      }
    }
  }

  #report(event: AwsCallEvent): void {
    try {
      this.#onCall?.(event);
    } catch (error) {
      this.#logger.warn({ err: String(error) }, 'AWS call metrics hook failed');
    }
  }
}

function sdkSender(
  options: AwsClientOptions,
): (service: AwsService, command: object, signal: AbortSignal) => Promise<unknown> {
  const config = {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Retries are ours (above): one SDK attempt per call.
    maxAttempts: 1,
  };
  const elbv2 = new ElasticLoadBalancingV2Client(config);
  const ec2 = new EC2Client(config);
  return (service, command, signal) =>
    service === 'elbv2'
      ? elbv2.send(command as ElbCommand<ElbInput, ElbOutput>, { abortSignal: signal })
      : ec2.send(command as Ec2Command<Ec2Input, Ec2Output>, { abortSignal: signal });
}

/** Builds the client for the provider: region and endpoint from config, credentials from the standard chain. */
export function createAwsClient(options: AwsClientOptions): AwsClient {
  return new AwsClient(options);
}
