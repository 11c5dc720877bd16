// From what exists to what the Service asks for: the writes that can start now. Pure.
//
// Compute refuses a reference to something that does not exist yet (a forwarding rule naming a
// backend service being created) and the deletion of something still referenced, so each plan holds
// only the writes whose prerequisites the observed state already shows; the rest waits (`deferred`)
// for a later reconcile. Nothing new starts while an operation of this Service still runs.
//
// Order of creation: address, health check (+ its firewall), instance groups → backend services →
// forwarding rules (+ the client firewall, which needs the IP). Deletion in reverse: forwarding rule →
// backend service → what it used (health check, address, firewalls) → the cluster's shared resources.
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
  GcpDesired,
  GcpObserved,
  GcpOperation,
  GcpPlan,
  GcpSettings,
  HealthCheckSpec,
  Scheme,
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
  a.length === b.length && a.every((x) => b.some((y) => sameResource(x, y)));
const sameOptionalRef = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined ? a === b : sameResource(a, b);
const schemeWord = (scheme: Scheme): string => scheme.toLowerCase();

// ---- Failed operations ----------------------------------------------------------------------------

/**
 * Operation errors that the next reconcile resolves by itself: something still in use or not ready
 * (retried in dependency order), a stale fingerprint (read again), a resource or member that is
 * already as wanted (adopted / nothing to do), and Compute's own transient failures.
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE',
  'RESOURCE_NOT_READY',
  'CONDITION_NOT_MET',
  'ALREADY_EXISTS',
  'MEMBER_ALREADY_EXISTS',
  'MEMBER_NOT_FOUND',
  'INTERNAL_ERROR',
  'RATE_LIMIT_EXCEEDED',
  'RESOURCE_OPERATION_RATE_EXCEEDED',
  'SERVICE_UNAVAILABLE',
  'TIMEOUT',
]);

/** Reasons (and what to do) for the errors a user or the platform team must act on. */
const PERMANENT: Readonly<Record<string, { reason: string; hint: string }>> = {
  QUOTA_EXCEEDED: {
    reason: 'QuotaExceeded',
    hint: 'raise the quota or delete unused resources of the project; Sluice retries with backoff',
  },
  IP_IN_USE_BY_ANOTHER_RESOURCE: {
    reason: 'AddressInUse',
    hint: 'another resource holds this IP and port; free it or ask for another address',
  },
  IP_SPACE_EXHAUSTED: {
    reason: 'AddressSpaceExhausted',
    hint: 'the subnetwork has no free address; use a larger or another subnetwork',
  },
  RESOURCE_NOT_FOUND: {
    reason: 'ReferenceNotFound',
    hint: 'a resource it refers to does not exist (check --gcp-network and the subnetwork); retried with backoff',
  },
};

/**
 * A failed operation the next reconcile cannot fix by itself → a problem: apply reports `failed`, so
 * the controller backs off before the writes are planned again (observe reports each failure once).
 * Transient errors are not problems: the plan simply goes on, and retries what is still missing.
 */
export function failureProblem(failed: ReadonlyArray<FailedOperation>): GcpPlan['problem'] {
  const lasting = failed.filter((f) => {
    if (TRANSIENT_CODES.has(f.code)) return false;
    // A delete whose resource is already gone is done.
    return !(f.code === 'RESOURCE_NOT_FOUND' && f.target.endsWith(' delete'));
  });
  const first = lasting[0];
  if (!first) return undefined;
  const known = PERMANENT[first.code];
  const more = lasting.length > 1 ? ` (and ${lasting.length - 1} more failed operations)` : '';
  return {
    reason: known?.reason ?? 'OperationFailed',
    message: `${first.target}: ${first.code}: ${first.message}${known ? `: ${known.hint}` : ''}${more}`,
  };
}

// ---- Comparisons: only the fields Sluice sets ---------------------------------------------------

function addressDiffers(want: AddressSpec, have: Existing<AddressSpec>, sharedByRules: boolean): boolean {
  return (
    want.addressType !== have.addressType ||
    (want.networkTier !== undefined && want.networkTier !== have.networkTier) ||
    !sameOptionalRef(want.subnetwork, have.subnetwork) ||
    (want.address !== undefined && want.address !== have.address) ||
    // The purpose matters only when two internal rules share the IP (an older address lacks it).
    (sharedByRules && have.purpose !== undefined && want.purpose !== have.purpose)
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
 * What differs on a forwarding rule; any difference means a new rule (deleted, then inserted on a
 * later reconcile: the IP stays, it is a reserved address). Compute can patch allowGlobalAccess in
 * place, but GcpOperation has no rule patch and the simulator no forwardingRules.patch: recreated too.
 */
function forwardingRuleDifferences(want: ForwardingRuleSpec, have: ForwardingRuleSpec): string[] {
  const ports = (p: ForwardingRuleSpec['ports']) =>
    p === 'all' ? 'all ports' : sorted(p.map(String)).join(',');
  const differences: string[] = [];
  if (want.ip !== have.ip) differences.push(`address ${have.ip} → ${want.ip}`);
  if (ports(want.ports) !== ports(have.ports))
    differences.push(`ports ${ports(have.ports)} → ${ports(want.ports)}`);
  if (!sameResource(want.backendService, have.backendService)) differences.push('backend service');
  if ((want.networkTier ?? 'PREMIUM') !== (have.networkTier ?? 'PREMIUM'))
    differences.push(`tier ${have.networkTier ?? 'PREMIUM'} → ${want.networkTier ?? 'PREMIUM'}`);
  if (!sameOptionalRef(want.subnetwork, have.subnetwork)) differences.push('subnetwork');
  if (Boolean(want.allowGlobalAccess) !== Boolean(have.allowGlobalAccess))
    differences.push(`global access ${Boolean(want.allowGlobalAccess)}`);
  return differences;
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

// ---- Checks before any write ---------------------------------------------------------------------

/** Resources at one of this Service's names (or the cluster's shared names) that Sluice did not make. */
function foreign(observed: GcpObserved, cluster: string, uid: string): string[] {
  const isSharedCheck = (name: string) => name === sharedHealthCheckName(cluster);
  const isSharedFirewall = (name: string) => name === sharedHealthFirewallName(cluster);
  const perService = [
    ...observed.addresses.map((r) => ({ kind: 'address', r })),
    ...observed.backendServices.map((r) => ({ kind: 'backend service', r })),
    ...observed.forwardingRules.map((r) => ({ kind: 'forwarding rule', r })),
    ...observed.healthChecks.filter((h) => !isSharedCheck(h.name)).map((r) => ({ kind: 'health check', r })),
    ...observed.firewalls.filter((f) => !isSharedFirewall(f.name)).map((r) => ({ kind: 'firewall', r })),
  ].filter(({ r }) => !isOwned(r.description, cluster, uid));
  const shared = [
    ...observed.healthChecks.filter((h) => isSharedCheck(h.name)).map((r) => ({ kind: 'health check', r })),
    ...observed.firewalls.filter((f) => isSharedFirewall(f.name)).map((r) => ({ kind: 'firewall', r })),
    ...observed.instanceGroups.map((r) => ({ kind: `instance group (${r.zone})`, r })),
  ].filter(({ r }) => !isOwned(r.description, cluster));
  return [...perService, ...shared].map(({ kind, r }) => `${kind} ${r.name}`);
}

function problemPlan(reason: string, message: string): GcpPlan {
  return { ops: [], deferred: [], changed: [], problem: { reason, message } };
}

function runningPlan(observed: GcpObserved): GcpPlan {
  return { ops: [], deferred: observed.running.map((r) => `${r.target} (running)`), changed: [] };
}

// ---- The load balancer ---------------------------------------------------------------------------

export function planLoadBalancer(
  intent: LoadBalancerIntent,
  settings: GcpSettings,
  config: GcpConfig,
  observed: GcpObserved,
): GcpPlan {
  const { cluster, project, region } = config;
  if (observed.running.length > 0) return runningPlan(observed);
  const failure = failureProblem(observed.failed);
  if (failure) return { ops: [], deferred: [], changed: [], problem: failure };
  const conflicts = foreign(observed, cluster, intent.service.uid);
  if (conflicts.length > 0) {
    return problemPlan(
      'NameConflict',
      `${conflicts.join(', ')}: already exist and were not made by Sluice for this Service (cluster ${cluster}); ` +
        'Sluice leaves them alone: delete or rename them',
    );
  }
  const internal = settings.scheme === 'INTERNAL';
  if (internal && observed.subnetwork === 'absent') {
    return problemPlan(
      'SubnetNotFound',
      `subnetwork ${settings.subnetwork} does not exist in region ${region} of project ${project}: ` +
        'create it, or name another one (networking.gke.io/internal-load-balancer-subnet or --gcp-subnetwork)',
    );
  }
  const requested = observed.requestedAddress;
  if (settings.requestedIp !== undefined && !internal && requested === 'absent') {
    return problemPlan(
      'AddressNotReserved',
      `${settings.requestedIp} is not a reserved static address of project ${project} in ${region}: reserve it ` +
        `first (gcloud compute addresses create NAME --addresses ${settings.requestedIp} --region ${region})`,
    );
  }
  const protocolsUsed = (['TCP', 'UDP'] as const).filter((p) => settings.ports[p].length > 0).length;
  if (typeof requested === 'object') {
    // Even Sluice's own address of the other scheme: an address's type never changes.
    if (requested.addressType !== settings.scheme) {
      return problemPlan(
        'AddressNotReserved',
        `${requested.ip} is the ${schemeWord(requested.addressType)} address ${requested.name}; this Service is ` +
          `${schemeWord(settings.scheme)}: ask for an ${schemeWord(settings.scheme)} address`,
      );
    }
    if (
      !requested.owned &&
      internal &&
      protocolsUsed > 1 &&
      requested.purpose !== undefined &&
      requested.purpose !== 'SHARED_LOADBALANCER_VIP'
    ) {
      return problemPlan(
        'AddressNotShareable',
        `${requested.ip} (address ${requested.name}) would carry a TCP and a UDP forwarding rule, and an internal ` +
          `address shared by rules needs purpose SHARED_LOADBALANCER_VIP (it has ${requested.purpose}): reserve it ` +
          `with gcloud compute addresses create NAME --region ${region} --subnet SUBNET --addresses ${requested.ip} ` +
          '--purpose SHARED_LOADBALANCER_VIP',
      );
    }
  }

  const desired = desiredLoadBalancer(intent, settings, config, observed);
  const ops: GcpOperation[] = [];
  const deferred: string[] = [];
  const changed: GcpPlan['changed'] = [];
  const deleting = (name: string, resource: string) =>
    ops.some((o) => o.kind === 'delete' && o.resource === resource && o.name === name);
  const rulesOn = (ip: string | undefined) =>
    ip ? observed.forwardingRules.filter((r) => r.ip === ip) : ([] as Array<Existing<ForwardingRuleSpec>>);

  // The address first: the rules and the client firewall need its IP.
  const ip = planAddress(desired, observed, protocolsUsed > 1 && internal, ops, deferred, changed);

  // The health check (shared or the Service's own; its probe firewall is with the firewalls below).
  const { shared: _shared, ...healthCheck } = desired.healthCheck;
  const haveCheck = observed.healthChecks.find((h) => h.name === healthCheck.name);
  if (!haveCheck) ops.push({ kind: 'insert', resource: 'healthCheck', spec: healthCheck });
  else if (healthCheckDiffers(healthCheck, haveCheck))
    ops.push({ kind: 'patch', resource: 'healthCheck', spec: healthCheck });

  // The cluster's instance groups and their members.
  planInstanceGroups(desired, observed, ops, deferred);

  // Backend services: after their health check and instance groups exist.
  const missingGroups = desired.instanceGroups.filter(
    (g) => !observed.instanceGroups.some((h) => h.name === g.name && h.zone === g.zone),
  );
  const waitsFor = [
    ...(haveCheck ? [] : [`health check ${healthCheck.name}`]),
    ...missingGroups.map((g) => `instance group ${g.name} (${g.zone})`),
  ];
  for (const backend of desired.backendServices) {
    const have = observed.backendServices.find((b) => b.name === backend.name);
    if (have && !backendDiffers(backend, have)) continue;
    if (waitsFor.length > 0) {
      deferred.push(`backend service ${backend.name}: waits for ${waitsFor.join(', ')}`);
      continue;
    }
    if (!have) {
      ops.push({ kind: 'insert', resource: 'backendService', spec: backend });
      continue;
    }
    if (!sameResource(backend.healthCheck, have.healthCheck)) {
      changed.push({
        reason: 'SwitchingHealthCheck',
        message: `backend service ${backend.name} moves to health check ${healthCheck.name} (externalTrafficPolicy ${intent.trafficPolicy})`,
      });
    }
    ops.push({
      kind: 'patch',
      resource: 'backendService',
      spec: backend,
      ...(have.fingerprint ? { fingerprint: have.fingerprint } : {}),
    });
  }

  // Forwarding rules: after their backend service and the IP.
  for (const rule of desired.forwardingRules) {
    const have = observed.forwardingRules.find((r) => r.name === rule.name);
    if (!have) {
      const backendExists = observed.backendServices.some((b) => b.name === rule.name);
      if (ip && backendExists)
        ops.push({ kind: 'insert', resource: 'forwardingRule', spec: { ...rule, ip } });
      else {
        const missing = [
          ...(backendExists ? [] : [`backend service ${rule.name}`]),
          ...(ip ? [] : ['the address']),
        ];
        deferred.push(`forwarding rule ${rule.name}: waits for ${missing.join(' and ')}`);
      }
      continue;
    }
    // Without the IP the address is being replaced, and its rules were deleted with it (above).
    if (!ip || deleting(rule.name, 'forwardingRule')) continue;
    const differences = forwardingRuleDifferences({ ...rule, ip }, have);
    if (differences.length > 0) {
      ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
      changed.push({
        reason: 'RecreatingForwardingRule',
        message: `forwarding rule ${rule.name} is replaced (${differences.join('; ')}); it is created again on ${ip}`,
      });
    }
  }

  // A scheme switch: the other scheme's rules go once every new rule serves.
  const oldRules = observed.forwardingRules.filter((r) => r.scheme !== settings.scheme);
  const newRulesServe =
    ip !== undefined &&
    desired.forwardingRules.every((rule) => {
      const have = observed.forwardingRules.find((r) => r.name === rule.name);
      return have !== undefined && forwardingRuleDifferences({ ...rule, ip }, have).length === 0;
    });
  if (oldRules.length > 0) {
    const oldIps = [...new Set(oldRules.map((r) => r.ip))].join(', ');
    const anyNew =
      [...observed.backendServices, ...observed.forwardingRules].some((r) => r.scheme === settings.scheme) ||
      observed.addresses.some((a) => a.name === desired.address?.name);
    if (!newRulesServe && !anyNew) {
      changed.push({
        reason: 'ReplacingLoadBalancer',
        message: `building an ${schemeWord(settings.scheme)} load balancer; the ${schemeWord(oldRules[0]!.scheme)} one at ${oldIps} serves until it is ready`,
      });
    } else if (newRulesServe) {
      changed.push({
        reason: 'ReplacingLoadBalancer',
        message: `the ${schemeWord(settings.scheme)} load balancer serves at ${ip}; the ${schemeWord(oldRules[0]!.scheme)} one at ${oldIps} is removed`,
      });
    }
  }

  // Firewalls: health-check probes, and clients (needs the IP; during a scheme switch the old IP too).
  for (const firewall of desired.firewalls) {
    let spec = firewall;
    if (firewall.destinationRanges) {
      if (!ip) {
        deferred.push(`firewall ${firewall.name}: waits for the address`);
        continue;
      }
      const stillServing = oldRules.filter((r) => r.ip !== '' && !newRulesServe).map((r) => r.ip);
      spec = { ...firewall, destinationRanges: sorted([...new Set([ip, ...stillServing])]) };
    }
    const have = observed.firewalls.find((f) => f.name === firewall.name);
    if (!have) ops.push({ kind: 'insert', resource: 'firewall', spec });
    else if (firewallDiffers(spec, have)) ops.push({ kind: 'patch', resource: 'firewall', spec });
  }

  // What the Service no longer needs, in dependency order.
  const wantedRules = new Set(desired.forwardingRules.map((r) => r.name));
  for (const rule of observed.forwardingRules) {
    if (wantedRules.has(rule.name) || deleting(rule.name, 'forwardingRule')) continue;
    if (rule.scheme !== settings.scheme && !newRulesServe) {
      deferred.push(
        `delete forwarding rule ${rule.name}: the ${schemeWord(rule.scheme)} load balancer serves until the ${schemeWord(settings.scheme)} one is ready`,
      );
    } else ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
  }
  const wantedBackends = new Set(desired.backendServices.map((b) => b.name));
  for (const backend of observed.backendServices) {
    if (wantedBackends.has(backend.name)) continue;
    if (observed.forwardingRules.some((r) => r.name === backend.name))
      deferred.push(`delete backend service ${backend.name}: waits for its forwarding rule`);
    else ops.push({ kind: 'delete', resource: 'backendService', name: backend.name });
  }
  // The per-Service check and its probe firewall (ETP Local → Cluster): once no backend service uses it,
  // so the probes keep reaching the nodes until every backend service has moved to the shared check.
  const ownCheck = serviceHealthCheckName(cluster, intent.service);
  if (healthCheck.name !== ownCheck) {
    const ownUrl = urls.healthCheck(project, region, ownCheck);
    const inUse = observed.backendServices.some((b) => sameResource(b.healthCheck, ownUrl));
    const ownFirewall = serviceHealthFirewallName(cluster, intent.service);
    for (const [resource, name, exists] of [
      ['healthCheck', ownCheck, observed.healthChecks.some((h) => h.name === ownCheck)],
      ['firewall', ownFirewall, observed.firewalls.some((f) => f.name === ownFirewall)],
    ] as const) {
      if (!exists) continue;
      if (inUse)
        deferred.push(
          `delete ${resource === 'firewall' ? 'firewall' : 'health check'} ${name}: a backend service still uses ${ownCheck}`,
        );
      else ops.push({ kind: 'delete', resource, name });
    }
  }
  for (const address of observed.addresses) {
    if (address.name === desired.address?.name || deleting(address.name, 'address')) continue;
    if (rulesOn(address.address).length > 0)
      deferred.push(`delete address ${address.name}: waits for the forwarding rules on ${address.address}`);
    else ops.push({ kind: 'delete', resource: 'address', name: address.name });
  }

  const done = ops.length === 0 && deferred.length === 0 && ip !== undefined;
  return { ops, deferred, changed, ...(done ? { ip } : {}) };
}

/**
 * The Service's own address: inserted, or replaced when a field Compute cannot change differs (tier,
 * subnetwork, requested IP, purpose) — its rules go first, then the address, then it is reserved again
 * (the IP changes: Events say so). Returns the IP the rules use, once it is known.
 */
function planAddress(
  desired: GcpDesired,
  observed: GcpObserved,
  sharedByRules: boolean,
  ops: GcpOperation[],
  deferred: string[],
  changed: GcpPlan['changed'],
): string | undefined {
  if (!desired.address) return desired.userAddress?.ip;
  const want = desired.address;
  const have = observed.addresses.find((a) => a.name === want.name);
  if (!have) {
    ops.push({ kind: 'insert', resource: 'address', spec: want });
    return undefined;
  }
  if (addressDiffers(want, have, sharedByRules)) {
    const users = have.address ? observed.forwardingRules.filter((r) => r.ip === have.address) : [];
    if (users.length > 0) {
      for (const rule of users) ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
      deferred.push(`address ${want.name}: reserved again once its forwarding rules are gone`);
      changed.push({
        reason: 'RecreatingForwardingRule',
        message: `address ${have.name} (${have.address}) must be reserved again (its tier, subnetwork, IP or purpose changed): its forwarding rules go first, and the IP changes`,
      });
    } else ops.push({ kind: 'delete', resource: 'address', name: have.name });
    return undefined;
  }
  // An address being reserved has no IP yet (after a restart observe may see it so).
  return have.address ? have.address : undefined;
}

/**
 * The cluster's groups (shared by its Services): one per zone with eligible nodes, members following
 * the nodes, one membership change per group per plan (Compute refuses a second while one runs).
 * A zone that lost all its nodes keeps its group, emptied: other Services' backend services may still
 * name it (this plan takes it out of this Service's backend services); removal deletes it when unused.
 */
function planInstanceGroups(
  desired: GcpDesired,
  observed: GcpObserved,
  ops: GcpOperation[],
  deferred: string[],
): void {
  for (const group of desired.instanceGroups) {
    const have = observed.instanceGroups.find((g) => g.name === group.name && g.zone === group.zone);
    if (!have) {
      ops.push({ kind: 'insert', resource: 'instanceGroup', spec: { ...group, instances: [] } });
      if (group.instances.length > 0)
        deferred.push(
          `instance group ${group.name} (${group.zone}): add ${group.instances.length} instances once it exists`,
        );
      continue;
    }
    const add = group.instances.filter((i) => !have.instances.some((h) => sameResource(h, i)));
    const remove = have.instances.filter((h) => !group.instances.some((i) => sameResource(h, i)));
    if (add.length > 0)
      ops.push({ kind: 'addInstances', group: group.name, zone: group.zone, instances: add });
    if (remove.length > 0 && add.length > 0)
      deferred.push(
        `instance group ${group.name} (${group.zone}): remove ${remove.length} instances after the additions`,
      );
    else if (remove.length > 0)
      ops.push({ kind: 'removeInstances', group: group.name, zone: group.zone, instances: remove });
  }
  for (const have of observed.instanceGroups) {
    if (desired.instanceGroups.some((g) => g.zone === have.zone) || have.instances.length === 0) continue;
    ops.push({ kind: 'removeInstances', group: have.name, zone: have.zone, instances: have.instances });
  }
}

// ---- Removal -------------------------------------------------------------------------------------

/**
 * Everything this Service owns, in dependency order: forwarding rules, then backend services, then
 * what they used (its health check, address, firewalls). The cluster's shared health check, its
 * firewall and the instance groups go too once this Service's backend services are gone and no other
 * backend service uses them (`observed.sharedUsers`; not read → kept). Foreign resources at its names
 * are never touched. Failed operations do not stop a removal (deleting is the only way forward); the
 * first lasting one is reported as `problem` alongside the ops, for the message.
 */
export function planRemoval(service: ServiceRef, config: GcpConfig, observed: GcpObserved): GcpPlan {
  const { cluster } = config;
  if (observed.running.length > 0) return runningPlan(observed);
  const mine = <T extends { description: string }>(list: T[]) =>
    list.filter((r) => isOwned(r.description, cluster, service.uid));
  const ops: GcpOperation[] = [];
  const deferred: string[] = [];
  const rules = mine(observed.forwardingRules);
  const backends = mine(observed.backendServices);
  for (const rule of rules) ops.push({ kind: 'delete', resource: 'forwardingRule', name: rule.name });
  for (const backend of backends) {
    if (rules.some((r) => r.name === backend.name))
      deferred.push(`delete backend service ${backend.name}: waits for its forwarding rule`);
    else ops.push({ kind: 'delete', resource: 'backendService', name: backend.name });
  }
  for (const address of mine(observed.addresses)) {
    if (rules.some((r) => r.ip === address.address))
      deferred.push(`delete address ${address.name}: waits for the forwarding rules on ${address.address}`);
    else ops.push({ kind: 'delete', resource: 'address', name: address.name });
  }
  for (const check of mine(observed.healthChecks)) {
    if (backends.length > 0)
      deferred.push(`delete health check ${check.name}: waits for the backend services`);
    else ops.push({ kind: 'delete', resource: 'healthCheck', name: check.name });
  }
  for (const firewall of mine(observed.firewalls)) {
    if (backends.length > 0)
      deferred.push(`delete firewall ${firewall.name}: waits for the backend services`);
    else ops.push({ kind: 'delete', resource: 'firewall', name: firewall.name });
  }
  // Shared resources: only once this Service's backend services are gone and nobody else uses them.
  if (backends.length === 0 && observed.sharedUsers !== undefined && observed.sharedUsers.length === 0) {
    const ours = <T extends { description: string }>(list: T[]) =>
      list.filter((r) => isOwned(r.description, cluster));
    for (const check of ours(observed.healthChecks)) {
      if (check.name === sharedHealthCheckName(cluster))
        ops.push({ kind: 'delete', resource: 'healthCheck', name: check.name });
    }
    for (const firewall of ours(observed.firewalls)) {
      if (firewall.name === sharedHealthFirewallName(cluster))
        ops.push({ kind: 'delete', resource: 'firewall', name: firewall.name });
    }
    for (const group of ours(observed.instanceGroups))
      ops.push({ kind: 'delete', resource: 'instanceGroup', name: group.name, zone: group.zone });
  }
  const problem = failureProblem(observed.failed);
  return { ops, deferred, changed: [], ...(problem ? { problem } : {}) };
}
