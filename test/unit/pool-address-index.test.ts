import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressIndex } from '../../src/providers/pool/address-index.ts';
import { type Family, isSkippable } from '../../src/providers/pool/address-range.ts';

/** A small deterministic generator (mulberry32), so failures reproduce. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bruteFirstFree(
  index: AddressIndex,
  family: Family,
  from: bigint,
  last: bigint,
  skip: boolean,
): bigint | undefined {
  for (let v = from; v <= last; v++) {
    if (index.owners(family, v).size > 0) continue;
    if (skip && isSkippable(family, v)) continue;
    return v;
  }
  return undefined;
}

describe('AddressIndex', () => {
  it('tracks owners as sets; the address is free again only when the last owner goes', () => {
    const index = new AddressIndex();
    index.add('IPv4', 5n, 'ns/a', 'k');
    index.add('IPv4', 5n, 'ns/b', 'k');
    index.add('IPv4', 5n, 'ns/b', 'k');
    assert.deepEqual([...index.owners('IPv4', 5n)], ['ns/a', 'ns/b']);
    assert.deepEqual(index.sharedUnder('IPv4', 'k'), [5n]);
    assert.equal(index.remove('IPv4', 5n, 'ns/a', 'k'), false);
    assert.deepEqual(index.sharedUnder('IPv4', 'k'), [5n]);
    assert.equal(index.firstFree('IPv4', 5n, 9n, false), 6n);
    assert.equal(index.remove('IPv4', 5n, 'ns/b', 'k'), true);
    assert.deepEqual(index.sharedUnder('IPv4', 'k'), []);
    assert.equal(index.firstFree('IPv4', 5n, 9n, false), 5n);
    assert.deepEqual([...index.owners('IPv4', 5n)], []);
  });

  it('rekey moves an owner between sharing keys; families are separate', () => {
    const index = new AddressIndex();
    index.add('IPv4', 1n, 'ns/a', 'k');
    index.add('IPv6', 1n, 'ns/a', 'k');
    index.add('IPv4', 1n, 'ns/b', 'k');
    index.rekey('IPv4', 1n, 'ns/a', 'k', 'k2');
    assert.deepEqual(index.sharedUnder('IPv4', 'k'), [1n]);
    assert.deepEqual(index.sharedUnder('IPv4', 'k2'), [1n]);
    index.rekey('IPv4', 1n, 'ns/b', 'k', undefined);
    assert.deepEqual(index.sharedUnder('IPv4', 'k'), []);
    assert.deepEqual(index.sharedUnder('IPv6', 'k'), [1n]);
    // Rekeying an owner that does not hold the address changes nothing.
    index.rekey('IPv4', 1n, 'ns/zz', 'k2', undefined);
    assert.deepEqual(index.sharedUnder('IPv4', 'k2'), [1n]);
  });

  it('sharedUnder lists ascending', () => {
    const index = new AddressIndex();
    for (const v of [9n, 3n, 7n, 1n]) index.add('IPv4', v, `ns/${v}`, 'k');
    assert.deepEqual(index.sharedUnder('IPv4', 'k'), [1n, 3n, 7n, 9n]);
  });

  it('firstFree agrees with a one-by-one scan (seeded random occupancy, with and without skipping)', () => {
    const random = generator(20240601);
    for (let round = 0; round < 60; round++) {
      const family: Family = round % 2 === 0 ? 'IPv4' : 'IPv6';
      // IPv6 windows straddle a /64 boundary so the anycast rule matters.
      const base = family === 'IPv4' ? 0n : (1n << 64n) - 300n;
      const index = new AddressIndex();
      const density = random();
      for (let v = 0n; v < 1200n; v++) {
        if (random() < density) index.add(family, base + v, 'ns/x', undefined);
      }
      for (let probe = 0; probe < 40; probe++) {
        const from = base + BigInt(Math.floor(random() * 1200));
        const last = from + BigInt(Math.floor(random() * 700)) - 20n;
        for (const skip of [false, true]) {
          assert.equal(
            index.firstFree(family, from, last, skip),
            bruteFirstFree(index, family, from, last, skip),
            `round ${round} ${family} ${from}..${last} skip=${skip}`,
          );
        }
      }
    }
  });

  it('counts owned addresses, and owned skippable ones, in a range', () => {
    const index = new AddressIndex();
    for (const v of [0n, 1n, 255n, 256n, 300n]) index.add('IPv4', v, 'ns/x', undefined);
    assert.equal(index.countOwned('IPv4', 0n, 511n), 5);
    assert.equal(index.countOwned('IPv4', 0n, 511n, true), 3);
    assert.equal(index.countOwned('IPv4', 2n, 255n), 1);
    assert.equal(index.countOwned('IPv6', 0n, 511n), 0);
  });
});
