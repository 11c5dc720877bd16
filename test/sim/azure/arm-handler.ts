// The ARM front door: bearer-token check, api-version, counters, throttling and injected faults, then the
// network service, then ARM's response headers (request and correlation IDs). Reads the body first; from
// then on a request is handled synchronously, so check-and-commit cannot interleave with another request.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ArmError,
  armError,
  authorizationMissing,
  invalidApiVersion,
  invalidAuthenticationToken,
  invalidRequestContent,
  isArmError,
  methodNotAllowed,
  missingApiVersion,
  notModelled,
} from './arm-errors.ts';
import { type ArmRoute, routeArmPath } from './arm-ids.ts';
import type { CallCounters } from './counters.ts';
import type { Faults } from './faults.ts';
import { headerValue, readBody, sendArmError, sendJson } from './http.ts';
import { type JsonValue, parseJson } from './json.ts';
import type { NetworkService, Preconditions, ServiceResponse } from './network-service.ts';
import type { Settings } from './settings.ts';

export interface ArmHandlerDeps {
  service: NetworkService;
  faults: Faults;
  counters: CallCounters;
  settings: () => Settings;
  accessToken: string;
  endpoint: () => string;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** Resource type of a route, as counters and fault rules name it. */
function routeResourceType(route: ArmRoute): string {
  switch (route.kind) {
    case 'resource':
      return route.child ? `${route.type}/${route.child.type}` : route.type;
    case 'list':
      return route.type;
    case 'listChildren':
      return `${route.type}/${route.childType}`;
    case 'operation':
      return route.flavor === 'status' ? 'operations' : 'operationResults';
    default:
      return 'unknown';
  }
}

export async function handleArm(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ArmHandlerDeps,
): Promise<void> {
  const requestId = randomUUID();
  const clientRequestId = headerValue(req, 'x-ms-client-request-id');
  const headers: Record<string, string> = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': headerValue(req, 'x-ms-correlation-request-id') ?? requestId,
    'Cache-Control': 'no-cache',
    ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}),
  };
  const url = new URL(req.url ?? '/', 'https://simulator.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const route = routeArmPath(url.pathname);
  const resourceType = routeResourceType(route);
  const respond = (
    result: ServiceResponse | ArmError,
    kind: 'ok' | 'throttled' | 'faulted' | 'unauthenticated' = 'ok',
  ) => {
    deps.counters.outcome(
      { at: Date.now(), method, resourceType, path: url.pathname, status: result.status, requestId },
      kind,
    );
    if (isArmError(result)) sendArmError(res, result, headers);
    else sendJson(res, result.status, result.body, { ...headers, ...(result.headers ?? {}) });
  };

  const bodyText = await readBody(req);
  if (isArmError(bodyText)) return respond(bodyText);
  const { latencyMs } = deps.settings();
  if (latencyMs > 0) await sleep(latencyMs);

  const authorization = headerValue(req, 'authorization');
  if (!authorization) return respond(authorizationMissing(), 'unauthenticated');
  const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
  if (!token)
    return respond(
      invalidAuthenticationToken('the Authorization header must be "Bearer <token>"'),
      'unauthenticated',
    );
  if (token !== deps.accessToken)
    return respond(
      invalidAuthenticationToken('the token was not issued for this simulator'),
      'unauthenticated',
    );

  deps.counters.record(method, resourceType);
  const apiVersion = url.searchParams.get('api-version');
  if (apiVersion === null || apiVersion === '') return respond(missingApiVersion());
  if (!API_VERSION.test(apiVersion)) return respond(invalidApiVersion(apiVersion));

  const now = Date.now();
  deps.service.settle(now);
  const subscriptionId = 'subscriptionId' in route ? route.subscriptionId : '';
  const call = { subscriptionId, method, resourceType };
  const throttle = deps.faults.throttle(call, now);
  if (throttle.header) headers[throttle.header[0]] = throttle.header[1];
  if (throttle.error) return respond(throttle.error, 'throttled');
  const before = deps.faults.pick(call, 'before');
  if (before) return respond(before, before.status === 429 ? 'throttled' : 'faulted');

  const result = dispatch(route, method, bodyText, url, apiVersion, req, deps);
  const succeeded = !isArmError(result) && result.status < 300;
  const after = succeeded ? deps.faults.pick(call, 'after') : undefined;
  if (after) return respond(after, 'faulted');
  return respond(result);
}

function dispatch(
  route: ArmRoute,
  method: string,
  bodyText: string,
  url: URL,
  apiVersion: string,
  req: IncomingMessage,
  deps: ArmHandlerDeps,
): ServiceResponse | ArmError {
  const { service } = deps;
  switch (route.kind) {
    case 'notFound':
      return armError(404, 'NotFound', `The path ${url.pathname} is not an Azure Resource Manager path.`);
    case 'notModelled':
      return notModelled(route.what);
    case 'operation':
      if (method !== 'GET') return methodNotAllowed(method);
      return service.operationStatus(route.subscriptionId, route.operationId, route.flavor, apiVersion);
    case 'list': {
      if (method !== 'GET') return methodNotAllowed(method);
      const items = service.list(route.subscriptionId, route.type, route.resourceGroup);
      return isArmError(items) ? items : page(items, url, apiVersion, deps);
    }
    case 'listChildren': {
      if (method !== 'GET') return methodNotAllowed(method);
      const { subscriptionId, resourceGroup, type, name, childType } = route;
      const items = service.listChildren({ subscriptionId, resourceGroup, type, name }, childType);
      return isArmError(items) ? items : page(items, url, apiVersion, deps);
    }
    case 'resource': {
      const { kind: _kind, ...address } = route;
      const conditions: Preconditions = {};
      const ifMatch = headerValue(req, 'if-match');
      const ifNoneMatch = headerValue(req, 'if-none-match');
      if (ifMatch !== undefined) conditions.ifMatch = ifMatch;
      if (ifNoneMatch !== undefined) conditions.ifNoneMatch = ifNoneMatch;
      switch (method) {
        case 'GET':
          return service.get(address);
        case 'PUT':
        case 'PATCH': {
          if (bodyText.trim() === '') return invalidRequestContent('the request has no body');
          const body: JsonValue | undefined = parseJson(bodyText);
          if (body === undefined) return invalidRequestContent('the body is not valid JSON');
          return method === 'PUT'
            ? service.put(address, body, conditions, apiVersion)
            : service.patch(address, body, conditions, apiVersion);
        }
        case 'DELETE':
          return service.delete(address, conditions, apiVersion);
        default:
          return methodNotAllowed(method);
      }
    }
  }
}

/** One page of a list, with nextLink ($skipToken = offset) when more remain, as ARM pages lists. */
function page(items: JsonValue[], url: URL, apiVersion: string, deps: ArmHandlerDeps): ServiceResponse {
  const size = deps.settings().listPageSize;
  const offset = Number(url.searchParams.get('$skipToken') ?? '0');
  const start = Number.isInteger(offset) && offset > 0 ? offset : 0;
  const body: { value: JsonValue[]; nextLink?: string } = { value: items.slice(start, start + size) };
  if (start + size < items.length) {
    const next = new URL(url.pathname, deps.endpoint());
    next.searchParams.set('api-version', apiVersion);
    next.searchParams.set('$skipToken', String(start + size));
    body.nextLink = next.toString();
  }
  return { status: 200, body };
}
