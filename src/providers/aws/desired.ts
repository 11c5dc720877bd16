// The AWS resources one Service should have, from its intent, the settings its annotations ask for and
// the facts of the account: the NLB, one listener and one target group per Service port, the managed
// frontend security group and the rules on the nodes' security groups. Pure: no I/O, no clock.
// plan.ts compares this with what exists.
import ipaddr from 'ipaddr.js';
import type { EndpointTarget, LoadBalancerIntent, PortIntent, Protocol } from '../../intent/types.ts';
import {
  type AwsEnvironment,
  type AwsSettings,
  type HealthCheckSpec,
  type IpAddressType,
  kubernetesClusterTag,
  type NlbProtocol,
  type ObservedInstance,
  type ObservedSubnet,
  type Scheme,
  type SecurityGroupRule,
  type SubnetMapping,
  TAG,
  type Target,
  type TargetType,
} from './model.ts';
import {
  frontendRuleDescription,
  loadBalancerName,
  nodeRuleDescription,
  ownershipTags,
  securityGroupName,
  targetGroupName,
} from './names.ts';
import { DEFAULT_SUCCESS_CODES, targetGroupAttributesFor, udpHealthCheck } from './settings.ts';

/** Records which tag keys came from aws-load-balancer-additional-resource-tags, so removing one removes it. */
export const ADDITIONAL_TAG_KEYS_TAG = 'sluice.dev/additional-tag-keys';
/** ICMP "fragmentation needed" (IPv4) and "packet too big" (IPv6): path-MTU discovery. */
const MTU_ICMP = { icmp: { type: 3, code: 4 }, icmpv6: { type: 2, code: 0 } } as const;

export interface Notice {
  reason: string;
  message: string;
}

export type AddressFamily = 'ipv4' | 'ipv6';

export interface DesiredTargetGroup {
  name: string;
  /** The Service port it serves (its listener's port). */
  servicePort: number;
  serviceProtocol: Protocol;
  protocol: NlbProtocol;
  /** NodePort (instance targets), the Pods' numeric targetPort, or 1 for a named targetPort (ip targets). */
  port: number;
  targetType: TargetType;
  ipAddressType: AddressFamily;
  vpcId: string;
  healthCheck: HealthCheckSpec;
  attributes: Record<string, string>;
  targets: Target[];
  tags: Record<string, string>;
}

export interface DesiredListener {
  port: number;
  protocol: NlbProtocol;
  targetGroupName: string;
  /** TLS only: the default certificate first. */
  certificates: string[];
  /** TLS only. */
  sslPolicy?: string;
  /** TLS only; 'None' when no ALPN policy is asked for (so removing the annotation resets it). */
  alpnPolicy?: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
}

export interface DesiredLoadBalancer {
  name: string;
  scheme: Scheme;
  ipAddressType: IpAddressType;
  subnetMappings: SubnetMapping[];
  /** Frontend groups by ID besides the managed one: the user's own (replacing it), then the extra ones. */
  securityGroupIds: string[];
  attributes: Record<string, string>;
  tags: Record<string, string>;
}

/** Sluice's own frontend group; absent when aws-load-balancer-security-groups names the user's. */
export interface DesiredFrontendGroup {
  name: string;
  description: string;
  vpcId: string;
  tags: Record<string, string>;
  rules: SecurityGroupRule[];
}

export interface DesiredNodeRules {
  groupId: string;
  rules: SecurityGroupRule[];
}

export interface DesiredState {
  vpcId: string;
  loadBalancer: DesiredLoadBalancer;
  frontendSecurityGroup?: DesiredFrontendGroup;
  /** In Service port order. */
  targetGroups: DesiredTargetGroup[];
  /** In Service port order. */
  listeners: DesiredListener[];
  /** Rules on the nodes' security groups, one entry per group. */
  nodeRules: DesiredNodeRules[];
}

export type DesiredResult =
  | { kind: 'ok'; state: DesiredState; notices: Notice[] }
  | { kind: 'failed'; failure: Notice; notices: Notice[] };

/** The load balancer's name: the custom one, or Sluice's deterministic one for the scheme. */
export function desiredLoadBalancerName(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  cluster: string,
): string {
  return settings.name ?? loadBalancerName(cluster, intent.service, settings.scheme);
}

export function desiredState(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  environment: AwsEnvironment,
  cluster: string,
): DesiredResult {
  const notices: Notice[] = [];
  const fail = (reason: string, message: string): DesiredResult => ({
    kind: 'failed',
    failure: { reason, message },
    notices,
  });

  const portProblem = unsupportedPorts(intent.ports);
  if (portProblem) return fail('Unsupported', portProblem);

  const subnets = chooseSubnets(settings, environment, cluster);
  if ('failure' in subnets) return fail(subnets.failure.reason, subnets.failure.message);
  const vpcId = environment.vpcId ?? subnets.chosen[0]!.vpcId;
  const mappings = subnetMappings(settings, subnets.chosen);
  if (typeof mappings === 'string') return fail('InvalidAnnotation', mappings);

  const frontendIds = resolveSecurityGroups(settings, environment);
  if (typeof frontendIds === 'string') return fail('SecurityGroupNotFound', frontendIds);

  const lbName = desiredLoadBalancerName(intent, settings, cluster);
  const tagsFor = tagMaker(intent, settings, cluster);

  const targetInstances = instanceTargets(intent, settings, environment, vpcId, notices);
  const targetGroups: DesiredTargetGroup[] = [];
  const listeners: DesiredListener[] = [];
  for (const port of intent.ports) {
    const tg = targetGroupFor(port, intent, settings, cluster, lbName, vpcId, targetInstances, tagsFor);
    if (typeof tg === 'string') return fail('InvalidSpec', tg);
    targetGroups.push(tg);
    listeners.push(listenerFor(port, tg, settings, tagsFor));
    if (port.protocol === 'UDP' && tg.targetType === 'ip' && tg.healthCheck.port === 'traffic-port') {
      notices.push({
        reason: 'UdpHealthCheck',
        message: `port ${port.port}/UDP: the health check probes the Pods' UDP port over ${tg.healthCheck.protocol}; unless the Pods also listen on TCP there, targets stay unhealthy (set aws-load-balancer-healthcheck-port)`,
      });
    }
  }

  const frontendSecurityGroup = settings.securityGroups
    ? undefined
    : {
        name: securityGroupName(cluster, intent.service),
        description: `Sluice: frontend of the load balancer of Service ${intent.service.namespace}/${intent.service.name} (cluster ${cluster})`,
        vpcId,
        tags: tagsFor('security-group'),
        rules: frontendRules(listeners, settings.sourceRanges, lbName),
      };

  const ruleInstances =
    settings.targetType === 'instance' ? targetInstances : instancesOf(intent, environment, vpcId);
  const nodeRules = nodeSecurityGroupRules(
    ruleInstances,
    targetGroups,
    intent,
    settings,
    environment,
    lbName,
    cluster,
    notices,
  );

  return {
    kind: 'ok',
    notices,
    state: {
      vpcId,
      loadBalancer: {
        name: lbName,
        scheme: settings.scheme,
        ipAddressType: settings.ipAddressType,
        subnetMappings: mappings,
        securityGroupIds: frontendIds,
        attributes: { ...settings.loadBalancerAttributes },
        tags: tagsFor('load-balancer'),
      },
      ...(frontendSecurityGroup ? { frontendSecurityGroup } : {}),
      targetGroups,
      listeners,
      nodeRules,
    },
  };
}

// ---- Ports -----------------------------------------------------------------------------------

/** NLB listeners are TCP, UDP or TLS, one per port number (TCP and UDP on one number needs TCP_UDP). */
function unsupportedPorts(ports: ReadonlyArray<PortIntent>): string | undefined {
  const sctp = ports.filter((p) => p.protocol === 'SCTP').map((p) => String(p.port));
  if (sctp.length > 0) {
    return `a Network Load Balancer cannot forward SCTP (port ${listSome(sctp, 'ports')}); use TCP or UDP`;
  }
  const seen = new Set<number>();
  const shared = new Set<number>();
  for (const p of ports) (seen.has(p.port) ? shared : seen).add(p.port);
  if (shared.size > 0) {
    return `port ${listSome([...shared].map(String), 'ports')} is listed for both TCP and UDP; Sluice makes one NLB listener per port number and does not create TCP_UDP listeners: use different port numbers`;
  }
  return undefined;
}

// ---- Subnets ---------------------------------------------------------------------------------

type SubnetChoice = { chosen: ObservedSubnet[] } | { failure: Notice };

const ROLE_TAG: Record<Scheme, string> = {
  'internet-facing': 'kubernetes.io/role/elb',
  internal: 'kubernetes.io/role/internal-elb',
};

/**
 * The annotation's subnets (by ID or Name tag, in its order), or one discovered subnet per availability
 * zone: tagged for the scheme's role, not claimed by another cluster only, preferring those tagged for this
 * cluster, then the lowest ID; ordered by zone name (the order EIP allocations are paired in).
 */
function chooseSubnets(settings: AwsSettings, environment: AwsEnvironment, cluster: string): SubnetChoice {
  const invalid = (message: string): SubnetChoice => ({ failure: { reason: 'InvalidAnnotation', message } });
  const dualstack = settings.ipAddressType === 'dualstack';
  const clusterTag = kubernetesClusterTag(cluster);

  if (settings.subnets && settings.subnets.length > 0) {
    const chosen: ObservedSubnet[] = [];
    const missing: string[] = [];
    const ambiguous: string[] = [];
    for (const ref of settings.subnets) {
      const byId = environment.subnets.filter((s) => s.id === ref);
      const matches = byId.length > 0 ? byId : environment.subnets.filter((s) => s.tags.Name === ref);
      if (matches.length === 0) missing.push(ref);
      else if (matches.length > 1) ambiguous.push(ref);
      else if (!chosen.includes(matches[0]!)) chosen.push(matches[0]!);
    }
    const key = 'aws-load-balancer-subnets';
    if (missing.length > 0) {
      return invalid(`${key}: no subnet has the ID or Name tag ${listSome(missing, 'subnets')}`);
    }
    if (ambiguous.length > 0) {
      return invalid(
        `${key}: several subnets have the Name tag ${listSome(ambiguous, 'names')}; use subnet IDs`,
      );
    }
    const zones = new Map<string, string>();
    for (const s of chosen) {
      const other = zones.get(s.availabilityZone);
      if (other) {
        return invalid(
          `${key}: ${other} and ${s.id} are both in ${s.availabilityZone}; give one subnet per zone`,
        );
      }
      zones.set(s.availabilityZone, s.id);
    }
    const vpcs = new Set(chosen.map((s) => s.vpcId));
    if (environment.vpcId) vpcs.add(environment.vpcId);
    if (vpcs.size > 1) {
      return invalid(
        `${key}: the subnets must all be in one VPC${environment.vpcId ? ` (${environment.vpcId})` : ''}`,
      );
    }
    const noIPv6 = chosen.filter((s) => s.ipv6Cidrs.length === 0).map((s) => s.id);
    if (dualstack && noIPv6.length > 0) {
      return invalid(
        `${key}: a dualstack load balancer needs subnets with an IPv6 CIDR; ${listSome(noIPv6, 'subnets')} have none`,
      );
    }
    return { chosen };
  }

  const role = ROLE_TAG[settings.scheme];
  const eligible = environment.subnets
    .filter((s) => s.tags[role] === '' || s.tags[role] === '1')
    .filter((s) => !environment.vpcId || s.vpcId === environment.vpcId)
    .filter((s) => s.tags[clusterTag] !== undefined || !Object.keys(s.tags).some(isClusterTag))
    .filter((s) => !dualstack || s.ipv6Cidrs.length > 0);
  const perZone = new Map<string, ObservedSubnet>();
  for (const s of [...eligible].sort(bySubnetPreference(clusterTag))) {
    if (!perZone.has(s.availabilityZone)) perZone.set(s.availabilityZone, s);
  }
  const chosen = [...perZone.values()].sort((a, b) => compare(a.availabilityZone, b.availabilityZone));
  if (chosen.length === 0) {
    const where = environment.vpcId ? ` in ${environment.vpcId}` : '';
    return {
      failure: {
        reason: 'NoSubnets',
        message: `no subnet${where} for an ${settings.scheme} load balancer: tag one subnet per availability zone${dualstack ? ' (with an IPv6 CIDR)' : ''} with ${role}=1 and ${clusterTag}=shared, or name the subnets in service.beta.kubernetes.io/aws-load-balancer-subnets`,
      },
    };
  }
  return { chosen };
}

function isClusterTag(key: string): boolean {
  return key.startsWith('kubernetes.io/cluster/');
}

function bySubnetPreference(clusterTag: string): (a: ObservedSubnet, b: ObservedSubnet) => number {
  return (a, b) => {
    const tagged = Number(b.tags[clusterTag] !== undefined) - Number(a.tags[clusterTag] !== undefined);
    return tagged !== 0 ? tagged : compare(a.id, b.id);
  };
}

/**
 * One mapping per subnet. EIP allocations pair with the subnets in order; private IPv4 addresses go to the
 * subnet whose CIDR holds them (so their order does not matter). Both: exactly one per subnet.
 */
function subnetMappings(settings: AwsSettings, subnets: ObservedSubnet[]): SubnetMapping[] | string {
  const ids = listSome(
    subnets.map((s) => s.id),
    'subnets',
  );
  const eips = settings.scheme === 'internet-facing' ? settings.eipAllocations : undefined;
  if (eips && eips.length !== subnets.length) {
    return `aws-load-balancer-eip-allocations lists ${eips.length} allocations but the load balancer has ${subnets.length} subnets (${ids}): give exactly one per subnet`;
  }
  const privateIPs = settings.scheme === 'internal' ? settings.privateIPv4Addresses : undefined;
  const byIp = new Map<string, string>();
  if (privateIPs) {
    if (privateIPs.length !== subnets.length) {
      return `aws-load-balancer-private-ipv4-addresses lists ${privateIPs.length} addresses but the load balancer has ${subnets.length} subnets (${ids}): give exactly one per subnet`;
    }
    for (const ip of privateIPs) {
      const home = subnets.find((s) => cidrContains(s.cidr, ip));
      if (!home) {
        return `aws-load-balancer-private-ipv4-addresses: ${ip} is in none of the subnets ${subnets.map((s) => `${s.id} (${s.cidr})`).join(', ')}`;
      }
      const taken = [...byIp.entries()].find(([, id]) => id === home.id);
      if (taken) {
        return `aws-load-balancer-private-ipv4-addresses: ${taken[0]} and ${ip} are both in ${home.id} (${home.cidr}); give one address per subnet`;
      }
      byIp.set(ip, home.id);
    }
  }
  return subnets.map((s, index) => {
    const ip = [...byIp.entries()].find(([, id]) => id === s.id)?.[0];
    return {
      subnetId: s.id,
      ...(eips ? { allocationId: eips[index]! } : {}),
      ...(ip ? { privateIPv4Address: ip } : {}),
    };
  });
}

// ---- Security groups -------------------------------------------------------------------------

/** The user's frontend groups and the extra ones, as IDs; a message naming the ones that do not exist. */
function resolveSecurityGroups(settings: AwsSettings, environment: AwsEnvironment): string[] | string {
  const missing: string[] = [];
  const resolve = (refs: ReadonlyArray<string>, key: string): string[] =>
    refs.flatMap((ref) => {
      const id = environment.namedSecurityGroups.find((g) => g.ref === ref)?.id;
      if (!id) missing.push(`${ref} (${key})`);
      return id ? [id] : [];
    });
  const ids = [
    ...resolve(settings.securityGroups ?? [], 'aws-load-balancer-security-groups'),
    ...resolve(settings.extraSecurityGroups, 'aws-load-balancer-extra-security-groups'),
  ];
  if (missing.length > 0) {
    return `no security group in the VPC has the ID or Name tag ${listSome(missing, 'groups')}`;
  }
  return [...new Set(ids)];
}

/** Per listener port and source range, plus path-MTU ICMP per source range. */
function frontendRules(
  listeners: ReadonlyArray<DesiredListener>,
  sourceRanges: ReadonlyArray<string>,
  lbName: string,
): SecurityGroupRule[] {
  const client = frontendRuleDescription('client', lbName);
  const rules: SecurityGroupRule[] = listeners.flatMap((l) =>
    sourceRanges.map((cidr) => ({
      protocol: l.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const),
      fromPort: l.port,
      toPort: l.port,
      cidr,
      description: client,
    })),
  );
  return uniqueRules([...rules, ...mtuRules(sourceRanges, frontendRuleDescription('mtu', lbName))]);
}

function mtuRules(sourceRanges: ReadonlyArray<string>, description: string): SecurityGroupRule[] {
  return sourceRanges.map((cidr) => {
    const protocol = familyOf(cidr) === 'ipv6' ? 'icmpv6' : 'icmp';
    const { type, code } = MTU_ICMP[protocol];
    return { protocol, fromPort: type, toPort: code, cidr, description };
  });
}

// ---- Targets ---------------------------------------------------------------------------------

/** Instances behind the stable node set, in the load balancer's VPC. */
function instancesOf(
  intent: LoadBalancerIntent,
  environment: AwsEnvironment,
  vpcId: string,
): ObservedInstance[] {
  const names = new Set(intent.nodes.map((n) => n.name));
  return environment.instances.filter((i) => names.has(i.nodeName) && i.vpcId === vpcId);
}

/** The instances to register: nodes with aws-load-balancer-target-node-labels, each with its EC2 instance. */
function instanceTargets(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  environment: AwsEnvironment,
  vpcId: string,
  notices: Notice[],
): ObservedInstance[] {
  if (settings.targetType !== 'instance') return [];
  const labelled = intent.nodes.filter((node) =>
    Object.entries(settings.targetNodeLabels).every(([key, value]) =>
      value === undefined ? node.labels[key] !== undefined : node.labels[key] === value,
    ),
  );
  if (intent.nodes.length > 0 && labelled.length === 0) {
    notices.push({
      reason: 'NoTargetNodes',
      message: `no node has the labels aws-load-balancer-target-node-labels asks for (${Object.entries(
        settings.targetNodeLabels,
      )
        .map(([k, v]) => (v === undefined ? k : `${k}=${v}`))
        .join(',')}): the load balancer has no targets`,
    });
  }
  const instances: ObservedInstance[] = [];
  const unknown: string[] = [];
  const elsewhere: string[] = [];
  for (const node of labelled) {
    const instance = environment.instances.find((i) => i.nodeName === node.name);
    if (!instance) unknown.push(node.name);
    else if (instance.vpcId !== vpcId) elsewhere.push(node.name);
    else instances.push(instance);
  }
  if (unknown.length > 0) {
    notices.push({
      reason: 'NodesWithoutInstance',
      message: `nodes without an EC2 instance receive no traffic: ${listSome(unknown, 'nodes')} (spec.providerID must be aws:///<zone>/<instance-id> of a running instance)`,
    });
  }
  if (elsewhere.length > 0) {
    notices.push({
      reason: 'NodesInOtherVpc',
      message: `nodes whose instance is outside the load balancer's VPC ${vpcId} receive no traffic: ${listSome(elsewhere, 'nodes')}`,
    });
  }
  return instances.sort((a, b) => compare(a.instanceId, b.instanceId));
}

/** The Pods' addresses and ports for one Service port: EndpointSlice port matched by name and protocol. */
function endpointTargets(
  endpoints: ReadonlyArray<EndpointTarget>,
  port: PortIntent,
  family: AddressFamily,
): Target[] {
  const name = port.name ?? '';
  const wanted = family === 'ipv6' ? 'IPv6' : 'IPv4';
  const targets = endpoints
    .filter((e) => e.family === wanted)
    .flatMap((e) =>
      e.ports
        .filter((p) => p.name === name && p.protocol === port.protocol)
        .map((p) => ({ id: e.address, port: p.port })),
    );
  return uniqueTargets(targets);
}

function targetGroupFor(
  port: PortIntent,
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  cluster: string,
  loadBalancer: string,
  vpcId: string,
  instances: ReadonlyArray<ObservedInstance>,
  tagsFor: (resource: string) => Record<string, string>,
): DesiredTargetGroup | string {
  const targetType = settings.targetType;
  const tls = tlsOf(port, settings);
  const protocol: NlbProtocol = port.protocol === 'UDP' ? 'UDP' : tls?.backendTls ? 'TLS' : 'TCP';
  // An IPv6 target group needs a dualstack load balancer; instance targets are reached over IPv4.
  const ipAddressType: AddressFamily =
    targetType === 'ip' && settings.ipAddressType === 'dualstack' && intent.ipFamilies[0] === 'IPv6'
      ? 'ipv6'
      : 'ipv4';
  let tgPort: number;
  let targets: Target[];
  if (targetType === 'instance') {
    if (!port.nodePort) {
      return `port ${port.port}/${port.protocol} has no nodePort (spec.allocateLoadBalancerNodePorts is false?): instance targets need one; allocate NodePorts or use aws-load-balancer-nlb-target-type: ip`;
    }
    tgPort = port.nodePort;
    targets = instances.map((i) => ({ id: i.instanceId, port: port.nodePort! }));
  } else {
    // A named targetPort resolves per Pod: the group's own port is then only a placeholder (as the AWS
    // Load Balancer Controller does), so it does not change (and force a new group) as Pods come and go.
    tgPort =
      typeof port.targetPort === 'number' ? port.targetPort : port.targetPort === undefined ? port.port : 1;
    targets = endpointTargets(intent.endpoints, port, ipAddressType);
  }
  const healthCheck = healthCheckFor(port, intent, settings);
  const name = targetGroupName(cluster, intent.service, {
    loadBalancer,
    servicePort: port.port,
    serviceProtocol: port.protocol,
    port: tgPort,
    protocol,
    targetType,
    healthCheckProtocol: healthCheck.protocol,
    ipAddressType,
    vpcId,
  });
  // Session affinity and proxy protocol are in these maps already (settings.ts).
  const attributes = targetGroupAttributesFor(settings, protocol);
  return {
    name,
    servicePort: port.port,
    serviceProtocol: port.protocol,
    protocol,
    port: tgPort,
    targetType,
    ipAddressType,
    vpcId,
    healthCheck,
    attributes,
    targets,
    tags: tagsFor(`target-group:${port.port}/${port.protocol}`),
  };
}

/**
 * The settings' health check; UDP target groups get udpHealthCheck's (behind instance targets with the
 * Cluster policy, a probe of the traffic port would always fail: kube-proxy's health endpoint answers).
 */
function healthCheckFor(
  port: PortIntent,
  intent: LoadBalancerIntent,
  settings: AwsSettings,
): HealthCheckSpec {
  return normalizeHealthCheck(
    port.protocol === 'UDP' ? udpHealthCheck(settings, intent.trafficPolicy) : settings.healthCheck,
  );
}

/** TCP checks have no path or success codes; HTTP(S) checks always have both. */
export function normalizeHealthCheck(spec: HealthCheckSpec): HealthCheckSpec {
  const { path, successCodes, ...rest } = spec;
  if (spec.protocol === 'TCP') return rest;
  return { ...rest, path: path || '/', successCodes: successCodes || DEFAULT_SUCCESS_CODES };
}

function tlsOf(port: PortIntent, settings: AwsSettings): AwsSettings['tls'] | undefined {
  const tls = settings.tls;
  return port.protocol === 'TCP' && tls && tls.certificates.length > 0 && tls.ports.includes(port.port)
    ? tls
    : undefined;
}

function listenerFor(
  port: PortIntent,
  tg: DesiredTargetGroup,
  settings: AwsSettings,
  tagsFor: (resource: string) => Record<string, string>,
): DesiredListener {
  const tls = tlsOf(port, settings);
  const protocol: NlbProtocol = port.protocol === 'UDP' ? 'UDP' : tls ? 'TLS' : 'TCP';
  return {
    port: port.port,
    protocol,
    targetGroupName: tg.name,
    certificates: tls ? [...tls.certificates] : [],
    ...(tls ? { sslPolicy: tls.policy, alpnPolicy: tls.alpnPolicy ?? 'None' } : {}),
    attributes: protocol === 'TCP' ? { ...settings.tcpListenerAttributes } : {},
    tags: tagsFor('listener'),
  };
}

// ---- Node security group rules ---------------------------------------------------------------

/**
 * The three rules of the Kubernetes docs' NLB table on each target node's security group: client traffic to
 * the target ports, health checks from the VPC, ICMP for path-MTU discovery. The group of a node: the one of
 * its groups tagged for this cluster (owned or shared; the lowest ID if several), else its only group.
 */
function nodeSecurityGroupRules(
  instances: ReadonlyArray<ObservedInstance>,
  targetGroups: ReadonlyArray<DesiredTargetGroup>,
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  environment: AwsEnvironment,
  lbName: string,
  cluster: string,
  notices: Notice[],
): DesiredNodeRules[] {
  const groupIds = new Set<string>();
  const withoutGroup: string[] = [];
  for (const instance of instances) {
    const id = nodeGroupOf(instance, environment, cluster);
    if (id) groupIds.add(id);
    else withoutGroup.push(instance.nodeName);
  }
  if (withoutGroup.length > 0) {
    notices.push({
      reason: 'NodeSecurityGroupNotFound',
      message: `Sluice cannot open the target ports on ${listSome(withoutGroup, 'nodes')}: the instance has no security group tagged ${kubernetesClusterTag(cluster)} (owned or shared) and not exactly one group; tag the nodes' group`,
    });
  }
  if (groupIds.size === 0) return [];
  if (environment.vpcCidrs.length === 0) {
    notices.push({
      reason: 'NoVpcCidr',
      message: 'the VPC CIDR is not known: no health-check rule is added to the nodes’ security group',
    });
  }
  const rules = uniqueRules([
    ...targetGroups.flatMap((tg) => targetGroupNodeRules(tg, intent, settings, environment, lbName)),
    ...mtuRules(settings.sourceRanges, nodeRuleDescription('mtu', lbName)),
  ]);
  return [...groupIds].sort(compare).map((groupId) => ({ groupId, rules }));
}

function nodeGroupOf(
  instance: ObservedInstance,
  environment: AwsEnvironment,
  cluster: string,
): string | undefined {
  const tag = kubernetesClusterTag(cluster);
  const known = instance.securityGroupIds.flatMap((id) =>
    environment.nodeSecurityGroups.filter((g) => g.id === id),
  );
  const tagged = known.filter((g) => g.tags[tag] === 'owned' || g.tags[tag] === 'shared').map((g) => g.id);
  if (tagged.length > 0) return tagged.sort(compare)[0];
  return instance.securityGroupIds.length === 1 && known.length === 1 ? known[0]!.id : undefined;
}

function targetGroupNodeRules(
  tg: DesiredTargetGroup,
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  environment: AwsEnvironment,
  lbName: string,
): SecurityGroupRule[] {
  const port = intent.ports.find((p) => p.port === tg.servicePort && p.protocol === tg.serviceProtocol)!;
  const targetPorts =
    tg.targetType === 'instance'
      ? [tg.port]
      : [
          ...new Set([
            ...(typeof port.targetPort === 'number' ? [port.targetPort] : []),
            ...(port.targetPort === undefined ? [port.port] : []),
            ...tg.targets.map((t) => t.port),
          ]),
        ].sort((a, b) => a - b);
  const vpcCidrs = cidrsOfFamily(environment.vpcCidrs, tg.ipAddressType);
  // Without client IP preservation the packets come from the load balancer's own addresses (in the VPC);
  // so do those of clients of the other family (a dualstack NLB translates them).
  const preserved = tg.protocol === 'UDP' || preservesClientIp(tg);
  const sameFamily = settings.sourceRanges.filter((c) => familyOf(c) === tg.ipAddressType);
  const otherFamily = settings.sourceRanges.length > sameFamily.length;
  const clientSources = preserved ? [...sameFamily, ...(otherFamily ? vpcCidrs : [])] : vpcCidrs;
  const protocol = tg.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const);
  const client = nodeRuleDescription('client', lbName);
  const health = nodeRuleDescription('health', lbName);
  // A TCP client rule open to every address already lets the health checks in (as the legacy
  // controller does): one rule fewer per port counts, since a group holds 60 inbound rules by default.
  const openToAll = protocol === 'tcp' && clientSources.some((c) => c === '0.0.0.0/0' || c === '::/0');
  const healthPorts = (tg.healthCheck.port === 'traffic-port' ? targetPorts : [tg.healthCheck.port]).filter(
    (p) => !(openToAll && targetPorts.includes(p)),
  );
  return [
    ...targetPorts.flatMap((p) =>
      clientSources.map((cidr) => ({ protocol, fromPort: p, toPort: p, cidr, description: client })),
    ),
    ...healthPorts.flatMap((p) =>
      vpcCidrs.map((cidr) => ({
        protocol: 'tcp' as const,
        fromPort: p,
        toPort: p,
        cidr,
        description: health,
      })),
    ),
  ];
}

/** preserve_client_ip.enabled, or ELBv2's default when unset: on for instance targets, off for ip targets. */
function preservesClientIp(tg: DesiredTargetGroup): boolean {
  const value = tg.attributes['preserve_client_ip.enabled'];
  return value === undefined ? tg.targetType === 'instance' : value === 'true';
}

function cidrsOfFamily(cidrs: ReadonlyArray<string>, family: AddressFamily): string[] {
  const matching = cidrs.filter((c) => familyOf(c) === family);
  return matching.length > 0 ? matching : [...cidrs];
}

// ---- Tags ------------------------------------------------------------------------------------

/**
 * Ownership tags plus the additional tags (which can neither override ownership keys nor claim another
 * cluster), plus the record of which keys were additional.
 */
function tagMaker(
  intent: LoadBalancerIntent,
  settings: AwsSettings,
  cluster: string,
): (resource: string) => Record<string, string> {
  const reserved = (key: string) =>
    key.startsWith('sluice.dev/') || isClusterTag(key) || Object.values(TAG).includes(key as never);
  const additional = Object.fromEntries(
    Object.entries(settings.additionalTags).filter(([key]) => !reserved(key)),
  );
  const keys = Object.keys(additional).sort(compare);
  return (resource) => ({
    ...ownershipTags(cluster, intent.service, resource, additional),
    ...(keys.length > 0 ? { [ADDITIONAL_TAG_KEYS_TAG]: keys.join(',') } : {}),
  });
}

// ---- Small shared helpers (plan.ts uses them too) -----------------------------------------------

export function familyOf(cidrOrAddress: string): AddressFamily {
  return cidrOrAddress.includes(':') ? 'ipv6' : 'ipv4';
}

/** A CIDR in one spelling (IPv6 compressed, lower case), so rules AWS reports compare with ours. */
export function canonicalCidr(cidr: string): string {
  try {
    const [address, prefix] = ipaddr.parseCIDR(cidr);
    return `${address.toString()}/${prefix}`;
  } catch {
    return cidr.trim().toLowerCase();
  }
}

/** What EC2 identifies a rule by (the description is not part of it: a second rule differing only there is refused). */
export function ruleKey(rule: SecurityGroupRule): string {
  return `${rule.protocol}:${rule.fromPort}:${rule.toPort}:${canonicalCidr(rule.cidr)}`;
}

/** The first rule of each key. */
export function uniqueRules(rules: ReadonlyArray<SecurityGroupRule>): SecurityGroupRule[] {
  const seen = new Map<string, SecurityGroupRule>();
  for (const rule of rules) if (!seen.has(ruleKey(rule))) seen.set(ruleKey(rule), rule);
  return [...seen.values()];
}

export function targetKey(target: Target): string {
  return `${target.id}:${target.port}`;
}

function uniqueTargets(targets: ReadonlyArray<Target>): Target[] {
  const seen = new Map(targets.map((t) => [targetKey(t), t]));
  return [...seen.values()].sort((a, b) => compare(a.id, b.id) || a.port - b.port);
}

function cidrContains(cidr: string, address: string): boolean {
  try {
    const parsedAddress = ipaddr.parse(address);
    const range = ipaddr.parseCIDR(cidr);
    return parsedAddress.kind() === range[0].kind() && parsedAddress.match(range);
  } catch {
    return false;
  }
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `a, b, c and 4 more nodes`: messages stay short however large the cluster. */
export function listSome(items: ReadonlyArray<string>, noun: string, limit = 5): string {
  const rest = items.length - limit;
  return rest > 0 ? `${items.slice(0, limit).join(', ')} and ${rest} more ${noun}` : items.join(', ');
}
