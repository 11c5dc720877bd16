// The Compute Engine clients Sluice uses, behind one call path: a client-side token bucket (a burst
// of reconciles queues here instead of being throttled by Google), retries with jittered backoff on
// throttling, 5xx and lost answers (safe: every write carries a requestId, so a repeated call returns
// the first call's operation instead of a second resource), and one metrics event per attempt.
import {
  AddressesClient,
  FirewallsClient,
  ForwardingRulesClient,
  GlobalOperationsClient,
  InstanceGroupsClient,
  RegionBackendServicesClient,
  RegionHealthChecksClient,
  RegionOperationsClient,
  SubnetworksClient,
  ZoneOperationsClient,
} from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import type { Logger } from '../../observability/logger.ts';
import { backoffDelay, type RetryPolicy } from '../aws/client.ts';
import { type Clock, type RateLimit, systemClock, TokenBucket } from '../aws/rate-limit.ts';
import { ComputeCallError, describeComputeError } from './errors.ts';
import { type OperationRef, type OperationScope, operationRef, type RawOperation } from './operations.ts';

export interface ComputeCallEvent {
  service: 'compute';
  /** e.g. "forwardingRules.insert". */
  api: string;
  outcome: 'success' | 'throttled' | 'retryable' | 'error';
  durationMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 40 };
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 10_000 };
/** The SDK's REST transport ignores call timeouts; a call unanswered this long counts as a lost answer. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

export interface ComputeClientOptions {
  logger: Logger;
  /** http://host:port → an emulator: no credentials at all. Absent: Google's endpoint with ADC. */
  endpoint?: string;
  onCall?: (event: ComputeCallEvent) => void;
  rateLimit?: RateLimit;
  retry?: Partial<RetryPolicy>;
  /** Default DEFAULT_CALL_TIMEOUT_MS. */
  callTimeoutMs?: number;
  clock?: Clock;
}

/** Rejects when `promise` has not settled within `ms` (the call itself cannot be cancelled). */
function withinTimeout<T>(promise: Promise<T>, ms: number, api: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${api}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type ClientOptions = NonNullable<ConstructorParameters<typeof AddressesClient>[0]>;

function clientOptions(endpoint: string | undefined): ClientOptions {
  if (endpoint === undefined) return {}; // Application Default Credentials (Workload Identity on GKE).
  const url = new URL(endpoint);
  const insecure = url.protocol === 'http:';
  return {
    apiEndpoint: url.hostname,
    port: Number(url.port || (insecure ? 80 : 443)),
    protocol: insecure ? 'http' : 'https',
    fallback: true,
    // An emulator takes no credentials; never look for any (no metadata server, no key file).
    ...(insecure ? { authClient: new PassThroughClient() } : {}),
  };
}

export class ComputeClient {
  readonly addresses: AddressesClient;
  readonly healthChecks: RegionHealthChecksClient;
  readonly backendServices: RegionBackendServicesClient;
  readonly forwardingRules: ForwardingRulesClient;
  readonly firewalls: FirewallsClient;
  readonly instanceGroups: InstanceGroupsClient;
  readonly subnetworks: SubnetworksClient;
  readonly regionOperations: RegionOperationsClient;
  readonly zoneOperations: ZoneOperationsClient;
  readonly globalOperations: GlobalOperationsClient;
  readonly #log: Logger;
  readonly #onCall: ((event: ComputeCallEvent) => void) | undefined;
  readonly #bucket: TokenBucket;
  readonly #retry: RetryPolicy;
  readonly #clock: Clock;
  readonly #callTimeoutMs: number;

  constructor(options: ComputeClientOptions) {
    const o = clientOptions(options.endpoint);
    this.addresses = new AddressesClient(o);
    this.healthChecks = new RegionHealthChecksClient(o);
    this.backendServices = new RegionBackendServicesClient(o);
    this.forwardingRules = new ForwardingRulesClient(o);
    this.firewalls = new FirewallsClient(o);
    this.instanceGroups = new InstanceGroupsClient(o);
    this.subnetworks = new SubnetworksClient(o);
    this.regionOperations = new RegionOperationsClient(o);
    this.zoneOperations = new ZoneOperationsClient(o);
    this.globalOperations = new GlobalOperationsClient(o);
    this.#log = options.logger;
    this.#onCall = options.onCall;
    this.#clock = options.clock ?? systemClock;
    this.#bucket = new TokenBucket(options.rateLimit ?? DEFAULT_RATE_LIMIT, () => this.#clock.now());
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /** One API call with rate limiting and retries; throws ComputeCallError with Compute's reason. */
  async call<T>(api: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = this.#bucket.reserve();
      if (wait > 0) await this.#clock.sleep(wait);
      const started = this.#clock.now();
      try {
        // A lost or late answer is retried like a 5xx: writes carry a requestId, so a repeat is not a second write.
        const result = await withinTimeout(send(), this.#callTimeoutMs, api);
        this.#onCall?.({
          service: 'compute',
          api,
          outcome: 'success',
          durationMs: this.#clock.now() - started,
        });
        return result;
      } catch (error) {
        const failure = describeComputeError(error);
        const outcome = failure.throttled ? 'throttled' : failure.retryable ? 'retryable' : 'error';
        this.#onCall?.({ service: 'compute', api, outcome, durationMs: this.#clock.now() - started });
        if (failure.throttled) this.#bucket.drain();
        if (!failure.retryable || attempt >= this.#retry.maxAttempts) {
          // Many refusals are answers the caller expects (404 on a read or delete, 409 on a retried
          // insert): the caller logs the ones that matter; here only retries exhausted are a warning.
          const level = failure.retryable ? 'warn' : 'debug';
          this.#log[level]({ api, status: failure.status, reason: failure.reason, attempt }, failure.message);
          throw new ComputeCallError(api, failure);
        }
        this.#log.debug({ api, status: failure.status, reason: failure.reason, attempt }, 'retrying');
        await this.#clock.sleep(backoffDelay(this.#retry, attempt, Math.random()));
      }
    }
  }

  /** A mutating call: returns its operation (the SDK's first element carries it as latestResponse). */
  async mutate(api: string, send: () => Promise<readonly unknown[]>): Promise<OperationRef> {
    const result = await this.call(api, send);
    const first = result[0] as { latestResponse?: RawOperation } | undefined;
    if (!first?.latestResponse) throw new Error(`${api} answered without an operation`);
    return operationRef(first.latestResponse);
  }

  /** The operation as it is now (never waits for it). */
  async operation(project: string, ref: { name: string; scope: OperationScope }): Promise<OperationRef> {
    const scope = ref.scope;
    const [raw] =
      scope.kind === 'zone'
        ? await this.call('zoneOperations.get', () =>
            this.zoneOperations.get({ project, zone: scope.zone, operation: ref.name }),
          )
        : scope.kind === 'region'
          ? await this.call('regionOperations.get', () =>
              this.regionOperations.get({ project, region: scope.region, operation: ref.name }),
            )
          : await this.call('globalOperations.get', () =>
              this.globalOperations.get({ project, operation: ref.name }),
            );
    return operationRef(raw as RawOperation);
  }

  async close(): Promise<void> {
    await Promise.all(
      [
        this.addresses,
        this.healthChecks,
        this.backendServices,
        this.forwardingRules,
        this.firewalls,
        this.instanceGroups,
        this.subnetworks,
        this.regionOperations,
        this.zoneOperations,
        this.globalOperations,
      ].map((client) => client.close()),
    );
  }
}
