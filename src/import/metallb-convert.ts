// Pure conversion of MetalLB configuration (metallb.io IPAddressPool, L2Advertisement, and the legacy AddressPool)
// into Sluice objects (sluice.dev/v1alpha1 AddressPool, L2Advertisement). No I/O: documents in, manifests and
// findings out. The caller prints the manifests only when no finding is an error, so a pipe into
// `kubectl apply -f -` never applies half a migration.
import { parsePoolEntry } from '../providers/pool/address-range.ts';
import {
  isRecord,
  presentFields,
  readBoolean,
  readInteger,
  readSelectorList,
  readString,
  readStringList,
  readStringMap,
} from './field-readers.ts';
import {
  type AddressPoolManifest,
  IMPORTED_FROM_ANNOTATION,
  type L2AdvertisementManifest,
  type ManifestMetadata,
  type ServiceAllocation,
  type SluiceManifest,
} from './manifest-types.ts';

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  /** What the finding is about, e.g. `IPAddressPool metallb-system/public`; absent for the input as a whole. */
  subject?: string;
  message: string;
}

export interface ImportResult {
  manifests: SluiceManifest[];
  findings: Finding[];
}

const METALLB_GROUP = 'metallb.io';
const BGP_KINDS: ReadonlySet<string> = new Set(['BGPPeer', 'BGPAdvertisement', 'BFDProfile', 'Community']);
// Written by MetalLB itself to report state; there is nothing to configure in them.
const STATUS_KINDS: ReadonlySet<string> = new Set([
  'ServiceL2Status',
  'ServiceBGPStatus',
  'ConfigurationState',
]);
const SLUICE_API_VERSION = 'sluice.dev/v1alpha1';

/** One object of the input, with where it was found (for messages). */
interface InputObject {
  value: Record<string, unknown>;
  /** `document 3` or `document 3, item 2`. */
  location: string;
}

/** Where a Sluice object came from, to report two sources of one cluster-scoped name. */
interface Origin {
  subject: string;
  manifest: SluiceManifest;
}

/**
 * Converts every MetalLB object in `documents` (parsed YAML documents, in file order; `List` documents are
 * expanded). Anything that is not MetalLB configuration is skipped and counted in one info finding.
 */
export function convertMetalLB(documents: readonly unknown[]): ImportResult {
  const findings: Finding[] = [];
  const manifests: SluiceManifest[] = [];
  const origins = new Map<string, Origin>();
  const skipped = new Map<string, number>();
  let sawMetalLBConfig = false;

  const add = (subject: string, manifest: SluiceManifest): void => {
    const key = `${manifest.kind}/${manifest.metadata.name}`;
    const earlier = origins.get(key);
    if (earlier) {
      const rename =
        manifest.kind === 'AddressPool'
          ? 'rename one (and every metallb.io/address-pool annotation and ipAddressPools entry naming it)'
          : 'rename one';
      findings.push({
        severity: 'error',
        subject,
        message:
          earlier.subject === subject
            ? 'appears twice in the input; remove one copy'
            : `would become ${manifest.kind} "${manifest.metadata.name}", which ${earlier.subject} already ` +
              `becomes. Sluice ${manifest.kind}s are cluster-scoped, so names must be unique across namespaces: ` +
              `${rename} and import again`,
      });
      return;
    }
    origins.set(key, { subject, manifest });
    manifests.push(manifest);
  };

  for (const { value, location } of flatten(documents, findings)) {
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '';
    const kind = typeof value.kind === 'string' ? value.kind : '';
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    if (group !== METALLB_GROUP) {
      if (isLegacyConfigMap(value, kind, apiVersion)) {
        findings.push({
          severity: 'warning',
          subject: `ConfigMap ${qualifiedName(value)}`,
          message:
            'looks like MetalLB configuration in the legacy ConfigMap format (before MetalLB 0.13), which is not ' +
            "imported: convert it to MetalLB's CRDs first (MetalLB's configmaptocrs tool), then import those",
        });
      } else {
        const label = kind || `object without a kind (${location})`;
        skipped.set(label, (skipped.get(label) ?? 0) + 1);
      }
      continue;
    }
    const subject = subjectOf(kind || '(no kind)', value, location);
    if (apiVersion !== `${METALLB_GROUP}/v1beta1` && ['IPAddressPool', 'L2Advertisement'].includes(kind)) {
      findings.push({
        severity: 'warning',
        subject,
        message: `${apiVersion} is not the version this importer knows (metallb.io/v1beta1); converted as if it were: check the result`,
      });
    }
    switch (kind) {
      case 'IPAddressPool': {
        sawMetalLBConfig = true;
        const pool = convertPool(value, subject, findings, POOL_FIELDS);
        if (pool) add(subject, pool);
        break;
      }
      case 'AddressPool': {
        sawMetalLBConfig = true;
        for (const manifest of convertLegacyPool(value, subject, findings)) add(subject, manifest);
        break;
      }
      case 'L2Advertisement': {
        sawMetalLBConfig = true;
        const advertisement = convertL2Advertisement(value, subject, findings);
        if (advertisement) add(subject, advertisement);
        break;
      }
      default:
        if (BGP_KINDS.has(kind)) {
          sawMetalLBConfig = true;
          findings.push({ severity: 'warning', subject, message: 'skipped: BGP is not supported yet' });
        } else if (STATUS_KINDS.has(kind)) {
          findings.push({
            severity: 'info',
            subject,
            message: 'skipped: status written by MetalLB, not configuration',
          });
        } else {
          findings.push({
            severity: 'warning',
            subject,
            message: 'skipped: not a MetalLB kind this importer knows',
          });
        }
    }
  }

  if (skipped.size > 0) {
    const total = [...skipped.values()].reduce((a, b) => a + b, 0);
    const kinds = [...skipped].map(([kind, n]) => (n > 1 ? `${kind} ×${n}` : kind)).join(', ');
    findings.push({
      severity: 'info',
      message: `skipped ${total} object${total === 1 ? '' : 's'} that ${total === 1 ? 'is' : 'are'} not MetalLB configuration: ${kinds}`,
    });
  }
  findings.push(...crossChecks(manifests));
  if (manifests.length === 0 && !findings.some((f) => f.severity === 'error')) {
    findings.push({
      severity: 'error',
      message: sawMetalLBConfig
        ? 'nothing to import: the MetalLB objects found have no Sluice equivalent yet'
        : 'nothing to import: no metallb.io IPAddressPool, AddressPool or L2Advertisement found',
    });
  }
  return { manifests, findings };
}

/** Documents and the items of `List` documents (`kubectl get ... -o yaml` writes a List). */
function flatten(documents: readonly unknown[], findings: Finding[]): InputObject[] {
  const objects: InputObject[] = [];
  documents.forEach((document, d) => {
    const location = `document ${d + 1}`;
    if (document === null || document === undefined) return; // an empty document, e.g. a trailing `---`
    if (!isRecord(document)) {
      findings.push({
        severity: 'error',
        message: `${location} is not a Kubernetes object (a map with apiVersion and kind)`,
      });
      return;
    }
    const kind = typeof document.kind === 'string' ? document.kind : '';
    if (kind.endsWith('List') && Array.isArray(document.items)) {
      // In a typed list (IPAddressPoolList) the items may leave out their own apiVersion and kind.
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      document.items.forEach((item, i) => {
        const itemLocation = `${location}, item ${i + 1}`;
        if (!isRecord(item)) {
          findings.push({ severity: 'error', message: `${itemLocation} is not a Kubernetes object` });
          return;
        }
        objects.push({
          value: {
            ...(itemKind ? { apiVersion: document.apiVersion, kind: itemKind } : {}),
            ...item,
          },
          location: itemLocation,
        });
      });
      return;
    }
    objects.push({ value: document, location });
  });
  return objects;
}

function qualifiedName(value: Record<string, unknown>): string {
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  return namespace ? `${namespace}/${name}` : name;
}

function subjectOf(kind: string, value: Record<string, unknown>, location: string): string {
  const name = qualifiedName(value);
  return name && !name.endsWith('/') ? `${kind} ${name}` : `${kind} in ${location}`;
}

function isLegacyConfigMap(value: Record<string, unknown>, kind: string, apiVersion: string): boolean {
  if (kind !== 'ConfigMap' || apiVersion !== 'v1' || !isRecord(value.data)) return false;
  const config = value.data.config;
  return typeof config === 'string' && /(^|\n)\s*address-pools\s*:/.test(config);
}

/** metadata.name (required) and labels (kept: L2Advertisement pool selectors select pools by label). */
function convertMetadata(
  value: Record<string, unknown>,
  subject: string,
  problems: string[],
): ManifestMetadata | undefined {
  if (!isRecord(value.metadata)) {
    problems.push('metadata is missing');
    return undefined;
  }
  const name = readString(value.metadata.name, 'metadata.name', problems);
  if (value.metadata.name === undefined || value.metadata.name === null || name === '') {
    problems.push('metadata.name is missing');
  }
  if (!name) return undefined;
  const labels = readStringMap(value.metadata.labels, 'metadata.labels', problems);
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : METALLB_GROUP;
  return {
    name,
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    annotations: { [IMPORTED_FROM_ANNOTATION]: `${apiVersion} ${subject}` },
  };
}

/** Reports spec fields the converter does not carry over. */
function dropUnknown(
  spec: Record<string, unknown>,
  known: ReadonlySet<string>,
  path: string,
  subject: string,
  findings: Finding[],
): void {
  for (const field of Object.keys(spec)) {
    if (!known.has(field)) {
      findings.push({
        severity: 'warning',
        subject,
        message: `${path}.${field} has no Sluice equivalent; dropped`,
      });
    }
  }
}

function reportProblems(problems: string[], subject: string, findings: Finding[]): void {
  for (const message of problems) findings.push({ severity: 'error', subject, message });
}

const POOL_FIELDS: ReadonlySet<string> = new Set([
  'addresses',
  'autoAssign',
  'avoidBuggyIPs',
  'serviceAllocation',
]);
const ALLOCATION_FIELDS: ReadonlySet<string> = new Set([
  'priority',
  'namespaces',
  'namespaceSelectors',
  'serviceSelectors',
]);

/** An IPAddressPool (or the pool part of a legacy AddressPool) → AddressPool. */
function convertPool(
  value: Record<string, unknown>,
  subject: string,
  findings: Finding[],
  knownFields: ReadonlySet<string>,
): AddressPoolManifest | undefined {
  const problems: string[] = [];
  const metadata = convertMetadata(value, subject, problems);
  const spec = isRecord(value.spec) ? value.spec : undefined;
  if (!spec) {
    problems.push('spec is missing');
    reportProblems(problems, subject, findings);
    return undefined;
  }
  dropUnknown(spec, knownFields, 'spec', subject, findings);
  const addresses = readStringList(spec.addresses, 'spec.addresses', problems);
  if (spec.addresses === undefined || spec.addresses === null || addresses?.length === 0) {
    problems.push('spec.addresses is missing or empty');
  }
  const normalized = (addresses ?? []).map((entry, i) => {
    // MetalLB allows spaces around the dash of a range; write it the plain way.
    const text = entry.trim().replace(/\s*-\s*/, '-');
    const parsed = parsePoolEntry(text);
    if ('error' in parsed) problems.push(`spec.addresses[${i}]: ${parsed.error}`);
    return text;
  });
  const autoAssign = readBoolean(spec.autoAssign, 'spec.autoAssign', problems);
  const avoidBuggyIPs = readBoolean(spec.avoidBuggyIPs, 'spec.avoidBuggyIPs', problems);
  const serviceAllocation = convertServiceAllocation(spec.serviceAllocation, subject, problems, findings);
  if (problems.length > 0 || !metadata) {
    reportProblems(problems, subject, findings);
    return undefined;
  }
  return {
    apiVersion: SLUICE_API_VERSION,
    kind: 'AddressPool',
    metadata,
    spec: { addresses: normalized, ...presentFields({ autoAssign, avoidBuggyIPs, serviceAllocation }) },
  };
}

function convertServiceAllocation(
  value: unknown,
  subject: string,
  problems: string[],
  findings: Finding[],
): ServiceAllocation | undefined {
  if (value === undefined || value === null) return undefined;
  const path = 'spec.serviceAllocation';
  if (!isRecord(value)) {
    problems.push(`${path} must be a map (priority, namespaces, namespaceSelectors, serviceSelectors)`);
    return undefined;
  }
  dropUnknown(value, ALLOCATION_FIELDS, path, subject, findings);
  const priority = readInteger(value.priority, `${path}.priority`, problems);
  if (priority !== undefined && priority < 0) {
    problems.push(
      `${path}.priority ${priority} is negative; Sluice priorities are 0 or more (lower is preferred, 0 is last)`,
    );
  }
  const namespaces = readStringList(value.namespaces, `${path}.namespaces`, problems);
  const namespaceSelectors = readSelectorList(
    value.namespaceSelectors,
    `${path}.namespaceSelectors`,
    problems,
  );
  const serviceSelectors = readSelectorList(value.serviceSelectors, `${path}.serviceSelectors`, problems);
  // Present but empty still means something (the pool serves every Service, yet is no general fallback), so
  // the map is written even when all its fields are absent.
  return presentFields({ priority, namespaces, namespaceSelectors, serviceSelectors });
}

const LEGACY_POOL_FIELDS: ReadonlySet<string> = new Set([...POOL_FIELDS, 'protocol', 'bgpAdvertisements']);

/**
 * metallb.io/v1beta1 AddressPool, the pre-0.13 kind: a pool and its protocol in one object. A layer2 pool
 * becomes an AddressPool plus an L2Advertisement of that pool alone, which is what MetalLB did with it.
 */
function convertLegacyPool(
  value: Record<string, unknown>,
  subject: string,
  findings: Finding[],
): SluiceManifest[] {
  const pool = convertPool(value, subject, findings, LEGACY_POOL_FIELDS);
  if (!pool) return [];
  const spec = isRecord(value.spec) ? value.spec : {};
  const problems: string[] = [];
  const protocol = readString(spec.protocol, 'spec.protocol', problems);
  reportProblems(problems, subject, findings);
  if (problems.length > 0) return [];
  if (spec.bgpAdvertisements !== undefined && spec.bgpAdvertisements !== null) {
    findings.push({
      severity: 'warning',
      subject,
      message: 'spec.bgpAdvertisements dropped: BGP is not supported yet',
    });
  }
  if (protocol === 'layer2') {
    const advertisement: L2AdvertisementManifest = {
      apiVersion: SLUICE_API_VERSION,
      kind: 'L2Advertisement',
      metadata: { name: pool.metadata.name, annotations: { ...pool.metadata.annotations } },
      spec: { addressPools: [pool.metadata.name] },
    };
    return [pool, advertisement];
  }
  findings.push({
    severity: 'warning',
    subject,
    message:
      protocol === 'bgp'
        ? 'spec.protocol bgp: BGP is not supported yet; the pool is imported, but nothing announces its addresses'
        : `spec.protocol ${JSON.stringify(protocol ?? '')} is not layer2; the pool is imported without an L2Advertisement`,
  });
  return [pool];
}

const L2_FIELDS: ReadonlySet<string> = new Set([
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'nodeSelectors',
  'interfaces',
]);
// What each MetalLB field without a Sluice equivalent did, so the warning can say what changes without it.
const L2_DROPPED: Readonly<Record<string, string>> = {
  serviceSelectors: 'this advertisement now covers every Service with an address from its pools',
  preferredNodeSelectors: 'any node it selects may announce, with no preference',
};

function convertL2Advertisement(
  value: Record<string, unknown>,
  subject: string,
  findings: Finding[],
): L2AdvertisementManifest | undefined {
  const problems: string[] = [];
  const metadata = convertMetadata(value, subject, problems);
  // An absent spec is a valid L2Advertisement: every pool, every node, every interface.
  const spec = value.spec === undefined || value.spec === null ? {} : value.spec;
  if (!isRecord(spec)) {
    problems.push('spec must be a map');
    reportProblems(problems, subject, findings);
    return undefined;
  }
  for (const field of Object.keys(spec)) {
    const without = L2_DROPPED[field];
    if (without !== undefined) {
      findings.push({
        severity: 'warning',
        subject,
        message: `spec.${field} has no Sluice equivalent yet; dropped, so ${without}`,
      });
    } else if (!L2_FIELDS.has(field)) {
      findings.push({
        severity: 'warning',
        subject,
        message: `spec.${field} has no Sluice equivalent; dropped`,
      });
    }
  }
  const addressPools = readStringList(spec.ipAddressPools, 'spec.ipAddressPools', problems);
  const addressPoolSelectors = readSelectorList(
    spec.ipAddressPoolSelectors,
    'spec.ipAddressPoolSelectors',
    problems,
  );
  const nodeSelectors = readSelectorList(spec.nodeSelectors, 'spec.nodeSelectors', problems);
  const interfaces = readStringList(spec.interfaces, 'spec.interfaces', problems);
  if (problems.length > 0 || !metadata) {
    reportProblems(problems, subject, findings);
    return undefined;
  }
  return {
    apiVersion: SLUICE_API_VERSION,
    kind: 'L2Advertisement',
    metadata,
    spec: presentFields({ addressPools, addressPoolSelectors, nodeSelectors, interfaces }),
  };
}

/** Findings about the converted set as a whole: references to pools that are not in it, nothing announced. */
function crossChecks(manifests: readonly SluiceManifest[]): Finding[] {
  const findings: Finding[] = [];
  const pools = new Set(manifests.filter((m) => m.kind === 'AddressPool').map((m) => m.metadata.name));
  const advertisements = manifests.filter((m): m is L2AdvertisementManifest => m.kind === 'L2Advertisement');
  for (const advertisement of advertisements) {
    for (const name of advertisement.spec.addressPools ?? []) {
      if (!pools.has(name)) {
        findings.push({
          severity: 'info',
          subject: `L2Advertisement ${advertisement.metadata.name}`,
          message: `names pool "${name}", which is not in this input; it must exist as a Sluice AddressPool`,
        });
      }
    }
  }
  if (pools.size > 0 && advertisements.length === 0) {
    findings.push({
      severity: 'warning',
      message:
        'no L2Advertisement in this input: Sluice will hand out addresses from the imported pools, but no node ' +
        'announces them until an L2Advertisement covers them',
    });
  }
  if (pools.size > 0) {
    findings.push({
      severity: 'info',
      message:
        'MetalLB serves Services that set no spec.loadBalancerClass; Sluice serves them only with ' +
        '--manage-unclassed=true (chart value manageUnclassed: true). Stop MetalLB before Sluice takes them over',
    });
  }
  return findings;
}
