// What exists in the project for one Service: every resource at every name it could have used (both
// schemes, both protocols, both kinds of health check), the cluster's shared health check, firewall
// and instance groups, the user's address for a requested IP, the subnetwork, and the operations
// this Service started that have not been looked at since. Reads only: the cluster's resources come
// from the shared listing (inventory.ts), the rest by name.
import type { protos } from '@google-cloud/compute';
import type { ServiceRef } from '../../intent/types.ts';
import type { ComputeClient } from './client.ts';
import { ComputeCallError, isNotFound } from './errors.ts';
import { ClusterInventory, type ListedInstanceGroup } from './inventory.ts';
import type {
  AddressSpec,
  BackendServiceSpec,
  Existing,
  FirewallSpec,
  ForwardingRuleSpec,
  GcpConfig,
  GcpObserved,
  HealthCheckSpec,
  InstanceGroupSpec,
  L4Protocol,
  Scheme,
} from './model.ts';
import { operationsOnly } from './model.ts';
import {
  allServiceNames,
  isOwned,
  lastSegment,
  sameResource,
  sharedHealthCheckName,
  sharedHealthFirewallName,
  urls,
} from './names.ts';
import type { OperationTracker } from './operations.ts';

type IAddress = protos.google.cloud.compute.v1.IAddress;
type IHealthCheck = protos.google.cloud.compute.v1.IHealthCheck;
type IBackendService = protos.google.cloud.compute.v1.IBackendService;
type IForwardingRule = protos.google.cloud.compute.v1.IForwardingRule;
type IFirewall = protos.google.cloud.compute.v1.IFirewall;

/** Compute answers with full URLs; Sluice compares the relative form (projects/…). */
export function relative(url: string | null | undefined): string {
  return String(url ?? '').replace(/^https?:\/\/[^/]+\/compute\/(v1|beta|alpha)\//, '');
}

async function found<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ComputeCallError && isNotFound(error.failure)) return undefined;
    throw error;
  }
}

function addressView(a: IAddress): Existing<AddressSpec> {
  return {
    name: String(a.name),
    addressType: (a.addressType ?? 'EXTERNAL') as Scheme,
    ...(a.networkTier ? { networkTier: a.networkTier as 'PREMIUM' | 'STANDARD' } : {}),
    ...(a.subnetwork ? { subnetwork: relative(a.subnetwork) } : {}),
    ...(a.address ? { address: a.address } : {}),
    selfLink: relative(a.selfLink),
    description: String(a.description ?? ''),
    status: String(a.status ?? ''),
  };
}

function healthCheckView(h: IHealthCheck): Existing<HealthCheckSpec> {
  return {
    name: String(h.name),
    port: Number(h.httpHealthCheck?.port ?? 0),
    requestPath: String(h.httpHealthCheck?.requestPath ?? '/'),
    checkIntervalSec: Number(h.checkIntervalSec ?? 5),
    timeoutSec: Number(h.timeoutSec ?? 5),
    healthyThreshold: Number(h.healthyThreshold ?? 2),
    unhealthyThreshold: Number(h.unhealthyThreshold ?? 2),
    selfLink: relative(h.selfLink),
    description: String(h.description ?? ''),
  };
}

function backendView(b: IBackendService): Existing<BackendServiceSpec> {
  return {
    name: String(b.name),
    scheme: (b.loadBalancingScheme ?? 'EXTERNAL') as Scheme,
    protocol: (b.protocol ?? 'TCP') as L4Protocol,
    sessionAffinity: b.sessionAffinity === 'CLIENT_IP' ? 'CLIENT_IP' : 'NONE',
    healthCheck: relative(b.healthChecks?.[0]),
    groups: (b.backends ?? []).map((x) => relative(x.group)),
    ...(b.network ? { network: relative(b.network) } : {}),
    selfLink: relative(b.selfLink),
    description: String(b.description ?? ''),
    ...(b.fingerprint ? { fingerprint: b.fingerprint } : {}),
  };
}

function ruleView(r: IForwardingRule): Existing<ForwardingRuleSpec> {
  return {
    name: String(r.name),
    scheme: (r.loadBalancingScheme ?? 'EXTERNAL') as Scheme,
    protocol: (r.IPProtocol ?? 'TCP') as L4Protocol,
    ip: String(r.IPAddress ?? ''),
    ports: r.allPorts ? 'all' : (r.ports ?? []).map(Number),
    backendService: relative(r.backendService),
    ...(r.networkTier && r.loadBalancingScheme !== 'INTERNAL'
      ? { networkTier: r.networkTier as 'PREMIUM' | 'STANDARD' }
      : {}),
    ...(r.network ? { network: relative(r.network) } : {}),
    ...(r.subnetwork ? { subnetwork: relative(r.subnetwork) } : {}),
    ...(r.allowGlobalAccess ? { allowGlobalAccess: true } : {}),
    selfLink: relative(r.selfLink),
    description: String(r.description ?? ''),
    ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}),
  };
}

function firewallView(f: IFirewall): Existing<FirewallSpec> {
  return {
    name: String(f.name),
    network: relative(f.network),
    sourceRanges: [...(f.sourceRanges ?? [])],
    ...(f.destinationRanges && f.destinationRanges.length > 0
      ? { destinationRanges: [...f.destinationRanges] }
      : {}),
    allowed: (f.allowed ?? []).map((a) => ({
      protocol: (a.IPProtocol ?? 'tcp') as 'tcp' | 'udp',
      ports: [...(a.ports ?? [])],
    })),
    targetTags: [...(f.targetTags ?? [])],
    priority: Number(f.priority ?? 1000),
    selfLink: relative(f.selfLink),
    description: String(f.description ?? ''),
  };
}

export interface ObserveInput {
  service: ServiceRef;
  requestedIp?: string;
  /** Internal Services: the subnetwork to check. */
  subnetwork?: string;
  /** Removal: also find who else uses the shared resources. */
  sharedUsers?: boolean;
}

export async function observe(
  client: ComputeClient,
  config: GcpConfig,
  tracker: OperationTracker,
  input: ObserveInput,
  // Shared by the provider's reconciles; a caller without one lists for itself.
  inventory: ClusterInventory = new ClusterInventory(client, config),
): Promise<GcpObserved> {
  const { project, region, cluster } = config;
  const names = allServiceNames(cluster, input.service);
  const { running, failed, settledAt } = await tracker.check(client, project, input.service.uid);
  // While one of its operations runs the plan starts nothing and looks at nothing else: no reads.
  if (running.length > 0) return operationsOnly(running, failed);
  // A listing that shows every write of this Service whose operation finished (see ClusterInventory).
  const listing = await inventory.read(settledAt);
  const named = <T extends { name?: string | null }>(items: T[], wanted: string[]): T[] =>
    items.filter((item) => wanted.includes(String(item.name)));
  const addresses = named(listing.addresses, names.addresses).map(addressView);
  const healthChecks = named(listing.healthChecks, [
    ...names.healthChecks,
    sharedHealthCheckName(cluster),
  ]).map(healthCheckView);
  const backendServices = named(listing.backendServices, names.backends).map(backendView);
  const forwardingRules = named(listing.forwardingRules, names.backends).map(ruleView);
  const firewalls = named(listing.firewalls, [...names.firewalls, sharedHealthFirewallName(cluster)]).map(
    firewallView,
  );
  const instanceGroups = listing.instanceGroups.map(instanceGroupView);

  const observed: GcpObserved = {
    running,
    failed,
    addresses,
    healthChecks,
    backendServices,
    forwardingRules,
    firewalls,
    instanceGroups,
  };
  if (input.requestedIp !== undefined) {
    const ip = input.requestedIp;
    const [list] = await client.call('addresses.list', () =>
      client.addresses.list({ project, region, filter: `address = "${ip}"` }),
    );
    const match = list.find((a) => a.address === ip);
    observed.requestedAddress = match
      ? {
          name: String(match.name),
          ip,
          owned: isOwned(match.description, cluster, input.service.uid),
          status: String(match.status ?? ''),
          addressType: (match.addressType ?? 'EXTERNAL') as Scheme,
        }
      : 'absent';
  }
  if (input.subnetwork !== undefined) {
    const subnetwork = lastSegment(input.subnetwork);
    const got = await found(() =>
      client.call('subnetworks.get', () => client.subnetworks.get({ project, region, subnetwork })),
    );
    observed.subnetwork = got ? { selfLink: relative(got[0].selfLink) } : 'absent';
  }
  if (input.sharedUsers) {
    const [all] = await client.call('regionBackendServices.list', () =>
      client.backendServices.list({ project, region }),
    );
    const shared = [
      urls.healthCheck(project, region, sharedHealthCheckName(cluster)),
      ...instanceGroups.map((g) => g.selfLink),
    ];
    observed.sharedUsers = all
      .map(backendView)
      .filter((b) => !isOwned(b.description, cluster, input.service.uid))
      .filter((b) => [b.healthCheck, ...b.groups].some((ref) => shared.some((s) => sameResource(s, ref))))
      .map((b) => b.name);
  }
  return observed;
}

function instanceGroupView({ group, zone, instances }: ListedInstanceGroup): Existing<InstanceGroupSpec> {
  return {
    name: String(group.name),
    zone,
    network: relative(group.network),
    instances: instances.map(relative).sort(),
    selfLink: relative(group.selfLink),
    description: String(group.description ?? ''),
    ...(group.fingerprint ? { fingerprint: group.fingerprint } : {}),
  };
}
