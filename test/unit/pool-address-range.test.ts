import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AddressRange,
  contains,
  countCongruent,
  countSkippable,
  countUnpickable,
  type Family,
  formatAddress,
  formatRange,
  isBuggyIPv4,
  isSkippable,
  isSubnetRouterAnycast,
  nextUnskippable,
  overlaps,
  parseAddress,
  parsePoolEntry,
  rangeSize,
} from '../../src/providers/pool/address-range.ts';

function v4(text: string): bigint {
  const parsed = parseAddress(text);
  if ('error' in parsed || parsed.family !== 'IPv4') throw new Error(`bad test address ${text}`);
  return parsed.value;
}

function v6(text: string): bigint {
  const parsed = parseAddress(text);
  if ('error' in parsed || parsed.family !== 'IPv6') throw new Error(`bad test address ${text}`);
  return parsed.value;
}

describe('parseAddress', () => {
  const valid: { input: string; family: Family; value: bigint; canonical: string }[] = [
    { input: '192.168.10.7', family: 'IPv4', value: 0xc0a80a07n, canonical: '192.168.10.7' },
    { input: '0.0.0.0', family: 'IPv4', value: 0n, canonical: '0.0.0.0' },
    { input: '255.255.255.255', family: 'IPv4', value: 0xffffffffn, canonical: '255.255.255.255' },
    { input: '  10.0.0.1 ', family: 'IPv4', value: 0x0a000001n, canonical: '10.0.0.1' },
    { input: 'fd00::7', family: 'IPv6', value: (0xfd00n << 112n) | 7n, canonical: 'fd00::7' },
    { input: 'FD00:0:0:0::07', family: 'IPv6', value: (0xfd00n << 112n) | 7n, canonical: 'fd00::7' },
    { input: '::', family: 'IPv6', value: 0n, canonical: '::' },
    { input: '::1', family: 'IPv6', value: 1n, canonical: '::1' },
    {
      input: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      family: 'IPv6',
      value: (1n << 128n) - 1n,
      canonical: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    },
    // IPv4-mapped IPv6 is IPv6, not IPv4.
    { input: '::ffff:192.168.1.1', family: 'IPv6', value: 0xffffc0a80101n, canonical: '::ffff:c0a8:101' },
    { input: '::ffff:c0a8:101', family: 'IPv6', value: 0xffffc0a80101n, canonical: '::ffff:c0a8:101' },
    // The deprecated IPv4-compatible form keeps its RFC 4291 meaning (ipaddr.js alone would map it).
    { input: '::1.2.3.4', family: 'IPv6', value: 0x01020304n, canonical: '::102:304' },
  ];
  for (const c of valid) {
    it(`parses ${JSON.stringify(c.input)}`, () => {
      assert.deepEqual(parseAddress(c.input), { family: c.family, value: c.value });
      assert.equal(formatAddress(c.family, c.value), c.canonical);
    });
  }

  const invalid: { input: string; error: string }[] = [
    { input: '', error: '"" is not a valid IP address: it is empty' },
    { input: '   ', error: '"   " is not a valid IP address: it is empty' },
    { input: 'hello', error: '"hello" is not a valid IP address' },
    {
      input: 'fe80::1%eth0',
      error: '"fe80::1%eth0" is not a valid IP address: zone identifiers (like %eth0) are not allowed',
    },
    {
      input: '10.0.0.1%1',
      error: '"10.0.0.1%1" is not a valid IP address: zone identifiers (like %eth0) are not allowed',
    },
    ...['10.1', '10.0.0.256', '010.0.0.1', '0x7f.0.0.1', '1.2.3.4.5', '4294967295'].map((input) => ({
      input,
      error: `"${input}" is not a valid IP address: an IPv4 address is four decimal numbers 0-255 without leading zeros, e.g. 192.168.1.10`,
    })),
    { input: '1::2::3', error: '"1::2::3" is not a valid IP address' },
    { input: '1:2:3:4:5:6:7:8:9', error: '"1:2:3:4:5:6:7:8:9" is not a valid IP address' },
    { input: '12345::', error: '"12345::" is not a valid IP address' },
    { input: 'fd00::g', error: '"fd00::g" is not a valid IP address' },
    {
      input: '::ffff:01.2.3.4',
      error:
        '"::ffff:01.2.3.4" is not a valid IP address: embedded IPv4 part "01.2.3.4" is not four decimal numbers 0-255',
    },
    { input: '10.0.0.0/24', error: '"10.0.0.0/24" is not a valid IP address' },
    { input: '10.0.0.1 10.0.0.2', error: '"10.0.0.1 10.0.0.2" is not a valid IP address' },
  ];
  for (const c of invalid) {
    it(`rejects ${JSON.stringify(c.input)}`, () => {
      assert.deepEqual(parseAddress(c.input), { error: c.error });
    });
  }
});

describe('formatAddress', () => {
  it('rejects values outside the family', () => {
    assert.throws(() => formatAddress('IPv4', 1n << 32n), RangeError);
    assert.throws(() => formatAddress('IPv4', -1n), RangeError);
    assert.throws(() => formatAddress('IPv6', 1n << 128n), RangeError);
  });
  it('compresses IPv6 in lowercase', () => {
    assert.equal(formatAddress('IPv6', v6('2001:DB8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  });
});

describe('parsePoolEntry', () => {
  const valid: { input: string; family: Family; first: string; last: string; size: bigint }[] = [
    { input: '192.168.10.0/24', family: 'IPv4', first: '192.168.10.0', last: '192.168.10.255', size: 256n },
    { input: '192.168.10.0 / 24', family: 'IPv4', first: '192.168.10.0', last: '192.168.10.255', size: 256n },
    { input: '10.0.0.5/24', family: 'IPv4', first: '10.0.0.0', last: '10.0.0.255', size: 256n }, // host bits cleared
    { input: '10.0.0.7/32', family: 'IPv4', first: '10.0.0.7', last: '10.0.0.7', size: 1n },
    { input: '0.0.0.0/0', family: 'IPv4', first: '0.0.0.0', last: '255.255.255.255', size: 1n << 32n },
    { input: 'fd00::/120', family: 'IPv6', first: 'fd00::', last: 'fd00::ff', size: 256n },
    {
      input: 'fd00::1234/64',
      family: 'IPv6',
      first: 'fd00::',
      last: 'fd00::ffff:ffff:ffff:ffff',
      size: 1n << 64n,
    },
    {
      input: '::/0',
      family: 'IPv6',
      first: '::',
      last: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      size: 1n << 128n,
    },
    {
      input: '192.168.10.10-192.168.10.20',
      family: 'IPv4',
      first: '192.168.10.10',
      last: '192.168.10.20',
      size: 11n,
    },
    {
      input: ' 192.168.10.10 - 192.168.10.20 ',
      family: 'IPv4',
      first: '192.168.10.10',
      last: '192.168.10.20',
      size: 11n,
    },
    { input: '10.0.0.9-10.0.0.9', family: 'IPv4', first: '10.0.0.9', last: '10.0.0.9', size: 1n },
    {
      input: 'fd00::10-fd00::1:0',
      family: 'IPv6',
      first: 'fd00::10',
      last: 'fd00::1:0',
      size: 0x1_0000n - 0x10n + 1n,
    },
    { input: '192.168.10.7', family: 'IPv4', first: '192.168.10.7', last: '192.168.10.7', size: 1n },
    { input: 'FD00::7', family: 'IPv6', first: 'fd00::7', last: 'fd00::7', size: 1n },
  ];
  for (const c of valid) {
    it(`parses ${JSON.stringify(c.input)}`, () => {
      const r = parsePoolEntry(c.input);
      assert.ok(!('error' in r), JSON.stringify('error' in r ? r.error : ''));
      assert.equal(r.family, c.family);
      assert.equal(formatAddress(r.family, r.first), c.first);
      assert.equal(formatAddress(r.family, r.last), c.last);
      assert.equal(rangeSize(r), c.size);
    });
  }

  const invalid: { input: string; error: string }[] = [
    { input: '', error: '"": empty entry; expected a CIDR, a range A-B or an IP address' },
    { input: '  ', error: '"  ": empty entry; expected a CIDR, a range A-B or an IP address' },
    { input: 'pool-a', error: '"pool-a": range start "pool" is not a valid IP address' },
    { input: 'hello', error: '"hello" is not a valid IP address, range (A-B) or CIDR (A/N)' },
    {
      input: 'fe80::1%eth0',
      error: '"fe80::1%eth0" is not a valid IP address: zone identifiers (like %eth0) are not allowed',
    },
    {
      input: '10.1',
      error:
        '"10.1" is not a valid IP address: an IPv4 address is four decimal numbers 0-255 without leading zeros, e.g. 192.168.1.10',
    },
    {
      input: '192.168.1.20-192.168.1.10',
      error: '"192.168.1.20-192.168.1.10": range start is after its end',
    },
    { input: 'fd00::2-fd00::1', error: '"fd00::2-fd00::1": range start is after its end' },
    { input: '10.0.0.1-fd00::1', error: '"10.0.0.1-fd00::1": range mixes IPv4 and IPv6' },
    { input: 'fd00::1-10.0.0.1', error: '"fd00::1-10.0.0.1": range mixes IPv4 and IPv6' },
    {
      input: '10.0.0.1-10.0.0.2-10.0.0.3',
      error: '"10.0.0.1-10.0.0.2-10.0.0.3": a range is two addresses separated by one "-"',
    },
    { input: '10.0.0.1-', error: '"10.0.0.1-": range end "" is not a valid IP address: it is empty' },
    { input: '-10.0.0.1', error: '"-10.0.0.1": range start "" is not a valid IP address: it is empty' },
    {
      input: '10.0.0.x-10.0.0.9',
      error:
        '"10.0.0.x-10.0.0.9": range start "10.0.0.x" is not a valid IP address: an IPv4 address is four decimal numbers 0-255 without leading zeros, e.g. 192.168.1.10',
    },
    { input: 'a.b-10.0.0.9', error: '"a.b-10.0.0.9": range start "a.b" is not a valid IP address' },
    { input: 'fd00::1-fd00::z', error: '"fd00::1-fd00::z": range end "fd00::z" is not a valid IP address' },
    {
      input: 'fe80::1%eth0-fe80::9',
      error:
        '"fe80::1%eth0-fe80::9": range start "fe80::1%eth0" is not a valid IP address: zone identifiers (like %eth0) are not allowed',
    },
    {
      input: '10.0.0.0/24-10.0.1.0/24',
      error:
        '"10.0.0.0/24-10.0.1.0/24": a range takes plain addresses, not CIDRs; list each CIDR as its own entry',
    },
    { input: '10.0.0.0/33', error: '"10.0.0.0/33": prefix length 33 is out of range for IPv4 (0-32)' },
    { input: 'fd00::/129', error: '"fd00::/129": prefix length 129 is out of range for IPv6 (0-128)' },
    { input: '10.0.0.0/', error: '"10.0.0.0/": the prefix length after "/" is missing' },
    { input: '10.0.0.0/x', error: '"10.0.0.0/x": prefix length "x" is not a number' },
    { input: '10.0.0.0/-1', error: '"10.0.0.0/-1": prefix length "-1" is not a number' },
    { input: '10.0.0.0/24/8', error: '"10.0.0.0/24/8": a CIDR has exactly one "/"' },
    { input: 'net/24', error: '"net/24": network address "net" is not a valid IP address' },
    { input: '/24', error: '"/24": network address "" is not a valid IP address: it is empty' },
  ];
  for (const c of invalid) {
    it(`rejects ${JSON.stringify(c.input)}`, () => {
      assert.deepEqual(parsePoolEntry(c.input), { error: c.error });
    });
  }
});

describe('range helpers', () => {
  const r = (first: string, last: string): AddressRange =>
    first.includes(':')
      ? { family: 'IPv6', first: v6(first), last: v6(last) }
      : { family: 'IPv4', first: v4(first), last: v4(last) };

  it('rangeSize', () => {
    const table: [AddressRange, bigint][] = [
      [r('10.0.0.1', '10.0.0.1'), 1n],
      [r('10.0.0.0', '10.0.0.255'), 256n],
      [r('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 1n << 128n],
    ];
    for (const [range, size] of table) assert.equal(rangeSize(range), size);
  });

  it('contains', () => {
    const range = r('10.0.0.10', '10.0.0.20');
    const table: [Family, bigint, boolean][] = [
      ['IPv4', v4('10.0.0.9'), false],
      ['IPv4', v4('10.0.0.10'), true],
      ['IPv4', v4('10.0.0.15'), true],
      ['IPv4', v4('10.0.0.20'), true],
      ['IPv4', v4('10.0.0.21'), false],
      ['IPv6', v4('10.0.0.15'), false], // same number, other family
    ];
    for (const [family, value, expected] of table) assert.equal(contains(range, family, value), expected);
  });

  it('overlaps', () => {
    const table: [AddressRange, AddressRange, boolean][] = [
      [r('10.0.0.0', '10.0.0.10'), r('10.0.0.10', '10.0.0.20'), true],
      [r('10.0.0.0', '10.0.0.9'), r('10.0.0.10', '10.0.0.20'), false],
      [r('10.0.0.0', '10.0.0.255'), r('10.0.0.5', '10.0.0.5'), true],
      [r('10.0.0.5', '10.0.0.5'), r('10.0.0.0', '10.0.0.255'), true],
      [r('10.0.0.30', '10.0.0.40'), r('10.0.0.10', '10.0.0.20'), false],
      [{ family: 'IPv4', first: 0n, last: 10n }, { family: 'IPv6', first: 0n, last: 10n }, false],
      [r('fd00::', 'fd00::ff'), r('fd00::ff', 'fd00::1ff'), true],
    ];
    for (const [a, b, expected] of table)
      assert.equal(overlaps(a, b), expected, `${formatRange(a)} vs ${formatRange(b)}`);
  });

  it('formatRange', () => {
    assert.equal(formatRange(r('10.0.0.1', '10.0.0.1')), '10.0.0.1');
    assert.equal(formatRange(r('10.0.0.1', '10.0.0.9')), '10.0.0.1-10.0.0.9');
    assert.equal(formatRange(r('fd00::1', 'fd00::9')), 'fd00::1-fd00::9');
  });
});

describe('addresses automatic picking skips', () => {
  const parsed = (text: string): { family: Family; value: bigint } => {
    const p = parseAddress(text);
    if ('error' in p) throw new Error(p.error);
    return p;
  };
  const cases: { address: string; buggy: boolean; anycast: boolean; next: string }[] = [
    { address: '10.0.0.0', buggy: true, anycast: false, next: '10.0.0.1' },
    { address: '10.0.0.255', buggy: true, anycast: false, next: '10.0.1.1' },
    { address: '10.0.0.1', buggy: false, anycast: false, next: '10.0.0.1' },
    { address: '10.0.0.254', buggy: false, anycast: false, next: '10.0.0.254' },
    { address: '0.0.0.0', buggy: true, anycast: false, next: '0.0.0.1' },
    { address: 'fd00:1::', buggy: false, anycast: true, next: 'fd00:1::1' },
    { address: 'fd00:1::1', buggy: false, anycast: false, next: 'fd00:1::1' },
    { address: 'fd00:1::ff', buggy: false, anycast: false, next: 'fd00:1::ff' },
    { address: 'fd00:1:0:0:1::', buggy: false, anycast: false, next: 'fd00:1:0:0:1::' },
    { address: '::', buggy: false, anycast: true, next: '::1' },
    { address: '::ffff:10.0.0.0', buggy: false, anycast: false, next: '::ffff:a00:0' },
  ];
  for (const c of cases) {
    it(c.address, () => {
      const { family, value } = parsed(c.address);
      assert.equal(isBuggyIPv4(family, value), c.buggy);
      assert.equal(isSubnetRouterAnycast(family, value), c.anycast);
      assert.equal(isSkippable(family, value), c.buggy || c.anycast);
      assert.equal(formatAddress(family, nextUnskippable(family, value)), c.next);
    });
  }

  it('countCongruent matches counting one by one', () => {
    for (let first = -3n; first < 20n; first++) {
      for (let last = first - 1n; last < 30n; last++) {
        for (const [residue, modulus] of [
          [0n, 4n],
          [3n, 4n],
          [2n, 7n],
        ] as const) {
          let want = 0n;
          for (let v = first; v <= last; v++)
            if ((((v - residue) % modulus) + modulus) % modulus === 0n) want++;
          assert.equal(
            countCongruent(first, last, residue, modulus),
            want,
            `${first}..${last} ≡${residue} mod ${modulus}`,
          );
        }
      }
    }
  });

  it('countSkippable matches counting one by one, at family edges too', () => {
    const windows: [Family, bigint, bigint][] = [
      ['IPv4', 0n, 600n],
      ['IPv4', (1n << 32n) - 600n, (1n << 32n) - 1n],
      ['IPv6', 0n, 300n],
      ['IPv6', (1n << 64n) - 150n, (1n << 64n) + 150n],
      ['IPv6', (1n << 128n) - 200n, (1n << 128n) - 1n],
    ];
    for (const [family, low, high] of windows) {
      for (let first = low; first <= high; first += 37n) {
        for (let last = first - 1n; last <= high; last += 53n) {
          let want = 0n;
          for (let v = first; v <= last; v++) if (isSkippable(family, v)) want++;
          assert.equal(countSkippable(family, first, last), want, `${family} ${first}..${last}`);
        }
      }
    }
  });

  it('countSkippable on huge ranges', () => {
    assert.equal(countSkippable('IPv4', 0n, (1n << 32n) - 1n), 2n * (1n << 24n));
    assert.equal(countSkippable('IPv6', 0n, (1n << 128n) - 1n), 1n << 64n);
    const huge6: AddressRange = { family: 'IPv6', first: 0n, last: (1n << 80n) - 1n };
    assert.equal(countUnpickable(huge6, false), 1n << 16n, 'IPv6 always skips');
    const two24s: AddressRange = { family: 'IPv4', first: v4('10.0.0.0'), last: v4('10.0.1.255') };
    assert.equal(countUnpickable(two24s, false), 0n);
    assert.equal(countUnpickable(two24s, true), 4n);
  });
});
