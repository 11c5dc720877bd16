// Pure: the node's interfaces as `ip -j addr show` reports them, which of them may carry an address, and
// which addresses on them are announcements (ours, or left behind by an earlier run). No I/O.
import { type Family, formatAddress, parseAddress } from '../providers/pool/address-range.ts';

export interface InterfaceAddress {
  family: Family;
  /** Canonical text (as `formatAddress` writes it). */
  address: string;
  value: bigint;
  prefixLength: number;
  scope: string;
  /** Seconds; 4294967295 means forever. */
  validLifetime: number;
  preferredLifetime: number;
}

export interface NetInterface {
  name: string;
  /** Administratively up and with carrier. */
  up: boolean;
  loopback: boolean;
  /** No ARP (dummy devices, tunnels): neighbours cannot learn an address there. */
  noArp: boolean;
  /** A bridge port or bond member: its master carries the addresses. */
  enslaved: boolean;
  addresses: InterfaceAddress[];
}

/** What a speaker tells the others about an interface (in its heartbeat Lease). */
export interface InterfaceSummary {
  name: string;
  /** CIDRs of the interface's global addresses, e.g. `198.51.100.11/24`. */
  prefixes: string[];
}

const BITS: Record<Family, number> = { IPv4: 32, IPv6: 128 };
/** Linux interface names: at most 15 bytes, no '/', ':' or whitespace. */
export const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Parses the JSON of `ip -j addr show`; anything unexpected is an error value, never a throw. */
export function parseIpAddrJson(text: string): { interfaces: NetInterface[] } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { error: `"ip -j addr show" printed something that is not JSON: ${(error as Error).message}` };
  }
  if (!Array.isArray(raw)) return { error: '"ip -j addr show" did not print a JSON list' };
  const interfaces: NetInterface[] = [];
  for (const link of raw) {
    if (!isObject(link) || typeof link.ifname !== 'string') continue;
    const flags = Array.isArray(link.flags) ? link.flags.filter((f) => typeof f === 'string') : [];
    const addresses: InterfaceAddress[] = [];
    for (const info of Array.isArray(link.addr_info) ? link.addr_info : []) {
      const parsed = parseAddrInfo(info);
      if (parsed) addresses.push(parsed);
    }
    interfaces.push({
      name: link.ifname,
      up: flags.includes('UP') && flags.includes('LOWER_UP'),
      loopback: flags.includes('LOOPBACK') || link.link_type === 'loopback',
      noArp: flags.includes('NOARP'),
      enslaved: typeof link.master === 'string' && link.master !== '',
      addresses,
    });
  }
  return { interfaces };
}

function parseAddrInfo(info: unknown): InterfaceAddress | undefined {
  if (!isObject(info) || typeof info.local !== 'string' || typeof info.prefixlen !== 'number')
    return undefined;
  if (info.family !== 'inet' && info.family !== 'inet6') return undefined;
  const parsed = parseAddress(info.local);
  if ('error' in parsed) return undefined;
  return {
    family: parsed.family,
    address: canonical(parsed.family, info.local),
    value: parsed.value,
    prefixLength: info.prefixlen,
    scope: typeof info.scope === 'string' ? info.scope : 'global',
    validLifetime: typeof info.valid_life_time === 'number' ? info.valid_life_time : 4294967295,
    preferredLifetime: typeof info.preferred_life_time === 'number' ? info.preferred_life_time : 4294967295,
  };
}

/**
 * Interfaces an address could be announced on, as the heartbeat tells the others: up, not loopback,
 * ARP-capable and not enslaved, with the prefixes of their global addresses. Host addresses (/32, /128:
 * announcements themselves) name no subnet. To keep the Lease small, an interface is listed only when it
 * has such a prefix or is named in `wanted` (the interfaces some L2Advertisement lists).
 */
export function summarizeInterfaces(
  interfaces: NetInterface[],
  wanted: ReadonlySet<string>,
): InterfaceSummary[] {
  const out: InterfaceSummary[] = [];
  for (const i of interfaces) {
    if (!i.up || i.loopback || i.noArp || i.enslaved) continue;
    const prefixes = i.addresses
      .filter((a) => a.scope === 'global' && a.prefixLength < BITS[a.family])
      .map((a) => `${a.address}/${a.prefixLength}`);
    if (prefixes.length > 0 || wanted.has(i.name))
      out.push({ name: i.name, prefixes: [...new Set(prefixes)] });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether `prefix` (`A/N` text) contains the address. Malformed prefixes contain nothing. */
export function prefixContains(prefix: string, family: Family, value: bigint): boolean {
  const slash = prefix.lastIndexOf('/');
  if (slash < 0) return false;
  const network = parseAddress(prefix.slice(0, slash));
  const length = Number(prefix.slice(slash + 1));
  if ('error' in network || network.family !== family || !Number.isInteger(length)) return false;
  const bits = BITS[family];
  if (length < 0 || length > bits) return false;
  const hostBits = BigInt(bits - length);
  return network.value >> hostBits === value >> hostBits;
}

/**
 * The interfaces of one node that may announce an address: the names an L2Advertisement lists (those the
 * node has), or — for an advertisement that lists none — every interface with a subnet containing the
 * address. `choices` holds one entry per advertisement that applies (`undefined` = lists no interfaces).
 */
export function eligibleInterfaces(
  interfaces: InterfaceSummary[],
  choices: ReadonlyArray<readonly string[] | undefined>,
  family: Family,
  value: bigint,
): string[] {
  const names = new Set<string>();
  for (const choice of choices) {
    for (const i of interfaces) {
      if (choice === undefined || choice.length === 0) {
        if (i.prefixes.some((p) => prefixContains(p, family, value))) names.add(i.name);
      } else if (choice.includes(i.name)) names.add(i.name);
    }
  }
  return [...names].sort();
}

/**
 * The addresses on the node that look like announcements: a host address (/32 or /128) with preferred
 * lifetime 0 (never a source address) inside `isAnnounceable` (some AddressPool). Used at start-up and on
 * every pass to remove what an earlier run left behind or what this node no longer wins.
 */
export function announcementsOnNode(
  interfaces: NetInterface[],
  isAnnounceable: (family: Family, value: bigint) => boolean,
): Array<{ interface: string; family: Family; address: string; validLifetime: number }> {
  const out: Array<{ interface: string; family: Family; address: string; validLifetime: number }> = [];
  for (const i of interfaces) {
    for (const a of i.addresses) {
      if (a.prefixLength !== BITS[a.family] || a.preferredLifetime !== 0) continue;
      if (!isAnnounceable(a.family, a.value)) continue;
      out.push({ interface: i.name, family: a.family, address: a.address, validLifetime: a.validLifetime });
    }
  }
  return out;
}

/** The canonical text of an address (as `formatAddress` writes it); the text itself when it is not one. */
export function canonical(family: Family, text: string): string {
  const parsed = parseAddress(text);
  if ('error' in parsed || parsed.family !== family) return text;
  return formatAddress(parsed.family, parsed.value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
