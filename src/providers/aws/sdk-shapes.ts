// Conversions between the SDK's wire shapes and the provider's model (tags, attributes, health
// checks, security-group rules). Pure; shared by observe.ts and apply.ts so both read and write
// the same way.
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2';
import type { TargetGroup } from '@aws-sdk/client-elastic-load-balancing-v2';
import type {
  HealthCheckProtocol,
  HealthCheckSpec,
  ObservedSecurityGroup,
  SecurityGroupRule,
} from './model.ts';

export function tagMap(
  tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined,
): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) map[tag.Key] = tag.Value ?? '';
  return map;
}

export function tagList(tags: Record<string, string>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function attributeMap(
  attributes: ReadonlyArray<{ Key?: string; Value?: string }> | undefined,
): Record<string, string> {
  return tagMap(attributes);
}

export function attributeList(attributes: Record<string, string>): Array<{ Key: string; Value: string }> {
  return tagList(attributes);
}

export function healthCheckOf(group: TargetGroup): HealthCheckSpec {
  const protocol = (group.HealthCheckProtocol ?? 'TCP') as HealthCheckProtocol;
  const port = group.HealthCheckPort;
  const http = protocol === 'HTTP' || protocol === 'HTTPS';
  return {
    protocol,
    port:
      port === undefined || port === 'traffic-port' || !/^\d+$/.test(port) ? 'traffic-port' : Number(port),
    ...(http && group.HealthCheckPath ? { path: group.HealthCheckPath } : {}),
    intervalSeconds: group.HealthCheckIntervalSeconds ?? 0,
    timeoutSeconds: group.HealthCheckTimeoutSeconds ?? 0,
    healthyThreshold: group.HealthyThresholdCount ?? 0,
    unhealthyThreshold: group.UnhealthyThresholdCount ?? 0,
    ...(http && group.Matcher?.HttpCode ? { successCodes: group.Matcher.HttpCode } : {}),
  };
}

/** The health-check fields of CreateTargetGroup and ModifyTargetGroup. */
export function healthCheckInput(spec: HealthCheckSpec): {
  HealthCheckEnabled: true;
  HealthCheckProtocol: HealthCheckProtocol;
  HealthCheckPort: string;
  HealthCheckPath?: string;
  HealthCheckIntervalSeconds: number;
  HealthCheckTimeoutSeconds: number;
  HealthyThresholdCount: number;
  UnhealthyThresholdCount: number;
  Matcher?: { HttpCode: string };
} {
  const http = spec.protocol === 'HTTP' || spec.protocol === 'HTTPS';
  return {
    HealthCheckEnabled: true,
    HealthCheckProtocol: spec.protocol,
    HealthCheckPort: String(spec.port),
    // ELBv2 refuses a path or matcher on a TCP health check.
    ...(http && spec.path ? { HealthCheckPath: spec.path } : {}),
    HealthCheckIntervalSeconds: spec.intervalSeconds,
    HealthCheckTimeoutSeconds: spec.timeoutSeconds,
    HealthyThresholdCount: spec.healthyThreshold,
    UnhealthyThresholdCount: spec.unhealthyThreshold,
    ...(http && spec.successCodes ? { Matcher: { HttpCode: spec.successCodes } } : {}),
  };
}

const PROTOCOL_NAMES: Record<string, SecurityGroupRule['protocol']> = {
  tcp: 'tcp',
  '6': 'tcp',
  udp: 'udp',
  '17': 'udp',
  icmp: 'icmp',
  '1': 'icmp',
  icmpv6: 'icmpv6',
  '58': 'icmpv6',
};

/**
 * One rule per (permission, CIDR). Rules Sluice never makes (all protocols, group references,
 * prefix lists) are left out: they are not Sluice's to change.
 */
export function rulesOf(permissions: ReadonlyArray<IpPermission> | undefined): SecurityGroupRule[] {
  const rules: SecurityGroupRule[] = [];
  for (const permission of permissions ?? []) {
    const protocol = PROTOCOL_NAMES[(permission.IpProtocol ?? '').toLowerCase()];
    if (!protocol) continue;
    const fromPort = permission.FromPort ?? -1;
    const toPort = permission.ToPort ?? -1;
    for (const range of permission.IpRanges ?? []) {
      if (range.CidrIp)
        rules.push({ protocol, fromPort, toPort, cidr: range.CidrIp, description: range.Description ?? '' });
    }
    for (const range of permission.Ipv6Ranges ?? []) {
      if (range.CidrIpv6) {
        rules.push({
          protocol,
          fromPort,
          toPort,
          cidr: range.CidrIpv6,
          description: range.Description ?? '',
        });
      }
    }
  }
  return rules;
}

/** The rules as IpPermissions, one per protocol and port range, each with its CIDRs. */
export function permissionsOf(rules: ReadonlyArray<SecurityGroupRule>): IpPermission[] {
  const byRange = new Map<string, IpPermission>();
  for (const rule of rules) {
    const key = `${rule.protocol} ${rule.fromPort} ${rule.toPort}`;
    let permission = byRange.get(key);
    if (!permission) {
      permission = { IpProtocol: rule.protocol, FromPort: rule.fromPort, ToPort: rule.toPort };
      byRange.set(key, permission);
    }
    const description = rule.description === '' ? {} : { Description: rule.description };
    if (rule.cidr.includes(':')) {
      permission.Ipv6Ranges = [...(permission.Ipv6Ranges ?? []), { CidrIpv6: rule.cidr, ...description }];
    } else {
      permission.IpRanges = [...(permission.IpRanges ?? []), { CidrIp: rule.cidr, ...description }];
    }
  }
  return [...byRange.values()];
}

/** What makes a rule the same rule to EC2 (the description is not part of it). */
export function ruleKey(rule: SecurityGroupRule): string {
  return `${rule.protocol} ${rule.fromPort} ${rule.toPort} ${rule.cidr}`;
}

export function securityGroupOf(group: SecurityGroup): ObservedSecurityGroup {
  return {
    id: group.GroupId ?? '',
    name: group.GroupName ?? '',
    vpcId: group.VpcId ?? '',
    tags: tagMap(group.Tags),
    ingress: rulesOf(group.IpPermissions),
  };
}

/** Splits a list into chunks of at most `size` (AWS's per-call limits). */
export function chunks<T>(items: ReadonlyArray<T>, size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
