// IPv4 arithmetic for address allocation and range checks (ipaddr.js parses; numbers make ranges).
import ipaddr from 'ipaddr.js';

export interface Ipv4Range {
  /** First address of the range as an unsigned 32-bit number. */
  first: number;
  /** Number of addresses in the range. */
  size: number;
  text: string;
}

export function parseIpv4(text: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(text).octets;
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** An IPv4 CIDR whose address is the network address ("10.128.0.0/20"). */
export function parseIpv4Cidr(text: string): Ipv4Range | undefined {
  const [address, bitsText, ...extra] = text.split('/');
  if (!address || bitsText === undefined || extra.length > 0 || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const first = parseIpv4(address);
  if (first === undefined || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  if (first % size !== 0) return undefined;
  return { first, size, text };
}

export function rangeContains(range: Ipv4Range, address: number): boolean {
  return address >= range.first && address < range.first + range.size;
}

/** A firewall source/destination: an IPv4 or IPv6 address or CIDR. */
export function isAddressOrCidr(text: string): boolean {
  if (text.includes('/')) return ipaddr.isValidCIDR(text);
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
}

/**
 * The first free address of `range`, skipping `reservedAtStart` and `reservedAtEnd` addresses
 * (a subnet keeps its network and gateway addresses and its last two; an external pool its first and last).
 */
export function firstFree(
  range: Ipv4Range,
  used: ReadonlySet<string>,
  reservedAtStart: number,
  reservedAtEnd: number,
): string | undefined {
  for (let offset = reservedAtStart; offset < range.size - reservedAtEnd; offset += 1) {
    const candidate = formatIpv4(range.first + offset);
    if (!used.has(candidate)) return candidate;
  }
  return undefined;
}
