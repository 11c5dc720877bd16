// Runs an AwsPlan's operations in order against AWS, resolving the names of resources made in the
// same plan to their ARNs and IDs, then reports the serving NLB's state. Every create is made
// idempotent here, because neither a lost response nor moto's quirks may ever leave a second copy:
// a load balancer, target group or listener is looked up before it is created (and again before a
// create whose response was lost is retried), a security group or target group whose name exists
// is adopted only if its tags say it is this Service's, rules already there count as added, rules
// already gone as revoked. A failure stops the plan: the user's to fix → failed (with AWS's message
// and request ID); waiting on another resource or on AWS → pending with a retry.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import {
  AddListenerCertificatesCommand,
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type Listener,
  type LoadBalancer,
  ModifyListenerAttributesCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  RemoveListenerCertificatesCommand,
  RemoveTagsCommand,
  SetIpAddressTypeCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Logger } from '../../observability/logger.ts';
import type { ApplyResult, RemoveResult } from '../provider.ts';
import type { AwsClient } from './client.ts';
import { AwsCallError, baseCode, isDependencyError, isNotFoundError, userFailureReason } from './errors.ts';
import type { AwsInventory } from './inventory.ts';
import {
  type AwsObserved,
  type AwsOperation,
  type AwsPlan,
  type Ref,
  type SecurityGroupRule,
  type SubnetMapping,
  TAG,
  type Target,
} from './model.ts';
import { listenerRefName } from './names.ts';
import {
  attributeList,
  chunks,
  healthCheckInput,
  permissionsOf,
  ruleKey,
  securityGroupOf,
  tagList,
  tagMap,
} from './sdk-shapes.ts';

export interface ApplyDeps {
  aws: AwsClient;
  inventory: AwsInventory;
  logger: Logger;
  /** Requeue delay while the NLB is provisioning. Default 5 s. */
  provisioningRetryMs?: number;
}

/** Requeue delays for the ways a plan can stop short. */
export const RETRY_MS = {
  dependency: 10_000,
  throttled: 30_000,
  unavailable: 15_000,
  removal: 30_000,
} as const;

type Stop =
  | { kind: 'failed'; reason: string; message: string }
  | { kind: 'pending'; reason: string; message: string; retryAfterMs: number };

/** A reason to stop that is not an AWS error (a name taken by someone else, a reference the plan left unresolved). */
class ApplyProblem extends Error {
  readonly stop: Stop;
  constructor(stop: Stop) {
    super(stop.message);
    this.stop = stop;
  }
}

const EMPTY_OBSERVED: AwsObserved = {
  environment: { vpcCidrs: [], subnets: [], instances: [], nodeSecurityGroups: [], namedSecurityGroups: [] },
  owned: { loadBalancers: [], targetGroups: [], securityGroups: [] },
};

/** What this apply made or found, by name; starts from what observe saw. */
class Context {
  readonly loadBalancers = new Map<string, string>();
  readonly targetGroups = new Map<string, string>();
  readonly securityGroups = new Map<string, string>();
  readonly listeners = new Map<string, string>();
  /** Load balancers created by this apply: they have no listeners yet. */
  readonly fresh = new Set<string>();
  /** Listener protocols as last seen (ModifyListener sends the protocol only when it changes). */
  readonly listenerProtocols = new Map<string, string>();
  readonly aws: AwsClient;
  readonly inventory: AwsInventory;
  readonly logger: Logger;
  readonly observed: AwsObserved;

  constructor(observed: AwsObserved, deps: ApplyDeps) {
    this.observed = observed;
    this.aws = deps.aws;
    this.inventory = deps.inventory;
    this.logger = deps.logger;
    for (const lb of observed.owned.loadBalancers) {
      this.loadBalancers.set(lb.name, lb.arn);
      for (const listener of lb.listeners) {
        this.listeners.set(listenerRefName(lb.name, listener.port), listener.arn);
        this.listenerProtocols.set(listener.arn, listener.protocol);
      }
    }
    for (const tg of observed.owned.targetGroups) this.targetGroups.set(tg.name, tg.arn);
    for (const sg of observed.owned.securityGroups) this.securityGroups.set(sg.name, sg.id);
  }

  #unresolved(kind: string, ref: Ref): never {
    throw new ApplyProblem({
      kind: 'failed',
      reason: 'InvalidPlan',
      message: `the plan names ${kind} ${'name' in ref ? ref.name : ref.id}, which neither exists nor is made before it is needed`,
    });
  }

  loadBalancer(ref: Ref): string {
    if ('id' in ref) return ref.id;
    return this.loadBalancers.get(ref.name) ?? this.#unresolved('load balancer', ref);
  }

  targetGroup(ref: Ref): string {
    if ('id' in ref) return ref.id;
    return this.targetGroups.get(ref.name) ?? this.#unresolved('target group', ref);
  }

  securityGroup(ref: Ref): string {
    if ('id' in ref) return ref.id;
    const named = this.observed.environment.namedSecurityGroups.find((g) => g.ref === ref.name)?.id;
    return this.securityGroups.get(ref.name) ?? named ?? this.#unresolved('security group', ref);
  }

  listener(ref: Ref): string {
    if ('id' in ref) return ref.id;
    return this.listeners.get(ref.name) ?? this.#unresolved('listener', ref);
  }

  /** A tag target: a load balancer, target group or security group, by name or by ARN / ID. */
  taggable(ref: Ref): string {
    if ('id' in ref) return ref.id;
    return (
      this.loadBalancers.get(ref.name) ??
      this.targetGroups.get(ref.name) ??
      this.securityGroups.get(ref.name) ??
      this.#unresolved('resource', ref)
    );
  }

  loadBalancerName(arn: string): string | undefined {
    for (const [name, known] of this.loadBalancers) if (known === arn) return name;
    return undefined;
  }
}

/** For messages and logs: what an operation does, in words. */
export function describeOperation(op: AwsOperation): string {
  const ref = (r: Ref): string => ('name' in r ? r.name : r.id);
  switch (op.op) {
    case 'createSecurityGroup':
      return `creating security group ${op.name}`;
    case 'authorizeIngress':
      return `adding ${op.rules.length} rule(s) to security group ${ref(op.group)}`;
    case 'revokeIngress':
      return `removing ${op.rules.length} rule(s) from security group ${op.groupId}`;
    case 'deleteSecurityGroup':
      return `deleting security group ${op.groupId}`;
    case 'createTargetGroup':
      return `creating target group ${op.name}`;
    case 'modifyTargetGroupHealthCheck':
      return `changing the health check of target group ${op.targetGroupArn}`;
    case 'modifyTargetGroupAttributes':
      return `setting attributes of target group ${ref(op.targetGroup)}`;
    case 'registerTargets':
      return `registering ${op.targets.length} target(s) in ${ref(op.targetGroup)}`;
    case 'deregisterTargets':
      return `deregistering ${op.targets.length} target(s) from ${op.targetGroupArn}`;
    case 'deleteTargetGroup':
      return `deleting target group ${op.targetGroupArn}`;
    case 'createLoadBalancer':
      return `creating load balancer ${op.name}`;
    case 'setSecurityGroups':
      return `setting the security groups of ${op.loadBalancerArn}`;
    case 'setSubnets':
      return `setting the subnets of ${op.loadBalancerArn}`;
    case 'setIpAddressType':
      return `setting the IP address type of ${op.loadBalancerArn} to ${op.ipAddressType}`;
    case 'modifyLoadBalancerAttributes':
      return `setting attributes of load balancer ${ref(op.loadBalancer)}`;
    case 'deleteLoadBalancer':
      return `deleting load balancer ${op.loadBalancerArn}`;
    case 'createListener':
      return `creating the ${op.protocol} listener on port ${op.port} of ${ref(op.loadBalancer)}`;
    case 'modifyListener':
      return `changing listener ${op.listenerArn}`;
    case 'addListenerCertificates':
      return `adding certificate(s) to listener ${ref(op.listener)}`;
    case 'removeListenerCertificates':
      return `removing certificate(s) from listener ${op.listenerArn}`;
    case 'modifyListenerAttributes':
      return `setting attributes of listener ${ref(op.listener)}`;
    case 'deleteListener':
      return `deleting listener ${op.listenerArn}`;
    case 'addTags':
      return `tagging ${ref(op.arn)}`;
    case 'removeTags':
      return `removing tags ${op.keys.join(', ')} from ${op.arn}`;
  }
}

function codeOf(error: unknown): string | undefined {
  return error instanceof AwsCallError ? baseCode(error.code) : undefined;
}

function sameOwner(tags: Record<string, string>, wanted: Record<string, string>): boolean {
  return (
    tags[TAG.cluster] !== undefined &&
    tags[TAG.cluster] === wanted[TAG.cluster] &&
    tags[TAG.serviceUid] === wanted[TAG.serviceUid]
  );
}

// ---- Lookups (also the "did the lost create happen?" checks) --------------------------------

async function loadBalancerNamed(aws: AwsClient, name: string): Promise<LoadBalancer | undefined> {
  try {
    const out = await aws.elbv2(new DescribeLoadBalancersCommand({ Names: [name] }));
    return out.LoadBalancers?.find((lb) => lb.LoadBalancerName === name);
  } catch (error) {
    if (codeOf(error) === 'LoadBalancerNotFound') return undefined;
    throw error;
  }
}

async function targetGroupNamed(aws: AwsClient, name: string): Promise<TargetGroup | undefined> {
  try {
    const out = await aws.elbv2(new DescribeTargetGroupsCommand({ Names: [name] }));
    return out.TargetGroups?.find((tg) => tg.TargetGroupName === name);
  } catch (error) {
    if (codeOf(error) === 'TargetGroupNotFound') return undefined;
    throw error;
  }
}

async function elbTags(aws: AwsClient, arn: string): Promise<Record<string, string>> {
  const out = await aws.elbv2(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return tagMap(out.TagDescriptions?.find((d) => d.ResourceArn === arn)?.Tags);
}

async function securityGroupNamed(aws: AwsClient, name: string, vpcId: string) {
  const out = await aws.ec2(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'group-name', Values: [name] },
        { Name: 'vpc-id', Values: [vpcId] },
      ],
    }),
  );
  const group = out.SecurityGroups?.[0];
  return group ? securityGroupOf(group) : undefined;
}

async function securityGroupRules(aws: AwsClient, groupId: string): Promise<SecurityGroupRule[]> {
  const out = await aws.ec2(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
  );
  const group = out.SecurityGroups?.[0];
  if (!group) {
    throw new ApplyProblem({
      kind: 'failed',
      reason: 'InvalidConfiguration',
      message: `security group ${groupId} does not exist`,
    });
  }
  return securityGroupOf(group).ingress;
}

async function listenersOf(aws: AwsClient, loadBalancerArn: string): Promise<Listener[]> {
  const listeners: Listener[] = [];
  let marker: string | undefined;
  do {
    const out = await aws.elbv2(
      new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn, Marker: marker }),
    );
    listeners.push(...(out.Listeners ?? []));
    marker = out.NextMarker;
  } while (marker);
  return listeners;
}

async function certificatesOf(aws: AwsClient, listenerArn: string): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const out = await aws.elbv2(
      new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn, Marker: marker }),
    );
    for (const c of out.Certificates ?? []) if (c.CertificateArn) arns.push(c.CertificateArn);
    marker = out.NextMarker;
  } while (marker);
  return arns;
}

async function registeredTargets(aws: AwsClient, targetGroupArn: string): Promise<Set<string>> {
  const out = await aws.elbv2(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const keys = new Set<string>();
  for (const d of out.TargetHealthDescriptions ?? []) {
    if (d.Target?.Id && d.TargetHealth?.State !== 'draining')
      keys.add(`${d.Target.Id}:${d.Target.Port ?? ''}`);
  }
  return keys;
}

// ---- Operations -------------------------------------------------------------------------------

async function createSecurityGroup(ctx: Context, op: Extract<AwsOperation, { op: 'createSecurityGroup' }>) {
  if (ctx.securityGroups.has(op.name)) return;
  const adopt = async (): Promise<string | undefined> => {
    const found = await securityGroupNamed(ctx.aws, op.name, op.vpcId);
    if (!found) return undefined;
    if (!sameOwner(found.tags, op.tags)) {
      throw new ApplyProblem({
        kind: 'failed',
        reason: 'NameConflict',
        message: `security group ${op.name} (${found.id}) exists in ${op.vpcId} and is not this Service's (its tags do not name it)`,
      });
    }
    return found.id;
  };
  let id: string | undefined;
  try {
    const out = await ctx.aws.ec2(
      new CreateSecurityGroupCommand({
        GroupName: op.name,
        Description: op.description,
        VpcId: op.vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList(op.tags) }],
      }),
      {
        lookup: async () => {
          const found = await adopt();
          return found ? { GroupId: found, $metadata: {} } : undefined;
        },
      },
    );
    id = out.GroupId;
  } catch (error) {
    // Made by an earlier try whose answer never came (or by a restart before it was observed).
    if (codeOf(error) !== 'InvalidGroup.Duplicate') throw error;
    id = await adopt();
    if (!id) throw error;
  }
  if (!id) throw new Error(`CreateSecurityGroup ${op.name} returned no GroupId`);
  ctx.securityGroups.set(op.name, id);
}

async function authorizeIngress(ctx: Context, groupId: string, rules: SecurityGroupRule[]): Promise<void> {
  if (rules.length === 0) return;
  try {
    await ctx.aws.ec2(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissionsOf(rules) }),
    );
  } catch (error) {
    // One rule already there fails the whole call: add exactly the missing ones.
    if (codeOf(error) !== 'InvalidPermission.Duplicate') throw error;
    const present = new Set((await securityGroupRules(ctx.aws, groupId)).map(ruleKey));
    const missing = rules.filter((r) => !present.has(ruleKey(r)));
    if (missing.length === 0) return;
    try {
      await ctx.aws.ec2(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissionsOf(missing) }),
      );
    } catch (again) {
      if (codeOf(again) !== 'InvalidPermission.Duplicate') throw again;
    }
  }
}

async function revokeIngress(ctx: Context, groupId: string, rules: SecurityGroupRule[]): Promise<void> {
  if (rules.length === 0) return;
  try {
    await ctx.aws.ec2(
      new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissionsOf(rules) }),
    );
  } catch (error) {
    const code = codeOf(error);
    if (code === 'InvalidGroup.NotFound') return;
    // One rule already gone fails the whole call: revoke exactly those still there.
    if (code !== 'InvalidPermission.NotFound') throw error;
    const present = new Set((await securityGroupRules(ctx.aws, groupId)).map(ruleKey));
    const remaining = rules.filter((r) => present.has(ruleKey(r)));
    if (remaining.length === 0) return;
    try {
      await ctx.aws.ec2(
        new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissionsOf(remaining) }),
      );
    } catch (again) {
      if (codeOf(again) !== 'InvalidPermission.NotFound') throw again;
    }
  }
}

async function createTargetGroup(ctx: Context, op: Extract<AwsOperation, { op: 'createTargetGroup' }>) {
  if (ctx.targetGroups.has(op.name)) return;
  const adopt = async (group: TargetGroup): Promise<string> => {
    const arn = group.TargetGroupArn ?? '';
    const tags = await elbTags(ctx.aws, arn);
    if (!sameOwner(tags, op.tags)) {
      throw new ApplyProblem({
        kind: 'failed',
        reason: 'NameConflict',
        message: `target group ${op.name} exists and is not this Service's (its tags do not name it)`,
      });
    }
    ctx.inventory.recordCreated(arn, 'target-group', tags);
    return arn;
  };
  const existing = await targetGroupNamed(ctx.aws, op.name);
  let arn: string;
  if (existing) {
    arn = await adopt(existing);
  } else {
    try {
      const out = await ctx.aws.elbv2(
        new CreateTargetGroupCommand({
          Name: op.name,
          Protocol: op.protocol,
          Port: op.port,
          VpcId: op.vpcId,
          TargetType: op.targetType,
          ...(op.ipAddressType ? { IpAddressType: op.ipAddressType } : {}),
          ...healthCheckInput(op.healthCheck),
          Tags: tagList(op.tags),
        }),
        {
          lookup: async () => {
            const found = await targetGroupNamed(ctx.aws, op.name);
            return found ? { TargetGroups: [found], $metadata: {} } : undefined;
          },
        },
      );
      arn = out.TargetGroups?.[0]?.TargetGroupArn ?? '';
      if (!arn) throw new Error(`CreateTargetGroup ${op.name} returned no ARN`);
      ctx.inventory.recordCreated(arn, 'target-group', op.tags);
    } catch (error) {
      // moto (and AWS when the settings differ) refuse an existing name: adopt it if it is ours.
      if (codeOf(error) !== 'DuplicateTargetGroupName') throw error;
      const found = await targetGroupNamed(ctx.aws, op.name);
      if (!found) throw error;
      arn = await adopt(found);
    }
  }
  ctx.targetGroups.set(op.name, arn);
}

async function createLoadBalancer(ctx: Context, op: Extract<AwsOperation, { op: 'createLoadBalancer' }>) {
  if (ctx.loadBalancers.has(op.name)) return;
  // AWS returns the existing load balancer for a name already taken, moto makes a second one:
  // either way, look first.
  const existing = await loadBalancerNamed(ctx.aws, op.name);
  if (existing) {
    const arn = existing.LoadBalancerArn ?? '';
    const tags = await elbTags(ctx.aws, arn);
    if (!sameOwner(tags, op.tags)) {
      throw new ApplyProblem({
        kind: 'failed',
        reason: 'NameConflict',
        message: `load balancer ${op.name} exists and is not this Service's (its tags do not name it); choose another aws-load-balancer-name`,
      });
    }
    ctx.inventory.recordCreated(arn, 'load-balancer', tags);
    ctx.loadBalancers.set(op.name, arn);
    return;
  }
  const securityGroups = op.securityGroups.map((ref) => ctx.securityGroup(ref));
  const out = await ctx.aws.elbv2(
    new CreateLoadBalancerCommand({
      Name: op.name,
      Type: 'network',
      Scheme: op.scheme,
      IpAddressType: op.ipAddressType,
      SubnetMappings: subnetMappingsInput(op.subnetMappings),
      ...(securityGroups.length > 0 ? { SecurityGroups: securityGroups } : {}),
      Tags: tagList(op.tags),
    }),
    {
      lookup: async () => {
        const found = await loadBalancerNamed(ctx.aws, op.name);
        return found ? { LoadBalancers: [found], $metadata: {} } : undefined;
      },
    },
  );
  const arn = out.LoadBalancers?.[0]?.LoadBalancerArn;
  if (!arn) throw new Error(`CreateLoadBalancer ${op.name} returned no ARN`);
  ctx.inventory.recordCreated(arn, 'load-balancer', op.tags);
  ctx.loadBalancers.set(op.name, arn);
  ctx.fresh.add(arn);
}

function subnetMappingsInput(mappings: ReadonlyArray<SubnetMapping>) {
  return mappings.map((m) => ({
    SubnetId: m.subnetId,
    ...(m.allocationId ? { AllocationId: m.allocationId } : {}),
    ...(m.privateIPv4Address ? { PrivateIPv4Address: m.privateIPv4Address } : {}),
  }));
}

/** Adds the certificates the listener lacks (moto lists a certificate twice if it is added twice). */
async function addCertificates(
  ctx: Context,
  listenerArn: string,
  certificates: ReadonlyArray<string>,
): Promise<void> {
  const present = new Set(await certificatesOf(ctx.aws, listenerArn));
  const missing = [...new Set(certificates)].filter((c) => !present.has(c));
  if (missing.length === 0) return;
  await ctx.aws.elbv2(
    new AddListenerCertificatesCommand({
      ListenerArn: listenerArn,
      Certificates: missing.map((CertificateArn) => ({ CertificateArn })),
    }),
    {
      lookup: async () => {
        const now = new Set(await certificatesOf(ctx.aws, listenerArn));
        return missing.every((c) => now.has(c)) ? { $metadata: {} } : undefined;
      },
    },
  );
}

async function modifyListener(
  ctx: Context,
  listenerArn: string,
  wanted: {
    protocol: string;
    targetGroupArn: string;
    defaultCertificate?: string;
    sslPolicy?: string;
    alpnPolicy?: string;
  },
): Promise<void> {
  const tls = wanted.protocol === 'TLS';
  // The protocol only when it changes (moto's ModifyListener refuses TLS and UDP even unchanged).
  const protocolChanges = ctx.listenerProtocols.get(listenerArn) !== wanted.protocol;
  await ctx.aws.elbv2(
    new ModifyListenerCommand({
      ListenerArn: listenerArn,
      ...(protocolChanges ? { Protocol: wanted.protocol as 'TCP' } : {}),
      DefaultActions: [{ Type: 'forward', TargetGroupArn: wanted.targetGroupArn }],
      ...(tls && wanted.defaultCertificate
        ? { Certificates: [{ CertificateArn: wanted.defaultCertificate }] }
        : {}),
      ...(tls && wanted.sslPolicy ? { SslPolicy: wanted.sslPolicy } : {}),
      ...(tls && wanted.alpnPolicy ? { AlpnPolicy: [wanted.alpnPolicy] } : {}),
    }),
  );
  ctx.listenerProtocols.set(listenerArn, wanted.protocol);
}

async function createListener(ctx: Context, op: Extract<AwsOperation, { op: 'createListener' }>) {
  const loadBalancerArn = ctx.loadBalancer(op.loadBalancer);
  const lbName = 'name' in op.loadBalancer ? op.loadBalancer.name : ctx.loadBalancerName(loadBalancerArn);
  const refName = lbName === undefined ? undefined : listenerRefName(lbName, op.port);
  const targetGroupArn = ctx.targetGroup(op.targetGroup);
  const tls = op.protocol === 'TLS';
  const [defaultCertificate, ...additional] = tls ? op.certificates : [];
  const onPort = async (): Promise<Listener | undefined> =>
    (await listenersOf(ctx.aws, loadBalancerArn)).find((l) => l.Port === op.port);
  // moto creates a second listener on a taken port (AWS refuses or returns the same one): look first.
  const existing = ctx.fresh.has(loadBalancerArn) ? undefined : await onPort();
  let listenerArn: string;
  if (existing?.ListenerArn) {
    listenerArn = existing.ListenerArn;
    ctx.listenerProtocols.set(listenerArn, existing.Protocol ?? '');
    await modifyListener(ctx, listenerArn, {
      protocol: op.protocol,
      targetGroupArn,
      ...(defaultCertificate ? { defaultCertificate } : {}),
      ...(op.sslPolicy ? { sslPolicy: op.sslPolicy } : {}),
      ...(op.alpnPolicy ? { alpnPolicy: op.alpnPolicy } : {}),
    });
  } else {
    const out = await ctx.aws.elbv2(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancerArn,
        Port: op.port,
        Protocol: op.protocol,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
        ...(defaultCertificate ? { Certificates: [{ CertificateArn: defaultCertificate }] } : {}),
        ...(tls && op.sslPolicy ? { SslPolicy: op.sslPolicy } : {}),
        ...(tls && op.alpnPolicy ? { AlpnPolicy: [op.alpnPolicy] } : {}),
        ...(Object.keys(op.tags).length > 0 ? { Tags: tagList(op.tags) } : {}),
      }),
      {
        lookup: async () => {
          const found = await onPort();
          return found ? { Listeners: [found], $metadata: {} } : undefined;
        },
      },
    );
    listenerArn = out.Listeners?.[0]?.ListenerArn ?? '';
    if (!listenerArn) throw new Error(`CreateListener on port ${op.port} returned no ARN`);
    ctx.listenerProtocols.set(listenerArn, op.protocol);
  }
  // CreateListener takes the default certificate only; the others are added to it.
  if (additional.length > 0) await addCertificates(ctx, listenerArn, additional);
  if (refName) ctx.listeners.set(refName, listenerArn);
}

async function deregisterTargets(ctx: Context, targetGroupArn: string, targets: Target[]): Promise<void> {
  for (const batch of chunks(targets, 100)) {
    try {
      await ctx.aws.elbv2(
        new DeregisterTargetsCommand({
          TargetGroupArn: targetGroupArn,
          Targets: batch.map((t) => ({ Id: t.id, Port: t.port })),
        }),
      );
    } catch (error) {
      const code = codeOf(error);
      if (code === 'TargetGroupNotFound') return;
      // A target no longer registered (moto refuses it; a terminated instance): deregister the rest.
      if (code !== 'InvalidTarget') throw error;
      const registered = await registeredTargets(ctx.aws, targetGroupArn);
      const still = batch.filter((t) => registered.has(`${t.id}:${t.port}`));
      if (still.length === 0) continue;
      await ctx.aws.elbv2(
        new DeregisterTargetsCommand({
          TargetGroupArn: targetGroupArn,
          Targets: still.map((t) => ({ Id: t.id, Port: t.port })),
        }),
      );
    }
  }
}

/** Deletes that find the resource gone have nothing left to do. */
async function deleting(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const code = codeOf(error);
    if (code !== undefined && isNotFoundError(code)) return;
    throw error;
  }
}

function isSecurityGroupId(id: string): boolean {
  return /^sg-[0-9a-f]+$/.test(id);
}

async function runOperation(ctx: Context, op: AwsOperation): Promise<void> {
  const aws = ctx.aws;
  switch (op.op) {
    case 'createSecurityGroup':
      return createSecurityGroup(ctx, op);
    case 'authorizeIngress':
      return authorizeIngress(ctx, ctx.securityGroup(op.group), op.rules);
    case 'revokeIngress':
      return revokeIngress(ctx, op.groupId, op.rules);
    case 'deleteSecurityGroup':
      return deleting(() => aws.ec2(new DeleteSecurityGroupCommand({ GroupId: op.groupId })));
    case 'createTargetGroup':
      return createTargetGroup(ctx, op);
    case 'modifyTargetGroupHealthCheck':
      await aws.elbv2(
        new ModifyTargetGroupCommand({
          TargetGroupArn: op.targetGroupArn,
          ...healthCheckInput(op.healthCheck),
        }),
      );
      return;
    case 'modifyTargetGroupAttributes':
      await aws.elbv2(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: ctx.targetGroup(op.targetGroup),
          Attributes: attributeList(op.attributes),
        }),
      );
      return;
    case 'registerTargets': {
      const arn = ctx.targetGroup(op.targetGroup);
      for (const batch of chunks(op.targets, 100)) {
        await aws.elbv2(
          new RegisterTargetsCommand({
            TargetGroupArn: arn,
            Targets: batch.map((t) => ({ Id: t.id, Port: t.port })),
          }),
        );
      }
      return;
    }
    case 'deregisterTargets':
      return deregisterTargets(ctx, op.targetGroupArn, op.targets);
    case 'deleteTargetGroup':
      await deleting(() => aws.elbv2(new DeleteTargetGroupCommand({ TargetGroupArn: op.targetGroupArn })));
      ctx.inventory.recordDeleted(op.targetGroupArn);
      return;
    case 'createLoadBalancer':
      return createLoadBalancer(ctx, op);
    case 'setSecurityGroups':
      await aws.elbv2(
        new SetSecurityGroupsCommand({
          LoadBalancerArn: op.loadBalancerArn,
          SecurityGroups: op.securityGroups.map((ref) => ctx.securityGroup(ref)),
        }),
      );
      return;
    case 'setSubnets':
      await aws.elbv2(
        new SetSubnetsCommand({
          LoadBalancerArn: op.loadBalancerArn,
          SubnetMappings: subnetMappingsInput(op.subnetMappings),
        }),
      );
      return;
    case 'setIpAddressType':
      await aws.elbv2(
        new SetIpAddressTypeCommand({ LoadBalancerArn: op.loadBalancerArn, IpAddressType: op.ipAddressType }),
      );
      return;
    case 'modifyLoadBalancerAttributes':
      await aws.elbv2(
        new ModifyLoadBalancerAttributesCommand({
          LoadBalancerArn: ctx.loadBalancer(op.loadBalancer),
          Attributes: attributeList(op.attributes),
        }),
      );
      return;
    case 'deleteLoadBalancer':
      await deleting(() => aws.elbv2(new DeleteLoadBalancerCommand({ LoadBalancerArn: op.loadBalancerArn })));
      ctx.inventory.recordDeleted(op.loadBalancerArn);
      return;
    case 'createListener':
      return createListener(ctx, op);
    case 'modifyListener':
      return modifyListener(ctx, op.listenerArn, {
        protocol: op.protocol,
        targetGroupArn: ctx.targetGroup(op.targetGroup),
        ...(op.defaultCertificate ? { defaultCertificate: op.defaultCertificate } : {}),
        ...(op.sslPolicy ? { sslPolicy: op.sslPolicy } : {}),
        ...(op.alpnPolicy ? { alpnPolicy: op.alpnPolicy } : {}),
      });
    case 'addListenerCertificates':
      return addCertificates(ctx, ctx.listener(op.listener), op.certificates);
    case 'removeListenerCertificates':
      await deleting(() =>
        aws.elbv2(
          new RemoveListenerCertificatesCommand({
            ListenerArn: op.listenerArn,
            Certificates: op.certificates.map((CertificateArn) => ({ CertificateArn })),
          }),
        ),
      );
      return;
    case 'modifyListenerAttributes':
      await aws.elbv2(
        new ModifyListenerAttributesCommand({
          ListenerArn: ctx.listener(op.listener),
          Attributes: attributeList(op.attributes),
        }),
      );
      return;
    case 'deleteListener':
      return deleting(() => aws.elbv2(new DeleteListenerCommand({ ListenerArn: op.listenerArn })));
    case 'addTags': {
      const target = ctx.taggable(op.arn);
      if (isSecurityGroupId(target)) {
        await aws.ec2(new CreateTagsCommand({ Resources: [target], Tags: tagList(op.tags) }));
      } else {
        await aws.elbv2(new AddTagsCommand({ ResourceArns: [target], Tags: tagList(op.tags) }));
        ctx.inventory.recordTags(target, op.tags);
      }
      return;
    }
    case 'removeTags':
      if (isSecurityGroupId(op.arn)) {
        await aws.ec2(new DeleteTagsCommand({ Resources: [op.arn], Tags: op.keys.map((Key) => ({ Key })) }));
      } else {
        await aws.elbv2(new RemoveTagsCommand({ ResourceArns: [op.arn], TagKeys: op.keys }));
        ctx.inventory.recordTags(op.arn, {}, op.keys);
      }
      return;
  }
}

/** Why an operation stopped the plan, as a result the controller can act on. */
export function stopFor(op: AwsOperation, error: unknown): Stop {
  if (error instanceof ApplyProblem) return error.stop;
  const what = describeOperation(op);
  if (error instanceof AwsCallError) {
    const message = `${what}: ${error.message}`;
    if (isDependencyError(error.code)) {
      return { kind: 'pending', reason: 'WaitingForDependency', message, retryAfterMs: RETRY_MS.dependency };
    }
    if (error.failure.kind === 'throttled') {
      return { kind: 'pending', reason: 'AwsThrottled', message, retryAfterMs: RETRY_MS.throttled };
    }
    if (error.failure.kind === 'transient') {
      return { kind: 'pending', reason: 'AwsUnavailable', message, retryAfterMs: RETRY_MS.unavailable };
    }
    return { kind: 'failed', reason: userFailureReason(error.code), message };
  }
  return { kind: 'failed', reason: 'InternalError', message: `${what}: ${String(error)}` };
}

/** Runs the operations in order; undefined when all succeeded, else why it stopped. */
async function runAll(
  ctx: Context,
  operations: ReadonlyArray<AwsOperation>,
): Promise<{ stop: Stop; done: number } | undefined> {
  for (const [index, op] of operations.entries()) {
    const what = describeOperation(op);
    try {
      await runOperation(ctx, op);
      ctx.logger.info({ op: op.op }, `AWS: done ${what}`);
    } catch (error) {
      const stop = stopFor(op, error);
      ctx.logger.warn({ op: op.op, reason: stop.reason, err: stop.message }, `AWS: stopped at ${what}`);
      return { stop, done: index };
    }
  }
  return undefined;
}

/**
 * Runs the plan, then reports the serving load balancer: active → ready with its DNS name
 * (lowercase) as hostname; provisioning → pending (Provisioning) with a retry; failed → failed.
 */
export async function applyPlan(plan: AwsPlan, observed: AwsObserved, deps: ApplyDeps): Promise<ApplyResult> {
  if (plan.failure) return { kind: 'failed', reason: plan.failure.reason, message: plan.failure.message };
  const ctx = new Context(observed, deps);
  const stopped = await runAll(ctx, plan.operations);
  if (stopped) {
    const { stop, done } = stopped;
    if (stop.kind === 'failed') return { kind: 'failed', reason: stop.reason, message: stop.message };
    return {
      kind: 'pending',
      reason: stop.reason,
      message: stop.message,
      retryAfterMs: stop.retryAfterMs,
      ...(done > 0 && plan.changes.length > 0 ? { changed: plan.changes } : {}),
    };
  }
  const changed = plan.operations.length > 0 ? plan.changes : [];
  const arn = ctx.loadBalancers.get(plan.loadBalancerName);
  const seen = observed.owned.loadBalancers.find((lb) => lb.name === plan.loadBalancerName);
  let state: string | undefined;
  let dnsName = '';
  let stateReason = '';
  if (plan.operations.length === 0 && seen) {
    state = seen.state;
    dnsName = seen.dnsName;
  } else if (arn) {
    try {
      const out = await deps.aws.elbv2(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }));
      const lb = out.LoadBalancers?.[0];
      state = lb?.State?.Code;
      stateReason = lb?.State?.Reason ?? '';
      dnsName = lb?.DNSName ?? '';
    } catch (error) {
      if (codeOf(error) !== 'LoadBalancerNotFound') {
        const stop = stopFor({ op: 'deleteLoadBalancer', loadBalancerArn: arn }, error);
        if (stop.kind === 'failed') return { kind: 'failed', reason: stop.reason, message: stop.message };
        return {
          kind: 'pending',
          reason: stop.reason,
          message: stop.message,
          retryAfterMs: stop.retryAfterMs,
        };
      }
      deps.inventory.recordDeleted(arn);
    }
  }
  if (state === undefined) {
    return {
      kind: 'pending',
      reason: 'Provisioning',
      message: `load balancer ${plan.loadBalancerName} does not exist yet`,
      retryAfterMs: deps.provisioningRetryMs ?? 5000,
      ...(changed.length > 0 ? { changed } : {}),
    };
  }
  if (state === 'failed') {
    return {
      kind: 'failed',
      reason: 'LoadBalancerFailed',
      message: `AWS reports load balancer ${plan.loadBalancerName} as failed${stateReason ? `: ${stateReason}` : ''}`,
    };
  }
  if ((state !== 'active' && state !== 'active_impaired') || dnsName === '') {
    return {
      kind: 'pending',
      reason: 'Provisioning',
      message: `load balancer ${plan.loadBalancerName} is ${state}`,
      retryAfterMs: deps.provisioningRetryMs ?? 5000,
      ...(changed.length > 0 ? { changed } : {}),
    };
  }
  const notices = [...plan.notices];
  if (state === 'active_impaired') {
    notices.push({
      reason: 'LoadBalancerImpaired',
      message: `AWS reports load balancer ${plan.loadBalancerName} as active but impaired${stateReason ? `: ${stateReason}` : ''}`,
    });
  }
  return {
    kind: 'ready',
    ingress: [{ hostname: dnsName.toLowerCase() }],
    changed,
    released: [],
    ...(notices.length > 0 ? { notices } : {}),
  };
}

/**
 * Runs a removal plan: gone once every operation succeeded; otherwise pending with a retry (never
 * failed: giving up would leak, and the finalizer must stay until everything is gone).
 */
export async function applyRemoval(
  operations: ReadonlyArray<AwsOperation>,
  deps: ApplyDeps,
  observed: AwsObserved = EMPTY_OBSERVED,
): Promise<RemoveResult> {
  const ctx = new Context(observed, deps);
  const stopped = await runAll(ctx, operations);
  if (!stopped) return { kind: 'gone', released: [] };
  const { stop } = stopped;
  return {
    kind: 'pending',
    message: stop.message,
    retryAfterMs: stop.kind === 'pending' ? stop.retryAfterMs : RETRY_MS.removal,
  };
}
