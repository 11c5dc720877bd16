// Pure: Kubernetes objects (as the caches hold them) → the facts the election needs. Anything malformed
// becomes a problem and a cautious reading (an advertisement with a bad field applies to nothing), never
// a throw.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { isManaged, type Selection } from '../controller/service-state.ts';
import { type LabelSelector, validateSelector } from '../kube/label-selector.ts';
import { type AddressRange, contains, type Family, parsePoolEntry } from '../providers/pool/address-range.ts';
import { INTERFACE_NAME } from './interfaces.ts';

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface NodeFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
  ready: boolean;
  networkUnavailable: boolean;
  excluded: boolean;
}

export interface PoolFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
  ranges: AddressRange[];
}

export interface AdvertisementFacts {
  name: string;
  /** Pools by name; with `poolSelectors` both empty, every pool. */
  pools: string[];
  /** `undefined` entries were invalid: they match nothing. */
  poolSelectors: Array<LabelSelector | undefined>;
  /** Empty: every node. */
  nodeSelectors: Array<LabelSelector | undefined>;
  /** Empty: the interfaces whose subnet contains the address. */
  interfaces: string[];
}

export interface EndpointNodes {
  /** Nodes with an endpoint that is ready. */
  ready: ReadonlySet<string>;
  /** Nodes with an endpoint that is terminating but still serving (used when no endpoint is ready). */
  serving: ReadonlySet<string>;
}

export interface ServiceFacts {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  name: string;
  uid: string;
  /** The addresses published in status.loadBalancer.ingress, in order. */
  addresses: string[];
  trafficPolicy: 'Cluster' | 'Local';
}

export function nodeFacts(node: V1Node): NodeFacts {
  const conditions = node.status?.conditions ?? [];
  const labels = node.metadata?.labels ?? {};
  return {
    name: node.metadata?.name ?? '',
    labels,
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    networkUnavailable: conditions.some((c) => c.type === 'NetworkUnavailable' && c.status === 'True'),
    excluded: Object.hasOwn(labels, EXCLUDE_LABEL),
  };
}

/** An AddressPool's name, labels and ranges; entries that do not parse are left out (the controller reports them). */
export function poolFacts(pool: {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: unknown;
}): PoolFacts {
  const spec = pool.spec;
  const entries =
    typeof spec === 'object' && spec !== null && Array.isArray((spec as { addresses?: unknown }).addresses)
      ? ((spec as { addresses: unknown[] }).addresses.filter((a) => typeof a === 'string') as string[])
      : [];
  const ranges: AddressRange[] = [];
  for (const entry of entries) {
    const parsed = parsePoolEntry(entry);
    if (!('error' in parsed)) ranges.push(parsed);
  }
  return { name: pool.metadata?.name ?? '', labels: pool.metadata?.labels ?? {}, ranges };
}

/** Whether some AddressPool contains the address (announcements are only ever made for those). */
export function inSomePool(pools: readonly PoolFacts[], family: Family, value: bigint): boolean {
  return pools.some((p) => p.ranges.some((r) => contains(r, family, value)));
}

/**
 * An L2Advertisement's spec, validated. With any problem the advertisement applies to no node at all: a
 * typo must never widen where addresses are announced.
 */
export function advertisementFacts(ad: { metadata?: { name?: string }; spec?: unknown }): {
  facts: AdvertisementFacts;
  problems: string[];
} {
  const name = ad.metadata?.name ?? '';
  const problems: string[] = [];
  const spec = ad.spec ?? {};
  const facts: AdvertisementFacts = { name, pools: [], poolSelectors: [], nodeSelectors: [], interfaces: [] };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    problems.push('spec must be an object');
  } else {
    const s = spec as Record<string, unknown>;
    facts.pools = stringList(s.addressPools, 'spec.addressPools', problems);
    facts.interfaces = stringList(s.interfaces, 'spec.interfaces', problems);
    for (const [index, value] of facts.interfaces.entries()) {
      if (!INTERFACE_NAME.test(value) || value === '.' || value === '..') {
        problems.push(`spec.interfaces[${index}]: "${value}" is not a Linux interface name`);
      }
    }
    facts.poolSelectors = selectorList(s.addressPoolSelectors, 'spec.addressPoolSelectors', problems);
    facts.nodeSelectors = selectorList(s.nodeSelectors, 'spec.nodeSelectors', problems);
  }
  if (problems.length > 0) {
    // Applies to nothing: one selector that matches no node.
    return {
      facts: { name, pools: [], poolSelectors: [], nodeSelectors: [undefined], interfaces: [] },
      problems: problems.map((p) => `L2Advertisement ${name}: ${p}; it announces nothing until fixed`),
    };
  }
  return { facts, problems };
}

function stringList(value: unknown, field: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    problems.push(`${field} must be a list of strings`);
    return [];
  }
  return [...new Set(value as string[])];
}

function selectorList(value: unknown, field: string, problems: string[]): Array<LabelSelector | undefined> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field} must be a list of label selectors`);
    return [];
  }
  return value.map((item, index) => {
    const result = validateSelector(item, `${field}[${index}]`);
    problems.push(...result.problems);
    return result.selector;
  });
}

/** A Service the speaker may have to announce: LoadBalancer, of our class, with published addresses. */
export function serviceFacts(service: V1Service, selection: Selection): ServiceFacts | undefined {
  if (!isManaged(service, selection)) return undefined;
  const addresses = (service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  if (addresses.length === 0) return undefined;
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    uid: service.metadata?.uid ?? '',
    addresses: [...new Set(addresses)],
    trafficPolicy: service.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
  };
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * Which nodes run endpoints of each Service, from its EndpointSlices (label kubernetes.io/service-name).
 * An endpoint counts as ready when `ready` is true, or unset and `serving` is not false (the API says an
 * unset condition means true); a terminating endpoint that still serves is kept apart as a fallback.
 */
export function endpointNodesByService(slices: Iterable<V1EndpointSlice>): Map<string, EndpointNodes> {
  const out = new Map<string, { ready: Set<string>; serving: Set<string> }>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!service) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${service}`;
    let entry = out.get(key);
    for (const endpoint of slice.endpoints ?? []) {
      const node = endpoint.nodeName;
      if (!node) continue;
      entry ??= { ready: new Set(), serving: new Set() };
      out.set(key, entry);
      const c = endpoint.conditions ?? {};
      const ready = (c.ready ?? c.serving ?? true) === true;
      if (ready) entry.ready.add(node);
      else if (c.serving === true && c.terminating === true) entry.serving.add(node);
    }
  }
  return out;
}
