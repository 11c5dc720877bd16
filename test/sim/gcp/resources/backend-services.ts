// Regional backend services for passthrough load balancing (schemes EXTERNAL and INTERNAL):
// insert, get, list, patch, update (fingerprint checked), delete.
import { conditionNotMet, invalidField, notFound, notSimulated, reject, requiredField } from '../errors.ts';
import { fingerprintOf } from '../fingerprint.ts';
import type { Json } from '../json.ts';
import { type ResourceRef, regionScope, resourcePath, scopeLink, selfLink } from '../links.ts';
import type { StoredResource } from '../store.ts';
import {
  checkName,
  checkReference,
  optionalEnum,
  optionalInteger,
  optionalObjectArray,
  optionalString,
  optionalStringArray,
} from '../validate.ts';
import { type Change, checkQuota, requireResource, usersOf, type World } from '../world.ts';
import {
  checkUnchangedName,
  deleteChange,
  type Identity,
  identityOf,
  requireBody,
  type UpdateMode,
  updatedBody,
} from './common.ts';

const SCHEMES = ['EXTERNAL', 'INTERNAL'] as const;
const PROTOCOLS = ['TCP', 'UDP', 'UNSPECIFIED'] as const;
const AFFINITIES = [
  'NONE',
  'CLIENT_IP',
  'CLIENT_IP_PROTO',
  'CLIENT_IP_PORT_PROTO',
  'CLIENT_IP_NO_DESTINATION',
] as const;
/** Compute's limit on backends of one backend service. */
const MAX_BACKENDS = 50;

const SERVER_FIELDS = ['kind', 'id', 'creationTimestamp', 'selfLink', 'region', 'fingerprint'];

export function backendServiceRef(project: string, region: string, name: string): ResourceRef {
  return { project, scope: regionScope(region), collection: 'backendServices', name };
}

/** The forwarding-rule IPProtocol a backend service protocol goes with. */
export function forwardingProtocolFor(backendProtocol: string): string {
  return backendProtocol === 'UNSPECIFIED' ? 'L3_DEFAULT' : backendProtocol;
}

/** Instance groups that are backends of some backend service other than `except`. */
function loadBalancedGroups(world: World, except: string): Set<string> {
  const groups = new Set<string>();
  for (const service of world.store.all()) {
    if (service.ref.collection !== 'backendServices' || service.path === except) continue;
    for (const backend of (service.body.backends as Json[] | undefined) ?? [])
      groups.add(String(backend.group));
  }
  return groups;
}

/**
 * Compute lets a VM belong to at most one load-balanced instance group. `groups` are the groups
 * that will be load-balanced; every one of their members must be in none of the others.
 */
export function checkOneLoadBalancedGroupPerInstance(
  world: World,
  groups: readonly StoredResource[],
  otherLoadBalanced: ReadonlySet<string>,
  extraMembers: ReadonlyMap<string, readonly string[]> = new Map(),
): void {
  const lbGroups = [...groups.map((group) => String(group.body.selfLink)), ...otherLoadBalanced];
  for (const group of groups) {
    const members = [...(group.members ?? []), ...(extraMembers.get(String(group.body.selfLink)) ?? [])];
    for (const member of members) {
      const other = lbGroups.find((link) => {
        if (link === group.body.selfLink) return false;
        const otherGroup = world.store.getLink(link);
        return (
          (otherGroup?.members ?? []).includes(member) || (extraMembers.get(link) ?? []).includes(member)
        );
      });
      if (other) {
        reject(
          invalidField(
            'resource.backends',
            member,
            `Validation failed for instance '${member}': instance may belong to at most one load-balanced instance group (also in '${other}').`,
          ),
        );
      }
    }
  }
}

function normalize(world: World, input: Json, ref: ResourceRef, identity: Identity): Json {
  const region = ref.scope.kind === 'region' ? ref.scope.name : '';
  const body = structuredClone(input);
  for (const key of SERVER_FIELDS) delete body[key];
  checkName(body.name, 'resource.name');
  const scheme = optionalString(body, 'loadBalancingScheme', 'resource.loadBalancingScheme') ?? 'EXTERNAL';
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    reject(
      notSimulated(`loadBalancingScheme ${scheme} (only passthrough load balancing: EXTERNAL, INTERNAL)`),
    );
  }
  body.loadBalancingScheme = scheme;
  // Compute's default protocol is HTTP, which a passthrough backend service cannot have.
  const protocol = optionalString(body, 'protocol', 'resource.protocol') ?? 'HTTP';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    reject(
      invalidField(
        'resource.protocol',
        protocol,
        `Protocol ${protocol} is not supported for load balancing scheme ${scheme}; use TCP, UDP or UNSPECIFIED.`,
      ),
    );
  }
  body.protocol = protocol;

  const healthChecks = optionalStringArray(body, 'healthChecks', 'resource.healthChecks') ?? [];
  if (healthChecks.length === 0) reject(requiredField('resource.healthChecks'));
  if (healthChecks.length > 1) {
    reject(
      invalidField(
        'resource.healthChecks',
        healthChecks.join(','),
        `A backend service with scheme ${scheme} takes exactly one health check.`,
      ),
    );
  }
  body.healthChecks = healthChecks.map((link, index) => {
    const field = `resource.healthChecks[${index}]`;
    const hcRef = checkReference(link, field, ref.project, 'healthChecks');
    if (hcRef.scope.kind === 'region' && hcRef.scope.name !== region) {
      reject(
        invalidField(
          field,
          link,
          `The health check must be in region ${region}, the region of the backend service.`,
        ),
      );
    }
    const healthCheck = world.store.getRef(hcRef);
    if (!healthCheck) reject(notFound(resourcePath(hcRef)));
    return healthCheck.body.selfLink;
  });

  const backends = optionalObjectArray(body, 'backends', 'resource.backends') ?? [];
  if (backends.length > MAX_BACKENDS) {
    reject(
      invalidField(
        'resource.backends',
        backends.length,
        `A backend service has at most ${MAX_BACKENDS} backends.`,
      ),
    );
  }
  const groups: StoredResource[] = [];
  body.backends = backends.map((backend, index) => {
    const field = `resource.backends[${index}]`;
    const groupRef = checkReference(backend.group, `${field}.group`, ref.project, 'instanceGroups');
    if (groupRef.scope.kind !== 'zone') {
      reject(
        invalidField(`${field}.group`, backend.group, 'A passthrough backend is a zonal instance group.'),
      );
    }
    if (world.topology.regionOfZone(groupRef.scope.name) !== region) {
      reject(
        invalidField(
          `${field}.group`,
          backend.group,
          `The instance group must be in a zone of region ${region}.`,
        ),
      );
    }
    const group = world.store.getRef(groupRef);
    if (!group) reject(notFound(resourcePath(groupRef)));
    if (groups.some((other) => other.path === group.path)) {
      reject(invalidField(`${field}.group`, backend.group, 'The instance group is a backend twice.'));
    }
    groups.push(group);
    const mode =
      optionalEnum(
        backend,
        'balancingMode',
        `${field}.balancingMode`,
        ['CONNECTION'] as const,
        'Passthrough load balancing supports only balancingMode CONNECTION.',
      ) ?? 'CONNECTION';
    return { ...backend, group: group.body.selfLink, balancingMode: mode };
  });
  checkOneLoadBalancedGroupPerInstance(world, groups, loadBalancedGroups(world, resourcePath(ref)));

  const affinity = optionalEnum(body, 'sessionAffinity', 'resource.sessionAffinity', AFFINITIES) ?? 'NONE';
  if (affinity === 'CLIENT_IP_NO_DESTINATION' && scheme !== 'INTERNAL') {
    reject(
      invalidField(
        'resource.sessionAffinity',
        affinity,
        'CLIENT_IP_NO_DESTINATION is only for scheme INTERNAL.',
      ),
    );
  }
  body.sessionAffinity = affinity;
  if (body.network !== undefined) {
    const networkRef = checkReference(body.network, 'resource.network', ref.project, 'networks');
    const network = world.store.getRef(networkRef);
    if (!network) reject(notFound(resourcePath(networkRef)));
    body.network = network.body.selfLink;
  }
  body.timeoutSec = optionalInteger(body, 'timeoutSec', 'resource.timeoutSec', 1, 2147483647) ?? 30;
  if (body.connectionDraining === undefined) body.connectionDraining = { drainingTimeoutSec: 0 };

  const result: Json = {
    kind: 'compute#backendService',
    id: identity.id,
    creationTimestamp: identity.creationTimestamp,
    ...body,
    selfLink: selfLink(ref),
    region: scopeLink(ref.project, ref.scope),
  };
  result.fingerprint = fingerprintOf(result);
  return result;
}

/** Forwarding rules that use the service must still fit it (same scheme, matching protocol). */
function checkUsersStillFit(world: World, service: Json, path: string): void {
  for (const rule of usersOf(world, path)) {
    if (rule.ref.collection !== 'forwardingRules') continue;
    if (rule.body.loadBalancingScheme !== service.loadBalancingScheme) {
      reject(
        invalidField(
          'resource.loadBalancingScheme',
          service.loadBalancingScheme,
          `Forwarding rule '${rule.path}' uses this backend service with scheme ${String(rule.body.loadBalancingScheme)}.`,
        ),
      );
    }
    if (rule.body.IPProtocol !== forwardingProtocolFor(String(service.protocol))) {
      reject(
        invalidField(
          'resource.protocol',
          service.protocol,
          `Forwarding rule '${rule.path}' uses this backend service with IPProtocol ${String(rule.body.IPProtocol)}.`,
        ),
      );
    }
  }
}

export function insertBackendService(world: World, project: string, region: string, input: unknown): Change {
  const body = requireBody(input);
  const ref = backendServiceRef(project, region, checkName(body.name, 'resource.name'));
  const identity: Identity = { id: world.ids.take(), creationTimestamp: world.now() };
  return {
    operationType: 'insert',
    target: ref,
    targetId: identity.id,
    isInsert: true,
    quota: { metric: 'BACKEND_SERVICES', region },
    run(phase) {
      const normalized = normalize(world, body, ref, identity);
      checkQuota(world, project, 'BACKEND_SERVICES', region, phase);
      if (phase === 'commit') world.store.put({ ref, path: resourcePath(ref), body: normalized });
    },
  };
}

/**
 * PUT must carry the current fingerprint ("An up-to-date fingerprint must be provided in order to
 * update the BackendService"); PATCH may leave it out, but a stale one fails either way.
 */
export function updateBackendService(
  world: World,
  ref: ResourceRef,
  input: unknown,
  mode: UpdateMode,
): Change {
  const patch = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: mode,
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const resource = requireResource(world, ref);
      const given = patch.fingerprint;
      if ((mode === 'update' || given !== undefined) && given !== resource.body.fingerprint) {
        reject(conditionNotMet('Invalid fingerprint.'));
      }
      const merged = updatedBody(resource.body, patch, mode);
      checkUnchangedName(merged, ref);
      const normalized = normalize(world, merged, ref, identityOf(resource));
      checkUsersStillFit(world, normalized, resource.path);
      if (phase === 'commit') resource.body = normalized;
    },
  };
}

export function deleteBackendService(world: World, ref: ResourceRef): Change {
  return deleteChange(world, ref, 'backend_service', ['forwardingRules']);
}
