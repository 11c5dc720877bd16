import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { METALLB, SLUICE, SOURCE_RANGES_LEGACY } from '../../src/intent/annotations.ts';
import { decide } from '../../src/intent/decide.ts';
import type { LoadBalancerIntent, PortIntent, Problem, ProblemReason } from '../../src/intent/types.ts';
import type { AwsSettings } from '../../src/providers/aws/model.ts';
import {
  AWS_ANNOTATIONS as A,
  AWS_ANNOTATION_KEYS,
  AWS_ANNOTATION_PREFIX,
  awsSettings,
  DEFAULT_SSL_POLICY,
  KUBE_PROXY_HEALTH_PORT,
  LOAD_BALANCER_ATTRIBUTE_DEFAULTS,
  MAX_ADDITIONAL_TAGS,
  TARGET_GROUP_ATTRIBUTE_DEFAULTS,
  TCP_LISTENER_ATTRIBUTE_DEFAULTS,
  targetGroupAttributesFor,
  UDP_TARGET_GROUP_ATTRIBUTE_DEFAULTS,
  udpHealthCheck,
} from '../../src/providers/aws/settings.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

const HTTP: PortIntent = { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080, targetPort: 8080 };
const HTTPS: PortIntent = { name: 'https', protocol: 'TCP', port: 443, nodePort: 30443, targetPort: 8443 };
const DNS: PortIntent = { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053, targetPort: 5353 };

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/5f0b2c2e-1111-2222-3333-444455556666';
const CERT2 = 'arn:aws:acm:us-east-1:123456789012:certificate/5f0b2c2e-1111-2222-3333-777788889999';
const IAM_CERT = 'arn:aws:iam::123456789012:server-certificate/web/2024';
const GOV_CERT = 'arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0a1b2c3d-4e5f';

/**
 * A Service with one TCP port, externalTrafficPolicy Cluster. `type: external` is set unless the test says
 * otherwise, so that the "no type" notice does not show up in every problem list.
 */
function intentWith(
  annotations: Record<string, string> = {},
  overrides: Partial<LoadBalancerIntent> = {},
): LoadBalancerIntent {
  return plainIntent({ ports: [HTTP], annotations: { [A.type]: 'external', ...annotations }, ...overrides });
}

function settingsOf(
  annotations: Record<string, string> = {},
  overrides: Partial<LoadBalancerIntent> = {},
): { settings: AwsSettings; problems: Problem[] } {
  return awsSettings(intentWith(annotations, overrides));
}

const BASELINE = settingsOf();

interface Expected {
  reason: ProblemReason;
  field: string;
  severity?: Problem['severity'];
}

/** Exactly one problem in all, with this reason/field/severity, whose message mentions every `mentions`. */
function assertOnly(problems: Problem[], expected: Expected, mentions: string[] = []): void {
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems, null, 1)}`);
  assertProblem(problems[0]!, expected, mentions);
}

/** Exactly one problem on `expected.field` (others may exist), as assertOnly. */
function assertOne(problems: Problem[], expected: Expected, mentions: string[] = []): void {
  const found = problems.filter((p) => p.field === expected.field);
  assert.equal(
    found.length,
    1,
    `expected one problem on ${expected.field}, got ${JSON.stringify(problems, null, 1)}`,
  );
  assertProblem(found[0]!, expected, mentions);
}

function assertProblem(p: Problem, expected: Expected, mentions: string[]): void {
  assert.deepEqual(
    { reason: p.reason, field: p.field, severity: p.severity },
    { reason: expected.reason, field: expected.field, severity: expected.severity ?? 'error' },
  );
  for (const m of mentions)
    assert.ok(p.message.includes(m), `message ${JSON.stringify(p.message)} should mention ${m}`);
}

describe('awsSettings: defaults', () => {
  it('a Service without AWS annotations gets an internet-facing NLB with instance targets and AWS defaults', () => {
    assert.deepEqual(BASELINE.problems, []);
    assert.deepEqual(BASELINE.settings, {
      scheme: 'internet-facing',
      targetType: 'instance',
      ipAddressType: 'ipv4',
      loadBalancerAttributes: {
        'access_logs.s3.enabled': 'false',
        'deletion_protection.enabled': 'false',
        'load_balancing.cross_zone.enabled': 'false',
        'dns_record.client_routing_policy': 'any_availability_zone',
      },
      targetGroupAttributes: {
        'proxy_protocol_v2.enabled': 'false',
        'deregistration_delay.timeout_seconds': '300',
        'deregistration_delay.connection_termination.enabled': 'false',
        'preserve_client_ip.enabled': 'true',
        'stickiness.enabled': 'false',
        'stickiness.type': 'source_ip',
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
      additionalTags: {},
      targetNodeLabels: {},
      sourceRanges: ['0.0.0.0/0'],
    });
    assert.deepEqual(BASELINE.settings.loadBalancerAttributes, LOAD_BALANCER_ATTRIBUTE_DEFAULTS);
    assert.deepEqual(BASELINE.settings.targetGroupAttributes, TARGET_GROUP_ATTRIBUTE_DEFAULTS.instance);
    assert.deepEqual(BASELINE.settings.tcpListenerAttributes, TCP_LISTENER_ATTRIBUTE_DEFAULTS);
  });

  it('ip targets do not preserve the client IP by default (AWS default for TCP/TLS ip target groups)', () => {
    const { settings, problems } = settingsOf({ [A.nlbTargetType]: 'ip' });
    assert.deepEqual(problems, []);
    assert.equal(settings.targetGroupAttributes['preserve_client_ip.enabled'], 'false');
    assert.deepEqual(settings.targetGroupAttributes, TARGET_GROUP_ATTRIBUTE_DEFAULTS.ip);
  });

  it('lists every key it reads, the upstream source-ranges key included', () => {
    assert.equal(new Set(AWS_ANNOTATION_KEYS).size, AWS_ANNOTATION_KEYS.length);
    assert.ok(AWS_ANNOTATION_KEYS.includes(SOURCE_RANGES_LEGACY));
    for (const key of Object.values(A)) {
      assert.ok(key.startsWith(AWS_ANNOTATION_PREFIX), key);
      assert.ok(AWS_ANNOTATION_KEYS.includes(key), key);
    }
  });
});

/**
 * One valid value per annotation: `pick` reads what it sets. Each row also proves that without the annotation
 * (as after removing it) the setting is back at its default, which differs from the annotated value.
 */
const VALID: Array<{
  key: string;
  value: string;
  with?: Record<string, string>;
  overrides?: Partial<LoadBalancerIntent>;
  pick: (s: AwsSettings) => unknown;
  expected: unknown;
  /** Warnings that come with this value (reason per field). */
  warnings?: Array<[ProblemReason, string]>;
}> = [
  { key: A.internal, value: 'true', pick: (s) => s.scheme, expected: 'internal' },
  { key: A.internal, value: '0.0.0.0/0', pick: (s) => s.scheme, expected: 'internal' },
  { key: A.scheme, value: 'internal', pick: (s) => s.scheme, expected: 'internal' },
  { key: A.nlbTargetType, value: 'ip', pick: (s) => s.targetType, expected: 'ip' },
  { key: A.name, value: 'shop-web-1', pick: (s) => s.name, expected: 'shop-web-1' },
  {
    key: A.subnets,
    value: 'subnet-0123456789abcdef0, public-a,subnet-0123456789abcdef0',
    pick: (s) => s.subnets,
    expected: ['subnet-0123456789abcdef0', 'public-a'],
  },
  { key: A.ipAddressType, value: 'dualstack', pick: (s) => s.ipAddressType, expected: 'dualstack' },
  {
    key: A.eipAllocations,
    value: 'eipalloc-0123456789abcdef0, eipalloc-12345678',
    pick: (s) => s.eipAllocations,
    expected: ['eipalloc-0123456789abcdef0', 'eipalloc-12345678'],
  },
  {
    key: A.privateIPv4Addresses,
    value: '10.0.1.10, 10.0.2.10',
    with: { [A.scheme]: 'internal' },
    pick: (s) => s.privateIPv4Addresses,
    expected: ['10.0.1.10', '10.0.2.10'],
  },
  {
    key: A.sslCert,
    value: `${CERT}, ${CERT2}`,
    overrides: { ports: [HTTP, HTTPS, DNS] },
    pick: (s) => s.tls,
    // Every TCP port by default; UDP is never TLS.
    expected: {
      certificates: [CERT, CERT2],
      ports: [80, 443],
      policy: DEFAULT_SSL_POLICY,
      backendTls: false,
    },
  },
  {
    key: A.sslCert,
    value: IAM_CERT,
    pick: (s) => s.tls?.certificates,
    expected: [IAM_CERT],
  },
  {
    key: A.sslCert,
    value: GOV_CERT,
    pick: (s) => s.tls?.certificates,
    expected: [GOV_CERT],
  },
  {
    key: A.sslPorts,
    value: 'https',
    with: { [A.sslCert]: CERT },
    overrides: { ports: [HTTP, HTTPS] },
    pick: (s) => s.tls?.ports,
    expected: [443],
  },
  {
    key: A.sslPorts,
    value: '443, 80',
    with: { [A.sslCert]: CERT },
    overrides: { ports: [HTTP, HTTPS, { name: 'metrics', protocol: 'TCP', port: 9090, nodePort: 30090 }] },
    pick: (s) => s.tls?.ports,
    expected: [80, 443],
  },
  {
    key: A.sslNegotiationPolicy,
    value: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    with: { [A.sslCert]: CERT },
    pick: (s) => s.tls?.policy,
    expected: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
  },
  {
    key: A.backendProtocol,
    value: 'ssl',
    with: { [A.sslCert]: CERT },
    pick: (s) => s.tls?.backendTls,
    expected: true,
  },
  {
    key: A.alpnPolicy,
    value: 'HTTP2Preferred',
    with: { [A.sslCert]: CERT },
    pick: (s) => s.tls?.alpnPolicy,
    expected: 'HTTP2Preferred',
  },
  {
    key: A.proxyProtocol,
    value: '*',
    pick: (s) => s.targetGroupAttributes['proxy_protocol_v2.enabled'],
    expected: 'true',
  },
  {
    key: A.accessLogEnabled,
    value: 'true',
    with: { [A.accessLogBucket]: 'shop-logs', [A.accessLogPrefix]: 'nlb/web', [A.sslCert]: CERT },
    pick: (s) => s.loadBalancerAttributes,
    expected: {
      ...LOAD_BALANCER_ATTRIBUTE_DEFAULTS,
      'access_logs.s3.enabled': 'true',
      'access_logs.s3.bucket': 'shop-logs',
      'access_logs.s3.prefix': 'nlb/web',
    },
  },
  {
    key: A.accessLogBucket,
    value: 'shop-logs.example',
    with: { [A.accessLogEnabled]: 'True', [A.sslCert]: CERT },
    pick: (s) => s.loadBalancerAttributes['access_logs.s3.bucket'],
    expected: 'shop-logs.example',
  },
  {
    key: A.accessLogPrefix,
    value: 'prod',
    with: { [A.accessLogEnabled]: 'true', [A.accessLogBucket]: 'shop-logs', [A.sslCert]: CERT },
    pick: (s) => s.loadBalancerAttributes['access_logs.s3.prefix'],
    expected: 'prod',
  },
  {
    key: A.connectionDrainingEnabled,
    value: 'false',
    pick: (s) => s.targetGroupAttributes['deregistration_delay.timeout_seconds'],
    expected: '0',
    warnings: [['EquivalentSetting', A.connectionDrainingEnabled]],
  },
  {
    key: A.connectionDrainingTimeout,
    value: '60',
    with: { [A.connectionDrainingEnabled]: 'true' },
    pick: (s) => s.targetGroupAttributes['deregistration_delay.timeout_seconds'],
    expected: '60',
    warnings: [['EquivalentSetting', A.connectionDrainingEnabled]],
  },
  {
    key: A.connectionIdleTimeout,
    value: '600',
    pick: (s) => s.tcpListenerAttributes['tcp.idle_timeout.seconds'],
    expected: '600',
  },
  {
    key: A.crossZone,
    value: 'true',
    pick: (s) => s.loadBalancerAttributes['load_balancing.cross_zone.enabled'],
    expected: 'true',
  },
  {
    key: A.additionalResourceTags,
    value: 'team=web, cost-center=42,KeyOnly, Empty=, url=https://example.com/a=b',
    pick: (s) => s.additionalTags,
    expected: { team: 'web', 'cost-center': '42', KeyOnly: '', Empty: '', url: 'https://example.com/a=b' },
  },
  {
    key: A.healthCheckHealthyThreshold,
    value: '5',
    pick: (s) => s.healthCheck.healthyThreshold,
    expected: 5,
  },
  {
    key: A.healthCheckUnhealthyThreshold,
    value: '10',
    pick: (s) => s.healthCheck.unhealthyThreshold,
    expected: 10,
  },
  { key: A.healthCheckInterval, value: '30', pick: (s) => s.healthCheck.intervalSeconds, expected: 30 },
  { key: A.healthCheckTimeout, value: '5', pick: (s) => s.healthCheck.timeoutSeconds, expected: 5 },
  {
    key: A.healthCheckProtocol,
    value: 'http',
    pick: (s) => s.healthCheck,
    expected: { ...BASELINE.settings.healthCheck, protocol: 'HTTP', path: '/', successCodes: '200-399' },
  },
  {
    key: A.healthCheckProtocol,
    value: 'HTTPS',
    pick: (s) => s.healthCheck.protocol,
    expected: 'HTTPS',
  },
  { key: A.healthCheckPort, value: '8080', pick: (s) => s.healthCheck.port, expected: 8080 },
  // A Service port name: its NodePort for instance targets.
  { key: A.healthCheckPort, value: 'http', pick: (s) => s.healthCheck.port, expected: 30080 },
  // ... and the Pods' port for ip targets.
  {
    key: A.healthCheckPort,
    value: 'http',
    with: { [A.nlbTargetType]: 'ip' },
    pick: (s) => s.healthCheck.port,
    expected: 8080,
  },
  {
    key: A.healthCheckPath,
    value: '/ready',
    with: { [A.healthCheckProtocol]: 'HTTP' },
    pick: (s) => s.healthCheck.path,
    expected: '/ready',
  },
  {
    key: A.healthCheckSuccessCodes,
    value: '200, 202-204,599',
    with: { [A.healthCheckProtocol]: 'HTTP' },
    pick: (s) => s.healthCheck.successCodes,
    expected: '200,202-204,599',
  },
  {
    key: A.securityGroups,
    value: 'sg-0123456789abcdef0, web-frontend',
    pick: (s) => s.securityGroups,
    expected: ['sg-0123456789abcdef0', 'web-frontend'],
  },
  {
    key: A.extraSecurityGroups,
    value: 'sg-0123456789abcdef1,office',
    pick: (s) => s.extraSecurityGroups,
    expected: ['sg-0123456789abcdef1', 'office'],
  },
  {
    key: A.targetGroupAttributes,
    value:
      'deregistration_delay.timeout_seconds=60, deregistration_delay.connection_termination.enabled=TRUE,' +
      'preserve_client_ip.enabled=false,stickiness.enabled=true,stickiness.type=source_ip,proxy_protocol_v2.enabled=true',
    pick: (s) => s.targetGroupAttributes,
    expected: {
      'proxy_protocol_v2.enabled': 'true',
      'deregistration_delay.timeout_seconds': '60',
      'deregistration_delay.connection_termination.enabled': 'true',
      'preserve_client_ip.enabled': 'false',
      'stickiness.enabled': 'true',
      'stickiness.type': 'source_ip',
    },
  },
  {
    key: A.loadBalancerAttributes,
    value:
      'deletion_protection.enabled=true,dns_record.client_routing_policy=availability_zone_affinity,' +
      'load_balancing.cross_zone.enabled=true',
    pick: (s) => s.loadBalancerAttributes,
    expected: {
      'access_logs.s3.enabled': 'false',
      'deletion_protection.enabled': 'true',
      'load_balancing.cross_zone.enabled': 'true',
      'dns_record.client_routing_policy': 'availability_zone_affinity',
    },
  },
  {
    key: A.loadBalancerAttributes,
    value: 'access_logs.s3.enabled=true,access_logs.s3.bucket=shop-logs',
    with: { [A.sslCert]: CERT },
    pick: (s) => s.loadBalancerAttributes['access_logs.s3.bucket'],
    expected: 'shop-logs',
  },
  {
    key: A.targetNodeLabels,
    value: 'node-role.example.com/edge=true, spot',
    pick: (s) => s.targetNodeLabels,
    expected: { 'node-role.example.com/edge': 'true', spot: undefined },
  },
];

describe('awsSettings: each annotation, valid value and removal', () => {
  for (const row of VALID) {
    it(`${row.key.replace(AWS_ANNOTATION_PREFIX, '')}: ${row.value}`, () => {
      const { settings, problems } = settingsOf({ ...row.with, [row.key]: row.value }, row.overrides);
      assert.deepEqual(
        problems.map((p) => [p.reason, p.field]),
        row.warnings ?? [],
        JSON.stringify(problems, null, 1),
      );
      assert.ok(problems.every((p) => p.severity === 'warning'));
      assert.deepEqual(row.pick(settings), row.expected);
      // Removed: the setting is back at its default, whatever else stays.
      const removed = settingsOf({ ...row.with }, row.overrides).settings;
      assert.notDeepEqual(row.pick(removed), row.expected);
      // A blank value means "not set".
      assert.deepEqual(
        row.pick(settingsOf({ ...row.with, [row.key]: '  ' }, row.overrides).settings),
        row.pick(removed),
      );
    });
  }

  it('removing every annotation at once returns every setting to its default', () => {
    const everything = Object.assign({}, ...VALID.map((row) => ({ ...row.with, [row.key]: row.value })));
    const annotated = settingsOf(everything, { ports: [HTTP, HTTPS] }).settings;
    assert.notDeepEqual(annotated, BASELINE.settings);
    assert.deepEqual(settingsOf({}).settings, BASELINE.settings);
  });
});

/** One invalid value per annotation: exactly one problem, on that key, saying what to write instead. */
const INVALID: Array<{
  key: string;
  value: string;
  with?: Record<string, string>;
  overrides?: Partial<LoadBalancerIntent>;
  reason?: ProblemReason;
  mentions: string[];
}> = [
  { key: A.scheme, value: 'public', mentions: ['"public"', '"internet-facing"', '"internal"'] },
  { key: A.type, value: 'clb', mentions: ['"clb"', '"external"', 'Classic'] },
  { key: A.type, value: 'alb', mentions: ['"alb"', 'Network Load Balancer'] },
  { key: A.nlbTargetType, value: 'pod', mentions: ['"pod"', '"instance"', '"ip"'] },
  { key: A.name, value: '-web', mentions: ['hyphen'] },
  { key: A.name, value: 'web_lb', mentions: ['letters, digits and hyphens'] },
  { key: A.name, value: 'internal-web', mentions: ['"internal-"'] },
  { key: A.name, value: 'a'.repeat(33), mentions: ['33 characters', 'at most 32'] },
  { key: A.ipAddressType, value: 'ipv6', mentions: ['"ipv6"', '"dualstack"'] },
  { key: A.eipAllocations, value: 'eip-123', mentions: ['"eip-123"', 'eipalloc-'] },
  { key: A.eipAllocations, value: 'eipalloc-12345678,eipalloc-12345678', mentions: ['more than once'] },
  {
    key: A.privateIPv4Addresses,
    value: '10.0.0',
    with: { [A.scheme]: 'internal' },
    mentions: ['"10.0.0"', 'IPv4'],
  },
  {
    key: A.privateIPv4Addresses,
    value: 'fd00::1',
    with: { [A.scheme]: 'internal' },
    mentions: ['"fd00::1"', 'IPv4'],
  },
  { key: A.sslCert, value: 'my-cert', mentions: ['"my-cert"', 'certificate ARN', 'arn:aws:acm:'] },
  { key: A.sslCert, value: 'arn:aws:s3:::bucket', mentions: ['certificate ARN'] },
  {
    key: A.sslPorts,
    value: '8443',
    with: { [A.sslCert]: CERT },
    mentions: ['"8443"', 'neither a port number nor a port name', '80/TCP "http"'],
  },
  {
    key: A.sslPorts,
    value: 'dns',
    with: { [A.sslCert]: CERT },
    overrides: { ports: [HTTP, DNS] },
    mentions: ['dns is UDP', 'TCP ports only'],
  },
  { key: A.sslPorts, value: '443', mentions: ['aws-load-balancer-ssl-cert'] },
  {
    key: A.sslNegotiationPolicy,
    value: 'my-policy',
    with: { [A.sslCert]: CERT },
    mentions: ['"my-policy"', 'ELBSecurityPolicy-'],
  },
  {
    key: A.sslNegotiationPolicy,
    value: 'ELBSecurityPolicy-2016-08',
    mentions: ['aws-load-balancer-ssl-cert'],
  },
  { key: A.backendProtocol, value: 'grpc', mentions: ['"grpc"', '"ssl"', '"tcp"'] },
  {
    key: A.backendProtocol,
    value: 'http',
    reason: 'Unsupported',
    mentions: ['layer-7', 'Application Load Balancer', '"tcp"'],
  },
  {
    key: A.backendProtocol,
    value: 'HTTPS',
    with: { [A.sslCert]: CERT },
    reason: 'Unsupported',
    mentions: ['layer-7'],
  },
  { key: A.backendProtocol, value: 'ssl', mentions: ['no', 'aws-load-balancer-ssl-cert', '"tcp"'] },
  { key: A.alpnPolicy, value: 'h2', with: { [A.sslCert]: CERT }, mentions: ['"h2"', '"HTTP2Preferred"'] },
  { key: A.alpnPolicy, value: 'HTTP2Only', mentions: ['aws-load-balancer-ssl-cert'] },
  { key: A.proxyProtocol, value: 'true', mentions: ['"true"', '"*"', 'remove the annotation'] },
  { key: A.accessLogEnabled, value: 'yes', mentions: ['"yes"', '"true"', '"false"'] },
  {
    key: A.accessLogEnabled,
    value: 'true',
    with: { [A.sslCert]: CERT },
    mentions: ['S3 bucket', 'aws-load-balancer-access-log-s3-bucket-name'],
  },
  {
    key: A.accessLogBucket,
    value: 'My_Bucket',
    with: { [A.accessLogEnabled]: 'true', [A.sslCert]: CERT },
    mentions: ['"My_Bucket"', 'S3 bucket name'],
  },
  {
    key: A.accessLogPrefix,
    value: 'logs/AWSLogs',
    with: { [A.accessLogEnabled]: 'true', [A.accessLogBucket]: 'shop-logs', [A.sslCert]: CERT },
    mentions: ['"AWSLogs"'],
  },
  { key: A.connectionDrainingEnabled, value: 'on', mentions: ['"on"', '"true"'] },
  {
    key: A.connectionDrainingTimeout,
    value: '4000',
    mentions: ['"4000"', '0 to 3600 seconds'],
  },
  { key: A.connectionIdleTimeout, value: '30', mentions: ['"30"', '60 to 6000 seconds'] },
  { key: A.connectionIdleTimeout, value: '1m', mentions: ['"1m"', 'whole number'] },
  { key: A.crossZone, value: 'maybe', mentions: ['"maybe"'] },
  { key: A.additionalResourceTags, value: 'aws:owner=me', mentions: ['"aws:"', 'reserved'] },
  { key: A.additionalResourceTags, value: 'sluice.dev/cluster=other', mentions: ['ownership'] },
  { key: A.additionalResourceTags, value: 'sluice.dev/additional-tag-keys=x', mentions: ['ownership'] },
  { key: A.additionalResourceTags, value: 'kubernetes.io/cluster/other=owned', mentions: ['ownership'] },
  { key: A.additionalResourceTags, value: 'bad*key=x', mentions: ['"bad*key"', 'tag key'] },
  { key: A.additionalResourceTags, value: 'team=web,team=shop', mentions: ['"team"', 'twice'] },
  { key: A.additionalResourceTags, value: '=orphan', mentions: ['needs a key'] },
  { key: A.additionalResourceTags, value: `k=${'v'.repeat(257)}`, mentions: ['value of tag "k"'] },
  { key: A.healthCheckHealthyThreshold, value: '1', mentions: ['"1"', '2 to 10'] },
  { key: A.healthCheckUnhealthyThreshold, value: '11', mentions: ['"11"', '2 to 10'] },
  { key: A.healthCheckInterval, value: '4', mentions: ['"4"', '5 to 300 seconds'] },
  { key: A.healthCheckTimeout, value: '121', mentions: ['"121"', '2 to 120 seconds'] },
  { key: A.healthCheckTimeout, value: '5.5', mentions: ['whole number'] },
  { key: A.healthCheckProtocol, value: 'UDP', mentions: ['"UDP"', '"TCP", "HTTP" or "HTTPS"'] },
  { key: A.healthCheckPort, value: '99999', mentions: ['99999', '1-65535'] },
  { key: A.healthCheckPort, value: 'metrics', mentions: ['"metrics"', 'traffic-port', '80/TCP "http"'] },
  {
    key: A.healthCheckPath,
    value: 'healthz',
    with: { [A.healthCheckProtocol]: 'HTTP' },
    mentions: ['"healthz"', 'start with "/"'],
  },
  {
    key: A.healthCheckSuccessCodes,
    value: '100',
    with: { [A.healthCheckProtocol]: 'HTTP' },
    mentions: ['"100"', '200 to 599'],
  },
  {
    key: A.healthCheckSuccessCodes,
    value: '200-600',
    with: { [A.healthCheckProtocol]: 'HTTP' },
    mentions: ['200 to 599'],
  },
  {
    key: A.healthCheckSuccessCodes,
    value: '299-200',
    with: { [A.healthCheckProtocol]: 'HTTP' },
    mentions: ['"299-200"'],
  },
  {
    key: A.securityGroups,
    value: 'sg-1,sg-2,sg-3,sg-4,sg-5,sg-6',
    mentions: ['at most 5 security groups', 'give it 6'],
  },
  {
    key: A.extraSecurityGroups,
    value: 'sg-1,sg-2,sg-3,sg-4,sg-5',
    mentions: ['at most 5', 'give it 6', 'the one Sluice manages'],
  },
  {
    key: A.targetGroupAttributes,
    value: 'load_balancing.algorithm.type=least_outstanding_requests',
    mentions: ['unknown attribute "load_balancing.algorithm.type"', 'proxy_protocol_v2.enabled'],
  },
  {
    key: A.targetGroupAttributes,
    value: 'stickiness.type=lb_cookie',
    mentions: ['stickiness.type', '"source_ip"'],
  },
  {
    key: A.targetGroupAttributes,
    value: 'deregistration_delay.timeout_seconds=-1',
    mentions: ['deregistration_delay.timeout_seconds', '0 to 3600'],
  },
  { key: A.targetGroupAttributes, value: 'proxy_protocol_v2.enabled', mentions: ['not key=value'] },
  {
    key: A.targetGroupAttributes,
    value: 'stickiness.enabled=true,stickiness.enabled=false',
    mentions: ['given twice'],
  },
  {
    key: A.loadBalancerAttributes,
    value: 'idle_timeout.timeout_seconds=60',
    mentions: ['unknown attribute "idle_timeout.timeout_seconds"', 'deletion_protection.enabled'],
  },
  {
    key: A.loadBalancerAttributes,
    value: 'dns_record.client_routing_policy=nearest',
    mentions: ['"nearest"', '"availability_zone_affinity"'],
  },
  {
    key: A.loadBalancerAttributes,
    value: 'access_logs.s3.enabled=true',
    with: { [A.sslCert]: CERT },
    mentions: ['S3 bucket'],
  },
  { key: A.targetNodeLabels, value: 'Bad Key=x', mentions: ['label key "Bad Key"'] },
  { key: A.targetNodeLabels, value: 'role=-edge', mentions: ['label value "-edge"'] },
  { key: A.targetNodeLabels, value: 'role=edge,role=core', mentions: ['"role"', 'twice'] },
];

describe('awsSettings: each annotation, invalid value', () => {
  for (const row of INVALID) {
    it(`${row.key.replace(AWS_ANNOTATION_PREFIX, '')}: ${row.value.slice(0, 60)}`, () => {
      const { problems } = settingsOf({ ...row.with, [row.key]: row.value }, row.overrides);
      assertOnly(problems, { reason: row.reason ?? 'InvalidAnnotation', field: row.key }, row.mentions);
    });
  }
});

describe('awsSettings: kind of load balancer', () => {
  it('without a type, builds an NLB and says a Classic ELB would have been built by the legacy provider', () => {
    const { settings, problems } = awsSettings(intentWith({}, { annotations: {} }));
    assertOnly(problems, { reason: 'EquivalentSetting', field: A.type, severity: 'warning' }, [
      'Classic ELB',
      'Network Load Balancer',
    ]);
    assert.equal(settings.targetType, 'instance');
  });

  for (const type of ['nlb', 'external']) {
    it(`type ${type} builds an NLB with instance targets, silently`, () => {
      const { settings, problems } = settingsOf({ [A.type]: type });
      assert.deepEqual(problems, []);
      assert.equal(settings.targetType, 'instance');
    });
  }

  it('type nlb-ip means ip targets, and is deprecated', () => {
    const { settings, problems } = settingsOf({ [A.type]: 'nlb-ip' });
    assertOnly(problems, { reason: 'DeprecatedAnnotation', field: A.type, severity: 'warning' }, [
      '"external"',
      'aws-load-balancer-nlb-target-type',
    ]);
    assert.equal(settings.targetType, 'ip');
  });

  it('type nlb-ip with nlb-target-type instance: ip wins, with a warning', () => {
    const { settings, problems } = settingsOf({ [A.type]: 'nlb-ip', [A.nlbTargetType]: 'instance' });
    assert.equal(settings.targetType, 'ip');
    assertOne(problems, {
      reason: 'ConflictingAnnotations',
      field: `${A.type},${A.nlbTargetType}`,
      severity: 'warning',
    });
  });
});

describe('awsSettings: scheme', () => {
  it('the internal annotation is internal for any value but "false", like the legacy provider', () => {
    for (const value of ['true', 'yes', '0.0.0.0/0', 'internal']) {
      assert.equal(settingsOf({ [A.internal]: value }).settings.scheme, 'internal', value);
    }
    for (const value of ['false', 'False', ' false ', '']) {
      const { settings, problems } = settingsOf({ [A.internal]: value });
      assert.equal(settings.scheme, 'internet-facing', value);
      assert.deepEqual(problems, []);
    }
  });

  it('the scheme annotation wins over the internal one, with a warning when they disagree', () => {
    const { settings, problems } = settingsOf({ [A.scheme]: 'internet-facing', [A.internal]: 'true' });
    assert.equal(settings.scheme, 'internet-facing');
    assertOnly(
      problems,
      { reason: 'ConflictingAnnotations', field: `${A.scheme},${A.internal}`, severity: 'warning' },
      ['internet-facing'],
    );
    assert.deepEqual(settingsOf({ [A.scheme]: 'internal', [A.internal]: 'true' }).problems, []);
  });

  it('sluice.dev/internal alone makes it internal', () => {
    const { settings, problems } = settingsOf({ [SLUICE.internal]: 'true' }, { internal: true });
    assert.equal(settings.scheme, 'internal');
    assert.deepEqual(problems, []);
  });

  it('a native key disagreeing with sluice.dev/internal wins, with a warning naming both', () => {
    const { settings, problems } = settingsOf(
      { [A.scheme]: 'internet-facing', [SLUICE.internal]: 'true' },
      { internal: true },
    );
    assert.equal(settings.scheme, 'internet-facing');
    assertOnly(
      problems,
      { reason: 'ConflictingAnnotations', field: `${A.scheme},${SLUICE.internal}`, severity: 'warning' },
      ['internet-facing'],
    );
    const viaInternal = settingsOf({ [A.internal]: 'false', [SLUICE.internal]: 'true' }, { internal: true });
    assert.equal(viaInternal.settings.scheme, 'internet-facing');
    assertOne(viaInternal.problems, {
      reason: 'ConflictingAnnotations',
      field: `${A.internal},${SLUICE.internal}`,
      severity: 'warning',
    });
  });

  it('Elastic IPs need internet-facing, private addresses need internal', () => {
    assertOnly(
      settingsOf({ [A.scheme]: 'internal', [A.eipAllocations]: 'eipalloc-12345678' }).problems,
      { reason: 'InvalidAnnotation', field: A.eipAllocations },
      ['internet-facing', 'aws-load-balancer-private-ipv4-addresses'],
    );
    assertOnly(
      settingsOf({ [A.privateIPv4Addresses]: '10.0.1.10' }).problems,
      { reason: 'InvalidAnnotation', field: A.privateIPv4Addresses },
      ['internal', 'aws-load-balancer-eip-allocations'],
    );
  });
});

describe('awsSettings: address type and source ranges', () => {
  it('dual-stack opens ::/0 too when no source ranges are given; given ranges are kept as they are', () => {
    assert.deepEqual(settingsOf({ [A.ipAddressType]: 'dualstack' }).settings.sourceRanges, [
      '0.0.0.0/0',
      '::/0',
    ]);
    const ranges = ['203.0.113.0/24', '2001:db8::/32'];
    const given = settingsOf(
      { [A.ipAddressType]: 'dualstack' },
      { sourceRanges: ranges, sourceRangesField: SOURCE_RANGES_LEGACY },
    );
    assert.deepEqual(given.settings.sourceRanges, ranges);
    assert.deepEqual(given.problems, []);
  });

  it('ip targets of an IPv6-only Service need a dual-stack load balancer', () => {
    const ipv6 = { ipFamilies: ['IPv6' as const] };
    assertOnly(
      settingsOf({ [A.nlbTargetType]: 'ip' }, ipv6).problems,
      {
        reason: 'Unsupported',
        field: A.ipAddressType,
      },
      ['"dualstack"'],
    );
    assert.deepEqual(
      settingsOf({ [A.nlbTargetType]: 'ip', [A.ipAddressType]: 'dualstack' }, ipv6).problems,
      [],
    );
  });
});

describe('awsSettings: TLS', () => {
  const portableTls = (ports: PortIntent[], policy?: string): PortIntent[] =>
    ports.map((p) => ({ ...p, tls: { certificates: [CERT], ...(policy ? { policy } : {}) } }));

  it('the portable sluice.dev/tls-* keys give the same TLS listeners', () => {
    const { settings, problems } = settingsOf(
      {
        [SLUICE.tlsCertificate]: CERT,
        [SLUICE.tlsPorts]: 'https',
        [SLUICE.tlsPolicy]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      },
      {
        ports: [
          HTTP,
          { ...HTTPS, tls: { certificates: [CERT], policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' } },
        ],
      },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.tls, {
      certificates: [CERT],
      ports: [443],
      policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      backendTls: false,
    });
  });

  it('portable TLS without tls-ports leaves UDP ports plain; naming a UDP port is an error', () => {
    const all = settingsOf({ [SLUICE.tlsCertificate]: CERT }, { ports: portableTls([HTTP, DNS]) });
    assert.deepEqual(all.problems, []);
    assert.deepEqual(all.settings.tls?.ports, [80]);
    const named = settingsOf(
      { [SLUICE.tlsCertificate]: CERT, [SLUICE.tlsPorts]: 'dns' },
      { ports: [HTTP, { ...DNS, tls: { certificates: [CERT] } }] },
    );
    assertOnly(named.problems, { reason: 'InvalidAnnotation', field: SLUICE.tlsPorts }, [
      'UDP',
      'TCP ports only',
    ]);
  });

  it('a portable certificate must be an ARN on AWS', () => {
    const { problems } = settingsOf(
      { [SLUICE.tlsCertificate]: 'web-tls' },
      {
        ports: [{ ...HTTP, tls: { certificates: ['web-tls'] } }],
      },
    );
    assertOnly(problems, { reason: 'InvalidAnnotation', field: SLUICE.tlsCertificate }, ['"web-tls"', 'ARN']);
  });

  it('native and portable keys that disagree: the native one wins, with a warning naming both', () => {
    const { settings, problems } = settingsOf(
      {
        [A.sslCert]: CERT2,
        [A.sslPorts]: '80',
        [A.sslNegotiationPolicy]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        [SLUICE.tlsCertificate]: CERT,
        [SLUICE.tlsPorts]: '443',
        [SLUICE.tlsPolicy]: 'ELBSecurityPolicy-2016-08',
      },
      { ports: [HTTP, ...portableTls([HTTPS], 'ELBSecurityPolicy-2016-08')] },
    );
    assert.deepEqual(settings.tls, {
      certificates: [CERT2],
      ports: [80],
      policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      backendTls: false,
    });
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['ConflictingAnnotations', `${A.sslCert},${SLUICE.tlsCertificate}`, 'warning'],
        ['ConflictingAnnotations', `${A.sslPorts},${SLUICE.tlsPorts}`, 'warning'],
        ['ConflictingAnnotations', `${A.sslNegotiationPolicy},${SLUICE.tlsPolicy}`, 'warning'],
      ],
    );
  });

  it('agreeing native and portable keys say nothing', () => {
    const { problems } = settingsOf(
      { [A.sslCert]: CERT, [SLUICE.tlsCertificate]: CERT, [A.sslPorts]: '443', [SLUICE.tlsPorts]: 'https' },
      { ports: [HTTP, ...portableTls([HTTPS])] },
    );
    assert.deepEqual(problems, []);
  });

  it('"*" in ssl-ports means every TCP port', () => {
    const { settings, problems } = settingsOf(
      { [A.sslCert]: CERT, [A.sslPorts]: '*' },
      { ports: [HTTP, HTTPS, DNS] },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.tls?.ports, [80, 443]);
  });

  it('a certificate on a Service with only UDP ports has nowhere to go', () => {
    const { problems } = settingsOf({ [A.sslCert]: CERT }, { ports: [DNS] });
    assertOne(problems, { reason: 'InvalidAnnotation', field: A.sslCert }, ['no TCP port']);
  });

  it('the certificates keep their order (the first is the default) and appear once', () => {
    const { settings } = settingsOf({ [A.sslCert]: `${CERT2},${CERT},${CERT2}` });
    assert.deepEqual(settings.tls?.certificates, [CERT2, CERT]);
  });
});

describe('awsSettings: target group attributes', () => {
  it('sluice.dev/proxy-protocol turns PROXY protocol on; the native key wins when they disagree', () => {
    const portable = settingsOf({ [SLUICE.proxyProtocol]: 'true' }, { proxyProtocol: true });
    assert.deepEqual(portable.problems, []);
    assert.equal(portable.settings.targetGroupAttributes['proxy_protocol_v2.enabled'], 'true');
    const conflict = settingsOf({ [A.proxyProtocol]: '*', [SLUICE.proxyProtocol]: 'false' });
    assert.equal(conflict.settings.targetGroupAttributes['proxy_protocol_v2.enabled'], 'true');
    assertOnly(conflict.problems, {
      reason: 'ConflictingAnnotations',
      field: `${A.proxyProtocol},${SLUICE.proxyProtocol}`,
      severity: 'warning',
    });
  });

  it('dedicated annotations win over the target-group-attributes map, with a warning when they disagree', () => {
    const { settings, problems } = settingsOf({
      [A.proxyProtocol]: '*',
      [A.connectionDrainingEnabled]: 'true',
      [A.connectionDrainingTimeout]: '30',
      [A.targetGroupAttributes]: 'proxy_protocol_v2.enabled=false,deregistration_delay.timeout_seconds=90',
    });
    assert.equal(settings.targetGroupAttributes['proxy_protocol_v2.enabled'], 'true');
    assert.equal(settings.targetGroupAttributes['deregistration_delay.timeout_seconds'], '30');
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['ConflictingAnnotations', `${A.proxyProtocol},${A.targetGroupAttributes}`, 'warning'],
        ['EquivalentSetting', A.connectionDrainingEnabled, 'warning'],
        ['ConflictingAnnotations', `${A.connectionDrainingEnabled},${A.targetGroupAttributes}`, 'warning'],
      ],
    );
    assert.deepEqual(
      settingsOf({ [A.proxyProtocol]: '*', [A.targetGroupAttributes]: 'proxy_protocol_v2.enabled=true' })
        .problems,
      [],
    );
  });

  it('connection draining maps to the deregistration delay and says so', () => {
    const { problems } = settingsOf({
      [A.connectionDrainingEnabled]: 'true',
      [A.connectionDrainingTimeout]: '45',
    });
    assertOnly(
      problems,
      { reason: 'EquivalentSetting', field: A.connectionDrainingEnabled, severity: 'warning' },
      ['deregistration delay', 'deregistration_delay.timeout_seconds=45'],
    );
  });

  it('connection draining enabled without a timeout: the Classic ELB default, 300 seconds', () => {
    const { settings, problems } = settingsOf({
      [A.connectionDrainingEnabled]: 'true',
      [A.targetGroupAttributes]: 'deregistration_delay.timeout_seconds=60',
    });
    assert.equal(settings.targetGroupAttributes['deregistration_delay.timeout_seconds'], '300');
    assertOne(
      problems,
      { reason: 'EquivalentSetting', field: A.connectionDrainingEnabled, severity: 'warning' },
      ['deregistration_delay.timeout_seconds=300'],
    );
  });

  it('a draining timeout without draining enabled is ignored, as on a Classic ELB', () => {
    for (const enabled of [{}, { [A.connectionDrainingEnabled]: 'false' }] as Array<Record<string, string>>) {
      const { settings, problems } = settingsOf({ ...enabled, [A.connectionDrainingTimeout]: '45' });
      assertOne(
        problems,
        { reason: 'EquivalentSetting', field: A.connectionDrainingTimeout, severity: 'warning' },
        ['ignored', '"true"'],
      );
      assert.notEqual(settings.targetGroupAttributes['deregistration_delay.timeout_seconds'], '45');
    }
  });

  it('sessionAffinity ClientIP makes the target groups sticky by source IP', () => {
    const { settings, problems } = settingsOf({}, { sessionAffinity: 'ClientIP' });
    assert.deepEqual(problems, []);
    assert.equal(settings.targetGroupAttributes['stickiness.enabled'], 'true');
    assert.equal(settings.targetGroupAttributes['stickiness.type'], 'source_ip');
  });

  it('sessionAffinity ClientIP wins over stickiness.enabled=false in the map, with a warning', () => {
    const { settings, problems } = settingsOf(
      { [A.targetGroupAttributes]: 'stickiness.enabled=false' },
      { sessionAffinity: 'ClientIP' },
    );
    assert.equal(settings.targetGroupAttributes['stickiness.enabled'], 'true');
    assertOnly(problems, {
      reason: 'ConflictingAnnotations',
      field: `spec.sessionAffinity,${A.targetGroupAttributes}`,
      severity: 'warning',
    });
  });

  it('sticky sessions cannot be had on TLS listeners with TLS target groups', () => {
    const annotations = { [A.sslCert]: CERT, [A.backendProtocol]: 'ssl' };
    assertOnly(
      settingsOf(annotations, { sessionAffinity: 'ClientIP' }).problems,
      {
        reason: 'Unsupported',
        field: 'spec.sessionAffinity',
      },
      ['"ssl"', '"tcp"'],
    );
    assertOnly(
      settingsOf({ ...annotations, [A.targetGroupAttributes]: 'stickiness.enabled=true' }).problems,
      { reason: 'Unsupported', field: A.targetGroupAttributes },
    );
    // Plain TCP to the Pods behind the TLS listeners: fine.
    assert.deepEqual(settingsOf({ [A.sslCert]: CERT }, { sessionAffinity: 'ClientIP' }).problems, []);
  });

  it('UDP target groups get their own AWS defaults: connection termination on, client IP preserved', () => {
    for (const targetType of ['instance', 'ip'] as const) {
      const { settings, problems } = settingsOf({ [A.nlbTargetType]: targetType }, { ports: [HTTP, DNS] });
      // (ip targets also get the warning about TCP health checks on UDP Pods' ports.)
      assert.deepEqual(
        problems.filter((p) => p.severity === 'error'),
        [],
      );
      assert.deepEqual(settings.udpTargetGroupAttributes, UDP_TARGET_GROUP_ATTRIBUTE_DEFAULTS[targetType]);
      assert.equal(
        settings.udpTargetGroupAttributes?.['deregistration_delay.connection_termination.enabled'],
        'true',
      );
      assert.equal(settings.udpTargetGroupAttributes?.['preserve_client_ip.enabled'], 'true');
      assert.deepEqual(
        targetGroupAttributesFor(settings, 'UDP'),
        UDP_TARGET_GROUP_ATTRIBUTE_DEFAULTS[targetType],
      );
      assert.deepEqual(
        targetGroupAttributesFor(settings, 'TCP'),
        TARGET_GROUP_ATTRIBUTE_DEFAULTS[targetType],
      );
    }
    assert.equal('udpTargetGroupAttributes' in BASELINE.settings, false);
  });

  it('what the annotations ask for applies to the UDP target groups too', () => {
    const { settings } = settingsOf(
      {
        [A.proxyProtocol]: '*',
        [A.targetGroupAttributes]:
          'deregistration_delay.connection_termination.enabled=false,deregistration_delay.timeout_seconds=30',
      },
      { ports: [HTTP, DNS] },
    );
    assert.deepEqual(settings.udpTargetGroupAttributes, {
      ...UDP_TARGET_GROUP_ATTRIBUTE_DEFAULTS.instance,
      'proxy_protocol_v2.enabled': 'true',
      'deregistration_delay.connection_termination.enabled': 'false',
      'deregistration_delay.timeout_seconds': '30',
    });
  });

  it('preserve_client_ip.enabled=false with UDP ports: the UDP target groups keep it on', () => {
    const { settings, problems } = settingsOf(
      { [A.targetGroupAttributes]: 'preserve_client_ip.enabled=false' },
      { ports: [HTTP, DNS] },
    );
    assertOne(
      problems,
      { reason: 'InvalidAnnotation', field: A.targetGroupAttributes, severity: 'warning' },
      ['UDP'],
    );
    assert.equal(targetGroupAttributesFor(settings, 'TCP')['preserve_client_ip.enabled'], 'false');
    assert.equal(targetGroupAttributesFor(settings, 'UDP')['preserve_client_ip.enabled'], 'true');
  });

  it('targetGroupAttributesFor drops stickiness.type on TLS target groups and leaves the settings alone', () => {
    const { settings } = settingsOf({}, { sessionAffinity: 'ClientIP' });
    const before = structuredClone(settings);
    const tls = targetGroupAttributesFor(settings, 'TLS');
    assert.equal('stickiness.type' in tls, false);
    assert.equal(tls['stickiness.enabled'], 'true');
    assert.deepEqual(targetGroupAttributesFor(settings, 'TCP'), settings.targetGroupAttributes);
    assert.deepEqual(settings, before);
  });
});

describe('awsSettings: load balancer attributes', () => {
  it('the cross-zone annotation wins over the attributes map, with a warning', () => {
    const { settings, problems } = settingsOf({
      [A.crossZone]: 'false',
      [A.loadBalancerAttributes]: 'load_balancing.cross_zone.enabled=true',
    });
    assert.equal(settings.loadBalancerAttributes['load_balancing.cross_zone.enabled'], 'false');
    assertOnly(problems, {
      reason: 'ConflictingAnnotations',
      field: `${A.crossZone},${A.loadBalancerAttributes}`,
      severity: 'warning',
    });
  });

  it('access-log annotations win over the attributes map', () => {
    const { settings, problems } = settingsOf({
      [A.sslCert]: CERT,
      [A.accessLogEnabled]: 'true',
      [A.accessLogBucket]: 'shop-logs',
      [A.loadBalancerAttributes]: 'access_logs.s3.enabled=true,access_logs.s3.bucket=other-logs',
    });
    assert.equal(settings.loadBalancerAttributes['access_logs.s3.bucket'], 'shop-logs');
    assertOnly(problems, {
      reason: 'ConflictingAnnotations',
      field: `${A.accessLogBucket},${A.loadBalancerAttributes}`,
      severity: 'warning',
    });
  });

  it('with access logs off, bucket and prefix stay out of the attributes (ELBv2 refuses an empty bucket)', () => {
    for (const enabled of [{}, { [A.accessLogEnabled]: 'false' }] as Array<Record<string, string>>) {
      const { settings, problems } = settingsOf({
        ...enabled,
        [A.accessLogBucket]: 'shop-logs',
        [A.accessLogPrefix]: 'web',
      });
      assert.deepEqual(settings.loadBalancerAttributes, LOAD_BALANCER_ATTRIBUTE_DEFAULTS);
      assertOnly(problems, { reason: 'InvalidAnnotation', field: A.accessLogBucket, severity: 'warning' }, [
        'ignored',
        'aws-load-balancer-access-log-enabled',
      ]);
    }
    const fromMap = settingsOf({
      [A.loadBalancerAttributes]:
        'access_logs.s3.enabled=false,access_logs.s3.bucket=shop-logs,access_logs.s3.prefix=web',
    });
    assert.deepEqual(fromMap.settings.loadBalancerAttributes, LOAD_BALANCER_ATTRIBUTE_DEFAULTS);
    assertOnly(
      fromMap.problems,
      { reason: 'InvalidAnnotation', field: A.loadBalancerAttributes, severity: 'warning' },
      ['ignored'],
    );
  });

  it('access logs on a load balancer without a TLS listener: a warning that the logs stay empty', () => {
    const { settings, problems } = settingsOf({
      [A.accessLogEnabled]: 'true',
      [A.accessLogBucket]: 'shop-logs',
    });
    assert.equal(settings.loadBalancerAttributes['access_logs.s3.enabled'], 'true');
    assertOnly(problems, { reason: 'Unsupported', field: A.accessLogEnabled, severity: 'warning' }, [
      'TLS',
      'empty',
    ]);
  });

  it('the Classic-only emit interval is reported, not applied', () => {
    const { settings, problems } = settingsOf({ [A.accessLogEmitInterval]: '60' });
    assertOnly(
      problems,
      { reason: 'EquivalentSetting', field: A.accessLogEmitInterval, severity: 'warning' },
      ['every 5 minutes'],
    );
    assert.deepEqual(settings, BASELINE.settings);
  });
});

describe('awsSettings: idle timeout', () => {
  it('sets TCP listeners only, and says so when TLS or UDP listeners exist', () => {
    const { settings, problems } = settingsOf(
      { [A.connectionIdleTimeout]: '900', [A.sslCert]: CERT, [A.sslPorts]: 'https' },
      { ports: [HTTP, HTTPS, DNS] },
    );
    assert.equal(settings.tcpListenerAttributes['tcp.idle_timeout.seconds'], '900');
    assertOnly(
      problems,
      { reason: 'EquivalentSetting', field: A.connectionIdleTimeout, severity: 'warning' },
      ['443 (TLS)', '53 (UDP)'],
    );
  });
});

describe('awsSettings: health check', () => {
  it('externalTrafficPolicy Local with instance targets: HTTP on healthCheckNodePort /healthz, 10/6/2/2', () => {
    const { settings, problems } = settingsOf({}, { trafficPolicy: 'Local', healthCheckNodePort: 32000 });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.healthCheck, {
      protocol: 'HTTP',
      port: 32000,
      path: '/healthz',
      intervalSeconds: 10,
      timeoutSeconds: 6,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      successCodes: '200-399',
    });
  });

  it('each field can be overridden on its own; an empty value means the default', () => {
    const local = { trafficPolicy: 'Local' as const, healthCheckNodePort: 32000 };
    const { settings, problems } = settingsOf(
      { [A.healthCheckPath]: '/livez', [A.healthCheckInterval]: '', [A.healthCheckHealthyThreshold]: '4' },
      local,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.healthCheck, {
      ...settingsOf({}, local).settings.healthCheck,
      path: '/livez',
      healthyThreshold: 4,
    });
  });

  it('UDP target groups of instance targets with the Cluster policy probe kube-proxy on port 10256', () => {
    const { settings, problems } = settingsOf({ [A.healthCheckInterval]: '30' }, { ports: [HTTP, DNS] });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.healthCheck, { ...BASELINE.settings.healthCheck, intervalSeconds: 30 });
    assert.deepEqual(udpHealthCheck(settings, 'Cluster'), {
      protocol: 'HTTP',
      port: KUBE_PROXY_HEALTH_PORT,
      path: '/healthz',
      intervalSeconds: 30,
      timeoutSeconds: 10,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
      successCodes: '200-399',
    });
    // An explicit traffic-port is rescued the same way.
    const explicit = settingsOf({ [A.healthCheckPort]: 'traffic-port' }, { ports: [DNS] });
    assert.deepEqual(explicit.problems, []);
    assert.equal(udpHealthCheck(explicit.settings, 'Cluster').port, KUBE_PROXY_HEALTH_PORT);
    // Anything else is the user's choice, or the Local policy's own check.
    const chosen = settingsOf({ [A.healthCheckPort]: '8053' }, { ports: [DNS] }).settings;
    assert.deepEqual(udpHealthCheck(chosen, 'Cluster'), chosen.healthCheck);
    const ip = settingsOf({ [A.nlbTargetType]: 'ip' }, { ports: [DNS] }).settings;
    assert.deepEqual(udpHealthCheck(ip, 'Cluster'), ip.healthCheck);
  });

  it('with the Local policy, a health check on the traffic port of a UDP NodePort always fails: an error', () => {
    const { problems } = settingsOf(
      { [A.healthCheckPort]: 'traffic-port' },
      { ports: [DNS], trafficPolicy: 'Local', healthCheckNodePort: 32000 },
    );
    assertOnly(problems, { reason: 'InvalidAnnotation', field: A.healthCheckPort }, [
      'UDP',
      'healthCheckNodePort',
    ]);
    const local = settingsOf({}, { ports: [DNS], trafficPolicy: 'Local', healthCheckNodePort: 32000 });
    assert.deepEqual(local.problems, []);
    assert.deepEqual(udpHealthCheck(local.settings, 'Local'), local.settings.healthCheck);
  });

  it('ip targets: TCP on the traffic port, with a warning for UDP ports', () => {
    const { settings, problems } = settingsOf({ [A.nlbTargetType]: 'ip' }, { ports: [DNS] });
    assert.equal(settings.healthCheck.protocol, 'TCP');
    assert.equal(settings.healthCheck.port, 'traffic-port');
    assertOnly(problems, { reason: 'InvalidAnnotation', field: A.healthCheckProtocol, severity: 'warning' }, [
      'also listen on TCP',
    ]);
  });

  it('path and success codes with a TCP check are ignored, with a warning', () => {
    const { settings, problems } = settingsOf({
      [A.healthCheckPath]: '/ready',
      [A.healthCheckSuccessCodes]: '200',
    });
    assert.deepEqual(settings.healthCheck, BASELINE.settings.healthCheck);
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['InvalidAnnotation', A.healthCheckPath, 'warning'],
        ['InvalidAnnotation', A.healthCheckSuccessCodes, 'warning'],
      ],
    );
  });

  it('a named Service port whose targetPort is a name cannot give ip targets a number', () => {
    const { problems } = settingsOf(
      { [A.nlbTargetType]: 'ip', [A.healthCheckPort]: 'http' },
      { ports: [{ ...HTTP, targetPort: 'web' }] },
    );
    assertOnly(problems, { reason: 'InvalidAnnotation', field: A.healthCheckPort }, ['"web"', 'port number']);
    const defaulted = settingsOf(
      { [A.nlbTargetType]: 'ip', [A.healthCheckPort]: 'http' },
      { ports: [{ ...HTTP, targetPort: undefined }] },
    );
    assert.equal(defaulted.settings.healthCheck.port, 80);
  });

  it('a named Service port without a nodePort cannot be checked on instance targets', () => {
    const { problems } = settingsOf(
      { [A.healthCheckPort]: 'http' },
      { ports: [{ ...HTTP, nodePort: undefined }] },
    );
    assertOne(problems, { reason: 'InvalidAnnotation', field: A.healthCheckPort }, [
      'no nodePort',
      'port number',
    ]);
  });

  it('a TCP check on healthCheckNodePort with externalTrafficPolicy Local passes everywhere: a warning', () => {
    const { problems } = settingsOf(
      { [A.healthCheckProtocol]: 'tcp' },
      { trafficPolicy: 'Local', healthCheckNodePort: 32000 },
    );
    assertOnly(problems, { reason: 'InvalidAnnotation', field: A.healthCheckProtocol, severity: 'warning' }, [
      '32000',
      'every node',
    ]);
  });

  it('PROXY protocol with an HTTP check on kube-proxy: a warning with the fix', () => {
    const { problems } = settingsOf(
      { [A.proxyProtocol]: '*' },
      { trafficPolicy: 'Local', healthCheckNodePort: 32000 },
    );
    assertOnly(problems, { reason: 'InvalidAnnotation', field: A.proxyProtocol, severity: 'warning' }, [
      'PROXY protocol',
      'aws-load-balancer-healthcheck-protocol: "TCP"',
    ]);
    const fixed = settingsOf(
      { [A.proxyProtocol]: '*', [A.healthCheckProtocol]: 'TCP', [A.healthCheckPort]: 'traffic-port' },
      { trafficPolicy: 'Local', healthCheckNodePort: 32000 },
    );
    assert.deepEqual(fixed.problems, []);
  });
});

describe('awsSettings: security groups, tags, node labels', () => {
  it('your own security groups with source ranges: a reminder that Sluice does not change them', () => {
    const { settings, problems } = settingsOf(
      { [A.securityGroups]: 'sg-0123456789abcdef0' },
      { sourceRanges: ['203.0.113.0/24'], sourceRangesField: 'spec.loadBalancerSourceRanges' },
    );
    assert.deepEqual(settings.securityGroups, ['sg-0123456789abcdef0']);
    assertOnly(
      problems,
      { reason: 'InvalidAnnotation', field: 'spec.loadBalancerSourceRanges', severity: 'warning' },
      ['203.0.113.0/24'],
    );
  });

  it('an extra group that is also a frontend group counts once', () => {
    const { settings, problems } = settingsOf({
      [A.securityGroups]: 'sg-1,sg-2,sg-3,sg-4',
      [A.extraSecurityGroups]: 'sg-4,sg-5',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.extraSecurityGroups, ['sg-5']);
  });

  it(`at most ${MAX_ADDITIONAL_TAGS} additional tags, and their keys must fit Sluice's record of them`, () => {
    const many = Array.from({ length: MAX_ADDITIONAL_TAGS + 1 }, (_, i) => `k${i}=v`).join(',');
    assertOnly(
      settingsOf({ [A.additionalResourceTags]: many }).problems,
      {
        reason: 'InvalidAnnotation',
        field: A.additionalResourceTags,
      },
      [`${MAX_ADDITIONAL_TAGS + 1} tags`],
    );
    const fits = Array.from({ length: MAX_ADDITIONAL_TAGS }, (_, i) => `k${i}=v`).join(',');
    assert.deepEqual(settingsOf({ [A.additionalResourceTags]: fits }).problems, []);
    const long = Array.from({ length: 3 }, (_, i) => `${String(i).repeat(100)}=v`).join(',');
    assertOnly(
      settingsOf({ [A.additionalResourceTags]: long }).problems,
      {
        reason: 'InvalidAnnotation',
        field: A.additionalResourceTags,
      },
      ['at most 256'],
    );
  });

  it('target node labels do not apply to ip targets', () => {
    const { problems } = settingsOf({ [A.nlbTargetType]: 'ip', [A.targetNodeLabels]: 'role=edge' });
    assertOnly(problems, { reason: 'InvalidAnnotation', field: A.targetNodeLabels, severity: 'warning' }, [
      'ignored',
      'instance targets',
    ]);
  });
});

describe('awsSettings: what a Network Load Balancer cannot do', () => {
  it('requested addresses point to the Elastic IP and private-address annotations', () => {
    for (const [annotations, field] of [
      [{}, 'spec.loadBalancerIP'],
      [{ [SLUICE.addresses]: '203.0.113.10' }, SLUICE.addresses],
      [{ [METALLB.loadBalancerIPs]: '203.0.113.10' }, METALLB.loadBalancerIPs],
      [{ 'metallb.universe.tf/loadBalancerIPs': '203.0.113.10' }, 'metallb.universe.tf/loadBalancerIPs'],
    ] as const) {
      const { problems } = settingsOf(annotations, { requestedAddresses: ['203.0.113.10'] });
      assertOnly(problems, { reason: 'Unsupported', field }, [
        'aws-load-balancer-eip-allocations',
        'aws-load-balancer-private-ipv4-addresses',
      ]);
    }
  });

  it('address pools and address sharing are refused', () => {
    assertOnly(settingsOf({ [SLUICE.pool]: 'public' }, { requestedPool: 'public' }).problems, {
      reason: 'Unsupported',
      field: SLUICE.pool,
    });
    assertOnly(
      settingsOf(
        { [METALLB.allowSharedIP]: 'web' },
        { sharing: { key: 'web', crossNamespace: [], backendKey: '' } },
      ).problems,
      { reason: 'Unsupported', field: METALLB.allowSharedIP },
      ['own'],
    );
  });

  it('the same port number for TCP and UDP needs a TCP_UDP listener, which Sluice does not build', () => {
    const { problems } = settingsOf({}, { ports: [{ ...DNS, protocol: 'TCP', nodePort: 30054 }, DNS] });
    assertOne(problems, { reason: 'Unsupported', field: 'spec.ports[1]' }, ['53', 'TCP_UDP']);
  });

  it('instance targets need NodePorts: without them, the error suggests ip targets', () => {
    const noNodePort = { ports: [{ ...HTTP, nodePort: undefined }] };
    assertOnly(settingsOf({}, noNodePort).problems, { reason: 'Unsupported', field: 'spec.ports[0]' }, [
      'allocateLoadBalancerNodePorts',
      'aws-load-balancer-nlb-target-type: "ip"',
    ]);
    assert.deepEqual(settingsOf({ [A.nlbTargetType]: 'ip' }, noNodePort).problems, []);
  });

  it('externalTrafficPolicy Local with instance targets needs healthCheckNodePort', () => {
    assertOnly(settingsOf({}, { trafficPolicy: 'Local' }).problems, {
      reason: 'InvalidSpec',
      field: 'spec.healthCheckNodePort',
    });
    assert.deepEqual(settingsOf({ [A.nlbTargetType]: 'ip' }, { trafficPolicy: 'Local' }).problems, []);
  });

  it('an aws-load-balancer-* key Sluice does not implement is reported, not silently ignored', () => {
    const key = `${AWS_ANNOTATION_PREFIX}listener-attributes.TCP-80`;
    assertOnly(settingsOf({ [key]: 'tcp.idle_timeout.seconds=400' }).problems, {
      reason: 'Unsupported',
      field: key,
      severity: 'warning',
    });
    // Other clouds' and other tools' keys are none of its business.
    assert.deepEqual(
      settingsOf({ 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' }).problems,
      [],
    );
  });
});

describe('awsSettings: bad input never crashes', () => {
  const odd = [
    '',
    ' ',
    '=',
    ',,,',
    '*',
    'a=b=c',
    '\u0000',
    '💥',
    'x'.repeat(5000),
    '-1',
    '1e3',
    'true,false',
  ];
  it('every key with odd values gives problems with a field and a message, never an exception', () => {
    for (const key of Object.values(A)) {
      for (const value of odd) {
        const { settings, problems } = settingsOf({ [key]: value }, { ports: [HTTP, HTTPS, DNS] });
        assert.ok(settings.scheme === 'internal' || settings.scheme === 'internet-facing');
        for (const p of problems) {
          assert.ok(p.field.length > 0 && p.message.length > 0, JSON.stringify(p));
        }
      }
    }
  });
});

describe('awsSettings: a manifest from the Kubernetes docs, through decide()', () => {
  it('keeps every setting, builds the NLB equivalent of the Classic ones, and says so', () => {
    const service: V1Service = {
      metadata: {
        namespace: 'shop',
        name: 'web',
        uid: 'uid-1',
        annotations: {
          [A.sslCert]: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
          [A.backendProtocol]: 'ssl',
          [A.sslPorts]: '443,8443',
          [A.sslNegotiationPolicy]: 'ELBSecurityPolicy-TLS-1-2-2017-01',
          [A.proxyProtocol]: '*',
          [A.accessLogEmitInterval]: '60',
          [A.accessLogEnabled]: 'true',
          [A.accessLogBucket]: 'my-bucket',
          [A.accessLogPrefix]: 'my-bucket-prefix/prod',
          [A.connectionDrainingEnabled]: 'true',
          [A.connectionDrainingTimeout]: '60',
          [A.connectionIdleTimeout]: '60',
          [A.crossZone]: 'true',
          [A.additionalResourceTags]: 'environment=prod,owner=devops',
          [A.healthCheckHealthyThreshold]: '',
          [A.healthCheckUnhealthyThreshold]: '3',
          [A.healthCheckInterval]: '20',
          [A.healthCheckTimeout]: '5',
          [A.securityGroups]: 'sg-53fae93f',
          [A.extraSecurityGroups]: 'sg-53fae93f,sg-42efd82e',
          [A.targetNodeLabels]: 'ingress-gw,gw-name=public-api',
          [A.subnets]: 'private-a,private-b',
          [A.internal]: 'true',
        },
      },
      spec: {
        type: 'LoadBalancer',
        ports: [
          { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443, targetPort: 8443 },
          { name: 'admin', port: 8443, protocol: 'TCP', nodePort: 30844, targetPort: 9443 },
        ],
      },
    };
    const decision = decide(service);
    assert.deepEqual(decision.problems, []);
    const { settings, problems } = awsSettings(decision.intent);
    assert.deepEqual(settings, {
      scheme: 'internal',
      targetType: 'instance',
      ipAddressType: 'ipv4',
      subnets: ['private-a', 'private-b'],
      tls: {
        certificates: ['arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012'],
        ports: [443, 8443],
        policy: 'ELBSecurityPolicy-TLS-1-2-2017-01',
        backendTls: true,
      },
      loadBalancerAttributes: {
        'access_logs.s3.enabled': 'true',
        'access_logs.s3.bucket': 'my-bucket',
        'access_logs.s3.prefix': 'my-bucket-prefix/prod',
        'deletion_protection.enabled': 'false',
        'load_balancing.cross_zone.enabled': 'true',
        'dns_record.client_routing_policy': 'any_availability_zone',
      },
      targetGroupAttributes: {
        'proxy_protocol_v2.enabled': 'true',
        'deregistration_delay.timeout_seconds': '60',
        'deregistration_delay.connection_termination.enabled': 'false',
        'preserve_client_ip.enabled': 'true',
        'stickiness.enabled': 'false',
        'stickiness.type': 'source_ip',
      },
      tcpListenerAttributes: { 'tcp.idle_timeout.seconds': '60' },
      healthCheck: {
        protocol: 'TCP',
        port: 'traffic-port',
        intervalSeconds: 20,
        timeoutSeconds: 5,
        healthyThreshold: 3,
        unhealthyThreshold: 3,
      },
      securityGroups: ['sg-53fae93f'],
      extraSecurityGroups: ['sg-42efd82e'],
      additionalTags: { environment: 'prod', owner: 'devops' },
      targetNodeLabels: { 'ingress-gw': undefined, 'gw-name': 'public-api' },
      sourceRanges: ['0.0.0.0/0'],
    });
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['EquivalentSetting', A.type, 'warning'],
        ['EquivalentSetting', A.connectionDrainingEnabled, 'warning'],
        ['EquivalentSetting', A.accessLogEmitInterval, 'warning'],
        ['EquivalentSetting', A.connectionIdleTimeout, 'warning'],
      ],
    );
  });
});
