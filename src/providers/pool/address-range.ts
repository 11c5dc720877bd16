// Pure address arithmetic for bare-metal address pools: parsing and formatting single addresses, parsing
// AddressPool entries (CIDR, range `A-B`, or single address) into inclusive [first, last] ranges of bigints.
// No I/O. Addresses are plain bigints (IPv4 in 32 bits, IPv6 in 128 bits) so that IPv6 arithmetic is exact.

import ipaddr from 'ipaddr.js';

export type Family = 'IPv4' | 'IPv6';

/** An inclusive range of addresses of one family: every value v with first <= v <= last. */
export interface AddressRange {
  family: Family;
  first: bigint;
  last: bigint;
}

export type ParsedAddress = { family: Family; value: bigint };

const BITS: Record<Family, number> = { IPv4: 32, IPv6: 128 };

function quote(text: string): string {
  return JSON.stringify(text);
}

function bytesToBigInt(bytes: number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

const DOTTED_TAIL = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/;

/**
 * The address in `text` (already trimmed), or why it is not one: a `problem` phrase that follows "is not a valid
 * IP address", e.g. ': zone identifiers (like %eth0) are not allowed', or '' when there is nothing more to say.
 */
function parseOrProblem(text: string): ParsedAddress | { problem: string } {
  if (text === '') return { problem: ': it is empty' };
  if (text.includes('%')) return { problem: ': zone identifiers (like %eth0) are not allowed' };
  if (text.includes(':')) {
    // ipaddr.js reads the deprecated IPv4-compatible form `::a.b.c.d` as IPv4-mapped `::ffff:a.b.c.d`, and
    // accepts non-decimal octets in an embedded IPv4 tail; rewrite a dotted tail into two hex groups ourselves.
    let v6 = text;
    const tail = DOTTED_TAIL.exec(text);
    if (tail) {
      const head = tail[1] ?? '';
      const v4 = tail[2] ?? '';
      if (!ipaddr.IPv4.isValidFourPartDecimal(v4)) {
        return { problem: `: embedded IPv4 part ${quote(v4)} is not four decimal numbers 0-255` };
      }
      const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(v4).octets;
      v6 = `${head}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    }
    if (!ipaddr.IPv6.isValid(v6)) return { problem: '' };
    return { family: 'IPv6', value: bytesToBigInt(ipaddr.IPv6.parse(v6).toByteArray()) };
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 'IPv4', value: bytesToBigInt(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (/^[0-9a-fA-FxX.]+$/.test(text) && /\d/.test(text)) {
    return {
      problem: ': an IPv4 address is four decimal numbers 0-255 without leading zeros, e.g. 192.168.1.10',
    };
  }
  return { problem: '' };
}

/**
 * Parses one IP address (surrounding whitespace ignored). IPv4 must be dotted-quad decimal without leading
 * zeros; IPv6 may use any RFC 4291 text form; zone identifiers are rejected. IPv4-mapped IPv6 addresses
 * (`::ffff:1.2.3.4`) are IPv6 addresses.
 */
export function parseAddress(text: string): ParsedAddress | { error: string } {
  const result = parseOrProblem(text.trim());
  if ('problem' in result) return { error: `${quote(text)} is not a valid IP address${result.problem}` };
  return result;
}

/** Canonical text of an address: dotted quad, or compressed lowercase IPv6 (ipaddr.js toString()). */
export function formatAddress(family: Family, value: bigint): string {
  const bits = BITS[family];
  if (value < 0n || value >= 1n << BigInt(bits)) {
    throw new RangeError(`${value} is not a valid ${family} address value`);
  }
  const bytes: number[] = [];
  for (let shift = bits - 8; shift >= 0; shift -= 8) bytes.push(Number((value >> BigInt(shift)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** `first-last`, or the single address when the range holds one. */
export function formatRange(r: AddressRange): string {
  const first = formatAddress(r.family, r.first);
  return r.first === r.last ? first : `${first}-${formatAddress(r.family, r.last)}`;
}

function parseCidr(entry: string, text: string): AddressRange | { error: string } {
  const parts = text.split('/');
  if (parts.length !== 2) return { error: `${quote(entry)}: a CIDR has exactly one "/"` };
  const addressText = (parts[0] ?? '').trim();
  const prefixText = (parts[1] ?? '').trim();
  const address = parseOrProblem(addressText);
  if ('problem' in address) {
    return {
      error: `${quote(entry)}: network address ${quote(addressText)} is not a valid IP address${address.problem}`,
    };
  }
  if (prefixText === '') return { error: `${quote(entry)}: the prefix length after "/" is missing` };
  if (!/^\d+$/.test(prefixText))
    return { error: `${quote(entry)}: prefix length ${quote(prefixText)} is not a number` };
  const bits = BITS[address.family];
  const prefix = Number(prefixText);
  if (prefix > bits) {
    return {
      error: `${quote(entry)}: prefix length ${prefixText} is out of range for ${address.family} (0-${bits})`,
    };
  }
  // Host bits set (10.0.0.5/24) are accepted and cleared, as MetalLB does: the entry means the whole network.
  const hostBits = BigInt(bits - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const first = address.value & ~hostMask;
  return { family: address.family, first, last: first | hostMask };
}

function parseRange(entry: string, text: string): AddressRange | { error: string } {
  const parts = text.split('-');
  if (parts.length !== 2) return { error: `${quote(entry)}: a range is two addresses separated by one "-"` };
  const startText = (parts[0] ?? '').trim();
  const endText = (parts[1] ?? '').trim();
  if (text.includes('/')) {
    return {
      error: `${quote(entry)}: a range takes plain addresses, not CIDRs; list each CIDR as its own entry`,
    };
  }
  const start = parseOrProblem(startText);
  if ('problem' in start) {
    return {
      error: `${quote(entry)}: range start ${quote(startText)} is not a valid IP address${start.problem}`,
    };
  }
  const end = parseOrProblem(endText);
  if ('problem' in end) {
    return { error: `${quote(entry)}: range end ${quote(endText)} is not a valid IP address${end.problem}` };
  }
  if (start.family !== end.family) return { error: `${quote(entry)}: range mixes IPv4 and IPv6` };
  if (start.value > end.value) return { error: `${quote(entry)}: range start is after its end` };
  return { family: start.family, first: start.value, last: end.value };
}

/**
 * Parses one `spec.addresses` entry of an AddressPool: a CIDR (`192.168.10.0/24`, `fd00::/120`), a range
 * (`192.168.10.10-192.168.10.20`, spaces around `-` allowed), or a single address. Errors quote the entry and say
 * what to fix.
 */
export function parsePoolEntry(text: string): AddressRange | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '')
    return { error: `${quote(text)}: empty entry; expected a CIDR, a range A-B or an IP address` };
  // A '-' makes a range, except in a negative prefix length (`10.0.0.0/-1`), reported as a bad prefix.
  if (trimmed.includes('/') && (!trimmed.includes('-') || /\/\s*-\d*$/.test(trimmed)))
    return parseCidr(text, trimmed);
  if (trimmed.includes('-')) return parseRange(text, trimmed);
  const single = parseOrProblem(trimmed);
  if ('problem' in single) {
    const problem = single.problem === '' ? ', range (A-B) or CIDR (A/N)' : single.problem;
    return { error: `${quote(text)} is not a valid IP address${problem}` };
  }
  return { family: single.family, first: single.value, last: single.value };
}

/** Number of addresses in the range (at least 1). */
export function rangeSize(r: AddressRange): bigint {
  return r.last - r.first + 1n;
}

export function contains(r: AddressRange, family: Family, value: bigint): boolean {
  return r.family === family && r.first <= value && value <= r.last;
}

/** True when the two ranges share at least one address (never across families). */
export function overlaps(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

const LOW_64_BITS = (1n << 64n) - 1n;

/**
 * True for an IPv6 address whose interface identifier (low 64 bits) is all zero, e.g. `fd00:1::`: the
 * subnet-router anycast address of its /64 (RFC 4291 2.6.1). Routers answer it themselves, so it must never be
 * handed out automatically (MetalLB does, bug #2723).
 */
export function isSubnetRouterAnycast(family: Family, value: bigint): boolean {
  return family === 'IPv6' && (value & LOW_64_BITS) === 0n;
}

/** True for an IPv4 address ending in .0 or .255, which some clients and routers drop ("buggy IPs"). */
export function isBuggyIPv4(family: Family, value: bigint): boolean {
  if (family !== 'IPv4') return false;
  const lastOctet = value & 0xffn;
  return lastOctet === 0n || lastOctet === 255n;
}

/** Floor division for bigints (bigint `/` truncates towards zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** How many v with first <= v <= last satisfy v ≡ residue (mod modulus), in O(1). */
export function countCongruent(first: bigint, last: bigint, residue: bigint, modulus: bigint): bigint {
  if (last < first) return 0n;
  return floorDiv(last - residue, modulus) - floorDiv(first - 1n - residue, modulus);
}

/**
 * The addresses automatic picking may skip: buggy IPv4 (.0 and .255, skipped only with avoidBuggyIPs) and
 * IPv6 subnet-router anycast (always skipped).
 */
export function isSkippable(family: Family, value: bigint): boolean {
  return isBuggyIPv4(family, value) || isSubnetRouterAnycast(family, value);
}

/** How many skippable addresses lie in [first, last], in O(1). */
export function countSkippable(family: Family, first: bigint, last: bigint): bigint {
  if (last < first) return 0n;
  // Hot in the lowest-free search: shifts for IPv6 (>> floors, also for -1), doubles for IPv4 (exact below 2^53).
  if (family === 'IPv6') return (last >> 64n) - ((first - 1n) >> 64n);
  const a = Number(first);
  const b = Number(last);
  const zeros = Math.floor(b / 256) - Math.floor((a - 1) / 256);
  const broadcasts = Math.floor((b - 255) / 256) - Math.floor((a - 256) / 256);
  return BigInt(zeros + broadcasts);
}

/** The lowest address >= value that is not skippable (skippable addresses are at most two in a row). */
export function nextUnskippable(family: Family, value: bigint): bigint {
  if (family === 'IPv6') return isSubnetRouterAnycast(family, value) ? value + 1n : value;
  const lastOctet = value & 0xffn;
  return lastOctet === 255n ? value + 2n : lastOctet === 0n ? value + 1n : value;
}

/** Whether automatic picking skips the skippable addresses of this family: always for IPv6, for IPv4 on request. */
export function skipsSkippable(family: Family, avoidBuggyIPs: boolean): boolean {
  return family === 'IPv6' || avoidBuggyIPs;
}

/** How many addresses of the range automatic picking skips. */
export function countUnpickable(r: AddressRange, avoidBuggyIPs: boolean): bigint {
  return skipsSkippable(r.family, avoidBuggyIPs) ? countSkippable(r.family, r.first, r.last) : 0n;
}
