// Pure address allocator for bare-metal AddressPools, with MetalLB's features (sharing, dual-stack,
// serviceAllocation, priorities, avoidBuggyIPs) and stricter stability. No I/O: the provider feeds it the parsed
// pools and the Services' facts and requests, and persists the outcome in Service status (from which `restore`
// rebuilds it on start-up).
//
// Invariants:
// - An address has a set of owners (Service keys `namespace/name`); more than one only when every pair may
//   share it (sharing.ts). Ownership is checked in O(1), the lowest free address found in O(log T).
// - An address a Service holds that still satisfies its request never changes: not on restart, not when pools
//   are widened, added, reordered or re-prioritised, not when selectors change, not when another Service goes.
//   Shrinking or deleting a pool keeps it too (with a notice), unless the pool that handed it out still exists,
//   no longer contains it and says reallocateRemovedAddresses: true. That holds for a pool the Service names
//   too (metallb.io/address-pool): while the request names the same pool as when the address was given, the
//   request has not changed; only naming another pool moves the address.
// - A failed `allocate` leaves the state exactly as it was.

import { AddressIndex } from './address-index.ts';
import { type Family, formatAddress, parseAddress } from './address-range.ts';
import { boundText, capMessages, listSome } from './message-limit.ts';
import {
  isPickable,
  lowestPickable,
  notCandidateBecause,
  type Pool,
  PoolSet,
  type PoolStatus,
  poolContains,
  poolRefusal,
  statusOf,
} from './pool-set.ts';
import type { PoolSpec } from './pool-spec.ts';
import { type ServiceFacts, type SharingRefusal, sharingRefusal } from './sharing.ts';

export type { PoolStatus } from './pool-set.ts';
export { findPoolOverlaps, type PoolSpec, parsePool, type ServiceAllocation } from './pool-spec.ts';
export type { ServiceFacts, SharingFacts } from './sharing.ts';

export const ALLOCATION_FAILURE_REASONS = [
  'InvalidRequest',
  'InvalidAddress',
  'AddressOutsidePools',
  'AddressNotInPool',
  'AddressInUse',
  'SharingConflict',
  'PoolNotFound',
  'PoolNotAllowed',
  'PoolDisabled',
  'PoolConflicting',
  'NoMatchingPool',
  'FamilyUnavailable',
  'PoolExhausted',
] as const;

export type AllocationFailureReason = (typeof ALLOCATION_FAILURE_REASONS)[number];

/** Something the user should know while the Service still works (a Warning Event and the condition). */
export type NoticeReason =
  | 'AddressOutsidePools'
  | 'PoolDisabled'
  | 'PoolConflicting'
  | 'FamilyUnavailable'
  | 'AddressReallocated';

export interface Notice {
  reason: NoticeReason;
  message: string;
}

export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface AllocationRequest {
  service: ServiceFacts;
  /** spec.ipFamilies order, 1 or 2 entries. */
  families: Family[];
  policy: IPFamilyPolicy;
  /** Exact addresses requested, at most one per family. */
  addresses?: string[];
  /** A named pool (sluice.dev/pool, metallb.io/address-pool). */
  pool?: string;
}

export interface Assignment {
  family: Family;
  value: bigint;
  /** Canonical text of `value` (formatAddress). */
  address: string;
  /** The pool the address came from while it still contains it; undefined when no pool contains it. */
  pool: string | undefined;
}

export type AllocationFailure = { ok: false; reason: AllocationFailureReason; message: string };
export type AllocationResult = { ok: true; addresses: Assignment[]; notices: Notice[] } | AllocationFailure;

/** What `restore` recorded (`addresses`: all the key holds now), and why some published address was not. */
export type RestoreResult =
  | { ok: true; addresses: Assignment[] }
  | { ok: false; reason: 'AddressInUse' | 'InvalidAddress'; message: string; addresses: Assignment[] };

/**
 * The pool a request named (metallb.io/address-pool, sluice.dev/pool) when an address was assigned or last
 * kept: `name` undefined when it named none. Unknown for an address restored from Service status.
 */
type RequestedPool = { known: true; name: string | undefined } | { known: false };

const UNKNOWN_REQUEST: RequestedPool = { known: false };

/** One address a Service holds, and the pool that handed it out (or now contains it). */
interface Held {
  family: Family;
  value: bigint;
  origin: string | undefined;
  /**
   * The pool the request named when this address was given or last kept. While the request names the same
   * pool it has not changed, so a shrunk or deleted named pool does not move the address (Stability); only
   * naming another pool does.
   */
  requestedPool: RequestedPool;
}

interface ServiceRecord {
  facts: ServiceFacts;
  /** At most one per family. */
  held: Held[];
}

/** What allocate decided for one family. */
type Choice = { kind: 'keep'; held: Held } | { kind: 'take'; value: bigint; pool: string };

/** Why a family got no address: a failure, or with PreferDualStack and another family served, a notice. */
type Shortfall = { reason: AllocationFailureReason; message: string };

function fail(reason: AllocationFailureReason, message: string): AllocationFailure {
  return { ok: false, reason, message: boundText(message) };
}

function quoteList(names: readonly string[]): string {
  return listSome(
    names.map((n) => `"${n}"`),
    'pools',
  );
}

function copyFacts(facts: ServiceFacts): ServiceFacts {
  const { sharing } = facts;
  return {
    key: facts.key,
    namespace: facts.namespace,
    labels: { ...facts.labels },
    namespaceLabels: { ...facts.namespaceLabels },
    ...(sharing && {
      sharing: {
        key: sharing.key,
        crossNamespace: [...sharing.crossNamespace],
        ports: sharing.ports.map((p) => ({ protocol: p.protocol, port: p.port })),
        backendKey: sharing.backendKey,
      },
    }),
  };
}

export class Allocator {
  #pools = new PoolSet([]);
  readonly #services = new Map<string, ServiceRecord>();
  readonly #index = new AddressIndex();

  /**
   * Replaces the pool set. Nothing is released or moved here: assignments are re-homed to a pool that contains
   * them when the pool they came from is gone or no longer contains them (except when that pool asks for
   * reallocation, which the next `allocate` carries out). Callers re-run `allocate` for their Services.
   */
  setPools(pools: readonly PoolSpec[]): void {
    this.#pools = new PoolSet(pools);
    for (const record of this.#services.values()) {
      for (const held of record.held) {
        const origin = held.origin === undefined ? undefined : this.#pools.get(held.origin);
        if (origin !== undefined && poolContains(origin, held.family, held.value)) continue;
        if (origin?.spec.reallocateRemovedAddresses) continue;
        const home = this.#pools.containing(held.family, held.value)[0];
        // With no pool containing it, remember where it came from: if that pool later asks for reallocation,
        // the address moves then.
        if (home !== undefined) held.origin = home.spec.name;
      }
    }
  }

  /** Pool names, in name order. */
  poolNames(): string[] {
    return this.#pools.all().map((p) => p.spec.name);
  }

  /** The pools containing the address, in name order. */
  poolsContaining(family: Family, value: bigint): string[] {
    return this.#pools
      .containing(family, value)
      .map((p) => p.spec.name)
      .sort();
  }

  /** Counts and conflicts of a pool, or undefined when there is no such pool. */
  poolStatus(name: string): PoolStatus | undefined {
    const pool = this.#pools.get(name);
    return pool === undefined ? undefined : statusOf(pool, this.#index);
  }

  /** What `key` holds (copies), in the families order of its last allocate. */
  assigned(key: string): Assignment[] {
    const record = this.#services.get(key);
    return record === undefined ? [] : this.#assignments(record.held);
  }

  /** The Services holding the address, sorted. */
  holders(family: Family, value: bigint): string[] {
    return [...this.#index.owners(family, value)].sort();
  }

  /** Keys, sorted, holding at least one address that no current pool contains. */
  assignmentsOutsidePools(): string[] {
    const keys: string[] = [];
    for (const [key, record] of this.#services) {
      if (record.held.some((h) => this.#poolOf(h) === undefined)) keys.push(key);
    }
    return keys.sort();
  }

  /**
   * Records addresses a Service publishes (from its status, on start-up), even outside every pool, so they are
   * never handed to anyone else. Call in a deterministic order: when two Services publish the same address
   * and may not share it, the first restored keeps it and the second holds nothing of that family (reported
   * as AddressInUse; its next `allocate` gives it a new address). A family the key already holds is left as
   * it is (what the allocator holds is authoritative). The Service's facts replace those recorded before.
   */
  restore(service: ServiceFacts, addresses: readonly string[]): RestoreResult {
    const record = this.#services.get(service.key) ?? { facts: copyFacts(service), held: [] };
    this.#setFacts(record, service);
    const problems: { reason: 'AddressInUse' | 'InvalidAddress'; message: string }[] = [];
    for (const text of addresses) {
      const parsed = parseAddress(text);
      if ('error' in parsed) {
        problems.push({ reason: 'InvalidAddress', message: parsed.error });
        continue;
      }
      const { family, value } = parsed;
      const shown = formatAddress(family, value);
      const already = record.held.find((h) => h.family === family);
      if (already !== undefined) {
        if (already.value !== value) {
          problems.push({
            reason: 'InvalidAddress',
            message: `${shown} is not kept: the Service already holds ${formatAddress(family, already.value)} (one address per family)`,
          });
        }
        continue;
      }
      const refusal = this.#refusalFromOwners(service, family, value);
      if (refusal !== undefined) {
        problems.push({ reason: 'AddressInUse', message: refusal.message });
        continue;
      }
      const origin = this.#pools.containing(family, value)[0]?.spec.name;
      record.held.push({ family, value, origin, requestedPool: UNKNOWN_REQUEST });
      this.#index.add(family, value, service.key, service.sharing?.key);
    }
    if (record.held.length > 0) this.#services.set(service.key, record);
    else this.#services.delete(service.key);
    const holding = this.#assignments(record.held);
    const first = problems[0];
    if (first === undefined) return { ok: true, addresses: holding };
    return {
      ok: false,
      reason: first.reason,
      message: capMessages(
        problems.map((p) => p.message),
        'problems',
      ).join('; '),
      addresses: holding,
    };
  }

  /**
   * Gives the Service its addresses for `request`: per family, what it holds while that still satisfies the
   * request; else the requested address; else an address from the named pool; else from the pools that serve
   * it (serviceAllocation by priority, then the general autoAssign pools by name). A Service with a sharing key
   * first looks for an address compatible Services with that key already hold. With two families one pool
   * serving both is preferred. Families no longer requested are released. All or nothing.
   */
  allocate(request: AllocationRequest): AllocationResult {
    const { service } = request;
    const families = this.#familiesOf(request);
    if ('reason' in families) return families;
    const requested = this.#requestedAddresses(request, families);
    if ('reason' in requested) return requested;
    const named = request.pool === undefined ? undefined : this.#pools.get(request.pool);
    const record = this.#services.get(service.key);

    const choices = new Map<Family, Choice>();
    const notices: Notice[] = [];
    /** Why a held address is given up, per family: told once we know whether it is replaced. */
    const movedBecause = new Map<Family, string>();
    const pending: Family[] = [];
    for (const family of families) {
      const held = record?.held.find((h) => h.family === family);
      const wanted = requested.get(family);
      if (held !== undefined) {
        const verdict = this.#keepVerdict(service, held, wanted, request.pool, named);
        if ('keep' in verdict) {
          choices.set(family, { kind: 'keep', held });
          notices.push(...verdict.keep);
          continue;
        }
        if (verdict.refusal !== undefined && wanted === held.value)
          return fail(verdict.refusal.reason, verdict.refusal.message);
        if (verdict.movedBecause !== undefined) movedBecause.set(family, verdict.movedBecause);
      }
      if (wanted !== undefined) {
        const checked = this.#checkRequested(service, family, wanted, request.pool, named);
        if ('reason' in checked) return checked;
        choices.set(family, { kind: 'take', value: wanted, pool: checked.pool });
        continue;
      }
      pending.push(family);
    }

    const shortfalls = new Map<Family, Shortfall>();
    if (pending.length > 0) {
      const candidates = this.#candidatesFor(service, request.pool, named);
      if ('reason' in candidates) {
        // Not a failure by itself: with PreferDualStack the other family may still be served (kept, say).
        for (const family of pending) shortfalls.set(family, candidates);
      } else {
        this.#pick(service, pending, candidates, choices, shortfalls, request.pool !== undefined);
      }
    }

    for (const family of families) {
      const why = movedBecause.get(family);
      if (why !== undefined) {
        const outcome = choices.has(family) ? 'a new address replaces it' : 'it is given up';
        notices.push({ reason: 'AddressReallocated', message: `${why}; ${outcome}` });
      }
      const shortfall = shortfalls.get(family);
      if (shortfall === undefined) continue;
      const others = families.filter((f) => f !== family && choices.has(f));
      if (request.policy !== 'PreferDualStack' || others.length === 0) {
        return fail(shortfall.reason, shortfall.message);
      }
      notices.push({
        reason: 'FamilyUnavailable',
        message: `${shortfall.message}; the Service gets ${others.join(' and ')} only until one is available`,
      });
    }

    return {
      ok: true,
      addresses: this.#commit(service, families, choices, request.pool),
      notices: notices.map((n) => ({ reason: n.reason, message: boundText(n.message) })),
    };
  }

  /**
   * Frees what `key` holds, or only its addresses of the given families. Returns the addresses that became free:
   * an address still held by another Service (shared) is not.
   */
  release(key: string, families?: readonly Family[]): Assignment[] {
    const record = this.#services.get(key);
    if (record === undefined) return [];
    const going = record.held.filter((h) => families === undefined || families.includes(h.family));
    const freed = going.filter((h) => this.#index.remove(h.family, h.value, key, record.facts.sharing?.key));
    record.held = record.held.filter((h) => !going.includes(h));
    if (record.held.length === 0) this.#services.delete(key);
    return this.#assignments(freed);
  }

  // ---- request reading ----

  #familiesOf(request: AllocationRequest): Family[] | AllocationFailure {
    const { families, policy } = request;
    if (families.length === 0 || families.length > 2 || new Set(families).size !== families.length) {
      return fail(
        'InvalidRequest',
        `ipFamilies must be one or two different families, got [${families.join(', ')}]`,
      );
    }
    return policy === 'SingleStack' ? families.slice(0, 1) : [...families];
  }

  #requestedAddresses(
    request: AllocationRequest,
    families: Family[],
  ): Map<Family, bigint> | AllocationFailure {
    const wanted = new Map<Family, bigint>();
    for (const text of request.addresses ?? []) {
      const parsed = parseAddress(text);
      if ('error' in parsed) return fail('InvalidAddress', parsed.error);
      const shown = formatAddress(parsed.family, parsed.value);
      if (!families.includes(parsed.family)) {
        return fail(
          'InvalidAddress',
          `${shown} is an ${parsed.family} address, but the Service is served in ${families.join(' and ')} only (spec.ipFamilies, spec.ipFamilyPolicy)`,
        );
      }
      const other = wanted.get(parsed.family);
      if (other !== undefined && other !== parsed.value) {
        return fail(
          'InvalidAddress',
          `${formatAddress(parsed.family, other)} and ${shown} are both ${parsed.family}: request at most one address per family`,
        );
      }
      wanted.set(parsed.family, parsed.value);
    }
    return wanted;
  }

  // ---- the four steps ----

  /** Step 1: whether a held address still satisfies the request. */
  #keepVerdict(
    service: ServiceFacts,
    held: Held,
    wanted: bigint | undefined,
    poolName: string | undefined,
    named: Pool | undefined,
  ): { keep: Notice[] } | { refusal?: SharingRefusal; movedBecause?: string } {
    const { family, value } = held;
    const shown = formatAddress(family, value);
    if (wanted !== undefined && wanted !== value) return {};
    /** The named pool no longer contains the address, but the request did not change: it stays (below). */
    let outsideNamed = false;
    if (poolName !== undefined && (named === undefined || !poolContains(named, family, value))) {
      if (!this.#sameNamedPool(held, poolName)) return {};
      outsideNamed = true;
    }
    // The pool that handed the address out: for a request naming a pool, that pool.
    const originName = outsideNamed ? poolName : held.origin;
    const origin = originName === undefined ? undefined : this.#pools.get(originName);
    if (
      origin !== undefined &&
      !poolContains(origin, family, value) &&
      origin.spec.reallocateRemovedAddresses
    ) {
      // Explicitly requested: step 2 decides whether it may still be had (from another pool).
      if (wanted !== undefined) return {};
      return {
        movedBecause: `${shown} was removed from address pool "${origin.spec.name}", which has reallocateRemovedAddresses: true`,
      };
    }
    const refusal = this.#refusalFromOwners(service, family, value);
    if (refusal !== undefined) {
      return { refusal, movedBecause: `${shown} can no longer be shared (${refusal.message})` };
    }
    const notices: Notice[] = [];
    const pool = this.#poolOf(held);
    if (pool === undefined) {
      notices.push({
        reason: 'AddressOutsidePools',
        message: `${shown} is no longer in any address pool; it is kept. Request another address or delete the Service to give it up`,
      });
    } else if (outsideNamed) {
      const where = named === undefined ? 'which does not exist' : 'which no longer contains it';
      notices.push({
        reason: 'AddressOutsidePools',
        message: `${shown} is not in address pool "${poolName}" that the Service names (${where}); it is kept. Request another address or delete the Service to give it up`,
      });
    } else if (pool.spec.disabled) {
      notices.push({
        reason: 'PoolDisabled',
        message: `address pool "${pool.spec.name}" is disabled (draining); ${shown} is kept, but the pool hands out nothing new`,
      });
    } else if (pool.conflicting) {
      notices.push({
        reason: 'PoolConflicting',
        message: `address pool "${pool.spec.name}" overlaps an older pool; ${shown} is kept, but the pool hands out nothing new`,
      });
    }
    return { keep: notices };
  }

  /**
   * Whether a request naming `poolName` names the pool it named when `held` was given: then a named pool that
   * shrank or went does not move the address. An address restored from status has no known request: it
   * counts as given for `poolName` when that pool handed it out (it contained the address when restored),
   * when no pool contains it any more, or when the named pool does not exist (nothing could replace it).
   * Naming another pool than before is a change: the address moves.
   */
  #sameNamedPool(held: Held, poolName: string): boolean {
    const { requestedPool } = held;
    if (requestedPool.known) return requestedPool.name === poolName;
    return (
      held.origin === poolName ||
      this.#pools.get(poolName) === undefined ||
      this.#pools.containing(held.family, held.value).length === 0
    );
  }

  /** Step 2: an explicitly requested address: in a pool this Service may use, and free or shareable. */
  #checkRequested(
    service: ServiceFacts,
    family: Family,
    value: bigint,
    poolName: string | undefined,
    named: Pool | undefined,
  ): { pool: string } | AllocationFailure {
    const shown = formatAddress(family, value);
    let containing: Pool[];
    if (poolName !== undefined) {
      if (named === undefined) return fail('PoolNotFound', `address pool "${poolName}" does not exist`);
      if (!poolContains(named, family, value)) {
        return fail('AddressNotInPool', `${shown} is not in address pool "${poolName}"`);
      }
      containing = [named];
    } else {
      containing = this.#pools.containing(family, value);
      if (containing.length === 0) return fail('AddressOutsidePools', `${shown} is not in any address pool`);
    }
    const usable = containing.find((p) => poolRefusal(p, service) === undefined);
    if (usable === undefined) {
      const refusal = poolRefusal(containing[0]!, service)!;
      return fail(refusal.reason, `${shown} cannot be used: ${refusal.message}`);
    }
    const refusal = this.#refusalFromOwners(service, family, value);
    if (refusal !== undefined) return fail(refusal.reason, refusal.message);
    return { pool: usable.spec.name };
  }

  /** Steps 3 and 4: the pools to pick from, in order. */
  #candidatesFor(
    service: ServiceFacts,
    poolName: string | undefined,
    named: Pool | undefined,
  ): Pool[] | AllocationFailure {
    if (poolName !== undefined) {
      if (named === undefined) return fail('PoolNotFound', `address pool "${poolName}" does not exist`);
      const refusal = poolRefusal(named, service);
      if (refusal !== undefined) return fail(refusal.reason, refusal.message);
      return [named];
    }
    const candidates = this.#pools.candidatesFor(service);
    if (candidates.length > 0) return candidates;
    const all = this.#pools.all();
    if (all.length === 0) return fail('NoMatchingPool', 'there is no address pool: create an AddressPool');
    const reasons = all.map((p) => `"${p.spec.name}" (${notCandidateBecause(p, service) ?? 'usable'})`);
    return fail(
      'NoMatchingPool',
      `no enabled address pool serves this Service in namespace "${service.namespace}"; pools ${listSome(reasons, 'pools')}`,
    );
  }

  /**
   * Picks an address for each pending family from the candidate pools: first an address compatible Services
   * with the same sharing key hold; then, with two families, one pool that can serve both; then per family,
   * preferring the pool of the other family's address.
   */
  #pick(
    service: ServiceFacts,
    pending: Family[],
    candidates: readonly Pool[],
    choices: Map<Family, Choice>,
    shortfalls: Map<Family, Shortfall>,
    isNamed: boolean,
  ): void {
    let left = pending.filter((family) => {
      const shared = this.#sharedPick(service, family, candidates);
      if (shared !== undefined) choices.set(family, { kind: 'take', ...shared });
      return shared === undefined;
    });
    if (left.length === 2) {
      const [a, b] = left as [Family, Family];
      for (const pool of candidates) {
        const va = lowestPickable(pool, a, this.#index);
        const vb = va === undefined ? undefined : lowestPickable(pool, b, this.#index);
        if (va !== undefined && vb !== undefined) {
          choices.set(a, { kind: 'take', value: va, pool: pool.spec.name });
          choices.set(b, { kind: 'take', value: vb, pool: pool.spec.name });
          left = [];
          break;
        }
      }
    }
    for (const family of left) {
      const withFamily = candidates.filter((p) => p.merged[family].length > 0);
      if (withFamily.length === 0) {
        shortfalls.set(family, {
          reason: 'FamilyUnavailable',
          message: this.#noFamilyMessage(service, family, candidates, isNamed),
        });
        continue;
      }
      const anchor = this.#otherFamilyPool(family, choices);
      const ordered =
        anchor === undefined
          ? withFamily
          : [
              ...withFamily.filter((p) => p.spec.name === anchor),
              ...withFamily.filter((p) => p.spec.name !== anchor),
            ];
      let found = false;
      for (const pool of ordered) {
        const value = lowestPickable(pool, family, this.#index);
        if (value !== undefined) {
          choices.set(family, { kind: 'take', value, pool: pool.spec.name });
          found = true;
          break;
        }
      }
      if (!found) {
        const names = withFamily.map((p) => p.spec.name);
        const where =
          names.length === 1 ? `address pool ${quoteList(names)}` : `address pools ${quoteList(names)}`;
        shortfalls.set(family, {
          reason: 'PoolExhausted',
          message: `no free ${family} address left in ${where}`,
        });
      }
    }
  }

  /** The lowest address held under the Service's sharing key that it may join, in a candidate pool. */
  #sharedPick(
    service: ServiceFacts,
    family: Family,
    candidates: readonly Pool[],
  ): { value: bigint; pool: string } | undefined {
    const key = service.sharing?.key;
    if (key === undefined) return undefined;
    for (const value of this.#index.sharedUnder(family, key)) {
      if (this.#index.owners(family, value).has(service.key)) continue;
      const pool = candidates.find((p) => poolContains(p, family, value) && isPickable(p, family, value));
      if (pool === undefined) continue;
      if (this.#refusalFromOwners(service, family, value) === undefined)
        return { value, pool: pool.spec.name };
    }
    return undefined;
  }

  #otherFamilyPool(family: Family, choices: Map<Family, Choice>): string | undefined {
    for (const [other, choice] of choices) {
      if (other === family) continue;
      return choice.kind === 'take' ? choice.pool : this.#poolOf(choice.held)?.spec.name;
    }
    return undefined;
  }

  #noFamilyMessage(
    service: ServiceFacts,
    family: Family,
    candidates: readonly Pool[],
    isNamed: boolean,
  ): string {
    if (isNamed) return `address pool "${candidates[0]?.spec.name}" has no ${family} addresses`;
    const others = this.#pools
      .all()
      .filter((p) => p.merged[family].length > 0 && !candidates.includes(p))
      .map((p) => `"${p.spec.name}" (${notCandidateBecause(p, service) ?? 'usable'})`);
    const base = `no address pool this Service may use has ${family} addresses`;
    if (others.length === 0) return base;
    return `${base}; pools with ${family}: ${listSome(others, 'pools')}`;
  }

  // ---- state ----

  /** Applies the choices: the only place allocate changes state. */
  #commit(
    service: ServiceFacts,
    families: readonly Family[],
    choices: Map<Family, Choice>,
    poolName: string | undefined,
  ): Assignment[] {
    const key = service.key;
    const record = this.#services.get(key) ?? { facts: copyFacts(service), held: [] };
    const next: Held[] = [];
    // What is kept satisfies this request: from now on a change of its named pool is measured against it.
    const requestedPool: RequestedPool = { known: true, name: poolName };
    for (const family of families) {
      const choice = choices.get(family);
      if (choice === undefined) continue;
      next.push(
        choice.kind === 'keep'
          ? { ...choice.held, requestedPool }
          : { family, value: choice.value, origin: choice.pool, requestedPool },
      );
    }
    const oldKey = record.facts.sharing?.key;
    for (const held of record.held) {
      if (!next.some((n) => n.family === held.family && n.value === held.value)) {
        this.#index.remove(held.family, held.value, key, oldKey);
      }
    }
    // Re-key what stays under the new facts, then add what is new.
    record.held = record.held.filter((h) => next.some((n) => n.family === h.family && n.value === h.value));
    this.#setFacts(record, service);
    for (const held of next) this.#index.add(held.family, held.value, key, service.sharing?.key);
    record.held = next;
    this.#services.set(key, record);
    return this.#assignments(next);
  }

  /** Records new facts for a Service, moving its held addresses to its new sharing key. */
  #setFacts(record: ServiceRecord, facts: ServiceFacts): void {
    const from = record.facts.sharing?.key;
    const to = facts.sharing?.key;
    for (const held of record.held) this.#index.rekey(held.family, held.value, facts.key, from, to);
    record.facts = copyFacts(facts);
  }

  /** Why `service` may not hold the address with its current owners (other than itself), if it may not. */
  #refusalFromOwners(service: ServiceFacts, family: Family, value: bigint): SharingRefusal | undefined {
    const owners = this.#index.owners(family, value);
    if (owners.size === 0) return undefined;
    const shown = formatAddress(family, value);
    for (const owner of [...owners].sort()) {
      if (owner === service.key) continue;
      const facts = this.#services.get(owner)?.facts;
      if (facts === undefined) continue;
      const refusal = sharingRefusal(service, facts, shown);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }

  /** The pool an address is in now: where it came from, while that pool contains it. */
  #poolOf(held: Held): Pool | undefined {
    const pool = held.origin === undefined ? undefined : this.#pools.get(held.origin);
    return pool !== undefined && poolContains(pool, held.family, held.value) ? pool : undefined;
  }

  #assignments(held: readonly Held[]): Assignment[] {
    return held.map((h) => ({
      family: h.family,
      value: h.value,
      address: formatAddress(h.family, h.value),
      pool: this.#poolOf(h)?.spec.name,
    }));
  }
}
