// decide(): Service → LoadBalancerIntent + problems. Pure: no I/O, no clock, no randomness.
// Every value a user can get wrong is checked here and becomes a Problem naming the field.
import type { V1Service } from '@kubernetes/client-node';
import ipaddr from 'ipaddr.js';
// Pure helper (no I/O): the same canonical selector text the rest of Sluice uses.
import { selectorText } from '../kube/label-selector.ts';
import {
  METALLB,
  METALLB_DEPRECATED_PREFIX,
  METALLB_PREFIX,
  parseBoolean,
  SLUICE,
  SOURCE_RANGES_LEGACY,
  splitList,
} from './annotations.ts';
import type {
  Decision,
  IPFamily,
  IPFamilyPolicy,
  PortIntent,
  Problem,
  Protocol,
  SharingIntent,
} from './types.ts';

export function decide(service: V1Service): Decision {
  const problems: Problem[] = [];
  const annotations = withDeprecatedMetalLB(service.metadata?.annotations ?? {}, problems);
  const spec = service.spec ?? {};

  const ports: PortIntent[] = (spec.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    protocol: (p.protocol ?? 'TCP') as Protocol,
    port: p.port,
    ...(p.nodePort ? { nodePort: p.nodePort } : {}),
    ...(p.targetPort !== undefined ? { targetPort: targetPortOf(p.targetPort) } : {}),
  }));
  if (ports.length === 0) {
    problems.push(error('InvalidSpec', 'spec.ports', 'a LoadBalancer Service needs at least one port'));
  }

  const requested = requestedAddressesOf(annotations, spec.loadBalancerIP, problems);
  const requestedAddresses = requested.addresses;
  const requestedPool = agreeingValue(
    [
      [SLUICE.pool, annotations[SLUICE.pool]?.trim()],
      [METALLB.addressPool, annotations[METALLB.addressPool]?.trim()],
    ],
    problems,
  );

  const internal = booleanAnnotation(annotations, SLUICE.internal, problems);
  const proxyProtocol = booleanAnnotation(annotations, SLUICE.proxyProtocol, problems);
  applyTls(annotations, ports, problems);

  const trafficPolicy = spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  const ipFamilyPolicy: IPFamilyPolicy =
    spec.ipFamilyPolicy === 'PreferDualStack' || spec.ipFamilyPolicy === 'RequireDualStack'
      ? spec.ipFamilyPolicy
      : 'SingleStack';
  const ipFamilies = familiesOf(spec.ipFamilies ?? [], ipFamilyPolicy, requested, problems);
  const sharing = sharingOf(annotations, trafficPolicy, spec.selector ?? {}, problems);

  return {
    intent: {
      service: {
        namespace: service.metadata?.namespace ?? 'default',
        name: service.metadata?.name ?? '',
        uid: service.metadata?.uid ?? '',
      },
      ...(spec.loadBalancerClass ? { loadBalancerClass: spec.loadBalancerClass } : {}),
      internal,
      ports,
      proxyProtocol,
      trafficPolicy,
      ...(spec.healthCheckNodePort ? { healthCheckNodePort: spec.healthCheckNodePort } : {}),
      ...sourceRangesOf(service, problems),
      requestedAddresses,
      ipFamilies,
      ipFamilyPolicy,
      ...(requestedPool ? { requestedPool } : {}),
      ...(sharing ? { sharing } : {}),
      labels: { ...(service.metadata?.labels ?? {}) },
      sessionAffinity: spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None',
      annotations: { ...(service.metadata?.annotations ?? {}) },
      // Cluster facts: filled in by the controller for providers that need them.
      nodes: [],
      endpoints: [],
    },
    problems,
  };
}

const METALLB_READ_SUFFIXES = new Set(
  [METALLB.loadBalancerIPs, METALLB.addressPool, METALLB.allowSharedIP].map((k) =>
    k.slice(METALLB_PREFIX.length),
  ),
);

/**
 * MetalLB's keys under the old metallb.universe.tf/ prefix are read as their metallb.io/ twins, with a
 * warning (as MetalLB does). Both set and different is a conflict; the new key's value is used.
 */
function withDeprecatedMetalLB(
  annotations: Record<string, string>,
  problems: Problem[],
): Record<string, string> {
  const result = { ...annotations };
  for (const [key, value] of Object.entries(annotations)) {
    const suffix = key.slice(METALLB_DEPRECATED_PREFIX.length);
    // Only the keys Sluice reads: MetalLB itself wrote others (ip-allocated-from-pool), not the user.
    if (!key.startsWith(METALLB_DEPRECATED_PREFIX) || !METALLB_READ_SUFFIXES.has(suffix)) continue;
    const current = METALLB_PREFIX + suffix;
    const existing = annotations[current];
    if (existing !== undefined && existing.trim() !== value.trim()) {
      problems.push(
        error(
          'ConflictingAnnotations',
          `${key},${current}`,
          `these disagree: ${key}="${value}", ${current}="${existing}"`,
        ),
      );
      continue;
    }
    problems.push({
      reason: 'DeprecatedAnnotation',
      field: key,
      severity: 'warning',
      message: `deprecated: use ${current}`,
    });
    result[current] = value;
  }
  return result;
}

/**
 * The families to serve, in spec.ipFamilies order (the apiserver fills it in from ipFamilyPolicy; a manifest
 * read offline may lack it, and then the requested addresses, or IPv4, decide). A requested address of a family
 * the Service does not have is an error: kube-proxy would not route it.
 */
function familiesOf(
  specFamilies: string[],
  policy: IPFamilyPolicy,
  requested: { addresses: string[]; field?: string },
  problems: Problem[],
): IPFamily[] {
  const given = [...new Set(specFamilies.filter((f): f is IPFamily => f === 'IPv4' || f === 'IPv6'))];
  const requestedFamilies = [...new Set(requested.addresses.map(familyOf))];
  let families: IPFamily[] =
    given.length > 0 ? given : requestedFamilies.length > 0 ? requestedFamilies : ['IPv4'];
  if (policy === 'SingleStack') families = families.slice(0, 1);
  const missing = requestedFamilies.filter((f) => !families.includes(f));
  if (missing.length > 0) {
    problems.push(
      error(
        'InvalidAnnotation',
        requested.field ?? 'spec.loadBalancerIP',
        `an ${missing.join(' and ')} address is requested, but the Service serves ${families.join(' and ')} ` +
          `(spec.ipFamilies, spec.ipFamilyPolicy ${policy}); ` +
          'request addresses of its families, or make it dual-stack with spec.ipFamilyPolicy: PreferDualStack',
      ),
    );
  }
  return families;
}

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function sharingOf(
  annotations: Record<string, string>,
  trafficPolicy: 'Cluster' | 'Local',
  selector: Record<string, string>,
  problems: Problem[],
): SharingIntent | undefined {
  const key = agreeingValue(
    [
      [SLUICE.sharingKey, annotations[SLUICE.sharingKey]?.trim()],
      [METALLB.allowSharedIP, annotations[METALLB.allowSharedIP]?.trim()],
    ],
    problems,
  );
  const crossRaw = annotations[SLUICE.sharingCrossNamespace];
  const crossNamespace = splitList(crossRaw ?? '');
  for (const namespace of crossNamespace) {
    if (namespace !== '*' && !NAMESPACE_NAME.test(namespace)) {
      problems.push(
        error(
          'InvalidAnnotation',
          SLUICE.sharingCrossNamespace,
          `"${namespace}" is not a namespace name (or "*" for any namespace)`,
        ),
      );
    }
  }
  if (key === undefined) {
    if (crossNamespace.length > 0) {
      problems.push(
        error(
          'InvalidAnnotation',
          SLUICE.sharingCrossNamespace,
          `needs a sharing key (${SLUICE.sharingKey} or ${METALLB.allowSharedIP})`,
        ),
      );
    }
    return undefined;
  }
  return {
    key,
    crossNamespace,
    // Local Services keep traffic on the nodes of their own endpoints: only Services with the same
    // backends may share an address (MetalLB's rule).
    backendKey: trafficPolicy === 'Local' ? selectorText(selector) : '',
  };
}

/** client-node types targetPort as IntOrString (a number or a string); a numeric string is a number. */
function targetPortOf(value: unknown): number | string {
  if (typeof value === 'number') return value;
  const text = String(value);
  return /^[0-9]+$/.test(text) ? Number(text) : text;
}

function error(reason: Problem['reason'], field: string, message: string): Problem {
  return { reason, field, message, severity: 'error' };
}

function familyOf(address: string): IPFamily {
  return ipaddr.parse(address).kind() === 'ipv6' ? 'IPv6' : 'IPv4';
}

/** Canonical text of an address, or undefined when it is not one. */
export function canonicalAddress(text: string): string | undefined {
  if (!ipaddr.isValid(text) || text.includes('%')) return undefined;
  const parsed = ipaddr.parse(text);
  // Only dotted quads count as IPv4; ipaddr.js would also accept forms like "10.1".
  if (parsed.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return parsed.toString();
}

/** When several keys can say the same thing, they must agree; returns the agreed value. */
function agreeingValue(
  sources: Array<[string, string | undefined]>,
  problems: Problem[],
): string | undefined {
  const given = sources.filter((s): s is [string, string] => s[1] !== undefined && s[1] !== '');
  const first = given[0];
  if (!first) return undefined;
  const disagreeing = given.filter(([, value]) => value !== first[1]);
  if (disagreeing.length > 0) {
    const listing = given.map(([key, value]) => `${key}="${value}"`).join(', ');
    problems.push(
      error('ConflictingAnnotations', given.map(([k]) => k).join(','), `these disagree: ${listing}`),
    );
    return undefined;
  }
  return first[1];
}

function requestedAddressesOf(
  annotations: Record<string, string>,
  loadBalancerIP: string | undefined,
  problems: Problem[],
): { addresses: string[]; field?: string } {
  const sources: Array<[string, string | undefined]> = [
    [SLUICE.addresses, annotations[SLUICE.addresses]],
    [METALLB.loadBalancerIPs, annotations[METALLB.loadBalancerIPs]],
    ['spec.loadBalancerIP', loadBalancerIP],
  ];
  const parsed: Array<[string, string]> = [];
  let invalid = false;
  for (const [key, value] of sources) {
    if (value === undefined || value.trim() === '') continue;
    const canonical: string[] = [];
    for (const item of splitList(value)) {
      const address = canonicalAddress(item);
      if (address === undefined) {
        problems.push(error('InvalidAnnotation', key, `"${item}" is not an IP address`));
        invalid = true;
      } else canonical.push(address);
    }
    parsed.push([key, canonical.join(',')]);
  }
  if (invalid) return { addresses: [] };
  // Sources agree when they name the same set of addresses, in whatever order; the first
  // source's order is kept (it decides the order of ipFamilies).
  const given = parsed.filter(([, value]) => value !== '');
  const sorted = (value: string): string => splitList(value).sort().join(',');
  const agreed = agreeingValue(
    given.map(([key, value]) => [key, sorted(value)]),
    problems,
  );
  if (agreed === undefined) return { addresses: [] };
  const addresses = splitList(given[0]![1]);
  const byFamily = new Map<IPFamily, string[]>();
  for (const a of addresses) byFamily.set(familyOf(a), [...(byFamily.get(familyOf(a)) ?? []), a]);
  for (const [family, list] of byFamily) {
    if (list.length > 1) {
      const key = given[0]![0];
      problems.push(
        error(
          'InvalidAnnotation',
          key,
          `at most one ${family} address may be requested, got ${list.join(', ')}`,
        ),
      );
      return { addresses: [] };
    }
  }
  return addresses.length > 0 ? { addresses, field: given[0]![0] } : { addresses };
}

function booleanAnnotation(annotations: Record<string, string>, key: string, problems: Problem[]): boolean {
  const raw = annotations[key];
  if (raw === undefined || raw.trim() === '') return false;
  const value = parseBoolean(raw);
  if (value === undefined) {
    problems.push(error('InvalidAnnotation', key, `"${raw}" is not "true" or "false"`));
    return false;
  }
  return value;
}

function applyTls(annotations: Record<string, string>, ports: PortIntent[], problems: Problem[]): void {
  const certificates = splitList(annotations[SLUICE.tlsCertificate] ?? '');
  const tlsPortsRaw = annotations[SLUICE.tlsPorts];
  const policy = annotations[SLUICE.tlsPolicy]?.trim() || undefined;
  if (certificates.length === 0) {
    for (const key of [SLUICE.tlsPorts, SLUICE.tlsPolicy]) {
      if (annotations[key]?.trim()) {
        problems.push(
          error('InvalidAnnotation', key, `needs ${SLUICE.tlsCertificate} to name a certificate`),
        );
      }
    }
    return;
  }
  // Like the AWS key: a certificate without a port list means TLS on every port.
  const wanted = tlsPortsRaw?.trim() ? splitList(tlsPortsRaw) : ['*'];
  for (const item of wanted) {
    const matches = item === '*' ? ports : ports.filter((p) => p.name === item || String(p.port) === item);
    if (matches.length === 0) {
      problems.push(
        error(
          'InvalidAnnotation',
          SLUICE.tlsPorts,
          `"${item}" is neither a port number nor a port name of this Service`,
        ),
      );
    }
    for (const port of matches) port.tls = { certificates, ...(policy ? { policy } : {}) };
  }
}

function sourceRangesOf(
  service: V1Service,
  problems: Problem[],
): { sourceRanges: string[]; sourceRangesField?: string } {
  const fromSpec = service.spec?.loadBalancerSourceRanges ?? [];
  const annotations = service.metadata?.annotations ?? {};
  // spec wins over annotations, as upstream: the annotations are read only when the spec is empty.
  const [field, values] =
    fromSpec.length > 0
      ? ['spec.loadBalancerSourceRanges', fromSpec]
      : annotations[SLUICE.sourceRanges] !== undefined
        ? [SLUICE.sourceRanges, splitList(annotations[SLUICE.sourceRanges] ?? '')]
        : [SOURCE_RANGES_LEGACY, splitList(annotations[SOURCE_RANGES_LEGACY] ?? '')];
  // Keys that lost to a higher-priority source are ignored; say so when they say something else.
  for (const ignored of [SLUICE.sourceRanges, SOURCE_RANGES_LEGACY]) {
    const raw = annotations[ignored];
    if (ignored === field || raw === undefined) continue;
    const differs =
      splitList(raw).sort().join(',') !==
      [...values]
        .map((v) => v.trim())
        .sort()
        .join(',');
    if (differs) {
      problems.push({
        reason: 'ConflictingAnnotations',
        field: ignored,
        severity: 'warning',
        message: `ignored: ${field} gives the source ranges (${values.join(', ')})`,
      });
    }
  }
  const ranges: string[] = [];
  for (const value of values) {
    const range = canonicalCidr(value.trim());
    if (range === undefined) {
      problems.push(
        error('InvalidAnnotation', field, `"${value}" is not a CIDR (for example 203.0.113.0/24)`),
      );
    } else ranges.push(range);
  }
  return ranges.length > 0 ? { sourceRanges: ranges, sourceRangesField: field } : { sourceRanges: ranges };
}

/**
 * Canonical network/prefix of a CIDR with host bits cleared; undefined when it is not one.
 * Stricter than ipaddr.parseCIDR, which reads "010.0.0.0/8" as octal (8.0.0.0/8) and "10/8"
 * as 0.0.0.10/8: the address must be one canonicalAddress accepts, the prefix plain decimal.
 */
function canonicalCidr(text: string): string | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = canonicalAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const parsed = ipaddr.parse(address);
  const prefix = Number(prefixText);
  if (prefix > (parsed.kind() === 'ipv6' ? 128 : 32)) return undefined;
  return `${networkOf(parsed, prefix)}/${prefix}`;
}

function networkOf(address: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): string {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes).toString();
}
