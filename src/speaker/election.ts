// Pure: which node announces each address. Every speaker computes this from the same cached facts and
// reaches the same answer without writing anything per Service. The election runs per ADDRESS, not per
// Service: an address shared by several Services (an IPv4-only and a dual-stack one, say) must have
// exactly one announcer, so its candidates are the nodes that suit every Service using it, and the one
// with the lowest sha256(`${node}#${address}`) wins. A node leaving the candidates never moves an address
// it did not hold, and a new node takes an address only if it hashes lower than the current holder. The
// addresses of one Service may therefore be announced from different nodes.
import { createHash } from 'node:crypto';
import { matchesSelector } from '../kube/label-selector.ts';
import { contains, type Family, formatAddress, parseAddress } from '../providers/pool/address-range.ts';
import type {
  AdvertisementFacts,
  EndpointNodes,
  NodeFacts,
  PoolFacts,
  ServiceFacts,
} from './cluster-facts.ts';
import { EXCLUDE_LABEL } from './cluster-facts.ts';
import { eligibleInterfaces, type InterfaceSummary } from './interfaces.ts';

/** A speaker whose heartbeat is fresh, with the interfaces it reported. */
export interface SpeakerHeartbeat {
  node: string;
  interfaces: InterfaceSummary[];
}

export interface ElectionInput {
  nodes: ReadonlyMap<string, NodeFacts>;
  /** Fresh speakers only. */
  speakers: ReadonlyMap<string, SpeakerHeartbeat>;
  pools: readonly PoolFacts[];
  advertisements: readonly AdvertisementFacts[];
  /** By Service key; only consulted for externalTrafficPolicy Local. */
  endpoints: ReadonlyMap<string, EndpointNodes>;
}

/** The outcome for one address (canonical text). */
export type AddressDecision =
  /** `interfaces`: those of the winning node that carry it. */
  | { kind: 'elected'; family: Family; address: string; node: string; interfaces: string[] }
  /** It should be announced, but no node may: `reason` says why, node by node. */
  | { kind: 'noCandidate'; family: Family; address: string; reason: string };

export type Decision =
  /** No address of the Service is in a pool that an L2Advertisement covers: not ours to announce. */
  | { kind: 'notAdvertised' }
  /** Its advertised addresses, in the Service's order, each with its own outcome. */
  | { kind: 'advertised'; addresses: AddressDecision[] };

interface AdvertisedAddress {
  family: Family;
  value: bigint;
  address: string;
  /** The advertisements covering the address's pools. */
  advertisements: AdvertisementFacts[];
}

export class Election {
  readonly #input: ElectionInput;
  /** Advertisement name → the pools it covers. */
  readonly #adPools = new Map<string, Set<string>>();
  readonly #nodeMatches = new Map<string, boolean>();
  readonly #sortedNodes: NodeFacts[];

  constructor(input: ElectionInput) {
    this.#input = input;
    for (const ad of input.advertisements) {
      const covered = new Set<string>();
      const all = ad.pools.length === 0 && ad.poolSelectors.length === 0;
      for (const pool of input.pools) {
        if (
          all ||
          ad.pools.includes(pool.name) ||
          ad.poolSelectors.some((s) => matchesSelector(s, pool.labels))
        ) {
          covered.add(pool.name);
        }
      }
      this.#adPools.set(ad.name, covered);
    }
    this.#sortedNodes = [...input.nodes.values()].sort((a, b) => compare(a.name, b.name));
  }

  /** One Service alone (as if no other Service shared its addresses). */
  decide(service: ServiceFacts): Decision {
    return this.decideAll([service]).get(service.key) ?? { kind: 'notAdvertised' };
  }

  /** Every Service's decision; an address shared by several Services gets one winner for all of them. */
  decideAll(services: readonly ServiceFacts[]): Map<string, Decision> {
    const advertisedBy = new Map<string, AdvertisedAddress[]>();
    const users = new Map<string, { address: AdvertisedAddress; services: ServiceFacts[] }>();
    for (const service of services) {
      const advertised = this.#advertised(service.addresses);
      advertisedBy.set(service.key, advertised);
      for (const a of advertised) {
        const entry = users.get(a.address) ?? { address: a, services: [] };
        entry.services.push(service);
        users.set(a.address, entry);
      }
    }
    const byAddress = new Map<string, AddressDecision>();
    for (const [address, entry] of users) byAddress.set(address, this.#decideAddress(entry));
    const out = new Map<string, Decision>();
    for (const service of services) {
      const advertised = advertisedBy.get(service.key) ?? [];
      if (advertised.length === 0) {
        out.set(service.key, { kind: 'notAdvertised' });
        continue;
      }
      const addresses = advertised.flatMap((a) => {
        const d = byAddress.get(a.address);
        return d ? [d] : [];
      });
      out.set(service.key, { kind: 'advertised', addresses });
    }
    return out;
  }

  #decideAddress(entry: { address: AdvertisedAddress; services: ServiceFacts[] }): AddressDecision {
    const a = entry.address;
    const reasons = new Map<string, string[]>();
    const excluded = (node: string, reason: string): void => {
      const list = reasons.get(reason) ?? [];
      list.push(node);
      reasons.set(reason, list);
    };
    let candidates: Array<{ node: string; interfaces: string[] }> = [];
    for (const node of this.#sortedNodes) {
      const why = this.#notEligible(node);
      if (why) {
        excluded(node.name, why);
        continue;
      }
      const speaker = this.#input.speakers.get(node.name);
      if (!speaker) {
        excluded(node.name, 'no fresh speaker heartbeat');
        continue;
      }
      const ads = a.advertisements.filter((ad) => this.#selectsNode(ad, node));
      if (ads.length === 0) {
        excluded(node.name, `no L2Advertisement selects this node for ${a.address}`);
        continue;
      }
      const interfaces = eligibleInterfaces(
        speaker.interfaces,
        ads.map((ad) => ad.interfaces),
        a.family,
        a.value,
      );
      if (interfaces.length === 0) {
        excluded(node.name, `no up interface ${interfaceHint(ads)} for ${a.address}`);
        continue;
      }
      candidates.push({ node: node.name, interfaces });
    }

    // Every Local Service using the address needs an endpoint on the node (as kube-proxy does:
    // terminating endpoints that still serve count only when none is ready).
    const shared = entry.services.length > 1;
    for (const service of entry.services) {
      if (service.trafficPolicy !== 'Local') continue;
      const endpoints = this.#input.endpoints.get(service.key);
      const ready = candidates.filter((c) => endpoints?.ready.has(c.node));
      const pool = ready.length > 0 ? ready : candidates.filter((c) => endpoints?.serving.has(c.node));
      const of = shared ? ` ${service.key}` : '';
      for (const c of candidates) {
        if (!pool.includes(c))
          excluded(c.node, `no ready endpoint of the Service${of} (externalTrafficPolicy Local)`);
      }
      candidates = pool;
    }

    let winner: { node: string; interfaces: string[] } | undefined;
    let best = '';
    for (const c of candidates) {
      const hash = rankHash(c.node, a.address);
      if (winner === undefined || hash < best) {
        winner = c;
        best = hash;
      }
    }
    if (winner) {
      return {
        kind: 'elected',
        family: a.family,
        address: a.address,
        node: winner.node,
        interfaces: winner.interfaces,
      };
    }
    return { kind: 'noCandidate', family: a.family, address: a.address, reason: describeExclusions(reasons) };
  }

  /** The Service's addresses that an L2Advertisement covers, canonical, in the Service's order. */
  #advertised(addresses: readonly string[]): AdvertisedAddress[] {
    const out: AdvertisedAddress[] = [];
    for (const text of addresses) {
      const parsed = parseAddress(text);
      if ('error' in parsed) continue;
      const pools = this.#input.pools.filter((p) =>
        p.ranges.some((r) => contains(r, parsed.family, parsed.value)),
      );
      if (pools.length === 0) continue;
      const advertisements = this.#input.advertisements.filter((ad) =>
        pools.some((p) => this.#adPools.get(ad.name)?.has(p.name)),
      );
      if (advertisements.length === 0) continue;
      const address = formatAddress(parsed.family, parsed.value);
      if (out.some((a) => a.address === address)) continue;
      out.push({ family: parsed.family, value: parsed.value, address, advertisements });
    }
    return out;
  }

  #notEligible(node: NodeFacts): string | undefined {
    if (!node.ready) return 'not Ready';
    if (node.networkUnavailable) return 'NetworkUnavailable';
    if (node.excluded) return `labelled ${EXCLUDE_LABEL}`;
    return undefined;
  }

  #selectsNode(ad: AdvertisementFacts, node: NodeFacts): boolean {
    const key = `${ad.name}\u0000${node.name}`;
    let matches = this.#nodeMatches.get(key);
    if (matches === undefined) {
      matches =
        ad.nodeSelectors.length === 0 || ad.nodeSelectors.some((s) => matchesSelector(s, node.labels));
      this.#nodeMatches.set(key, matches);
    }
    return matches;
  }
}

const hashes = new Map<string, string>();
const HASHES_KEPT = 200_000;

/** The election's ordering key: lower wins. Hex text compares like the digest's bytes. */
export function rankHash(node: string, address: string): string {
  const text = `${node}#${address}`;
  let hash = hashes.get(text);
  if (hash === undefined) {
    // Every pass hashes (node, address) pairs again; remembering them keeps a pass cheap.
    if (hashes.size >= HASHES_KEPT) hashes.clear();
    hash = createHash('sha256').update(text).digest('hex');
    hashes.set(text, hash);
  }
  return hash;
}

/**
 * Which fresh speaker looks after a Service's L2Announcement when no winner does (the Service needs no
 * announcement any more, or no node may announce it): the node it names, while that one is fresh,
 * otherwise the fresh node ranking lowest for the Service's key.
 */
export function caretaker(
  serviceKey: string,
  namedNode: string | undefined,
  fresh: Iterable<string>,
): string | undefined {
  let best: string | undefined;
  let bestHash = '';
  for (const node of fresh) {
    if (node === namedNode) return node;
    const hash = rankHash(node, serviceKey);
    if (best === undefined || hash < bestHash) {
      best = node;
      bestHash = hash;
    }
  }
  return best;
}

function interfaceHint(ads: AdvertisementFacts[]): string {
  const named = [...new Set(ads.flatMap((ad) => ad.interfaces))].sort();
  const subnet = ads.some((ad) => ad.interfaces.length === 0);
  const parts = [
    ...(named.length > 0 ? [`named ${named.join(', ')}`] : []),
    ...(subnet ? ['with a subnet containing it'] : []),
  ];
  return parts.join(' or ');
}

const NODES_SHOWN = 3;

/** "node-a: not Ready; node-b, node-c and 2 more: no fresh speaker heartbeat" */
export function describeExclusions(reasons: ReadonlyMap<string, string[]>): string {
  if (reasons.size === 0) return 'there are no nodes';
  return [...reasons.entries()]
    .map(([reason, nodes]) => {
      const shown = nodes.slice(0, NODES_SHOWN).join(', ');
      const more = nodes.length > NODES_SHOWN ? ` and ${nodes.length - NODES_SHOWN} more` : '';
      return `${shown}${more}: ${reason}`;
    })
    .join('; ');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
