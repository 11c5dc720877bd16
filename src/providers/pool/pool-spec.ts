// An AddressPool (sluice.dev/v1alpha1) as the allocator sees it: parsing and validating its spec, and which
// Services its serviceAllocation lets in. Pure: no I/O, no clock.
//
// Parsing never fails: every invalid value becomes a problem naming the field, and the pool is returned with
// the cautious reading of that value (a pool that hands out less, never more).

import { type LabelSelector, matchesSelector, validateSelector } from '../../kube/label-selector.ts';
import { type AddressRange, formatRange, overlaps, parsePoolEntry } from './address-range.ts';
import { boundText, capMessages, ITEM_LIMIT } from './message-limit.ts';

export interface ServiceAllocation {
  /** Lower is preferred; 0 (unset) is least preferred. */
  priority: number;
  namespaces: string[];
  namespaceSelectors: LabelSelector[];
  serviceSelectors: LabelSelector[];
  /**
   * False when any part of spec.serviceAllocation was invalid: the pool then serves no Service at all until it
   * is fixed. Dropping only the bad part could empty a list, and empty lists match everything.
   */
  valid: boolean;
}

export interface PoolSpec {
  name: string;
  /** metadata.creationTimestamp (RFC 3339), deciding which of two overlapping pools wins. */
  creationTimestamp: string | undefined;
  ranges: AddressRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  disabled: boolean;
  reallocateRemovedAddresses: boolean;
  serviceAllocation: ServiceAllocation | undefined;
}

export interface PoolMetadata {
  name: string;
  creationTimestamp?: string;
}

/** What serviceAllocation looks at: the Service's namespace, its labels and its Namespace's labels. */
export interface ServiceIdentity {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  namespaceLabels: Readonly<Record<string, string>>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The most characters shown of one invalid spec.addresses entry's problem. */
const ENTRY_PROBLEM_LIMIT = 300;

// A namespace name is an RFC 1123 label.
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Reads an AddressPool. `spec` is the object's spec as received (unvalidated). The pool is always returned;
 * every invalid value is a problem and is read cautiously: a bad autoAssign is false (used only when
 * requested), a bad disabled is true (drained), a bad avoidBuggyIPs is true, a bad reallocateRemovedAddresses
 * is false (addresses stay put), and a bad serviceAllocation serves no Service.
 */
export function parsePool(metadata: PoolMetadata, spec: unknown): { pool: PoolSpec; problems: string[] } {
  const problems: string[] = [];
  const fields: Record<string, unknown> = isPlainObject(spec) ? spec : {};
  if (spec !== undefined && spec !== null && !isPlainObject(spec)) {
    problems.push(`spec must be an object, got ${describe(spec)}`);
  }
  const pool: PoolSpec = {
    name: metadata.name,
    creationTimestamp: metadata.creationTimestamp,
    ranges: parseAddresses(fields.addresses, problems),
    autoAssign: parseBoolean(
      fields,
      'autoAssign',
      true,
      false,
      'the pool is used only when requested',
      problems,
    ),
    avoidBuggyIPs: parseBoolean(
      fields,
      'avoidBuggyIPs',
      false,
      true,
      'addresses ending in .0 and .255 are avoided',
      problems,
    ),
    disabled: parseBoolean(fields, 'disabled', false, true, 'the pool hands out no new addresses', problems),
    reallocateRemovedAddresses: parseBoolean(
      fields,
      'reallocateRemovedAddresses',
      false,
      false,
      'removed addresses are kept by their Services',
      problems,
    ),
    serviceAllocation: parseServiceAllocation(fields.serviceAllocation, problems),
  };
  // The status shows the problems joined: keep them within MESSAGE_LIMIT however broken the spec is.
  return { pool, problems: capMessages(problems, 'problems') };
}

function parseAddresses(addresses: unknown, problems: string[]): AddressRange[] {
  const ranges: AddressRange[] = [];
  if (addresses === undefined || addresses === null) {
    problems.push('spec.addresses is missing: the pool has no addresses');
  } else if (!Array.isArray(addresses)) {
    problems.push(`spec.addresses must be a list of strings, got ${describe(addresses)}`);
  } else {
    const entries: unknown[] = addresses;
    let bad = 0;
    entries.forEach((entry, index) => {
      const range =
        typeof entry === 'string'
          ? parsePoolEntry(entry)
          : { error: `spec.addresses[${index}] must be a string, got ${describe(entry)}` };
      if (!('error' in range)) {
        ranges.push(range);
        return;
      }
      // Name the first few bad entries; an entry may be long (the CRD allows 100 characters, an object
      // applied without the CRD's validation any length).
      bad++;
      if (bad <= ITEM_LIMIT) problems.push(boundText(range.error, ENTRY_PROBLEM_LIMIT));
    });
    if (bad > ITEM_LIMIT) problems.push(`and ${bad - ITEM_LIMIT} more invalid entries in spec.addresses`);
  }
  return ranges;
}

function parseBoolean(
  fields: Record<string, unknown>,
  name: string,
  defaultValue: boolean,
  cautiousValue: boolean,
  consequence: string,
  problems: string[],
): boolean {
  const value = fields[name];
  if (typeof value === 'boolean') return value;
  if (value === undefined || value === null) return defaultValue;
  problems.push(`spec.${name} must be true or false, got ${describe(value)}; ${consequence}`);
  return cautiousValue;
}

function parseServiceAllocation(value: unknown, problems: string[]): ServiceAllocation | undefined {
  if (value === undefined || value === null) return undefined;
  const field = 'spec.serviceAllocation';
  const allocation: ServiceAllocation = {
    priority: 0,
    namespaces: [],
    namespaceSelectors: [],
    serviceSelectors: [],
    valid: true,
  };
  if (!isPlainObject(value)) {
    problems.push(`${field} must be an object, got ${describe(value)}`);
    allocation.valid = false;
  } else {
    const { priority, namespaces, namespaceSelectors, serviceSelectors } = value;
    if (priority !== undefined && priority !== null) {
      if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) {
        problems.push(
          `${field}.priority must be an integer, got ${describe(priority)}; it counts as 0 (tried last)`,
        );
      } else if (priority < 0) {
        problems.push(`${field}.priority must not be negative, got ${priority}; it counts as 0 (tried last)`);
      } else {
        allocation.priority = priority;
      }
    }
    // A bad priority only changes the order; anything else decides who may use the pool.
    const orderProblems = problems.length;
    allocation.namespaces = parseNamespaces(namespaces, `${field}.namespaces`, problems);
    allocation.namespaceSelectors = parseSelectors(
      namespaceSelectors,
      `${field}.namespaceSelectors`,
      problems,
    );
    allocation.serviceSelectors = parseSelectors(serviceSelectors, `${field}.serviceSelectors`, problems);
    allocation.valid = problems.length === orderProblems;
  }
  if (!allocation.valid) {
    problems.push(`${field} is invalid, so the pool serves no Service until it is fixed`);
  }
  return allocation;
}

function parseNamespaces(value: unknown, field: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field} must be a list of namespace names, got ${describe(value)}`);
    return [];
  }
  const names: string[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string') {
      problems.push(`${field}[${index}] must be a string, got ${describe(item)}`);
    } else if (!NAMESPACE_NAME.test(item)) {
      problems.push(
        `${field}[${index}] ${JSON.stringify(item)} is not a namespace name (lower-case letters, digits and '-', at most 63)`,
      );
    } else {
      names.push(item);
    }
  });
  return names;
}

function parseSelectors(value: unknown, field: string, problems: string[]): LabelSelector[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field} must be a list of label selectors, got ${describe(value)}`);
    return [];
  }
  const selectors: LabelSelector[] = [];
  value.forEach((item: unknown, index) => {
    const { selector, problems: found } = validateSelector(item, `${field}[${index}]`);
    problems.push(...found);
    if (selector) selectors.push(selector);
  });
  return selectors;
}

/**
 * Whether a pool's serviceAllocation lets `service` in (MetalLB's isPoolCompatibleWithService): the namespace
 * condition (namespaces OR namespaceSelectors) AND the service condition (any serviceSelector); an empty
 * condition holds. A pool without serviceAllocation lets everyone in; an invalid one lets no one in.
 */
export function allocationAdmits(
  allocation: ServiceAllocation | undefined,
  service: ServiceIdentity,
): boolean {
  if (allocation === undefined) return true;
  if (!allocation.valid) return false;
  const { namespaces, namespaceSelectors, serviceSelectors } = allocation;
  const namespaceOK =
    (namespaces.length === 0 && namespaceSelectors.length === 0) ||
    namespaces.includes(service.namespace) ||
    namespaceSelectors.some((s) => matchesSelector(s, service.namespaceLabels));
  const serviceOK =
    serviceSelectors.length === 0 || serviceSelectors.some((s) => matchesSelector(s, service.labels));
  return namespaceOK && serviceOK;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** creationTimestamp in ms; a missing or unreadable one counts as the newest (it must not win a conflict). */
function createdAt(pool: PoolSpec): number {
  const ms = pool.creationTimestamp === undefined ? Number.NaN : Date.parse(pool.creationTimestamp);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Oldest first (creationTimestamp, then name): the order in which overlapping pools win. */
export function compareAge(a: PoolSpec, b: PoolSpec): number {
  const byTime = createdAt(a) - createdAt(b);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime < 0 ? -1 : 1;
  return compareNames(a.name, b.name);
}

/** The overlapping parts of two pools: the first ITEM_LIMIT as `A and B` range texts, and how many in all. */
interface Overlaps {
  texts: string[];
  total: number;
}

/** Ranges sorted by start, to tell in one pass whether two pools overlap at all. */
function sortedRanges(pool: PoolSpec): AddressRange[] {
  return [...pool.ranges].sort((x, y) =>
    x.family !== y.family
      ? x.family < y.family
        ? -1
        : 1
      : x.first < y.first
        ? -1
        : x.first > y.first
          ? 1
          : 0,
  );
}

/** Whether any range of `a` overlaps any range of `b` (both sorted by sortedRanges): O(n + m). */
function anyOverlap(a: readonly AddressRange[], b: readonly AddressRange[]): boolean {
  let i = 0;
  let j = 0;
  // Sorted by start: when two ranges do not overlap, the one lying wholly before the other overlaps nothing
  // further on in the other list, so it can be dropped.
  while (i < a.length && j < b.length) {
    const ra = a[i]!;
    const rb = b[j]!;
    if (overlaps(ra, rb)) return true;
    const aFirst = ra.family < rb.family || (ra.family === rb.family && ra.last < rb.first);
    if (aFirst) i++;
    else j++;
  }
  return false;
}

function overlapsOf(a: PoolSpec, b: PoolSpec): Overlaps {
  const texts: string[] = [];
  let total = 0;
  for (const ra of a.ranges) {
    for (const rb of b.ranges) {
      if (!overlaps(ra, rb)) continue;
      total++;
      if (texts.length < ITEM_LIMIT) texts.push(`${formatRange(ra)} and ${formatRange(rb)}`);
    }
  }
  return { texts, total };
}

function describeOverlaps(found: Overlaps): string {
  const more = found.total - found.texts.length;
  const shown = found.texts.join('; ');
  return more > 0 ? `${shown}; and ${more} more overlaps` : shown;
}

/**
 * Human-readable descriptions of ranges shared by two different pools (pool names in order), one per pair of
 * pools, each naming at most ITEM_LIMIT overlapping ranges; the list as a whole is capped (capMessages).
 */
export function findPoolOverlaps(pools: readonly PoolSpec[]): string[] {
  const found: string[] = [];
  const sorted = [...pools].sort((a, b) => compareNames(a.name, b.name));
  const ranges = sorted.map(sortedRanges);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      if (!anyOverlap(ranges[i]!, ranges[j]!)) continue;
      const a = sorted[i]!;
      const b = sorted[j]!;
      found.push(`pools "${a.name}" and "${b.name}" overlap: ${describeOverlaps(overlapsOf(a, b))}`);
    }
  }
  return capMessages(found, 'overlapping pairs of pools');
}

export interface PoolConflicts {
  /** Pools that overlap an older, non-conflicting pool: they hand out nothing new. */
  conflicting: Set<string>;
  /** Per pool name, the messages for its status (both sides of each conflict). */
  messages: Map<string, string[]>;
}

/**
 * Cilium's rule for overlapping pools: taking pools oldest first, a pool that overlaps any older pool that is
 * not itself conflicting is conflicting, and hands out nothing new at all. (A pool overlapping only a
 * conflicting pool is fine: that pool hands out nothing.)
 */
export function findConflicts(pools: readonly PoolSpec[]): PoolConflicts {
  const conflicting = new Set<string>();
  const found = new Map<string, string[]>();
  const note = (name: string, message: string): void => {
    const list = found.get(name);
    if (list) list.push(message);
    else found.set(name, [message]);
  };
  const winners: Array<{ pool: PoolSpec; ranges: AddressRange[] }> = [];
  for (const pool of [...pools].sort(compareAge)) {
    const ranges = sortedRanges(pool);
    let lost = false;
    for (const older of winners) {
      if (!anyOverlap(older.ranges, ranges)) continue;
      lost = true;
      const where = describeOverlaps(overlapsOf(older.pool, pool));
      note(
        pool.name,
        `overlaps the older pool "${older.pool.name}" (${where}); this pool hands out no new addresses until the overlap is removed`,
      );
      note(
        older.pool.name,
        `the newer pool "${pool.name}" overlaps it (${where}); "${pool.name}" hands out nothing`,
      );
    }
    if (lost) conflicting.add(pool.name);
    else winners.push({ pool, ranges });
  }
  // A pool may overlap many others: its status shows the messages joined, within MESSAGE_LIMIT.
  const messages = new Map<string, string[]>();
  for (const [name, list] of found) messages.set(name, capMessages(list, 'overlapping pools'));
  return { conflicting, messages };
}
