// What exists in the project for one Service: every resource at every name it could have used (both
// schemes, both protocols, both kinds of health check), the cluster's shared health check, firewall
// and instance groups, the user's address for a requested IP, the subnetwork, and the operations
// this Service started that have not been looked at since. Reads only.
import type { protos } from '@google-cloud/compute';
import type { ServiceRef } from '../../intent/types.ts';
import type { ComputeClient } from './client.ts';
import { ComputeCallError, isNotFound } from './errors.ts';
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
import {
  allServiceNames,
  instanceGroupName,
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
type IInstanceGroup = protos.google.cloud.compute.v1.IInstanceGroup;

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

const defined = <T>(list: ReadonlyArray<T | undefined>): T[] => list.filter((x): x is T => x !== undefined);

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
): Promise<GcpObserved> {
  const { project, region, cluster } = config;
  const names = allServiceNames(cluster, input.service);
  const { running, failed } = await tracker.check(client, project, input.service.uid);
  const [addresses, healthChecks, backendServices, forwardingRules, firewalls, instanceGroups] =
    await Promise.all([
      Promise.all(
        names.addresses.map((address) =>
          found(() => client.call('addresses.get', () => client.addresses.get({ project, region, address }))),
        ),
      ).then((list) => defined(list).map(([a]) => addressView(a))),
      Promise.all(
        [...names.healthChecks, sharedHealthCheckName(cluster)].map((healthCheck) =>
          found(() =>
            client.call('regionHealthChecks.get', () =>
              client.healthChecks.get({ project, region, healthCheck }),
            ),
          ),
        ),
      ).then((list) => defined(list).map(([h]) => healthCheckView(h))),
      Promise.all(
        names.backends.map((backendService) =>
          found(() =>
            client.call('regionBackendServices.get', () =>
              client.backendServices.get({ project, region, backendService }),
            ),
          ),
        ),
      ).then((list) => defined(list).map(([b]) => backendView(b))),
      Promise.all(
        names.backends.map((forwardingRule) =>
          found(() =>
            client.call('forwardingRules.get', () =>
              client.forwardingRules.get({ project, region, forwardingRule }),
            ),
          ),
        ),
      ).then((list) => defined(list).map(([r]) => ruleView(r))),
      Promise.all(
        [...names.firewalls, sharedHealthFirewallName(cluster)].map((firewall) =>
          found(() => client.call('firewalls.get', () => client.firewalls.get({ project, firewall }))),
        ),
      ).then((list) => defined(list).map(([f]) => firewallView(f))),
      readInstanceGroups(client, config),
    ]);

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

/** The cluster's instance groups (one per zone) and their members. */
async function readInstanceGroups(
  client: ComputeClient,
  config: GcpConfig,
): Promise<Array<Existing<InstanceGroupSpec>>> {
  const { project, cluster } = config;
  const name = instanceGroupName(cluster);
  const groups: IInstanceGroup[] = [];
  await client.call('instanceGroups.aggregatedList', async () => {
    groups.length = 0;
    // Async iteration pages by itself (autoPaginate false says so and keeps gax from warning).
    const pages = client.instanceGroups.aggregatedListAsync(
      { project, filter: `name = "${name}"` },
      { autoPaginate: false },
    );
    for await (const [, scoped] of pages) {
      for (const group of scoped.instanceGroups ?? []) if (group.name === name) groups.push(group);
    }
  });
  // A group deleted between the list and the member read (a removal finishing) is simply gone.
  const read = await Promise.all(
    groups.map(async (group): Promise<Existing<InstanceGroupSpec> | undefined> => {
      const zone = lastSegment(String(group.zone));
      const answer = await found(() =>
        client.call('instanceGroups.listInstances', () =>
          client.instanceGroups.listInstances({
            project,
            zone,
            instanceGroup: name,
            instanceGroupsListInstancesRequestResource: { instanceState: 'ALL' },
          }),
        ),
      );
      if (!answer) return undefined;
      return {
        name,
        zone,
        network: relative(group.network),
        instances: answer[0].map((m) => relative(m.instance)).sort(),
        selfLink: relative(group.selfLink),
        description: String(group.description ?? ''),
        ...(group.fingerprint ? { fingerprint: group.fingerprint } : {}),
      };
    }),
  );
  return defined(read);
}
