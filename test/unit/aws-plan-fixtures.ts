// Test support for the AWS plan: a hand-built account, intents and settings, a golden-file helper, and a
// fake account that applies plans the way ELBv2 and EC2 would, refusing what they refuse (a duplicate
// rule, a target group on a second load balancer, deleting something in use, over-size batches, an
// operation on something that does not exist). Applying a plan and planning again must give no operation.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadBalancerIntent, TargetNode } from '../../src/intent/types.ts';
import { ruleKey } from '../../src/providers/aws/desired.ts';
import type {
  AwsEnvironment,
  AwsObserved,
  AwsOperation,
  AwsSettings,
  ObservedListener,
  ObservedLoadBalancer,
  ObservedSecurityGroup,
  ObservedTargetGroup,
  OwnedResources,
  Ref,
} from '../../src/providers/aws/model.ts';
import { kubernetesClusterTag } from '../../src/providers/aws/model.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

export const CLUSTER = 'prod';
export const SERVICE = { namespace: 'shop', name: 'storefront', uid: '4f9a2c1e-7b3d-4e8a-9c0f-1a2b3c4d5e6f' };
export const CERT_A = 'arn:aws:acm:us-east-1:111122223333:certificate/aaaa';
export const CERT_B = 'arn:aws:acm:us-east-1:111122223333:certificate/bbbb';
export const CERT_C = 'arn:aws:acm:us-east-1:111122223333:certificate/cccc';

export function node(name: string, labels: Record<string, string> = {}): TargetNode {
  return { name, providerID: `aws:///us-east-1a/i-${name}`, labels, internalAddresses: [] };
}

/** shop/storefront: HTTPS (TLS on the NLB), HTTP and DNS over UDP, on three nodes. */
export function intent(overrides: Partial<LoadBalancerIntent> = {}): LoadBalancerIntent {
  return plainIntent({
    service: SERVICE,
    ports: [
      { name: 'https', protocol: 'TCP', port: 443, nodePort: 30443, targetPort: 8443 },
      { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080, targetPort: 8080 },
      { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053, targetPort: 5353 },
    ],
    sourceRanges: ['203.0.113.0/24'],
    nodes: [
      node('node-a', { pool: 'web' }),
      node('node-b', { pool: 'web' }),
      node('node-c', { pool: 'batch' }),
    ],
    endpoints: [
      {
        address: '10.0.1.10',
        family: 'IPv4',
        nodeName: 'node-a',
        ports: [
          { name: 'https', protocol: 'TCP', port: 8443 },
          { name: 'http', protocol: 'TCP', port: 8080 },
          { name: 'dns', protocol: 'UDP', port: 5353 },
        ],
      },
      {
        address: '10.0.2.20',
        family: 'IPv4',
        nodeName: 'node-b',
        ports: [
          { name: 'https', protocol: 'TCP', port: 8443 },
          { name: 'http', protocol: 'TCP', port: 8080 },
          { name: 'dns', protocol: 'UDP', port: 5353 },
        ],
      },
    ],
    ...overrides,
  });
}

const aws = (suffix: string) => `service.beta.kubernetes.io/aws-load-balancer-${suffix}`;

/** The golden Service's annotations: what settings() below spells out (a test checks they agree). */
export const GOLDEN_ANNOTATIONS: Record<string, string> = {
  [aws('type')]: 'external',
  [aws('nlb-target-type')]: 'instance',
  [aws('scheme')]: 'internet-facing',
  [aws('ssl-cert')]: `${CERT_A},${CERT_B}`,
  [aws('ssl-ports')]: 'https',
  [aws('alpn-policy')]: 'HTTP2Preferred',
  [aws('additional-resource-tags')]: 'team=storefront',
};

const TARGET_GROUP_ATTRIBUTES = {
  'deregistration_delay.timeout_seconds': '300',
  'deregistration_delay.connection_termination.enabled': 'false',
  'preserve_client_ip.enabled': 'true',
  'proxy_protocol_v2.enabled': 'false',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
};

/**
 * What GOLDEN_ANNOTATIONS ask for, defaults filled in, spelled out by hand (so these tests do not move with
 * settings.ts; aws-plan-settings.test.ts checks that settings.ts agrees).
 */
export function settings(overrides: Partial<AwsSettings> = {}): AwsSettings {
  return {
    scheme: 'internet-facing',
    targetType: 'instance',
    ipAddressType: 'ipv4',
    tls: {
      certificates: [CERT_A, CERT_B],
      ports: [443],
      policy: 'ELBSecurityPolicy-2016-08',
      alpnPolicy: 'HTTP2Preferred',
      backendTls: false,
    },
    loadBalancerAttributes: {
      'access_logs.s3.enabled': 'false',
      'deletion_protection.enabled': 'false',
      'load_balancing.cross_zone.enabled': 'false',
      'dns_record.client_routing_policy': 'any_availability_zone',
    },
    targetGroupAttributes: { ...TARGET_GROUP_ATTRIBUTES },
    udpTargetGroupAttributes: {
      ...TARGET_GROUP_ATTRIBUTES,
      'deregistration_delay.connection_termination.enabled': 'true',
    },
    tcpListenerAttributes: { 'tcp.idle_timeout.seconds': '350' },
    healthCheck: {
      protocol: 'TCP',
      port: 'traffic-port',
      intervalSeconds: 10,
      timeoutSeconds: 10,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
    },
    extraSecurityGroups: [],
    additionalTags: { team: 'storefront' },
    targetNodeLabels: {},
    sourceRanges: ['203.0.113.0/24'],
    ...overrides,
  };
}

/**
 * vpc-1 (10.0.0.0/16). Public subnets: two in us-east-1a (the cluster-tagged one wins over the lower ID),
 * one in us-east-1b, one in us-east-1c claimed by another cluster only. Private subnets in 1a and 1b.
 * node-a and node-b have instances (node-b with two groups); node-c has none.
 */
export function environment(): AwsEnvironment {
  const subnet = (id: string, zone: string, cidr: string, tags: Record<string, string>) => ({
    id,
    vpcId: 'vpc-1',
    availabilityZone: zone,
    cidr,
    ipv6Cidrs: [] as string[],
    tags,
  });
  const clusterTag = kubernetesClusterTag(CLUSTER);
  return {
    vpcId: 'vpc-1',
    vpcCidrs: ['10.0.0.0/16'],
    subnets: [
      subnet('subnet-0a0', 'us-east-1a', '10.0.0.0/24', {
        'kubernetes.io/role/elb': '1',
        Name: 'public-a-old',
      }),
      subnet('subnet-0a1', 'us-east-1a', '10.0.10.0/24', {
        'kubernetes.io/role/elb': '1',
        [clusterTag]: 'shared',
        Name: 'public-a',
      }),
      subnet('subnet-0b1', 'us-east-1b', '10.0.11.0/24', { 'kubernetes.io/role/elb': '', Name: 'public-b' }),
      subnet('subnet-0c1', 'us-east-1c', '10.0.12.0/24', {
        'kubernetes.io/role/elb': '1',
        'kubernetes.io/cluster/staging': 'owned',
      }),
      subnet('subnet-1a1', 'us-east-1a', '10.0.20.0/24', {
        'kubernetes.io/role/internal-elb': '1',
        Name: 'private-a',
      }),
      subnet('subnet-1b1', 'us-east-1b', '10.0.21.0/24', {
        'kubernetes.io/role/internal-elb': '1',
        Name: 'private-b',
      }),
    ],
    instances: [
      {
        nodeName: 'node-a',
        instanceId: 'i-0aaa',
        vpcId: 'vpc-1',
        privateIp: '10.0.1.5',
        securityGroupIds: ['sg-node'],
      },
      {
        nodeName: 'node-b',
        instanceId: 'i-0bbb',
        vpcId: 'vpc-1',
        privateIp: '10.0.2.5',
        securityGroupIds: ['sg-node', 'sg-monitoring'],
      },
    ],
    nodeSecurityGroups: [
      {
        id: 'sg-node',
        name: 'prod-nodes',
        vpcId: 'vpc-1',
        tags: { [clusterTag]: 'owned' },
        ingress: [
          { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/16', description: 'ssh from the VPC' },
        ],
      },
      { id: 'sg-monitoring', name: 'monitoring', vpcId: 'vpc-1', tags: {}, ingress: [] },
    ],
    namedSecurityGroups: [],
  };
}

/** Settings whose target-group attributes (of the TCP/TLS and of the UDP groups) carry `patch`. */
export function targetGroupAttributes(patch: Record<string, string>): Partial<AwsSettings> {
  const base = settings();
  return {
    targetGroupAttributes: { ...base.targetGroupAttributes, ...patch },
    udpTargetGroupAttributes: { ...base.udpTargetGroupAttributes, ...patch },
  };
}

export function emptyOwned(): OwnedResources {
  return { loadBalancers: [], targetGroups: [], securityGroups: [] };
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

// ---- Golden files ----------------------------------------------------------------------------

const GOLDEN_DIR = fileURLToPath(new URL('./golden/aws/', import.meta.url));

/**
 * Compares `value` with test/unit/golden/aws/<name>.json; with SLUICE_UPDATE_GOLDEN=1 writes it instead
 * (review the diff, then run `biome format --write` on the file).
 */
export function assertGolden(name: string, value: unknown): void {
  const file = `${GOLDEN_DIR}${name}.json`;
  const json = JSON.parse(JSON.stringify(value));
  if (process.env.SLUICE_UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  let expected: unknown;
  try {
    expected = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    assert.fail(
      `golden file ${file} unreadable (${String(error)}); run with SLUICE_UPDATE_GOLDEN=1 to write it`,
    );
  }
  assert.deepStrictEqual(json, expected);
}

// ---- The fake account ------------------------------------------------------------------------

/** An error as AWS would answer it; tests assert plans never provoke one. */
export class AwsRefusal extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

const LB_DEFAULT_ATTRIBUTES = {
  'access_logs.s3.enabled': 'false',
  'deletion_protection.enabled': 'false',
  'load_balancing.cross_zone.enabled': 'false',
  'dns_record.client_routing_policy': 'any_availability_zone',
};
const TCP_LISTENER_DEFAULT_ATTRIBUTES = { 'tcp.idle_timeout.seconds': '350' };

export class FakeAccount {
  readonly environment: AwsEnvironment;
  readonly owned: OwnedResources;
  /** Groups that exist but are neither Sluice's nor the nodes' (the user's own frontend groups). */
  readonly userGroups: ObservedSecurityGroup[] = [];
  /** Every operation applied, in order. */
  readonly log: AwsOperation[] = [];
  private serial = 0;

  constructor(environment: AwsEnvironment, owned: OwnedResources = emptyOwned()) {
    this.environment = clone(environment);
    this.owned = clone(owned);
  }

  /** What observe would return now (a copy: plans never see later changes). */
  observed(): AwsObserved {
    return clone({ environment: this.environment, owned: this.owned });
  }

  /** A group of the user's, found by `ref` (its ID or Name tag) as observe resolves annotation values. */
  addUserGroup(ref: string, id: string): void {
    this.userGroups.push({ id, name: ref, vpcId: 'vpc-1', tags: {}, ingress: [] });
    this.environment.namedSecurityGroups.push({ ref, id });
  }

  /** The next Describe finds provisioning load balancers active (as moto does). */
  activate(): void {
    for (const lb of this.owned.loadBalancers) if (lb.state === 'provisioning') lb.state = 'active';
  }

  apply(operations: ReadonlyArray<AwsOperation>): void {
    for (const operation of operations) {
      this.applyOne(operation);
      this.log.push(clone(operation));
    }
  }

  private id(prefix: string): string {
    this.serial += 1;
    return `${prefix}${String(this.serial).padStart(4, '0')}`;
  }

  private applyOne(o: AwsOperation): void {
    switch (o.op) {
      case 'createSecurityGroup': {
        if (this.allGroups().some((g) => g.name === o.name && g.vpcId === o.vpcId)) {
          throw new AwsRefusal('InvalidGroup.Duplicate', o.name);
        }
        this.owned.securityGroups.push({
          id: this.id('sg-f'),
          name: o.name,
          vpcId: o.vpcId,
          tags: { ...o.tags },
          ingress: [],
        });
        return;
      }
      case 'authorizeIngress': {
        const group = this.group(o.group);
        for (const rule of o.rules) {
          if (group.ingress.some((r) => ruleKey(r) === ruleKey(rule))) {
            throw new AwsRefusal('InvalidPermission.Duplicate', `${group.id} ${ruleKey(rule)}`);
          }
          group.ingress.push({ ...rule });
        }
        return;
      }
      case 'revokeIngress': {
        const group = this.group({ id: o.groupId });
        for (const rule of o.rules) {
          const index = group.ingress.findIndex((r) => ruleKey(r) === ruleKey(rule));
          if (index < 0) throw new AwsRefusal('InvalidPermission.NotFound', `${group.id} ${ruleKey(rule)}`);
          group.ingress.splice(index, 1);
        }
        return;
      }
      case 'deleteSecurityGroup': {
        const group = this.group({ id: o.groupId });
        if (this.owned.loadBalancers.some((lb) => lb.securityGroups.includes(group.id))) {
          throw new AwsRefusal('DependencyViolation', `${group.id} is used by a load balancer`);
        }
        this.owned.securityGroups = this.owned.securityGroups.filter((g) => g !== group);
        return;
      }
      case 'createTargetGroup': {
        if (this.owned.targetGroups.some((t) => t.name === o.name)) {
          throw new AwsRefusal('DuplicateTargetGroupName', o.name);
        }
        this.owned.targetGroups.push({
          arn: `arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/${o.name}/${this.id('')}`,
          name: o.name,
          port: o.port,
          protocol: o.protocol,
          targetType: o.targetType,
          vpcId: o.vpcId,
          healthCheck: clone(o.healthCheck),
          attributes: {
            'deregistration_delay.timeout_seconds': '300',
            'deregistration_delay.connection_termination.enabled': o.protocol === 'UDP' ? 'true' : 'false',
            'preserve_client_ip.enabled':
              o.targetType === 'instance' || o.protocol === 'UDP' ? 'true' : 'false',
            'proxy_protocol_v2.enabled': 'false',
            'stickiness.enabled': 'false',
            'stickiness.type': 'source_ip',
          },
          targets: [],
          tags: { ...o.tags },
          loadBalancerArns: [],
        });
        return;
      }
      case 'modifyTargetGroupHealthCheck':
        this.targetGroup({ id: o.targetGroupArn }).healthCheck = clone(o.healthCheck);
        return;
      case 'modifyTargetGroupAttributes':
        Object.assign(this.targetGroup(o.targetGroup).attributes, o.attributes);
        return;
      case 'registerTargets': {
        const tg = this.targetGroup(o.targetGroup);
        if (o.targets.length > 100) throw new AwsRefusal('ValidationError', 'more than 100 targets');
        for (const t of o.targets) {
          if ((tg.targetType === 'instance') !== t.id.startsWith('i-')) {
            throw new AwsRefusal('InvalidTarget', `${t.id} in a ${tg.targetType} target group`);
          }
          if (!tg.targets.some((x) => x.id === t.id && x.port === t.port)) tg.targets.push({ ...t });
        }
        return;
      }
      case 'deregisterTargets': {
        const tg = this.targetGroup({ id: o.targetGroupArn });
        if (o.targets.length > 100) throw new AwsRefusal('ValidationError', 'more than 100 targets');
        for (const t of o.targets) {
          const index = tg.targets.findIndex((x) => x.id === t.id && x.port === t.port);
          if (index < 0) throw new AwsRefusal('InvalidTarget', `${t.id}:${t.port} is not registered`);
          tg.targets.splice(index, 1);
        }
        return;
      }
      case 'deleteTargetGroup': {
        const tg = this.targetGroup({ id: o.targetGroupArn });
        if (this.listeners().some(([, l]) => l.targetGroupArn === tg.arn)) {
          throw new AwsRefusal('ResourceInUse', `${tg.name} is used by a listener`);
        }
        this.owned.targetGroups = this.owned.targetGroups.filter((t) => t !== tg);
        return;
      }
      case 'createLoadBalancer': {
        if (this.owned.loadBalancers.some((lb) => lb.name === o.name)) {
          throw new AwsRefusal('DuplicateLoadBalancerName', o.name);
        }
        const subnets = o.subnetMappings.map((m) => {
          const s = this.environment.subnets.find((x) => x.id === m.subnetId);
          if (!s) throw new AwsRefusal('SubnetNotFound', m.subnetId);
          return s;
        });
        const serial = this.id('');
        this.owned.loadBalancers.push({
          arn: `arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/${o.name}/${serial}`,
          name: o.name,
          scheme: o.scheme,
          state: 'provisioning',
          dnsName: `${o.name}-${serial}.elb.us-east-1.amazonaws.com`,
          ipAddressType: o.ipAddressType,
          vpcId: subnets[0]?.vpcId ?? '',
          subnetMappings: clone(o.subnetMappings),
          securityGroups: o.securityGroups.map((ref) => this.group(ref).id),
          attributes: { ...LB_DEFAULT_ATTRIBUTES },
          tags: { ...o.tags },
          listeners: [],
        });
        return;
      }
      case 'setSecurityGroups': {
        const lb = this.loadBalancer({ id: o.loadBalancerArn });
        if (lb.securityGroups.length === 0) {
          throw new AwsRefusal(
            'InvalidConfigurationRequest',
            'an NLB created without security groups cannot get any',
          );
        }
        lb.securityGroups = o.securityGroups.map((ref) => this.group(ref).id);
        return;
      }
      case 'setSubnets':
        this.loadBalancer({ id: o.loadBalancerArn }).subnetMappings = clone(o.subnetMappings);
        return;
      case 'setIpAddressType':
        this.loadBalancer({ id: o.loadBalancerArn }).ipAddressType = o.ipAddressType;
        return;
      case 'modifyLoadBalancerAttributes':
        Object.assign(this.loadBalancer(o.loadBalancer).attributes, o.attributes);
        return;
      case 'deleteLoadBalancer': {
        const lb = this.loadBalancer({ id: o.loadBalancerArn });
        if (lb.attributes['deletion_protection.enabled'] === 'true') {
          throw new AwsRefusal('OperationNotPermitted', `${lb.name} has deletion protection`);
        }
        this.owned.loadBalancers = this.owned.loadBalancers.filter((x) => x !== lb);
        this.relink();
        return;
      }
      case 'createListener': {
        const lb = this.loadBalancer(o.loadBalancer);
        if (lb.listeners.some((l) => l.port === o.port))
          throw new AwsRefusal('DuplicateListener', `${lb.name}:${o.port}`);
        const tg = this.targetGroup(o.targetGroup);
        this.checkForward(lb, o.protocol, tg);
        if (o.protocol === 'TLS' && o.certificates.length === 0) {
          throw new AwsRefusal('ValidationError', 'a TLS listener needs a certificate');
        }
        lb.listeners.push({
          arn: `arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/net/${lb.name}/${this.id('')}`,
          port: o.port,
          protocol: o.protocol,
          targetGroupArn: tg.arn,
          certificates: o.protocol === 'TLS' ? [...o.certificates] : [],
          ...(o.protocol === 'TLS' ? { sslPolicy: o.sslPolicy ?? 'ELBSecurityPolicy-2016-08' } : {}),
          ...(o.alpnPolicy ? { alpnPolicy: o.alpnPolicy } : {}),
          attributes: o.protocol === 'TCP' ? { ...TCP_LISTENER_DEFAULT_ATTRIBUTES } : {},
          tags: { ...o.tags },
        });
        this.relink();
        return;
      }
      case 'modifyListener': {
        const [lb, listener] = this.listener({ id: o.listenerArn });
        const tg = this.targetGroup(o.targetGroup);
        this.checkForward(lb, o.protocol, tg);
        const wasTls = listener.protocol === 'TLS';
        listener.protocol = o.protocol;
        listener.targetGroupArn = tg.arn;
        if (o.protocol === 'TLS') {
          const certificate = o.defaultCertificate ?? listener.certificates[0];
          if (!certificate) throw new AwsRefusal('ValidationError', 'a TLS listener needs a certificate');
          listener.certificates = [certificate, ...(wasTls ? listener.certificates.slice(1) : [])];
          if (o.sslPolicy) listener.sslPolicy = o.sslPolicy;
          else if (!wasTls) listener.sslPolicy = 'ELBSecurityPolicy-2016-08';
          if (o.alpnPolicy) listener.alpnPolicy = o.alpnPolicy;
          listener.attributes = {};
        } else {
          listener.certificates = [];
          delete listener.sslPolicy;
          delete listener.alpnPolicy;
          listener.attributes = o.protocol === 'TCP' ? { ...TCP_LISTENER_DEFAULT_ATTRIBUTES } : {};
        }
        this.relink();
        return;
      }
      case 'addListenerCertificates': {
        const [, listener] = this.listener(o.listener);
        for (const c of o.certificates) if (!listener.certificates.includes(c)) listener.certificates.push(c);
        return;
      }
      case 'removeListenerCertificates': {
        const [, listener] = this.listener({ id: o.listenerArn });
        for (const c of o.certificates) {
          const index = listener.certificates.indexOf(c);
          if (index === 0)
            throw new AwsRefusal('OperationNotPermitted', 'cannot remove the default certificate');
          if (index < 0) throw new AwsRefusal('CertificateNotFound', c);
          listener.certificates.splice(index, 1);
        }
        return;
      }
      case 'modifyListenerAttributes': {
        const [, listener] = this.listener(o.listener);
        if (listener.protocol !== 'TCP')
          throw new AwsRefusal('ValidationError', 'attributes on a non-TCP listener');
        Object.assign(listener.attributes, o.attributes);
        return;
      }
      case 'deleteListener': {
        const [lb, listener] = this.listener({ id: o.listenerArn });
        lb.listeners = lb.listeners.filter((l) => l !== listener);
        this.relink();
        return;
      }
      case 'addTags':
        Object.assign(this.tagged(o.arn), o.tags);
        return;
      case 'removeTags': {
        const tags = this.tagged({ id: o.arn });
        for (const key of o.keys) delete tags[key];
        return;
      }
    }
  }

  private allGroups(): ObservedSecurityGroup[] {
    return [...this.owned.securityGroups, ...this.environment.nodeSecurityGroups, ...this.userGroups];
  }

  private group(ref: Ref): ObservedSecurityGroup {
    const found = this.allGroups().find((g) => ('id' in ref ? g.id === ref.id : g.name === ref.name));
    if (!found) throw new AwsRefusal('InvalidGroup.NotFound', JSON.stringify(ref));
    return found;
  }

  private targetGroup(ref: Ref): ObservedTargetGroup {
    const found = this.owned.targetGroups.find((t) => ('id' in ref ? t.arn === ref.id : t.name === ref.name));
    if (!found) throw new AwsRefusal('TargetGroupNotFound', JSON.stringify(ref));
    return found;
  }

  private loadBalancer(ref: Ref): ObservedLoadBalancer {
    const found = this.owned.loadBalancers.find((lb) =>
      'id' in ref ? lb.arn === ref.id : lb.name === ref.name,
    );
    if (!found) throw new AwsRefusal('LoadBalancerNotFound', JSON.stringify(ref));
    return found;
  }

  private listeners(): Array<[ObservedLoadBalancer, ObservedListener]> {
    return this.owned.loadBalancers.flatMap((lb) =>
      lb.listeners.map((l): [ObservedLoadBalancer, ObservedListener] => [lb, l]),
    );
  }

  private listener(ref: Ref): [ObservedLoadBalancer, ObservedListener] {
    const found = this.listeners().find(([lb, l]) =>
      'id' in ref ? l.arn === ref.id : `${lb.name}:${l.port}` === ref.name,
    );
    if (!found) throw new AwsRefusal('ListenerNotFound', JSON.stringify(ref));
    return found;
  }

  private tagged(ref: Ref): Record<string, string> {
    const key = 'id' in ref ? ref.id : ref.name;
    const match =
      this.owned.loadBalancers.find((x) => x.arn === key || x.name === key) ??
      this.owned.targetGroups.find((x) => x.arn === key || x.name === key) ??
      this.owned.securityGroups.find((x) => x.id === key || x.name === key) ??
      this.listeners().find(([, l]) => l.arn === key)?.[1];
    if (!match?.tags) throw new AwsRefusal('ResourceNotFound', key);
    return match.tags;
  }

  /** ELBv2's rules for a forward action: protocols that fit, and one NLB per target group. */
  private checkForward(lb: ObservedLoadBalancer, protocol: string, tg: ObservedTargetGroup): void {
    const fits = protocol === 'TLS' ? ['TCP', 'TLS'].includes(tg.protocol) : tg.protocol === protocol;
    if (!fits)
      throw new AwsRefusal('IncompatibleProtocols', `${protocol} listener → ${tg.protocol} target group`);
    const others = this.listeners().filter(([o, l]) => o !== lb && l.targetGroupArn === tg.arn);
    if (others.length > 0) {
      throw new AwsRefusal('TargetGroupAssociationLimit', `${tg.name} is used by ${others[0]![0].name}`);
    }
  }

  /** Target groups' LoadBalancerArns follow the listeners. */
  private relink(): void {
    for (const tg of this.owned.targetGroups) {
      tg.loadBalancerArns = [
        ...new Set(this.listeners().flatMap(([lb, l]) => (l.targetGroupArn === tg.arn ? [lb.arn] : []))),
      ];
    }
  }
}
