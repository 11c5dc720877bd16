// Regional health checks (regionHealthChecks): insert, get, list, patch, update, delete.
import { invalidField, reject, requiredField } from '../errors.ts';
import type { Json } from '../json.ts';
import { type ResourceRef, regionScope, resourcePath, scopeLink, selfLink } from '../links.ts';
import { checkName, checkPort, optionalEnum, optionalInteger, optionalObject } from '../validate.ts';
import { type Change, checkQuota, requireResource, type World } from '../world.ts';
import {
  checkUnchangedName,
  deleteChange,
  type Identity,
  identityOf,
  requireBody,
  type UpdateMode,
  updatedBody,
} from './common.ts';

const TYPES = ['HTTP', 'HTTPS', 'HTTP2', 'TCP', 'SSL', 'GRPC'] as const;
type HealthCheckType = (typeof TYPES)[number];

const DETAIL_KEY: Record<HealthCheckType, string> = {
  HTTP: 'httpHealthCheck',
  HTTPS: 'httpsHealthCheck',
  HTTP2: 'http2HealthCheck',
  TCP: 'tcpHealthCheck',
  SSL: 'sslHealthCheck',
  GRPC: 'grpcHealthCheck',
};

const SERVER_FIELDS = ['kind', 'id', 'creationTimestamp', 'selfLink', 'region'];

export function healthCheckRef(project: string, region: string, name: string): ResourceRef {
  return { project, scope: regionScope(region), collection: 'healthChecks', name };
}

function normalizeDetail(type: HealthCheckType, detail: Json, field: string): Json {
  const result = structuredClone(detail);
  const portSpecification =
    optionalEnum(detail, 'portSpecification', `${field}.portSpecification`, [
      'USE_FIXED_PORT',
      'USE_NAMED_PORT',
      'USE_SERVING_PORT',
    ] as const) ?? 'USE_FIXED_PORT';
  result.portSpecification = portSpecification;
  if (portSpecification === 'USE_FIXED_PORT') {
    result.port = checkPort(detail.port ?? (type === 'HTTPS' || type === 'SSL' ? 443 : 80), `${field}.port`);
  } else if (detail.port !== undefined) {
    reject(
      invalidField(
        `${field}.port`,
        detail.port,
        `A port is only given with portSpecification USE_FIXED_PORT.`,
      ),
    );
  }
  if (portSpecification === 'USE_NAMED_PORT' && typeof detail.portName !== 'string') {
    reject(requiredField(`${field}.portName`));
  }
  if (type !== 'GRPC') {
    result.proxyHeader =
      optionalEnum(detail, 'proxyHeader', `${field}.proxyHeader`, ['NONE', 'PROXY_V1'] as const) ?? 'NONE';
  }
  if (type === 'HTTP' || type === 'HTTPS' || type === 'HTTP2') {
    const path = detail.requestPath ?? '/';
    if (typeof path !== 'string' || !path.startsWith('/')) {
      reject(invalidField(`${field}.requestPath`, path, "The request path must start with '/'."));
    }
    result.requestPath = path;
  }
  return result;
}

/** Validates a whole health check and fills Compute's defaults. */
function normalize(input: Json, ref: ResourceRef, identity: Identity): Json {
  const body = structuredClone(input);
  for (const key of SERVER_FIELDS) delete body[key];
  checkName(body.name, 'resource.name');
  const type = optionalEnum(body, 'type', 'resource.type', TYPES);
  if (!type) reject(requiredField('resource.type'));
  for (const [otherType, key] of Object.entries(DETAIL_KEY)) {
    if (otherType !== type && body[key] !== undefined) {
      reject(
        invalidField(
          `resource.${key}`,
          key,
          `The health check type is ${type}; ${key} does not belong to it.`,
        ),
      );
    }
  }
  const key = DETAIL_KEY[type];
  body[key] = normalizeDetail(type, optionalObject(body, key, `resource.${key}`) ?? {}, `resource.${key}`);
  const interval = optionalInteger(body, 'checkIntervalSec', 'resource.checkIntervalSec', 1, 300) ?? 5;
  const timeout = optionalInteger(body, 'timeoutSec', 'resource.timeoutSec', 1, 300) ?? 5;
  if (timeout > interval) {
    reject(
      invalidField(
        'resource.timeoutSec',
        timeout,
        'timeoutSec must be less than or equal to checkIntervalSec.',
      ),
    );
  }
  body.checkIntervalSec = interval;
  body.timeoutSec = timeout;
  body.healthyThreshold = optionalInteger(body, 'healthyThreshold', 'resource.healthyThreshold', 1, 10) ?? 2;
  body.unhealthyThreshold =
    optionalInteger(body, 'unhealthyThreshold', 'resource.unhealthyThreshold', 1, 10) ?? 2;
  return {
    kind: 'compute#healthCheck',
    id: identity.id,
    creationTimestamp: identity.creationTimestamp,
    ...body,
    selfLink: selfLink(ref),
    region: scopeLink(ref.project, ref.scope),
  };
}

export function insertHealthCheck(world: World, project: string, region: string, input: unknown): Change {
  const body = requireBody(input);
  const ref = healthCheckRef(project, region, checkName(body.name, 'resource.name'));
  const identity: Identity = { id: world.ids.take(), creationTimestamp: world.now() };
  return {
    operationType: 'insert',
    target: ref,
    targetId: identity.id,
    isInsert: true,
    quota: { metric: 'HEALTH_CHECKS', region },
    run(phase) {
      const normalized = normalize(body, ref, identity);
      checkQuota(world, project, 'HEALTH_CHECKS', region, phase);
      if (phase === 'commit') world.store.put({ ref, path: resourcePath(ref), body: normalized });
    },
  };
}

export function updateHealthCheck(world: World, ref: ResourceRef, input: unknown, mode: UpdateMode): Change {
  const patch = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: mode,
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const resource = requireResource(world, ref);
      const base = structuredClone(resource.body);
      // A PATCH that changes the type drops the details of the old type instead of failing on them.
      if (mode === 'patch' && typeof patch.type === 'string' && patch.type !== base.type) {
        for (const key of Object.values(DETAIL_KEY)) if (patch[key] === undefined) delete base[key];
      }
      const merged = updatedBody(base, patch, mode);
      checkUnchangedName(merged, ref);
      const normalized = normalize(merged, ref, identityOf(resource));
      if (phase === 'commit') resource.body = normalized;
    },
  };
}

export function deleteHealthCheck(world: World, ref: ResourceRef): Change {
  return deleteChange(world, ref, 'health_check', ['backendServices']);
}
