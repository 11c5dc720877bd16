// Reads what the plan needs for one Service: both cluster load balancers (shared reads: many Services, one GET),
// the public IP Sluice made for it (by its deterministic name), the user's public IP it names, the NSG, and where
// the Service's submissions to the writers stand. Reads only. A throttled subscription is an answer ("wait"), not
// an error.

import type { LoadBalancerIntent, ServiceRef } from '../../intent/types.ts';
import type { ClusterResources } from './cluster-resources.ts';
import { ArmThrottledError } from './errors.ts';
import type {
  AzureObservation,
  AzureSettings,
  ObservedPublicIp,
  PublicAddressSource,
  SecurityGroupView,
} from './model.ts';
import { frontendName, publicIpName } from './names.ts';

export interface ObserveOptions {
  /** How old a shared read of a load balancer or the NSG may be. */
  readMaxAgeMs: number;
  /** How old a list of a resource group's public IPs (looked up by address) may be. */
  publicIpListMaxAgeMs: number;
}

const EMPTY_WRITERS: AzureObservation['writers'] = {
  loadBalancer: { public: undefined, internal: undefined },
  securityGroup: undefined,
};

export async function observe(
  intent: LoadBalancerIntent,
  settings: AzureSettings,
  cluster: ClusterResources,
  options: ObserveOptions,
): Promise<AzureObservation> {
  try {
    return await observeOnce(intent.service, settings, cluster, options);
  } catch (error) {
    if (!(error instanceof ArmThrottledError)) throw error;
    return {
      settings,
      throttled: { retryAfterMs: error.retryAfterMs, message: error.message },
      loadBalancers: { public: undefined, internal: undefined },
      managedPublicIp: undefined,
      noSecurityGroup: false,
      writers: EMPTY_WRITERS,
    };
  }
}

async function observeOnce(
  service: ServiceRef,
  settings: AzureSettings,
  cluster: ClusterResources,
  options: ObserveOptions,
): Promise<AzureObservation> {
  const { scope, resources } = cluster;
  const owner = frontendName(service);
  const [publicLb, internalLb, managedPublicIp, userPublicIp, group] = await Promise.all([
    cluster.loadBalancerReads.public.get(options.readMaxAgeMs),
    cluster.loadBalancerReads.internal.get(options.readMaxAgeMs),
    // Always read: after a switch to internal or to the user's IP, Sluice's own must still be found and deleted.
    resources.getPublicIp(scope.resourceGroup, publicIpName(scope.cluster, service)),
    settings.publicAddress !== undefined && !settings.internal
      ? findUserPublicIp(settings.publicAddress, cluster, options)
      : Promise.resolve(undefined),
    settings.access.manage ? observeSecurityGroup(cluster, options) : Promise.resolve(undefined),
  ]);
  const writer = group?.writer;
  const writesThrottledMs = cluster.resources.arm.gate.remaining('write');
  return {
    settings,
    ...(writesThrottledMs > 0 ? { writesThrottledMs } : {}),
    loadBalancers: { public: publicLb, internal: internalLb },
    managedPublicIp,
    ...(userPublicIp !== undefined ? { userPublicIp } : {}),
    ...(group?.view !== undefined ? { securityGroup: group.view } : {}),
    noSecurityGroup: settings.access.manage && group === undefined,
    writers: {
      loadBalancer: {
        public: cluster.loadBalancerWriters.public.state(owner),
        internal: cluster.loadBalancerWriters.internal.state(owner),
      },
      securityGroup: writer?.state(owner),
      ...sharedFailure(cluster, settings.internal ? 'internal' : 'public'),
    },
  };
}

function sharedFailure(
  cluster: ClusterResources,
  visibility: 'public' | 'internal',
): { sharedFailure?: string } {
  const failure = cluster.loadBalancerWriters[visibility].lastSharedFailure;
  return failure !== undefined ? { sharedFailure: failure } : {};
}

async function observeSecurityGroup(
  cluster: ClusterResources,
  options: ObserveOptions,
): Promise<
  { view: SecurityGroupView; writer: ReturnType<ClusterResources['securityGroupWriter']> } | undefined
> {
  const ref = await cluster.securityGroupRef();
  if (ref === undefined) return undefined;
  const observed = await cluster.securityGroupRead(ref).get(options.readMaxAgeMs);
  return { view: { source: ref.source, observed }, writer: cluster.securityGroupWriter(ref) };
}

/** The user's public IP: by name (azure-pip-name), or the one holding the requested address (loadBalancerIP). */
async function findUserPublicIp(
  source: PublicAddressSource,
  cluster: ClusterResources,
  options: ObserveOptions,
): Promise<{ found: ObservedPublicIp } | { missing: string } | undefined> {
  if (source.kind === 'managed') return undefined;
  const group = source.resourceGroup ?? cluster.scope.resourceGroup;
  if (source.kind === 'named') {
    const found = await cluster.resources.getPublicIp(group, source.name);
    return found
      ? { found }
      : {
          missing:
            `public IP ${source.name} does not exist in resource group ${group}: it must be created there first ` +
            '(Standard SKU, static), or azure-load-balancer-resource-group must name its resource group',
        };
  }
  const list = cluster.publicIpList(group);
  let found = (await list.get(options.publicIpListMaxAgeMs)).find((pip) => pip.ipAddress === source.address);
  // Not in a list that may be a little old: look once more before telling the user it is missing.
  if (found === undefined) found = (await list.get(0)).find((pip) => pip.ipAddress === source.address);
  return found
    ? { found }
    : {
        missing:
          `no public IP in resource group ${group} has the address ${source.address}: on Azure, loadBalancerIP ` +
          'names an existing static public IP, which must be created there first (Standard SKU, static), or ' +
          'azure-load-balancer-resource-group must name its resource group',
      };
}
