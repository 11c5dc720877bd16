// Shared by the AWS provider tests: the io pieces wired to an endpoint (moto, or the fault proxy in
// front of it) with a log a test can read, a hand-written plan that creates everything one Service
// needs, and moto read back (directly, never through the proxy) as counts a test can assert on.
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { pino } from 'pino';
import type { ServiceRef } from '../../src/intent/types.ts';
import type { ApplyDeps } from '../../src/providers/aws/apply.ts';
import { type AwsCallEvent, AwsClient, type RetryPolicy } from '../../src/providers/aws/client.ts';
import { AwsInventory } from '../../src/providers/aws/inventory.ts';
import type {
  AwsOperation,
  AwsPlan,
  AwsSettings,
  HealthCheckSpec,
  SecurityGroupRule,
} from '../../src/providers/aws/model.ts';
import {
  frontendRuleDescription,
  listenerRefName,
  loadBalancerName,
  nodeRuleDescription,
  ownershipTags,
  securityGroupName,
  targetGroupName,
} from '../../src/providers/aws/names.ts';
import { EnvironmentCache, type ObserveDeps } from '../../src/providers/aws/observe.ts';
import { type SeededAccount, TEST_CREDENTIALS, TEST_REGION } from '../harness/aws-seed.ts';

export interface IoWorld {
  aws: AwsClient;
  inventory: AwsInventory;
  observeDeps: ObserveDeps;
  applyDeps: ApplyDeps;
  /** Every log record, parsed. */
  logs: Array<Record<string, unknown>>;
  calls: AwsCallEvent[];
}

export function ioWorld(endpoint: string, cluster: string, retry: Partial<RetryPolicy> = {}): IoWorld {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const calls: AwsCallEvent[] = [];
  const aws = new AwsClient({
    region: TEST_REGION,
    endpoint,
    credentials: TEST_CREDENTIALS,
    logger,
    onCall: (event) => calls.push(event),
    // Short waits: the test's faults come fast and often; the policy's shape is what is tested.
    retry: { baseDelayMs: 5, maxDelayMs: 100, ...retry },
    attemptTimeoutMs: 5000,
  });
  const inventory = new AwsInventory({ aws, logger });
  return {
    aws,
    inventory,
    observeDeps: { aws, inventory, cluster, cache: new EnvironmentCache() },
    applyDeps: { aws, inventory, logger, provisioningRetryMs: 5000 },
    logs,
    calls,
  };
}

export interface ServiceNames {
  loadBalancer: string;
  securityGroup: string;
  tg80: string;
  tg443: string;
}

const HEALTH: HealthCheckSpec = {
  protocol: 'TCP',
  port: 'traffic-port',
  intervalSeconds: 10,
  timeoutSeconds: 10,
  healthyThreshold: 3,
  unhealthyThreshold: 3,
};

/** Settings as awsSettings() gives a Service with no annotations (open to all), for hand-written plans. */
export function plainSettings(overrides: Partial<AwsSettings> = {}): AwsSettings {
  return {
    scheme: 'internet-facing',
    targetType: 'instance',
    ipAddressType: 'ipv4',
    loadBalancerAttributes: {},
    targetGroupAttributes: {},
    tcpListenerAttributes: {},
    healthCheck: { ...HEALTH },
    extraSecurityGroups: [],
    additionalTags: {},
    targetNodeLabels: {},
    sourceRanges: ['0.0.0.0/0'],
    ...overrides,
  };
}

/** What may differ between Services in one account: NodePorts are cluster-unique, and so must their rules be. */
export interface ServiceShape {
  nodePorts: [number, number];
  clientCidr: string;
}

export const DEFAULT_SHAPE: ServiceShape = { nodePorts: [30080, 30443], clientCidr: '0.0.0.0/0' };

export function namesFor(
  cluster: string,
  service: ServiceRef,
  account: SeededAccount,
  shape: ServiceShape = DEFAULT_SHAPE,
): ServiceNames {
  const loadBalancer = loadBalancerName(cluster, service, 'internet-facing');
  const tg = (servicePort: number, port: number): string =>
    targetGroupName(cluster, service, {
      loadBalancer,
      servicePort,
      serviceProtocol: 'TCP',
      port,
      protocol: 'TCP',
      targetType: 'instance',
      healthCheckProtocol: 'TCP',
      ipAddressType: 'ipv4',
      vpcId: account.vpcId,
    });
  return {
    loadBalancer,
    securityGroup: securityGroupName(cluster, service),
    tg80: tg(80, shape.nodePorts[0]),
    tg443: tg(443, shape.nodePorts[1]),
  };
}

export function frontendRules(lb: string, clientCidr = DEFAULT_SHAPE.clientCidr): SecurityGroupRule[] {
  return [
    {
      protocol: 'tcp',
      fromPort: 80,
      toPort: 80,
      cidr: clientCidr,
      description: frontendRuleDescription('client', lb),
    },
    {
      protocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidr: clientCidr,
      description: frontendRuleDescription('client', lb),
    },
    {
      protocol: 'icmp',
      fromPort: 3,
      toPort: 4,
      cidr: clientCidr,
      description: frontendRuleDescription('mtu', lb),
    },
  ];
}

export function nodeRules(
  lb: string,
  vpcCidr: string,
  shape: ServiceShape = DEFAULT_SHAPE,
): SecurityGroupRule[] {
  const rules: SecurityGroupRule[] = [];
  for (const port of shape.nodePorts) {
    rules.push({
      protocol: 'tcp',
      fromPort: port,
      toPort: port,
      cidr: vpcCidr,
      description: nodeRuleDescription('health', lb),
    });
    rules.push({
      protocol: 'tcp',
      fromPort: port,
      toPort: port,
      cidr: shape.clientCidr,
      description: nodeRuleDescription('client', lb),
    });
  }
  rules.push({
    protocol: 'icmp',
    fromPort: 3,
    toPort: 4,
    cidr: shape.clientCidr,
    description: nodeRuleDescription('mtu', lb),
  });
  return rules;
}

/** Everything one Service with ports 80 (TCP) and 443 (TLS, two certificates) needs, in dependency order. */
export function createEverything(
  cluster: string,
  service: ServiceRef,
  account: SeededAccount,
  shape: ServiceShape = DEFAULT_SHAPE,
): AwsPlan {
  const n = namesFor(cluster, service, account, shape);
  const tags = (resource: string) => ownershipTags(cluster, service, resource);
  const targets = (port: number) => account.instances.map((i) => ({ id: i.instanceId, port }));
  const tgAttributes = {
    'deregistration_delay.timeout_seconds': '30',
    'proxy_protocol_v2.enabled': 'true',
    'preserve_client_ip.enabled': 'true',
  };
  const operations: AwsOperation[] = [
    {
      op: 'createSecurityGroup',
      name: n.securityGroup,
      description: `Sluice: frontend of ${service.namespace}/${service.name}`,
      vpcId: account.vpcId,
      tags: tags('security-group'),
    },
    {
      op: 'authorizeIngress',
      group: { name: n.securityGroup },
      rules: frontendRules(n.loadBalancer, shape.clientCidr),
    },
    {
      op: 'authorizeIngress',
      group: { id: account.nodeSecurityGroup },
      rules: nodeRules(n.loadBalancer, account.vpcCidr, shape),
    },
    ...[
      [n.tg80, 80, shape.nodePorts[0]],
      [n.tg443, 443, shape.nodePorts[1]],
    ].flatMap(([name, servicePort, port]): AwsOperation[] => [
      {
        op: 'createTargetGroup',
        name: String(name),
        protocol: 'TCP',
        port: Number(port),
        targetType: 'instance',
        vpcId: account.vpcId,
        healthCheck: HEALTH,
        tags: tags(`target-group:${servicePort}/TCP`),
      },
      { op: 'modifyTargetGroupAttributes', targetGroup: { name: String(name) }, attributes: tgAttributes },
      { op: 'registerTargets', targetGroup: { name: String(name) }, targets: targets(Number(port)) },
    ]),
    {
      op: 'createLoadBalancer',
      name: n.loadBalancer,
      scheme: 'internet-facing',
      ipAddressType: 'ipv4',
      subnetMappings: account.publicSubnets.map((subnetId) => ({ subnetId })),
      securityGroups: [{ name: n.securityGroup }],
      tags: tags('load-balancer'),
    },
    {
      op: 'modifyLoadBalancerAttributes',
      loadBalancer: { name: n.loadBalancer },
      attributes: {
        'load_balancing.cross_zone.enabled': 'true',
        'access_logs.s3.enabled': 'false',
        'deletion_protection.enabled': 'false',
      },
    },
    {
      op: 'createListener',
      loadBalancer: { name: n.loadBalancer },
      port: 80,
      protocol: 'TCP',
      targetGroup: { name: n.tg80 },
      certificates: [],
      tags: tags('listener'),
    },
    {
      op: 'createListener',
      loadBalancer: { name: n.loadBalancer },
      port: 443,
      protocol: 'TLS',
      targetGroup: { name: n.tg443 },
      certificates: account.certificates.slice(0, 2),
      sslPolicy: 'ELBSecurityPolicy-2016-08',
      alpnPolicy: 'HTTP2Preferred',
      tags: tags('listener'),
    },
    {
      op: 'modifyListenerAttributes',
      listener: { name: listenerRefName(n.loadBalancer, 80) },
      attributes: { 'tcp.idle_timeout.seconds': '400' },
    },
    {
      op: 'addTags',
      arn: { name: n.loadBalancer },
      tags: { team: 'shop', 'sluice.dev/additional-tag-keys': 'team' },
    },
  ];
  return { operations, loadBalancerName: n.loadBalancer, changes: [], notices: [] };
}

/** What moto holds, read directly (never through a fault proxy). */
export interface MotoCounts {
  loadBalancers: Array<{ name: string; arn: string; tags: Record<string, string> }>;
  targetGroups: Array<{ name: string; arn: string; targets: string[]; tags: Record<string, string> }>;
  listeners: Array<{ loadBalancer: string; port: number; protocol: string; certificates: string[] }>;
  securityGroups: Array<{ id: string; name: string; tags: Record<string, string>; rules: string[] }>;
}

export async function readMoto(endpoint: string): Promise<MotoCounts> {
  const config = { endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS };
  const elb = new ElasticLoadBalancingV2Client(config);
  const ec2 = new EC2Client(config);
  const tagsOf = async (arn: string): Promise<Record<string, string>> => {
    const out = await elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
    return Object.fromEntries(
      (out.TagDescriptions?.[0]?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']),
    );
  };
  const counts: MotoCounts = { loadBalancers: [], targetGroups: [], listeners: [], securityGroups: [] };
  for (const lb of (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []) {
    const arn = lb.LoadBalancerArn ?? '';
    counts.loadBalancers.push({ name: lb.LoadBalancerName ?? '', arn, tags: await tagsOf(arn) });
    for (const l of (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: arn }))).Listeners ??
      []) {
      const certificates =
        l.Protocol === 'TLS'
          ? (
              (await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: l.ListenerArn })))
                .Certificates ?? []
            ).map((c) => `${c.CertificateArn}${c.IsDefault ? ' (default)' : ''}`)
          : [];
      counts.listeners.push({
        loadBalancer: lb.LoadBalancerName ?? '',
        port: l.Port ?? 0,
        protocol: l.Protocol ?? '',
        certificates,
      });
    }
  }
  for (const tg of (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []) {
    const arn = tg.TargetGroupArn ?? '';
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    counts.targetGroups.push({
      name: tg.TargetGroupName ?? '',
      arn,
      targets: (health.TargetHealthDescriptions ?? []).map((d) => `${d.Target?.Id}:${d.Target?.Port}`).sort(),
      tags: await tagsOf(arn),
    });
  }
  for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []) {
    const rules: string[] = [];
    for (const p of g.IpPermissions ?? []) {
      for (const r of p.IpRanges ?? [])
        rules.push(`${p.IpProtocol} ${p.FromPort}-${p.ToPort} ${r.CidrIp} ${r.Description ?? ''}`);
      for (const r of p.Ipv6Ranges ?? []) {
        rules.push(`${p.IpProtocol} ${p.FromPort}-${p.ToPort} ${r.CidrIpv6} ${r.Description ?? ''}`);
      }
    }
    counts.securityGroups.push({
      id: g.GroupId ?? '',
      name: g.GroupName ?? '',
      tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      rules: rules.sort(),
    });
  }
  return counts;
}
