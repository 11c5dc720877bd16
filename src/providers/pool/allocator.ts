// Pure address allocator for bare-metal AddressPools. No I/O: the provider feeds it the parsed pools and the
// Services' requests, and persists the outcome in Service status (from which `restore` rebuilds it on start-up).
//
// Invariants:
// - An address has at most one owner (a Service key `namespace/name`), checked in O(1) through a Map per family.
// - An assigned address never moves by itself: changing the pools never releases or re-labels it away; only a
//   changed request (`allocate`) or `release` frees it.
// - A failed `allocate`/`restore` leaves the state unchanged.

import {
  type AddressRange,
  contains,
  FAMILIES,
  type Family,
  formatAddress,
  formatRange,
  overlaps,
  parseAddress,
  parsePoolEntry,
  rangeSize,
} from './address-range.ts';

export const ALLOCATION_FAILURE_REASONS = [
  'InvalidAddress',
  'AddressOutsidePools',
  'AddressNotInPool',
  'AddressInUse',
  'PoolNotFound',
  'PoolExhausted',
  'NoPoolForFamily',
] as const;

export type AllocationFailureReason = (typeof ALLOCATION_FAILURE_REASONS)[number];

export interface PoolSpec {
  name: string;
  ranges: AddressRange[];
  autoAssign: boolean;
}

export interface Assignment {
  family: Family;
  value: bigint;
  /** Canonical text of `value` (formatAddress). */
  address: string;
  /** A current pool containing the address, or undefined when no pool does (any more). */
  pool: string | undefined;
}

export interface AllocationRequest {
  family: Family;
  /**
   * Exact addresses requested. Every entry must parse; only those of `family` are considered, so a caller may
   * pass a Service's whole list once per family. When none is of `family`, an address is picked from the pools.
   */
  addresses?: string[];
  /** Requested pool name: the address is taken from (or, with `addresses`, must lie in) this pool. */
  pool?: string;
}

export type AllocationFailure = { ok: false; reason: AllocationFailureReason; message: string };
export type AllocationResult = { ok: true; addresses: Assignment[] } | AllocationFailure;
export type RestoreResult = { ok: true } | AllocationFailure;

export interface PoolUsage {
  /** Assigned addresses inside the pool (an address inside several pools counts in each). */
  assigned: number;
  /** Distinct addresses in the pool. */
  size: bigint;
  free: bigint;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * Reads an AddressPool spec. Invalid entries become problems and are left out; the pool is always returned,
 * possibly with no ranges. `autoAssign` defaults to true; a value that is not a boolean is a problem and the pool
 * is then treated as autoAssign: false (the cautious choice: it is only used when requested).
 */
export function parsePool(
  name: string,
  spec: { addresses?: unknown; autoAssign?: unknown },
): { pool: PoolSpec; problems: string[] } {
  const problems: string[] = [];
  const ranges: AddressRange[] = [];
  const addresses: unknown = spec.addresses;
  if (addresses === undefined || addresses === null) {
    problems.push('spec.addresses is missing: the pool has no addresses');
  } else if (!Array.isArray(addresses)) {
    problems.push(`spec.addresses must be a list of strings, got ${describe(addresses)}`);
  } else {
    const entries: unknown[] = addresses;
    entries.forEach((entry, index) => {
      if (typeof entry !== 'string') {
        problems.push(`spec.addresses[${index}] must be a string, got ${describe(entry)}`);
        return;
      }
      const range = parsePoolEntry(entry);
      if ('error' in range) problems.push(range.error);
      else ranges.push(range);
    });
  }
  let autoAssign = true;
  if (typeof spec.autoAssign === 'boolean') {
    autoAssign = spec.autoAssign;
  } else if (spec.autoAssign !== undefined && spec.autoAssign !== null) {
    problems.push(
      `spec.autoAssign must be true or false, got ${describe(spec.autoAssign)}; the pool is used only when requested`,
    );
    autoAssign = false;
  }
  return { pool: { name, ranges, autoAssign }, problems };
}

/**
 * Human-readable descriptions of ranges shared by two different pools (pool names in order). Overlaps are not
 * fatal — an address still has one owner — but an address in two pools is counted in both and is labelled with
 * the first pool by name.
 */
export function findPoolOverlaps(pools: readonly PoolSpec[]): string[] {
  const found: string[] = [];
  const sorted = [...pools].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i]!;
      const b = sorted[j]!;
      for (const ra of a.ranges) {
        for (const rb of b.ranges) {
          if (overlaps(ra, rb)) {
            found.push(
              `pools "${a.name}" and "${b.name}" overlap: ${formatRange(ra)} and ${formatRange(rb)}`,
            );
          }
        }
      }
    }
  }
  return found;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first element >= value in an ascending array (array length when none). */
function lowerBound(sorted: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorted, coalesced (overlapping or adjacent ranges merged) ranges of one family. */
function mergeRanges(ranges: readonly AddressRange[], family: Family): AddressRange[] {
  const sorted = ranges.filter((r) => r.family === family).sort((a, b) => compareBigInt(a.first, b.first));
  const merged: AddressRange[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.first <= last.last + 1n) {
      if (r.last > last.last) last.last = r.last;
    } else {
      merged.push({ family, first: r.first, last: r.last });
    }
  }
  return merged;
}

interface Pool {
  spec: PoolSpec;
  /** Per family: sorted, coalesced ranges, for lookup and lowest-free search. */
  merged: Record<Family, AddressRange[]>;
}

function poolContains(pool: Pool, family: Family, value: bigint): boolean {
  const ranges = pool.merged[family];
  // Binary search the last range starting at or before value.
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]!.first <= value) lo = mid + 1;
    else hi = mid;
  }
  const candidate = ranges[lo - 1];
  return candidate !== undefined && contains(candidate, family, value);
}

function fail(reason: AllocationFailureReason, message: string): AllocationFailure {
  return { ok: false, reason, message };
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * Tracks which Service holds which address and hands out free ones.
 *
 * Cost, with T addresses taken in a family: ownership checks are O(1); taking or freeing an address is
 * O(log T) search plus an O(T) array splice (a memmove: negligible for tens of thousands); finding the lowest
 * free address of a pool is O(R log T) for its R merged ranges, whatever the pool's size (a /64 is fine): the
 * taken values are kept sorted, and within a range the run of consecutive taken values starting at its first
 * address is found by binary search (sorted[j] - sorted[i] === j - i holds exactly on that run).
 */
export class Allocator {
  #pools = new Map<string, Pool>();
  /** Pools in name order. */
  #order: Pool[] = [];
  #byKey = new Map<string, Assignment[]>();
  #owners: Record<Family, Map<bigint, string>> = { IPv4: new Map(), IPv6: new Map() };
  /** The keys of #owners per family, ascending. */
  #sorted: Record<Family, bigint[]> = { IPv4: [], IPv6: [] };

  /** Replaces the pool set. Assignments are kept, even those no pool contains any more. */
  setPools(pools: readonly PoolSpec[]): void {
    this.#pools = new Map();
    for (const spec of pools) {
      const copy: PoolSpec = {
        name: spec.name,
        autoAssign: spec.autoAssign,
        ranges: spec.ranges.map((r) => ({ ...r })),
      };
      this.#pools.set(spec.name, {
        spec: copy,
        merged: { IPv4: mergeRanges(copy.ranges, 'IPv4'), IPv6: mergeRanges(copy.ranges, 'IPv6') },
      });
    }
    this.#order = [...this.#pools.values()].sort((a, b) => compareNames(a.spec.name, b.spec.name));
    for (const list of this.#byKey.values()) {
      for (const a of list) {
        const current = a.pool === undefined ? undefined : this.#pools.get(a.pool);
        if (current === undefined || !poolContains(current, a.family, a.value)) {
          a.pool = this.#firstPoolContaining(a.family, a.value)?.spec.name;
        }
      }
    }
  }

  /** The current pools, in name order. */
  pools(): PoolSpec[] {
    return this.#order.map((p) => ({ ...p.spec, ranges: p.spec.ranges.map((r) => ({ ...r })) }));
  }

  /** What `key` holds (copies), in the order acquired. */
  assigned(key: string): Assignment[] {
    return (this.#byKey.get(key) ?? []).map((a) => ({ ...a }));
  }

  ownerOf(family: Family, value: bigint): string | undefined {
    return this.#owners[family].get(value);
  }

  /** Keys, sorted, holding at least one address that no current pool contains. */
  assignmentsOutsidePools(): string[] {
    const keys: string[] = [];
    for (const [key, list] of this.#byKey) {
      if (list.some((a) => a.pool === undefined)) keys.push(key);
    }
    return keys.sort(compareNames);
  }

  /**
   * Records addresses `key` already holds (from a Service's status, on start-up), even outside every pool, so
   * they are never handed to anyone else. Adds to what the key holds. All-or-nothing.
   */
  restore(key: string, addresses: readonly string[]): RestoreResult {
    const parsed: { family: Family; value: bigint }[] = [];
    for (const text of addresses) {
      const address = parseAddress(text);
      if ('error' in address) return fail('InvalidAddress', address.error);
      const owner = this.#owners[address.family].get(address.value);
      if (owner !== undefined && owner !== key) {
        const shown = formatAddress(address.family, address.value);
        return fail('AddressInUse', `${shown} is already assigned to ${holderText(owner, key)}`);
      }
      if (
        owner === undefined &&
        !parsed.some((p) => p.family === address.family && p.value === address.value)
      ) {
        parsed.push(address);
      }
    }
    for (const { family, value } of parsed) {
      this.#take(key, family, value, this.#firstPoolContaining(family, value)?.spec.name);
    }
    return { ok: true };
  }

  /**
   * Gives `key` address(es) of `request.family`. Idempotent: addresses the key holds that still satisfy the
   * request are returned unchanged, whatever has happened to the pools. Otherwise the requested addresses, or the
   * lowest free address (pools in name order; only autoAssign pools unless one is named), replace what the key
   * held in that family.
   */
  allocate(key: string, request: AllocationRequest): AllocationResult {
    const { family } = request;
    const wanted: bigint[] = [];
    for (const text of request.addresses ?? []) {
      const address = parseAddress(text);
      if ('error' in address) return fail('InvalidAddress', address.error);
      if (address.family === family && !wanted.includes(address.value)) wanted.push(address.value);
    }
    let named: Pool | undefined;
    if (request.pool !== undefined) {
      named = this.#pools.get(request.pool);
      if (named === undefined) return fail('PoolNotFound', `address pool "${request.pool}" does not exist`);
    }
    const held = (this.#byKey.get(key) ?? []).filter((a) => a.family === family);
    if (wanted.length > 0) return this.#allocateExact(key, family, wanted, named, held);

    const keep = named === undefined ? held : held.filter((a) => poolContains(named, a.family, a.value));
    if (keep.length > 0) {
      this.#free(
        key,
        held.filter((a) => !keep.includes(a)),
      );
      return { ok: true, addresses: keep.map((a) => ({ ...a })) };
    }

    const candidates = named !== undefined ? [named] : this.#order.filter((p) => p.spec.autoAssign);
    const withFamily = candidates.filter((p) => p.merged[family].length > 0);
    if (withFamily.length === 0) return fail('NoPoolForFamily', this.#noPoolMessage(family, named));
    for (const pool of withFamily) {
      const value = this.#lowestFree(pool, family);
      if (value !== undefined) {
        this.#free(key, held);
        const assignment = this.#take(key, family, value, pool.spec.name);
        return { ok: true, addresses: [{ ...assignment }] };
      }
    }
    const names = withFamily.map((p) => p.spec.name);
    const where =
      names.length === 1 ? `address pool ${quoteList(names)}` : `address pools ${quoteList(names)}`;
    return fail('PoolExhausted', `no free ${family} address left in ${where}`);
  }

  /** Frees everything `key` holds, or only its addresses of the given families. */
  release(key: string, families?: readonly Family[]): Assignment[] {
    const list = this.#byKey.get(key);
    if (list === undefined) return [];
    const freed = families === undefined ? [...list] : list.filter((a) => families.includes(a.family));
    this.#free(key, freed);
    return freed.map((a) => ({ ...a }));
  }

  /** Occupancy of a pool, or undefined when there is no such pool. */
  usage(poolName: string): PoolUsage | undefined {
    const pool = this.#pools.get(poolName);
    if (pool === undefined) return undefined;
    let assigned = 0;
    let size = 0n;
    for (const family of FAMILIES) {
      const sorted = this.#sorted[family];
      for (const r of pool.merged[family]) {
        size += rangeSize(r);
        assigned += lowerBound(sorted, r.last + 1n) - lowerBound(sorted, r.first);
      }
    }
    return { assigned, size, free: size - BigInt(assigned) };
  }

  #allocateExact(
    key: string,
    family: Family,
    wanted: readonly bigint[],
    named: Pool | undefined,
    held: readonly Assignment[],
  ): AllocationResult {
    const labels: (string | undefined)[] = [];
    for (const value of wanted) {
      const shown = formatAddress(family, value);
      const owner = this.#owners[family].get(value);
      if (named !== undefined) {
        if (!poolContains(named, family, value)) {
          return fail('AddressNotInPool', `${shown} is not in address pool "${named.spec.name}"`);
        }
        labels.push(named.spec.name);
      } else {
        const pool = this.#firstPoolContaining(family, value);
        // An address the key already holds stays valid even when no pool contains it any more (stability).
        if (pool === undefined && owner !== key) {
          return fail('AddressOutsidePools', `${shown} is not in any address pool`);
        }
        labels.push(pool?.spec.name);
      }
      if (owner !== undefined && owner !== key) {
        return fail('AddressInUse', `${shown} is already assigned to ${holderText(owner, key)}`);
      }
    }
    this.#free(
      key,
      held.filter((a) => !wanted.includes(a.value)),
    );
    const result: Assignment[] = [];
    wanted.forEach((value, i) => {
      const existing = this.#byKey.get(key)?.find((a) => a.family === family && a.value === value);
      result.push({ ...(existing ?? this.#take(key, family, value, labels[i])) });
    });
    return { ok: true, addresses: result };
  }

  #noPoolMessage(family: Family, named: Pool | undefined): string {
    if (named !== undefined) return `address pool "${named.spec.name}" has no ${family} addresses`;
    const manual = this.#order.filter((p) => !p.spec.autoAssign && p.merged[family].length > 0);
    if (manual.length === 0) return `no address pool has ${family} addresses`;
    const names = manual.map((p) => p.spec.name);
    return (
      `no address pool with autoAssign enabled has ${family} addresses; ` +
      `${quoteList(names)} ${names.length === 1 ? 'has' : 'have'} autoAssign: false and must be requested by name`
    );
  }

  #firstPoolContaining(family: Family, value: bigint): Pool | undefined {
    return this.#order.find((p) => poolContains(p, family, value));
  }

  #lowestFree(pool: Pool, family: Family): bigint | undefined {
    const sorted = this.#sorted[family];
    for (const range of pool.merged[family]) {
      const i = lowerBound(sorted, range.first);
      if (i === sorted.length || sorted[i] !== range.first) return range.first;
      // sorted[i] === range.first. Values are distinct and ascending, so sorted[j] - sorted[i] >= j - i, with
      // equality exactly on the run of consecutive taken values from range.first: binary search its end.
      let lo = i;
      let hi = sorted.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (sorted[mid]! - range.first === BigInt(mid - i)) lo = mid;
        else hi = mid - 1;
      }
      const candidate = sorted[lo]! + 1n;
      if (candidate <= range.last) return candidate;
    }
    return undefined;
  }

  #take(key: string, family: Family, value: bigint, pool: string | undefined): Assignment {
    const assignment: Assignment = { family, value, address: formatAddress(family, value), pool };
    this.#owners[family].set(value, key);
    const sorted = this.#sorted[family];
    sorted.splice(lowerBound(sorted, value), 0, value);
    const list = this.#byKey.get(key);
    if (list === undefined) this.#byKey.set(key, [assignment]);
    else list.push(assignment);
    return assignment;
  }

  #free(key: string, assignments: readonly Assignment[]): void {
    if (assignments.length === 0) return;
    for (const a of assignments) {
      if (this.#owners[a.family].get(a.value) !== key) continue;
      this.#owners[a.family].delete(a.value);
      const sorted = this.#sorted[a.family];
      const index = lowerBound(sorted, a.value);
      if (sorted[index] === a.value) sorted.splice(index, 1);
    }
    const remaining = (this.#byKey.get(key) ?? []).filter((a) => !assignments.includes(a));
    if (remaining.length === 0) this.#byKey.delete(key);
    else this.#byKey.set(key, remaining);
  }
}

/**
 * Names the Service holding an address for a message shown to `key`'s owner: by name within the
 * same namespace, but without naming another tenant's namespace or Service.
 */
function holderText(owner: string, key: string): string {
  const namespaceOf = (k: string): string => k.slice(0, k.indexOf('/'));
  return namespaceOf(owner) === namespaceOf(key)
    ? `Service ${owner.slice(owner.indexOf('/') + 1)}`
    : 'a Service in another namespace';
}
