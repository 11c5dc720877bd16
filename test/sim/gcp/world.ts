// What the resource modules share: the store, the operations in flight, quotas, address pools; and the
// rules that cut across resources (references, who uses what, quota counting, IP allocation).
import { inUseBy, notFound, quotaExceeded, reject } from './errors.ts';
import { firstFree, type Ipv4Range, parseIpv4Cidr } from './ip.ts';
import type { Json } from './json.ts';
import { type Collection, pathOfLink, type ResourceRef, resourcePath } from './links.ts';
import type { OperationEngine } from './operations.ts';
import { isRegionalMetric, type QuotaMetric, type Quotas } from './quotas.ts';
import type { IdSource, ResourceStore, StoredResource } from './store.ts';
import type { Topology } from './topology.ts';

/** A check runs twice: when the call arrives (nothing changes) and when its operation is DONE (it applies). */
export type Phase = 'request' | 'commit';

/** One mutating call, before it becomes an operation. */
export interface Change {
  operationType: string;
  target: ResourceRef;
  targetId: string;
  isInsert: boolean;
  quota?: { metric: QuotaMetric; region?: string };
  /** Validates against the committed state (throws Rejection); in the commit phase also applies. */
  run(phase: Phase): void;
}

export interface World {
  readonly store: ResourceStore;
  readonly topology: Topology;
  readonly operations: OperationEngine;
  readonly ids: IdSource;
  readonly quotas: Quotas;
  /** Where quota errors show: as the HTTP answer (Compute's usual way) or in the failed operation. */
  readonly quotaErrorsIn: 'request' | 'operation';
  readonly externalRanges: readonly Ipv4Range[];
  /** RFC 3339 time for creationTimestamp. */
  now(): string;
}

export function requireResource(world: World, ref: ResourceRef): StoredResource {
  const resource = world.store.getRef(ref);
  if (!resource) reject(notFound(resourcePath(ref)));
  return resource;
}

function linkPaths(value: unknown): string[] {
  if (typeof value === 'string') return [pathOfLink(value)];
  if (Array.isArray(value)) return value.flatMap(linkPaths);
  return [];
}

/** Paths of the resources `resource` refers to (what would block their deletion). */
export function referencesOf(resource: StoredResource): string[] {
  const body = resource.body;
  switch (resource.ref.collection) {
    case 'backendServices': {
      const backends = Array.isArray(body.backends) ? (body.backends as Json[]) : [];
      return [
        ...linkPaths(body.healthChecks),
        ...backends.flatMap((backend) => linkPaths(backend.group)),
        ...linkPaths(body.network),
      ];
    }
    case 'forwardingRules':
      return [
        ...linkPaths(body.backendService),
        ...linkPaths(body.subnetwork),
        ...linkPaths(body.network),
        ...(resource.addressPath ? [resource.addressPath] : []),
      ];
    case 'firewalls':
    case 'subnetworks':
      return linkPaths(body.network);
    case 'addresses':
    case 'instanceGroups':
      return [...linkPaths(body.subnetwork), ...linkPaths(body.network)];
    case 'instances': {
      const nics = Array.isArray(body.networkInterfaces) ? (body.networkInterfaces as Json[]) : [];
      return nics.flatMap((nic) => [...linkPaths(nic.network), ...linkPaths(nic.subnetwork)]);
    }
    default:
      return [];
  }
}

/** Committed resources that refer to `path`. */
export function usersOf(world: World, path: string): StoredResource[] {
  return world.store
    .all()
    .filter((resource) => resource.path !== path && referencesOf(resource).includes(path));
}

/** Fails when `path` is referenced by another resource. `label` is Compute's name for the type. */
export function checkNotInUse(
  world: World,
  path: string,
  label: string,
  collections: readonly Collection[],
): void {
  const user = usersOf(world, path).find((resource) => collections.includes(resource.ref.collection));
  if (user) reject(inUseBy(label, path, user.path));
}

function quotaUsage(world: World, project: string, metric: QuotaMetric, region?: string): number {
  const inRegion = (resource: StoredResource): boolean => {
    if (!region) return true;
    const scope = resource.ref.scope;
    if (scope.kind === 'region') return scope.name === region;
    if (scope.kind === 'zone') return world.topology.regionOfZone(scope.name) === region;
    return false;
  };
  const count = (collection: Collection, where: (resource: StoredResource) => boolean = () => true): number =>
    world.store.list(project, collection).filter((resource) => inRegion(resource) && where(resource)).length;
  switch (metric) {
    case 'FORWARDING_RULES':
      return count('forwardingRules');
    case 'BACKEND_SERVICES':
      return count('backendServices');
    case 'HEALTH_CHECKS':
      return count('healthChecks');
    case 'STATIC_ADDRESSES':
      return count('addresses', (resource) => resource.body.addressType !== 'INTERNAL');
    case 'INTERNAL_ADDRESSES':
      return count('addresses', (resource) => resource.body.addressType === 'INTERNAL');
    case 'INSTANCE_GROUPS':
      return count('instanceGroups');
    case 'FIREWALLS':
      return count('firewalls');
  }
}

/**
 * One more resource counting against `metric`: would it exceed the limit? At request time the
 * inserts still in flight count too (Compute reserves quota when it accepts a call).
 */
export function checkQuota(
  world: World,
  project: string,
  metric: QuotaMetric,
  region: string | undefined,
  phase: Phase,
): void {
  if (phase === 'request' && world.quotaErrorsIn === 'operation') return;
  const scopedRegion = isRegionalMetric(metric) ? region : undefined;
  const limit = world.quotas.limit(metric, scopedRegion);
  let used = quotaUsage(world, project, metric, scopedRegion);
  if (phase === 'request') used += world.operations.pendingInserts(project, metric, scopedRegion);
  if (used + 1 > limit) {
    reject(quotaExceeded(scopedRegion ? { metric, limit, region: scopedRegion } : { metric, limit }));
  }
}

/** Every external IP in use anywhere (external addresses are unique across projects). */
export function externalIpsInUse(world: World): Map<string, StoredResource[]> {
  const used = new Map<string, StoredResource[]>();
  const add = (ip: unknown, resource: StoredResource): void => {
    if (typeof ip !== 'string' || ip === '') return;
    used.set(ip, [...(used.get(ip) ?? []), resource]);
  };
  for (const resource of world.store.all()) {
    if (resource.ref.collection === 'addresses' && resource.body.addressType !== 'INTERNAL') {
      add(resource.body.address, resource);
    }
    if (resource.ref.collection === 'forwardingRules' && resource.body.loadBalancingScheme === 'EXTERNAL') {
      add(resource.body.IPAddress, resource);
    }
  }
  return used;
}

/** Every internal IP in use in one subnetwork: instances, internal addresses, internal forwarding rules. */
export function internalIpsInUse(world: World, subnetworkPath: string): Map<string, StoredResource[]> {
  const used = new Map<string, StoredResource[]>();
  const add = (ip: unknown, subnetwork: unknown, resource: StoredResource): void => {
    if (typeof ip !== 'string' || ip === '' || typeof subnetwork !== 'string') return;
    if (pathOfLink(subnetwork) !== subnetworkPath) return;
    used.set(ip, [...(used.get(ip) ?? []), resource]);
  };
  for (const resource of world.store.all()) {
    const body = resource.body;
    if (resource.ref.collection === 'instances' && Array.isArray(body.networkInterfaces)) {
      for (const nic of body.networkInterfaces as Json[]) add(nic.networkIP, nic.subnetwork, resource);
    }
    if (resource.ref.collection === 'addresses' && body.addressType === 'INTERNAL') {
      add(body.address, body.subnetwork, resource);
    }
    if (resource.ref.collection === 'forwardingRules' && body.loadBalancingScheme === 'INTERNAL') {
      add(body.IPAddress, body.subnetwork, resource);
    }
  }
  return used;
}

export function allocateExternalIp(world: World): string | undefined {
  const used = new Set(externalIpsInUse(world).keys());
  for (const range of world.externalRanges) {
    const ip = firstFree(range, used, 1, 1);
    if (ip) return ip;
  }
  return undefined;
}

/** Compute keeps a subnet's network and gateway addresses and its last two. */
export function allocateInternalIp(world: World, subnetwork: StoredResource): string | undefined {
  const range = parseIpv4Cidr(String(subnetwork.body.ipCidrRange));
  if (!range) return undefined;
  return firstFree(range, new Set(internalIpsInUse(world, subnetwork.path).keys()), 2, 2);
}
