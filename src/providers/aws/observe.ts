// Reads what the plan needs from AWS: the environment (VPC and its CIDRs, the subnets the load
// balancer may use, the instances behind the Service's nodes and their security groups, the groups
// named by annotation) and everything Sluice owns for the Service (found by tag, read in full).
// Reads only; batched (≤20 ARNs a call), instances and VPCs cached briefly.
import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Filter,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  DescribeListenerAttributesCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerIntent, ServiceRef } from '../../intent/types.ts';
import type { AwsClient } from './client.ts';
import { AwsCallError, isNotFoundError } from './errors.ts';
import type { AwsInventory } from './inventory.ts';
import {
  type AwsEnvironment,
  type AwsObserved,
  type AwsSettings,
  kubernetesClusterTag,
  type ObservedInstance,
  type ObservedListener,
  type ObservedLoadBalancer,
  type ObservedSecurityGroup,
  type ObservedSubnet,
  type ObservedTargetGroup,
  type OwnedResources,
  type Scheme,
  TAG,
  type Target,
} from './model.ts';
import { type Clock, systemClock } from './rate-limit.ts';
import { attributeMap, chunks, healthCheckOf, securityGroupOf, tagMap } from './sdk-shapes.ts';

/** Short-lived caches of what rarely changes: instances (by ID) and VPC CIDRs. */
export class EnvironmentCache {
  readonly #clock: Clock;
  readonly #instanceTtlMs: number;
  readonly #vpcTtlMs: number;
  readonly #instances = new Map<string, { instance: Omit<ObservedInstance, 'nodeName'>; at: number }>();
  readonly #vpcs = new Map<string, { cidrs: string[]; at: number }>();

  constructor(options: { clock?: Clock; instanceTtlMs?: number; vpcTtlMs?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#instanceTtlMs = options.instanceTtlMs ?? 60_000;
    this.#vpcTtlMs = options.vpcTtlMs ?? 5 * 60_000;
  }

  instance(id: string): Omit<ObservedInstance, 'nodeName'> | undefined {
    const hit = this.#instances.get(id);
    return hit && this.#clock.now() - hit.at < this.#instanceTtlMs ? hit.instance : undefined;
  }

  setInstance(instance: Omit<ObservedInstance, 'nodeName'>): void {
    this.#instances.set(instance.instanceId, { instance, at: this.#clock.now() });
  }

  vpcCidrs(vpcId: string): string[] | undefined {
    const hit = this.#vpcs.get(vpcId);
    return hit && this.#clock.now() - hit.at < this.#vpcTtlMs ? hit.cidrs : undefined;
  }

  setVpcCidrs(vpcId: string, cidrs: string[]): void {
    this.#vpcs.set(vpcId, { cidrs, at: this.#clock.now() });
  }
}

export interface ObserveDeps {
  aws: AwsClient;
  inventory: AwsInventory;
  cluster: string;
  /** The cluster's VPC from config; else the instances' VPC, else the subnets'. */
  vpcId?: string;
  cache?: EnvironmentCache;
}

/** aws:///us-east-1a/i-0123456789abcdef0 (also aws://us-east-1a/i-…) → the instance ID. */
export function instanceIdOf(providerID: string | undefined): string | undefined {
  return /^aws:\/\/\/?[^/]*\/(i-[0-9a-f]+)$/.exec(providerID ?? '')?.[1];
}

/** EC2 takes at most 200 values per filter; DescribeLoadBalancers and DescribeTags 20 ARNs. */
const FILTER_VALUES = 200;
const ARN_BATCH = 20;

export async function observe(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  deps: ObserveDeps,
): Promise<AwsObserved> {
  const [environment, owned] = await Promise.all([
    observeEnvironment(intent, settings, deps),
    observeOwnedResources(intent.service.uid, deps),
  ]);
  return { environment, owned };
}

/**
 * For removal, when there is no intent (the Service is gone): what Sluice owns for it, and as the
 * nodes' groups, the groups tagged for the cluster plus those of the instances its target groups
 * still name (where the Kubernetes-docs rules of this load balancer were added).
 */
export async function observeOwned(service: ServiceRef, deps: ObserveDeps): Promise<AwsObserved> {
  const owned = await observeOwnedResources(service.uid, deps);
  const instanceIds = [
    ...new Set(
      owned.targetGroups
        .filter((tg) => tg.targetType === 'instance')
        .flatMap((tg) => tg.targets.map((t) => t.id)),
    ),
  ];
  const instances = await describeInstances(
    instanceIds.map((id) => ({ nodeName: '', instanceId: id })),
    deps,
  );
  const vpcId = deps.vpcId ?? owned.loadBalancers[0]?.vpcId ?? owned.targetGroups[0]?.vpcId;
  const clusterTagged = await describeSecurityGroups(deps.aws, [
    { Name: 'tag-key', Values: [kubernetesClusterTag(deps.cluster)] },
    ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
  ]);
  const ofInstances = await securityGroupsById(
    deps.aws,
    instances.flatMap((i) => i.securityGroupIds),
  );
  const nodeSecurityGroups = uniqueGroups([...clusterTagged, ...ofInstances]);
  return {
    environment: {
      ...(vpcId ? { vpcId } : {}),
      vpcCidrs: [],
      subnets: [],
      instances,
      nodeSecurityGroups,
      namedSecurityGroups: [],
    },
    owned,
  };
}

// ---- Environment ----------------------------------------------------------------------------

async function observeEnvironment(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  deps: ObserveDeps,
): Promise<AwsEnvironment> {
  const wanted = intent.nodes.flatMap((node) => {
    const instanceId = instanceIdOf(node.providerID);
    return instanceId ? [{ nodeName: node.name, instanceId }] : [];
  });
  const instances = await describeInstances(wanted, deps);
  const instanceVpcs = [...new Set(instances.map((i) => i.vpcId).filter((v) => v !== ''))];
  let vpcId = deps.vpcId ?? (instanceVpcs.length === 1 ? instanceVpcs[0] : undefined);
  const subnets = await describeSubnets(settings, vpcId, deps.aws);
  if (!vpcId) {
    const subnetVpcs = [...new Set(subnets.map((s) => s.vpcId))];
    if (subnetVpcs.length === 1) vpcId = subnetVpcs[0];
  }
  const [vpcCidrs, nodeSecurityGroups, namedSecurityGroups] = await Promise.all([
    vpcId ? describeVpcCidrs(vpcId, deps) : Promise.resolve([]),
    securityGroupsById(
      deps.aws,
      instances.flatMap((i) => i.securityGroupIds),
    ),
    resolveNamedGroups(
      [...(settings.securityGroups ?? []), ...settings.extraSecurityGroups],
      vpcId,
      deps.aws,
    ),
  ]);
  return {
    ...(vpcId ? { vpcId } : {}),
    vpcCidrs,
    subnets: vpcId ? subnets.filter((s) => s.vpcId === vpcId) : subnets,
    instances,
    nodeSecurityGroups,
    namedSecurityGroups,
  };
}

async function describeInstances(
  wanted: ReadonlyArray<{ nodeName: string; instanceId: string }>,
  deps: ObserveDeps,
): Promise<ObservedInstance[]> {
  const cache = deps.cache;
  const missing = [...new Set(wanted.map((w) => w.instanceId).filter((id) => !cache?.instance(id)))];
  const found = new Map<string, Omit<ObservedInstance, 'nodeName'>>();
  for (const batch of chunks(missing, FILTER_VALUES)) {
    let token: string | undefined;
    do {
      // A filter, not InstanceIds: an unknown ID (a node whose instance is gone) is no error then.
      const out = await deps.aws.ec2(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'instance-id', Values: batch },
            { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
          ],
          NextToken: token,
        }),
      );
      for (const reservation of out.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (!instance.InstanceId) continue;
          const observed = {
            instanceId: instance.InstanceId,
            vpcId: instance.VpcId ?? '',
            ...(instance.PrivateIpAddress ? { privateIp: instance.PrivateIpAddress } : {}),
            securityGroupIds: (instance.SecurityGroups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
          };
          found.set(observed.instanceId, observed);
          cache?.setInstance(observed);
        }
      }
      token = out.NextToken;
    } while (token);
  }
  const instances: ObservedInstance[] = [];
  for (const w of wanted) {
    const instance = found.get(w.instanceId) ?? cache?.instance(w.instanceId);
    if (instance) instances.push({ nodeName: w.nodeName, ...instance });
  }
  return instances;
}

function subnetOf(subnet: {
  SubnetId?: string;
  VpcId?: string;
  AvailabilityZone?: string;
  CidrBlock?: string;
  Ipv6CidrBlockAssociationSet?: Array<{ Ipv6CidrBlock?: string; Ipv6CidrBlockState?: { State?: string } }>;
  Tags?: Array<{ Key?: string; Value?: string }>;
}): ObservedSubnet {
  return {
    id: subnet.SubnetId ?? '',
    vpcId: subnet.VpcId ?? '',
    availabilityZone: subnet.AvailabilityZone ?? '',
    cidr: subnet.CidrBlock ?? '',
    ipv6Cidrs: (subnet.Ipv6CidrBlockAssociationSet ?? [])
      .filter((a) => a.Ipv6CidrBlock && (a.Ipv6CidrBlockState?.State ?? 'associated') === 'associated')
      .map((a) => a.Ipv6CidrBlock ?? ''),
    tags: tagMap(subnet.Tags),
  };
}

/** The role tag subnet discovery looks for (value 1 or empty), as both AWS controllers. */
export function subnetRoleTag(scheme: Scheme): string {
  return scheme === 'internal' ? 'kubernetes.io/role/internal-elb' : 'kubernetes.io/role/elb';
}

async function describeSubnets(
  settings: AwsSettings,
  vpcId: string | undefined,
  aws: AwsClient,
): Promise<ObservedSubnet[]> {
  const vpcFilter: Filter[] = vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [];
  const queries: Filter[][] = [];
  if (settings.subnets && settings.subnets.length > 0) {
    const ids = settings.subnets.filter((s) => /^subnet-[0-9a-f]+$/.test(s));
    const names = settings.subnets.filter((s) => !/^subnet-[0-9a-f]+$/.test(s));
    if (ids.length > 0) queries.push([{ Name: 'subnet-id', Values: ids }]);
    if (names.length > 0) queries.push([{ Name: 'tag:Name', Values: names }, ...vpcFilter]);
  } else {
    queries.push([{ Name: `tag:${subnetRoleTag(settings.scheme)}`, Values: ['1', ''] }, ...vpcFilter]);
  }
  const subnets = new Map<string, ObservedSubnet>();
  for (const filters of queries) {
    let token: string | undefined;
    do {
      const out = await aws.ec2(new DescribeSubnetsCommand({ Filters: filters, NextToken: token }));
      for (const subnet of out.Subnets ?? [])
        if (subnet.SubnetId) subnets.set(subnet.SubnetId, subnetOf(subnet));
      token = out.NextToken;
    } while (token);
  }
  return [...subnets.values()].sort((a, b) => a.id.localeCompare(b.id));
}

async function describeVpcCidrs(vpcId: string, deps: ObserveDeps): Promise<string[]> {
  const cached = deps.cache?.vpcCidrs(vpcId);
  if (cached) return cached;
  const out = await deps.aws.ec2(new DescribeVpcsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  const vpc = out.Vpcs?.[0];
  if (!vpc) return [];
  const v4 = (vpc.CidrBlockAssociationSet ?? [])
    .filter((a) => a.CidrBlock && (a.CidrBlockState?.State ?? 'associated') === 'associated')
    .map((a) => a.CidrBlock ?? '');
  if (v4.length === 0 && vpc.CidrBlock) v4.push(vpc.CidrBlock);
  const v6 = (vpc.Ipv6CidrBlockAssociationSet ?? [])
    .filter((a) => a.Ipv6CidrBlock && (a.Ipv6CidrBlockState?.State ?? 'associated') === 'associated')
    .map((a) => a.Ipv6CidrBlock ?? '');
  const cidrs = [...new Set([...v4, ...v6])];
  deps.cache?.setVpcCidrs(vpcId, cidrs);
  return cidrs;
}

async function describeSecurityGroups(aws: AwsClient, filters: Filter[]): Promise<ObservedSecurityGroup[]> {
  const groups: SecurityGroup[] = [];
  let token: string | undefined;
  do {
    const out = await aws.ec2(new DescribeSecurityGroupsCommand({ Filters: filters, NextToken: token }));
    groups.push(...(out.SecurityGroups ?? []));
    token = out.NextToken;
  } while (token);
  return groups.map(securityGroupOf).sort((a, b) => a.id.localeCompare(b.id));
}

/** By ID through a filter: a group deleted meanwhile is simply absent (GroupIds would fail the call). */
async function securityGroupsById(
  aws: AwsClient,
  ids: ReadonlyArray<string>,
): Promise<ObservedSecurityGroup[]> {
  const unique = [...new Set(ids)];
  const groups: ObservedSecurityGroup[] = [];
  for (const batch of chunks(unique, FILTER_VALUES)) {
    groups.push(...(await describeSecurityGroups(aws, [{ Name: 'group-id', Values: batch }])));
  }
  return groups;
}

function uniqueGroups(groups: ReadonlyArray<ObservedSecurityGroup>): ObservedSecurityGroup[] {
  return [...new Map(groups.map((g) => [g.id, g])).values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Security groups named by annotation: IDs are checked to exist, names resolved by their Name tag (one match). */
async function resolveNamedGroups(
  refs: ReadonlyArray<string>,
  vpcId: string | undefined,
  aws: AwsClient,
): Promise<Array<{ ref: string; id?: string }>> {
  if (refs.length === 0) return [];
  const isId = (ref: string): boolean => /^sg-[0-9a-f]+$/.test(ref);
  const ids = [...new Set(refs.filter(isId))];
  const names = [...new Set(refs.filter((r) => !isId(r)))];
  const vpcFilter: Filter[] = vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [];
  const existing = new Set(ids.length > 0 ? (await securityGroupsById(aws, ids)).map((g) => g.id) : []);
  const byName = new Map<string, string[]>();
  if (names.length > 0) {
    for (const group of await describeSecurityGroups(aws, [
      { Name: 'tag:Name', Values: names },
      ...vpcFilter,
    ])) {
      const name = group.tags.Name ?? '';
      byName.set(name, [...(byName.get(name) ?? []), group.id]);
    }
  }
  return refs.map((ref) => {
    if (isId(ref)) return existing.has(ref) ? { ref, id: ref } : { ref };
    const matches = byName.get(ref) ?? [];
    return matches.length === 1 && matches[0] ? { ref, id: matches[0] } : { ref };
  });
}

// ---- Owned resources ------------------------------------------------------------------------

function isGone(error: unknown): boolean {
  return error instanceof AwsCallError && isNotFoundError(error.code);
}

async function observeOwnedResources(serviceUid: string, deps: ObserveDeps): Promise<OwnedResources> {
  await deps.inventory.ensureLoaded();
  const arns = deps.inventory.owned(deps.cluster, serviceUid);
  const [loadBalancers, targetGroups, securityGroups] = await Promise.all([
    describeOwnedLoadBalancers(arns.loadBalancerArns, deps),
    describeOwnedTargetGroups(arns.targetGroupArns, deps),
    describeSecurityGroups(deps.aws, [
      { Name: `tag:${TAG.cluster}`, Values: [deps.cluster] },
      { Name: `tag:${TAG.serviceUid}`, Values: [serviceUid] },
    ]),
  ]);
  return { loadBalancers, targetGroups, securityGroups };
}

/** Describes by ARN in batches; a batch that names a resource deleted meanwhile is read one by one. */
async function describeByArns<T>(
  arns: ReadonlyArray<string>,
  describe: (batch: string[]) => Promise<T[]>,
  inventory: AwsInventory,
): Promise<T[]> {
  const found: T[] = [];
  for (const batch of chunks(arns, ARN_BATCH)) {
    try {
      found.push(...(await describe(batch)));
      continue;
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    for (const arn of batch) {
      try {
        found.push(...(await describe([arn])));
      } catch (error) {
        if (!isGone(error)) throw error;
        inventory.recordDeleted(arn);
      }
    }
  }
  return found;
}

async function describeOwnedLoadBalancers(
  arns: ReadonlyArray<string>,
  deps: ObserveDeps,
): Promise<ObservedLoadBalancer[]> {
  const lbs = await describeByArns(
    arns,
    async (batch) =>
      (await deps.aws.elbv2(new DescribeLoadBalancersCommand({ LoadBalancerArns: batch }))).LoadBalancers ??
      [],
    deps.inventory,
  );
  const observed = await Promise.all(
    lbs.map(async (lb) => {
      try {
        return await describeLoadBalancerInFull(lb, deps);
      } catch (error) {
        // Deleted between the Describe calls: it is gone, as the next observe will see.
        if (!isGone(error)) throw error;
        deps.inventory.recordDeleted(lb.LoadBalancerArn ?? '');
        return undefined;
      }
    }),
  );
  return observed
    .filter((lb): lb is ObservedLoadBalancer => lb !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function describeLoadBalancerInFull(
  lb: LoadBalancer,
  deps: ObserveDeps,
): Promise<ObservedLoadBalancer> {
  const arn = lb.LoadBalancerArn ?? '';
  const [attributes, listeners] = await Promise.all([
    deps.aws.elbv2(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })),
    describeListeners(arn, deps.aws),
  ]);
  return {
    arn,
    name: lb.LoadBalancerName ?? '',
    scheme: (lb.Scheme ?? 'internet-facing') as Scheme,
    state: lb.State?.Code ?? 'unknown',
    dnsName: lb.DNSName ?? '',
    ipAddressType: lb.IpAddressType ?? 'ipv4',
    vpcId: lb.VpcId ?? '',
    subnetMappings: (lb.AvailabilityZones ?? []).map((zone) => {
      const address = zone.LoadBalancerAddresses?.[0];
      return {
        subnetId: zone.SubnetId ?? '',
        ...(address?.AllocationId ? { allocationId: address.AllocationId } : {}),
        ...(address?.PrivateIPv4Address ? { privateIPv4Address: address.PrivateIPv4Address } : {}),
      };
    }),
    securityGroups: [...(lb.SecurityGroups ?? [])],
    attributes: attributeMap(attributes.Attributes),
    tags: deps.inventory.tagsOf(arn) ?? {},
    listeners,
  };
}

async function describeListeners(loadBalancerArn: string, aws: AwsClient): Promise<ObservedListener[]> {
  const listeners: Listener[] = [];
  let marker: string | undefined;
  do {
    const out = await aws.elbv2(
      new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn, Marker: marker }),
    );
    listeners.push(...(out.Listeners ?? []));
    marker = out.NextMarker;
  } while (marker);
  const [observed, tags] = await Promise.all([
    Promise.all(listeners.map((listener) => describeListenerInFull(listener, aws))),
    listenerTags(
      listeners.flatMap((l) => (l.ListenerArn ? [l.ListenerArn] : [])),
      aws,
    ),
  ]);
  return observed
    .map((listener) => ({ ...listener, tags: tags.get(listener.arn) ?? {} }))
    .sort((a, b) => a.port - b.port);
}

/** Listener tags, ≤20 ARNs a call (the plan repairs listener tags only when it has them). */
async function listenerTags(
  arns: ReadonlyArray<string>,
  aws: AwsClient,
): Promise<Map<string, Record<string, string>>> {
  const tags = new Map<string, Record<string, string>>();
  for (const batch of chunks(arns, ARN_BATCH)) {
    const out = await aws.elbv2(new DescribeTagsCommand({ ResourceArns: batch }));
    for (const d of out.TagDescriptions ?? []) if (d.ResourceArn) tags.set(d.ResourceArn, tagMap(d.Tags));
  }
  return tags;
}

/** The default certificate first, then the others (DescribeListenerCertificates, paginated). */
async function listenerCertificates(listenerArn: string, aws: AwsClient): Promise<string[]> {
  const certificates: Array<{ arn: string; isDefault: boolean }> = [];
  let marker: string | undefined;
  do {
    const out = await aws.elbv2(
      new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn, Marker: marker }),
    );
    for (const c of out.Certificates ?? []) {
      if (c.CertificateArn) certificates.push({ arn: c.CertificateArn, isDefault: c.IsDefault === true });
    }
    marker = out.NextMarker;
  } while (marker);
  const ordered = [...certificates.filter((c) => c.isDefault), ...certificates.filter((c) => !c.isDefault)];
  return [...new Set(ordered.map((c) => c.arn))];
}

async function describeListenerInFull(listener: Listener, aws: AwsClient): Promise<ObservedListener> {
  const arn = listener.ListenerArn ?? '';
  const protocol = listener.Protocol ?? '';
  // Certificates exist on TLS listeners only; tcp.idle_timeout.seconds on TCP listeners only.
  const [certificates, attributes] = await Promise.all([
    protocol === 'TLS' ? listenerCertificates(arn, aws) : Promise.resolve([]),
    protocol === 'TCP'
      ? aws
          .elbv2(new DescribeListenerAttributesCommand({ ListenerArn: arn }))
          .then((o) => attributeMap(o.Attributes))
      : Promise.resolve({}),
  ]);
  const forward = listener.DefaultActions?.find((a) => a.Type === 'forward');
  const targetGroupArn = forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
  return {
    arn,
    port: listener.Port ?? 0,
    protocol,
    ...(targetGroupArn ? { targetGroupArn } : {}),
    certificates,
    ...(protocol === 'TLS' && listener.SslPolicy ? { sslPolicy: listener.SslPolicy } : {}),
    ...(protocol === 'TLS' && listener.AlpnPolicy?.[0] ? { alpnPolicy: listener.AlpnPolicy[0] } : {}),
    attributes,
  };
}

async function describeOwnedTargetGroups(
  arns: ReadonlyArray<string>,
  deps: ObserveDeps,
): Promise<ObservedTargetGroup[]> {
  const groups = await describeByArns(
    arns,
    async (batch) =>
      (await deps.aws.elbv2(new DescribeTargetGroupsCommand({ TargetGroupArns: batch }))).TargetGroups ?? [],
    deps.inventory,
  );
  const observed = await Promise.all(
    groups.map(async (group) => {
      try {
        return await describeTargetGroupInFull(group, deps);
      } catch (error) {
        if (!isGone(error)) throw error;
        deps.inventory.recordDeleted(group.TargetGroupArn ?? '');
        return undefined;
      }
    }),
  );
  return observed
    .filter((g): g is ObservedTargetGroup => g !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function describeTargetGroupInFull(
  group: TargetGroup,
  deps: ObserveDeps,
): Promise<ObservedTargetGroup> {
  const arn = group.TargetGroupArn ?? '';
  const [attributes, health] = await Promise.all([
    deps.aws.elbv2(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn })),
    deps.aws.elbv2(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
  ]);
  const targets: Target[] = [];
  for (const description of health.TargetHealthDescriptions ?? []) {
    // A draining target is on its way out: the plan must not register it again, nor deregister it twice.
    if (description.TargetHealth?.State === 'draining' || !description.Target?.Id) continue;
    targets.push({ id: description.Target.Id, port: description.Target.Port ?? group.Port ?? 0 });
  }
  targets.sort((a, b) => a.id.localeCompare(b.id) || a.port - b.port);
  return {
    arn,
    name: group.TargetGroupName ?? '',
    port: group.Port ?? 0,
    protocol: group.Protocol ?? '',
    targetType: group.TargetType ?? '',
    vpcId: group.VpcId ?? '',
    healthCheck: healthCheckOf(group),
    attributes: attributeMap(attributes.Attributes),
    targets,
    tags: deps.inventory.tagsOf(arn) ?? {},
    loadBalancerArns: [...new Set(group.LoadBalancerArns ?? [])],
  };
}
