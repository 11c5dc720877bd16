import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Family, formatAddress, parseAddress } from '../../src/providers/pool/address-range.ts';
import {
  ALLOCATION_FAILURE_REASONS,
  type AllocationFailureReason,
  type AllocationRequest,
  type AllocationResult,
  Allocator,
  findPoolOverlaps,
  type PoolSpec,
  parsePool,
} from '../../src/providers/pool/allocator.ts';

function pool(name: string, addresses: string[], autoAssign = true): PoolSpec {
  const parsed = parsePool(name, { addresses, autoAssign });
  assert.deepEqual(parsed.problems, []);
  return parsed.pool;
}

function allocatorWith(...pools: PoolSpec[]): Allocator {
  const allocator = new Allocator();
  allocator.setPools(pools);
  return allocator;
}

/** The addresses of a successful result, as text. */
function addressesOf(result: AllocationResult): string[] {
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
  return result.addresses.map((a) => a.address);
}

function take(allocator: Allocator, key: string, request: AllocationRequest): string {
  const got = addressesOf(allocator.allocate(key, request));
  assert.equal(got.length, 1);
  return got[0]!;
}

function value(text: string): { family: Family; value: bigint } {
  const parsed = parseAddress(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

function owner(allocator: Allocator, text: string): string | undefined {
  const { family, value: v } = value(text);
  return allocator.ownerOf(family, v);
}

function held(allocator: Allocator, key: string): string[] {
  return allocator.assigned(key).map((a) => a.address);
}

describe('parsePool', () => {
  const cases: {
    name: string;
    spec: { addresses?: unknown; autoAssign?: unknown };
    ranges: string[];
    autoAssign: boolean;
    problems: string[];
  }[] = [
    {
      name: 'valid entries of every kind, autoAssign defaulting to true',
      spec: { addresses: ['10.0.0.0/30', '10.0.1.5 - 10.0.1.6', '10.0.2.7', 'fd00::/127'] },
      ranges: [
        'IPv4 10.0.0.0-10.0.0.3',
        'IPv4 10.0.1.5-10.0.1.6',
        'IPv4 10.0.2.7-10.0.2.7',
        'IPv6 fd00::-fd00::1',
      ],
      autoAssign: true,
      problems: [],
    },
    {
      name: 'invalid entries are reported and left out',
      spec: {
        addresses: ['10.0.0.0/33', '10.0.0.9', '192.168.1.20-192.168.1.10', 7, '10.0.0.1-fd00::1'],
        autoAssign: false,
      },
      ranges: ['IPv4 10.0.0.9-10.0.0.9'],
      autoAssign: false,
      problems: [
        '"10.0.0.0/33": prefix length 33 is out of range for IPv4 (0-32)',
        '"192.168.1.20-192.168.1.10": range start is after its end',
        'spec.addresses[3] must be a string, got 7',
        '"10.0.0.1-fd00::1": range mixes IPv4 and IPv6',
      ],
    },
    {
      name: 'no valid entry still gives a pool',
      spec: { addresses: ['nope'] },
      ranges: [],
      autoAssign: true,
      problems: ['"nope" is not a valid IP address, range (A-B) or CIDR (A/N)'],
    },
    {
      name: 'missing addresses',
      spec: {},
      ranges: [],
      autoAssign: true,
      problems: ['spec.addresses is missing: the pool has no addresses'],
    },
    {
      name: 'null addresses and null autoAssign',
      spec: { addresses: null, autoAssign: null },
      ranges: [],
      autoAssign: true,
      problems: ['spec.addresses is missing: the pool has no addresses'],
    },
    {
      name: 'addresses not a list',
      spec: { addresses: '10.0.0.0/24' },
      ranges: [],
      autoAssign: true,
      problems: ['spec.addresses must be a list of strings, got "10.0.0.0/24"'],
    },
    {
      name: 'non-string entries',
      spec: { addresses: [null, { cidr: '10.0.0.0/24' }, ['10.0.0.1']] },
      ranges: [],
      autoAssign: true,
      problems: [
        'spec.addresses[0] must be a string, got null',
        'spec.addresses[1] must be a string, got an object',
        'spec.addresses[2] must be a string, got a list',
      ],
    },
    {
      name: 'autoAssign that is not a boolean makes the pool request-only',
      spec: { addresses: ['10.0.0.1'], autoAssign: 'true' },
      ranges: ['IPv4 10.0.0.1-10.0.0.1'],
      autoAssign: false,
      problems: ['spec.autoAssign must be true or false, got "true"; the pool is used only when requested'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { pool: p, problems } = parsePool('p', c.spec);
      assert.equal(p.name, 'p');
      assert.deepEqual(
        p.ranges.map(
          (r) => `${r.family} ${formatAddress(r.family, r.first)}-${formatAddress(r.family, r.last)}`,
        ),
        c.ranges,
      );
      assert.equal(p.autoAssign, c.autoAssign);
      assert.deepEqual(problems, c.problems);
    });
  }
});

describe('findPoolOverlaps', () => {
  it('reports ranges shared between pools, in name order', () => {
    const pools = [
      pool('b', ['10.0.0.5', 'fd00::/120']),
      pool('a', ['10.0.0.0/24', '10.0.0.4-10.0.0.6']),
      pool('c', ['10.0.1.0/24', 'fd00::80-fd00::90']),
    ];
    assert.deepEqual(findPoolOverlaps(pools), [
      'pools "a" and "b" overlap: 10.0.0.0-10.0.0.255 and 10.0.0.5',
      'pools "a" and "b" overlap: 10.0.0.4-10.0.0.6 and 10.0.0.5',
      'pools "b" and "c" overlap: fd00::-fd00::ff and fd00::80-fd00::90',
    ]);
    assert.deepEqual(findPoolOverlaps([pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24'])]), []);
  });
});

describe('Allocator.allocate outcomes', () => {
  // a: 10.0.0.0-10.0.0.3 and fd00::-fd00::3; b: 10.0.1.0-10.0.1.1; manual (autoAssign false): 10.0.2.0-10.0.2.1.
  const standard = (): PoolSpec[] => [
    pool('b', ['10.0.1.0-10.0.1.1']),
    pool('manual', ['10.0.2.0/31'], false),
    pool('a', ['10.0.0.0/30', 'fd00::/126']),
  ];
  const fill = (allocator: Allocator, prefix: string, n: number, request: AllocationRequest): void => {
    for (let i = 0; i < n; i++) addressesOf(allocator.allocate(`ns/${prefix}${i}`, request));
  };

  type Expect =
    | { addresses: string[]; pools?: (string | undefined)[] }
    | { reason: AllocationFailureReason; message: string };
  const cases: {
    name: string;
    pools?: PoolSpec[];
    setup?: (allocator: Allocator) => void;
    request: AllocationRequest;
    expect: Expect;
  }[] = [
    {
      name: 'lowest address of the first pool by name',
      request: { family: 'IPv4' },
      expect: { addresses: ['10.0.0.0'], pools: ['a'] },
    },
    {
      name: 'IPv6 from the pool that has it',
      request: { family: 'IPv6' },
      expect: { addresses: ['fd00::'], pools: ['a'] },
    },
    {
      name: 'next pool once the first is full',
      setup: (al) => fill(al, 'f', 4, { family: 'IPv4' }),
      request: { family: 'IPv4' },
      expect: { addresses: ['10.0.1.0'], pools: ['b'] },
    },
    {
      name: 'lowest free skips taken addresses',
      setup: (al) => {
        assert.deepEqual(al.restore('ns/r', ['10.0.0.0', '10.0.0.1', '10.0.0.3']), { ok: true });
      },
      request: { family: 'IPv4' },
      expect: { addresses: ['10.0.0.2'], pools: ['a'] },
    },
    {
      name: 'named pool',
      request: { family: 'IPv4', pool: 'b' },
      expect: { addresses: ['10.0.1.0'], pools: ['b'] },
    },
    {
      name: 'named pool with autoAssign false',
      request: { family: 'IPv4', pool: 'manual' },
      expect: { addresses: ['10.0.2.0'], pools: ['manual'] },
    },
    {
      name: 'requested address in an autoAssign: false pool',
      request: { family: 'IPv4', addresses: ['10.0.2.1'] },
      expect: { addresses: ['10.0.2.1'], pools: ['manual'] },
    },
    {
      name: 'requested address inside the named pool',
      request: { family: 'IPv4', addresses: ['10.0.1.1'], pool: 'b' },
      expect: { addresses: ['10.0.1.1'], pools: ['b'] },
    },
    {
      name: 'several requested addresses of the family, duplicates collapsed, other family ignored',
      request: { family: 'IPv4', addresses: ['10.0.0.3', 'fd00::1', '10.0.1.1', '10.0.0.3'] },
      expect: { addresses: ['10.0.0.3', '10.0.1.1'], pools: ['a', 'b'] },
    },
    {
      name: 'requested address of the family, written in another form',
      request: { family: 'IPv6', addresses: ['10.0.0.1', 'FD00:0::2'] },
      expect: { addresses: ['fd00::2'], pools: ['a'] },
    },
    {
      name: 'no requested address of the family: pick from the pools',
      request: { family: 'IPv6', addresses: ['10.0.0.1'] },
      expect: { addresses: ['fd00::'], pools: ['a'] },
    },
    {
      name: 'InvalidAddress',
      request: { family: 'IPv4', addresses: ['10.0.0.1', 'nope'] },
      expect: { reason: 'InvalidAddress', message: '"nope" is not a valid IP address' },
    },
    {
      name: 'InvalidAddress even when of no interest to this family',
      request: { family: 'IPv6', addresses: ['fe80::1%eth0'] },
      expect: {
        reason: 'InvalidAddress',
        message: '"fe80::1%eth0" is not a valid IP address: zone identifiers (like %eth0) are not allowed',
      },
    },
    {
      name: 'AddressOutsidePools',
      request: { family: 'IPv4', addresses: ['192.0.2.1'] },
      expect: { reason: 'AddressOutsidePools', message: '192.0.2.1 is not in any address pool' },
    },
    {
      name: 'AddressNotInPool',
      request: { family: 'IPv4', addresses: ['10.0.0.1'], pool: 'b' },
      expect: { reason: 'AddressNotInPool', message: '10.0.0.1 is not in address pool "b"' },
    },
    {
      name: 'AddressInUse names the holder',
      setup: (al) => {
        assert.deepEqual(addressesOf(al.allocate('ns/other', { family: 'IPv4', addresses: ['10.0.0.1'] })), [
          '10.0.0.1',
        ]);
      },
      request: { family: 'IPv4', addresses: ['10.0.0.1'] },
      expect: { reason: 'AddressInUse', message: '10.0.0.1 is already assigned to Service other' },
    },
    {
      name: 'PoolNotFound',
      request: { family: 'IPv4', pool: 'nope' },
      expect: { reason: 'PoolNotFound', message: 'address pool "nope" does not exist' },
    },
    {
      name: 'PoolNotFound with a requested address',
      request: { family: 'IPv4', addresses: ['10.0.0.1'], pool: 'nope' },
      expect: { reason: 'PoolNotFound', message: 'address pool "nope" does not exist' },
    },
    {
      name: 'PoolExhausted for a named pool',
      setup: (al) => fill(al, 'f', 2, { family: 'IPv4', pool: 'b' }),
      request: { family: 'IPv4', pool: 'b' },
      expect: { reason: 'PoolExhausted', message: 'no free IPv4 address left in address pool "b"' },
    },
    {
      name: 'PoolExhausted across autoAssign pools (autoAssign: false pool with room is not used)',
      setup: (al) => fill(al, 'f', 6, { family: 'IPv4' }),
      request: { family: 'IPv4' },
      expect: { reason: 'PoolExhausted', message: 'no free IPv4 address left in address pools "a", "b"' },
    },
    {
      name: 'PoolExhausted for IPv6 only lists pools with IPv6',
      setup: (al) => fill(al, 'f', 4, { family: 'IPv6' }),
      request: { family: 'IPv6' },
      expect: { reason: 'PoolExhausted', message: 'no free IPv6 address left in address pool "a"' },
    },
    {
      name: 'NoPoolForFamily for a named pool',
      request: { family: 'IPv6', pool: 'b' },
      expect: { reason: 'NoPoolForFamily', message: 'address pool "b" has no IPv6 addresses' },
    },
    {
      name: 'NoPoolForFamily when only request-only pools have the family',
      pools: [
        pool('v4', ['10.0.0.0/24']),
        pool('v6-manual', ['fd00::/64'], false),
        pool('v6-b', ['fd01::/64'], false),
      ],
      request: { family: 'IPv6' },
      expect: {
        reason: 'NoPoolForFamily',
        message:
          'no address pool with autoAssign enabled has IPv6 addresses; "v6-b", "v6-manual" have autoAssign: false and must be requested by name',
      },
    },
    {
      name: 'NoPoolForFamily with one request-only pool',
      pools: [pool('v6-manual', ['fd00::/64'], false)],
      request: { family: 'IPv6' },
      expect: {
        reason: 'NoPoolForFamily',
        message:
          'no address pool with autoAssign enabled has IPv6 addresses; "v6-manual" has autoAssign: false and must be requested by name',
      },
    },
    {
      name: 'NoPoolForFamily with no pool at all',
      pools: [],
      request: { family: 'IPv4' },
      expect: { reason: 'NoPoolForFamily', message: 'no address pool has IPv4 addresses' },
    },
    {
      name: 'NoPoolForFamily for a pool with no valid entries',
      pools: [parsePool('empty', { addresses: ['garbage'] }).pool],
      request: { family: 'IPv4', pool: 'empty' },
      expect: { reason: 'NoPoolForFamily', message: 'address pool "empty" has no IPv4 addresses' },
    },
  ];

  it('covers every failure reason', () => {
    const covered = new Set(cases.flatMap((c) => ('reason' in c.expect ? [c.expect.reason] : [])));
    assert.deepEqual([...covered].sort(), [...ALLOCATION_FAILURE_REASONS].sort());
  });

  for (const c of cases) {
    it(c.name, () => {
      const allocator = allocatorWith(...(c.pools ?? standard()));
      c.setup?.(allocator);
      const before = held(allocator, 'ns/svc');
      const result = allocator.allocate('ns/svc', c.request);
      if ('reason' in c.expect) {
        assert.deepEqual(result, { ok: false, reason: c.expect.reason, message: c.expect.message });
        assert.deepEqual(held(allocator, 'ns/svc'), before, 'a failure changes nothing');
      } else {
        assert.deepEqual(addressesOf(result), c.expect.addresses);
        if (result.ok && c.expect.pools)
          assert.deepEqual(
            result.addresses.map((a) => a.pool),
            c.expect.pools,
          );
        for (const address of c.expect.addresses) assert.equal(owner(allocator, address), 'ns/svc');
        assert.deepEqual(held(allocator, 'ns/svc'), c.expect.addresses);
      }
    });
  }
});

describe('Allocator behaviour', () => {
  it('is idempotent: a second allocate returns the same address', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/120']));
    const requests: AllocationRequest[] = [
      { family: 'IPv4' },
      { family: 'IPv4', pool: 'a' },
      { family: 'IPv4', addresses: ['10.0.0.77'] },
      { family: 'IPv4', addresses: ['10.0.0.78'], pool: 'a' },
      { family: 'IPv6' },
    ];
    for (const [i, request] of requests.entries()) {
      const key = `ns/s${i}`;
      const first = addressesOf(al.allocate(key, request));
      addressesOf(al.allocate(`ns/between${i}`, { family: request.family }));
      assert.deepEqual(addressesOf(al.allocate(key, request)), first, JSON.stringify(request));
      assert.deepEqual(held(al, key), first);
    }
  });

  it('never moves a valid address: dropping the request keeps it, naming a pool that holds it keeps it', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24']));
    assert.equal(take(al, 'ns/s', { family: 'IPv4', addresses: ['10.0.1.9'] }), '10.0.1.9');
    assert.equal(take(al, 'ns/s', { family: 'IPv4' }), '10.0.1.9');
    assert.equal(take(al, 'ns/s', { family: 'IPv4', pool: 'b' }), '10.0.1.9');
  });

  it('a changed request replaces the old address and frees it', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24']));
    assert.equal(take(al, 'ns/s', { family: 'IPv4' }), '10.0.0.0');
    assert.equal(take(al, 'ns/s', { family: 'IPv4', addresses: ['10.0.0.9'] }), '10.0.0.9');
    assert.equal(owner(al, '10.0.0.0'), undefined);
    assert.equal(take(al, 'ns/s', { family: 'IPv4', pool: 'b' }), '10.0.1.0');
    assert.equal(owner(al, '10.0.0.9'), undefined);
    assert.deepEqual(held(al, 'ns/s'), ['10.0.1.0']);
    assert.equal(take(al, 'ns/t', { family: 'IPv4' }), '10.0.0.0');
  });

  it('changing a multi-address request keeps the overlap and frees the rest', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.deepEqual(
      addressesOf(al.allocate('ns/s', { family: 'IPv4', addresses: ['10.0.0.1', '10.0.0.2'] })),
      ['10.0.0.1', '10.0.0.2'],
    );
    assert.deepEqual(
      addressesOf(al.allocate('ns/s', { family: 'IPv4', addresses: ['10.0.0.3', '10.0.0.2'] })),
      ['10.0.0.3', '10.0.0.2'],
    );
    assert.equal(owner(al, '10.0.0.1'), undefined);
    assert.deepEqual(held(al, 'ns/s').sort(), ['10.0.0.2', '10.0.0.3']);
  });

  it('families are independent; release frees everything', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/30', 'fd00::/126']));
    assert.equal(take(al, 'ns/s', { family: 'IPv4' }), '10.0.0.0');
    assert.equal(take(al, 'ns/s', { family: 'IPv6' }), 'fd00::');
    assert.equal(take(al, 'ns/s', { family: 'IPv4' }), '10.0.0.0');
    assert.deepEqual(held(al, 'ns/s'), ['10.0.0.0', 'fd00::']);
    al.release('ns/s');
    assert.deepEqual(al.assigned('ns/s'), []);
    assert.equal(owner(al, '10.0.0.0'), undefined);
    assert.equal(owner(al, 'fd00::'), undefined);
    al.release('ns/unknown');
  });

  it('release then reuse hands out the freed lowest address', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    for (let i = 0; i < 4; i++) assert.equal(take(al, `ns/s${i}`, { family: 'IPv4' }), `10.0.0.${i}`);
    al.release('ns/s1');
    assert.equal(take(al, 'ns/new', { family: 'IPv4' }), '10.0.0.1');
    assert.equal(take(al, 'ns/newer', { family: 'IPv4' }), '10.0.0.4');
  });

  it('restore then allocate never hands out a restored address', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    assert.deepEqual(al.restore('ns/x', ['10.0.0.0', '10.0.0.2', ' 10.0.0.2']), { ok: true });
    assert.deepEqual(al.restore('ns/y', ['10.0.0.1']), { ok: true });
    assert.deepEqual(held(al, 'ns/x'), ['10.0.0.0', '10.0.0.2']);
    assert.equal(take(al, 'ns/z', { family: 'IPv4' }), '10.0.0.3');
    assert.equal(take(al, 'ns/w', { family: 'IPv4' }), '10.0.0.4');
    assert.deepEqual(al.allocate('ns/w', { family: 'IPv4', addresses: ['10.0.0.2'] }), {
      ok: false,
      reason: 'AddressInUse',
      message: '10.0.0.2 is already assigned to Service x',
    });
    // The restored key allocating again keeps what it had.
    assert.deepEqual(addressesOf(al.allocate('ns/x', { family: 'IPv4' })), ['10.0.0.0', '10.0.0.2']);
    // Restoring the same state again is a no-op.
    assert.deepEqual(al.restore('ns/x', ['10.0.0.2']), { ok: true });
    assert.deepEqual(held(al, 'ns/x'), ['10.0.0.0', '10.0.0.2']);
  });

  it('restore refuses conflicts and bad input, all or nothing', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    assert.deepEqual(al.restore('ns/x', ['10.0.0.1']), { ok: true });
    assert.deepEqual(al.restore('ns/y', ['10.0.0.5', '10.0.0.1']), {
      ok: false,
      reason: 'AddressInUse',
      message: '10.0.0.1 is already assigned to Service x',
    });
    assert.deepEqual(al.restore('ns/y', ['10.0.0.5', 'bogus']), {
      ok: false,
      reason: 'InvalidAddress',
      message: '"bogus" is not a valid IP address',
    });
    assert.equal(owner(al, '10.0.0.5'), undefined);
    assert.deepEqual(al.assigned('ns/y'), []);
  });

  it('restores addresses outside every pool and keeps them reserved', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    assert.deepEqual(al.restore('ns/x', ['192.0.2.9', '10.0.0.0']), { ok: true });
    assert.deepEqual(
      al.assigned('ns/x').map((a) => [a.address, a.pool]),
      [
        ['192.0.2.9', undefined],
        ['10.0.0.0', 'a'],
      ],
    );
    assert.deepEqual(al.assignmentsOutsidePools(), ['ns/x']);
    assert.equal(al.allocate('ns/y', { family: 'IPv4', addresses: ['192.0.2.9'] }).ok, false);
    al.setPools([pool('a', ['10.0.0.0/29']), pool('late', ['192.0.2.0/24'])]);
    assert.deepEqual(al.assignmentsOutsidePools(), []);
    assert.equal(al.assigned('ns/x')[0]?.pool, 'late');
    assert.deepEqual(al.allocate('ns/y', { family: 'IPv4', addresses: ['192.0.2.9'] }), {
      ok: false,
      reason: 'AddressInUse',
      message: '192.0.2.9 is already assigned to Service x',
    });
    assert.equal(take(al, 'ns/y', { family: 'IPv4', pool: 'late' }), '192.0.2.0');
  });

  it('stays stable when setPools removes the pool', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']), pool('b', ['10.0.1.0/29']));
    assert.equal(take(al, 'ns/auto', { family: 'IPv4' }), '10.0.0.0');
    assert.equal(take(al, 'ns/exact', { family: 'IPv4', addresses: ['10.0.0.5'] }), '10.0.0.5');
    assert.equal(take(al, 'ns/named', { family: 'IPv4', pool: 'a' }), '10.0.0.1');
    al.setPools([pool('b', ['10.0.1.0/29'])]);

    assert.deepEqual(al.assignmentsOutsidePools(), ['ns/auto', 'ns/exact', 'ns/named']);
    assert.equal(al.assigned('ns/auto')[0]?.pool, undefined);
    assert.equal(owner(al, '10.0.0.0'), 'ns/auto');
    // Allocating again with the same request keeps the address...
    assert.equal(take(al, 'ns/auto', { family: 'IPv4' }), '10.0.0.0');
    assert.equal(take(al, 'ns/exact', { family: 'IPv4', addresses: ['10.0.0.5'] }), '10.0.0.5');
    // ...except that a named pool that is gone is reported, and the address is still held.
    assert.deepEqual(al.allocate('ns/named', { family: 'IPv4', pool: 'a' }), {
      ok: false,
      reason: 'PoolNotFound',
      message: 'address pool "a" does not exist',
    });
    assert.deepEqual(held(al, 'ns/named'), ['10.0.0.1']);
    // A requested address the key holds must still lie in a pool named alongside it.
    assert.deepEqual(al.allocate('ns/exact', { family: 'IPv4', addresses: ['10.0.0.5'], pool: 'b' }), {
      ok: false,
      reason: 'AddressNotInPool',
      message: '10.0.0.5 is not in address pool "b"',
    });
    assert.deepEqual(held(al, 'ns/exact'), ['10.0.0.5']);

    // The pool comes back, under a new name: labels follow, nothing moves, nothing is handed out twice.
    al.setPools([pool('b', ['10.0.1.0/29']), pool('c', ['10.0.0.0/29'])]);
    assert.deepEqual(al.assignmentsOutsidePools(), []);
    assert.equal(al.assigned('ns/auto')[0]?.pool, 'c');
    assert.equal(take(al, 'ns/named', { family: 'IPv4', pool: 'c' }), '10.0.0.1');
    assert.equal(take(al, 'ns/later', { family: 'IPv4', pool: 'c' }), '10.0.0.2');
  });

  it('a pool becoming autoAssign: false keeps its assignments but stops auto-assigning', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']), pool('b', ['10.0.1.0/29']));
    assert.equal(take(al, 'ns/s', { family: 'IPv4' }), '10.0.0.0');
    al.setPools([pool('a', ['10.0.0.0/29'], false), pool('b', ['10.0.1.0/29'])]);
    assert.equal(take(al, 'ns/s', { family: 'IPv4' }), '10.0.0.0');
    assert.equal(take(al, 'ns/t', { family: 'IPv4' }), '10.0.1.0');
  });

  it('an address in two overlapping pools has one owner, labelled with the first pool by name', () => {
    const al = allocatorWith(pool('z', ['10.0.0.0/30']), pool('m', ['10.0.0.2-10.0.0.5']));
    assert.equal(take(al, 'ns/s', { family: 'IPv4', addresses: ['10.0.0.3'] }), '10.0.0.3');
    assert.equal(al.assigned('ns/s')[0]?.pool, 'm');
    assert.equal(take(al, 'ns/s', { family: 'IPv4', pool: 'z' }), '10.0.0.3');
    assert.equal(take(al, 'ns/t', { family: 'IPv4', pool: 'z' }), '10.0.0.0');
    assert.equal(take(al, 'ns/u', { family: 'IPv4' }), '10.0.0.2');
    assert.equal(take(al, 'ns/v', { family: 'IPv4' }), '10.0.0.4');
  });

  it('overlapping and adjacent ranges within a pool are searched as one', () => {
    const al = allocatorWith(
      pool('a', ['10.0.0.4-10.0.0.5', '10.0.0.0/30', '10.0.0.2-10.0.0.4', '10.0.0.9']),
    );
    const got = Array.from({ length: 7 }, (_, i) => take(al, `ns/s${i}`, { family: 'IPv4' }));
    assert.deepEqual(got, [
      '10.0.0.0',
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.9',
    ]);
    assert.equal(al.allocate('ns/full', { family: 'IPv4' }).ok, false);
    assert.deepEqual(al.usage('a'), { assigned: 7, size: 7n, free: 0n });
  });

  it('finds the lowest free address in an IPv6 /64 without enumerating it', () => {
    const al = allocatorWith(pool('v6', ['fd00:1::/64', 'fd00:2::/64']));
    assert.deepEqual(
      al.restore('ns/r', ['fd00:1::', 'fd00:1::1', 'fd00:1::2', 'fd00:1::4', 'fd00:1::ffff:ffff:ffff:ffff']),
      {
        ok: true,
      },
    );
    assert.equal(take(al, 'ns/a', { family: 'IPv6' }), 'fd00:1::3');
    assert.equal(take(al, 'ns/b', { family: 'IPv6' }), 'fd00:1::5');
    al.release('ns/r');
    assert.equal(take(al, 'ns/c', { family: 'IPv6' }), 'fd00:1::');
    assert.deepEqual(al.usage('v6'), { assigned: 3, size: 2n ** 65n, free: 2n ** 65n - 3n });
  });

  it('moves on from a full range to the next one, even for huge ranges', () => {
    // The whole IPv6 space but its last address is one range; only its last address is free.
    const al = allocatorWith(pool('all', ['::/0']));
    const top = (1n << 128n) - 1n;
    assert.deepEqual(al.restore('ns/r', [formatAddress('IPv6', top)]), { ok: true });
    assert.equal(take(al, 'ns/a', { family: 'IPv6' }), '::');
    const al2 = allocatorWith(pool('p', ['fd00::/127', 'fd00::8/127']));
    assert.deepEqual(al2.restore('ns/r', ['fd00::', 'fd00::1', 'fd00::8']), { ok: true });
    assert.equal(take(al2, 'ns/a', { family: 'IPv6' }), 'fd00::9');
  });

  it('stays fast with tens of thousands of Services', () => {
    const al = allocatorWith(pool('big', ['10.0.0.0/8']), pool('v6', ['fd00::/64']));
    const start = performance.now();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      addressesOf(al.allocate(`ns/s${i}`, { family: 'IPv4' }));
      addressesOf(al.allocate(`ns/s${i}`, { family: 'IPv6' }));
    }
    for (let i = 0; i < n; i += 2) al.release(`ns/s${i}`);
    assert.equal(take(al, 'ns/again', { family: 'IPv4' }), '10.0.0.0');
    assert.equal(take(al, 'ns/again2', { family: 'IPv4' }), '10.0.0.2');
    assert.equal(take(al, 'ns/again', { family: 'IPv6' }), 'fd00::');
    assert.deepEqual(al.usage('big'), {
      assigned: n / 2 + 2,
      size: 1n << 24n,
      free: (1n << 24n) - BigInt(n / 2 + 2),
    });
    assert.ok(performance.now() - start < 10_000, 'allocation should not be quadratic in practice');
  });

  it('usage is undefined for an unknown pool', () => {
    assert.equal(new Allocator().usage('nope'), undefined);
  });

  it('hands out copies', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/30']));
    const result = al.allocate('ns/s', { family: 'IPv4' });
    assert.ok(result.ok);
    const first = result.addresses[0]!;
    first.value = 99n;
    first.pool = 'x';
    const copy = al.assigned('ns/s')[0]!;
    copy.value = 98n;
    assert.deepEqual(al.assigned('ns/s'), [
      { family: 'IPv4', value: 0x0a000000n, address: '10.0.0.0', pool: 'a' },
    ]);
    const pools = al.pools();
    pools[0]!.ranges.length = 0;
    assert.equal(al.pools()[0]!.ranges.length, 1);
  });
});

describe('AddressInUse messages', () => {
  it('name the holder within the namespace but never another tenant', () => {
    const al = new Allocator();
    al.setPools([parsePool('p', { addresses: ['10.9.0.0/30'] }).pool]);
    assert.ok(al.allocate('team-a/web', { family: 'IPv4', addresses: ['10.9.0.1'] }).ok);
    const same = al.allocate('team-a/api', { family: 'IPv4', addresses: ['10.9.0.1'] });
    assert.deepEqual(same, {
      ok: false,
      reason: 'AddressInUse',
      message: '10.9.0.1 is already assigned to Service web',
    });
    const other = al.allocate('team-b/api', { family: 'IPv4', addresses: ['10.9.0.1'] });
    assert.equal(other.ok, false);
    assert.equal(
      !other.ok && other.message,
      '10.9.0.1 is already assigned to a Service in another namespace',
    );
  });
});
