// What an AWS call's failure means: retry it (throttled, transient), wait for something else to
// go first (dependency), or tell the user (everything else), always with AWS's request ID so the
// failure can be traced in CloudTrail or with AWS support.
import type { AwsService } from './rate-limit.ts';

/**
 * throttled: AWS asked us to slow down (retry with backoff). transient: the call may not have
 * reached AWS, or AWS failed inside (5xx, network, timeout); retry, but a create may have happened.
 * fatal: AWS refused the request as it is.
 */
export type FailureKind = 'throttled' | 'transient' | 'fatal';

export interface AwsFailure {
  kind: FailureKind;
  /** AWS's error code (e.g. ValidationError, InvalidPermission.Duplicate), or the network error's code. */
  code: string;
  message: string;
  requestId?: string;
  httpStatus?: number;
  /** Seconds, from a Retry-After header. */
  retryAfterSeconds?: number;
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
]);

const TRANSIENT_CODES = new Set([
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface SdkLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  RequestId?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, unknown> };
  $retryable?: unknown;
  cause?: unknown;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Reads an SDK (or network) error into plain data. Anything thrown is accepted. */
export function describeAwsError(error: unknown): AwsFailure {
  if (typeof error !== 'object' || error === null) {
    return { kind: 'fatal', code: 'Unknown', message: String(error) };
  }
  const e = error as SdkLikeError;
  const cause = (typeof e.cause === 'object' && e.cause !== null ? e.cause : {}) as SdkLikeError;
  const httpStatus =
    typeof e.$metadata?.httpStatusCode === 'number'
      ? e.$metadata.httpStatusCode
      : typeof e.$response?.statusCode === 'number'
        ? e.$response.statusCode
        : undefined;
  // SDK errors: Code (query protocol) or name; Node network errors: code (ECONNRESET), maybe on the cause.
  const code = text(e.Code) ?? text(e.code) ?? text(cause.code) ?? text(e.name) ?? 'Unknown';
  const message = text(e.message) ?? code;
  const requestId = text(e.$metadata?.requestId) ?? text(e.RequestId);
  const header = e.$response?.headers?.['retry-after'];
  const retryAfter = typeof header === 'string' && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
  let kind: FailureKind = 'fatal';
  if (THROTTLING_CODES.has(code) || httpStatus === 429 || httpStatus === 503) kind = 'throttled';
  else if (
    TRANSIENT_CODES.has(code) ||
    (httpStatus !== undefined && httpStatus >= 500) ||
    // No HTTP answer at all: the request or its response was lost on the way.
    (httpStatus === undefined && /socket hang up|ECONNRESET|EPIPE|timed? ?out|aborted/i.test(message))
  ) {
    kind = 'transient';
  }
  return {
    kind,
    code,
    message,
    ...(requestId ? { requestId } : {}),
    ...(httpStatus !== undefined ? { httpStatus } : {}),
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
  };
}

/** A failed AWS call, after any retries: what was called, how often, and AWS's answer. */
export class AwsCallError extends Error {
  readonly service: AwsService;
  readonly api: string;
  readonly attempts: number;
  readonly failure: AwsFailure;

  constructor(service: AwsService, api: string, attempts: number, failure: AwsFailure) {
    const id = failure.requestId ? ` (request ID ${failure.requestId})` : '';
    super(`${api}: ${failure.code}: ${failure.message}${id}`);
    this.name = 'AwsCallError';
    this.service = service;
    this.api = api;
    this.attempts = attempts;
    this.failure = failure;
  }

  get code(): string {
    return this.failure.code;
  }
}

/** The code of an AwsCallError, else undefined. */
export function awsErrorCode(error: unknown): string | undefined {
  return error instanceof AwsCallError ? error.code : undefined;
}

/** The AWS code with any "Exception" suffix removed (the SDK names some errors FooException, the wire says Foo). */
export function baseCode(code: string): string {
  return code.endsWith('Exception') ? code.slice(0, -'Exception'.length) : code;
}

/** Something else must go first (a listener still uses the target group, an ENI the security group): retry later. */
export function isDependencyError(code: string): boolean {
  return ['ResourceInUse', 'DependencyViolation', 'InvalidGroup.InUse'].includes(baseCode(code));
}

/** The resource is gone already: a delete (or revoke) has nothing left to do. */
export function isNotFoundError(code: string): boolean {
  const c = baseCode(code);
  return [
    'LoadBalancerNotFound',
    'TargetGroupNotFound',
    'ListenerNotFound',
    'InvalidGroup.NotFound',
    'InvalidGroupId.NotFound',
    'InvalidPermission.NotFound',
  ].includes(c);
}

/**
 * For the Service's condition: a machine-readable reason for a failure the user (or the platform
 * team, for IAM) must fix.
 */
export function userFailureReason(code: string): string {
  const c = baseCode(code);
  if (c === 'CertificateNotFound') return 'CertificateNotFound';
  if (
    /^(AccessDenied|UnauthorizedOperation|AuthFailure|InvalidClientTokenId|ExpiredToken|UnrecognizedClient|SignatureDoesNotMatch|OptInRequired)/.test(
      c,
    )
  ) {
    return 'AccessDenied';
  }
  if (/^TooMany|LimitExceeded$/.test(c) && c !== 'RequestLimitExceeded') return 'QuotaExceeded';
  if (/^Duplicate|\.Duplicate$/.test(c)) return 'NameConflict';
  if (
    /^(Validation|InvalidConfigurationRequest|InvalidParameter|InvalidScheme|InvalidSubnet|InvalidSecurityGroup|SubnetNotFound|AllocationIdNotFound|AvailabilityZoneNotSupported|SSLPolicyNotFound|ALPNPolicyNotSupported|UnsupportedProtocol|IncompatibleProtocols|InvalidTarget|InvalidLoadBalancerAction|OperationNotPermitted|InvalidGroup|InvalidVpc|InvalidSubnetID|InvalidAllocationID|InvalidAddress|TargetGroupAssociationLimit|PrivateIpAddressNotInSubnet|InvalidInstanceID)/.test(
      c,
    )
  ) {
    return 'InvalidConfiguration';
  }
  return 'AwsError';
}
