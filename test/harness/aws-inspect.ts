// Reads back everything in a simulated AWS account (moto) through the real SDK, as plain data a
// test can assert on: load balancers with listeners, certificates and attributes; target groups with
// health checks, attributes and targets; security groups with their rules.
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
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
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ec2Client, TEST_CREDENTIALS, TEST_REGION } from './aws-seed.ts';

export interface SnapshotListener {
  port: number;
  protocol: string;
  targetGroup: string;
  certificates: string[];
  defaultCertificate?: string;
  sslPolicy?: string;
  alpnPolicy?: string[];
  attributes: Record<string, string>;
}

export interface SnapshotLoadBalancer {
  name: string;
  arn: string;
  scheme: string;
  state: string;
  dnsName: string;
  ipAddressType: string;
  subnets: string[];
  securityGroups: string[];
  tags: Record<string, string>;
  attributes: Record<string, string>;
  listeners: SnapshotListener[];
}

export interface SnapshotTargetGroup {
  name: string;
  arn: string;
  protocol: string;
  port: number;
  targetType: string;
  healthCheck: {
    protocol?: string;
    port?: string;
    path?: string;
    interval?: number;
    timeout?: number;
    healthy?: number;
    unhealthy?: number;
    matcher?: string;
  };
  attributes: Record<string, string>;
  targets: string[];
  tags: Record<string, string>;
}

export interface SnapshotSecurityGroup {
  id: string;
  name: string;
  tags: Record<string, string>;
  /** `protocol from-to cidr "description"`, sorted. */
  rules: string[];
}

export interface AwsSnapshot {
  loadBalancers: SnapshotLoadBalancer[];
  targetGroups: SnapshotTargetGroup[];
  securityGroups: SnapshotSecurityGroup[];
}

function tagMap(tags: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

function attributeMap(list: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((a) => [a.Key ?? '', a.Value ?? '']));
}

/** Reading while Sluice works: a resource deleted between the list and its details is left out. */
function vanished(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return /NotFound/.test(name);
}

async function unlessVanished<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (vanished(error)) return undefined;
    throw error;
  }
}

export async function awsSnapshot(endpoint: string): Promise<AwsSnapshot> {
  const elb = new ElasticLoadBalancingV2Client({
    endpoint,
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
  });
  const ec2 = ec2Client(endpoint);
  const tagsOf = async (arns: string[]): Promise<Map<string, Record<string, string>>> => {
    const result = new Map<string, Record<string, string>>();
    for (let i = 0; i < arns.length; i += 20) {
      const out = await elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
      for (const d of out.TagDescriptions ?? []) result.set(d.ResourceArn ?? '', tagMap(d.Tags));
    }
    return result;
  };
  const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const tags = await tagsOf([
    ...lbs.map((lb) => lb.LoadBalancerArn ?? ''),
    ...tgs.map((tg) => tg.TargetGroupArn ?? ''),
  ]);
  const tgNames = new Map(tgs.map((tg) => [tg.TargetGroupArn ?? '', tg.TargetGroupName ?? '']));

  const loadBalancers: SnapshotLoadBalancer[] = [];
  for (const lb of lbs) {
    const read = await unlessVanished(() => readLoadBalancer(lb));
    if (read) loadBalancers.push(read);
  }
  async function readLoadBalancer(lb: (typeof lbs)[number]): Promise<SnapshotLoadBalancer> {
    const arn = lb.LoadBalancerArn ?? '';
    const listeners: SnapshotListener[] = [];
    for (const l of (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: arn }))).Listeners ??
      []) {
      const certs = (await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: l.ListenerArn })))
        .Certificates;
      const attributes = (
        await elb.send(new DescribeListenerAttributesCommand({ ListenerArn: l.ListenerArn }))
      ).Attributes;
      const forward = l.DefaultActions?.find((a) => a.Type === 'forward');
      const target =
        forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn ?? '';
      listeners.push({
        port: l.Port ?? 0,
        protocol: l.Protocol ?? '',
        targetGroup: tgNames.get(target) ?? target,
        certificates: (certs ?? []).map((c) => c.CertificateArn ?? '').sort(),
        ...(l.Certificates?.[0]?.CertificateArn
          ? { defaultCertificate: l.Certificates[0].CertificateArn }
          : {}),
        ...(l.SslPolicy ? { sslPolicy: l.SslPolicy } : {}),
        ...(l.AlpnPolicy?.length ? { alpnPolicy: l.AlpnPolicy } : {}),
        attributes: attributeMap(attributes),
      });
    }
    listeners.sort((a, b) => a.port - b.port);
    return {
      name: lb.LoadBalancerName ?? '',
      arn,
      scheme: lb.Scheme ?? '',
      state: lb.State?.Code ?? '',
      dnsName: lb.DNSName ?? '',
      ipAddressType: lb.IpAddressType ?? '',
      subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId ?? '').sort(),
      securityGroups: [...(lb.SecurityGroups ?? [])].sort(),
      tags: tags.get(arn) ?? {},
      attributes: attributeMap(
        (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }))).Attributes,
      ),
      listeners,
    };
  }

  const targetGroups: SnapshotTargetGroup[] = [];
  for (const tg of tgs) {
    const read = await unlessVanished(() => readTargetGroup(tg));
    if (read) targetGroups.push(read);
  }
  async function readTargetGroup(tg: (typeof tgs)[number]): Promise<SnapshotTargetGroup> {
    const arn = tg.TargetGroupArn ?? '';
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    return {
      name: tg.TargetGroupName ?? '',
      arn,
      protocol: tg.Protocol ?? '',
      port: tg.Port ?? 0,
      targetType: tg.TargetType ?? '',
      healthCheck: {
        ...(tg.HealthCheckProtocol ? { protocol: tg.HealthCheckProtocol } : {}),
        ...(tg.HealthCheckPort ? { port: tg.HealthCheckPort } : {}),
        ...(tg.HealthCheckPath ? { path: tg.HealthCheckPath } : {}),
        ...(tg.HealthCheckIntervalSeconds ? { interval: tg.HealthCheckIntervalSeconds } : {}),
        ...(tg.HealthCheckTimeoutSeconds ? { timeout: tg.HealthCheckTimeoutSeconds } : {}),
        ...(tg.HealthyThresholdCount ? { healthy: tg.HealthyThresholdCount } : {}),
        ...(tg.UnhealthyThresholdCount ? { unhealthy: tg.UnhealthyThresholdCount } : {}),
        ...(tg.Matcher?.HttpCode ? { matcher: tg.Matcher.HttpCode } : {}),
      },
      attributes: attributeMap(
        (await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes,
      ),
      targets: (health.TargetHealthDescriptions ?? [])
        .filter((d) => d.TargetHealth?.State !== 'draining')
        .map((d) => `${d.Target?.Id}:${d.Target?.Port}`)
        .sort(),
      tags: tags.get(arn) ?? {},
    };
  }

  const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
  const securityGroups = groups.map((g) => {
    const rules: string[] = [];
    for (const p of g.IpPermissions ?? []) {
      const range = `${p.IpProtocol} ${p.FromPort ?? ''}-${p.ToPort ?? ''}`;
      for (const r of p.IpRanges ?? []) rules.push(`${range} ${r.CidrIp} "${r.Description ?? ''}"`);
      for (const r of p.Ipv6Ranges ?? []) rules.push(`${range} ${r.CidrIpv6} "${r.Description ?? ''}"`);
    }
    return {
      id: g.GroupId ?? '',
      name: g.GroupName ?? '',
      tags: tagMap(g.Tags),
      rules: rules.sort(),
    };
  });
  return { loadBalancers, targetGroups, securityGroups };
}
