// What to do in Azure for one Service, and what to tell it: the difference between its desired slices (slices.ts)
// and what observe read, as steps plus an outcome. Pure: no I/O, no clock. A Service in place plans no step: a
// resync of a steady cluster writes nothing.
//
// Order of one Service's life: its public IP (created, or the user's found) → its slice of the load balancer
// (submitted to the writer; pending until ARM holds it and has provisioned it) → its NSG rules (they need the
// frontend's address) → ready with the address. Leftovers (its entries on the other load balancer after an
// internal/public switch, the public IP Sluice made once the frontend no longer uses it) are cleaned up on the way
// and never hold readiness back.

import type { LoadBalancerIntent } from '../../intent/types.ts';
import {
  AZURE_LIMITS,
  type AzureObservation,
  type AzurePlan,
  type AzureRemovalPlan,
  type AzureScope,
  type AzureStep,
  type BackendPoolBody,
  type LoadBalancerSlice,
  type Notice,
  type ObservedPublicIp,
  type OwnerState,
  type ProbeMode,
  type PublicIpBody,
  type SecurityGroupSlice,
  TAG,
  type Visibility,
} from './model.ts';
import {
  frontendName,
  isOwnedPublicIp,
  loadBalancerChildId,
  loadBalancerName,
  publicIpId as publicIpIdOf,
  publicIpName,
  publicIpTags,
} from './names.ts';
import {
  backendPool,
  holdsBackendPool,
  holdsNoRulesOf,
  holdsNothingOf,
  holdsSecurityRules,
  holdsSlice,
  type LoadBalancerBase,
  loadBalancerSlice,
  mergeLoadBalancer,
  mergeSecurityGroup,
  securityGroupSlice,
} from './slices.ts';
import { REMOVAL_KEY } from './writer.ts';

export interface PlanContext {
  scope: AzureScope;
  probeMode: ProbeMode;
  limits?: typeof AZURE_LIMITS;
}

/** A stable key of a slice: the writer skips a slice already queued or being written, and pins failures to one. */
export function sliceKey(slice: LoadBalancerSlice | SecurityGroupSlice): string {
  return JSON.stringify(slice);
}

/** The base every merge into a cluster load balancer starts from. */
export function loadBalancerBase(
  scope: AzureScope,
  visibility: Visibility,
  pool: BackendPoolBody | undefined,
): LoadBalancerBase {
  return {
    name: loadBalancerName(scope.cluster, visibility === 'internal'),
    location: scope.location,
    tags: { [TAG.cluster]: scope.cluster },
    ...(pool !== undefined ? { backendPool: pool } : {}),
  };
}

/** What Sluice PUTs for the public IP it creates for a Service. */
export function managedPublicIpBody(
  intent: LoadBalancerIntent,
  scope: AzureScope,
  dnsLabel: string | undefined,
  existingTags: Record<string, string> = {},
): PublicIpBody {
  return {
    location: scope.location,
    sku: { name: 'Standard', tier: 'Regional' },
    publicIPAllocationMethod: 'Static',
    publicIPAddressVersion: 'IPv4',
    // Tags someone else added stay; Sluice's own are always its.
    tags: { ...existingTags, ...publicIpTags(scope.cluster, intent.service) },
    ...(dnsLabel !== undefined ? { dnsSettings: { domainNameLabel: dnsLabel } } : {}),
  };
}

function publicIpHolds(observed: ObservedPublicIp, wanted: PublicIpBody): boolean {
  return (
    observed.sku === 'Standard' &&
    observed.allocation === 'Static' &&
    Object.entries(wanted.tags).every(([k, v]) => observed.tags[k] === v) &&
    observed.dnsLabel === wanted.dnsSettings?.domainNameLabel
  );
}

const sameId = (a: string | undefined, b: string): boolean =>
  a !== undefined && a.toLowerCase() === b.toLowerCase();

/** In the writer's hands already (queued or being written) with exactly this key. */
function inHand(state: OwnerState | undefined, key: string): boolean {
  return (state?.phase === 'queued' || state?.phase === 'writing') && state.key === key;
}

/** Anything of the owner queued or being written. */
function busy(state: OwnerState | undefined): boolean {
  return state?.phase === 'queued' || state?.phase === 'writing';
}

/** The steps, the outcome, and the shared pool this reconcile saw, for one Service that should have its frontend. */
export function planLoadBalancer(
  intent: LoadBalancerIntent,
  observation: AzureObservation,
  context: PlanContext,
): AzurePlan {
  const { settings } = observation;
  const { scope } = context;
  const limits = context.limits ?? AZURE_LIMITS;
  const owner = frontendName(intent.service);
  const visibility: Visibility = settings.internal ? 'internal' : 'public';
  const otherVisibility: Visibility = settings.internal ? 'public' : 'internal';
  const steps: AzureStep[] = [];
  const notices: Notice[] = [];
  const changed: Notice[] = [];
  const lb = observation.loadBalancers[visibility];
  const lbName = loadBalancerName(scope.cluster, settings.internal);

  // No node list (none yet, or none eligible): an existing pool is left as it is rather than emptied.
  const nodesPool = backendPool(intent, scope);
  const pool =
    nodesPool.loadBalancerBackendAddresses.length === 0 &&
    lb?.body.backendAddressPools.some((p) => p.name === nodesPool.name)
      ? undefined
      : nodesPool;
  const result = (outcome: AzurePlan['outcome']): AzurePlan => ({
    steps,
    outcome,
    ...(pool !== undefined ? { backendPool: pool } : {}),
  });
  const writesHeld = observation.writesThrottledMs ?? 0;
  const pending = (reason: string, message: string) =>
    // Nothing that waits for a write can move while writes are throttled: look again when they may go.
    writesHeld > 0 && (reason === 'Updating' || reason === 'Provisioning')
      ? result({
          kind: 'pending',
          reason: 'Throttled',
          message: `${message} (Azure throttles writes for ${Math.ceil(writesHeld / 1000)} s)`,
          retryAfterMs: writesHeld,
        })
      : result({ kind: 'pending', reason, message });
  const failed = (reason: string, message: string) => result({ kind: 'failed', reason, message });

  if (observation.throttled) {
    const { message, retryAfterMs } = observation.throttled;
    return result({ kind: 'pending', reason: 'Throttled', message, retryAfterMs });
  }
  if (pool === undefined) {
    notices.push({
      reason: 'NoNodes',
      message: `no node is eligible for load balancer traffic; the backend pool of ${lbName} is left as it is`,
    });
  }

  // Leftovers on the other load balancer (the Service switched between public and internal).
  const other = observation.loadBalancers[otherVisibility];
  const otherState = observation.writers.loadBalancer[otherVisibility];
  if (!holdsNothingOf(other?.body, owner) && !inHand(otherState, REMOVAL_KEY)) {
    steps.push({
      kind: 'submitLoadBalancer',
      visibility: otherVisibility,
      owner,
      slice: null,
      key: REMOVAL_KEY,
    });
  }

  // The public IP Sluice made for the Service: owned only when its tags say so.
  const managedName = publicIpName(scope.cluster, intent.service);
  const managed = observation.managedPublicIp;
  if (managed && !isOwnedPublicIp(managed.tags, scope.cluster, intent.service.uid)) {
    return failed(
      'NameConflict',
      `a public IP named ${managedName} exists in resource group ${scope.resourceGroup} and is not Sluice's for ` +
        'this Service; rename or delete it',
    );
  }
  const ownFrontendId = loadBalancerChildId(scope, settings.internal, 'frontendIPConfigurations', owner);

  // 1. The public IP the frontend uses: Sluice's own (its ID is known before it exists) or the user's.
  const source = settings.internal ? undefined : settings.publicAddress;
  let publicIpId: string | undefined;
  let userIp: ObservedPublicIp | undefined;
  if (source?.kind === 'managed') {
    publicIpId = publicIpIdOf(scope, managedName);
  } else if (source !== undefined) {
    const user = observation.userPublicIp;
    if (user === undefined || 'missing' in user) {
      return failed('PublicIPNotFound', user?.missing ?? 'the public IP the Service names was not looked up');
    }
    userIp = user.found;
    const problem = userPublicIpProblem(userIp, source, scope, ownFrontendId, intent.service.uid);
    if (problem !== undefined) {
      return failed(
        problem.reason,
        `public IP ${userIp.name} (resource group ${userIp.resourceGroup}) ${problem.message}`,
      );
    }
    publicIpId = userIp.id;
  }

  // 2. The Service's slice of its load balancer.
  const built = loadBalancerSlice(intent, settings, { scope, probeMode: context.probeMode }, publicIpId);
  if ('problem' in built) return failed('InvalidService', built.problem);
  const slice = built.slice;
  const key = sliceKey(slice);
  const state = observation.writers.loadBalancer[visibility];
  if (state?.phase === 'failed' && state.key === key) {
    steps.push({ kind: 'forgetFailure', writer: visibility, owner, key });
    return failed(state.reason, state.message);
  }
  const inPlace = holdsSlice(lb?.body, slice);
  const nsg = settings.access.manage ? observation.securityGroup?.observed : undefined;

  // 3. Every limit is checked before anything is created for the Service: one that does not fit is never half built.
  if (!inPlace && !inHand(state, key)) {
    const base = loadBalancerBase(scope, visibility, pool);
    const otherRules = other?.body.loadBalancingRules.length ?? 0;
    const refused = mergeLoadBalancer(lb?.body, [{ owner, slice }], base, limits, otherRules).rejected.get(
      owner,
    );
    if (refused !== undefined) return failed('LimitExceeded', refused);
    if (nsg !== undefined) {
      // The address may not be known yet; any address counts the same against the NSG's limits.
      const trial = securityGroupSlice(intent, settings, '0.0.0.0', scope.cluster);
      const nsgRefused = mergeSecurityGroup(nsg.body, [{ owner, slice: trial }], limits).rejected.get(owner);
      if (nsgRefused !== undefined) return failed('LimitExceeded', nsgRefused);
    }
  }

  // 4. The public IP exists and has its address.
  let address: string | undefined;
  if (source?.kind === 'managed') {
    const wanted = managedPublicIpBody(intent, scope, source.dnsLabel, managed?.tags);
    const put: AzureStep = {
      kind: 'putPublicIp',
      resourceGroup: scope.resourceGroup,
      name: managedName,
      body: wanted,
    };
    if (managed === undefined) {
      steps.push(put);
      return pending('Provisioning', `creating public IP ${managedName}`);
    }
    const changing = managed.provisioningState === 'Updating' || managed.provisioningState === 'Deleting';
    if (!changing && (managed.provisioningState === 'Failed' || !publicIpHolds(managed, wanted))) {
      steps.push(put);
      return pending('Provisioning', `updating public IP ${managedName}`);
    }
    if (managed.provisioningState !== 'Succeeded' || managed.ipAddress === undefined) {
      return pending(
        'Provisioning',
        `public IP ${managedName} is ${managed.provisioningState ?? 'provisioning'}`,
      );
    }
    address = managed.ipAddress;
  } else if (userIp !== undefined) {
    if (userIp.provisioningState !== 'Succeeded' || userIp.ipAddress === undefined) {
      return pending(
        'Provisioning',
        `public IP ${userIp.name} is ${userIp.provisioningState ?? 'provisioning'}`,
      );
    }
    address = userIp.ipAddress;
  }

  // 5. The slice in the load balancer; the NSG rules with it when the address is known already (public, or
  // internal with a static address), else once ARM gave the frontend its address.
  const nsgState = observation.writers.securityGroup;
  const ensureRules = (destination: string): { outcome: AzurePlan } | { pending: string } | 'inPlace' => {
    if (nsg === undefined) return 'inPlace';
    const nsgSlice = securityGroupSlice(intent, settings, destination, scope.cluster);
    if (nsgSlice === null) return 'inPlace';
    const nsgKey = sliceKey(nsgSlice);
    if (nsgState?.phase === 'failed' && nsgState.key === nsgKey) {
      steps.push({ kind: 'forgetFailure', writer: 'securityGroup', owner, key: nsgKey });
      return { outcome: failed(nsgState.reason, nsgState.message) };
    }
    if (holdsSecurityRules(nsg.body, nsgSlice)) {
      const ownWrite = nsgState?.phase === 'written' && nsgState.key === nsgKey;
      if (nsg.provisioningState !== undefined && nsg.provisioningState !== 'Succeeded' && !ownWrite) {
        return { pending: `network security group ${nsg.body.name} is ${nsg.provisioningState}` };
      }
      return 'inPlace';
    }
    if (!inHand(nsgState, nsgKey)) {
      const refused = mergeSecurityGroup(nsg.body, [{ owner, slice: nsgSlice }], limits).rejected.get(owner);
      if (refused !== undefined) return { outcome: failed('LimitExceeded', refused) };
      steps.push({ kind: 'submitSecurityGroup', owner, slice: nsgSlice, key: nsgKey });
    }
    return { pending: `network security group ${nsg.body.name}: writing rules for ${destination}` };
  };
  const knownAddress = address ?? settings.privateAddress;
  if (!inPlace) {
    if (knownAddress !== undefined) {
      const rules = ensureRules(knownAddress);
      if (typeof rules === 'object' && 'outcome' in rules) return rules.outcome;
    }
    if (!inHand(state, key)) steps.push({ kind: 'submitLoadBalancer', visibility, owner, slice, key });
    return pending('Updating', `load balancer ${lbName}: writing frontend ${owner} and its rules`);
  }
  if (lb === undefined) return pending('Updating', `load balancer ${lbName} is being created`);
  if (pool !== undefined && !holdsBackendPool(lb.body, pool) && !busy(state)) {
    // The frontend works; the pool follows the nodes in one write for every Service.
    steps.push({ kind: 'refreshBackendPool', visibility });
  }
  if (lb.provisioningState === 'Failed') {
    if (!busy(state)) steps.push({ kind: 'refreshBackendPool', visibility, force: true });
    return pending('Updating', `load balancer ${lbName} failed to provision; writing it again`);
  }
  // Another Service's write keeps the load balancer Updating; a Service whose own write has finished is not held
  // back by it (its frontend works), or every write would flap every Service's readiness.
  const ownWriteDone = state?.phase === 'written' && state.key === key;
  if (lb.provisioningState !== 'Succeeded' && !ownWriteDone) {
    return pending('Updating', `load balancer ${lbName} is ${lb.provisioningState ?? 'provisioning'}`);
  }

  // 6. The frontend's address (internal: the private address ARM gave it).
  if (settings.internal) {
    const frontend = lb.body.frontendIPConfigurations.find((f) => f.name === owner);
    const privateAddress = frontend?.privateIPAddress;
    if (typeof privateAddress !== 'string' || privateAddress === '') {
      return pending('Updating', `frontend ${owner} has no private address yet`);
    }
    address = privateAddress;
  }
  if (address === undefined) return failed('InternalError', 'no address for the frontend');

  // 7. The NSG rules for the frontend.
  if (nsg !== undefined) {
    const rules = ensureRules(address);
    if (typeof rules === 'object')
      return 'outcome' in rules ? rules.outcome : pending('Updating', rules.pending);
  } else if (settings.access.manage && observation.noSecurityGroup) {
    notices.push({
      reason: 'NoSecurityGroup',
      message:
        'no network security group is configured or attached to the subnet, so Sluice writes no rules for this ' +
        'Service: a Standard load balancer admits no inbound traffic until an NSG allows it',
    });
  }

  // 8. The public IP Sluice made, once nothing uses it any more (the Service now uses the user's, or is internal).
  if (managed !== undefined && source?.kind !== 'managed') {
    if (managed.usedBy === undefined && managed.provisioningState !== 'Deleting') {
      steps.push({ kind: 'deletePublicIp', resourceGroup: managed.resourceGroup, name: managed.name });
      changed.push({
        reason: 'DeletingPublicIP',
        message: `deleting public IP ${managed.name}, no longer used`,
      });
    }
  }

  if (observation.writers.sharedFailure !== undefined) {
    notices.push({ reason: 'BackendPoolNotUpdated', message: observation.writers.sharedFailure });
  }
  return result({ kind: 'ready', address, notices, changed });
}

/** Why the user's public IP cannot be this Service's frontend, if it cannot. */
function userPublicIpProblem(
  pip: ObservedPublicIp,
  source: { kind: 'named' | 'address'; address?: string },
  scope: AzureScope,
  ownFrontendId: string,
  serviceUid: string,
): { reason: string; message: string } | undefined {
  if (isOwnedPublicIp(pip.tags, scope.cluster) && !isOwnedPublicIp(pip.tags, scope.cluster, serviceUid)) {
    return {
      reason: 'AddressInUse',
      message: `was created by Sluice for Service ${pip.tags[TAG.service] ?? '?'}`,
    };
  }
  if (pip.sku !== undefined && pip.sku !== 'Standard') {
    return {
      reason: 'InvalidConfiguration',
      message: `has SKU ${pip.sku}; a Standard load balancer needs a Standard public IP`,
    };
  }
  if (pip.version !== undefined && pip.version !== 'IPv4') {
    return { reason: 'InvalidConfiguration', message: 'is not IPv4 (Sluice builds IPv4 frontends on Azure)' };
  }
  if (
    pip.location !== undefined &&
    pip.location.replace(/\s/g, '').toLowerCase() !== scope.location.replace(/\s/g, '').toLowerCase()
  ) {
    return {
      reason: 'InvalidConfiguration',
      message: `is in ${pip.location}, the load balancer in ${scope.location}`,
    };
  }
  if (source.address !== undefined && pip.ipAddress !== undefined && pip.ipAddress !== source.address) {
    return {
      reason: 'ConflictingAnnotations',
      message: `has the address ${pip.ipAddress}, but the Service asks for ${source.address}`,
    };
  }
  if (pip.usedBy !== undefined && !sameId(pip.usedBy, ownFrontendId)) {
    return { reason: 'AddressInUse', message: `is already used by ${pip.usedBy}` };
  }
  return undefined;
}

/** Removal: everything Sluice made for the Service, in order (frontend and rules, NSG rules, then its public IP). */
export function planRemoval(
  owner: string,
  observation: Pick<AzureObservation, 'loadBalancers' | 'managedPublicIp' | 'securityGroup' | 'writers'>,
  cluster: string,
  serviceUid: string,
): AzureRemovalPlan {
  const steps: AzureStep[] = [];
  const waitingFor: string[] = [];
  for (const visibility of ['public', 'internal'] as const) {
    const lb = observation.loadBalancers[visibility];
    if (holdsNothingOf(lb?.body, owner)) continue;
    waitingFor.push(`its frontend on load balancer ${lb?.body.name}`);
    const state = observation.writers.loadBalancer[visibility];
    if (!inHand(state, REMOVAL_KEY)) {
      if (state?.phase === 'failed') {
        steps.push({ kind: 'forgetFailure', writer: visibility, owner, key: state.key });
        waitingFor.push(state.message);
      }
      steps.push({ kind: 'submitLoadBalancer', visibility, owner, slice: null, key: REMOVAL_KEY });
    }
  }
  const nsg = observation.securityGroup?.observed;
  if (nsg !== undefined && !holdsNoRulesOf(nsg.body, owner)) {
    waitingFor.push(`its rules in network security group ${nsg.body.name}`);
    const state = observation.writers.securityGroup;
    if (!inHand(state, REMOVAL_KEY)) {
      if (state?.phase === 'failed')
        steps.push({ kind: 'forgetFailure', writer: 'securityGroup', owner, key: state.key });
      steps.push({ kind: 'submitSecurityGroup', owner, slice: null, key: REMOVAL_KEY });
    }
  }
  const pip = observation.managedPublicIp;
  if (pip !== undefined && isOwnedPublicIp(pip.tags, cluster, serviceUid)) {
    waitingFor.push(`public IP ${pip.name}`);
    // A public IP can be deleted only after no frontend uses it.
    if (pip.usedBy === undefined && pip.provisioningState !== 'Deleting') {
      steps.push({ kind: 'deletePublicIp', resourceGroup: pip.resourceGroup, name: pip.name });
    }
  }
  return { steps, gone: waitingFor.length === 0, waitingFor };
}
