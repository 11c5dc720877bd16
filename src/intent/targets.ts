// Pure: Nodes and EndpointSlices → the targets a cloud load balancer sends traffic to.
import type { V1EndpointSlice, V1Node } from '@kubernetes/client-node';
import type { EndpointTarget, IPFamily, Protocol, TargetNode } from './types.ts';

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
/** The cluster autoscaler's taint on a node it is about to remove. */
const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/**
 * Upstream's stable node set (KEP-3458): every node not being deleted, not excluded by label (any value
 * but "false"; an unparsable value excludes, as upstream), not tainted for removal. NotReady nodes stay:
 * the load balancer's health check takes them out, and re-registering on every flap costs more.
 */
export function targetNodes(nodes: ReadonlyArray<V1Node>): TargetNode[] {
  return nodes
    .filter((n) => !n.metadata?.deletionTimestamp)
    .filter((n) => {
      const excluded = n.metadata?.labels?.[EXCLUDE_LABEL];
      return excluded === undefined || excluded.trim().toLowerCase() === 'false';
    })
    .filter((n) => !(n.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT))
    .map((n) => ({
      name: n.metadata?.name ?? '',
      ...(n.spec?.providerID ? { providerID: n.spec.providerID } : {}),
      labels: { ...(n.metadata?.labels ?? {}) },
      internalAddresses: (n.status?.addresses ?? [])
        .filter((a) => a.type === 'InternalIP')
        .map((a) => a.address),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The name EndpointSlices of a Service carry. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * Ready endpoints of one Service from its EndpointSlices (IPv4 and IPv6 slices; FQDN slices are not
 * addresses). An endpoint in several slices (during a slice rebalance) counts once. `ready` unset means
 * ready, as the API documents. Terminating endpoints are not targets.
 */
export function serviceEndpoints(slices: ReadonlyArray<V1EndpointSlice>): EndpointTarget[] {
  const byAddress = new Map<string, EndpointTarget>();
  for (const slice of slices) {
    const family: IPFamily | undefined =
      slice.addressType === 'IPv4' ? 'IPv4' : slice.addressType === 'IPv6' ? 'IPv6' : undefined;
    if (!family) continue;
    const ports = (slice.ports ?? [])
      .filter((p) => p.port !== undefined)
      .map((p) => ({ name: p.name ?? '', protocol: (p.protocol ?? 'TCP') as Protocol, port: p.port! }));
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) {
        const known = byAddress.get(address);
        if (known) {
          for (const p of ports) {
            if (!known.ports.some((k) => k.name === p.name && k.protocol === p.protocol)) known.ports.push(p);
          }
          continue;
        }
        byAddress.set(address, {
          address,
          family,
          ...(endpoint.nodeName ? { nodeName: endpoint.nodeName } : {}),
          ports: [...ports],
        });
      }
    }
  }
  return [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
