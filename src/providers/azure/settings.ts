// A Service's Azure annotations → AzureSettings + problems. Pure: no I/O, no clock.
//
// Reads the native keys (service.beta.kubernetes.io/azure-*, as the Azure cloud provider documents them) and the
// portable sluice.dev/* keys decide() already put into the intent. Every value is validated (a bad one is a Problem
// naming its key, with what to write instead) and every default is filled in, so removing an annotation puts the
// setting back to its default. A blank annotation value counts as not set (templated manifests render empty values).
//
// Scope of this version: IPv4 frontends. IPv6 and dual-stack keys are refused by name (Unsupported), not ignored.

import { bareMetalRequestKey, parseBoolean, SLUICE, splitList } from '../../intent/annotations.ts';
import { canonicalAddress } from '../../intent/decide.ts';
import type { LoadBalancerIntent, Problem, ProblemReason } from '../../intent/types.ts';
import type {
  AccessSettings,
  AzureSettings,
  ProbeProtocol,
  ProbeSettings,
  PublicAddressSource,
} from './model.ts';

/** Every native key Sluice reads starts with this. */
export const AZURE_ANNOTATION_PREFIX = 'service.beta.kubernetes.io/azure-';

/** The native annotation keys Sluice honours (the source-ranges keys are read by decide()). */
export const AZURE_ANNOTATIONS = {
  internal: 'service.beta.kubernetes.io/azure-load-balancer-internal',
  internalSubnet: 'service.beta.kubernetes.io/azure-load-balancer-internal-subnet',
  pipName: 'service.beta.kubernetes.io/azure-pip-name',
  resourceGroup: 'service.beta.kubernetes.io/azure-load-balancer-resource-group',
  ipv4: 'service.beta.kubernetes.io/azure-load-balancer-ipv4',
  dnsLabelName: 'service.beta.kubernetes.io/azure-dns-label-name',
  probeProtocol: 'service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol',
  probeRequestPath: 'service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path',
  probeInterval: 'service.beta.kubernetes.io/azure-load-balancer-health-probe-interval',
  probeNumOfProbe: 'service.beta.kubernetes.io/azure-load-balancer-health-probe-num-of-probe',
  tcpIdleTimeout: 'service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout',
  disableTcpReset: 'service.beta.kubernetes.io/azure-load-balancer-disable-tcp-reset',
  disableFloatingIp: 'service.beta.kubernetes.io/azure-disable-load-balancer-floating-ip',
  allowedServiceTags: 'service.beta.kubernetes.io/azure-allowed-service-tags',
  allowedIpRanges: 'service.beta.kubernetes.io/azure-allowed-ip-ranges',
  denyAllExceptSourceRanges: 'service.beta.kubernetes.io/azure-deny-all-except-load-balancer-source-ranges',
  disableNsgRule: 'service.beta.kubernetes.io/azure-disable-load-balancer-nsg-rule',
} as const;

/** Keys Sluice knows and refuses with an error: they ask for something it does not build. */
export const AZURE_REFUSED_ANNOTATIONS = {
  ipv6: 'service.beta.kubernetes.io/azure-load-balancer-ipv6',
  pipNameIpv6: 'service.beta.kubernetes.io/azure-pip-name-ipv6',
  plsCreate: 'service.beta.kubernetes.io/azure-pls-create',
  plsProxyProtocol: 'service.beta.kubernetes.io/azure-pls-proxy-protocol',
} as const;

/** Every Azure key Sluice reads (for docs and the README). */
export const AZURE_ANNOTATION_KEYS: readonly string[] = Object.values(AZURE_ANNOTATIONS);

const A = AZURE_ANNOTATIONS;
const R = AZURE_REFUSED_ANNOTATIONS;

export const DEFAULT_IDLE_TIMEOUT_MINUTES = 4;
export const DEFAULT_PROBE_INTERVAL_SECONDS = 5;
export const DEFAULT_NUMBER_OF_PROBES = 2;
export const DEFAULT_PROBE_REQUEST_PATH = '/';
/** Azure: a probe's interval × count must stay under 120 seconds. */
export const MAX_PROBE_WINDOW_SECONDS = 120;

/** The annotations of a Service → the Azure settings its frontend gets, and what is wrong or worth knowing. */
export function azureSettings(intent: LoadBalancerIntent): { settings: AzureSettings; problems: Problem[] } {
  const r = reader(intent);
  unknownAndRefused(r);
  bareMetalRequests(r);
  families(r);
  const internal = internalOf(r);
  const requested = requestedAddressOf(r);
  const subnet = subnetOf(r, internal);
  const publicAddress = internal ? undefined : publicAddressOf(r, requested);
  if (internal) publicOnlyKeysOnInternal(r);
  const probe = probeOf(r);
  const access = accessOf(r, internal);

  const settings: AzureSettings = {
    internal,
    ...(subnet !== undefined ? { subnet } : {}),
    ...(internal && requested !== undefined ? { privateAddress: requested.address } : {}),
    ...(publicAddress !== undefined ? { publicAddress } : {}),
    probe,
    idleTimeoutMinutes: Number(
      r.checked(A.tcpIdleTimeout, wholeNumber(4, 100, ' minutes')) ?? DEFAULT_IDLE_TIMEOUT_MINUTES,
    ),
    tcpReset: r.checked(A.disableTcpReset, bool) !== 'true',
    floatingIp: r.checked(A.disableFloatingIp, bool) !== 'true',
    loadDistribution: intent.sessionAffinity === 'ClientIP' ? 'SourceIP' : 'Default',
    access,
  };
  return { settings, problems: r.problems };
}

// ---- Reading ---------------------------------------------------------------------------------------------------

interface Reader {
  intent: LoadBalancerIntent;
  problems: Problem[];
  /** The trimmed value; undefined when absent or blank. */
  value(key: string): string | undefined;
  error(reason: ProblemReason, field: string, message: string): void;
  warn(reason: ProblemReason, field: string, message: string): void;
  /** The canonical value, or undefined (absent, or invalid: then an InvalidAnnotation error is recorded). */
  checked(key: string, check: Check): string | undefined;
}

type Check = (value: string) => { ok: string } | { problem: string };

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

/** Azure subnet names: 1-80 characters, letters, digits, _ . -; start with a letter or digit, end with one or _. */
const subnetName: Check = (value) =>
  /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/.test(value)
    ? { ok: value }
    : { problem: `"${value}" is not a subnet name (1-80 letters, digits, "_", "." or "-")` };

/** Azure resource group names: 1-90 characters, letters, digits, _ ( ) . -; not ending in ".". */
const resourceGroupName: Check = (value) =>
  /^[-\w.()]{1,90}$/.test(value) && !value.endsWith('.')
    ? { ok: value }
    : {
        problem: `"${value}" is not a resource group name (1-90 letters, digits, "_", "(", ")", "." or "-")`,
      };

/** Public IP names: 1-80 characters, letters, digits, _ . -; start with a letter or digit, end with one or _. */
const publicIpName: Check = (value) =>
  /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/.test(value)
    ? { ok: value }
    : { problem: `"${value}" is not a public IP name (1-80 letters, digits, "_", "." or "-")` };

/** Azure DNS labels of public IPs: 3-63 lower-case letters, digits and hyphens, a letter first. */
const dnsLabel: Check = (value) =>
  /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/.test(value)
    ? { ok: value }
    : {
        problem: `"${value}" is not a DNS label (3-63 lower-case letters, digits and hyphens, starting with a letter)`,
      };

const probeProtocol: Check = (value) => {
  const known: Record<string, ProbeProtocol> = { tcp: 'Tcp', http: 'Http', https: 'Https' };
  const protocol = known[value.toLowerCase()];
  return protocol !== undefined
    ? { ok: protocol }
    : { problem: `"${value}" is not one of "Tcp", "Http", "Https"` };
};

const requestPath: Check = (value) =>
  value.startsWith('/') && !/\s/.test(value)
    ? { ok: value }
    : { problem: `"${value}" is not an HTTP path (it starts with "/" and has no spaces)` };

/** Azure service tags: e.g. Internet, AzureLoadBalancer, AzureCloud.WestEurope, Storage.EastUS. */
const SERVICE_TAG = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)?$/;

/** The key without its service.beta.kubernetes.io/ prefix, for messages. */
function short(key: string): string {
  return key.replace(/^service\.beta\.kubernetes\.io\//, '');
}

// ---- Keys Sluice does not build ----------------------------------------------------------------------------------

function unknownAndRefused(r: Reader): void {
  const known = new Set<string>(Object.values(A));
  for (const key of Object.keys(r.intent.annotations).sort()) {
    const value = r.value(key);
    if (key === R.plsProxyProtocol) {
      if (value !== undefined && parseBoolean(value) !== false) {
        r.error(
          'Unsupported',
          key,
          'PROXY protocol exists on Azure only on a Private Link Service, which Sluice does not create; remove the ' +
            'annotation (or set it to "false")',
        );
      }
    } else if (key === R.plsCreate) {
      if (value !== undefined && parseBoolean(value) !== false) {
        r.error('Unsupported', key, 'Sluice does not create Private Link Services; remove the annotation');
      }
    } else if (key === R.ipv6 || key === R.pipNameIpv6) {
      if (value !== undefined) {
        r.error('Unsupported', key, 'Sluice builds IPv4 frontends only on Azure; remove the annotation');
      }
    } else if (key.startsWith(AZURE_ANNOTATION_PREFIX) && !known.has(key)) {
      r.warn(
        'Unsupported',
        key,
        'Sluice does not implement this annotation on Azure; it has no effect (see the README for the keys it reads)',
      );
    } else if (/^service\.beta\.kubernetes\.io\/port_[0-9]+_/.test(key)) {
      r.warn(
        'Unsupported',
        key,
        'per-port rule and probe overrides are not implemented by Sluice; no effect',
      );
    }
  }
}

/** Address pools and shared addresses are bare-metal ideas: on Azure every Service has a frontend of its own. */
function bareMetalRequests(r: Reader): void {
  const { intent } = r;
  if (intent.requestedPool !== undefined) {
    r.error(
      'Unsupported',
      bareMetalRequestKey(intent.annotations, 'pool'),
      'address pools are for bare metal; on Azure a public frontend gets a public IP (Sluice creates one, or name ' +
        'yours with azure-pip-name or loadBalancerIP) and an internal one an address in its subnet; remove the ' +
        'annotation',
    );
  }
  if (intent.sharing !== undefined) {
    r.error(
      'Unsupported',
      bareMetalRequestKey(intent.annotations, 'sharing'),
      'Services cannot share an address on Azure with Sluice: each Service gets a frontend of its own; remove the ' +
        'annotation, or serve the ports from one Service',
    );
  }
}

function families(r: Reader): void {
  const { ipFamilies, ipFamilyPolicy } = r.intent;
  if (ipFamilies.length > 0 && !ipFamilies.includes('IPv4')) {
    r.error(
      'Unsupported',
      'spec.ipFamilies',
      'Sluice builds IPv4 frontends only on Azure; this Service is IPv6 only',
    );
  } else if (ipFamilies.includes('IPv6') && ipFamilyPolicy === 'RequireDualStack') {
    r.error(
      'Unsupported',
      'spec.ipFamilyPolicy',
      'Sluice builds IPv4 frontends only on Azure; use PreferDualStack or SingleStack',
    );
  } else if (ipFamilies.includes('IPv6')) {
    r.warn(
      'Unsupported',
      'spec.ipFamilies',
      'Sluice builds IPv4 frontends only on Azure; the IPv6 family is not served',
    );
  }
}

// ---- Visibility and addresses ------------------------------------------------------------------------------------

function internalOf(r: Reader): boolean {
  const azure = r.checked(A.internal, bool);
  const portable = r.value(SLUICE.internal);
  // decide() already validated sluice.dev/internal into intent.internal; here only whether both keys agree.
  if (azure !== undefined && portable !== undefined && parseBoolean(portable) !== undefined) {
    if (String(r.intent.internal) !== azure) {
      r.error(
        'ConflictingAnnotations',
        A.internal,
        `says "${azure}" but ${SLUICE.internal} says "${portable}": keep one of them`,
      );
    }
  }
  return azure !== undefined ? azure === 'true' : r.intent.internal;
}

interface RequestedAddress {
  address: string;
  /** Where it came from, for messages. */
  field: string;
}

/** loadBalancerIP / sluice.dev/addresses / metallb.io/loadBalancerIPs (decide() agreed them) and azure-load-balancer-ipv4. */
function requestedAddressOf(r: Reader): RequestedAddress | undefined {
  const fromIntent = r.intent.requestedAddresses;
  const v4 = fromIntent.filter((a) => !a.includes(':'));
  for (const address of fromIntent.filter((a) => a.includes(':'))) {
    r.error('Unsupported', 'spec.loadBalancerIP', `${address}: Sluice builds IPv4 frontends only on Azure`);
  }
  if (v4.length > 1) {
    r.error(
      'InvalidSpec',
      'spec.loadBalancerIP',
      `asks for ${v4.join(', ')}: an Azure frontend has one IPv4 address`,
    );
  }
  const raw = r.value(A.ipv4);
  let annotated: string | undefined;
  if (raw !== undefined) {
    annotated = canonicalAddress(raw);
    if (annotated === undefined || annotated.includes(':')) {
      r.error('InvalidAnnotation', A.ipv4, `"${raw}" is not an IPv4 address`);
      annotated = undefined;
    }
  }
  const first = v4[0];
  if (annotated !== undefined && first !== undefined && annotated !== first) {
    r.error(
      'ConflictingAnnotations',
      A.ipv4,
      `says ${annotated} but the Service asks for ${first}: keep one of them`,
    );
  }
  if (annotated !== undefined) return { address: annotated, field: A.ipv4 };
  return first !== undefined ? { address: first, field: 'spec.loadBalancerIP' } : undefined;
}

function subnetOf(r: Reader, internal: boolean): string | undefined {
  const subnet = r.checked(A.internalSubnet, subnetName);
  if (subnet !== undefined && !internal) {
    r.warn(
      'InvalidAnnotation',
      A.internalSubnet,
      'has no effect on a public Service (set azure-load-balancer-internal)',
    );
    return undefined;
  }
  return subnet;
}

function publicAddressOf(r: Reader, requested: RequestedAddress | undefined): PublicAddressSource {
  const pipName = r.checked(A.pipName, publicIpName);
  const resourceGroup = r.checked(A.resourceGroup, resourceGroupName);
  const label = r.checked(A.dnsLabelName, dnsLabel);
  const group = resourceGroup !== undefined ? { resourceGroup } : {};
  if (pipName !== undefined || requested !== undefined) {
    if (label !== undefined) {
      r.warn(
        'InvalidAnnotation',
        A.dnsLabelName,
        'has no effect on a public IP you own (Sluice sets DNS labels only on the public IPs it creates); set the ' +
          'label on your public IP',
      );
    }
    if (pipName !== undefined) {
      // Both given: the named public IP must hold the requested address (checked against what exists).
      return {
        kind: 'named',
        name: pipName,
        ...group,
        ...(requested !== undefined ? { address: requested.address } : {}),
      };
    }
    if (requested !== undefined) return { kind: 'address', address: requested.address, ...group };
  }
  if (resourceGroup !== undefined) {
    r.warn(
      'InvalidAnnotation',
      A.resourceGroup,
      'only says where your own public IP is (with azure-pip-name or loadBalancerIP); Sluice creates its public IPs ' +
        'in its configured resource group',
    );
  }
  return label !== undefined ? { kind: 'managed', dnsLabel: label } : { kind: 'managed' };
}

function publicOnlyKeysOnInternal(r: Reader): void {
  for (const key of [A.pipName, A.resourceGroup, A.dnsLabelName]) {
    if (r.value(key) !== undefined) {
      r.warn(
        'InvalidAnnotation',
        key,
        'has no effect on an internal Service (its frontend has a private address)',
      );
    }
  }
}

// ---- Probes --------------------------------------------------------------------------------------------------------

function probeOf(r: Reader): ProbeSettings {
  const protocol = r.checked(A.probeProtocol, probeProtocol) as ProbeProtocol | undefined;
  const path = r.checked(A.probeRequestPath, requestPath);
  const interval = Number(
    r.checked(A.probeInterval, wholeNumber(5, 119, ' seconds')) ?? DEFAULT_PROBE_INTERVAL_SECONDS,
  );
  const count = Number(r.checked(A.probeNumOfProbe, wholeNumber(1, 23)) ?? DEFAULT_NUMBER_OF_PROBES);
  if (interval * count >= MAX_PROBE_WINDOW_SECONDS) {
    r.error(
      'InvalidAnnotation',
      r.value(A.probeNumOfProbe) !== undefined ? A.probeNumOfProbe : A.probeInterval,
      `interval ${interval} s × ${count} probes = ${interval * count} s: Azure needs less than ${MAX_PROBE_WINDOW_SECONDS} s`,
    );
  }
  if (r.intent.trafficPolicy === 'Local') {
    for (const key of [A.probeProtocol, A.probeRequestPath]) {
      if (r.value(key) !== undefined) {
        r.warn(
          'InvalidAnnotation',
          key,
          'has no effect with externalTrafficPolicy Local: the probe is HTTP GET /healthz on healthCheckNodePort',
        );
      }
    }
  } else if (path !== undefined && protocol !== 'Http' && protocol !== 'Https') {
    r.warn(
      'InvalidAnnotation',
      A.probeRequestPath,
      `has no effect unless ${short(A.probeProtocol)} is Http or Https`,
    );
  }
  return {
    ...(protocol !== undefined ? { protocol } : {}),
    requestPath: path ?? DEFAULT_PROBE_REQUEST_PATH,
    intervalSeconds: interval,
    numberOfProbes: count,
  };
}

// ---- Who may connect (NSG) -------------------------------------------------------------------------------------

function accessOf(r: Reader, internal: boolean): AccessSettings {
  const manage = r.checked(A.disableNsgRule, bool) !== 'true';
  const denyAllOthers = r.checked(A.denyAllExceptSourceRanges, bool) === 'true';

  const serviceTags: string[] = [];
  for (const tag of splitList(r.value(A.allowedServiceTags) ?? '')) {
    if (!SERVICE_TAG.test(tag)) {
      r.error(
        'InvalidAnnotation',
        A.allowedServiceTags,
        `"${tag}" is not an Azure service tag (e.g. AzureCloud.WestEurope)`,
      );
    } else if (!serviceTags.includes(tag)) serviceTags.push(tag);
  }

  const annotated: string[] = [];
  for (const range of splitList(r.value(A.allowedIpRanges) ?? '')) {
    const cidr = canonicalCidr(range);
    if (cidr === undefined) {
      r.error('InvalidAnnotation', A.allowedIpRanges, `"${range}" is not a CIDR (e.g. 203.0.113.0/24)`);
    } else if (!annotated.includes(cidr)) annotated.push(cidr);
  }
  if (annotated.length > 0 && r.intent.sourceRanges.length > 0) {
    r.error(
      'ConflictingAnnotations',
      A.allowedIpRanges,
      `cannot be combined with ${r.intent.sourceRangesField ?? 'spec.loadBalancerSourceRanges'}: keep one of them`,
    );
  }
  const ranges: string[] = [];
  for (const range of annotated.length > 0 ? annotated : r.intent.sourceRanges) {
    // The frontend is IPv4: an IPv6 source can never reach it.
    if (range.includes(':')) {
      r.warn(
        'Unsupported',
        A.allowedIpRanges,
        `${range}: the frontend is IPv4, so an IPv6 source range has no effect`,
      );
    } else ranges.push(range);
  }

  // No source named: a public Service is open to the Internet (as upstream); an internal one needs no rule, the
  // NSG's default AllowVnetInBound already admits the VNet and nothing outside it reaches a private address.
  if (ranges.length === 0 && serviceTags.length === 0 && !internal) serviceTags.push('Internet');
  if (!manage) {
    for (const key of [A.allowedIpRanges, A.allowedServiceTags, A.denyAllExceptSourceRanges]) {
      if (r.value(key) !== undefined) {
        r.warn('ConflictingAnnotations', key, `has no effect with ${short(A.disableNsgRule)}: "true"`);
      }
    }
  }
  return { manage, ipRanges: ranges, serviceTags, denyAllOthers };
}

/** A CIDR in canonical form (address part canonical, prefix length in range); undefined when not one. */
export function canonicalCidr(text: string): string | undefined {
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text.trim());
  if (match === null) return undefined;
  const address = canonicalAddress(match[1] ?? '');
  const length = Number(match[2]);
  if (address === undefined || length > (address.includes(':') ? 128 : 32)) return undefined;
  return `${address}/${length}`;
}
