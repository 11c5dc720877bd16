// Who holds which address, indexed for the allocator's three questions: who owns this address (O(1)), what is
// the lowest address nobody owns in a range (O(log T) for T owned addresses, whatever the range's size: a /64
// is fine), and which addresses are held under a sharing key. Pure bookkeeping: no rules about who may own what.

import { countSkippable, type Family, isSkippable, nextUnskippable } from './address-range.ts';

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

function insertSorted(sorted: bigint[], value: bigint): void {
  sorted.splice(lowerBound(sorted, value), 0, value);
}

function removeSorted(sorted: bigint[], value: bigint): void {
  const index = lowerBound(sorted, value);
  if (sorted[index] === value) sorted.splice(index, 1);
}

const perFamily = <T>(make: () => T): Record<Family, T> => ({ IPv4: make(), IPv6: make() });

export class AddressIndex {
  readonly #owners = perFamily(() => new Map<bigint, Set<string>>());
  /** The keys of #owners, ascending: an address is "free" for the search only when nobody owns it. */
  readonly #sorted = perFamily((): bigint[] => []);
  /** The owned addresses that are skippable (buggy IPv4, IPv6 subnet-router anycast), ascending. */
  readonly #skippable = perFamily((): bigint[] => []);
  /** Sharing key → address → how many of its owners hold it under that key. */
  readonly #shared = perFamily(() => new Map<string, Map<bigint, number>>());

  owners(family: Family, value: bigint): ReadonlySet<string> {
    return this.#owners[family].get(value) ?? new Set();
  }

  /** Records `owner` on the address (idempotent), under `sharingKey` when it has one. */
  add(family: Family, value: bigint, owner: string, sharingKey: string | undefined): void {
    let owners = this.#owners[family].get(value);
    if (owners === undefined) {
      owners = new Set();
      this.#owners[family].set(value, owners);
      insertSorted(this.#sorted[family], value);
      if (isSkippable(family, value)) insertSorted(this.#skippable[family], value);
    }
    if (owners.has(owner)) return;
    owners.add(owner);
    if (sharingKey !== undefined) this.#countShared(family, value, sharingKey, 1);
  }

  /** Removes `owner` (which held the address under `sharingKey`); true when the address has no owner left. */
  remove(family: Family, value: bigint, owner: string, sharingKey: string | undefined): boolean {
    const owners = this.#owners[family].get(value);
    if (owners === undefined || !owners.delete(owner)) return owners === undefined;
    if (sharingKey !== undefined) this.#countShared(family, value, sharingKey, -1);
    if (owners.size > 0) return false;
    this.#owners[family].delete(value);
    removeSorted(this.#sorted[family], value);
    if (isSkippable(family, value)) removeSorted(this.#skippable[family], value);
    return true;
  }

  /** `owner` now holds the address under another sharing key (or none). */
  rekey(
    family: Family,
    value: bigint,
    owner: string,
    from: string | undefined,
    to: string | undefined,
  ): void {
    if (from === to || !this.#owners[family].get(value)?.has(owner)) return;
    if (from !== undefined) this.#countShared(family, value, from, -1);
    if (to !== undefined) this.#countShared(family, value, to, 1);
  }

  /** Addresses held by at least one owner under `sharingKey`, ascending. */
  sharedUnder(family: Family, sharingKey: string): bigint[] {
    const values = [...(this.#shared[family].get(sharingKey)?.keys() ?? [])];
    return values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The lowest address in [from, last] that nobody owns, and, with `skip`, that is not skippable (the rule
   * automatic picking follows). O(log T · log S) for T owned and S owned skippable addresses, whatever the
   * range's size: for the owned values sorted[j] (i <= j < k) inside the range,
   *   free(j) = (addresses in [start, sorted[j]]) - (owned ones there), each counted without skippable ones,
   * is non-decreasing in j and computable in O(log S) (closed-form counts, one binary search); the first j
   * with free(j) > 0 bounds the gap holding the answer.
   */
  firstFree(family: Family, from: bigint, last: bigint, skip: boolean): bigint | undefined {
    const start = skip ? nextUnskippable(family, from) : from;
    if (start > last) return undefined;
    const sorted = this.#sorted[family];
    const i = lowerBound(sorted, start);
    const k = lowerBound(sorted, last + 1n);
    const freeUpTo = (j: number): bigint => {
      const x = sorted[j]!;
      let addresses = x - start + 1n;
      let owned = BigInt(j - i + 1);
      if (skip) {
        addresses -= countSkippable(family, start, x);
        owned -= BigInt(this.countOwned(family, start, x, true));
      }
      return addresses - owned;
    };
    let lo = i;
    let hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (freeUpTo(mid) > 0n) hi = mid;
      else lo = mid + 1;
    }
    // Nothing free up to sorted[lo - 1]; nothing owned between it and sorted[lo] (or the range's end).
    const after = lo === i ? start : sorted[lo - 1]! + 1n;
    const candidate = skip ? nextUnskippable(family, after) : after;
    return candidate <= last ? candidate : undefined;
  }

  /** How many owned addresses lie in [first, last]; with `skippable`, only the skippable ones. */
  countOwned(family: Family, first: bigint, last: bigint, skippable = false): number {
    const sorted = skippable ? this.#skippable[family] : this.#sorted[family];
    return lowerBound(sorted, last + 1n) - lowerBound(sorted, first);
  }

  #countShared(family: Family, value: bigint, sharingKey: string, delta: 1 | -1): void {
    const byKey = this.#shared[family];
    let counts = byKey.get(sharingKey);
    if (counts === undefined) {
      if (delta < 0) return;
      counts = new Map();
      byKey.set(sharingKey, counts);
    }
    const next = (counts.get(value) ?? 0) + delta;
    if (next > 0) counts.set(value, next);
    else counts.delete(value);
    if (counts.size === 0) byKey.delete(sharingKey);
  }
}
