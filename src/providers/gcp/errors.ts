// What Compute Engine's answers mean. The REST transport throws a GaxiosError whose `status` is the
// HTTP status and whose message is Compute's JSON body {"error":{"code","message","errors":[{reason}]}}.

export interface ComputeFailure {
  /** HTTP status; 0 when no answer came (connection lost, timeout). */
  status: number;
  /** errors[0].reason, e.g. alreadyExists, notFound, resourceInUseByAnotherResource, rateLimitExceeded. */
  reason: string;
  message: string;
  /** Throttled or the service failed: the same call may succeed later. */
  retryable: boolean;
  throttled: boolean;
}

const THROTTLE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'RESOURCE_EXHAUSTED']);

export function describeComputeError(error: unknown): ComputeFailure {
  const status =
    typeof (error as { status?: unknown })?.status === 'number' ? (error as { status: number }).status : 0;
  const text = error instanceof Error ? error.message : String(error);
  let reason = '';
  let message = text;
  try {
    const body = JSON.parse(text) as {
      error?: { message?: unknown; status?: unknown; errors?: Array<{ reason?: unknown }> };
    };
    const first = body.error?.errors?.[0];
    reason =
      typeof first?.reason === 'string'
        ? first.reason
        : typeof body.error?.status === 'string'
          ? body.error.status
          : '';
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not Compute's body: a transport error (connection reset, timeout) or a proxy's page.
  }
  const throttled = status === 429 || (status === 403 && THROTTLE_REASONS.has(reason));
  const retryable = throttled || status === 0 || status === 408 || status >= 500;
  return { status, reason, message, retryable, throttled };
}

/** A call that failed after retries: carries Compute's reason for the caller and the user. */
export class ComputeCallError extends Error {
  readonly failure: ComputeFailure;
  readonly api: string;
  constructor(api: string, failure: ComputeFailure) {
    super(
      `${api}: ${failure.status || 'no answer'} ${failure.reason || ''} ${failure.message}`.replace(
        /\s+/g,
        ' ',
      ),
    );
    this.failure = failure;
    this.api = api;
  }
}

export const isNotFound = (f: ComputeFailure): boolean => f.status === 404;
export const isAlreadyExists = (f: ComputeFailure): boolean =>
  f.status === 409 || f.reason === 'alreadyExists';
export const isInUse = (f: ComputeFailure): boolean =>
  f.reason === 'resourceInUseByAnotherResource' || f.reason === 'resourceNotReady';
/** A patch with a fingerprint that is no longer current (412 conditionNotMet). */
export const isStale = (f: ComputeFailure): boolean => f.status === 412 || f.reason === 'conditionNotMet';
export const isQuota = (f: ComputeFailure): boolean =>
  f.reason === 'quotaExceeded' || f.reason === 'QUOTA_EXCEEDED';
