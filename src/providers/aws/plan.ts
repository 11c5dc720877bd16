// What to do in AWS for one Service: the difference between the desired state (desired.ts) and what
// Sluice owns there now, as operations in dependency order. Pure: no I/O, no clock. An empty list is the
// steady state: a resync that finds nothing changed writes nothing.
//
// Order: security group → its rules → target groups → their health checks and attributes → targets →
// load balancer (create, or security groups / subnets / IP address type) → its attributes → (an old load
// balancer that still holds target groups the new one needs) → listeners (create / modify / certificates /
// attributes) → rules on the nodes' groups → tags of existing resources → deletes: listeners of removed
// ports, old load balancers (only once the replacement is active), target groups nothing uses any more,
// revoked rules (and rules given back to the current load balancer), security groups nothing uses.
import type { LoadBalancerIntent, ServiceRef } from '../../intent/types.ts';
import {
  ADDITIONAL_TAG_KEYS_TAG,
  compare,
  type DesiredListener,
  type DesiredState,
  type DesiredTargetGroup,
  desiredLoadBalancerName,
  desiredState,
  listSome,
  type Notice,
  normalizeHealthCheck,
  ruleKey,
  targetKey,
} from './desired.ts';
import type {
  AwsObserved,
  AwsOperation,
  AwsPlan,
  AwsSettings,
  HealthCheckSpec,
  ObservedLoadBalancer,
  ObservedSecurityGroup,
  ObservedTargetGroup,
  OwnedResources,
  Ref,
  SecurityGroupRule,
  SubnetMapping,
  Target,
} from './model.ts';
import { isOwned, listenerRefName, loadBalancerName } from './names.ts';

/** RegisterTargets / DeregisterTargets take at most this many targets per call. */
export const TARGET_BATCH = 100;

/** Operations by phase; concatenated in this order. */
interface Phases {
  securityGroups: AwsOperation[];
  frontendRules: AwsOperation[];
  targetGroups: AwsOperation[];
  targetGroupSettings: AwsOperation[];
  targets: AwsOperation[];
  loadBalancer: AwsOperation[];
  loadBalancerAttributes: AwsOperation[];
  /** Old load balancers whose target groups the listeners move to the new one (a group serves one NLB). */
  releases: AwsOperation[];
  listeners: AwsOperation[];
  nodeRules: AwsOperation[];
  tags: AwsOperation[];
  deleteListeners: AwsOperation[];
  deleteLoadBalancers: AwsOperation[];
  deleteTargetGroups: AwsOperation[];
  revokes: AwsOperation[];
  /** Rules the current load balancer needs that an old one owned: revoked above, authorized again as ours. */
  reowned: AwsOperation[];
  deleteSecurityGroups: AwsOperation[];
}

function emptyPhases(): Phases {
  return {
    securityGroups: [],
    frontendRules: [],
    targetGroups: [],
    targetGroupSettings: [],
    targets: [],
    loadBalancer: [],
    loadBalancerAttributes: [],
    releases: [],
    listeners: [],
    nodeRules: [],
    tags: [],
    deleteListeners: [],
    deleteLoadBalancers: [],
    deleteTargetGroups: [],
    revokes: [],
    reowned: [],
    deleteSecurityGroups: [],
  };
}

export function planLoadBalancer(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  observed: AwsObserved,
  cluster: string,
): AwsPlan {
  const name = desiredLoadBalancerName(intent, settings, cluster);
  const result = desiredState(intent, settings, observed.environment, cluster);
  if (result.kind === 'failed') {
    return {
      operations: [],
      loadBalancerName: name,
      changes: [],
      notices: result.notices,
      failure: result.failure,
    };
  }
  const planner = new Planner(
    result.state,
    ownedBy(observed.owned, cluster, intent.service.uid),
    observed.environment.nodeSecurityGroups,
    cluster,
    intent.service,
  );
  planner.plan();
  return {
    operations: Object.values(planner.phases).flat(),
    loadBalancerName: name,
    changes: planner.changes,
    notices: [...result.notices, ...planner.notices],
  };
}

/**
 * Deleting everything Sluice owns for a Service: load balancers first (they hold listeners, target groups
 * and security groups), then the rules on the nodes' groups that name those load balancers, then target
 * groups, then the managed security groups. `service`, when given, also limits the plan to that Service's
 * resources and lets it find rules of a load balancer already deleted by an earlier, interrupted removal.
 */
export function planRemoval(
  owned: OwnedResources,
  nodeSecurityGroups: ReadonlyArray<ObservedSecurityGroup>,
  cluster: string,
  service?: ServiceRef,
): AwsOperation[] {
  const mine = ownedBy(owned, cluster, service?.uid);
  const names = new Set(mine.loadBalancers.map((lb) => lb.name));
  if (service) for (const n of deterministicNames(cluster, service)) names.add(n);
  const revokes = [...nodeSecurityGroups]
    .sort((a, b) => compare(a.id, b.id))
    .flatMap((group): AwsOperation[] => {
      const rules = group.ingress.filter((rule) => names.has(nodeRuleOwner(rule.description) ?? ''));
      return rules.length > 0 ? [{ op: 'revokeIngress', groupId: group.id, rules }] : [];
    });
  return [
    ...byName(mine.loadBalancers).flatMap(deleteLoadBalancer),
    ...revokes,
    ...byName(mine.targetGroups).map(
      (tg): AwsOperation => ({ op: 'deleteTargetGroup', targetGroupArn: tg.arn }),
    ),
    ...byName(mine.securityGroups).map((sg): AwsOperation => ({ op: 'deleteSecurityGroup', groupId: sg.id })),
  ];
}

/** Only what carries this cluster's (and Service's) ownership tags: nothing else is ever touched. */
export function ownedBy(owned: OwnedResources, cluster: string, serviceUid?: string): OwnedResources {
  const mine = <T extends { tags: Record<string, string> }>(items: ReadonlyArray<T>) =>
    items.filter((item) => isOwned(item.tags, cluster, serviceUid));
  return {
    loadBalancers: mine(owned.loadBalancers),
    targetGroups: mine(owned.targetGroups),
    securityGroups: mine(owned.securityGroups),
  };
}

/** The load balancer a node rule belongs to, from its description `kubernetes.io/rule/nlb/<kind>=<name>`. */
export function nodeRuleOwner(description: string): string | undefined {
  return /^kubernetes\.io\/rule\/nlb\/(?:client|health|mtu)=(.+)$/.exec(description)?.[1];
}

/**
 * Deleting a load balancer Sluice no longer wants (the Service is gone, or it was replaced): deletion
 * protection, if on, is turned off first, as the AWS Load Balancer Controller does; otherwise the delete
 * would fail on every pass and block the rest.
 */
function deleteLoadBalancer(lb: ObservedLoadBalancer): AwsOperation[] {
  return [
    ...(lb.attributes['deletion_protection.enabled'] === 'true'
      ? [
          {
            op: 'modifyLoadBalancerAttributes' as const,
            loadBalancer: { id: lb.arn },
            attributes: { 'deletion_protection.enabled': 'false' },
          },
        ]
      : []),
    { op: 'deleteLoadBalancer', loadBalancerArn: lb.arn },
  ];
}

function deterministicNames(cluster: string, service: ServiceRef): string[] {
  return [
    loadBalancerName(cluster, service, 'internal'),
    loadBalancerName(cluster, service, 'internet-facing'),
  ];
}

class Planner {
  readonly phases = emptyPhases();
  readonly changes: Notice[] = [];
  readonly notices: Notice[] = [];

  private readonly desired: DesiredState;
  private readonly owned: OwnedResources;
  private readonly nodeGroups: ReadonlyArray<ObservedSecurityGroup>;
  private readonly cluster: string;
  private readonly service: ServiceRef;

  /** The load balancer with the desired name and scheme (the one that serves), if it exists. */
  private readonly current: ObservedLoadBalancer | undefined;
  /** Other load balancers of this Service: replaced ones, or extra copies. */
  private readonly others: ObservedLoadBalancer[];
  /** Deleted in this plan: the others, once the current one is active. */
  private readonly retiring: ObservedLoadBalancer[];
  private readonly targetGroupsByName: Map<string, ObservedTargetGroup>;
  /** Target group ARN → ARNs of the load balancers that forward to it. */
  private readonly holders = new Map<string, Set<string>>();
  private readonly managedGroup: ObservedSecurityGroup | undefined;
  /** Listener ports whose target group is still held by an old load balancer: left for a later pass. */
  private readonly deferred = new Set<number>();

  constructor(
    desired: DesiredState,
    owned: OwnedResources,
    nodeGroups: ReadonlyArray<ObservedSecurityGroup>,
    cluster: string,
    service: ServiceRef,
  ) {
    this.desired = desired;
    this.owned = owned;
    this.nodeGroups = nodeGroups;
    this.cluster = cluster;
    this.service = service;
    const lb = desired.loadBalancer;
    this.current = owned.loadBalancers
      .filter((o) => o.name === lb.name && o.scheme === lb.scheme)
      .sort(
        (a, b) => Number(b.state === 'active') - Number(a.state === 'active') || compare(a.arn, b.arn),
      )[0];
    this.others = byName(owned.loadBalancers.filter((o) => o !== this.current));
    this.retiring = this.current?.state === 'active' ? this.others : [];
    this.targetGroupsByName = new Map(owned.targetGroups.map((tg) => [tg.name, tg]));
    for (const o of owned.loadBalancers) {
      for (const l of o.listeners) if (l.targetGroupArn) this.hold(l.targetGroupArn, o.arn);
    }
    for (const tg of owned.targetGroups) for (const arn of tg.loadBalancerArns) this.hold(tg.arn, arn);
    const fe = desired.frontendSecurityGroup;
    this.managedGroup = fe
      ? owned.securityGroups
          .filter((g) => g.name === fe.name && g.vpcId === fe.vpcId)
          .sort((a, b) => compare(a.id, b.id))[0]
      : undefined;
  }

  plan(): void {
    this.announceReplacement();
    this.frontendGroup();
    for (const tg of this.desired.targetGroups) this.targetGroup(tg);
    this.loadBalancer();
    for (const listener of this.desired.listeners) this.listener(listener);
    this.nodeRules();
    this.deletes();
  }

  private hold(targetGroupArn: string, loadBalancerArn: string): void {
    const set = this.holders.get(targetGroupArn) ?? new Set<string>();
    set.add(loadBalancerArn);
    this.holders.set(targetGroupArn, set);
  }

  private announceReplacement(): void {
    const name = this.desired.loadBalancer.name;
    if (!this.current) {
      for (const old of this.others) {
        this.changes.push({
          reason: 'ReplacingLoadBalancer',
          message: `${whyReplaced(old, this.desired)}: creating load balancer ${name}; ${old.name} is deleted once ${name} is active (the Service's hostname changes)`,
        });
      }
    }
    for (const old of this.retiring) {
      this.changes.push({
        reason: 'ReplacingLoadBalancer',
        message: `${name} is active: deleting load balancer ${old.name} (${whyReplaced(old, this.desired)})`,
      });
    }
  }

  // ---- Frontend security group ----

  private managedRef(): Ref | undefined {
    const fe = this.desired.frontendSecurityGroup;
    if (!fe) return undefined;
    return this.managedGroup ? { id: this.managedGroup.id } : { name: fe.name };
  }

  private frontendGroup(): void {
    const fe = this.desired.frontendSecurityGroup;
    if (!fe) return;
    const group = this.managedGroup;
    if (!group) {
      this.phases.securityGroups.push({
        op: 'createSecurityGroup',
        name: fe.name,
        description: fe.description,
        vpcId: fe.vpcId,
        tags: fe.tags,
      });
    }
    const present = new Set((group?.ingress ?? []).map(ruleKey));
    const missing = fe.rules.filter((r) => !present.has(ruleKey(r)));
    if (missing.length > 0) {
      this.phases.frontendRules.push({ op: 'authorizeIngress', group: this.managedRef()!, rules: missing });
    }
    if (!group) return;
    // The whole group is Sluice's: any rule it does not ask for (a hand-made one too) widens access.
    const wanted = new Set(fe.rules.map(ruleKey));
    const extra = group.ingress.filter((r) => !wanted.has(ruleKey(r)));
    if (extra.length > 0) this.phases.revokes.push({ op: 'revokeIngress', groupId: group.id, rules: extra });
    this.phases.tags.push(...tagOps(group.id, group.tags, fe.tags));
  }

  // ---- Target groups ----

  private targetGroup(tg: DesiredTargetGroup): void {
    const existing = this.targetGroupsByName.get(tg.name);
    if (!existing) {
      this.phases.targetGroups.push({
        op: 'createTargetGroup',
        name: tg.name,
        protocol: tg.protocol,
        port: tg.port,
        targetType: tg.targetType,
        vpcId: tg.vpcId,
        ...(tg.targetType === 'ip' ? { ipAddressType: tg.ipAddressType } : {}),
        healthCheck: tg.healthCheck,
        tags: tg.tags,
      });
      if (Object.keys(tg.attributes).length > 0) {
        this.phases.targetGroupSettings.push({
          op: 'modifyTargetGroupAttributes',
          targetGroup: { name: tg.name },
          attributes: tg.attributes,
        });
      }
      for (const batch of batches(tg.targets)) {
        this.phases.targets.push({ op: 'registerTargets', targetGroup: { name: tg.name }, targets: batch });
      }
      return;
    }
    if (!sameHealthCheck(tg.healthCheck, existing.healthCheck)) {
      this.phases.targetGroupSettings.push({
        op: 'modifyTargetGroupHealthCheck',
        targetGroupArn: existing.arn,
        healthCheck: tg.healthCheck,
      });
    }
    const attributes = changedEntries(tg.attributes, existing.attributes);
    if (attributes) {
      this.phases.targetGroupSettings.push({
        op: 'modifyTargetGroupAttributes',
        targetGroup: { id: existing.arn },
        attributes,
      });
    }
    // Register the new targets before deregistering the old, so a moving target set never empties.
    const have = new Set(existing.targets.map(targetKey));
    const want = new Set(tg.targets.map(targetKey));
    for (const batch of batches(tg.targets.filter((t) => !have.has(targetKey(t))))) {
      this.phases.targets.push({ op: 'registerTargets', targetGroup: { id: existing.arn }, targets: batch });
    }
    const extra = existing.targets
      .filter((t) => !want.has(targetKey(t)))
      .sort((a, b) => compare(a.id, b.id) || a.port - b.port);
    for (const batch of batches(extra)) {
      this.phases.targets.push({ op: 'deregisterTargets', targetGroupArn: existing.arn, targets: batch });
    }
    this.phases.tags.push(...tagOps(existing.arn, existing.tags, tg.tags));
  }

  // ---- Load balancer ----

  private loadBalancer(): void {
    const lb = this.desired.loadBalancer;
    const managed = this.managedRef();
    const groups: Ref[] = [...(managed ? [managed] : []), ...lb.securityGroupIds.map((id) => ({ id }))];
    const current = this.current;
    if (!current) {
      this.phases.loadBalancer.push({
        op: 'createLoadBalancer',
        name: lb.name,
        scheme: lb.scheme,
        ipAddressType: lb.ipAddressType,
        subnetMappings: lb.subnetMappings,
        securityGroups: groups,
        tags: lb.tags,
      });
      if (Object.keys(lb.attributes).length > 0) {
        this.phases.loadBalancerAttributes.push({
          op: 'modifyLoadBalancerAttributes',
          loadBalancer: { name: lb.name },
          attributes: lb.attributes,
        });
      }
      return;
    }
    const wantedGroups = groups.map((ref) => ('id' in ref ? ref.id : `new:${ref.name}`));
    if (!sameSet(wantedGroups, current.securityGroups)) {
      this.phases.loadBalancer.push({
        op: 'setSecurityGroups',
        loadBalancerArn: current.arn,
        securityGroups: groups,
      });
    }
    this.subnets(current);
    if (current.ipAddressType !== lb.ipAddressType) {
      this.phases.loadBalancer.push({
        op: 'setIpAddressType',
        loadBalancerArn: current.arn,
        ipAddressType: lb.ipAddressType,
      });
    }
    const attributes = changedEntries(lb.attributes, current.attributes);
    if (attributes) {
      this.phases.loadBalancerAttributes.push({
        op: 'modifyLoadBalancerAttributes',
        loadBalancer: { id: current.arn },
        attributes,
      });
    }
    this.phases.tags.push(...tagOps(current.arn, current.tags, lb.tags));
  }

  /**
   * SetSubnets needs every enabled subnet with its existing settings plus the new ones. An EIP or private
   * address cannot change on a subnet already enabled: the user is told instead.
   */
  private subnets(current: ObservedLoadBalancer): void {
    const wanted = this.desired.loadBalancer.subnetMappings;
    const have = new Map(current.subnetMappings.map((m) => [m.subnetId, m]));
    for (const m of wanted) {
      const o = have.get(m.subnetId);
      if (!o) continue;
      const eip = m.allocationId !== undefined && m.allocationId !== o.allocationId;
      const ip = m.privateIPv4Address !== undefined && m.privateIPv4Address !== o.privateIPv4Address;
      if (eip || ip) {
        this.notices.push({
          reason: 'ImmutableSetting',
          message: `subnet ${m.subnetId} of load balancer ${current.name} has ${eip ? `EIP allocation ${o.allocationId ?? '(none)'}` : `private address ${o.privateIPv4Address ?? '(none)'}`}, not ${eip ? m.allocationId : m.privateIPv4Address}: AWS cannot change it on an existing load balancer; recreate the Service to apply it`,
        });
      }
    }
    if (
      sameSet(
        wanted.map((m) => m.subnetId),
        [...have.keys()],
      )
    )
      return;
    const mappings: SubnetMapping[] = wanted.map((m) => {
      const o = have.get(m.subnetId);
      if (!o) return m;
      return {
        subnetId: m.subnetId,
        ...(o.allocationId ? { allocationId: o.allocationId } : {}),
        ...(o.privateIPv4Address && m.privateIPv4Address ? { privateIPv4Address: o.privateIPv4Address } : {}),
      };
    });
    this.phases.loadBalancer.push({
      op: 'setSubnets',
      loadBalancerArn: current.arn,
      subnetMappings: mappings,
    });
  }

  // ---- Listeners ----

  private listener(listener: DesiredListener): void {
    const lb = this.desired.loadBalancer;
    const current = this.current;
    const tg = this.targetGroupsByName.get(listener.targetGroupName);
    if (tg && !this.claim(tg, listener)) {
      this.deferred.add(listener.port);
      return;
    }
    const targetGroup: Ref = tg ? { id: tg.arn } : { name: listener.targetGroupName };
    const existing = current?.listeners.find((l) => l.port === listener.port);
    if (!existing) {
      const alpn = listener.alpnPolicy && listener.alpnPolicy !== 'None' ? listener.alpnPolicy : undefined;
      this.phases.listeners.push({
        op: 'createListener',
        loadBalancer: current ? { id: current.arn } : { name: lb.name },
        port: listener.port,
        protocol: listener.protocol,
        targetGroup,
        certificates: listener.certificates,
        ...(listener.sslPolicy ? { sslPolicy: listener.sslPolicy } : {}),
        ...(alpn ? { alpnPolicy: alpn } : {}),
        tags: listener.tags,
      });
      if (Object.keys(listener.attributes).length > 0) {
        this.phases.listeners.push({
          op: 'modifyListenerAttributes',
          listener: { name: listenerRefName(lb.name, listener.port) },
          attributes: listener.attributes,
        });
      }
      return;
    }
    const tls = listener.protocol === 'TLS';
    const [defaultCertificate] = listener.certificates;
    const movesTargetGroup = existing.targetGroupArn === undefined || existing.targetGroupArn !== tg?.arn;
    const differs =
      existing.protocol !== listener.protocol ||
      movesTargetGroup ||
      (tls &&
        (existing.certificates[0] !== defaultCertificate ||
          existing.sslPolicy !== listener.sslPolicy ||
          (existing.alpnPolicy || 'None') !== listener.alpnPolicy));
    if (differs) {
      this.phases.listeners.push({
        op: 'modifyListener',
        listenerArn: existing.arn,
        protocol: listener.protocol,
        targetGroup,
        ...(tls && defaultCertificate ? { defaultCertificate } : {}),
        ...(tls && listener.sslPolicy ? { sslPolicy: listener.sslPolicy } : {}),
        ...(tls && listener.alpnPolicy ? { alpnPolicy: listener.alpnPolicy } : {}),
      });
      const previous = this.owned.targetGroups.find((o) => o.arn === existing.targetGroupArn);
      const next = this.desired.targetGroups.find((d) => d.name === listener.targetGroupName);
      // A replacement when the group it leaves is one Sluice no longer wants (not a repair of drift).
      const replaced = previous && !this.desired.targetGroups.some((d) => d.name === previous.name);
      if (movesTargetGroup && replaced && next) {
        this.changes.push({
          reason: 'ReplacingTargetGroup',
          message: `port ${listener.port}: ${targetGroupDifference(previous, next)}, which a target group cannot change in place: ${next.name} replaces ${previous.name} (the listener moves to it, then ${previous.name} is deleted)`,
        });
      }
    }
    if (tls) this.certificates(existing.arn, existing.certificates, listener.certificates);
    const attributes = changedEntries(listener.attributes, existing.attributes);
    if (attributes) {
      this.phases.listeners.push({
        op: 'modifyListenerAttributes',
        listener: { id: existing.arn },
        attributes,
      });
    }
    if (existing.tags) this.phases.tags.push(...tagOps(existing.arn, existing.tags, listener.tags));
  }

  /**
   * Whether the current load balancer's listener may use this target group now. A target group serves one
   * NLB: one an old load balancer still forwards to is released by deleting that load balancer, which
   * happens (in this plan, before the listeners) only once the current one is active.
   */
  private claim(tg: ObservedTargetGroup, listener: DesiredListener): boolean {
    const elsewhere = [...(this.holders.get(tg.arn) ?? [])].filter((arn) => arn !== this.current?.arn);
    if (elsewhere.length === 0) return true;
    const holders = elsewhere.map((arn) => this.owned.loadBalancers.find((o) => o.arn === arn));
    const foreign = elsewhere.filter((_, index) => holders[index] === undefined);
    if (foreign.length > 0) {
      this.notices.push({
        reason: 'TargetGroupInUse',
        message: `target group ${tg.name} (port ${listener.port}) is used by ${listSome(foreign, 'load balancers')}, which Sluice does not own; detach it there`,
      });
      return false;
    }
    if (!holders.every((o) => o && this.retiring.includes(o))) return false;
    for (const o of holders) {
      if (
        o &&
        !this.phases.releases.some((op) => op.op === 'deleteLoadBalancer' && op.loadBalancerArn === o.arn)
      ) {
        this.phases.releases.push(...deleteLoadBalancer(o));
      }
    }
    return true;
  }

  /** The default certificate is set by ModifyListener; the others are added and removed here. */
  private certificates(listenerArn: string, have: ReadonlyArray<string>, want: ReadonlyArray<string>): void {
    const [wantDefault, ...wantExtra] = want;
    const [, ...haveExtra] = have;
    const add = wantExtra.filter((c) => c !== wantDefault && !haveExtra.includes(c));
    const remove = haveExtra.filter((c) => c !== wantDefault && !wantExtra.includes(c));
    if (add.length > 0) {
      this.phases.listeners.push({
        op: 'addListenerCertificates',
        listener: { id: listenerArn },
        certificates: add,
      });
    }
    if (remove.length > 0) {
      this.phases.listeners.push({ op: 'removeListenerCertificates', listenerArn, certificates: remove });
    }
  }

  // ---- Rules on the nodes' security groups ----

  /**
   * Rules are Sluice's when their description names one of this Service's load balancers. A rule EC2
   * already has (whoever's it is) is not added again: EC2 refuses a duplicate that differs only in its
   * description. Rules of an old load balancer stay while it serves; once it is deleted they are revoked,
   * and those the current load balancer needs are authorized again under its name.
   */
  private nodeRules(): void {
    const current = this.desired.loadBalancer.name;
    const ours = new Set([
      current,
      ...this.owned.loadBalancers.map((o) => o.name),
      ...deterministicNames(this.cluster, this.service),
    ]);
    const retiringNames = new Set(this.retiring.map((o) => o.name));
    const serving = new Set([
      current,
      ...this.others.filter((o) => !retiringNames.has(o.name)).map((o) => o.name),
    ]);
    const wantedByGroup = new Map(this.desired.nodeRules.map((n) => [n.groupId, n.rules]));
    for (const group of [...this.nodeGroups].sort((a, b) => compare(a.id, b.id))) {
      const wanted = wantedByGroup.get(group.id) ?? [];
      const wantedKeys = new Set(wanted.map(ruleKey));
      const kept = new Set<string>();
      const revoke: SecurityGroupRule[] = [];
      for (const rule of group.ingress) {
        const owner = nodeRuleOwner(rule.description);
        const key = ruleKey(rule);
        if (owner === undefined || !ours.has(owner)) kept.add(key);
        else if (owner === current ? wantedKeys.has(key) : serving.has(owner)) kept.add(key);
        else revoke.push(rule);
      }
      const present = new Set(group.ingress.map(ruleKey));
      const add = wanted.filter((r) => !present.has(ruleKey(r)));
      const reown = wanted.filter((r) => present.has(ruleKey(r)) && !kept.has(ruleKey(r)));
      if (add.length > 0)
        this.phases.nodeRules.push({ op: 'authorizeIngress', group: { id: group.id }, rules: add });
      if (revoke.length > 0)
        this.phases.revokes.push({ op: 'revokeIngress', groupId: group.id, rules: revoke });
      if (reown.length > 0)
        this.phases.reowned.push({ op: 'authorizeIngress', group: { id: group.id }, rules: reown });
    }
  }

  // ---- Deletes ----

  private deletes(): void {
    const current = this.current;
    const wantedPorts = new Map(this.desired.listeners.map((l) => [l.port, l]));
    for (const l of current?.listeners ?? []) {
      if (!wantedPorts.has(l.port))
        this.phases.deleteListeners.push({ op: 'deleteListener', listenerArn: l.arn });
    }
    const released = new Set(
      this.phases.releases.flatMap((op) => (op.op === 'deleteLoadBalancer' ? [op.loadBalancerArn] : [])),
    );
    for (const old of this.retiring) {
      if (!released.has(old.arn)) this.phases.deleteLoadBalancers.push(...deleteLoadBalancer(old));
    }
    const survivors = this.others.filter((o) => !this.retiring.includes(o));

    // Target groups: those no surviving listener forwards to once this plan has run.
    const inUse = new Set<string>();
    for (const l of current?.listeners ?? []) {
      const wanted = wantedPorts.get(l.port);
      if (!wanted) continue;
      if (this.deferred.has(l.port)) {
        if (l.targetGroupArn) inUse.add(l.targetGroupArn);
      } else {
        const tg = this.targetGroupsByName.get(wanted.targetGroupName);
        if (tg) inUse.add(tg.arn);
      }
    }
    for (const o of survivors) for (const l of o.listeners) if (l.targetGroupArn) inUse.add(l.targetGroupArn);
    const ownedArns = new Set(this.owned.loadBalancers.map((o) => o.arn));
    const wantedGroups = new Set(this.desired.targetGroups.map((tg) => tg.name));
    for (const tg of byName(this.owned.targetGroups)) {
      if (wantedGroups.has(tg.name) || inUse.has(tg.arn)) continue;
      // Attached to a load balancer Sluice does not own: not Sluice's to break.
      if (tg.loadBalancerArns.some((arn) => !ownedArns.has(arn))) continue;
      this.phases.deleteTargetGroups.push({ op: 'deleteTargetGroup', targetGroupArn: tg.arn });
    }

    // Security groups: owned ones no surviving load balancer uses once this plan has run.
    const groupsInUse = new Set<string>([
      ...this.desired.loadBalancer.securityGroupIds,
      ...(this.managedGroup && this.desired.frontendSecurityGroup ? [this.managedGroup.id] : []),
      ...survivors.flatMap((o) => o.securityGroups),
    ]);
    for (const sg of [...this.owned.securityGroups].sort((a, b) => compare(a.id, b.id))) {
      if (!groupsInUse.has(sg.id))
        this.phases.deleteSecurityGroups.push({ op: 'deleteSecurityGroup', groupId: sg.id });
    }
  }
}

// ---- Comparisons -----------------------------------------------------------------------------

function whyReplaced(old: ObservedLoadBalancer, desired: DesiredState): string {
  const lb = desired.loadBalancer;
  if (old.scheme !== lb.scheme) return `the scheme changes from ${old.scheme} to ${lb.scheme}`;
  if (old.name !== lb.name) return `the name changes from ${old.name} to ${lb.name}`;
  return `${old.arn} is a second copy of ${lb.name}`;
}

function targetGroupDifference(old: ObservedTargetGroup, next: DesiredTargetGroup): string {
  const differences = [
    old.targetType !== next.targetType ? `target type ${old.targetType} → ${next.targetType}` : '',
    old.protocol !== next.protocol ? `protocol ${old.protocol} → ${next.protocol}` : '',
    old.port !== next.port ? `port ${old.port} → ${next.port}` : '',
    old.healthCheck.protocol !== next.healthCheck.protocol
      ? `health-check protocol ${old.healthCheck.protocol} → ${next.healthCheck.protocol}`
      : '',
    old.vpcId !== next.vpcId ? `VPC ${old.vpcId} → ${next.vpcId}` : '',
  ].filter((d) => d !== '');
  return differences.length > 0 ? differences.join(', ') : 'its IP address type or Service protocol changes';
}

function sameHealthCheck(want: HealthCheckSpec, have: HealthCheckSpec): boolean {
  const a = normalizeHealthCheck(want);
  const b = normalizeHealthCheck(have);
  return (
    a.protocol === b.protocol &&
    String(a.port) === String(b.port) &&
    a.intervalSeconds === b.intervalSeconds &&
    a.timeoutSeconds === b.timeoutSeconds &&
    a.healthyThreshold === b.healthyThreshold &&
    a.unhealthyThreshold === b.unhealthyThreshold &&
    a.path === b.path &&
    a.successCodes === b.successCodes
  );
}

/** The wanted entries whose value differs from what is there (keys Sluice does not manage are left). */
function changedEntries(
  want: Record<string, string>,
  have: Record<string, string>,
): Record<string, string> | undefined {
  const changed = Object.entries(want).filter(([key, value]) => have[key] !== value);
  return changed.length > 0 ? Object.fromEntries(changed) : undefined;
}

/**
 * Tags to add (missing or different) and to remove: the additional tags that were recorded as Sluice's but
 * are no longer asked for (tags someone else added are left alone).
 */
function tagOps(id: string, have: Record<string, string>, want: Record<string, string>): AwsOperation[] {
  const add = changedEntries(want, have);
  const recorded = (have[ADDITIONAL_TAG_KEYS_TAG] ?? '').split(',').filter((k) => k !== '');
  const remove = [...recorded, ADDITIONAL_TAG_KEYS_TAG].filter((k) => k in have && !(k in want));
  return [
    ...(add ? [{ op: 'addTags' as const, arn: { id }, tags: add }] : []),
    ...(remove.length > 0 ? [{ op: 'removeTags' as const, arn: id, keys: remove }] : []),
  ];
}

function sameSet(a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}

function batches(targets: ReadonlyArray<Target>): Target[][] {
  const result: Target[][] = [];
  for (let i = 0; i < targets.length; i += TARGET_BATCH) result.push(targets.slice(i, i + TARGET_BATCH));
  return result;
}

function byName<T extends { name: string }>(items: ReadonlyArray<T>): T[] {
  return [...items].sort((a, b) => compare(a.name, b.name));
}
