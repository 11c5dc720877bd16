// Problems in the two shapes Compute Engine reports them:
// - a failed HTTP call: {"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}
//   (the Node SDK's REST transport throws a GaxiosError whose `status` is the HTTP code and whose
//   `message` is that JSON text);
// - a DONE Operation that failed: operation.error.errors[] = [{"code", "message"}] plus
//   httpErrorStatusCode / httpErrorMessage, the way Compute reports problems it finds while applying.
import type { Json } from './json.ts';

export interface QuotaInfo {
  metric: string;
  limit: number;
  /** Region for regional quotas; absent for project-wide ones. */
  region?: string;
}

export interface GcpError {
  readonly httpStatus: number;
  /** errors[0].reason of the HTTP body: notFound, alreadyExists, resourceInUseByAnotherResource, ... */
  readonly reason: string;
  /** errors[0].domain of the HTTP body: global, usageLimits. */
  readonly domain: string;
  readonly message: string;
  /** The code the same problem carries in a DONE operation's error.errors[]. */
  readonly operationCode: string;
  /** google.rpc status name; only the front end's quota errors (HTTP 429) carry one. */
  readonly status?: string;
  readonly details?: readonly Json[];
  readonly quota?: QuotaInfo;
}

/** Validation code throws this to stop at the first problem; the route boundary turns it into a response. */
export class Rejection extends Error {
  readonly error: GcpError;
  constructor(error: GcpError) {
    super(error.message);
    this.error = error;
  }
}

export function reject(error: GcpError): never {
  throw new Rejection(error);
}

function error(
  httpStatus: number,
  reason: string,
  message: string,
  operationCode: string,
  domain = 'global',
): GcpError {
  return { httpStatus, reason, domain, message, operationCode };
}

export function notFound(path: string): GcpError {
  return error(404, 'notFound', `The resource '${path}' was not found`, 'RESOURCE_NOT_FOUND');
}

export function alreadyExists(path: string): GcpError {
  return error(409, 'alreadyExists', `The resource '${path}' already exists`, 'ALREADY_EXISTS');
}

/** `label` is Compute's snake_case type name: health_check, backend_service, instance_group, address. */
export function inUseBy(label: string, path: string, userPath: string): GcpError {
  return error(
    400,
    'resourceInUseByAnotherResource',
    `The ${label} resource '${path}' is already being used by '${userPath}'`,
    'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE',
  );
}

export function notReady(path: string): GcpError {
  return error(400, 'resourceNotReady', `The resource '${path}' is not ready`, 'RESOURCE_NOT_READY');
}

export function invalidField(field: string, value: unknown, why: string): GcpError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return error(
    400,
    'invalid',
    `Invalid value for field '${field}': '${shown}'. ${why}`.trimEnd(),
    'INVALID_FIELD_VALUE',
  );
}

export function requiredField(field: string): GcpError {
  return error(400, 'required', `Required field '${field}' not specified`, 'REQUIRED_FIELD_NOT_SPECIFIED');
}

export function badRequest(message: string): GcpError {
  return error(400, 'badRequest', message, 'BAD_REQUEST');
}

export function parseError(message: string): GcpError {
  return error(400, 'parseError', `Invalid JSON payload received. ${message}`, 'BAD_REQUEST');
}

export function conditionNotMet(message: string): GcpError {
  return error(412, 'conditionNotMet', message, 'CONDITION_NOT_MET');
}

export function ipInUse(ip: string, userPath: string): GcpError {
  return error(
    400,
    'ipInUseByAnotherResource',
    `IP '${ip}' is already being used by another resource ('${userPath}').`,
    'IP_IN_USE_BY_ANOTHER_RESOURCE',
  );
}

export function ipSpaceExhausted(where: string): GcpError {
  return error(400, 'ipSpaceExhausted', `IP space of '${where}' is exhausted.`, 'IP_SPACE_EXHAUSTED');
}

export function memberAlreadyExists(instance: string, group: string): GcpError {
  return error(
    400,
    'memberAlreadyExists',
    `The resource '${instance}' is already a member of '${group}'`,
    'MEMBER_ALREADY_EXISTS',
  );
}

export function memberNotFound(instance: string, group: string): GcpError {
  return error(
    400,
    'memberNotFound',
    `The resource '${instance}' is not a member of '${group}'`,
    'MEMBER_NOT_FOUND',
  );
}

export function quotaExceeded(quota: QuotaInfo): GcpError {
  const where = quota.region ? `in region ${quota.region}` : 'globally';
  return {
    httpStatus: 403,
    reason: 'quotaExceeded',
    domain: 'usageLimits',
    message: `Quota '${quota.metric}' exceeded.  Limit: ${quota.limit.toFixed(1)} ${where}.`,
    operationCode: 'QUOTA_EXCEEDED',
    quota,
  };
}

/** The API front end's per-minute request quota, as Compute reports it with HTTP 403 or 429. */
export function rateLimited(httpStatus: 403 | 429, write: boolean): GcpError {
  const group = write ? 'Queries per minute for write requests' : 'Queries per minute for read requests';
  const message =
    `Quota exceeded for quota metric '${write ? 'Write' : 'Read'} requests' and limit '${group}' ` +
    `of service 'compute.googleapis.com' for consumer 'project_number:000000000000'.`;
  if (httpStatus === 403) {
    return {
      httpStatus,
      reason: 'rateLimitExceeded',
      domain: 'usageLimits',
      message,
      operationCode: 'RATE_LIMIT',
    };
  }
  return {
    httpStatus,
    reason: 'rateLimitExceeded',
    domain: 'global',
    message,
    operationCode: 'RATE_LIMIT',
    status: 'RESOURCE_EXHAUSTED',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'RATE_LIMIT_EXCEEDED',
        domain: 'googleapis.com',
        metadata: {
          service: 'compute.googleapis.com',
          quota_metric: write
            ? 'compute.googleapis.com/write_requests'
            : 'compute.googleapis.com/read_requests',
          quota_limit: write ? 'WriteRequestsPerMinutePerProject' : 'ReadRequestsPerMinutePerProject',
          consumer: 'projects/000000000000',
        },
      },
    ],
  };
}

export function serverError(httpStatus: number): GcpError {
  const message =
    httpStatus === 503
      ? 'The service is currently unavailable.'
      : "Internal error. Please try again or contact Google Support. (Code: 'gcp-sim-injected')";
  return error(httpStatus, 'backendError', message, 'INTERNAL_ERROR');
}

export function notSimulated(what: string): GcpError {
  return error(400, 'notSimulated', `gcp-sim does not simulate ${what}.`, 'NOT_SIMULATED', 'gcp-sim');
}

export function noSuchMethod(method: string, path: string): GcpError {
  return error(
    404,
    'notFound',
    `gcp-sim has no method for ${method} ${path} (not part of the simulated Compute Engine API).`,
    'NOT_FOUND',
    'gcp-sim',
  );
}

/** The HTTP body of a failed call. */
export function httpErrorBody(problem: GcpError): Json {
  const body: Json = {
    code: problem.httpStatus,
    message: problem.message,
    errors: [{ message: problem.message, domain: problem.domain, reason: problem.reason }],
  };
  if (problem.status) body.status = problem.status;
  if (problem.details) body.details = problem.details;
  return { error: body };
}

/** The `error` of a DONE operation. */
export function operationErrorBody(problem: GcpError): Json {
  const entry: Json = { code: problem.operationCode, message: problem.message };
  if (problem.quota) {
    const dimensions: Json = problem.quota.region ? { region: problem.quota.region } : {};
    entry.errorDetails = [
      {
        quotaInfo: {
          metricName: `compute.googleapis.com/${problem.quota.metric.toLowerCase()}`,
          limitName: `${problem.quota.metric}-per-project${problem.quota.region ? '-region' : ''}`,
          dimensions,
          limit: problem.quota.limit,
        },
      },
    ];
  }
  return { errors: [entry] };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'BAD REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION FAILED',
  429: 'TOO MANY REQUESTS',
  500: 'INTERNAL SERVER ERROR',
  502: 'BAD GATEWAY',
  503: 'SERVICE UNAVAILABLE',
};

export function httpStatusText(status: number): string {
  return STATUS_TEXT[status] ?? 'ERROR';
}
