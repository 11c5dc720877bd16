// Deterministic Compute Engine names and ownership descriptions. Pure.
// Names come from the cluster and the Service UID, plus what forces a new resource (scheme and
// protocol: a backend service's scheme and protocol never change in place), so a restart finds
// everything again and removal can try every name a Service could have used.
import { createHash } from 'node:crypto';
import type { ServiceRef } from '../../intent/types.ts';
import type { L4Protocol, Ownership, Scheme } from './model.ts';

/** RFC 1035: a lowercase letter, then lowercase letters, digits and hyphens, at most 63, not ending in '-'. */
export const MAX_NAME_LENGTH = 63;
const RFC1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isValidName(name: string): boolean {
  return RFC1035.test(name);
}

/** `sl-<8 hex of the cluster name>`: the cluster's part of every name (cluster names may hold any character). */
export function clusterPrefix(cluster: string): string {
  return `sl-${createHash('sha256').update(cluster).digest('hex').slice(0, 8)}`;
}

/** `sl-<cluster>-<uid without dashes>` (44 characters): the Service's part of every name. */
export function serviceBase(cluster: string, service: ServiceRef): string {
  return `${clusterPrefix(cluster)}-${service.uid.replace(/-/g, '').toLowerCase()}`;
}

const schemeLetter = (scheme: Scheme): string => (scheme === 'EXTERNAL' ? 'e' : 'i');

/** The Service's static address (one per scheme: an address's type never changes). */
export function addressName(cluster: string, service: ServiceRef, scheme: Scheme): string {
  return `${serviceBase(cluster, service)}-${schemeLetter(scheme)}`;
}

/** Backend service and its forwarding rule share this name (different collections). */
export function backendName(
  cluster: string,
  service: ServiceRef,
  scheme: Scheme,
  protocol: L4Protocol,
): string {
  return `${serviceBase(cluster, service)}-${schemeLetter(scheme)}-${protocol.toLowerCase()}`;
}

/** The per-Service health check (externalTrafficPolicy Local, on healthCheckNodePort). */
export function serviceHealthCheckName(cluster: string, service: ServiceRef): string {
  return `${serviceBase(cluster, service)}-hc`;
}

/** The firewall admitting Google's probes to the per-Service health check's port. */
export function serviceHealthFirewallName(cluster: string, service: ServiceRef): string {
  return `${serviceBase(cluster, service)}-hc-fw`;
}

/** The firewall admitting clients (source ranges) to the Service's IP and ports. */
export function clientFirewallName(cluster: string, service: ServiceRef): string {
  return `${serviceBase(cluster, service)}-fw`;
}

/** The cluster's shared health check on kube-proxy's /healthz (externalTrafficPolicy Cluster). */
export function sharedHealthCheckName(cluster: string): string {
  return `${clusterPrefix(cluster)}-node-hc`;
}

/** The firewall admitting Google's probes to kube-proxy's port, for the shared check. */
export function sharedHealthFirewallName(cluster: string): string {
  return `${clusterPrefix(cluster)}-node-hc-fw`;
}

/** The cluster's unmanaged instance group (the same name in every zone). */
export function instanceGroupName(cluster: string): string {
  return `${clusterPrefix(cluster)}-ig`;
}

/** Every name one Service could have used, for observe and for removal (never only the current ones). */
export function allServiceNames(
  cluster: string,
  service: ServiceRef,
): Record<'addresses' | 'backends' | 'healthChecks' | 'firewalls', string[]> {
  const schemes: Scheme[] = ['EXTERNAL', 'INTERNAL'];
  const protocols: L4Protocol[] = ['TCP', 'UDP'];
  return {
    addresses: schemes.map((s) => addressName(cluster, service, s)),
    backends: schemes.flatMap((s) => protocols.map((p) => backendName(cluster, service, s, p))),
    healthChecks: [serviceHealthCheckName(cluster, service)],
    firewalls: [clientFirewallName(cluster, service), serviceHealthFirewallName(cluster, service)],
  };
}

/** The description Sluice writes: ownership as JSON (Compute descriptions hold up to 2048 characters). */
export function ownershipDescription(cluster: string, service?: ServiceRef): string {
  const owner: Ownership = { 'sluice.dev/cluster': cluster };
  if (service !== undefined) {
    owner['sluice.dev/service'] = `${service.namespace}/${service.name}`;
    owner['sluice.dev/service-uid'] = service.uid;
  }
  return JSON.stringify(owner);
}

/** The ownership a description records, or undefined when it is not Sluice's JSON. */
export function parseOwnership(description: string | null | undefined): Ownership | undefined {
  if (typeof description !== 'string' || !description.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(description);
    if (typeof value !== 'object' || value === null) return undefined;
    const cluster = (value as Record<string, unknown>)['sluice.dev/cluster'];
    if (typeof cluster !== 'string') return undefined;
    const service = (value as Record<string, unknown>)['sluice.dev/service'];
    const uid = (value as Record<string, unknown>)['sluice.dev/service-uid'];
    return {
      'sluice.dev/cluster': cluster,
      ...(typeof service === 'string' ? { 'sluice.dev/service': service } : {}),
      ...(typeof uid === 'string' ? { 'sluice.dev/service-uid': uid } : {}),
    };
  } catch {
    return undefined;
  }
}

/** True when the description says Sluice made it for this cluster (and, if given, this Service UID). */
export function isOwned(
  description: string | null | undefined,
  cluster: string,
  serviceUid?: string,
): boolean {
  const owner = parseOwnership(description);
  if (owner === undefined || owner['sluice.dev/cluster'] !== cluster) return false;
  return serviceUid === undefined || owner['sluice.dev/service-uid'] === serviceUid;
}

/** Compute resource URLs (the form the API accepts in references and returns in selfLink). */
export const urls = {
  project: (project: string) => `projects/${project}`,
  network: (project: string, network: string) =>
    network.includes('/') ? network : `projects/${project}/global/networks/${network}`,
  subnetwork: (project: string, region: string, subnetwork: string) =>
    subnetwork.includes('/') ? subnetwork : `projects/${project}/regions/${region}/subnetworks/${subnetwork}`,
  healthCheck: (project: string, region: string, name: string) =>
    `projects/${project}/regions/${region}/healthChecks/${name}`,
  backendService: (project: string, region: string, name: string) =>
    `projects/${project}/regions/${region}/backendServices/${name}`,
  instanceGroup: (project: string, zone: string, name: string) =>
    `projects/${project}/zones/${zone}/instanceGroups/${name}`,
  instance: (project: string, zone: string, name: string) =>
    `projects/${project}/zones/${zone}/instances/${name}`,
};

/** The last path segment of a URL or the name itself. */
export function lastSegment(urlOrName: string): string {
  return urlOrName.slice(urlOrName.lastIndexOf('/') + 1);
}

/** Compares resource references regardless of URL form (full https://…/compute/v1/projects/… or relative). */
export function sameResource(a: string, b: string): boolean {
  const relative = (u: string) => u.replace(/^https?:\/\/[^/]+\/compute\/(v1|beta|alpha)\//, '');
  return relative(a) === relative(b);
}
