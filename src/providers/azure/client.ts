// The Azure provider's one way to call Azure Resource Manager: the real @azure/arm-network client with Sluice's
// own policy at the bottom of its pipeline, so every HTTP request (reads, writes, and the SDK's own polls of
// long-running operations) goes through one place that
// - holds calls back while the subscription is throttled: a 429 closes a gate for its Retry-After, for every
//   Service and every caller of this client (reads and writes separately, as ARM counts them); while it is closed
//   calls wait a little, or fail fast locally with ArmThrottledError (nothing is sent: no hammering);
// - retries 5xx, 408 and lost connections with exponential backoff and full jitter (a bounded number of times);
// - logs ARM's x-ms-request-id and x-ms-correlation-request-id on every failure;
// - reports every attempt to a metrics hook.
// The SDK's own retries are off (maxRetries 0), so the waits are all decided here.

import type { Agent } from 'node:https';
import { Agent as HttpsAgent } from 'node:https';
import { NetworkManagementClient, type NetworkManagementClientOptionalParams } from '@azure/arm-network';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Logger } from '../../observability/logger.ts';
import { ArmCallError, ArmThrottledError, describeArmError, parseRetryAfter, traceIds } from './errors.ts';

type AdditionalPolicy = NonNullable<NetworkManagementClientOptionalParams['additionalPolicies']>[number];
export type PipelinePolicy = AdditionalPolicy['policy'];
export type PipelineRequest = Parameters<PipelinePolicy['sendRequest']>[0];
export type PipelineResponse = Awaited<ReturnType<PipelinePolicy['sendRequest']>>;
export type HttpClient = NonNullable<NetworkManagementClientOptionalParams['httpClient']>;

export interface Clock {
  /** Milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One attempt of one ARM request, for metrics. */
export interface ArmCallEvent {
  service: 'arm';
  /** e.g. "PUT loadBalancers", "GET operations". */
  api: string;
  /** success; throttled (429); retryable (5xx, 408, connection lost); error (any other refusal, 404 included). */
  outcome: 'success' | 'throttled' | 'retryable' | 'error';
  durationMs: number;
  status?: number;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Without Retry-After, a 429 closes the gate this long (ARM sends the header; this is the fallback). */
export const DEFAULT_THROTTLE_MS = 10_000;

export type CallClass = 'read' | 'write';

/**
 * The subscription-wide throttle gate. A 429 closes the gate of its class until Retry-After has passed; a call
 * that finds it closed waits when the wait is short, and otherwise fails at once (ArmThrottledError), so that a
 * reconcile gives its worker back and a throttled subscription sees no calls at all.
 */
export class ThrottleGate {
  readonly #clock: Clock;
  readonly #maxWaitMs: number;
  readonly #closedUntil: Record<CallClass, number> = { read: 0, write: 0 };
  /** Calls held back (waited or refused) while closed, for tests and metrics. */
  heldBack = 0;

  constructor(clock: Clock, maxWaitMs: number) {
    this.#clock = clock;
    this.#maxWaitMs = maxWaitMs;
  }

  /** Milliseconds until the class may call again (0: open). */
  remaining(kind: CallClass): number {
    return Math.max(0, this.#closedUntil[kind] - this.#clock.now());
  }

  close(kind: CallClass, ms: number): void {
    this.#closedUntil[kind] = Math.max(this.#closedUntil[kind], this.#clock.now() + ms);
  }

  /** Resolves when the call may go; throws ArmThrottledError when the wait would be longer than allowed. */
  async pass(kind: CallClass): Promise<void> {
    for (let left = this.remaining(kind); left > 0; left = this.remaining(kind)) {
      this.heldBack++;
      if (left > this.#maxWaitMs) throw new ArmThrottledError(left);
      await this.#clock.sleep(left);
    }
  }
}

/** The wait before attempt `attempt + 1`: full jitter below min(max, base·2^(attempt-1)). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random * ceiling);
}

/** "PUT loadBalancers", "GET virtualNetworks/subnets", "GET operations": the resource types in an ARM URL path. */
export function apiName(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const segments = path.split('/').filter((s) => s !== '');
  const provider = segments.findIndex((s) => s.toLowerCase() === 'microsoft.network');
  if (provider < 0) return `${method} ${segments.at(-1) ?? '/'}`;
  const rest = segments.slice(provider + 1);
  // .../locations/<region>/operations/<id> and operationResults: the LRO status of an operation.
  if (rest[0]?.toLowerCase() === 'locations') return `${method} ${rest[2] ?? 'locations'}`;
  const types = rest.filter((_, i) => i % 2 === 0);
  return `${method} ${types.join('/')}`;
}

export interface ArmPolicyDeps {
  gate: ThrottleGate;
  clock: Clock;
  random: () => number;
  retry: RetryPolicy;
  logger: Logger;
  onCall?: (event: ArmCallEvent) => void;
  /** One attempt's deadline (ms). */
  attemptTimeoutMs: number;
}

function codeOf(response: PipelineResponse): string | undefined {
  try {
    const body = JSON.parse(response.bodyAsText ?? '') as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** Sluice's policy at the bottom of the SDK pipeline: gate, retries, request IDs in logs, metrics. */
export function armCallPolicy(deps: ArmPolicyDeps): PipelinePolicy {
  const report = (event: ArmCallEvent): void => {
    try {
      deps.onCall?.(event);
    } catch (error) {
      deps.logger.warn({ err: String(error) }, 'ARM call metrics hook failed');
    }
  };
  return {
    name: 'sluiceArmCalls',
    async sendRequest(request, next) {
      const method = request.method.toUpperCase();
      const kind: CallClass = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
      // The SDK repeats a write's custom headers on its polls; a precondition belongs to the write alone.
      if (kind === 'read') {
        request.headers.delete('If-Match');
        request.headers.delete('If-None-Match');
      }
      if (!request.timeout) request.timeout = deps.attemptTimeoutMs;
      const api = apiName(method, request.url);
      for (let attempt = 1; ; attempt++) {
        await deps.gate.pass(kind);
        const started = deps.clock.now();
        let response: PipelineResponse;
        try {
          response = await next(request);
        } catch (error) {
          const failure = describeArmError(error);
          report({ service: 'arm', api, outcome: 'retryable', durationMs: deps.clock.now() - started });
          if (
            failure.kind !== 'transient' ||
            attempt >= deps.retry.maxAttempts ||
            request.abortSignal?.aborted
          ) {
            deps.logger.warn({ api, attempt, code: failure.code, err: failure.message }, `ARM ${api} failed`);
            throw error;
          }
          const delay = backoffDelay(deps.retry, attempt, deps.random());
          deps.logger.info(
            { api, attempt, code: failure.code, retryInMs: delay },
            `ARM ${api} failed, will retry`,
          );
          await deps.clock.sleep(delay);
          continue;
        }
        const status = response.status;
        const durationMs = deps.clock.now() - started;
        const ids = {
          requestId: response.headers.get('x-ms-request-id') ?? 'none',
          correlationId: response.headers.get('x-ms-correlation-request-id') ?? 'none',
        };
        if (status === 429) {
          const waitMs = parseRetryAfter(response.headers.get('retry-after')) ?? DEFAULT_THROTTLE_MS;
          deps.gate.close(kind, waitMs);
          report({ service: 'arm', api, outcome: 'throttled', durationMs, status });
          deps.logger.warn(
            { api, attempt, ...ids, retryAfterMs: waitMs, calls: kind },
            `ARM ${api} throttled: every ${kind} of this subscription waits`,
          );
          if (attempt < deps.retry.maxAttempts) continue;
          return response;
        }
        if (status >= 500 || status === 408) {
          report({ service: 'arm', api, outcome: 'retryable', durationMs, status });
          const code = codeOf(response);
          if (attempt >= deps.retry.maxAttempts) {
            deps.logger.warn({ api, attempt, status, code, ...ids }, `ARM ${api} failed`);
            return response;
          }
          const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
          const delay = Math.max(backoffDelay(deps.retry, attempt, deps.random()), retryAfter ?? 0);
          deps.logger.info(
            { api, attempt, status, code, ...ids, retryInMs: delay },
            `ARM ${api} failed, will retry`,
          );
          await deps.clock.sleep(delay);
          continue;
        }
        if (status >= 400) {
          report({ service: 'arm', api, outcome: 'error', durationMs, status });
          const code = codeOf(response);
          // A missing resource on a read is an answer, and a stale ETag is a normal race: no warning for those.
          const quiet = (status === 404 && kind === 'read') || status === 412;
          deps.logger[quiet ? 'debug' : 'warn']({ api, status, code, ...ids }, `ARM ${api} refused`);
          return response;
        }
        report({ service: 'arm', api, outcome: 'success', durationMs, status });
        return response;
      }
    },
  };
}

export interface ArmClientOptions {
  subscriptionId: string;
  /** ARM endpoint override (tests, sovereign clouds); default https://management.azure.com. */
  endpoint?: string;
  /** Default: DefaultAzureCredential (Workload Identity in a cluster). */
  credential?: TokenCredential;
  /** An agent for every ARM (and, for the default credential, token) request: e.g. one trusting an emulator's CA. */
  httpsAgent?: Agent;
  /** PEM of a CA to trust besides the system's (an emulator's); ignored when httpsAgent is given. */
  caCertificate?: string;
  logger: Logger;
  onCall?: (event: ArmCallEvent) => void;
  retry?: Partial<RetryPolicy>;
  /** How long a call may wait at a closed gate before it fails fast instead. Default 2 s. */
  maxGateWaitMs?: number;
  attemptTimeoutMs?: number;
  /** How often the SDK polls a long-running operation. Default 1 s. */
  pollIntervalMs?: number;
  clock?: Clock;
  random?: () => number;
  /** Replaces the HTTP transport (unit tests). */
  httpClient?: HttpClient;
}

export class ArmClient {
  readonly network: NetworkManagementClient;
  readonly subscriptionId: string;
  readonly gate: ThrottleGate;
  readonly pollIntervalMs: number;
  readonly #logger: Logger;

  constructor(options: ArmClientOptions) {
    const clock = options.clock ?? systemClock;
    this.subscriptionId = options.subscriptionId;
    this.#logger = options.logger;
    this.gate = new ThrottleGate(clock, options.maxGateWaitMs ?? 2000);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    const agent =
      options.httpsAgent ??
      (options.caCertificate ? new HttpsAgent({ ca: options.caCertificate, keepAlive: true }) : undefined);
    const credential =
      options.credential ??
      new DefaultAzureCredential(
        // An emulator's token endpoint is not a Microsoft cloud: skip instance discovery there.
        agent ? { agent, disableInstanceDiscovery: true } : {},
      );
    const policy = armCallPolicy({
      gate: this.gate,
      clock,
      random: options.random ?? Math.random,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      logger: options.logger,
      ...(options.onCall ? { onCall: options.onCall } : {}),
      attemptTimeoutMs: options.attemptTimeoutMs ?? 30_000,
    });
    this.network = new NetworkManagementClient(credential, options.subscriptionId, {
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(agent ? { agent } : {}),
      ...(options.httpClient ? { httpClient: options.httpClient } : {}),
      retryOptions: { maxRetries: 0 },
      additionalPolicies: [{ policy, position: 'perRetry' }],
    });
  }

  /** Runs one SDK call; any failure becomes an ArmCallError (or ArmThrottledError: nothing was sent). */
  async call<T>(api: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ArmThrottledError) throw error;
      const failure = describeArmError(error);
      if (failure.kind === 'throttled' && failure.retryAfterMs !== undefined) {
        throw new ArmThrottledError(failure.retryAfterMs);
      }
      if (failure.kind !== 'notFound' && failure.kind !== 'conflict') {
        this.#logger.warn(
          { api, code: failure.code, status: failure.status, err: failure.message },
          `ARM ${api} failed${traceIds(failure)}`,
        );
      }
      throw new ArmCallError(api, failure);
    }
  }

  /** A read that answers undefined for a resource that does not exist (404). */
  async find<T>(api: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(api, run);
    } catch (error) {
      if (error instanceof ArmCallError && error.failure.kind === 'notFound') return undefined;
      throw error;
    }
  }
}
