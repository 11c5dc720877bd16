// The current set of pools, prepared for allocation: merged ranges per family, conflicts between overlapping
// pools, the order in which pools are tried for a Service, picking an address in a pool, and pool status. Pure.

import type { AddressIndex } from './address-index.ts';
import {
  type AddressRange,
  contains,
  countUnpickable,
  type Family,
  isSkippable,
  rangeSize,
  skipsSkippable,
} from './address-range.ts';
import {
  allocationAdmits,
  compareAge,
  findConflicts,
  type PoolSpec,
  type ServiceIdentity,
} from './pool-spec.ts';

export interface Pool {
  spec: PoolSpec;
  /** Per family: sorted, coalesced ranges, for lookup and lowest-free search. */
  merged: Record<Family, AddressRange[]>;
  /** Overlaps an older pool: hands out nothing new. */
  conflicting: boolean;
  /** Messages about overlaps with other pools, for status. */
  conflicts: string[];
}

export interface PoolStatus {
  /** Distinct addresses of the pool held by at least one Service (a shared address counts once). */
  assignedIPv4: number;
  assignedIPv6: number;
  /**
   * Addresses the pool could still hand out automatically: its size, minus the addresses automatic picking
   * skips (IPv6 subnet-router anycast `…::`, and .0/.255 with avoidBuggyIPs), minus the assigned ones it could
   * have picked. Capped at Number.MAX_SAFE_INTEGER. Not zeroed for a disabled or conflicting pool: the
   * condition says why it hands out nothing.
   */
  availableIPv4: number;
  availableIPv6: number;
  /** Messages about overlaps with other pools (both the winning and the losing side). */
  conflicts: string[];
  /** This pool lost an overlap (it is the newer one) and hands out nothing new. */
  conflicting: boolean;
  disabled: boolean;
}

export type PoolRefusal = { reason: 'PoolNotAllowed' | 'PoolDisabled' | 'PoolConflicting'; message: string };

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
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

function copySpec(spec: PoolSpec): PoolSpec {
  const allocation = spec.serviceAllocation;
  return {
    ...spec,
    ranges: spec.ranges.map((r) => ({ ...r })),
    serviceAllocation: allocation && {
      ...allocation,
      namespaces: [...allocation.namespaces],
      namespaceSelectors: structuredClone(allocation.namespaceSelectors),
      serviceSelectors: structuredClone(allocation.serviceSelectors),
    },
  };
}

export class PoolSet {
  readonly #byName = new Map<string, Pool>();
  /** Name order. */
  readonly #names: Pool[];
  /** Oldest first: the owner of an address in several pools is the first here that contains it. */
  readonly #byAge: Pool[];

  constructor(specs: readonly PoolSpec[]) {
    // Names are unique in Kubernetes; should a caller repeat one, the last spec wins.
    const unique = new Map(specs.map((s) => [s.name, copySpec(s)]));
    const { conflicting, messages } = findConflicts([...unique.values()]);
    for (const spec of unique.values()) {
      this.#byName.set(spec.name, {
        spec,
        merged: { IPv4: mergeRanges(spec.ranges, 'IPv4'), IPv6: mergeRanges(spec.ranges, 'IPv6') },
        conflicting: conflicting.has(spec.name),
        conflicts: messages.get(spec.name) ?? [],
      });
    }
    this.#names = [...this.#byName.values()].sort((a, b) => compareNames(a.spec.name, b.spec.name));
    this.#byAge = [...this.#names].sort((a, b) => compareAge(a.spec, b.spec));
  }

  get(name: string): Pool | undefined {
    return this.#byName.get(name);
  }

  /** All pools in name order. */
  all(): readonly Pool[] {
    return this.#names;
  }

  /** The pools containing the address, oldest first. */
  containing(family: Family, value: bigint): Pool[] {
    return this.#byAge.filter((p) => poolContains(p, family, value));
  }

  /**
   * The pools tried, in order, for a Service that names no pool and requests no address (MetalLB's Allocate):
   * first the pools whose serviceAllocation admits it, by priority (lower first, 0 last) then name; then the
   * pools without serviceAllocation, by name. Only autoAssign pools that are neither disabled nor conflicting.
   */
  candidatesFor(service: ServiceIdentity): Pool[] {
    const usable = this.#names.filter((p) => p.spec.autoAssign && !p.spec.disabled && !p.conflicting);
    const rank = (p: Pool): number => {
      const priority = p.spec.serviceAllocation?.priority ?? 0;
      return priority === 0 ? Number.POSITIVE_INFINITY : priority;
    };
    const pinned = usable
      .filter(
        (p) => p.spec.serviceAllocation !== undefined && allocationAdmits(p.spec.serviceAllocation, service),
      )
      .sort((a, b) => rank(a) - rank(b) || compareNames(a.spec.name, b.spec.name));
    const general = usable.filter((p) => p.spec.serviceAllocation === undefined);
    return [...pinned, ...general];
  }
}

export function poolContains(pool: Pool, family: Family, value: bigint): boolean {
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

/** Why this pool may not give `service` a new address (named or requested), or undefined when it may. */
export function poolRefusal(pool: Pool, service: ServiceIdentity): PoolRefusal | undefined {
  const name = `address pool "${pool.spec.name}"`;
  if (!allocationAdmits(pool.spec.serviceAllocation, service)) {
    const why =
      pool.spec.serviceAllocation?.valid === false ? 'its serviceAllocation is invalid' : 'it is reserved';
    return {
      reason: 'PoolNotAllowed',
      message: `${name} does not serve this Service: ${why} (spec.serviceAllocation) for other Services`,
    };
  }
  if (pool.spec.disabled) {
    return {
      reason: 'PoolDisabled',
      message: `${name} is disabled (draining): it hands out no new addresses`,
    };
  }
  if (pool.conflicting) {
    return {
      reason: 'PoolConflicting',
      message: `${name} overlaps an older pool and hands out no addresses until the overlap is removed`,
    };
  }
  return undefined;
}

/** Why the pool is not among candidatesFor(service), in a few words for a list (undefined when it is). */
export function notCandidateBecause(pool: Pool, service: ServiceIdentity): string | undefined {
  if (pool.spec.disabled) return 'disabled';
  if (pool.conflicting) return 'conflicting: it overlaps an older pool';
  if (!pool.spec.autoAssign) return 'autoAssign: false; name it to use it';
  if (pool.spec.serviceAllocation?.valid === false) return 'its serviceAllocation is invalid';
  if (!allocationAdmits(pool.spec.serviceAllocation, service)) return 'reserved for other Services';
  return undefined;
}

/** Whether automatic picking may hand out this address of the pool (explicit requests may take any). */
export function isPickable(pool: Pool, family: Family, value: bigint): boolean {
  return !(skipsSkippable(family, pool.spec.avoidBuggyIPs) && isSkippable(family, value));
}

/** The lowest address of the pool that nobody holds and automatic picking may hand out. */
export function lowestPickable(pool: Pool, family: Family, index: AddressIndex): bigint | undefined {
  const skip = skipsSkippable(family, pool.spec.avoidBuggyIPs);
  for (const range of pool.merged[family]) {
    const found = index.firstFree(family, range.first, range.last, skip);
    if (found !== undefined) return found;
  }
  return undefined;
}

function capped(value: bigint): number {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(value > max ? max : value < 0n ? 0n : value);
}

export function statusOf(pool: Pool, index: AddressIndex): PoolStatus {
  const counts = (family: Family): { assigned: number; available: number } => {
    let assigned = 0;
    let available = 0n;
    for (const r of pool.merged[family]) {
      const owned = index.countOwned(family, r.first, r.last);
      const skip = skipsSkippable(family, pool.spec.avoidBuggyIPs);
      const ownedUnpickable = skip ? index.countOwned(family, r.first, r.last, true) : 0;
      assigned += owned;
      available +=
        rangeSize(r) - countUnpickable(r, pool.spec.avoidBuggyIPs) - BigInt(owned - ownedUnpickable);
    }
    return { assigned, available: capped(available) };
  };
  const v4 = counts('IPv4');
  const v6 = counts('IPv6');
  return {
    assignedIPv4: v4.assigned,
    assignedIPv6: v6.assigned,
    availableIPv4: v4.available,
    availableIPv6: v6.available,
    conflicts: [...pool.conflicts],
    conflicting: pool.conflicting,
    disabled: pool.spec.disabled,
  };
}
