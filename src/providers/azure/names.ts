// Deterministic names, ARM IDs and ownership tags for the Azure resources of one Service. Pure.
//
// A Service's entries in the shared load balancer and NSG are found by name alone: the frontend is
// `a<uid without dashes>` (as the Azure cloud provider names it), every rule and probe is `<frontend>-…`, so a
// restart recognises (adopts) what it made without any local state, and a Service never touches another's entries.
// The public IPs Sluice creates carry tags as well, because a public IP outlives nothing but must be told apart
// from the user's own.
import { createHash } from 'node:crypto';
import type { ServiceRef } from '../../intent/types.ts';
import { type AzureProtocol, type AzureScope, TAG } from './model.ts';

/** ARM names of load balancer children, public IPs and security rules: at most 80 characters. */
export const MAX_NAME_LENGTH = 80;

/** The cluster's load balancer for public frontends, and the one for internal frontends (as upstream). */
export function loadBalancerName(cluster: string, internal: boolean): string {
  return fitName(internal ? `${cluster}-internal` : cluster);
}

/** The shared IP-based backend pool of both load balancers. */
export function backendPoolName(cluster: string): string {
  return fitName(cluster);
}

/** The Service's frontend IP configuration, and the prefix of everything else it owns on the LB and NSG. */
export function frontendName(service: ServiceRef): string {
  return `a${service.uid.replace(/-/g, '').toLowerCase()}`;
}

/** A load-balancing rule: `<frontend>-<Protocol>-<port>` (upstream's form, e.g. a1b2…-TCP-80). */
export function ruleName(frontend: string, protocol: AzureProtocol, port: number): string {
  return fitName(`${frontend}-${protocol.toUpperCase()}-${port}`);
}

/** A probe: named like the rule it serves (ETP Local: after healthCheckNodePort, one for every rule). */
export function probeName(frontend: string, protocol: AzureProtocol | 'Http', port: number): string {
  return fitName(`${frontend}-${protocol.toUpperCase()}-${port}`);
}

/** An NSG allow rule of the Service: one per protocol and kind of source (CIDRs, or one service tag). */
export function allowRuleName(
  frontend: string,
  protocol: AzureProtocol,
  source: { tag: string } | 'ranges',
): string {
  const what = source === 'ranges' ? 'ranges' : `tag-${source.tag.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  return fitName(`${frontend}-allow-${protocol.toUpperCase()}-${what}`);
}

/** The NSG rule denying every source the allow rules do not name (azure-deny-all-except-…). */
export function denyRuleName(frontend: string, protocol: AzureProtocol): string {
  return fitName(`${frontend}-deny-${protocol.toUpperCase()}`);
}

/** The public IP Sluice creates for a public Service: `<cluster>-<frontend>`, the cluster part shortened to fit. */
export function publicIpName(cluster: string, service: ServiceRef): string {
  const frontend = frontendName(service);
  const room = MAX_NAME_LENGTH - frontend.length - 1;
  return `${cluster.slice(0, room)}-${frontend}`;
}

/** True when an LB entry or NSG rule name belongs to the Service whose frontend is `owner`. */
export function ownsEntry(owner: string, name: string): boolean {
  return name === owner || name.startsWith(`${owner}-`);
}

/** True when the name has the shape of a frontend Sluice made (a + 32 hex digits): for adopting after a restart. */
export function isSluiceFrontendName(name: string): boolean {
  return /^a[0-9a-f]{32}$/.test(name);
}

/** Tags on a public IP Sluice creates for a Service. */
export function publicIpTags(cluster: string, service: ServiceRef): Record<string, string> {
  return {
    [TAG.cluster]: cluster,
    [TAG.service]: `${service.namespace}/${service.name}`,
    [TAG.serviceUid]: service.uid,
  };
}

/** True when the tags say Sluice made this public IP for this cluster (and, if given, this Service). */
export function isOwnedPublicIp(
  tags: Record<string, string> | undefined,
  cluster: string,
  serviceUid?: string,
): boolean {
  if (tags?.[TAG.cluster] !== cluster) return false;
  return serviceUid === undefined || tags[TAG.serviceUid] === serviceUid;
}

/** Names longer than ARM allows keep a readable head and end in a hash of the whole (still unique, still stable). */
export function fitName(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, MAX_NAME_LENGTH - hash.length - 1)}-${hash}`;
}

// ---- ARM IDs ------------------------------------------------------------------------------------------------

function networkId(subscriptionId: string, resourceGroup: string, type: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/${type}/${name}`;
}

export function loadBalancerId(scope: AzureScope, internal: boolean): string {
  return networkId(
    scope.subscriptionId,
    scope.resourceGroup,
    'loadBalancers',
    loadBalancerName(scope.cluster, internal),
  );
}

/** A child of a load balancer: frontendIPConfigurations, backendAddressPools, probes, loadBalancingRules. */
export function loadBalancerChildId(
  scope: AzureScope,
  internal: boolean,
  kind: 'frontendIPConfigurations' | 'backendAddressPools' | 'probes' | 'loadBalancingRules',
  name: string,
): string {
  return `${loadBalancerId(scope, internal)}/${kind}/${name}`;
}

export function publicIpId(scope: AzureScope, name: string, resourceGroup = scope.resourceGroup): string {
  return networkId(scope.subscriptionId, resourceGroup, 'publicIPAddresses', name);
}

export function virtualNetworkId(scope: AzureScope): string {
  return networkId(
    scope.subscriptionId,
    scope.vnetResourceGroup ?? scope.resourceGroup,
    'virtualNetworks',
    scope.vnetName,
  );
}

export function subnetId(scope: AzureScope, subnet = scope.subnetName): string {
  return `${virtualNetworkId(scope)}/subnets/${subnet}`;
}
