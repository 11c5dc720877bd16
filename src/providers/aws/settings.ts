// A Service's AWS annotations → AwsSettings + problems. Pure: no I/O, no clock.
//
// Reads the native keys (service.beta.kubernetes.io/aws-load-balancer-*, as the legacy AWS cloud provider and the
// AWS Load Balancer Controller document them) and the portable sluice.dev/* keys decide() already put into the
// intent. Every value is validated (a bad one is a Problem naming its key, with what to write instead) and every
// default is filled in: the attribute maps always hold every key Sluice manages, so removing an annotation puts
// the setting back to AWS's default instead of leaving the last value in place.
//
// A blank annotation value counts as not set (templated manifests often render empty values).

import {
  bareMetalRequestKey,
  METALLB,
  METALLB_DEPRECATED_PREFIX,
  METALLB_PREFIX,
  parseBoolean,
  SLUICE,
  SOURCE_RANGES_LEGACY,
  splitList,
} from '../../intent/annotations.ts';
import { canonicalAddress } from '../../intent/decide.ts';
import type { LoadBalancerIntent, PortIntent, Problem, ProblemReason } from '../../intent/types.ts';
// label-selector.ts is a pure validator (no Kubernetes plumbing), as the pool provider uses it too.
import { labelKeyProblem, labelValueProblem } from '../../kube/label-selector.ts';
import {
  type AwsSettings,
  type HealthCheckProtocol,
  type HealthCheckSpec,
  type IpAddressType,
  kubernetesClusterTag,
  type NlbProtocol,
  type Scheme,
  TAG,
  type TargetType,
} from './model.ts';

/** Every native key Sluice reads starts with this. */
export const AWS_ANNOTATION_PREFIX = 'service.beta.kubernetes.io/aws-load-balancer-';

/** The native annotation keys Sluice reads (besides SOURCE_RANGES_LEGACY, which decide() reads). */
export const AWS_ANNOTATIONS = {
  type: 'service.beta.kubernetes.io/aws-load-balancer-type',
  nlbTargetType: 'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type',
  internal: 'service.beta.kubernetes.io/aws-load-balancer-internal',
  scheme: 'service.beta.kubernetes.io/aws-load-balancer-scheme',
  name: 'service.beta.kubernetes.io/aws-load-balancer-name',
  subnets: 'service.beta.kubernetes.io/aws-load-balancer-subnets',
  ipAddressType: 'service.beta.kubernetes.io/aws-load-balancer-ip-address-type',
  eipAllocations: 'service.beta.kubernetes.io/aws-load-balancer-eip-allocations',
  privateIPv4Addresses: 'service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses',
  sslCert: 'service.beta.kubernetes.io/aws-load-balancer-ssl-cert',
  sslPorts: 'service.beta.kubernetes.io/aws-load-balancer-ssl-ports',
  sslNegotiationPolicy: 'service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy',
  backendProtocol: 'service.beta.kubernetes.io/aws-load-balancer-backend-protocol',
  alpnPolicy: 'service.beta.kubernetes.io/aws-load-balancer-alpn-policy',
  proxyProtocol: 'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol',
  accessLogEnabled: 'service.beta.kubernetes.io/aws-load-balancer-access-log-enabled',
  accessLogBucket: 'service.beta.kubernetes.io/aws-load-balancer-access-log-s3-bucket-name',
  accessLogPrefix: 'service.beta.kubernetes.io/aws-load-balancer-access-log-s3-bucket-prefix',
  accessLogEmitInterval: 'service.beta.kubernetes.io/aws-load-balancer-access-log-emit-interval',
  connectionDrainingEnabled: 'service.beta.kubernetes.io/aws-load-balancer-connection-draining-enabled',
  connectionDrainingTimeout: 'service.beta.kubernetes.io/aws-load-balancer-connection-draining-timeout',
  connectionIdleTimeout: 'service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout',
  crossZone: 'service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled',
  additionalResourceTags: 'service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags',
  healthCheckHealthyThreshold: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-healthy-threshold',
  healthCheckUnhealthyThreshold:
    'service.beta.kubernetes.io/aws-load-balancer-healthcheck-unhealthy-threshold',
  healthCheckInterval: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval',
  healthCheckTimeout: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout',
  healthCheckProtocol: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol',
  healthCheckPort: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-port',
  healthCheckPath: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-path',
  healthCheckSuccessCodes: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-success-codes',
  securityGroups: 'service.beta.kubernetes.io/aws-load-balancer-security-groups',
  extraSecurityGroups: 'service.beta.kubernetes.io/aws-load-balancer-extra-security-groups',
  targetGroupAttributes: 'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes',
  loadBalancerAttributes: 'service.beta.kubernetes.io/aws-load-balancer-attributes',
  targetNodeLabels: 'service.beta.kubernetes.io/aws-load-balancer-target-node-labels',
} as const;

/** Every AWS key Sluice honours, the upstream source-ranges key included (for docs and the README). */
export const AWS_ANNOTATION_KEYS: readonly string[] = [
  ...Object.values(AWS_ANNOTATIONS),
  SOURCE_RANGES_LEGACY,
];

const A = AWS_ANNOTATIONS;

/** The listener SslPolicy when no annotation names one: both AWS controllers' default. */
export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

/** kube-proxy's health endpoint (HTTP /healthz) on every node. */
export const KUBE_PROXY_HEALTH_PORT = 10256;

/** Matcher.HttpCode of HTTP(S) health checks when no annotation sets it (the NLB default). */
export const DEFAULT_SUCCESS_CODES = '200-399';

/**
 * Load balancer attributes Sluice manages, with AWS's defaults (what removing an annotation returns to).
 * access_logs.s3.bucket/prefix are managed too but only present while access logs are enabled: ELBv2 refuses an
 * empty bucket. https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html
 */
export const LOAD_BALANCER_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  'access_logs.s3.enabled': 'false',
  'deletion_protection.enabled': 'false',
  'load_balancing.cross_zone.enabled': 'false',
  'dns_record.client_routing_policy': 'any_availability_zone',
};

const TARGET_GROUP_COMMON_DEFAULTS = {
  'proxy_protocol_v2.enabled': 'false',
  'deregistration_delay.timeout_seconds': '300',
  'deregistration_delay.connection_termination.enabled': 'false',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
};

/**
 * Target group attributes Sluice manages, with AWS's defaults per target type: client IP preservation is on for
 * instance targets, off for ip targets (TCP/TLS; UDP keeps it on, see targetGroupAttributesFor).
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html
 */
export const TARGET_GROUP_ATTRIBUTE_DEFAULTS: Readonly<Record<TargetType, Readonly<Record<string, string>>>> =
  {
    instance: { ...TARGET_GROUP_COMMON_DEFAULTS, 'preserve_client_ip.enabled': 'true' },
    ip: { ...TARGET_GROUP_COMMON_DEFAULTS, 'preserve_client_ip.enabled': 'false' },
  };

/**
 * The same for UDP target groups: connection termination at the end of the deregistration delay is on by default
 * for new UDP target groups, and client IP preservation cannot be turned off.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html
 */
export const UDP_TARGET_GROUP_ATTRIBUTE_DEFAULTS: Readonly<
  Record<TargetType, Readonly<Record<string, string>>>
> = {
  instance: {
    ...TARGET_GROUP_ATTRIBUTE_DEFAULTS.instance,
    'deregistration_delay.connection_termination.enabled': 'true',
  },
  ip: {
    ...TARGET_GROUP_ATTRIBUTE_DEFAULTS.ip,
    'deregistration_delay.connection_termination.enabled': 'true',
    'preserve_client_ip.enabled': 'true',
  },
};

/** TCP listener attributes Sluice manages, with AWS's default. */
export const TCP_LISTENER_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  'tcp.idle_timeout.seconds': '350',
};

/** ELBv2 (and EC2) allow 5 security groups on a load balancer. */
export const MAX_SECURITY_GROUPS = 5;

/**
 * 50 tags per resource (ELBv2 and EC2), less Sluice's own: the ownership tags (TAG and kubernetes.io/cluster/<c>)
 * and the record of the additional keys it added (sluice.dev/additional-tag-keys).
 */
export const MAX_ADDITIONAL_TAGS = 50 - (Object.keys(TAG).length + 2);

/** A tag value holds at most 256 characters; the record of additional tag keys is one comma-separated value. */
const MAX_TAG_VALUE = 256;
const MAX_TAG_KEY = 128;

/** The annotations of a Service → the AWS settings its NLB gets, and what is wrong or worth knowing. */
export function awsSettings(intent: LoadBalancerIntent): { settings: AwsSettings; problems: Problem[] } {
  const r = reader(intent);
  unknownAnnotations(r);
  const targetType = targetTypeOf(r);
  const scheme = schemeOf(r);
  const name = nameOf(r);
  const ipAddressType = ipAddressTypeOf(r, targetType);
  const subnets = idList(r, A.subnets);
  const eipAllocations = eipAllocationsOf(r, scheme);
  const privateIPv4Addresses = privateAddressesOf(r, scheme);
  const tls = tlsOf(r);
  const healthCheck = healthCheckOf(r, targetType);
  const { attributes: targetGroupAttributes, udpAttributes: udpTargetGroupAttributes } =
    targetGroupAttributesOf(r, targetType, tls);
  const loadBalancerAttributes = loadBalancerAttributesOf(r, tls);
  const tcpListenerAttributes = tcpListenerAttributesOf(r, tls);
  const { securityGroups, extraSecurityGroups } = securityGroupsOf(r);
  const additionalTags = additionalTagsOf(r);
  const targetNodeLabels = targetNodeLabelsOf(r, targetType);
  unsupportedRequests(r, targetType);

  const settings: AwsSettings = {
    scheme,
    targetType,
    ...(name !== undefined ? { name } : {}),
    ipAddressType,
    ...(subnets !== undefined ? { subnets } : {}),
    ...(eipAllocations !== undefined ? { eipAllocations } : {}),
    ...(privateIPv4Addresses !== undefined ? { privateIPv4Addresses } : {}),
    ...(tls !== undefined ? { tls } : {}),
    loadBalancerAttributes,
    targetGroupAttributes,
    ...(udpTargetGroupAttributes !== undefined ? { udpTargetGroupAttributes } : {}),
    tcpListenerAttributes,
    healthCheck,
    ...(securityGroups !== undefined ? { securityGroups } : {}),
    extraSecurityGroups,
    additionalTags,
    targetNodeLabels,
    // Defaults as upstream's GetLoadBalancerSourceRanges, plus ::/0 for a dual-stack NLB (as the AWS LB Controller).
    sourceRanges:
      intent.sourceRanges.length > 0
        ? [...intent.sourceRanges]
        : ipAddressType === 'dualstack'
          ? ['0.0.0.0/0', '::/0']
          : ['0.0.0.0/0'],
  };
  proxyProtocolHealthCheck(r, settings);
  return { settings, problems: r.problems };
}

/**
 * The complete attributes of one target group by its protocol: UDP target groups have their own map (AWS
 * defaults differ, and AWS refuses preserve_client_ip.enabled=false on them); TLS target groups behind TLS
 * listeners cannot be sticky, and ELBv2 (like moto) refuses even the stickiness.type key on them.
 */
export function targetGroupAttributesFor(
  settings: AwsSettings,
  protocol: NlbProtocol,
): Record<string, string> {
  if (protocol === 'UDP') {
    return {
      ...(settings.udpTargetGroupAttributes ?? settings.targetGroupAttributes),
      'preserve_client_ip.enabled': 'true',
    };
  }
  const attributes = { ...settings.targetGroupAttributes };
  if (protocol === 'TLS') delete attributes['stickiness.type'];
  return attributes;
}

/**
 * The health check Sluice uses when no annotation overrides a field (see aws-common decisions). It is the check
 * of the TCP and TLS target groups; with instance targets and the Cluster policy, a UDP target group whose check
 * is on the traffic port probes kube-proxy (HTTP :10256/healthz) instead, as a TCP or HTTP probe of a UDP
 * NodePort always fails (see udpHealthCheck).
 */
export function defaultHealthCheck(intent: LoadBalancerIntent, targetType: TargetType): HealthCheckSpec {
  if (targetType === 'instance' && intent.trafficPolicy === 'Local') {
    // Only nodes with a ready local endpoint answer 200 on kube-proxy's per-Service health port.
    return {
      protocol: 'HTTP',
      port: intent.healthCheckNodePort ?? 'traffic-port',
      path: '/healthz',
      intervalSeconds: 10,
      timeoutSeconds: 6,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      successCodes: DEFAULT_SUCCESS_CODES,
    };
  }
  return {
    protocol: 'TCP',
    port: 'traffic-port',
    intervalSeconds: 10,
    timeoutSeconds: 10,
    healthyThreshold: 3,
    unhealthyThreshold: 3,
  };
}

/**
 * The health check of a UDP target group: settings.healthCheck, except with instance targets, the Cluster policy
 * and a check of the traffic port, where kube-proxy's health endpoint answers for the node (path /healthz, the
 * other fields as settings.healthCheck).
 */
export function udpHealthCheck(settings: AwsSettings, trafficPolicy: 'Cluster' | 'Local'): HealthCheckSpec {
  const base = settings.healthCheck;
  if (settings.targetType !== 'instance' || trafficPolicy !== 'Cluster' || base.port !== 'traffic-port') {
    return base;
  }
  return {
    ...base,
    protocol: 'HTTP',
    port: KUBE_PROXY_HEALTH_PORT,
    path: '/healthz',
    successCodes: base.successCodes ?? DEFAULT_SUCCESS_CODES,
  };
}

// ---- Reading ---------------------------------------------------------------------------------------------

interface Reader {
  readonly intent: LoadBalancerIntent;
  readonly problems: Problem[];
  /** The trimmed value, or undefined when the annotation is absent or blank. */
  value(key: string): string | undefined;
  error(reason: ProblemReason, field: string, message: string): void;
  warn(reason: ProblemReason, field: string, message: string): void;
  /** The checked, canonical value of an annotation; undefined (and an error) when invalid or not set. */
  checked(key: string, check: Check): string | undefined;
}

function reader(intent: LoadBalancerIntent): Reader {
  const problems: Problem[] = [];
  const r: Reader = {
    intent,
    problems,
    value(key) {
      const raw = Object.hasOwn(intent.annotations, key) ? intent.annotations[key] : undefined;
      const trimmed = raw?.trim();
      return trimmed === '' ? undefined : trimmed;
    },
    error(reason, field, message) {
      problems.push({ reason, field, message, severity: 'error' });
    },
    warn(reason, field, message) {
      problems.push({ reason, field, message, severity: 'warning' });
    },
    checked(key, check) {
      const raw = r.value(key);
      if (raw === undefined) return undefined;
      const result = check(raw);
      if ('problem' in result) {
        r.error('InvalidAnnotation', key, result.problem);
        return undefined;
      }
      return result.ok;
    },
  };
  return r;
}

/** Validates one value: its canonical form, or why it is wrong. */
type Check = (value: string) => { ok: string } | { problem: string };

const bool: Check = (value) => {
  const parsed = parseBoolean(value);
  return parsed === undefined ? { problem: `"${value}" is not "true" or "false"` } : { ok: String(parsed) };
};

function wholeNumber(min: number, max: number, unit = ''): Check {
  return (value) =>
    /^[0-9]+$/.test(value) && Number(value) >= min && Number(value) <= max
      ? { ok: String(Number(value)) }
      : { problem: `"${value}" is not a whole number from ${min} to ${max}${unit}` };
}

function oneOf(...values: string[]): Check {
  return (value) =>
    values.includes(value)
      ? { ok: value }
      : { problem: `"${value}" is not one of ${values.map((v) => `"${v}"`).join(', ')}` };
}

/** S3 bucket naming rules (3-63 characters, lower case, digits, dots and hyphens, alphanumeric at both ends). */
const bucketName: Check = (value) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) && !value.includes('..')
    ? { ok: value }
    : {
        problem: `"${value}" is not an S3 bucket name (3-63 characters: lower-case letters, digits, dots and hyphens)`,
      };

/** ELB adds AWSLogs/… after the prefix itself and refuses a prefix containing it. */
const bucketPrefix: Check = (value) =>
  value.includes('AWSLogs')
    ? {
        problem: `"${value}" contains "AWSLogs", which the load balancer adds itself: leave it out of the prefix`,
      }
    : { ok: value };

/** The key without service.beta.kubernetes.io/, to keep messages short. */
function short(key: string): string {
  return key.replace(/^service\.beta\.kubernetes\.io\//, '');
}

/** Every native key not recognised is reported: a key that silently does nothing is worse than a warning. */
function unknownAnnotations(r: Reader): void {
  const known = new Set<string>(Object.values(AWS_ANNOTATIONS));
  for (const key of Object.keys(r.intent.annotations).sort()) {
    if (key.startsWith(AWS_ANNOTATION_PREFIX) && !known.has(key)) {
      r.warn(
        'Unsupported',
        key,
        'Sluice does not implement this annotation on AWS; it has no effect (see the README for the keys it reads)',
      );
    }
  }
}

// ---- Kind of load balancer ---------------------------------------------------------------------------------

function targetTypeOf(r: Reader): TargetType {
  const type = r.value(A.type);
  let ipFromType = false;
  if (type === undefined) {
    r.warn(
      'EquivalentSetting',
      A.type,
      'not set: the legacy AWS cloud provider would build a Classic ELB; Sluice builds the equivalent Network ' +
        'Load Balancer (set "external" or "nlb" to say so)',
    );
  } else if (type === 'nlb-ip') {
    ipFromType = true;
    r.warn(
      'DeprecatedAnnotation',
      A.type,
      `"nlb-ip" is deprecated: use "external" with ${short(A.nlbTargetType)}: "ip"`,
    );
  } else if (type !== 'nlb' && type !== 'external') {
    r.error(
      'InvalidAnnotation',
      A.type,
      `"${type}" is not a load balancer Sluice builds: use "external" (or "nlb") for a Network Load Balancer; ` +
        'Sluice never builds Classic or Application Load Balancers',
    );
  }
  const targetType = r.checked(A.nlbTargetType, oneOf('instance', 'ip')) as TargetType | undefined;
  if (ipFromType && targetType === 'instance') {
    r.warn(
      'ConflictingAnnotations',
      `${A.type},${A.nlbTargetType}`,
      `these disagree: ${short(A.type)}="nlb-ip" means ip targets, ${short(A.nlbTargetType)}="instance"; ` +
        'ip targets are used (as the AWS Load Balancer Controller does)',
    );
  }
  return ipFromType ? 'ip' : (targetType ?? 'instance');
}

function schemeOf(r: Reader): Scheme {
  const fromScheme = r.checked(A.scheme, oneOf('internet-facing', 'internal')) as Scheme | undefined;
  const internalRaw = r.value(A.internal);
  // The legacy cloud provider's rule: any value but "false" makes it internal (its docs' value is "0.0.0.0/0").
  const fromInternal: Scheme | undefined =
    internalRaw === undefined
      ? undefined
      : internalRaw.toLowerCase() === 'false'
        ? 'internet-facing'
        : 'internal';
  if (fromScheme !== undefined && fromInternal !== undefined && fromScheme !== fromInternal) {
    r.warn(
      'ConflictingAnnotations',
      `${A.scheme},${A.internal}`,
      `these disagree: ${short(A.scheme)}="${fromScheme}", ${short(A.internal)}="${internalRaw}"; ` +
        `the scheme annotation wins: ${fromScheme}`,
    );
  }
  const native = fromScheme ?? fromInternal;
  const portable: Scheme = r.intent.internal ? 'internal' : 'internet-facing';
  if (native !== undefined && r.value(SLUICE.internal) !== undefined && portable !== native) {
    const nativeKey = fromScheme !== undefined ? A.scheme : A.internal;
    r.warn(
      'ConflictingAnnotations',
      `${nativeKey},${SLUICE.internal}`,
      `these disagree: ${short(nativeKey)} makes the load balancer ${native}, ${SLUICE.internal}="${r.value(SLUICE.internal)}"; ` +
        `the AWS annotation wins: ${native}`,
    );
  }
  return native ?? portable;
}

function nameOf(r: Reader): string | undefined {
  const name = r.value(A.name);
  if (name === undefined) return undefined;
  const problem =
    name.length > 32
      ? `"${name}" has ${name.length} characters; load balancer names have at most 32`
      : !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(name)
        ? `"${name}" is not a load balancer name: letters, digits and hyphens only, not starting or ending with a hyphen`
        : name.toLowerCase().startsWith('internal-')
          ? `"${name}" starts with "internal-", which AWS reserves`
          : undefined;
  if (problem !== undefined) {
    r.error('InvalidAnnotation', A.name, problem);
    return undefined;
  }
  return name;
}

function ipAddressTypeOf(r: Reader, targetType: TargetType): IpAddressType {
  const type =
    (r.checked(A.ipAddressType, oneOf('ipv4', 'dualstack')) as IpAddressType | undefined) ?? 'ipv4';
  if (targetType === 'ip' && type === 'ipv4' && !r.intent.ipFamilies.includes('IPv4')) {
    r.error(
      'Unsupported',
      A.ipAddressType,
      'the Service is IPv6-only, so its Pods have IPv6 addresses: ip targets in an IPv6 target group need a ' +
        `dual-stack load balancer (${short(A.ipAddressType)}: "dualstack")`,
    );
  }
  return type;
}

/** IDs or Name tag values (subnets, security groups), in order, each once. */
function idList(r: Reader, key: string): string[] | undefined {
  const raw = r.value(key);
  if (raw === undefined) return undefined;
  const items = [...new Set(splitList(raw))];
  for (const item of items) {
    if (item.length > MAX_TAG_VALUE) {
      r.error(
        'InvalidAnnotation',
        key,
        `"${item.slice(0, 40)}…" is neither an ID nor a Name tag value (too long)`,
      );
    }
  }
  return items;
}

function eipAllocationsOf(r: Reader, scheme: Scheme): string[] | undefined {
  const raw = r.value(A.eipAllocations);
  if (raw === undefined) return undefined;
  const items = splitList(raw);
  for (const item of items) {
    if (!/^eipalloc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(item)) {
      r.error(
        'InvalidAnnotation',
        A.eipAllocations,
        `"${item}" is not an Elastic IP allocation ID (eipalloc-…)`,
      );
    }
  }
  duplicates(r, A.eipAllocations, items);
  if (scheme !== 'internet-facing') {
    r.error(
      'InvalidAnnotation',
      A.eipAllocations,
      'Elastic IPs need an internet-facing load balancer, and this one is internal: remove this annotation, or ' +
        `use ${short(A.privateIPv4Addresses)} to choose its private addresses`,
    );
  }
  return items;
}

function privateAddressesOf(r: Reader, scheme: Scheme): string[] | undefined {
  const raw = r.value(A.privateIPv4Addresses);
  if (raw === undefined) return undefined;
  const addresses: string[] = [];
  for (const item of splitList(raw)) {
    const address = canonicalAddress(item);
    if (address === undefined || address.includes(':')) {
      r.error('InvalidAnnotation', A.privateIPv4Addresses, `"${item}" is not an IPv4 address`);
    } else addresses.push(address);
  }
  duplicates(r, A.privateIPv4Addresses, addresses);
  if (scheme !== 'internal') {
    r.error(
      'InvalidAnnotation',
      A.privateIPv4Addresses,
      'private addresses can be chosen only for an internal load balancer: set ' +
        `${short(A.scheme)}: "internal", or use ${short(A.eipAllocations)} for an internet-facing one`,
    );
  }
  return addresses;
}

function duplicates(r: Reader, key: string, items: string[]): void {
  const repeated = [...new Set(items.filter((item, i) => items.indexOf(item) !== i))];
  if (repeated.length > 0) r.error('InvalidAnnotation', key, `listed more than once: ${repeated.join(', ')}`);
}

// ---- TLS ----------------------------------------------------------------------------------------------------

// ACM: arn:<partition>:acm:<region>:<account>:certificate/<id>; IAM: arn:<partition>:iam::<account>:server-certificate/<path+name>.
const ACM_ARN = /^arn:aws(?:-[a-z]+)*:acm:[a-z]{2}(?:-[a-z]+)+-[0-9]+:[0-9]{12}:certificate\/[A-Za-z0-9-]+$/;
const IAM_ARN = /^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:server-certificate\/[A-Za-z0-9_+=,.@/-]+$/;
const ALPN_POLICIES = ['HTTP1Only', 'HTTP2Only', 'HTTP2Optional', 'HTTP2Preferred', 'None'] as const;
type AlpnPolicy = (typeof ALPN_POLICIES)[number];

function tlsOf(r: Reader): AwsSettings['tls'] {
  const { intent } = r;
  const portableTls = intent.ports.find((p) => p.tls)?.tls;
  const nativeRaw = r.value(A.sslCert);
  const nativeCertificates = nativeRaw === undefined ? undefined : [...new Set(splitList(nativeRaw))];
  const portableCertificates =
    r.value(SLUICE.tlsCertificate) !== undefined && portableTls ? portableTls.certificates : undefined;
  if (
    nativeCertificates !== undefined &&
    portableCertificates !== undefined &&
    nativeCertificates.join(',') !== portableCertificates.join(',')
  ) {
    r.warn(
      'ConflictingAnnotations',
      `${A.sslCert},${SLUICE.tlsCertificate}`,
      `these disagree: ${short(A.sslCert)}="${nativeCertificates.join(',')}", ${SLUICE.tlsCertificate}=` +
        `"${portableCertificates.join(',')}"; the AWS annotation wins`,
    );
  }
  const certificateField = nativeCertificates !== undefined ? A.sslCert : SLUICE.tlsCertificate;
  const certificates = nativeCertificates ?? portableCertificates ?? [];
  for (const certificate of certificates) {
    if (!ACM_ARN.test(certificate) && !IAM_ARN.test(certificate)) {
      r.error(
        'InvalidAnnotation',
        certificateField,
        `"${certificate}" is not a certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>, or ` +
          'arn:aws:iam::<account>:server-certificate/<name>)',
      );
    }
  }

  const backendTls = backendTlsOf(r);
  const alpnPolicy = r.checked(A.alpnPolicy, oneOf(...ALPN_POLICIES)) as AlpnPolicy | undefined;
  if (certificates.length === 0) {
    for (const key of [A.sslPorts, A.sslNegotiationPolicy, A.alpnPolicy]) {
      if (r.value(key) !== undefined) {
        r.error('InvalidAnnotation', key, `needs ${short(A.sslCert)} to name the listeners' certificate`);
      }
    }
    if (backendTls) {
      r.error(
        'InvalidAnnotation',
        A.backendProtocol,
        `"ssl" applies to TLS listeners, and there are none: name a certificate with ${short(A.sslCert)}, or use "tcp"`,
      );
    }
    return undefined;
  }
  const ports = tlsPortsOf(r, certificateField);
  return {
    certificates,
    ports,
    policy: sslPolicyOf(r, portableTls?.policy),
    ...(alpnPolicy !== undefined ? { alpnPolicy } : {}),
    backendTls: backendTls ?? false,
  };
}

/** Service port numbers that get a TLS listener: ssl-ports, else sluice.dev/tls-ports, else every TCP port. */
function tlsPortsOf(r: Reader, certificateField: string): number[] {
  const { intent } = r;
  const tcpPorts = intent.ports.filter((p) => p.protocol === 'TCP').map((p) => p.port);
  const nativeRaw = r.value(A.sslPorts);
  const native = nativeRaw === undefined ? undefined : selectTlsPorts(r, A.sslPorts, splitList(nativeRaw));
  let portable: number[] | undefined;
  if (r.value(SLUICE.tlsPorts) !== undefined) {
    const chosen = intent.ports.filter((p) => p.tls);
    for (const port of chosen.filter((p) => p.protocol !== 'TCP')) {
      r.error('InvalidAnnotation', SLUICE.tlsPorts, notTcp(port));
    }
    portable = chosen.filter((p) => p.protocol === 'TCP').map((p) => p.port);
  }
  const text = (ports: number[]): string => [...ports].sort((a, b) => a - b).join(',');
  if (native !== undefined && portable !== undefined && text(native) !== text(portable)) {
    r.warn(
      'ConflictingAnnotations',
      `${A.sslPorts},${SLUICE.tlsPorts}`,
      `these disagree: ${short(A.sslPorts)} picks ports ${text(native) || 'none'}, ${SLUICE.tlsPorts} picks ` +
        `${text(portable) || 'none'}; the AWS annotation wins`,
    );
  }
  const ports = [...new Set(native ?? portable ?? tcpPorts)].sort((a, b) => a - b);
  if (native === undefined && portable === undefined && ports.length === 0) {
    r.error(
      'InvalidAnnotation',
      certificateField,
      'this Service has no TCP port to put a TLS listener on (Network Load Balancers terminate TLS on TCP only)',
    );
  }
  return ports;
}

/** ssl-ports items: "*" (every TCP port), port numbers, port names. */
function selectTlsPorts(r: Reader, key: string, items: string[]): number[] {
  const { ports } = r.intent;
  const selected: number[] = [];
  for (const item of items) {
    const matches =
      item === '*'
        ? ports.filter((p) => p.protocol === 'TCP')
        : ports.filter((p) => p.name === item || String(p.port) === item);
    if (matches.length === 0 && item !== '*') {
      r.error(
        'InvalidAnnotation',
        key,
        `"${item}" is neither a port number nor a port name of this Service (${describePorts(ports)})`,
      );
    }
    for (const port of matches) {
      if (port.protocol !== 'TCP') r.error('InvalidAnnotation', key, notTcp(port));
      else selected.push(port.port);
    }
  }
  return selected;
}

function notTcp(port: PortIntent): string {
  return `port ${port.name ?? port.port} is ${port.protocol}: Network Load Balancers terminate TLS on TCP ports only`;
}

function describePorts(ports: PortIntent[]): string {
  return ports.length === 0
    ? 'it has none'
    : `it has ${ports.map((p) => `${p.port}/${p.protocol}${p.name ? ` "${p.name}"` : ''}`).join(', ')}`;
}

function sslPolicyOf(r: Reader, portablePolicy: string | undefined): string {
  const native = r.value(A.sslNegotiationPolicy);
  const portable = r.value(SLUICE.tlsPolicy) !== undefined ? portablePolicy : undefined;
  if (native !== undefined && portable !== undefined && native !== portable) {
    r.warn(
      'ConflictingAnnotations',
      `${A.sslNegotiationPolicy},${SLUICE.tlsPolicy}`,
      `these disagree: ${short(A.sslNegotiationPolicy)}="${native}", ${SLUICE.tlsPolicy}="${portable}"; ` +
        'the AWS annotation wins',
    );
  }
  const [field, policy] =
    native !== undefined
      ? [A.sslNegotiationPolicy, native]
      : portable !== undefined
        ? [SLUICE.tlsPolicy, portable]
        : [undefined, DEFAULT_SSL_POLICY];
  // Network Load Balancers take only AWS's predefined policies, all named ELBSecurityPolicy-….
  if (field !== undefined && !/^ELBSecurityPolicy-[A-Za-z0-9-]+$/.test(policy)) {
    r.error(
      'InvalidAnnotation',
      field,
      `"${policy}" is not a predefined ELB security policy (for example ELBSecurityPolicy-TLS13-1-2-2021-06); ` +
        'Network Load Balancers accept no custom policies',
    );
    return DEFAULT_SSL_POLICY;
  }
  return policy;
}

/** backend-protocol: ssl → TLS target groups, tcp → plain; undefined when not set or invalid. */
function backendTlsOf(r: Reader): boolean | undefined {
  const raw = r.value(A.backendProtocol);
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase();
  if (value === 'ssl') return true;
  if (value === 'tcp') return false;
  if (value === 'http' || value === 'https') {
    r.error(
      'Unsupported',
      A.backendProtocol,
      `"${raw}" needs a layer-7 load balancer (an Application Load Balancer); Sluice builds Network Load ` +
        'Balancers: use "tcp", or "ssl" for TLS from the TLS listeners to the Pods',
    );
  } else {
    r.error('InvalidAnnotation', A.backendProtocol, `"${raw}" is not "ssl" or "tcp"`);
  }
  return undefined;
}

// ---- Health check -------------------------------------------------------------------------------------------

function healthCheckOf(r: Reader, targetType: TargetType): HealthCheckSpec {
  const base = defaultHealthCheck(r.intent, targetType);
  const protocol =
    (r.checked(A.healthCheckProtocol, healthCheckProtocol) as HealthCheckProtocol | undefined) ??
    base.protocol;
  const port = healthCheckPortOf(r, targetType) ?? base.port;
  const number = (key: string, check: Check, fallback: number): number => {
    const value = r.checked(key, check);
    return value === undefined ? fallback : Number(value);
  };
  const spec: HealthCheckSpec = {
    protocol,
    port,
    intervalSeconds: number(A.healthCheckInterval, wholeNumber(5, 300, ' seconds'), base.intervalSeconds),
    timeoutSeconds: number(A.healthCheckTimeout, wholeNumber(2, 120, ' seconds'), base.timeoutSeconds),
    healthyThreshold: number(A.healthCheckHealthyThreshold, wholeNumber(2, 10), base.healthyThreshold),
    unhealthyThreshold: number(A.healthCheckUnhealthyThreshold, wholeNumber(2, 10), base.unhealthyThreshold),
  };
  const path = r.checked(A.healthCheckPath, (v) =>
    v.startsWith('/') && v.length <= 1024
      ? { ok: v }
      : { problem: `"${v}" is not a path (it must start with "/")` },
  );
  const successCodes = r.checked(A.healthCheckSuccessCodes, httpCodes);
  if (protocol === 'TCP') {
    for (const key of [A.healthCheckPath, A.healthCheckSuccessCodes]) {
      if (r.value(key) !== undefined) {
        r.warn(
          'InvalidAnnotation',
          key,
          'ignored: the health check is TCP; it applies to HTTP and HTTPS checks only',
        );
      }
    }
  } else {
    spec.path = path ?? (base.protocol === 'TCP' ? '/' : (base.path ?? '/'));
    spec.successCodes = successCodes ?? DEFAULT_SUCCESS_CODES;
  }
  healthCheckPitfalls(r, targetType, spec);
  return spec;
}

const healthCheckProtocol: Check = (value) =>
  ['TCP', 'HTTP', 'HTTPS'].includes(value.toUpperCase())
    ? { ok: value.toUpperCase() }
    : { problem: `"${value}" is not "TCP", "HTTP" or "HTTPS"` };

/** "traffic-port", a port number, or a Service port's name (its NodePort, or the Pods' port for ip targets). */
function healthCheckPortOf(r: Reader, targetType: TargetType): HealthCheckSpec['port'] | undefined {
  const raw = r.value(A.healthCheckPort);
  if (raw === undefined) return undefined;
  if (raw === 'traffic-port') return raw;
  if (/^[0-9]+$/.test(raw)) {
    const port = Number(raw);
    if (port >= 1 && port <= 65535) return port;
    r.error('InvalidAnnotation', A.healthCheckPort, `${raw} is not a port number (1-65535)`);
    return undefined;
  }
  const named = r.intent.ports.find((p) => p.name === raw);
  if (named === undefined) {
    r.error(
      'InvalidAnnotation',
      A.healthCheckPort,
      `"${raw}" is not "traffic-port", a port number, or a port name of this Service (${describePorts(r.intent.ports)})`,
    );
    return undefined;
  }
  if (targetType === 'instance') {
    if (named.nodePort !== undefined) return named.nodePort;
    r.error(
      'InvalidAnnotation',
      A.healthCheckPort,
      `port "${raw}" has no nodePort to check (spec.allocateLoadBalancerNodePorts is false): give a port number`,
    );
    return undefined;
  }
  // ip targets: the Pods' port; spec.ports[].targetPort defaults to the port itself.
  if (named.targetPort === undefined) return named.port;
  if (typeof named.targetPort === 'number') return named.targetPort;
  r.error(
    'InvalidAnnotation',
    A.healthCheckPort,
    `port "${raw}" targets the container port named "${named.targetPort}", whose number can differ per Pod: ` +
      'give the port number',
  );
  return undefined;
}

/**
 * Matcher.HttpCode: codes, comma lists, ranges. The API reference allows 200-599 on Network Load Balancers
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html).
 */
const httpCodes: Check = (value) => {
  const items = value.split(',').map((item) => item.trim());
  const valid = items.every((item) => {
    const match = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(item);
    if (!match) return false;
    const low = Number(match[1]);
    const high = Number(match[2] ?? match[1]);
    return low >= 200 && high <= 599 && low <= high;
  });
  return valid
    ? { ok: items.join(',') }
    : {
        problem: `"${value}" is not a list of HTTP codes from 200 to 599 (for example "200", "200,202", "200-299")`,
      };
};

/** Health checks that look fine but can never tell a good target from a bad one. */
function healthCheckPitfalls(r: Reader, targetType: TargetType, spec: HealthCheckSpec): void {
  const { intent } = r;
  const udp = intent.ports.filter((p) => p.protocol === 'UDP');
  const field = r.value(A.healthCheckPort) !== undefined ? A.healthCheckPort : A.healthCheckProtocol;
  // Every health check connects over TCP: on the traffic port of a UDP target group it needs a TCP listener
  // there. With instance targets and the Cluster policy the UDP target groups probe kube-proxy instead.
  if (udp.length > 0 && spec.port === 'traffic-port') {
    const ports = udp.map((p) => p.port).join(', ');
    if (targetType === 'instance' && intent.trafficPolicy === 'Local') {
      r.error(
        'InvalidAnnotation',
        field,
        `a health check on the traffic port always fails for UDP port(s) ${ports}: it connects over TCP, and ` +
          'nothing listens on TCP at a UDP NodePort; remove the health-check port annotation (the default checks ' +
          'spec.healthCheckNodePort) or set it to a TCP port',
      );
    } else if (targetType === 'ip') {
      r.warn(
        'InvalidAnnotation',
        field,
        `UDP port(s) ${ports}: the health check connects over TCP to the Pods' port, so it passes only if the Pods ` +
          `also listen on TCP there; otherwise set ${short(A.healthCheckPort)} (and protocol) to a TCP or HTTP endpoint`,
      );
    }
  }
  if (
    targetType === 'instance' &&
    intent.trafficPolicy === 'Local' &&
    spec.protocol === 'TCP' &&
    spec.port === intent.healthCheckNodePort
  ) {
    r.warn(
      'InvalidAnnotation',
      A.healthCheckProtocol,
      `a TCP check on healthCheckNodePort ${spec.port} passes on every node (kube-proxy listens there whether or not ` +
        'the node has a ready Pod), so nodes without one get traffic they drop: use HTTP (the default)',
    );
  }
}

/**
 * With PROXY protocol the NLB also sends the PROXY header on health-check connections; kube-proxy's health
 * endpoints (healthCheckNodePort, 10256) do not read it, so every target may be reported unhealthy.
 */
function proxyProtocolHealthCheck(r: Reader, settings: AwsSettings): void {
  const { intent } = r;
  if (settings.targetGroupAttributes['proxy_protocol_v2.enabled'] !== 'true') return;
  const checks = [settings.healthCheck];
  if (intent.ports.some((p) => p.protocol === 'UDP'))
    checks.push(udpHealthCheck(settings, intent.trafficPolicy));
  const kubeProxy = checks.find(
    (c) =>
      c.protocol !== 'TCP' && (c.port === KUBE_PROXY_HEALTH_PORT || c.port === intent.healthCheckNodePort),
  );
  if (kubeProxy === undefined) return;
  const field =
    r.value(A.proxyProtocol) !== undefined
      ? A.proxyProtocol
      : r.value(SLUICE.proxyProtocol) !== undefined
        ? SLUICE.proxyProtocol
        : A.targetGroupAttributes;
  r.warn(
    'InvalidAnnotation',
    field,
    `the load balancer sends the PROXY protocol header on health checks too, and kube-proxy's health endpoint ` +
      `(port ${kubeProxy.port}) does not accept it, so targets may all be reported unhealthy: set ` +
      `${short(A.healthCheckProtocol)}: "TCP" and ${short(A.healthCheckPort)}: "traffic-port"`,
  );
}

// ---- Attributes ---------------------------------------------------------------------------------------------

const TARGET_GROUP_ATTRIBUTE_CHECKS: Readonly<Record<string, Check>> = {
  'proxy_protocol_v2.enabled': bool,
  'deregistration_delay.timeout_seconds': wholeNumber(0, 3600, ' seconds'),
  'deregistration_delay.connection_termination.enabled': bool,
  'preserve_client_ip.enabled': bool,
  'stickiness.enabled': bool,
  'stickiness.type': oneOf('source_ip'),
};

const LOAD_BALANCER_ATTRIBUTE_CHECKS: Readonly<Record<string, Check>> = {
  'access_logs.s3.enabled': bool,
  'access_logs.s3.bucket': bucketName,
  'access_logs.s3.prefix': bucketPrefix,
  'deletion_protection.enabled': bool,
  'load_balancing.cross_zone.enabled': bool,
  'dns_record.client_routing_policy': oneOf(
    'any_availability_zone',
    'availability_zone_affinity',
    'partial_availability_zone_affinity',
  ),
};

/** A k=v,k2=v2 attribute annotation: only the keys Sluice manages, each value checked. */
function attributeMap(
  r: Reader,
  key: string,
  checks: Readonly<Record<string, Check>>,
): Record<string, string> {
  const raw = r.value(key);
  const result: Record<string, string> = {};
  if (raw === undefined) return result;
  for (const item of splitList(raw)) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    const check = Object.hasOwn(checks, name) ? checks[name] : undefined;
    if (eq < 0) {
      r.error('InvalidAnnotation', key, `"${item}" is not key=value`);
    } else if (check === undefined) {
      r.error(
        'InvalidAnnotation',
        key,
        `unknown attribute "${name}": Sluice manages ${Object.keys(checks).join(', ')}`,
      );
    } else {
      const checked = check(value);
      if ('problem' in checked) r.error('InvalidAnnotation', key, `${name}: ${checked.problem}`);
      else if (result[name] !== undefined && result[name] !== checked.ok) {
        r.error('InvalidAnnotation', key, `${name} is given twice, with different values`);
      } else result[name] = checked.ok;
    }
  }
  return result;
}

/**
 * The value of one attribute set both by a dedicated annotation (or a spec field) and by an *-attributes map:
 * the dedicated one wins, with a warning when they differ.
 */
function dedicatedWins(
  r: Reader,
  dedicated: { field: string; value: string | undefined },
  map: { field: string; values: Record<string, string> },
  attribute: string,
): string | undefined {
  const fromMap = map.values[attribute];
  if (dedicated.value !== undefined && fromMap !== undefined && dedicated.value !== fromMap) {
    r.warn(
      'ConflictingAnnotations',
      `${dedicated.field},${map.field}`,
      `these disagree: ${short(dedicated.field)} means ${attribute}=${dedicated.value}, ${short(map.field)} ` +
        `sets ${attribute}=${fromMap}; ${short(dedicated.field)} wins`,
    );
  }
  return dedicated.value ?? fromMap;
}

/** The complete target group attributes (and those of UDP target groups, whose AWS defaults differ). */
function targetGroupAttributesOf(
  r: Reader,
  targetType: TargetType,
  tls: AwsSettings['tls'],
): { attributes: Record<string, string>; udpAttributes?: Record<string, string> } {
  const { intent } = r;
  const map = {
    field: A.targetGroupAttributes,
    values: attributeMap(r, A.targetGroupAttributes, TARGET_GROUP_ATTRIBUTE_CHECKS),
  };
  // What the annotations and the spec ask for; everything else is AWS's default.
  const asked: Record<string, string> = { ...map.values };

  const proxy = dedicatedWins(r, proxyProtocolOf(r), map, 'proxy_protocol_v2.enabled');
  if (proxy !== undefined) asked['proxy_protocol_v2.enabled'] = proxy;

  const delay = dedicatedWins(r, deregistrationDelayOf(r), map, 'deregistration_delay.timeout_seconds');
  if (delay !== undefined) asked['deregistration_delay.timeout_seconds'] = delay;

  const affinity = {
    field: 'spec.sessionAffinity',
    value: intent.sessionAffinity === 'ClientIP' ? 'true' : undefined,
  };
  const sticky = dedicatedWins(r, affinity, map, 'stickiness.enabled');
  if (sticky !== undefined) asked['stickiness.enabled'] = sticky;
  if (sticky === 'true' && tls?.backendTls && tls.ports.length > 0) {
    r.error(
      'Unsupported',
      affinity.value !== undefined ? affinity.field : map.field,
      'Network Load Balancers cannot keep sessions sticky on TLS listeners with TLS target groups ' +
        `(${short(A.backendProtocol)}: "ssl"): use "tcp" to the Pods, or no session affinity`,
    );
  }

  const udp = intent.ports.some((p) => p.protocol === 'UDP');
  if (asked['preserve_client_ip.enabled'] === 'false' && udp) {
    r.warn(
      'InvalidAnnotation',
      map.field,
      'preserve_client_ip.enabled=false applies to the TCP and TLS target groups only: AWS always preserves the ' +
        'client IP on UDP target groups',
    );
  }
  const attributes = { ...TARGET_GROUP_ATTRIBUTE_DEFAULTS[targetType], ...asked };
  if (!udp) return { attributes };
  return {
    attributes,
    udpAttributes: {
      ...UDP_TARGET_GROUP_ATTRIBUTE_DEFAULTS[targetType],
      ...asked,
      'preserve_client_ip.enabled': 'true',
    },
  };
}

/** proxy-protocol "*" and sluice.dev/proxy-protocol → proxy_protocol_v2.enabled. */
function proxyProtocolOf(r: Reader): { field: string; value: string | undefined } {
  const raw = r.value(A.proxyProtocol);
  let native: boolean | undefined;
  if (raw === '*') native = true;
  else if (raw !== undefined) {
    r.error(
      'InvalidAnnotation',
      A.proxyProtocol,
      `"${raw}" is not "*": the value "*" turns PROXY protocol v2 on for every port; remove the annotation to turn it off`,
    );
  }
  const portableGiven = r.value(SLUICE.proxyProtocol) !== undefined;
  if (native !== undefined && portableGiven && r.intent.proxyProtocol !== native) {
    r.warn(
      'ConflictingAnnotations',
      `${A.proxyProtocol},${SLUICE.proxyProtocol}`,
      `these disagree: ${short(A.proxyProtocol)}="*", ${SLUICE.proxyProtocol}="${r.value(SLUICE.proxyProtocol)}"; ` +
        'the AWS annotation wins: PROXY protocol is on',
    );
  }
  if (native !== undefined) return { field: A.proxyProtocol, value: String(native) };
  if (portableGiven) return { field: SLUICE.proxyProtocol, value: String(r.intent.proxyProtocol) };
  return { field: A.proxyProtocol, value: undefined };
}

/** Classic ELB connection draining → the target groups' deregistration delay. */
function deregistrationDelayOf(r: Reader): { field: string; value: string | undefined } {
  const enabled = r.checked(A.connectionDrainingEnabled, bool);
  const timeout = r.checked(A.connectionDrainingTimeout, wholeNumber(0, 3600, ' seconds'));
  const field = A.connectionDrainingEnabled;
  if (timeout !== undefined && enabled !== 'true') {
    r.warn(
      'EquivalentSetting',
      A.connectionDrainingTimeout,
      `ignored: as on a Classic ELB it applies only with ${short(A.connectionDrainingEnabled)}: "true"`,
    );
  }
  if (enabled === undefined) return { field, value: undefined };
  const seconds = enabled === 'true' ? (timeout ?? '300') : '0';
  r.warn(
    'EquivalentSetting',
    field,
    `Classic ELB connection draining maps to the target groups' deregistration delay: ` +
      `deregistration_delay.timeout_seconds=${seconds}`,
  );
  return { field, value: seconds };
}

function loadBalancerAttributesOf(r: Reader, tls: AwsSettings['tls']): Record<string, string> {
  const map = {
    field: A.loadBalancerAttributes,
    values: attributeMap(r, A.loadBalancerAttributes, LOAD_BALANCER_ATTRIBUTE_CHECKS),
  };
  const attributes: Record<string, string> = { ...LOAD_BALANCER_ATTRIBUTE_DEFAULTS, ...map.values };
  const crossZone = dedicatedWins(
    r,
    { field: A.crossZone, value: r.checked(A.crossZone, bool) },
    map,
    'load_balancing.cross_zone.enabled',
  );
  if (crossZone !== undefined) attributes['load_balancing.cross_zone.enabled'] = crossZone;

  const enabled =
    dedicatedWins(
      r,
      { field: A.accessLogEnabled, value: r.checked(A.accessLogEnabled, bool) },
      map,
      'access_logs.s3.enabled',
    ) ?? 'false';
  const bucket = dedicatedWins(
    r,
    { field: A.accessLogBucket, value: r.checked(A.accessLogBucket, bucketName) },
    map,
    'access_logs.s3.bucket',
  );
  const prefix = dedicatedWins(
    r,
    { field: A.accessLogPrefix, value: r.checked(A.accessLogPrefix, bucketPrefix) },
    map,
    'access_logs.s3.prefix',
  );
  attributes['access_logs.s3.enabled'] = enabled;
  delete attributes['access_logs.s3.bucket'];
  delete attributes['access_logs.s3.prefix'];
  const enabledField = r.value(A.accessLogEnabled) !== undefined ? A.accessLogEnabled : map.field;
  if (enabled === 'true') {
    // An invalid bucket has its error already.
    const bucketGiven =
      r.value(A.accessLogBucket) !== undefined ||
      /(^|,)\s*access_logs\.s3\.bucket\s*=/.test(r.value(A.loadBalancerAttributes) ?? '');
    if (bucket !== undefined) attributes['access_logs.s3.bucket'] = bucket;
    else if (!bucketGiven) {
      r.error(
        'InvalidAnnotation',
        enabledField,
        `access logs need an S3 bucket: set ${short(A.accessLogBucket)}`,
      );
    }
    if (prefix !== undefined) attributes['access_logs.s3.prefix'] = prefix;
    if (tls === undefined || tls.ports.length === 0) {
      r.warn(
        'Unsupported',
        enabledField,
        'a Network Load Balancer writes access logs only for TLS connections, and this one has no TLS listener: ' +
          'the bucket will stay empty',
      );
    }
  } else if (bucket !== undefined || prefix !== undefined) {
    const field = r.value(A.accessLogBucket) !== undefined ? A.accessLogBucket : map.field;
    r.warn(
      'InvalidAnnotation',
      field,
      `ignored: access logs are off (set ${short(A.accessLogEnabled)}: "true" to turn them on)`,
    );
  }
  if (r.value(A.accessLogEmitInterval) !== undefined) {
    r.warn(
      'EquivalentSetting',
      A.accessLogEmitInterval,
      'a Classic ELB setting with no equivalent: a Network Load Balancer delivers its access logs every 5 minutes',
    );
  }
  return attributes;
}

function tcpListenerAttributesOf(r: Reader, tls: AwsSettings['tls']): Record<string, string> {
  const attributes = { ...TCP_LISTENER_ATTRIBUTE_DEFAULTS };
  const raw = r.value(A.connectionIdleTimeout);
  if (raw === undefined) return attributes;
  // A Classic ELB accepted 1-4000 seconds; an NLB TCP listener takes 60-6000.
  const seconds = r.checked(
    A.connectionIdleTimeout,
    wholeNumber(60, 6000, ' seconds (the range of a Network Load Balancer TCP listener)'),
  );
  if (seconds === undefined) return attributes;
  attributes['tcp.idle_timeout.seconds'] = seconds;
  const tlsPorts = new Set(tls?.ports ?? []);
  const others = r.intent.ports.filter((p) => p.protocol !== 'TCP' || tlsPorts.has(p.port));
  if (others.length > 0) {
    const list = others.map((p) => `${p.port} (${tlsPorts.has(p.port) ? 'TLS' : p.protocol})`).join(', ');
    r.warn(
      'EquivalentSetting',
      A.connectionIdleTimeout,
      `sets the idle timeout of the TCP listeners only: the listeners on ${list} keep the load balancer's fixed timeout`,
    );
  }
  return attributes;
}

// ---- Security groups, tags, nodes ----------------------------------------------------------------------------

function securityGroupsOf(r: Reader): { securityGroups?: string[]; extraSecurityGroups: string[] } {
  const securityGroups = idList(r, A.securityGroups);
  const extra = (idList(r, A.extraSecurityGroups) ?? []).filter((g) => !securityGroups?.includes(g));
  const total = (securityGroups?.length ?? 1) + extra.length;
  if (total > MAX_SECURITY_GROUPS) {
    r.error(
      'InvalidAnnotation',
      securityGroups !== undefined && extra.length === 0 ? A.securityGroups : A.extraSecurityGroups,
      `a load balancer can have at most ${MAX_SECURITY_GROUPS} security groups; these annotations give it ${total}` +
        (securityGroups === undefined ? ' (counting the one Sluice manages)' : ''),
    );
  }
  if (securityGroups !== undefined && r.intent.sourceRanges.length > 0) {
    r.warn(
      'InvalidAnnotation',
      r.intent.sourceRangesField ?? 'spec.loadBalancerSourceRanges',
      `the load balancer uses your own security groups (${short(A.securityGroups)}), which Sluice never changes: ` +
        `make sure they admit only ${r.intent.sourceRanges.join(', ')}`,
    );
  }
  return { ...(securityGroups !== undefined ? { securityGroups } : {}), extraSecurityGroups: extra };
}

// AWS tag keys and values: letters, digits, spaces and _ . : / = + - @ (ELBv2 and EC2 alike).
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function additionalTagsOf(r: Reader): Record<string, string> {
  const key = A.additionalResourceTags;
  const raw = r.value(key);
  const tags: Record<string, string> = {};
  if (raw === undefined) return tags;
  for (const item of splitList(raw)) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    const problem = tagProblem(name, value);
    if (problem !== undefined) r.error('InvalidAnnotation', key, problem);
    else if (Object.hasOwn(tags, name) && tags[name] !== value) {
      r.error('InvalidAnnotation', key, `tag "${name}" is given twice, with different values`);
    } else tags[name] = value;
  }
  const names = Object.keys(tags);
  if (names.length > MAX_ADDITIONAL_TAGS) {
    r.error(
      'InvalidAnnotation',
      key,
      `${names.length} tags: AWS allows 50 per resource, and Sluice's own tags leave room for ${MAX_ADDITIONAL_TAGS}`,
    );
  } else if (names.join(',').length > MAX_TAG_VALUE) {
    // Sluice records the keys it added in one tag value, so that it can remove them when they leave the list.
    r.error(
      'InvalidAnnotation',
      key,
      `the tag keys take ${names.join(',').length} characters together; Sluice records them in one tag value ` +
        `of at most ${MAX_TAG_VALUE}: use fewer or shorter keys`,
    );
  }
  return tags;
}

function tagProblem(name: string, value: string): string | undefined {
  if (name === '') return 'a tag needs a key (key=value, or a key alone)';
  if (name.length > MAX_TAG_KEY || !TAG_TEXT.test(name)) {
    return `"${name}" is not a tag key (at most ${MAX_TAG_KEY} characters: letters, digits, spaces and _ . : / = + - @)`;
  }
  if (value.length > MAX_TAG_VALUE || !TAG_TEXT.test(value)) {
    return `the value of tag "${name}" is not a tag value (at most ${MAX_TAG_VALUE} characters: letters, digits, spaces and _ . : / = + - @)`;
  }
  if (name.toLowerCase().startsWith('aws:'))
    return `tag "${name}": keys starting with "aws:" are reserved by AWS`;
  // Ownership: sluice.dev/* (TAG and the record of additional keys) and kubernetes.io/cluster/<name>.
  if (
    (Object.values(TAG) as string[]).includes(name) ||
    name.startsWith('sluice.dev/') ||
    name.startsWith(kubernetesClusterTag(''))
  ) {
    return `tag "${name}" is one of the ownership tags Sluice finds its resources by: choose another key`;
  }
  return undefined;
}

function targetNodeLabelsOf(r: Reader, targetType: TargetType): Record<string, string | undefined> {
  const key = A.targetNodeLabels;
  const raw = r.value(key);
  const labels: Record<string, string | undefined> = {};
  if (raw === undefined) return labels;
  for (const item of splitList(raw)) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : item.slice(eq + 1).trim();
    const problem = labelKeyProblem(name) ?? (value === undefined ? undefined : labelValueProblem(value));
    if (problem !== undefined) r.error('InvalidAnnotation', key, problem);
    else if (Object.hasOwn(labels, name) && labels[name] !== value) {
      r.error('InvalidAnnotation', key, `label "${name}" is given twice, with different values`);
    } else labels[name] = value;
  }
  if (targetType === 'ip' && Object.keys(labels).length > 0) {
    r.warn(
      'InvalidAnnotation',
      key,
      "ignored: it selects the nodes of instance targets; ip targets are the Service's Pods, wherever they run",
    );
  }
  return labels;
}

// ---- What an NLB cannot do ----------------------------------------------------------------------------------

function unsupportedRequests(r: Reader, targetType: TargetType): void {
  const { intent } = r;
  const given = (...keys: string[]): string | undefined => keys.find((k) => r.value(k) !== undefined);
  const deprecated = (key: string): string => METALLB_DEPRECATED_PREFIX + key.slice(METALLB_PREFIX.length);
  if (intent.requestedAddresses.length > 0) {
    r.error(
      'Unsupported',
      given(SLUICE.addresses, METALLB.loadBalancerIPs, deprecated(METALLB.loadBalancerIPs)) ??
        'spec.loadBalancerIP',
      `a Network Load Balancer's addresses cannot be requested this way: use ${short(A.eipAllocations)} ` +
        `(Elastic IPs, internet-facing) or ${short(A.privateIPv4Addresses)} (internal), one per subnet`,
    );
  }
  if (intent.requestedPool !== undefined) {
    r.error(
      'Unsupported',
      bareMetalRequestKey(intent.annotations, 'pool'),
      'address pools are for bare metal; on AWS the load balancer gets its addresses from its subnets',
    );
  }
  if (intent.sharing !== undefined) {
    r.error(
      'Unsupported',
      bareMetalRequestKey(intent.annotations, 'sharing'),
      'Services cannot share a Network Load Balancer: each Service gets its own',
    );
  }
  intent.ports.forEach((port, i) => {
    const first = intent.ports.findIndex((p) => p.port === port.port);
    if (first !== i) {
      r.error(
        'Unsupported',
        `spec.ports[${i}]`,
        `port ${port.port} is used twice (spec.ports[${first}] ${intent.ports[first]!.protocol}, spec.ports[${i}] ` +
          `${port.protocol}): a Network Load Balancer would need one TCP_UDP listener and target group on one ` +
          'NodePort for that, which Sluice does not build; use different port numbers',
      );
    }
  });
  if (targetType === 'instance') {
    intent.ports.forEach((port, i) => {
      if (port.nodePort === undefined) {
        r.error(
          'Unsupported',
          `spec.ports[${i}]`,
          `port ${port.port} has no nodePort (spec.allocateLoadBalancerNodePorts: false), and instance targets ` +
            `receive traffic on NodePorts: set ${short(A.nlbTargetType)}: "ip" to send it to the Pods directly`,
        );
      }
    });
    if (intent.trafficPolicy === 'Local' && intent.healthCheckNodePort === undefined) {
      r.error(
        'InvalidSpec',
        'spec.healthCheckNodePort',
        'externalTrafficPolicy Local with instance targets needs spec.healthCheckNodePort: it tells the load ' +
          'balancer which nodes have a ready Pod',
      );
    }
  }
}
