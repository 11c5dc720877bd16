// What a Service asks of a GCP passthrough load balancer: its GKE annotations, the portable
// sluice.dev/* keys (already read into the intent by decide()), and its spec, validated against
// what Compute can build. Pure. Every problem names the key and the value and says what is accepted.
//
// A blank annotation value counts as not set (templated manifests often render empty values).
// Keys of other clouds (service.beta.kubernetes.io/aws-*, azure-*) are not GCP's and are ignored;
// sluice.dev/tls-* and sluice.dev/proxy-protocol are refused by the controller (capabilities), not here.
import { bareMetalRequestKey, parseBoolean, SLUICE } from '../../intent/annotations.ts';
import type { LoadBalancerIntent, Problem, ProblemReason } from '../../intent/types.ts';
import type { GcpConfig, GcpSettings, L4Protocol, Scheme } from './model.ts';
import { firewallPorts } from './ports.ts';

/** The GKE keys Sluice reads. */
export const GKE = {
  type: 'networking.gke.io/load-balancer-type',
  legacyType: 'cloud.google.com/load-balancer-type',
  subnet: 'networking.gke.io/internal-load-balancer-subnet',
  /** The newer spelling (GKE falls back to `subnet`); both are read, they must agree. */
  newSubnet: 'networking.gke.io/load-balancer-subnet',
  globalAccess: 'networking.gke.io/internal-load-balancer-allow-global-access',
  tier: 'cloud.google.com/network-tier',
} as const;

/** GKE keys Sluice knows but does not implement: said so, never silently ignored. */
export const UNSUPPORTED_GKE_KEYS: Readonly<Record<string, string>> = {
  'cloud.google.com/l4-rbs': 'Sluice always builds backend-service based load balancers',
  'networking.gke.io/weighted-load-balancing':
    'weighted load balancing needs NEG backends, which Sluice does not use',
  'networking.gke.io/l4-strong-session-affinity':
    'strong session affinity (connection tracking) is not implemented; spec.sessionAffinity ClientIP is',
  'cloud.google.com/neg': 'Sluice targets nodes through instance groups, not network endpoint groups',
  'networking.gke.io/load-balancer-ip-addresses': 'name the address by its IP in spec.loadBalancerIP instead',
  'cloud.google.com/backend-config': 'BackendConfig is for Ingress, not passthrough load balancers',
  'alpha.cloud.google.com/load-balancer-backend-share': 'every Service gets its own backend services',
  'cloud.google.com/load-balancer-backend-share': 'every Service gets its own backend services',
  'networking.gke.io/l4lb-config': 'L4LBConfig (logging) is a GKE resource Sluice does not read',
  'networking.gke.io/custom-forwarding-rule': 'forwarding rules get Sluice’s deterministic names',
  'networking.gke.io/ip-collection-v6': 'Sluice builds IPv4 load balancers on GCP',
};

/** networking.gke.io/* keys GKE's own controllers write on Services (results, not settings): ignored. */
const GKE_OUTPUT_KEYS: ReadonlySet<string> = new Set([
  'networking.gke.io/backend-service',
  'networking.gke.io/target-pool',
]);

const GKE_PREFIX = 'networking.gke.io/';
const READ_KEYS: ReadonlySet<string> = new Set(Object.values(GKE));

/** A subnetwork name (RFC 1035) or a URL ending in /subnetworks/<name>, with its region if it says one. */
const SUBNET_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBNET_URL =
  /(?:^|\/)(?:projects\/[^/]+\/)?regions\/([^/]+)\/subnetworks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function readGcpSettings(
  intent: LoadBalancerIntent,
  // Only the subnetwork (and, when given, the region) matter here; GcpConfig fits.
  config: Pick<GcpConfig, 'subnetwork'> & Partial<Pick<GcpConfig, 'region'>>,
): { settings?: GcpSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const report = (severity: Problem['severity'], reason: ProblemReason, field: string, message: string) =>
    problems.push({ severity, reason, field, message });
  const annotations = intent.annotations;
  // Trimmed; blank counts as not set, as it does for every other key (decide() and the AWS reader).
  const value = (key: string): string | undefined => {
    const raw = Object.hasOwn(annotations, key) ? annotations[key]?.trim() : undefined;
    return raw === '' ? undefined : raw;
  };

  // Scheme: the GKE keys (either spelling, any case) and the portable sluice.dev/internal must agree.
  const schemes: Array<{ key: string; scheme: Scheme }> = [];
  for (const key of [GKE.type, GKE.legacyType]) {
    const given = value(key);
    if (given === undefined) continue;
    const lower = given.toLowerCase();
    if (lower === 'internal') schemes.push({ key, scheme: 'INTERNAL' });
    else if (lower === 'external') schemes.push({ key, scheme: 'EXTERNAL' });
    else
      report(
        'error',
        'InvalidAnnotation',
        key,
        `"${given}" is not Internal or External (any case; absent: external)`,
      );
  }
  // The portable key votes only when it is a boolean: decide() already reported a bad or blank value
  // (and read it as false), and a second, "conflicting" error about it would only mislead.
  const portable = value(SLUICE.internal);
  if (portable !== undefined && parseBoolean(portable) !== undefined) {
    schemes.push({ key: SLUICE.internal, scheme: intent.internal ? 'INTERNAL' : 'EXTERNAL' });
  }
  const disagreeing = schemes.find((s) => s.scheme !== schemes[0]?.scheme);
  if (disagreeing && schemes[0]) {
    report(
      'error',
      'ConflictingAnnotations',
      disagreeing.key,
      `says ${disagreeing.scheme.toLowerCase()} but ${schemes[0].key} says ${schemes[0].scheme.toLowerCase()}: keep one of them`,
    );
  }
  const scheme: Scheme = schemes[0]?.scheme ?? (intent.internal ? 'INTERNAL' : 'EXTERNAL');
  const internal = scheme === 'INTERNAL';

  const subnetwork = subnetworkOf(value, internal, config, report);

  let allowGlobalAccess = false;
  const globalValue = value(GKE.globalAccess);
  if (globalValue !== undefined) {
    const parsed = parseBoolean(globalValue);
    if (parsed === undefined) {
      report('error', 'InvalidAnnotation', GKE.globalAccess, `"${globalValue}" is not "true" or "false"`);
    } else if (!internal) {
      report(
        'warning',
        'InvalidAnnotation',
        GKE.globalAccess,
        `"${globalValue}" has no effect on an external load balancer (internal only)`,
      );
    } else allowGlobalAccess = parsed;
  }

  let networkTier: GcpSettings['networkTier'] = 'PREMIUM';
  const tierValue = value(GKE.tier);
  if (tierValue !== undefined) {
    const lower = tierValue.toLowerCase();
    if (lower !== 'premium' && lower !== 'standard') {
      report('error', 'InvalidAnnotation', GKE.tier, `"${tierValue}" is not Premium or Standard (any case)`);
    } else if (internal) {
      report(
        'warning',
        'InvalidAnnotation',
        GKE.tier,
        `"${tierValue}" has no effect on an internal load balancer (external only)`,
      );
    } else networkTier = lower === 'standard' ? 'STANDARD' : 'PREMIUM';
  }

  for (const key of Object.keys(annotations).sort()) {
    if (value(key) === undefined) continue;
    const why = UNSUPPORTED_GKE_KEYS[key];
    if (why !== undefined) report('warning', 'Unsupported', key, `has no effect: ${why}`);
    else if (key.startsWith(GKE_PREFIX) && !READ_KEYS.has(key) && !GKE_OUTPUT_KEYS.has(key)) {
      report(
        'warning',
        'Unsupported',
        key,
        `is not a GKE key Sluice implements; it has no effect (Sluice reads ${GKE.type}, ${GKE.subnet}, ${GKE.newSubnet}, ${GKE.globalAccess})`,
      );
    }
  }

  // Address pools and shared addresses are bare-metal ideas: refused, never silently ignored.
  if (intent.requestedPool !== undefined) {
    report(
      'error',
      'Unsupported',
      bareMetalRequestKey(annotations, 'pool'),
      'address pools are for bare metal; on GCP Sluice reserves a static address for the Service (or uses the one ' +
        'you reserved and name in spec.loadBalancerIP); remove the annotation',
    );
  }
  if (intent.sharing !== undefined) {
    report(
      'error',
      'Unsupported',
      bareMetalRequestKey(annotations, 'sharing'),
      'Services cannot share an address on GCP with Sluice: each Service gets its own forwarding rules and address; ' +
        'remove the annotation, or serve the ports from one Service',
    );
  }

  // Addresses and families: a passthrough load balancer here serves one IPv4 address.
  const families = intent.ipFamilies.length > 0 ? intent.ipFamilies : ['IPv4'];
  if (!families.includes('IPv4')) {
    report(
      'error',
      'Unsupported',
      'spec.ipFamilies',
      `${families.join(', ')}: Sluice builds IPv4 load balancers on GCP; IPv4 is required`,
    );
  } else if (families.includes('IPv6') && intent.ipFamilyPolicy === 'RequireDualStack') {
    report(
      'error',
      'Unsupported',
      'spec.ipFamilyPolicy',
      'RequireDualStack: Sluice builds IPv4 load balancers on GCP; use PreferDualStack or SingleStack',
    );
  } else if (families.includes('IPv6')) {
    report(
      'warning',
      'Unsupported',
      'spec.ipFamilies',
      `${intent.ipFamilyPolicy}: Sluice builds IPv4 load balancers on GCP; the IPv6 family is not served`,
    );
  }
  const requested = intent.requestedAddresses;
  if (requested.length > 1 || requested.some((a) => a.includes(':'))) {
    report(
      'error',
      'Unsupported',
      'spec.loadBalancerIP',
      `${requested.join(', ')}: a GCP passthrough load balancer here has one IPv4 address; ask for one IPv4 address`,
    );
  }
  const sourceRanges = intent.sourceRanges.length > 0 ? [...intent.sourceRanges] : ['0.0.0.0/0'];
  const v6 = sourceRanges.filter((r) => r.includes(':'));
  if (v6.length > 0) {
    report(
      'error',
      'Unsupported',
      intent.sourceRangesField ?? 'spec.loadBalancerSourceRanges',
      `${v6.join(', ')}: the load balancer is IPv4; give IPv4 ranges only`,
    );
  }

  const ports: Record<L4Protocol, number[]> = { TCP: [], UDP: [] };
  for (const port of intent.ports) {
    if (port.protocol === 'TCP' || port.protocol === 'UDP') ports[port.protocol].push(port.port);
    else
      report(
        'error',
        'Unsupported',
        'spec.ports',
        `${port.protocol}/${port.port}${port.name ? ` ("${port.name}")` : ''}: passthrough load balancers here forward TCP and UDP only`,
      );
  }
  for (const list of Object.values(ports))
    list.splice(0, list.length, ...[...new Set(list)].sort((a, b) => a - b));
  const widened = firewallPorts(ports).widened;
  if (widened.length > 0) {
    report(
      'warning',
      'Unsupported',
      'spec.ports',
      `a firewall rule holds at most 100 ports or ranges, so the client firewall also opens ${widened.join(', ')} between the Service's ports`,
    );
  }

  let healthCheck: GcpSettings['healthCheck'] = { kind: 'shared' };
  if (intent.trafficPolicy === 'Local') {
    if (intent.healthCheckNodePort === undefined) {
      report(
        'error',
        'InvalidSpec',
        'spec.healthCheckNodePort',
        'externalTrafficPolicy Local needs a healthCheckNodePort (Kubernetes allocates one unless it was set to 0)',
      );
    } else healthCheck = { kind: 'service', port: intent.healthCheckNodePort };
  }

  if (problems.some((p) => p.severity === 'error')) return { problems };
  return {
    problems,
    settings: {
      scheme,
      ...(internal && subnetwork !== undefined ? { subnetwork } : {}),
      allowGlobalAccess,
      networkTier,
      ...(requested[0] !== undefined ? { requestedIp: requested[0] } : {}),
      sessionAffinity: intent.sessionAffinity === 'ClientIP' ? 'CLIENT_IP' : 'NONE',
      sourceRanges,
      healthCheck,
      ports,
    },
  };
}

/**
 * The internal load balancer's subnetwork: the annotation (either spelling; both given must agree),
 * else the configured one; none at all is an error naming both ways to give one.
 */
function subnetworkOf(
  value: (key: string) => string | undefined,
  internal: boolean,
  config: Pick<GcpConfig, 'subnetwork'> & Partial<Pick<GcpConfig, 'region'>>,
  report: (severity: Problem['severity'], reason: ProblemReason, field: string, message: string) => void,
): string | undefined {
  const given = [GKE.subnet, GKE.newSubnet].flatMap((key) => {
    const v = value(key);
    return v === undefined ? [] : [{ key, value: v }];
  });
  const [first, second] = given;
  if (!internal) {
    for (const g of given) {
      report(
        'warning',
        'InvalidAnnotation',
        g.key,
        `"${g.value}" has no effect on an external load balancer (internal only)`,
      );
    }
    return undefined;
  }
  if (first && second && first.value !== second.value) {
    report(
      'error',
      'ConflictingAnnotations',
      second.key,
      `says "${second.value}" but ${first.key} says "${first.value}": keep one of them`,
    );
    return undefined;
  }
  if (first) {
    const url = SUBNET_URL.exec(first.value);
    if (!SUBNET_NAME.test(first.value) && !url) {
      report(
        'error',
        'InvalidAnnotation',
        first.key,
        `"${first.value}" is not a subnetwork name (lowercase letters, digits, "-") or a URL ending in regions/<region>/subnetworks/<name>`,
      );
      return undefined;
    }
    if (url && config.region !== undefined && url[1] !== config.region) {
      report(
        'error',
        'InvalidAnnotation',
        first.key,
        `"${first.value}" is in region ${url[1]}; Sluice builds load balancers in ${config.region}`,
      );
      return undefined;
    }
    return first.value;
  }
  if (config.subnetwork === undefined) {
    report(
      'error',
      'InvalidSpec',
      GKE.subnet,
      `an internal load balancer needs a subnetwork (SubnetRequired): set ${GKE.subnet} on the Service or start Sluice with --gcp-subnetwork`,
    );
  }
  return config.subnetwork;
}
