// Address arithmetic for the simulator: subnet prefixes and their reserved addresses, the lowest free private
// address, and next-fit allocation of public addresses from configured ranges. Pure; built on the pool
// provider's exact bigint arithmetic.

import {
  type AddressRange,
  contains,
  type Family,
  formatAddress,
  parseAddress,
  parsePoolEntry,
} from '../../../src/providers/pool/address-range.ts';

export type { AddressRange, Family };
export { formatAddress };

export interface Prefix extends AddressRange {
  text: string;
}

/** A CIDR prefix (host bits cleared), or an error message. */
export function parsePrefix(text: string): Prefix | { error: string } {
  if (!text.includes('/')) return { error: `"${text}" is not a CIDR prefix` };
  const range = parsePoolEntry(text);
  if ('error' in range) return range;
  return { ...range, text };
}

export function parseIp(text: string): { family: Family; value: bigint } | undefined {
  const parsed = parseAddress(text);
  return 'error' in parsed ? undefined : parsed;
}

/** Canonical text, so that 10.0.0.05-style variants and IPv6 spellings compare equal. */
export function canonicalIp(text: string): string | undefined {
  const parsed = parseIp(text);
  return parsed ? formatAddress(parsed.family, parsed.value) : undefined;
}

export function prefixContains(prefix: AddressRange, ip: string): boolean {
  const parsed = parseIp(ip);
  return parsed !== undefined && contains(prefix, parsed.family, parsed.value);
}

/** Azure reserves the first four addresses and the last one of every subnet prefix. */
export function isReservedInSubnet(prefix: AddressRange, value: bigint): boolean {
  return value < prefix.first + 4n || value === prefix.last;
}

/** Dynamic private allocation: the lowest address of the prefix that is neither reserved nor used. */
export function lowestFree(prefix: AddressRange, used: ReadonlySet<string>): string | undefined {
  for (let v = prefix.first + 4n; v < prefix.last; v++) {
    const text = formatAddress(prefix.family, v);
    if (!used.has(text)) return text;
    // Give up on absurdly large prefixes rather than walk 2^64 addresses.
    if (v - prefix.first > 1_000_000n) return undefined;
  }
  return undefined;
}

/**
 * Next-fit over `ranges`: the first free address after `cursor` (wrapping around), skipping the first and last
 * address of each range. Undefined when every address is used.
 */
export function nextFree(
  ranges: readonly AddressRange[],
  used: ReadonlySet<string>,
  cursor: bigint | undefined,
): { address: string; value: bigint } | undefined {
  const candidates = (from: bigint | undefined) => {
    const out: Array<{ range: AddressRange; start: bigint }> = [];
    for (const range of ranges) {
      const low = range.first + 1n;
      const start = from === undefined || from < low ? low : from + 1n;
      if (start < range.last) out.push({ range, start });
    }
    return out;
  };
  for (const pass of [cursor, undefined]) {
    for (const { range, start } of candidates(pass)) {
      let scanned = 0;
      for (let v = start; v < range.last && scanned < 2_000_000; v++, scanned++) {
        const address = formatAddress(range.family, v);
        if (!used.has(address)) return { address, value: v };
      }
    }
  }
  return undefined;
}
