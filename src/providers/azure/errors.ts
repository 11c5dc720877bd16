// What an ARM call's failure means: try again after re-reading (another writer got there first), wait (throttled,
// or the cloud failed inside), or tell the user (ARM refused the request as it is), always with ARM's request and
// correlation IDs so the failure can be traced in the activity log or with Azure support.

/**
 * throttled: ARM said 429 (or Sluice's own gate held the call back). transient: 5xx, 408, a lost connection.
 * conflict: the resource changed under us (412 on If-Match, 409 AnotherOperationInProgress, an operation superseded
 * by a newer write, a referenced resource still provisioning): re-read and try again. notFound: 404. fatal: refused.
 */
export type ArmFailureKind = 'throttled' | 'transient' | 'conflict' | 'notFound' | 'fatal';

export interface ArmFailure {
  kind: ArmFailureKind;
  /** ARM's error code (e.g. InvalidResourceReference), or the network error's code. */
  code: string;
  message: string;
  status?: number;
  requestId?: string;
  correlationId?: string;
  /** From Retry-After (or the local gate). */
  retryAfterMs?: number;
}

/** Codes that mean "someone else changed it, or it is still changing": re-read and write again. */
const CONFLICT_CODES = new Set([
  'PreconditionFailed',
  'AnotherOperationInProgress',
  'Canceled',
  'CanceledAndSupersededDueToAnotherOperation',
  'ReferencedResourceNotProvisioned',
  'RetryableError',
  'OperationCanceled',
  // A public IP a frontend still uses: the frontend's removal has not reached it yet.
  'PublicIPAddressCannotBeDeleted',
]);

const TRANSIENT_CODES = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'GatewayTimeout',
  'RequestTimeout',
  'InternalError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'REQUEST_SEND_ERROR',
  'AbortError',
]);

interface HeadersLike {
  get(name: string): string | undefined;
}

interface RestErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  response?: { status?: unknown; headers?: HeadersLike; bodyAsText?: unknown };
  details?: unknown;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Retry-After as milliseconds: whole seconds, or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The code and message in an ARM error body ({ error: { code, message } }), if the text is one. */
function armErrorBody(body: unknown): { code?: string; message?: string } {
  if (typeof body !== 'string') return {};
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return {
      ...optional('code', text(parsed.error?.code)),
      ...optional('message', text(parsed.error?.message)),
    };
  } catch {
    return {};
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * A failed long-running operation surfaces from @azure/core-lro as a plain Error: "Operation was canceled" (a newer
 * write superseded it) or "The long-running operation has failed. <Code>. <message>".
 */
function lroFailure(message: string): { code: string; message: string } | undefined {
  if (message === 'Operation was canceled')
    return { code: 'Canceled', message: 'the operation was canceled' };
  const match = /^The long-running operation has failed\.? ?(?:([A-Za-z][\w.]*)\. )?(.*)$/s.exec(message);
  if (match === null) return undefined;
  return { code: match[1] ?? 'OperationFailed', message: match[2] || message };
}

/** Reads anything thrown by the SDK (RestError, an LRO failure, a network error) into plain data. */
export function describeArmError(error: unknown): ArmFailure {
  if (error instanceof ArmCallError) return error.failure;
  if (error instanceof ArmThrottledError) {
    return { kind: 'throttled', code: 'Throttled', message: error.message, retryAfterMs: error.retryAfterMs };
  }
  if (typeof error !== 'object' || error === null)
    return { kind: 'fatal', code: 'Unknown', message: String(error) };
  const e = error as RestErrorLike;
  const headers = e.response?.headers;
  const status =
    typeof e.statusCode === 'number'
      ? e.statusCode
      : typeof e.response?.status === 'number'
        ? e.response.status
        : undefined;
  const body = armErrorBody(e.response?.bodyAsText);
  const rawMessage = text(e.message) ?? 'unknown error';
  const lro = status === undefined ? lroFailure(rawMessage) : undefined;
  const code = lro?.code ?? body.code ?? text(e.code) ?? text(e.name) ?? 'Unknown';
  const message = lro?.message ?? body.message ?? rawMessage;
  const retryAfterMs = parseRetryAfter(headers?.get('retry-after'));
  let kind: ArmFailureKind = 'fatal';
  if (status === 429 || code === 'SubscriptionRequestsThrottled' || code === 'TooManyRequests')
    kind = 'throttled';
  else if (status === 412 || status === 409 || CONFLICT_CODES.has(code)) kind = 'conflict';
  else if (status === 404) kind = 'notFound';
  else if ((status !== undefined && (status >= 500 || status === 408)) || TRANSIENT_CODES.has(code)) {
    kind = 'transient';
  } else if (
    status === undefined &&
    lro === undefined &&
    /socket hang up|timed? ?out|aborted|ECONNRESET/i.test(rawMessage)
  ) {
    kind = 'transient';
  }
  return {
    kind,
    code,
    message,
    ...optional('status', status),
    ...optional('requestId', text(headers?.get('x-ms-request-id'))),
    ...optional('correlationId', text(headers?.get('x-ms-correlation-request-id'))),
    ...optional('retryAfterMs', retryAfterMs),
  };
}

/** The IDs of a failure, for messages: " (request ID …, correlation ID …)" or "". */
export function traceIds(failure: ArmFailure): string {
  const parts = [
    failure.requestId ? `request ID ${failure.requestId}` : undefined,
    failure.correlationId && failure.correlationId !== failure.requestId
      ? `correlation ID ${failure.correlationId}`
      : undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** A failed ARM call, after any retries: what was called and ARM's answer. */
export class ArmCallError extends Error {
  readonly api: string;
  readonly failure: ArmFailure;

  constructor(api: string, failure: ArmFailure) {
    super(`${api}: ${failure.code}: ${failure.message}${traceIds(failure)}`);
    this.name = 'ArmCallError';
    this.api = api;
    this.failure = failure;
  }
}

/** The subscription is throttled: the call was not sent (Sluice's gate holds every call until Retry-After passes). */
export class ArmThrottledError extends Error {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super(
      `Azure Resource Manager is throttling this subscription; calls resume in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.name = 'ArmThrottledError';
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * For the Service's condition: a machine-readable reason for a refusal the user (or the platform team: roles,
 * quotas) must fix.
 */
export function userFailureReason(failure: ArmFailure): string {
  const c = failure.code;
  if (
    failure.status === 401 ||
    failure.status === 403 ||
    /^(AuthorizationFailed|LinkedAuthorizationFailed|InvalidAuthenticationToken|AuthenticationFailed)/.test(c)
  ) {
    return 'AccessDenied';
  }
  if (/LimitReached|LimitExceeded|QuotaExceeded|CountLimit/.test(c)) return 'QuotaExceeded';
  if (
    /^(DnsRecordInUse|PublicIPAddressInUse|PrivateIPAddressInUse|MultipleIpConfigsRequestSamePrivateIpAddress)$/.test(
      c,
    )
  ) {
    return 'AddressInUse';
  }
  if (failure.status !== undefined && failure.status >= 400 && failure.status < 500)
    return 'InvalidConfiguration';
  return 'AzureError';
}
