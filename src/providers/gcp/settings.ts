// What a Service asks of a GCP passthrough load balancer: its GKE annotations, the portable
// sluice.dev/* keys (already read into the intent by decide()), and its spec, validated against
// what Compute can build. Pure. Every problem names the key and the value and says what is accepted.
import { parseBoolean, SLUICE } from '../../intent/annotations.ts';
import type { LoadBalancerIntent, Problem, ProblemReason } from '../../intent/types.ts';
import type { GcpConfig, GcpSettings, L4Protocol, Scheme } from './model.ts';

export const GKE = {
  type: 'networking.gke.io/load-balancer-type',
  legacyType: 'cloud.google.com/load-balancer-type',
  subnet: 'networking.gke.io/internal-load-balancer-subnet',
  globalAccess: 'networking.gke.io/internal-load-balancer-allow-global-access',
  tier: 'cloud.google.com/network-tier',
} as const;

/** GKE keys Sluice knows but does not implement: said so, never silently ignored. */
export const UNSUPPORTED_GKE_KEYS: Readonly<Record<string, string>> = {
  'cloud.google.com/l4-rbs': 'Sluice always builds backend-service based load balancers',
  'networking.gke.io/weighted-load-balancing':
    'weighted load balancing needs NEG backends, which Sluice does not use',
  'cloud.google.com/neg': 'Sluice targets nodes through instance groups, not network endpoint groups',
  'networking.gke.io/load-balancer-ip-addresses': 'name the address with spec.loadBalancerIP instead',
  'cloud.google.com/backend-config': 'BackendConfig is for Ingress, not passthrough load balancers',
  'alpha.cloud.google.com/load-balancer-backend-share': 'every Service gets its own backend services',
  'networking.gke.io/load-balancer-subnet': `use ${GKE.subnet}`,
};

const SUBNET_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function readGcpSettings(
  intent: LoadBalancerIntent,
  config: Pick<GcpConfig, 'subnetwork'>,
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
    else report('error', 'InvalidAnnotation', key, `"${given}" is not Internal or External`);
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
      `says ${disagreeing.scheme.toLowerCase()} but ${schemes[0].key} says ${schemes[0].scheme.toLowerCase()}`,
    );
  }
  const scheme: Scheme = schemes[0]?.scheme ?? (intent.internal ? 'INTERNAL' : 'EXTERNAL');
  const internal = scheme === 'INTERNAL';

  let subnetwork: string | undefined;
  const subnetValue = value(GKE.subnet);
  if (subnetValue !== undefined) {
    if (!internal)
      report('warning', 'InvalidAnnotation', GKE.subnet, 'has no effect on an external load balancer');
    else if (
      SUBNET_NAME.test(subnetValue) ||
      /\/subnetworks\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(subnetValue)
    ) {
      subnetwork = subnetValue;
    } else
      report('error', 'InvalidAnnotation', GKE.subnet, `"${subnetValue}" is not a subnetwork name or URL`);
  }
  if (internal && subnetwork === undefined && subnetValue === undefined) {
    subnetwork = config.subnetwork;
    if (subnetwork === undefined) {
      report(
        'error',
        'InvalidSpec',
        GKE.subnet,
        `an internal load balancer needs a subnetwork: set ${GKE.subnet} or start Sluice with --gcp-subnetwork`,
      );
    }
  }

  let allowGlobalAccess = false;
  const globalValue = value(GKE.globalAccess);
  if (globalValue !== undefined) {
    if (globalValue !== 'true' && globalValue !== 'false') {
      report('error', 'InvalidAnnotation', GKE.globalAccess, `"${globalValue}" is not "true" or "false"`);
    } else if (!internal) {
      report('warning', 'InvalidAnnotation', GKE.globalAccess, 'has no effect on an external load balancer');
    } else allowGlobalAccess = globalValue === 'true';
  }

  let networkTier: GcpSettings['networkTier'] = 'PREMIUM';
  const tierValue = value(GKE.tier);
  if (tierValue !== undefined) {
    const lower = tierValue.toLowerCase();
    if (lower !== 'premium' && lower !== 'standard') {
      report('error', 'InvalidAnnotation', GKE.tier, `"${tierValue}" is not Premium or Standard`);
    } else if (internal) {
      report('warning', 'InvalidAnnotation', GKE.tier, 'has no effect on an internal load balancer');
    } else networkTier = lower === 'standard' ? 'STANDARD' : 'PREMIUM';
  }

  for (const [key, why] of Object.entries(UNSUPPORTED_GKE_KEYS)) {
    if (value(key) !== undefined) report('warning', 'Unsupported', key, `has no effect: ${why}`);
  }

  // Addresses and families: a passthrough load balancer here serves one IPv4 address.
  if (intent.ipFamilyPolicy === 'RequireDualStack' || !intent.ipFamilies.includes('IPv4')) {
    report(
      'error',
      'Unsupported',
      'spec.ipFamilies',
      'Sluice builds IPv4 load balancers on GCP; IPv4 is required',
    );
  }
  const requested = intent.requestedAddresses;
  if (requested.length > 1 || requested.some((a) => a.includes(':'))) {
    report(
      'error',
      'Unsupported',
      'spec.loadBalancerIP',
      `${requested.join(', ')}: one IPv4 address only on GCP`,
    );
  }
  const sourceRanges = intent.sourceRanges.length > 0 ? [...intent.sourceRanges] : ['0.0.0.0/0'];
  const v6 = sourceRanges.filter((r) => r.includes(':'));
  if (v6.length > 0) {
    report(
      'error',
      'Unsupported',
      intent.sourceRangesField ?? 'spec.loadBalancerSourceRanges',
      `${v6.join(', ')}: the load balancer is IPv4`,
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
        `${port.protocol}/${port.port}: passthrough load balancers here forward TCP and UDP`,
      );
  }
  for (const list of Object.values(ports))
    list.splice(0, list.length, ...[...new Set(list)].sort((a, b) => a - b));

  let healthCheck: GcpSettings['healthCheck'] = { kind: 'shared' };
  if (intent.trafficPolicy === 'Local') {
    if (intent.healthCheckNodePort === undefined) {
      report(
        'error',
        'InvalidSpec',
        'spec.healthCheckNodePort',
        'externalTrafficPolicy Local needs a healthCheckNodePort',
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
