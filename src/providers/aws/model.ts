// The AWS provider's data model: what the annotations ask for (AwsSettings), what exists in the
// account (AwsObserved), and the ordered operations that turn one into the other (AwsPlan).
// Types only: settings.ts parses, desired.ts + plan.ts compute (pure), observe.ts + apply.ts talk
// to AWS. Resources created within one plan are referred to by name (names are deterministic and
// unique per account and region), so a plan can be computed before any ARN exists.

export type Scheme = 'internet-facing' | 'internal';
export type TargetType = 'instance' | 'ip';
export type IpAddressType = 'ipv4' | 'dualstack';
/** NLB listener and target-group protocols Sluice uses. */
export type NlbProtocol = 'TCP' | 'UDP' | 'TLS';
export type HealthCheckProtocol = 'TCP' | 'HTTP' | 'HTTPS';

export interface HealthCheckSpec {
  protocol: HealthCheckProtocol;
  /** 'traffic-port' or a port number (e.g. healthCheckNodePort for externalTrafficPolicy Local). */
  port: 'traffic-port' | number;
  /** HTTP(S) only. */
  path?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** HTTP(S) only: Matcher.HttpCode, e.g. "200-399". */
  successCodes?: string;
}

/** Everything the Service's annotations (native aws-* keys and portable sluice.dev/* keys) ask for, validated, defaults filled in. */
export interface AwsSettings {
  scheme: Scheme;
  targetType: TargetType;
  /** aws-load-balancer-name; absent: Sluice's deterministic name. */
  name?: string;
  ipAddressType: IpAddressType;
  /** aws-load-balancer-subnets: subnet IDs or Name tag values; absent: discovery by role and cluster tags. */
  subnets?: string[];
  /** aws-load-balancer-eip-allocations (internet-facing only), one per subnet. */
  eipAllocations?: string[];
  /** aws-load-balancer-private-ipv4-addresses (internal only), one per subnet. */
  privateIPv4Addresses?: string[];
  /** TLS listeners: by Service port number. Certificates: the first is the listener's default. */
  tls?: {
    certificates: string[];
    /** Service port numbers that get a TLS listener. */
    ports: number[];
    /** SslPolicy; default ELBSecurityPolicy-2016-08 (as both AWS controllers). */
    policy: string;
    /** AlpnPolicy; absent: none. */
    alpnPolicy?: 'HTTP1Only' | 'HTTP2Only' | 'HTTP2Optional' | 'HTTP2Preferred' | 'None';
    /** aws-load-balancer-backend-protocol: ssl → TLS target groups behind TLS listeners. */
    backendTls: boolean;
  };
  /**
   * Load balancer attributes Sluice manages: every key has a value, the default when no annotation
   * sets it (removing an annotation returns the attribute to its default).
   */
  loadBalancerAttributes: Record<string, string>;
  /** Target group attributes Sluice manages (same rule), applied to every target group. */
  targetGroupAttributes: Record<string, string>;
  /**
   * With UDP ports: the complete attributes of the UDP target groups, whose AWS defaults differ
   * (connection termination on, client IP always preserved). settings.ts targetGroupAttributesFor()
   * picks the right map per protocol.
   */
  udpTargetGroupAttributes?: Record<string, string>;
  /** Listener attributes for TCP listeners (tcp.idle_timeout.seconds), same rule. */
  tcpListenerAttributes: Record<string, string>;
  /** The health check of every target group, defaults per traffic policy and target type. */
  healthCheck: HealthCheckSpec;
  /** aws-load-balancer-security-groups: the user's own frontend groups, replacing Sluice's managed one. */
  securityGroups?: string[];
  /** aws-load-balancer-extra-security-groups: added to the frontend groups. IDs or Name tag values. */
  extraSecurityGroups: string[];
  /** aws-load-balancer-additional-resource-tags: on every resource Sluice creates; cannot override ownership tags. */
  additionalTags: Record<string, string>;
  /** aws-load-balancer-target-node-labels: only nodes with these labels are targets (value undefined: key present). */
  targetNodeLabels: Record<string, string | undefined>;
  /** Client source ranges (spec, then annotations, default 0.0.0.0/0, plus ::/0 when dualstack). */
  sourceRanges: string[];
}

// ---- What exists ----------------------------------------------------------------------------

export interface ObservedSubnet {
  id: string;
  vpcId: string;
  availabilityZone: string;
  cidr: string;
  ipv6Cidrs: string[];
  tags: Record<string, string>;
}

export interface ObservedInstance {
  /** The Node it backs (from spec.providerID aws:///<zone>/<instance-id>). */
  nodeName: string;
  instanceId: string;
  vpcId: string;
  privateIp?: string;
  securityGroupIds: string[];
}

/** One ingress rule, one source: the unit Sluice authorizes and revokes. */
export interface SecurityGroupRule {
  protocol: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  /** ICMP: the type. */
  fromPort: number;
  /** ICMP: the code. */
  toPort: number;
  /** IPv4 or IPv6 CIDR. */
  cidr: string;
  /** Owns the rule: rules Sluice made carry a description naming the load balancer. */
  description: string;
}

export interface ObservedSecurityGroup {
  id: string;
  name: string;
  vpcId: string;
  tags: Record<string, string>;
  ingress: SecurityGroupRule[];
}

export interface ObservedListener {
  arn: string;
  port: number;
  protocol: NlbProtocol | string;
  /** The target group the default forward action points to. */
  targetGroupArn?: string;
  /** Default certificate first, then the additional ones. */
  certificates: string[];
  sslPolicy?: string;
  alpnPolicy?: string;
  attributes: Record<string, string>;
  /** The listener's tags when observe read them (the plan repairs listener tags only then). */
  tags?: Record<string, string>;
}

export interface SubnetMapping {
  subnetId: string;
  allocationId?: string;
  privateIPv4Address?: string;
}

export interface ObservedLoadBalancer {
  arn: string;
  name: string;
  scheme: Scheme;
  state: 'provisioning' | 'active' | 'active_impaired' | 'failed' | string;
  dnsName: string;
  ipAddressType: string;
  vpcId: string;
  subnetMappings: SubnetMapping[];
  securityGroups: string[];
  attributes: Record<string, string>;
  tags: Record<string, string>;
  listeners: ObservedListener[];
}

export interface Target {
  /** Instance ID (instance targets) or IP address (ip targets). */
  id: string;
  port: number;
}

export interface ObservedTargetGroup {
  arn: string;
  name: string;
  port: number;
  protocol: NlbProtocol | string;
  targetType: TargetType | string;
  vpcId: string;
  healthCheck: HealthCheckSpec;
  attributes: Record<string, string>;
  /** Registered targets, any health state except draining. */
  targets: Target[];
  tags: Record<string, string>;
  loadBalancerArns: string[];
}

/** Facts about the account the desired state is built from. */
export interface AwsEnvironment {
  /** From config, else the VPC of the subnets found. */
  vpcId?: string;
  vpcCidrs: string[];
  /** Subnets the load balancer may use: the annotation's, or those discovered for the scheme. */
  subnets: ObservedSubnet[];
  /** Instances behind this Service's target nodes. Nodes without a known instance are absent. */
  instances: ObservedInstance[];
  /** The security groups of those instances (rules are added to the cluster-tagged one). */
  nodeSecurityGroups: ObservedSecurityGroup[];
  /** Frontend groups named by annotation (security-groups, extra-security-groups), resolved to IDs. */
  namedSecurityGroups: Array<{ ref: string; id?: string }>;
}

/** What Sluice owns for this Service now (found by ownership tags), however many copies. */
export interface OwnedResources {
  loadBalancers: ObservedLoadBalancer[];
  targetGroups: ObservedTargetGroup[];
  securityGroups: ObservedSecurityGroup[];
}

export interface AwsObserved {
  environment: AwsEnvironment;
  owned: OwnedResources;
}

// ---- What to do ---------------------------------------------------------------------------

/** A resource created in this plan or already existing: by name (LB, target group, managed group) or ID/ARN. */
export type Ref = { name: string } | { id: string };

export type AwsOperation =
  | {
      op: 'createSecurityGroup';
      name: string;
      description: string;
      vpcId: string;
      tags: Record<string, string>;
    }
  | { op: 'authorizeIngress'; group: Ref; rules: SecurityGroupRule[] }
  | { op: 'revokeIngress'; groupId: string; rules: SecurityGroupRule[] }
  | { op: 'deleteSecurityGroup'; groupId: string }
  | {
      op: 'createTargetGroup';
      name: string;
      protocol: NlbProtocol;
      port: number;
      targetType: TargetType;
      vpcId: string;
      /** ip targets: the family of the Pod IPs. */
      ipAddressType?: 'ipv4' | 'ipv6';
      healthCheck: HealthCheckSpec;
      tags: Record<string, string>;
    }
  | { op: 'modifyTargetGroupHealthCheck'; targetGroupArn: string; healthCheck: HealthCheckSpec }
  | { op: 'modifyTargetGroupAttributes'; targetGroup: Ref; attributes: Record<string, string> }
  /** At most 100 targets per operation (batched by the plan). */
  | { op: 'registerTargets'; targetGroup: Ref; targets: Target[] }
  | { op: 'deregisterTargets'; targetGroupArn: string; targets: Target[] }
  | { op: 'deleteTargetGroup'; targetGroupArn: string }
  | {
      op: 'createLoadBalancer';
      name: string;
      scheme: Scheme;
      ipAddressType: IpAddressType;
      subnetMappings: SubnetMapping[];
      securityGroups: Ref[];
      tags: Record<string, string>;
    }
  | { op: 'setSecurityGroups'; loadBalancerArn: string; securityGroups: Ref[] }
  | { op: 'setSubnets'; loadBalancerArn: string; subnetMappings: SubnetMapping[] }
  | { op: 'setIpAddressType'; loadBalancerArn: string; ipAddressType: IpAddressType }
  | { op: 'modifyLoadBalancerAttributes'; loadBalancer: Ref; attributes: Record<string, string> }
  | { op: 'deleteLoadBalancer'; loadBalancerArn: string }
  | {
      op: 'createListener';
      loadBalancer: Ref;
      port: number;
      protocol: NlbProtocol;
      targetGroup: Ref;
      /** TLS: the default certificate (the first) and additional ones. */
      certificates: string[];
      sslPolicy?: string;
      alpnPolicy?: string;
      tags: Record<string, string>;
    }
  | {
      op: 'modifyListener';
      listenerArn: string;
      protocol: NlbProtocol;
      targetGroup: Ref;
      /** The default certificate only (additional ones: add/removeListenerCertificates). */
      defaultCertificate?: string;
      sslPolicy?: string;
      alpnPolicy?: string;
    }
  | { op: 'addListenerCertificates'; listener: Ref; certificates: string[] }
  | { op: 'removeListenerCertificates'; listenerArn: string; certificates: string[] }
  /** listener Ref by name: `${loadBalancerName}:${port}` for a listener created in this plan. */
  | { op: 'modifyListenerAttributes'; listener: Ref; attributes: Record<string, string> }
  | { op: 'deleteListener'; listenerArn: string }
  | { op: 'addTags'; arn: Ref; tags: Record<string, string> }
  | { op: 'removeTags'; arn: string; keys: string[] };

export interface AwsPlan {
  /** In dependency order; apply runs them in order and stops at the first failure. */
  operations: AwsOperation[];
  /** The load balancer that serves (its DNS name becomes the Service's hostname once active). */
  loadBalancerName: string;
  /** For Events: what changes and why (e.g. a replacement because the scheme changed). */
  changes: Array<{ reason: string; message: string }>;
  /** Working, but the user should know (e.g. a node without an instance ID, a Classic-only key). */
  notices: Array<{ reason: string; message: string }>;
  /** Cannot be planned until the user or platform team fixes something (e.g. no subnets found). */
  failure?: { reason: string; message: string };
}

/** Ownership tag keys: every resource Sluice creates carries all of them. */
export const TAG = {
  cluster: 'sluice.dev/cluster',
  service: 'sluice.dev/service',
  serviceUid: 'sluice.dev/service-uid',
  /** What the resource is for: load-balancer, target-group:<port>/<protocol>, security-group, listener. */
  resource: 'sluice.dev/resource',
} as const;

export function kubernetesClusterTag(cluster: string): string {
  return `kubernetes.io/cluster/${cluster}`;
}
