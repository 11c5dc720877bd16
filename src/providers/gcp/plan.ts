// From what exists to what the Service asks for: the writes that can start now. Pure.
//
// Compute refuses a reference to something that does not exist yet (a forwarding rule naming a
// backend service being created) and the deletion of something still referenced, so each plan holds
// only the writes whose prerequisites the observed state already shows; the rest waits (`deferred`)
// for a later reconcile. Nothing new starts while an operation of this Service still runs.
import type { LoadBalancerIntent, ServiceRef } from '../../intent/types.ts';
import { desiredLoadBalancer } from './desired.ts';
import type {
  AddressSpec,
  BackendServiceSpec,
  Existing,
  FailedOperation,
  FirewallSpec,
  ForwardingRuleSpec,
  GcpConfig,
  GcpObserved,
  GcpOperation,
  GcpPlan,
  GcpSettings,
  HealthCheckSpec,
} from './model.ts';
import {
  isOwned,
  sameResource,
  serviceHealthCheckName,
  serviceHealthFirewallName,
  sharedHealthCheckName,
  sharedHealthFirewallName,
  urls,
} from './names.ts';

const sorted = (list: ReadonlyArray<string>): string[] => [...list].sort();
const sameList = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const sameRefs = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && sorted(a).every((x, i) => sameResource(x, sorted(b)[i] ?? ''));
const sameOptionalRef = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined ? a === b : sameResource(a, b);

/** Operation errors that retrying cannot fix: the user (or the platform team) must act. */
const PERMANENT: Record<string, string> = {
  QUOTA_EXCEEDED: 'QuotaExceeded',
  IP_IN_USE_BY_ANOTHER_RESOURCE: 'AddressInUse',
  INVALID_USAGE: 'InvalidConfiguration',
  RESOURCE_NOT_FOUND: 'InvalidConfiguration',
};

function failureProblem(failed: ReadonlyArray<FailedOperation>): GcpPlan['problem'] {
  const permanent = failed.find((f) => PERMANENT[f.code] !== undefined);
  if (!permanent) return undefined;
  return {
    reason: PERMANENT[permanent.code]!,
    message: `${permanent.target}: ${permanent.code}: ${permanent.message}`,
  };
}

function addressDiffers(want: AddressSpec, have: Existing<AddressSpec>): boolean {
  return (
    want.addressType !== have.addressType ||
    (want.networkTier !== undefined && want.networkTier !== have.networkTier) ||
    !sameOptionalRef(want.subnetwork, have.subnetwork) ||
    (want.address !== undefined && want.address !== have.address)
  );
}

function healthCheckDiffers(want: HealthCheckSpec, have: HealthCheckSpec): boolean {
  return (
    want.port !== have.port ||
    want.requestPath !== have.requestPath ||
    want.checkIntervalSec !== have.checkIntervalSec ||
    want.timeoutSec !== have.timeoutSec ||
    want.healthyThreshold !== have.healthyThreshold ||
    want.unhealthyThreshold !== have.unhealthyThreshold
  );
}

function backendDiffers(want: BackendServiceSpec, have: BackendServiceSpec): boolean {
  return (
    want.sessionAffinity !== have.sessionAffinity ||
    !sameResource(want.healthCheck, have.healthCheck) ||
    !sameRefs(want.groups, have.groups) ||
    !sameOptionalRef(want.network, have.network)
  );
}

/**
 * Any change of a forwarding rule means a new rule (the IP stays: it is a reserved address). Compute
 * can patch allowGlobalAccess in place, but Sluice recreates for that too: one path, tested end to end.
 */
function forwardingRuleChange(want: ForwardingRuleSpec, have: ForwardingRuleSpec): 'none' | 'recreate' {
  const ports = (p: ForwardingRuleSpec['ports']) =>
    p === 'all' ? 'all' : JSON.stringify(sorted(p.map(String)));
  if (
    want.ip !== have.ip ||
    ports(want.ports) !== ports(have.ports) ||
    !sameResource(want.backendService, have.backendService) ||
    (want.networkTier ?? 'PREMIUM') !== (have.networkTier ?? 'PREMIUM') ||
    !sameOptionalRef(want.subnetwork, have.subnetwork)
  ) {
    return 'recreate';
  }
  return Boolean(want.allowGlobalAccess) === Boolean(have.allowGlobalAccess) ? 'none' : 'recreate';
}

function firewallDiffers(want: FirewallSpec, have: FirewallSpec): boolean {
  const allowed = (f: FirewallSpec) =>
    JSON.stringify(sorted(f.allowed.map((a) => `${a.protocol}:${sorted(a.ports).join(',')}`)));
  return (
    !sameList(want.sourceRanges, have.sourceRanges) ||
    !sameList(want.destinationRanges ?? [], have.destinationRanges ?? []) ||
    allowed(want) !== allowed(have) ||
    !sameList(want.targetTags, have.targetTags) ||
    want.priority !== have.priority
  );
}

/** Resources at one of this Service's names that Sluice did not make for it: never touched. */
function foreign(observed: GcpObserved, cluster: string, uid: string): string[] {
  const own = [
    ...observed.addresses,
    ...observed.backendServices,
    ...observed.forwardingRules,
    ...observed.healthChecks.filter((h) => h.name !== sharedHealthCheckName(cluster)),
    ...observed.firewalls.filter((f) => f.name !== sharedHealthFirewallName(cluster)),
  ].filter((r) => !isOwned(r.description, cluster, uid));
  const shared = [
    ...observed.healthChecks.filter((h) => h.name === sharedHealthCheckName(cluster)),
    ...observed.firewalls.filter((f) => f.name === sharedHealthFirewallName(cluster)),
    ...observed.instanceGroups,
  ].filter((r) => !isOwned(r.description, cluster));
  return [...own, ...shared].map((r) => r.name);
}

function problemPlan(reason: string, message: string): GcpPlan {
  return { ops: [], deferred: [], changed: [], problem: { reason, message } };
}

export function planLoadBalancer(
  intent: LoadBalancerIntent,
  settings: GcpSettings,
  config: GcpConfig,
  observed: GcpObserved,
): GcpPlan {
  const { cluster, project, region } = config;
  if (observed.running.length > 0) {
    return { ops: [], deferred: observed.running.map((r) => `${r.target} (running)`), changed: [] };
  }
  const failure = failureProblem(observed.failed);
  if (failure) return { ops: [], deferred: [], changed: [], problem: failure };
  const conflicts = foreign(observed, cluster, intent.service.uid);
  if (conflicts.length > 0) {
    return problemPlan(
      'NameConflict',
      `${conflicts.join(', ')} already exist and were not made by Sluice for this Service (cluster ${cluster}); ` +
        'Sluice leaves them alone: delete or rename them',
    );
  }
  if (settings.scheme === 'INTERNAL' && observed.subnetwork === 'absent') {
    return problemPlan(
      'SubnetNotFound',
      `subnetwork ${settings.subnetwork} does not exist in region ${region} of project ${project}`,
    );
  }
  const requested = observed.requestedAddress;
  if (settings.requestedIp !== undefined && settings.scheme === 'EXTERNAL' && requested === 'absent') {
    return problemPlan(
      'AddressNotReserved',
      `${settings.requestedIp} is not a reserved static address of project ${project} in ${region}: reserve it ` +
        `first (gcloud compute addresses create NAME --addresses ${settings.requestedIp} --region ${region})`,
    );
  }
  if (typeof requested === 'object' && !requested.owned && requested.addressType !== settings.scheme) {
    return problemPlan(
      'AddressNotReserved',
      `${requested.ip} is the ${requested.addressType} address ${requested.name}; this Service is ${settings.scheme}`,
    );
  }

  const desired = desiredLoadBalancer(intent, settings, config, observed);
  const ops: GcpOperation[] = [];
  const deferred: string[] = [];
  const changed: GcpPlan['changed'] = [];
  const ruleUsing = (ip: string | undefined) =>
    ip ? observed.forwardingRules.filter((r) => r.ip === ip) : ([] as Array<Existing<ForwardingRuleSpec>>);

  // The address first: the rules and the client firewall need its IP.
  let ip = desired.userAddress?.ip;
  if (desired.address) {
    const have = observed.addresses.find((a) => a.name === desired.address?.name);
    if (!have) ops.push({ kind: 'insert', resource: 'address', spec: desired.address });
    else if (addressDiffers(desired.address, have)) {
      const users = ruleUsing(have.address);
      if (users.length > 0) {
        for (const rule of users) ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
        changed.push({
          reason: 'RecreatingForwardingRule',
          message: `address ${have.name} must be reserved again (tier or subnetwork changed): its forwarding rules go first`,
        });
      } else ops.push({ kind: 'delete', resource: 'address', name: have.name });
    } else ip = have.address;
  }

  // The health check (shared or the Service's own).
  const { shared: _shared, ...healthCheck } = desired.healthCheck;
  const haveCheck = observed.healthChecks.find((h) => h.name === healthCheck.name);
  if (!haveCheck) ops.push({ kind: 'insert', resource: 'healthCheck', spec: healthCheck });
  else if (healthCheckDiffers(healthCheck, haveCheck))
    ops.push({ kind: 'patch', resource: 'healthCheck', spec: healthCheck });

  // The cluster's instance groups and their members.
  for (const group of desired.instanceGroups) {
    const have = observed.instanceGroups.find((g) => g.name === group.name && g.zone === group.zone);
    if (!have) {
      ops.push({ kind: 'insert', resource: 'instanceGroup', spec: { ...group, instances: [] } });
      if (group.instances.length > 0) deferred.push(`instance group ${group.name} in ${group.zone}: members`);
      continue;
    }
    const add = group.instances.filter((i) => !have.instances.some((h) => sameResource(h, i)));
    const remove = have.instances.filter((h) => !group.instances.some((i) => sameResource(h, i)));
    // One membership change per group at a time: Compute refuses a second while the first runs.
    if (add.length > 0)
      ops.push({ kind: 'addInstances', group: group.name, zone: group.zone, instances: add });
    if (remove.length > 0 && add.length > 0)
      deferred.push(`instance group ${group.name} in ${group.zone}: removals`);
    else if (remove.length > 0) {
      ops.push({ kind: 'removeInstances', group: group.name, zone: group.zone, instances: remove });
    }
  }
  // A zone without eligible nodes keeps its (shared) group, emptied; removal deletes it when unused.
  for (const have of observed.instanceGroups) {
    if (desired.instanceGroups.some((g) => g.zone === have.zone) || have.instances.length === 0) continue;
    ops.push({ kind: 'removeInstances', group: have.name, zone: have.zone, instances: have.instances });
  }

  // Backend services: after their health check and instance groups exist.
  const groupsReady = desired.instanceGroups.every((g) =>
    observed.instanceGroups.some((h) => h.name === g.name && h.zone === g.zone),
  );
  const prerequisitesReady = haveCheck !== undefined && groupsReady;
  for (const backend of desired.backendServices) {
    const have = observed.backendServices.find((b) => b.name === backend.name);
    if (!prerequisitesReady) {
      if (!have || backendDiffers(backend, have)) deferred.push(`backend service ${backend.name}`);
      continue;
    }
    if (!have) ops.push({ kind: 'insert', resource: 'backendService', spec: backend });
    else if (backendDiffers(backend, have)) {
      if (!sameResource(backend.healthCheck, have.healthCheck)) {
        changed.push({
          reason: 'SwitchingHealthCheck',
          message: `backend service ${backend.name} → ${healthCheck.name}`,
        });
      }
      ops.push({
        kind: 'patch',
        resource: 'backendService',
        spec: backend,
        ...(have.fingerprint ? { fingerprint: have.fingerprint } : {}),
      });
    }
  }

  // Forwarding rules: after their backend service and the IP.
  for (const rule of desired.forwardingRules) {
    const have = observed.forwardingRules.find((r) => r.name === rule.name);
    const backendExists = observed.backendServices.some((b) => b.name === rule.name);
    if (!have) {
      if (ip && backendExists)
        ops.push({ kind: 'insert', resource: 'forwardingRule', spec: { ...rule, ip } });
      else deferred.push(`forwarding rule ${rule.name}`);
      continue;
    }
    if (!ip) continue;
    const change = forwardingRuleChange({ ...rule, ip }, have);
    if (change === 'recreate' && !ops.some((o) => o.kind === 'delete' && o.name === rule.name)) {
      ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
      changed.push({
        reason: 'RecreatingForwardingRule',
        message: `forwarding rule ${rule.name} is replaced (ports, tier, subnetwork, global access or address changed; the reserved IP stays)`,
      });
    }
  }

  // Firewalls: clients (needs the IP) and health-check probes.
  for (const firewall of desired.firewalls) {
    const spec = firewall.destinationRanges ? { ...firewall, destinationRanges: ip ? [ip] : [] } : firewall;
    if (firewall.destinationRanges && !ip) {
      deferred.push(`firewall ${firewall.name}`);
      continue;
    }
    const have = observed.firewalls.find((f) => f.name === firewall.name);
    if (!have) ops.push({ kind: 'insert', resource: 'firewall', spec });
    else if (firewallDiffers(spec, have)) ops.push({ kind: 'patch', resource: 'firewall', spec });
  }

  // What the Service no longer needs, in dependency order.
  const wantedRules = new Set(desired.forwardingRules.map((r) => r.name));
  const scheme = settings.scheme;
  for (const rule of observed.forwardingRules) {
    if (wantedRules.has(rule.name) || ops.some((o) => o.kind === 'delete' && o.name === rule.name)) continue;
    ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
    if (rule.scheme !== scheme) {
      changed.push({
        reason: 'ReplacingLoadBalancer',
        message: `the ${rule.scheme.toLowerCase()} forwarding rule ${rule.name} goes: the Service is ${scheme.toLowerCase()} now`,
      });
    }
  }
  const wantedBackends = new Set(desired.backendServices.map((b) => b.name));
  for (const backend of observed.backendServices) {
    if (wantedBackends.has(backend.name)) continue;
    if (observed.forwardingRules.some((r) => r.name === backend.name))
      deferred.push(`delete backend service ${backend.name}`);
    else ops.push({ kind: 'delete', resource: 'backendService', name: backend.name });
  }
  const ownCheck = serviceHealthCheckName(cluster, intent.service);
  if (healthCheck.name !== ownCheck && observed.healthChecks.some((h) => h.name === ownCheck)) {
    const ownUrl = urls.healthCheck(project, region, ownCheck);
    if (observed.backendServices.some((b) => sameResource(b.healthCheck, ownUrl))) {
      deferred.push(`delete health check ${ownCheck}`);
    } else ops.push({ kind: 'delete', resource: 'healthCheck', name: ownCheck });
  }
  const ownHealthFirewall = serviceHealthFirewallName(cluster, intent.service);
  if (
    !desired.firewalls.some((f) => f.name === ownHealthFirewall) &&
    observed.firewalls.some((f) => f.name === ownHealthFirewall)
  ) {
    ops.push({ kind: 'delete', resource: 'firewall', name: ownHealthFirewall });
  }
  for (const address of observed.addresses) {
    if (address.name === desired.address?.name || !isOwned(address.description, cluster, intent.service.uid))
      continue;
    if (ruleUsing(address.address).length > 0) deferred.push(`delete address ${address.name}`);
    else ops.push({ kind: 'delete', resource: 'address', name: address.name });
  }

  const done = ops.length === 0 && deferred.length === 0 && ip !== undefined && ip !== '';
  return { ops, deferred, changed, ...(done ? { ip } : {}) };
}

/**
 * Everything this Service owns, in dependency order: rules, then backend services, then what they
 * used. The cluster's shared health check, its firewall and the instance groups go too when no other
 * backend service uses them (`observed.sharedUsers`).
 */
export function planRemoval(service: ServiceRef, config: GcpConfig, observed: GcpObserved): GcpPlan {
  const { cluster } = config;
  if (observed.running.length > 0) {
    return { ops: [], deferred: observed.running.map((r) => `${r.target} (running)`), changed: [] };
  }
  const mine = <T extends { description: string }>(list: T[]) =>
    list.filter((r) => isOwned(r.description, cluster, service.uid));
  const ops: GcpOperation[] = [];
  const deferred: string[] = [];
  const rules = mine(observed.forwardingRules);
  const backends = mine(observed.backendServices);
  for (const rule of rules) ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
  for (const backend of backends) {
    if (rules.some((r) => r.name === backend.name)) deferred.push(`delete backend service ${backend.name}`);
    else ops.push({ kind: 'delete', resource: 'backendService', name: backend.name });
  }
  for (const firewall of mine(observed.firewalls))
    ops.push({ kind: 'delete', resource: 'firewall', name: firewall.name });
  for (const address of mine(observed.addresses)) {
    if (rules.some((r) => r.ip === address.address)) deferred.push(`delete address ${address.name}`);
    else ops.push({ kind: 'delete', resource: 'address', name: address.name });
  }
  for (const check of mine(observed.healthChecks)) {
    if (backends.length > 0) deferred.push(`delete health check ${check.name}`);
    else ops.push({ kind: 'delete', resource: 'healthCheck', name: check.name });
  }
  // Shared resources: only once this Service's backend services are gone and nobody else uses them.
  if (backends.length === 0 && (observed.sharedUsers ?? []).length === 0) {
    const ours = <T extends { description: string }>(list: T[]) =>
      list.filter((r) => isOwned(r.description, cluster));
    for (const check of ours(observed.healthChecks).filter(
      (h) => h.name === sharedHealthCheckName(cluster),
    )) {
      ops.push({ kind: 'delete', resource: 'healthCheck', name: check.name });
    }
    for (const firewall of ours(observed.firewalls).filter(
      (f) => f.name === sharedHealthFirewallName(cluster),
    )) {
      ops.push({ kind: 'delete', resource: 'firewall', name: firewall.name });
    }
    for (const group of ours(observed.instanceGroups)) {
      ops.push({ kind: 'delete', resource: 'instanceGroup', name: group.name, zone: group.zone });
    }
  }
  return { ops, deferred, changed: [] };
}
