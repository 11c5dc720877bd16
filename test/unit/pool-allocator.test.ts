import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Family, formatAddress, parseAddress } from '../../src/providers/pool/address-range.ts';
import {
  ALLOCATION_FAILURE_REASONS,
  type AllocationFailureReason,
  type AllocationRequest,
  type AllocationResult,
  Allocator,
  type Notice,
  type PoolSpec,
  parsePool,
  type ServiceFacts,
  type SharingFacts,
} from '../../src/providers/pool/allocator.ts';

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-06-01T00:00:00Z';

function pool(
  name: string,
  addresses: string[],
  extra: Record<string, unknown> = {},
  created = T0,
): PoolSpec {
  const parsed = parsePool({ name, creationTimestamp: created }, { addresses, ...extra });
  assert.deepEqual(parsed.problems, []);
  return parsed.pool;
}

function svc(key: string, extra: Partial<Omit<ServiceFacts, 'key' | 'namespace'>> = {}): ServiceFacts {
  return { key, namespace: key.slice(0, key.indexOf('/')), labels: {}, namespaceLabels: {}, ...extra };
}

/** A Service with sharing key `sharingKey` and ports like 'TCP/80'. */
function sharer(
  key: string,
  sharingKey: string,
  ports: string[],
  extra: Partial<SharingFacts> = {},
): ServiceFacts {
  const sharing: SharingFacts = {
    key: sharingKey,
    crossNamespace: [],
    backendKey: '',
    ports: ports.map((p) => {
      const [protocol, port] = p.split('/') as ['TCP' | 'UDP' | 'SCTP', string];
      return { protocol, port: Number(port) };
    }),
    ...extra,
  };
  return svc(key, { sharing });
}

/** Request fields besides the defaults (IPv4, SingleStack); `service` overrides the one passed to req(). */
type RequestExtra = Partial<AllocationRequest>;

function req(service: ServiceFacts | string, extra: RequestExtra = {}): AllocationRequest {
  return {
    service: typeof service === 'string' ? svc(service) : service,
    families: ['IPv4'],
    policy: 'SingleStack',
    ...extra,
  };
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

function noticesOf(result: AllocationResult): Notice[] {
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
  return result.notices;
}

/** Allocates and returns the single address given. */
function take(allocator: Allocator, service: ServiceFacts | string, extra: RequestExtra = {}): string {
  const got = addressesOf(allocator.allocate(req(service, extra)));
  assert.equal(got.length, 1);
  return got[0]!;
}

function value(text: string): { family: Family; value: bigint } {
  const parsed = parseAddress(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

function holders(allocator: Allocator, text: string): string[] {
  const { family, value: v } = value(text);
  return allocator.holders(family, v);
}

function held(allocator: Allocator, key: string): string[] {
  return allocator.assigned(key).map((a) => a.address);
}

function failure(result: AllocationResult): { reason: string; message: string } {
  assert.ok(!result.ok, `expected a failure, got ${result.ok && result.addresses.map((a) => a.address)}`);
  return { reason: result.reason, message: result.message };
}

/** Restores addresses and asserts it all worked. */
function restored(allocator: Allocator, service: ServiceFacts | string, addresses: string[]): void {
  const result = allocator.restore(typeof service === 'string' ? svc(service) : service, addresses);
  assert.ok(result.ok, result.ok ? '' : result.message);
}

describe('Allocator.allocate outcomes', () => {
  const standard = (): PoolSpec[] => [
    pool('b', ['10.0.1.0-10.0.1.1']),
    pool('manual', ['10.0.2.0/31'], { autoAssign: false }),
    pool('a', ['10.0.0.0/30', 'fd00::/126']),
    pool('reserved', ['10.0.3.0/31'], { serviceAllocation: { namespaces: ['team-r'] } }),
    pool('off', ['10.0.4.0/31'], { disabled: true }),
    pool('late', ['10.0.1.1-10.0.1.2'], {}, T1),
  ];
  const fill = (allocator: Allocator, prefix: string, n: number, extra: RequestExtra = {}): void => {
    for (let i = 0; i < n; i++) addressesOf(allocator.allocate(req(`ns/${prefix}${i}`, extra)));
  };

  type Expect =
    | { addresses: string[]; pools?: (string | undefined)[] }
    | { reason: AllocationFailureReason; message: string };
  const cases: {
    name: string;
    pools?: PoolSpec[];
    setup?: (allocator: Allocator) => void;
    request: RequestExtra;
    expect: Expect;
  }[] = [
    {
      name: 'lowest address of the first pool by name',
      request: {},
      expect: { addresses: ['10.0.0.0'], pools: ['a'] },
    },
    {
      name: 'IPv6 skips the subnet-router anycast address',
      request: { families: ['IPv6'] },
      expect: { addresses: ['fd00::1'], pools: ['a'] },
    },
    {
      name: 'next pool once the first is full',
      setup: (al) => fill(al, 'f', 4),
      request: {},
      expect: { addresses: ['10.0.1.0'], pools: ['b'] },
    },
    {
      name: 'lowest free skips taken addresses',
      setup: (al) => {
        restored(al, 'ns/r', ['10.0.0.0', 'fd00::']);
        restored(al, 'ns/q', ['10.0.0.1']);
        restored(al, 'ns/p', ['10.0.0.3']);
      },
      request: {},
      expect: { addresses: ['10.0.0.2'], pools: ['a'] },
    },
    { name: 'named pool', request: { pool: 'b' }, expect: { addresses: ['10.0.1.0'], pools: ['b'] } },
    {
      name: 'named pool with autoAssign false',
      request: { pool: 'manual' },
      expect: { addresses: ['10.0.2.0'], pools: ['manual'] },
    },
    {
      name: 'requested address in an autoAssign: false pool',
      request: { addresses: ['10.0.2.1'] },
      expect: { addresses: ['10.0.2.1'], pools: ['manual'] },
    },
    {
      name: 'requested address inside the named pool',
      request: { addresses: ['10.0.1.1'], pool: 'b' },
      expect: { addresses: ['10.0.1.1'], pools: ['b'] },
    },
    {
      name: 'requested address in two pools belongs to the older, usable one',
      request: { addresses: ['10.0.1.1'] },
      expect: { addresses: ['10.0.1.1'], pools: ['b'] },
    },
    {
      name: 'requested address written in another form',
      request: { families: ['IPv6'], addresses: ['FD00:0::2'] },
      expect: { addresses: ['fd00::2'], pools: ['a'] },
    },
    {
      name: 'the subnet-router anycast address may be requested',
      request: { families: ['IPv6'], addresses: ['fd00::'] },
      expect: { addresses: ['fd00::'], pools: ['a'] },
    },
    {
      name: 'InvalidAddress',
      request: { addresses: ['nope'] },
      expect: { reason: 'InvalidAddress', message: '"nope" is not a valid IP address' },
    },
    {
      name: 'InvalidAddress: two of one family',
      request: { addresses: ['10.0.0.1', '10.0.0.2'] },
      expect: {
        reason: 'InvalidAddress',
        message: '10.0.0.1 and 10.0.0.2 are both IPv4: request at most one address per family',
      },
    },
    {
      name: 'InvalidAddress: a family the Service is not served in',
      request: { addresses: ['fd00::1'] },
      expect: {
        reason: 'InvalidAddress',
        message:
          'fd00::1 is an IPv6 address, but the Service is served in IPv4 only (spec.ipFamilies, spec.ipFamilyPolicy)',
      },
    },
    {
      name: 'InvalidRequest',
      request: { families: [] },
      expect: {
        reason: 'InvalidRequest',
        message: 'ipFamilies must be one or two different families, got []',
      },
    },
    {
      name: 'AddressOutsidePools',
      request: { addresses: ['192.0.2.1'] },
      expect: { reason: 'AddressOutsidePools', message: '192.0.2.1 is not in any address pool' },
    },
    {
      name: 'AddressNotInPool',
      request: { addresses: ['10.0.0.1'], pool: 'b' },
      expect: { reason: 'AddressNotInPool', message: '10.0.0.1 is not in address pool "b"' },
    },
    {
      name: 'AddressInUse names the holder in the same namespace',
      setup: (al) => assert.equal(take(al, 'ns/other', { addresses: ['10.0.0.1'] }), '10.0.0.1'),
      request: { addresses: ['10.0.0.1'] },
      expect: { reason: 'AddressInUse', message: '10.0.0.1 is already assigned to Service other' },
    },
    {
      name: 'SharingConflict says which rule',
      setup: (al) =>
        assert.equal(take(al, sharer('ns/other', 'k', ['TCP/80']), { addresses: ['10.0.0.1'] }), '10.0.0.1'),
      request: { service: sharer('ns/svc', 'k', ['UDP/53', 'TCP/80']), addresses: ['10.0.0.1'] },
      expect: {
        reason: 'SharingConflict',
        message: 'port TCP/80 is already used on 10.0.0.1 by Service other',
      },
    },
    {
      name: 'PoolNotFound',
      request: { pool: 'nope' },
      expect: { reason: 'PoolNotFound', message: 'address pool "nope" does not exist' },
    },
    {
      name: 'PoolNotFound with a requested address',
      request: { addresses: ['10.0.0.1'], pool: 'nope' },
      expect: { reason: 'PoolNotFound', message: 'address pool "nope" does not exist' },
    },
    {
      name: 'PoolNotAllowed: named pool reserved for others',
      request: { pool: 'reserved' },
      expect: {
        reason: 'PoolNotAllowed',
        message:
          'address pool "reserved" does not serve this Service: it is reserved (spec.serviceAllocation) for other Services',
      },
    },
    {
      name: 'PoolNotAllowed: requested address in a reserved pool',
      request: { addresses: ['10.0.3.1'] },
      expect: {
        reason: 'PoolNotAllowed',
        message:
          '10.0.3.1 cannot be used: address pool "reserved" does not serve this Service: it is reserved (spec.serviceAllocation) for other Services',
      },
    },
    {
      name: 'PoolDisabled: named',
      request: { pool: 'off' },
      expect: {
        reason: 'PoolDisabled',
        message: 'address pool "off" is disabled (draining): it hands out no new addresses',
      },
    },
    {
      name: 'PoolDisabled: requested address',
      request: { addresses: ['10.0.4.1'] },
      expect: {
        reason: 'PoolDisabled',
        message:
          '10.0.4.1 cannot be used: address pool "off" is disabled (draining): it hands out no new addresses',
      },
    },
    {
      name: 'PoolConflicting: named',
      request: { pool: 'late' },
      expect: {
        reason: 'PoolConflicting',
        message:
          'address pool "late" overlaps an older pool and hands out no addresses until the overlap is removed',
      },
    },
    {
      name: 'PoolConflicting: requested address only the newer pool has',
      request: { addresses: ['10.0.1.2'] },
      expect: {
        reason: 'PoolConflicting',
        message:
          '10.0.1.2 cannot be used: address pool "late" overlaps an older pool and hands out no addresses until the overlap is removed',
      },
    },
    {
      name: 'NoMatchingPool says why of each pool',
      pools: [
        pool('manual', ['10.0.2.0/31'], { autoAssign: false }),
        pool('off', ['10.0.4.0/31'], { disabled: true }),
        pool('reserved', ['10.0.3.0/31'], { serviceAllocation: { namespaces: ['team-r'] } }),
      ],
      request: {},
      expect: {
        reason: 'NoMatchingPool',
        message:
          'no enabled address pool serves this Service in namespace "ns"; pools "manual" (autoAssign: false; name it to use it), "off" (disabled), "reserved" (reserved for other Services)',
      },
    },
    {
      name: 'NoMatchingPool without any pool',
      pools: [],
      request: {},
      expect: { reason: 'NoMatchingPool', message: 'there is no address pool: create an AddressPool' },
    },
    {
      name: 'FamilyUnavailable (SingleStack) lists the pools that have the family',
      pools: [pool('b', ['10.0.1.0/24']), pool('manual6', ['fd01::/120'], { autoAssign: false })],
      request: { families: ['IPv6'] },
      expect: {
        reason: 'FamilyUnavailable',
        message:
          'no address pool this Service may use has IPv6 addresses; pools with IPv6: "manual6" (autoAssign: false; name it to use it)',
      },
    },
    {
      name: 'FamilyUnavailable in a named pool',
      request: { families: ['IPv6'], pool: 'b' },
      expect: { reason: 'FamilyUnavailable', message: 'address pool "b" has no IPv6 addresses' },
    },
    {
      name: 'PoolExhausted',
      pools: [pool('only', ['10.0.0.0/31'])],
      setup: (al) => fill(al, 'f', 2),
      request: {},
      expect: { reason: 'PoolExhausted', message: 'no free IPv4 address left in address pool "only"' },
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
      const result = allocator.allocate(req('ns/svc', c.request));
      if ('reason' in c.expect) {
        assert.deepEqual(result, { ok: false, reason: c.expect.reason, message: c.expect.message });
        assert.deepEqual(held(allocator, 'ns/svc'), before, 'a failure changes nothing');
      } else {
        assert.deepEqual(addressesOf(result), c.expect.addresses);
        if (result.ok && c.expect.pools) {
          assert.deepEqual(
            result.addresses.map((a) => a.pool),
            c.expect.pools,
          );
        }
        for (const address of c.expect.addresses) assert.deepEqual(holders(allocator, address), ['ns/svc']);
        assert.deepEqual(held(allocator, 'ns/svc'), c.expect.addresses);
      }
    });
  }
});

describe('Allocator basics', () => {
  it('is idempotent: a second allocate returns the same address', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/120']));
    const requests: RequestExtra[] = [
      {},
      { pool: 'a' },
      { addresses: ['10.0.0.77'] },
      { addresses: ['10.0.0.78'], pool: 'a' },
      { families: ['IPv6'] },
      { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' },
    ];
    for (const [i, extra] of requests.entries()) {
      const key = `ns/s${i}`;
      const first = addressesOf(al.allocate(req(key, extra)));
      addressesOf(al.allocate(req(`ns/between${i}`, { families: extra.families ?? ['IPv4'] })));
      assert.deepEqual(addressesOf(al.allocate(req(key, extra))), first, JSON.stringify(extra));
      assert.deepEqual(held(al, key), first);
    }
  });

  it('never moves a valid address: dropping the request keeps it, naming a pool that holds it keeps it', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24']));
    assert.equal(take(al, 'ns/s', { addresses: ['10.0.1.9'] }), '10.0.1.9');
    assert.equal(take(al, 'ns/s'), '10.0.1.9');
    assert.equal(take(al, 'ns/s', { pool: 'b' }), '10.0.1.9');
  });

  it('a changed request replaces the old address and frees it', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24']));
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    assert.equal(take(al, 'ns/s', { addresses: ['10.0.0.9'] }), '10.0.0.9');
    assert.deepEqual(holders(al, '10.0.0.0'), []);
    assert.equal(take(al, 'ns/s', { pool: 'b' }), '10.0.1.0');
    assert.deepEqual(holders(al, '10.0.0.9'), []);
    assert.deepEqual(held(al, 'ns/s'), ['10.0.1.0']);
    assert.equal(take(al, 'ns/t'), '10.0.0.0');
  });

  it('release frees everything, or one family; unknown keys are fine', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/30', 'fd00::/126']));
    const both = { families: ['IPv4', 'IPv6'] as Family[], policy: 'RequireDualStack' as const };
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', both))), ['10.0.0.0', 'fd00::1']);
    assert.deepEqual(
      al.release('ns/s', ['IPv6']).map((a) => a.address),
      ['fd00::1'],
    );
    assert.deepEqual(held(al, 'ns/s'), ['10.0.0.0']);
    assert.deepEqual(
      al.release('ns/s').map((a) => a.address),
      ['10.0.0.0'],
    );
    assert.deepEqual(al.assigned('ns/s'), []);
    assert.deepEqual(holders(al, '10.0.0.0'), []);
    assert.deepEqual(al.release('ns/unknown'), []);
  });

  it('release then reuse hands out the freed lowest address', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    for (let i = 0; i < 4; i++) assert.equal(take(al, `ns/s${i}`), `10.0.0.${i}`);
    al.release('ns/s1');
    assert.equal(take(al, 'ns/new'), '10.0.0.1');
    assert.equal(take(al, 'ns/newer'), '10.0.0.4');
  });

  it('overlapping and adjacent ranges within a pool are searched as one', () => {
    const al = allocatorWith(
      pool('a', ['10.0.0.4-10.0.0.5', '10.0.0.0/30', '10.0.0.2-10.0.0.4', '10.0.0.9']),
    );
    const got = Array.from({ length: 7 }, (_, i) => take(al, `ns/s${i}`));
    assert.deepEqual(got, [
      '10.0.0.0',
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.9',
    ]);
    assert.equal(failure(al.allocate(req('ns/full'))).reason, 'PoolExhausted');
    assert.deepEqual(al.poolStatus('a'), {
      assignedIPv4: 7,
      assignedIPv6: 0,
      availableIPv4: 0,
      availableIPv6: 0,
      conflicts: [],
      conflicting: false,
      disabled: false,
    });
  });

  it('hands out copies', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/30']));
    const result = al.allocate(req('ns/s'));
    assert.ok(result.ok);
    const first = result.addresses[0]!;
    first.value = 99n;
    first.pool = 'x';
    const copy = al.assigned('ns/s')[0]!;
    copy.value = 98n;
    assert.deepEqual(al.assigned('ns/s'), [
      { family: 'IPv4', value: 0x0a000000n, address: '10.0.0.0', pool: 'a' },
    ]);
  });

  it('a pool spec changed after setPools does not change the allocator', () => {
    const spec = pool('a', ['10.0.0.0/30']);
    const al = allocatorWith(spec);
    spec.ranges.length = 0;
    spec.disabled = true;
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
  });

  it('pool names, pools containing an address, unknown pool status', () => {
    const al = allocatorWith(
      pool('z', ['10.0.0.0/24']),
      pool('a', ['10.0.0.128/25'], {}, T1),
      pool('m', ['fd00::/64']),
    );
    assert.deepEqual(al.poolNames(), ['a', 'm', 'z']);
    assert.deepEqual(al.poolsContaining('IPv4', value('10.0.0.200').value), ['a', 'z']);
    assert.deepEqual(al.poolsContaining('IPv4', value('10.0.0.1').value), ['z']);
    assert.deepEqual(al.poolsContaining('IPv6', value('10.0.0.1').value), []);
    assert.equal(al.poolStatus('nope'), undefined);
  });
});

describe('sharing', () => {
  it('a Service with a sharing key prefers an address compatible Services hold, lowest first', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('ns/a', 'k', ['TCP/80'])), '10.0.0.0');
    assert.equal(take(al, 'ns/plain'), '10.0.0.1');
    assert.equal(take(al, sharer('ns/b', 'k', ['TCP/443'])), '10.0.0.0');
    // Port clash with a: not on .0; the normal pick.
    assert.equal(take(al, sharer('ns/c', 'k', ['TCP/80'])), '10.0.0.2');
    // Clashes with a on .0 and with c on .2: a fresh address.
    assert.equal(take(al, sharer('ns/d', 'k', ['TCP/80'])), '10.0.0.3');
    // UDP/80 clashes with nobody: the lowest shared address.
    assert.equal(take(al, sharer('ns/e', 'k', ['UDP/80'])), '10.0.0.0');
    // Another key shares nothing.
    assert.equal(take(al, sharer('ns/f', 'other', ['TCP/9'])), '10.0.0.4');
    assert.deepEqual(holders(al, '10.0.0.0'), ['ns/a', 'ns/b', 'ns/e']);
    const status = al.poolStatus('a')!;
    assert.equal(status.assignedIPv4, 5, 'a shared address counts once');
    assert.equal(status.availableIPv4, 256 - 5);
  });

  it('explicit requests share when the rules allow and say which rule fails otherwise', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('ns/a', 'k', ['TCP/80']), { addresses: ['10.0.0.9'] }), '10.0.0.9');
    assert.equal(take(al, sharer('ns/b', 'k', ['TCP/443']), { addresses: ['10.0.0.9'] }), '10.0.0.9');
    const cases: { service: ServiceFacts; want: { reason: string; message: string } }[] = [
      {
        service: sharer('ns/c', 'other', ['TCP/8080']),
        want: {
          reason: 'SharingConflict',
          message: '10.0.0.9 is held by Service a with a different sharing key',
        },
      },
      {
        service: sharer('ns/c', 'k', ['TCP/443']),
        want: { reason: 'SharingConflict', message: 'port TCP/443 is already used on 10.0.0.9 by Service b' },
      },
      {
        service: sharer('ns/c', 'k', ['TCP/8080'], { backendKey: 'app=web' }),
        want: {
          reason: 'SharingConflict',
          message:
            '10.0.0.9 is held by Service a with other backends: Services sharing an address must have the same externalTrafficPolicy and, for Local, the same spec.selector',
        },
      },
      {
        service: svc('ns/c'),
        want: {
          reason: 'AddressInUse',
          message:
            '10.0.0.9 is already assigned to Service a (to share it, give this Service the same sharing key)',
        },
      },
    ];
    for (const c of cases) {
      assert.deepEqual(failure(al.allocate(req(c.service, { addresses: ['10.0.0.9'] }))), c.want);
      assert.deepEqual(al.assigned('ns/c'), []);
    }
    assert.equal(take(al, sharer('ns/c', 'k', ['UDP/443'])), '10.0.0.9');
    assert.deepEqual(holders(al, '10.0.0.9'), ['ns/a', 'ns/b', 'ns/c']);
  });

  it('Local Services share only with the same selector', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('ns/a', 'k', ['TCP/80'], { backendKey: 'app=web' })), '10.0.0.0');
    assert.equal(take(al, sharer('ns/b', 'k', ['TCP/81'], { backendKey: 'app=api' })), '10.0.0.1');
    assert.equal(take(al, sharer('ns/c', 'k', ['TCP/82'], { backendKey: 'app=web' })), '10.0.0.0');
    assert.equal(take(al, sharer('ns/d', 'k', ['TCP/83'])), '10.0.0.2', 'Cluster does not join Local');
  });

  it('across namespaces only with both opting in; messages never name the other tenant', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('team-a/web', 'k', ['TCP/80'], { crossNamespace: ['team-b'] })), '10.0.0.0');
    // team-c is not listed by team-a's Service: no sharing, even with '*' on its own side.
    assert.equal(take(al, sharer('team-c/web', 'k', ['TCP/81'], { crossNamespace: ['*'] })), '10.0.0.1');
    // team-b is listed, but does not list team-a.
    assert.equal(take(al, sharer('team-b/one', 'k', ['TCP/82'])), '10.0.0.2');
    // team-b listing team-a: shared.
    assert.equal(take(al, sharer('team-b/two', 'k', ['TCP/83'], { crossNamespace: ['team-a'] })), '10.0.0.0');
    // '*' on both sides.
    assert.equal(take(al, sharer('team-d/x', 'k', ['TCP/84'], { crossNamespace: ['*'] })), '10.0.0.1');
    const refused = failure(
      al.allocate(req(sharer('team-e/x', 'k', ['TCP/85']), { addresses: ['10.0.0.0'] })),
    );
    assert.equal(refused.reason, 'SharingConflict');
    assert.ok(!refused.message.includes('team-a') && !refused.message.includes('web'), refused.message);
    const inUse = failure(al.allocate(req('team-e/y', { addresses: ['10.0.0.0'] })));
    assert.deepEqual(inUse, {
      reason: 'AddressInUse',
      message:
        '10.0.0.0 is already assigned to a Service in another namespace (to share it, give this Service the same sharing key)',
    });
  });

  it('a Service alone on its address changes its sharing facts freely', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('ns/a', 'k', ['TCP/80'])), '10.0.0.0');
    assert.equal(take(al, sharer('ns/a', 'k2', ['UDP/1'], { backendKey: 'x=y' })), '10.0.0.0');
    assert.equal(take(al, svc('ns/a')), '10.0.0.0');
    // With no key left, nobody joins it.
    assert.equal(take(al, sharer('ns/b', 'k2', ['TCP/2'])), '10.0.0.1');
  });

  it('one owner changing its key moves off the shared address; the others stay', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('ns/a', 'k', ['TCP/80'])), '10.0.0.0');
    assert.equal(take(al, sharer('ns/b', 'k', ['TCP/443'])), '10.0.0.0');
    const moved = al.allocate(req(sharer('ns/a', 'k2', ['TCP/80'])));
    assert.deepEqual(addressesOf(moved), ['10.0.0.1']);
    assert.deepEqual(noticesOf(moved), [
      {
        reason: 'AddressReallocated',
        message:
          '10.0.0.0 can no longer be shared (10.0.0.0 is held by Service b with a different sharing key); a new address replaces it',
      },
    ]);
    assert.deepEqual(holders(al, '10.0.0.0'), ['ns/b']);
    assert.equal(take(al, sharer('ns/b', 'k', ['TCP/443'])), '10.0.0.0');
    // The index follows the key change: a k2 Service finds a's new address, a k Service finds b's.
    assert.equal(take(al, sharer('ns/c', 'k2', ['TCP/1'])), '10.0.0.1');
    assert.equal(take(al, sharer('ns/d', 'k', ['TCP/1'])), '10.0.0.0');
  });

  it('an explicitly requested shared address that can no longer be shared fails and is kept', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.equal(take(al, sharer('ns/a', 'k', ['TCP/80']), { addresses: ['10.0.0.5'] }), '10.0.0.5');
    assert.equal(take(al, sharer('ns/b', 'k', ['TCP/443']), { addresses: ['10.0.0.5'] }), '10.0.0.5');
    assert.deepEqual(
      failure(al.allocate(req(sharer('ns/a', 'k', ['TCP/443']), { addresses: ['10.0.0.5'] }))),
      {
        reason: 'SharingConflict',
        message: 'port TCP/443 is already used on 10.0.0.5 by Service b',
      },
    );
    assert.deepEqual(held(al, 'ns/a'), ['10.0.0.5']);
    assert.deepEqual(holders(al, '10.0.0.5'), ['ns/a', 'ns/b']);
  });

  it('shared addresses are only taken from pools the Service may use', () => {
    const al = allocatorWith(
      pool('general', ['10.0.1.0/24']),
      pool('pinned', ['10.0.0.0/24'], { serviceAllocation: { namespaces: ['team-a'] } }),
      pool('manual', ['10.0.2.0/24'], { autoAssign: false }),
    );
    const cross = { crossNamespace: ['*'] };
    assert.equal(take(al, sharer('team-a/x', 'k', ['TCP/80'], cross)), '10.0.0.0');
    assert.equal(take(al, sharer('team-b/y', 'k', ['TCP/81'], cross)), '10.0.1.0');
    assert.equal(take(al, sharer('team-c/z', 'k', ['TCP/82'], cross), { pool: 'manual' }), '10.0.2.0');
    assert.equal(take(al, sharer('team-d/w', 'k', ['TCP/83'], cross)), '10.0.1.0');
    assert.equal(take(al, sharer('team-d/v', 'k', ['TCP/84'], cross), { pool: 'manual' }), '10.0.2.0');
  });

  it('release reports an address only when its last owner lets go', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    take(al, sharer('ns/a', 'k', ['TCP/80']));
    take(al, sharer('ns/b', 'k', ['TCP/81']));
    assert.deepEqual(al.release('ns/a'), []);
    assert.deepEqual(holders(al, '10.0.0.0'), ['ns/b']);
    assert.deepEqual(
      al.release('ns/b').map((a) => a.address),
      ['10.0.0.0'],
    );
    assert.equal(take(al, 'ns/c'), '10.0.0.0');
  });
});

describe('dual-stack', () => {
  const dual = (
    policy: AllocationRequest['policy'],
    families: Family[] = ['IPv4', 'IPv6'],
  ): RequestExtra => ({
    families,
    policy,
  });

  it('SingleStack serves the first family only', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/64']));
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('SingleStack', ['IPv6', 'IPv4'])))), [
      'fd00::1',
    ]);
  });

  it('PreferDualStack gives both, in the order of families', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/64']));
    const result = al.allocate(req('ns/s', dual('PreferDualStack', ['IPv6', 'IPv4'])));
    assert.deepEqual(addressesOf(result), ['fd00::1', '10.0.0.0']);
    assert.deepEqual(noticesOf(result), []);
    assert.deepEqual(result.ok && result.addresses.map((a) => a.family), ['IPv6', 'IPv4']);
  });

  it('PreferDualStack without an IPv6 pool: IPv4 and a notice; the family is added when a pool gains it', () => {
    const al = allocatorWith(
      pool('v6first', ['fd01::/64'], { autoAssign: false }),
      pool('a', ['10.0.0.0/24']),
    );
    const first = al.allocate(req('ns/s', dual('PreferDualStack')));
    assert.deepEqual(addressesOf(first), ['10.0.0.0']);
    assert.deepEqual(noticesOf(first), [
      {
        reason: 'FamilyUnavailable',
        message:
          'no address pool this Service may use has IPv6 addresses; pools with IPv6: "v6first" (autoAssign: false; name it to use it); the Service gets IPv4 only until one is available',
      },
    ]);
    // Pool "a" gains IPv6, and an earlier-named general pool with IPv6 appears: the same pool is preferred.
    al.setPools([pool('a', ['10.0.0.0/24', 'fd00::/64']), pool('0v6', ['fd02::/64'])]);
    const second = al.allocate(req('ns/s', dual('PreferDualStack')));
    assert.deepEqual(addressesOf(second), ['10.0.0.0', 'fd00::1']);
    assert.deepEqual(noticesOf(second), []);
    assert.deepEqual(second.ok && second.addresses.map((a) => a.pool), ['a', 'a']);
  });

  it('PreferDualStack with neither family available fails', () => {
    const al = allocatorWith(pool('m', ['10.0.0.0/24'], { autoAssign: false }));
    assert.equal(failure(al.allocate(req('ns/s', dual('PreferDualStack')))).reason, 'NoMatchingPool');
  });

  it('PreferDualStack keeps the address it holds when the other family cannot be had', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('PreferDualStack')))), ['10.0.0.0']);
    al.setPools([]);
    const result = al.allocate(req('ns/s', dual('PreferDualStack')));
    assert.deepEqual(addressesOf(result), ['10.0.0.0']);
    assert.deepEqual(
      noticesOf(result).map((n) => n.reason),
      ['AddressOutsidePools', 'FamilyUnavailable'],
    );
  });

  it('RequireDualStack fails without both, and takes nothing', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']), pool('tiny6', ['fd00::1']));
    take(al, 'ns/other', { families: ['IPv6'] });
    assert.deepEqual(failure(al.allocate(req('ns/s', dual('RequireDualStack')))), {
      reason: 'PoolExhausted',
      message: 'no free IPv6 address left in address pool "tiny6"',
    });
    assert.deepEqual(al.assigned('ns/s'), []);
    assert.equal(take(al, 'ns/next'), '10.0.0.0', 'the failed request did not hold 10.0.0.0');
    al.setPools([pool('a', ['10.0.0.0/24'])]);
    assert.deepEqual(failure(al.allocate(req('ns/s', dual('RequireDualStack')))), {
      reason: 'FamilyUnavailable',
      message: 'no address pool this Service may use has IPv6 addresses',
    });
  });

  it('RequireDualStack losing a family keeps everything as it was', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/120']));
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('RequireDualStack')))), [
      '10.0.0.0',
      'fd00::1',
    ]);
    al.setPools([pool('a', ['10.0.0.0/24', 'fd00::/120'], { reallocateRemovedAddresses: true })]);
    al.setPools([pool('a', ['10.0.0.0/24'], { reallocateRemovedAddresses: true })]);
    assert.equal(failure(al.allocate(req('ns/s', dual('RequireDualStack')))).reason, 'FamilyUnavailable');
    assert.deepEqual(held(al, 'ns/s'), ['10.0.0.0', 'fd00::1']);
  });

  it('PreferDualStack: a removed address with no replacement is given up, the other family stays', () => {
    const reallocate = { reallocateRemovedAddresses: true };
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/120'], reallocate));
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('PreferDualStack')))), ['10.0.0.0', 'fd00::1']);
    al.setPools([pool('a', ['10.0.0.0/24'], reallocate)]);
    const result = al.allocate(req('ns/s', dual('PreferDualStack')));
    assert.deepEqual(addressesOf(result), ['10.0.0.0']);
    assert.deepEqual(noticesOf(result), [
      {
        reason: 'AddressReallocated',
        message:
          'fd00::1 was removed from address pool "a", which has reallocateRemovedAddresses: true; it is given up',
      },
      {
        reason: 'FamilyUnavailable',
        message:
          'no address pool this Service may use has IPv6 addresses; the Service gets IPv4 only until one is available',
      },
    ]);
    assert.deepEqual(holders(al, 'fd00::1'), []);
  });

  it('prefers one pool serving both families, else one pool per family', () => {
    const al = allocatorWith(
      pool('a4', ['10.0.0.0/24']),
      pool('b6', ['fd00::/64']),
      pool('c46', ['10.0.9.0/24', 'fd09::/64']),
    );
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('RequireDualStack')))), [
      '10.0.9.0',
      'fd09::1',
    ]);
    const perFamily = allocatorWith(pool('a4', ['10.0.0.0/24']), pool('b6', ['fd00::/64']));
    assert.deepEqual(addressesOf(perFamily.allocate(req('ns/s', dual('RequireDualStack')))), [
      '10.0.0.0',
      'fd00::1',
    ]);
  });

  it('a family added later comes from the pool of the family held', () => {
    const al = allocatorWith(
      pool('a', ['10.0.0.0/24']),
      pool('b', ['10.0.1.0/24', 'fd01::/64']),
      pool('c', ['fd00::/64']),
    );
    assert.equal(take(al, 'ns/s', { addresses: ['10.0.1.7'] }), '10.0.1.7');
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('PreferDualStack')))), ['10.0.1.7', 'fd01::1']);
  });

  it('a family no longer requested is released', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/64']));
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('PreferDualStack')))), ['10.0.0.0', 'fd00::1']);
    assert.deepEqual(addressesOf(al.allocate(req('ns/s', dual('SingleStack', ['IPv6', 'IPv4'])))), [
      'fd00::1',
    ]);
    assert.deepEqual(holders(al, '10.0.0.0'), []);
  });

  it('one family explicit, the other picked', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/64']));
    assert.deepEqual(
      addressesOf(al.allocate(req('ns/s', { ...dual('RequireDualStack'), addresses: ['fd00::99'] }))),
      ['10.0.0.0', 'fd00::99'],
    );
  });

  it('sharing in both families', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24', 'fd00::/64']));
    assert.deepEqual(
      addressesOf(al.allocate(req(sharer('ns/a', 'k', ['TCP/80']), dual('RequireDualStack')))),
      ['10.0.0.0', 'fd00::1'],
    );
    assert.deepEqual(
      addressesOf(al.allocate(req(sharer('ns/b', 'k', ['TCP/443']), dual('RequireDualStack')))),
      ['10.0.0.0', 'fd00::1'],
    );
  });
});

describe('avoidBuggyIPs and the subnet-router anycast address', () => {
  it('skips .0 and .255 when picking, across /24 boundaries', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/23'], { avoidBuggyIPs: true }));
    assert.equal(take(al, 'ns/first'), '10.0.0.1');
    const rest = Array.from({ length: 253 }, (_, i) => `10.0.0.${i + 2}`);
    for (const [i, address] of rest.entries()) restored(al, `ns/r${i}`, [address]);
    assert.equal(take(al, 'ns/next'), '10.0.1.1');
  });

  it('.0 and .255 may be requested explicitly', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24'], { avoidBuggyIPs: true }));
    assert.equal(take(al, 'ns/zero', { addresses: ['10.0.0.0'] }), '10.0.0.0');
    assert.equal(take(al, 'ns/top', { addresses: ['10.0.0.255'] }), '10.0.0.255');
  });

  it('without avoidBuggyIPs .0 and .255 are handed out', () => {
    const al = allocatorWith(pool('a', ['10.0.0.255-10.0.1.0']));
    assert.equal(take(al, 'ns/a'), '10.0.0.255');
    assert.equal(take(al, 'ns/b'), '10.0.1.0');
  });

  it('never picks an IPv6 address whose interface identifier is zero, even across /64s', () => {
    const al = allocatorWith(pool('v6', ['fd00:1::ffff:ffff:ffff:fffe-fd00:1:0:1::1']));
    const got = Array.from({ length: 3 }, (_, i) => take(al, `ns/s${i}`, { families: ['IPv6'] }));
    assert.deepEqual(got, ['fd00:1::ffff:ffff:ffff:fffe', 'fd00:1::ffff:ffff:ffff:ffff', 'fd00:1:0:1::1']);
    assert.equal(failure(al.allocate(req('ns/more', { families: ['IPv6'] }))).reason, 'PoolExhausted');
    assert.equal(
      take(al, 'ns/explicit', { families: ['IPv6'], addresses: ['fd00:1:0:1::'] }),
      'fd00:1:0:1::',
    );
  });

  it('a pool holding only skipped addresses is exhausted for picking', () => {
    const al = allocatorWith(pool('a', ['10.0.0.255-10.0.1.0'], { avoidBuggyIPs: true }));
    assert.equal(failure(al.allocate(req('ns/s'))).reason, 'PoolExhausted');
    assert.equal(al.poolStatus('a')?.availableIPv4, 0);
  });

  it('pool status counts only addresses that could be picked', () => {
    const al = allocatorWith(
      pool('a', ['10.0.0.0/24', 'fd00::/120'], { avoidBuggyIPs: true }),
      pool('b', ['10.0.1.0/24']),
    );
    assert.deepEqual(al.poolStatus('a'), {
      assignedIPv4: 0,
      assignedIPv6: 0,
      availableIPv4: 254,
      availableIPv6: 255,
      conflicts: [],
      conflicting: false,
      disabled: false,
    });
    take(al, 'ns/zero', { addresses: ['10.0.0.0'] });
    take(al, 'ns/one');
    take(al, 'ns/anycast', { families: ['IPv6'], addresses: ['fd00::'] });
    take(al, 'ns/b', { pool: 'b' });
    const a = al.poolStatus('a')!;
    assert.deepEqual([a.assignedIPv4, a.availableIPv4, a.assignedIPv6, a.availableIPv6], [2, 253, 1, 255]);
    const b = al.poolStatus('b')!;
    assert.deepEqual([b.assignedIPv4, b.availableIPv4], [1, 255]);
  });
});

describe('serviceAllocation and priority', () => {
  const pools = (): PoolSpec[] => [
    pool('general', ['10.0.9.0/24']),
    pool('pin-a', ['10.0.1.0/24'], { serviceAllocation: { priority: 2, namespaces: ['team-a'] } }),
    pool('pin-gold', ['10.0.2.0/24'], {
      serviceAllocation: { priority: 1, namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] },
    }),
    pool('pin-web', ['10.0.3.0/24'], {
      serviceAllocation: { serviceSelectors: [{ matchLabels: { app: 'web' } }] },
    }),
    pool('pin-a-web', ['10.0.4.0/24'], {
      serviceAllocation: {
        priority: 3,
        namespaces: ['team-a'],
        serviceSelectors: [{ matchLabels: { app: 'web' } }],
      },
    }),
  ];
  const cases: { name: string; service: ServiceFacts; want: string }[] = [
    { name: 'by namespace name', service: svc('team-a/x'), want: '10.0.1.0' },
    {
      name: 'by namespace label',
      service: svc('team-z/x', { namespaceLabels: { tier: 'gold' } }),
      want: '10.0.2.0',
    },
    {
      name: 'lower priority number first',
      service: svc('team-a/x', { namespaceLabels: { tier: 'gold' } }),
      want: '10.0.2.0',
    },
    {
      name: 'priority 0 after numbered priorities',
      service: svc('team-a/x', { labels: { app: 'web' } }),
      want: '10.0.1.0',
    },
    {
      name: 'priority 0 pinned pool before general pools',
      service: svc('team-q/x', { labels: { app: 'web' } }),
      want: '10.0.3.0',
    },
    {
      name: 'no pinned pool matches: general',
      service: svc('team-q/x', { labels: { app: 'db' } }),
      want: '10.0.9.0',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(take(allocatorWith(...pools()), c.service), c.want);
    });
  }

  it('namespace AND service selector', () => {
    const only = [pool('general', ['10.0.9.0/24']), pools()[4]!];
    assert.equal(take(allocatorWith(...only), svc('team-a/x', { labels: { app: 'web' } })), '10.0.4.0');
    assert.equal(take(allocatorWith(...only), svc('team-a/x')), '10.0.9.0');
    assert.equal(take(allocatorWith(...only), svc('team-b/x', { labels: { app: 'web' } })), '10.0.9.0');
  });

  it('falls through to the next pool when a pinned pool is full', () => {
    const al = allocatorWith(
      pool('general', ['10.0.9.0/24']),
      pool('pin', ['10.0.1.0/31'], { serviceAllocation: {} }),
    );
    assert.deepEqual(
      [take(al, 'ns/a'), take(al, 'ns/b'), take(al, 'ns/c')],
      ['10.0.1.0', '10.0.1.1', '10.0.9.0'],
    );
  });

  it('an empty serviceAllocation serves everyone, before the general pools', () => {
    const al = allocatorWith(
      pool('a-general', ['10.0.9.0/24']),
      pool('z-all', ['10.0.1.0/24'], { serviceAllocation: {} }),
    );
    assert.equal(take(al, 'anyone/x'), '10.0.1.0');
  });

  it('a pinned pool is never a fallback for others', () => {
    const al = allocatorWith(
      pool('pin-a', ['10.0.1.0/24'], { serviceAllocation: { namespaces: ['team-a'] } }),
    );
    assert.deepEqual(failure(al.allocate(req('team-b/x'))), {
      reason: 'NoMatchingPool',
      message:
        'no enabled address pool serves this Service in namespace "team-b"; pools "pin-a" (reserved for other Services)',
    });
    assert.equal(take(al, 'team-a/x'), '10.0.1.0');
  });

  it('a pinned pool with autoAssign false is used only when named or requested', () => {
    const al = allocatorWith(
      pool('general', ['10.0.9.0/24']),
      pool('pin', ['10.0.1.0/24'], { autoAssign: false, serviceAllocation: { namespaces: ['team-a'] } }),
    );
    assert.equal(take(al, 'team-a/x'), '10.0.9.0');
    assert.equal(take(al, 'team-a/y', { pool: 'pin' }), '10.0.1.0');
    assert.equal(take(al, 'team-a/z', { addresses: ['10.0.1.5'] }), '10.0.1.5');
    assert.equal(failure(al.allocate(req('team-b/x', { pool: 'pin' }))).reason, 'PoolNotAllowed');
  });

  it('equal priorities go by name', () => {
    const al = allocatorWith(
      pool('pin-b', ['10.0.2.0/24'], { serviceAllocation: { priority: 1 } }),
      pool('pin-a', ['10.0.1.0/24'], { serviceAllocation: { priority: 1 } }),
    );
    assert.equal(take(al, 'ns/x'), '10.0.1.0');
  });

  it('an invalid selector makes the pool serve nobody', () => {
    const parsed = parsePool(
      { name: 'broken', creationTimestamp: T0 },
      {
        addresses: ['10.0.1.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchLabel: { app: 'web' } }] },
      },
    );
    assert.equal(parsed.problems.length, 2);
    const al = allocatorWith(parsed.pool, pool('general', ['10.0.9.0/24']));
    assert.equal(take(al, svc('ns/x', { labels: { app: 'web' } })), '10.0.9.0');
    assert.deepEqual(failure(al.allocate(req('ns/y', { pool: 'broken' }))), {
      reason: 'PoolNotAllowed',
      message:
        'address pool "broken" does not serve this Service: its serviceAllocation is invalid (spec.serviceAllocation) for other Services',
    });
  });
});

describe('disabled pools (drain)', () => {
  it('keep what they gave, with a notice, and give nothing new', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']), pool('b', ['10.0.1.0/24']));
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    assert.equal(take(al, 'ns/named', { pool: 'a' }), '10.0.0.1');
    al.setPools([pool('a', ['10.0.0.0/24'], { disabled: true }), pool('b', ['10.0.1.0/24'])]);
    const kept = al.allocate(req('ns/s'));
    assert.deepEqual(addressesOf(kept), ['10.0.0.0']);
    assert.deepEqual(noticesOf(kept), [
      {
        reason: 'PoolDisabled',
        message:
          'address pool "a" is disabled (draining); 10.0.0.0 is kept, but the pool hands out nothing new',
      },
    ]);
    assert.equal(
      take(al, 'ns/named', { pool: 'a' }),
      '10.0.0.1',
      'naming the disabled pool keeps what it gave',
    );
    assert.equal(take(al, 'ns/new'), '10.0.1.0');
    assert.equal(failure(al.allocate(req('ns/new2', { pool: 'a' }))).reason, 'PoolDisabled');
    assert.equal(failure(al.allocate(req('ns/new3', { addresses: ['10.0.0.7'] }))).reason, 'PoolDisabled');
    assert.equal(al.poolStatus('a')?.disabled, true);
  });

  it('all pools disabled: NoMatchingPool', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24'], { disabled: true }));
    assert.deepEqual(failure(al.allocate(req('ns/s'))), {
      reason: 'NoMatchingPool',
      message: 'no enabled address pool serves this Service in namespace "ns"; pools "a" (disabled)',
    });
  });
});

describe('pool conflicts', () => {
  it('the older pool keeps the addresses; the newer hands out nothing new at all', () => {
    const al = allocatorWith(
      pool('zeta', ['10.0.0.0/31'], {}, T0),
      pool('alpha', ['10.0.0.0/29', '10.0.9.0/30'], {}, T1),
    );
    assert.deepEqual([take(al, 'ns/a'), take(al, 'ns/b')], ['10.0.0.0', '10.0.0.1']);
    assert.deepEqual(failure(al.allocate(req('ns/c'))), {
      reason: 'PoolExhausted',
      message: 'no free IPv4 address left in address pool "zeta"',
    });
    assert.equal(failure(al.allocate(req('ns/c', { pool: 'alpha' }))).reason, 'PoolConflicting');
    assert.equal(failure(al.allocate(req('ns/c', { addresses: ['10.0.9.1'] }))).reason, 'PoolConflicting');
    const alpha = al.poolStatus('alpha')!;
    const zeta = al.poolStatus('zeta')!;
    assert.equal(alpha.conflicting, true);
    assert.equal(zeta.conflicting, false);
    assert.deepEqual(alpha.conflicts, [
      'overlaps the older pool "zeta" (10.0.0.0-10.0.0.1 and 10.0.0.0-10.0.0.7); this pool hands out no new addresses until the overlap is removed',
    ]);
    assert.deepEqual(zeta.conflicts, [
      'the newer pool "alpha" overlaps it (10.0.0.0-10.0.0.1 and 10.0.0.0-10.0.0.7); "alpha" hands out nothing',
    ]);
    assert.deepEqual(al.poolsContaining('IPv4', value('10.0.0.1').value), ['alpha', 'zeta']);
    assert.equal(al.assigned('ns/a')[0]?.pool, 'zeta');
  });

  it('addresses given by a pool that becomes conflicting are kept', () => {
    const al = allocatorWith(pool('alpha', ['10.0.0.0/29'], {}, T1));
    assert.equal(take(al, 'ns/a', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    al.setPools([pool('alpha', ['10.0.0.0/29'], {}, T1), pool('zeta', ['10.0.0.0/30'], {}, T0)]);
    const kept = al.allocate(req('ns/a'));
    assert.deepEqual(addressesOf(kept), ['10.0.0.5']);
    assert.deepEqual(noticesOf(kept), [
      {
        reason: 'PoolConflicting',
        message:
          'address pool "alpha" overlaps an older pool; 10.0.0.5 is kept, but the pool hands out nothing new',
      },
    ]);
  });
});

describe('restart: restore', () => {
  it('pending Services never steal restored addresses', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    restored(al, 'ns/x', ['10.0.0.0']);
    restored(al, 'ns/y', ['10.0.0.2']);
    assert.equal(take(al, 'ns/z'), '10.0.0.1');
    assert.equal(take(al, 'ns/w'), '10.0.0.3');
    assert.deepEqual(failure(al.allocate(req('ns/w', { addresses: ['10.0.0.2'] }))), {
      reason: 'AddressInUse',
      message: '10.0.0.2 is already assigned to Service y',
    });
    assert.equal(take(al, 'ns/x'), '10.0.0.0');
    // Restoring the same state again changes nothing.
    restored(al, 'ns/x', ['10.0.0.0']);
    assert.deepEqual(held(al, 'ns/x'), ['10.0.0.0']);
  });

  it('restores shared addresses when the facts allow it', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    restored(al, sharer('ns/a', 'k', ['TCP/80']), ['10.0.0.3']);
    restored(al, sharer('ns/b', 'k', ['TCP/443']), ['10.0.0.3']);
    assert.deepEqual(holders(al, '10.0.0.3'), ['ns/a', 'ns/b']);
  });

  it('a conflict: the first keeps it, the second holds nothing of that family and is told', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29', 'fd00::/64']));
    restored(al, sharer('ns/a', 'k', ['TCP/80']), ['10.0.0.3']);
    const second = al.restore(sharer('ns/b', 'k', ['TCP/80']), ['10.0.0.3', 'fd00::5']);
    assert.deepEqual(second, {
      ok: false,
      reason: 'AddressInUse',
      message: 'port TCP/80 is already used on 10.0.0.3 by Service a',
      addresses: [{ family: 'IPv6', value: value('fd00::5').value, address: 'fd00::5', pool: 'a' }],
    });
    assert.deepEqual(holders(al, '10.0.0.3'), ['ns/a']);
    // Its next allocate gives it a new IPv4 address and keeps its IPv6 one.
    const next = al.allocate(
      req(sharer('ns/b', 'k', ['TCP/80']), { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }),
    );
    assert.deepEqual(addressesOf(next), ['10.0.0.0', 'fd00::5']);
  });

  it('records addresses outside every pool; they keep blocking others', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29', 'fd00::/120']));
    restored(al, 'ns/x', ['192.0.2.9', 'fd00::9']);
    assert.deepEqual(
      al.assigned('ns/x').map((a) => [a.address, a.pool]),
      [
        ['192.0.2.9', undefined],
        ['fd00::9', 'a'],
      ],
    );
    assert.deepEqual(al.assignmentsOutsidePools(), ['ns/x']);
    assert.equal(
      failure(al.allocate(req('ns/y', { addresses: ['192.0.2.9'] }))).reason,
      'AddressOutsidePools',
    );
    al.setPools([pool('a', ['10.0.0.0/29', 'fd00::/120']), pool('late', ['192.0.2.0/24'])]);
    assert.deepEqual(al.assignmentsOutsidePools(), []);
    assert.equal(al.assigned('ns/x')[0]?.pool, 'late');
    assert.deepEqual(failure(al.allocate(req('ns/y', { addresses: ['192.0.2.9'] }))), {
      reason: 'AddressInUse',
      message: '192.0.2.9 is already assigned to Service x',
    });
    assert.equal(take(al, 'ns/y', { pool: 'late' }), '192.0.2.0');
  });

  it('reports bad input and extra addresses of a family, keeping the rest', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    const result = al.restore(svc('ns/y'), ['10.0.0.5', 'bogus', '10.0.0.6']);
    assert.deepEqual(result, {
      ok: false,
      reason: 'InvalidAddress',
      message:
        '"bogus" is not a valid IP address; 10.0.0.6 is not kept: the Service already holds 10.0.0.5 (one address per family)',
      addresses: [{ family: 'IPv4', value: value('10.0.0.5').value, address: '10.0.0.5', pool: 'a' }],
    });
    assert.deepEqual(holders(al, '10.0.0.6'), []);
  });

  it('a restore that records nothing leaves no trace', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    restored(al, 'ns/x', ['10.0.0.1']);
    assert.equal(al.restore(svc('ns/y'), ['10.0.0.1']).ok, false);
    assert.deepEqual(al.assigned('ns/y'), []);
    assert.deepEqual(al.release('ns/y'), []);
  });
});

describe('stability when pools change', () => {
  it('pool shrink or delete keeps the address, with a notice; nobody else gets it', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']), pool('b', ['10.0.1.0/29']));
    assert.equal(take(al, 'ns/auto'), '10.0.0.0');
    assert.equal(take(al, 'ns/exact', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    al.setPools([pool('a', ['10.0.0.4/30']), pool('b', ['10.0.1.0/29'])]);
    const kept = al.allocate(req('ns/auto'));
    assert.deepEqual(addressesOf(kept), ['10.0.0.0']);
    assert.deepEqual(noticesOf(kept), [
      {
        reason: 'AddressOutsidePools',
        message:
          '10.0.0.0 is no longer in any address pool; it is kept. Request another address or delete the Service to give it up',
      },
    ]);
    assert.equal(kept.ok && kept.addresses[0]?.pool, undefined);
    assert.equal(take(al, 'ns/exact', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    al.setPools([pool('b', ['10.0.1.0/29'])]);
    assert.deepEqual(al.assignmentsOutsidePools(), ['ns/auto', 'ns/exact']);
    assert.equal(take(al, 'ns/auto'), '10.0.0.0');
    assert.equal(take(al, 'ns/exact', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    // The pool comes back under a new name: the addresses are in it again and stay taken.
    al.setPools([pool('b', ['10.0.1.0/29']), pool('c', ['10.0.0.0/29'])]);
    assert.deepEqual(al.assignmentsOutsidePools(), []);
    assert.equal(al.assigned('ns/auto')[0]?.pool, 'c');
    assert.equal(take(al, 'ns/new', { pool: 'c' }), '10.0.0.1');
  });

  const KEPT = 'it is kept. Request another address or delete the Service to give it up';

  it('a named pool that shrinks keeps the address, with a notice; the request did not change', () => {
    const al = allocatorWith(pool('p', ['10.0.0.1-10.0.0.10']));
    assert.equal(take(al, 'ns/first', { pool: 'p' }), '10.0.0.1');
    assert.equal(take(al, 'ns/named', { pool: 'p' }), '10.0.0.2');
    al.setPools([pool('p', ['10.0.0.3-10.0.0.10'])]);
    for (let i = 0; i < 2; i++) {
      const kept = al.allocate(req('ns/named', { pool: 'p' }));
      assert.deepEqual(addressesOf(kept), ['10.0.0.2']);
      assert.deepEqual(noticesOf(kept), [
        { reason: 'AddressOutsidePools', message: `10.0.0.2 is no longer in any address pool; ${KEPT}` },
      ]);
    }
    assert.equal(take(al, 'ns/new', { pool: 'p' }), '10.0.0.3');
    // Another pool now holding the address: still kept, and the notice says it is outside the named pool.
    al.setPools([pool('p', ['10.0.0.3-10.0.0.10']), pool('q', ['10.0.0.0-10.0.0.2'])]);
    const inOther = al.allocate(req('ns/named', { pool: 'p' }));
    assert.deepEqual(addressesOf(inOther), ['10.0.0.2']);
    assert.deepEqual(noticesOf(inOther), [
      {
        reason: 'AddressOutsidePools',
        message: `10.0.0.2 is not in address pool "p" that the Service names (which no longer contains it); ${KEPT}`,
      },
    ]);
    assert.equal(take(al, 'ns/other', { pool: 'q' }), '10.0.0.0', 'nobody else gets the kept address');
    // 10.0.0.1 is held by ns/first, 10.0.0.2 kept by ns/named.
    assert.equal(failure(al.allocate(req('ns/other2', { pool: 'q' }))).reason, 'PoolExhausted');
  });

  it('a named pool that shrinks with reallocateRemovedAddresses moves the address within that pool', () => {
    const flag = { reallocateRemovedAddresses: true };
    const al = allocatorWith(pool('p', ['10.0.0.1-10.0.0.10'], flag), pool('q', ['10.0.0.0/29']));
    assert.equal(take(al, 'ns/first', { pool: 'p' }), '10.0.0.1');
    assert.equal(take(al, 'ns/named', { pool: 'p' }), '10.0.0.2');
    al.setPools([pool('p', ['10.0.0.3-10.0.0.10'], flag), pool('q', ['10.0.0.0/29'])]);
    const moved = al.allocate(req('ns/named', { pool: 'p' }));
    assert.deepEqual(addressesOf(moved), ['10.0.0.3']);
    assert.equal(moved.ok && moved.addresses[0]?.pool, 'p');
    assert.deepEqual(noticesOf(moved), [
      {
        reason: 'AddressReallocated',
        message:
          '10.0.0.2 was removed from address pool "p", which has reallocateRemovedAddresses: true; a new address replaces it',
      },
    ]);
    assert.deepEqual(holders(al, '10.0.0.2'), []);
    // Setting the flag only after the shrink moves it too, even though another pool holds the address.
    assert.equal(take(al, 'ns/late', { pool: 'p' }), '10.0.0.4');
    al.setPools([pool('p', ['10.0.0.5-10.0.0.10']), pool('q', ['10.0.0.0/29'])]);
    assert.equal(take(al, 'ns/late', { pool: 'p' }), '10.0.0.4');
    al.setPools([pool('p', ['10.0.0.5-10.0.0.10'], flag), pool('q', ['10.0.0.0/29'])]);
    assert.equal(take(al, 'ns/late', { pool: 'p' }), '10.0.0.5');
  });

  it('a named pool that is deleted keeps the address with a notice, and no failure', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']), pool('b', ['10.0.1.0/29']));
    assert.equal(take(al, 'ns/named', { pool: 'a' }), '10.0.0.0');
    al.setPools([pool('b', ['10.0.1.0/29'])]);
    const kept = al.allocate(req('ns/named', { pool: 'a' }));
    assert.deepEqual(addressesOf(kept), ['10.0.0.0']);
    assert.deepEqual(noticesOf(kept), [
      { reason: 'AddressOutsidePools', message: `10.0.0.0 is no longer in any address pool; ${KEPT}` },
    ]);
    assert.deepEqual(held(al, 'ns/named'), ['10.0.0.0']);
    // A Service that holds nothing and names the missing pool still fails.
    assert.deepEqual(failure(al.allocate(req('ns/fresh', { pool: 'a' }))), {
      reason: 'PoolNotFound',
      message: 'address pool "a" does not exist',
    });
    // The same addresses under another pool: still kept, the notice names the missing pool.
    al.setPools([pool('b', ['10.0.1.0/29']), pool('c', ['10.0.0.0/29'])]);
    const inOther = al.allocate(req('ns/named', { pool: 'a' }));
    assert.deepEqual(addressesOf(inOther), ['10.0.0.0']);
    assert.deepEqual(noticesOf(inOther), [
      {
        reason: 'AddressOutsidePools',
        message: `10.0.0.0 is not in address pool "a" that the Service names (which does not exist); ${KEPT}`,
      },
    ]);
    // Dual-stack: the held family is kept and the other one is only a notice.
    const dual = al.allocate(
      req('ns/named', { pool: 'a', families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' }),
    );
    assert.deepEqual(addressesOf(dual), ['10.0.0.0']);
    assert.deepEqual(
      noticesOf(dual).map((n) => n.reason),
      ['AddressOutsidePools', 'FamilyUnavailable'],
    );
  });

  it('naming another pool moves the address; naming a missing one fails and keeps it', () => {
    const al = allocatorWith(pool('p', ['10.0.0.0/29']), pool('q', ['10.0.1.0/29']));
    assert.equal(take(al, 'ns/s', { pool: 'p' }), '10.0.0.0');
    assert.deepEqual(failure(al.allocate(req('ns/s', { pool: 'gone' }))), {
      reason: 'PoolNotFound',
      message: 'address pool "gone" does not exist',
    });
    assert.deepEqual(held(al, 'ns/s'), ['10.0.0.0']);
    const moved = al.allocate(req('ns/s', { pool: 'q' }));
    assert.deepEqual(addressesOf(moved), ['10.0.1.0']);
    assert.deepEqual(noticesOf(moved), []);
    assert.deepEqual(holders(al, '10.0.0.0'), []);
    // Shrinking q, then naming p again: a change, so the address moves back into p.
    al.setPools([pool('p', ['10.0.0.0/29']), pool('q', ['10.0.1.4/30'])]);
    assert.equal(take(al, 'ns/s', { pool: 'q' }), '10.0.1.0');
    assert.equal(take(al, 'ns/s', { pool: 'p' }), '10.0.0.0');
    // Dropping the annotation keeps the address; naming a pool that does not contain it afterwards moves it.
    al.setPools([pool('p', ['10.0.0.4/30']), pool('q', ['10.0.1.4/30'])]);
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    assert.equal(take(al, 'ns/s', { pool: 'p' }), '10.0.0.4');
  });

  it('a requested address in a named pool that shrinks is kept with a notice', () => {
    const al = allocatorWith(pool('p', ['10.0.0.0/29']));
    const request = { pool: 'p', addresses: ['10.0.0.2'] };
    assert.equal(take(al, 'ns/s', request), '10.0.0.2');
    al.setPools([pool('p', ['10.0.0.4/30'])]);
    const kept = al.allocate(req('ns/s', request));
    assert.deepEqual(addressesOf(kept), ['10.0.0.2']);
    assert.deepEqual(noticesOf(kept), [
      { reason: 'AddressOutsidePools', message: `10.0.0.2 is no longer in any address pool; ${KEPT}` },
    ]);
  });

  it('restored addresses and a named pool: kept while the pool is theirs or gone, moved when another is named', () => {
    const al = allocatorWith(pool('p', ['10.0.0.0/29']), pool('q', ['10.0.1.0/29']));
    restored(al, 'ns/in-p', ['10.0.0.2']);
    restored(al, 'ns/other', ['10.0.0.5']);
    restored(al, 'ns/outside', ['192.0.2.1']);
    restored(al, 'ns/orphan', ['10.0.1.5']);
    // The pool that contained the address when restored shrinks before the first allocate.
    al.setPools([pool('p', ['10.0.0.4/30']), pool('q', ['10.0.1.0/29'])]);
    const kept = al.allocate(req('ns/in-p', { pool: 'p' }));
    assert.deepEqual(addressesOf(kept), ['10.0.0.2']);
    assert.deepEqual(noticesOf(kept), [
      { reason: 'AddressOutsidePools', message: `10.0.0.2 is no longer in any address pool; ${KEPT}` },
    ]);
    // In no pool and the request names one: kept, with a notice.
    const outside = al.allocate(req('ns/outside', { pool: 'q' }));
    assert.deepEqual(addressesOf(outside), ['192.0.2.1']);
    assert.equal(noticesOf(outside)[0]?.reason, 'AddressOutsidePools');
    // Named pool gone: nothing could replace it, so it is kept rather than failing with PoolNotFound.
    const orphan = al.allocate(req('ns/orphan', { pool: 'missing' }));
    assert.deepEqual(addressesOf(orphan), ['10.0.1.5']);
    assert.equal(noticesOf(orphan)[0]?.reason, 'AddressOutsidePools');
    // Restored in one pool, another existing pool named: that is a request for it.
    assert.equal(take(al, 'ns/other', { pool: 'q' }), '10.0.1.0');
    assert.deepEqual(holders(al, '10.0.0.5'), []);
    // Once kept under a named pool the request is known: naming another one afterwards moves the address.
    assert.equal(take(al, 'ns/outside', { pool: 'p' }), '10.0.0.4');
  });

  it('reallocateRemovedAddresses: a removed address is replaced and freed', () => {
    const al = allocatorWith(
      pool('a', ['10.0.0.0/29'], { reallocateRemovedAddresses: true }),
      pool('b', ['10.0.1.0/29']),
    );
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    assert.equal(take(al, 'ns/t'), '10.0.0.1');
    al.setPools([
      pool('a', ['10.0.0.1-10.0.0.7'], { reallocateRemovedAddresses: true }),
      pool('b', ['10.0.1.0/29']),
    ]);
    const moved = al.allocate(req('ns/s'));
    assert.deepEqual(addressesOf(moved), ['10.0.0.2']);
    assert.deepEqual(noticesOf(moved), [
      {
        reason: 'AddressReallocated',
        message:
          '10.0.0.0 was removed from address pool "a", which has reallocateRemovedAddresses: true; a new address replaces it',
      },
    ]);
    assert.deepEqual(holders(al, '10.0.0.0'), []);
    assert.equal(take(al, 'ns/t'), '10.0.0.1', 'an address still in the pool stays');
  });

  it('reallocateRemovedAddresses does not apply when the pool is deleted', () => {
    const al = allocatorWith(
      pool('a', ['10.0.0.0/29'], { reallocateRemovedAddresses: true }),
      pool('b', ['10.0.1.0/29']),
    );
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    al.setPools([pool('b', ['10.0.1.0/29'])]);
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
  });

  it('setting reallocateRemovedAddresses later moves addresses already outside the pool', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    al.setPools([pool('a', ['10.0.0.4/30'])]);
    assert.equal(take(al, 'ns/s'), '10.0.0.0');
    al.setPools([pool('a', ['10.0.0.4/30'], { reallocateRemovedAddresses: true })]);
    assert.equal(take(al, 'ns/s'), '10.0.0.4');
  });

  it('a removed address that is explicitly requested stays if another pool has it, else the request fails', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29'], { reallocateRemovedAddresses: true }));
    assert.equal(take(al, 'ns/s', { addresses: ['10.0.0.3'] }), '10.0.0.3');
    al.setPools([pool('a', ['10.0.0.4/30'], { reallocateRemovedAddresses: true })]);
    assert.deepEqual(failure(al.allocate(req('ns/s', { addresses: ['10.0.0.3'] }))), {
      reason: 'AddressOutsidePools',
      message: '10.0.0.3 is not in any address pool',
    });
    assert.deepEqual(held(al, 'ns/s'), ['10.0.0.3']);
    al.setPools([
      pool('a', ['10.0.0.4/30'], { reallocateRemovedAddresses: true }),
      pool('other', ['10.0.0.0/30']),
    ]);
    const result = al.allocate(req('ns/s', { addresses: ['10.0.0.3'] }));
    assert.deepEqual(addressesOf(result), ['10.0.0.3']);
    assert.equal(result.ok && result.addresses[0]?.pool, 'other');
  });

  it('widening, reordering, a new earlier or higher-priority pool, and selector changes move nothing', () => {
    const al = allocatorWith(
      pool('m', ['10.0.5.0/30']),
      pool('pin', ['10.0.6.0/30'], { serviceAllocation: { priority: 5, namespaces: ['team-a'] } }),
    );
    assert.equal(take(al, 'team-a/s'), '10.0.6.0');
    assert.equal(take(al, 'team-b/s'), '10.0.5.0');
    const changes: PoolSpec[][] = [
      [
        pool('m', ['10.0.4.0/22']),
        pool('pin', ['10.0.6.0/24'], { serviceAllocation: { priority: 5, namespaces: ['team-a'] } }),
      ],
      [
        pool('pin', ['10.0.6.0/24'], { serviceAllocation: { priority: 5, namespaces: ['team-a'] } }),
        pool('m', ['10.0.4.0/22']),
      ],
      [
        pool('a-first', ['10.0.0.0/24']),
        pool('top', ['10.0.7.0/24'], { serviceAllocation: { priority: 1 } }),
        pool('m', ['10.0.4.0/22']),
        pool('pin', ['10.0.6.0/24'], { serviceAllocation: { priority: 5, namespaces: ['team-z'] } }),
      ],
    ];
    for (const pools of changes) {
      al.setPools(pools);
      assert.equal(take(al, 'team-a/s'), '10.0.6.0');
      assert.equal(take(al, 'team-b/s'), '10.0.5.0');
      assert.equal(take(al, svc('team-a/s', { labels: { changed: 'yes' } })), '10.0.6.0');
    }
  });

  it('deleting another Service moves nothing', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/29']));
    for (const name of ['a', 'b', 'c']) take(al, `ns/${name}`);
    al.release('ns/a');
    assert.equal(take(al, 'ns/b'), '10.0.0.1');
    assert.equal(take(al, 'ns/c'), '10.0.0.2');
  });
});

describe('message sizes stay bounded (status conditions are capped at 32768 characters)', () => {
  const LIMIT = 4096;
  /** A DNS-subdomain name of the greatest length Kubernetes allows (253). */
  const longName = (i: number): string => `pool-${String(i).padStart(4, '0')}-${'x'.repeat(243)}`;

  it('pool status: 1024 ranges inside an older /16, and an older pool overlapped by hundreds', () => {
    const small = Array.from({ length: 1024 }, (_, i) => `10.0.${i >> 6}.${(i & 63) * 4}/30`);
    const al = allocatorWith(pool('big', ['10.0.0.0/16'], {}, T0), pool('small', small, {}, T1));
    for (const name of ['big', 'small']) {
      const conflicts = al.poolStatus(name)?.conflicts ?? [];
      assert.equal(conflicts.length, 1);
      assert.ok(conflicts.join('; ').length <= LIMIT, `${name}: ${conflicts.join('; ').length}`);
      assert.match(conflicts[0]!, /and 1019 more overlaps/);
    }
    al.setPools([
      pool('big', ['10.0.0.0/8'], {}, T0),
      ...Array.from({ length: 300 }, (_, i) => pool(longName(i), [`10.${i >> 8}.${i & 255}.0/24`], {}, T1)),
    ]);
    const conflicts = al.poolStatus('big')?.conflicts ?? [];
    assert.ok(conflicts.join('; ').length <= LIMIT, `${conflicts.join('; ').length}`);
    assert.match(conflicts[conflicts.length - 1]!, /^and \d+ more overlapping pools$/);
  });

  it('NoMatchingPool, PoolExhausted and FamilyUnavailable name five pools and count the rest', () => {
    const names = Array.from({ length: 200 }, (_, i) => longName(i));
    const none = allocatorWith(...names.map((n, i) => pool(n, [`10.${i}.0.0/24`], { autoAssign: false })));
    const noMatch = failure(none.allocate(req('ns/s')));
    assert.equal(noMatch.reason, 'NoMatchingPool');
    assert.ok(noMatch.message.length <= LIMIT, `${noMatch.message.length}`);
    assert.ok(
      noMatch.message.endsWith(`"${names[4]}" (autoAssign: false; name it to use it) and 195 more pools`),
    );

    const full = allocatorWith(...names.map((n, i) => pool(n, [`10.${i}.0.0/32`])));
    for (let i = 0; i < 200; i++) take(full, `ns/s${i}`);
    const exhausted = failure(full.allocate(req('ns/late')));
    assert.equal(exhausted.reason, 'PoolExhausted');
    assert.equal(
      exhausted.message,
      `no free IPv4 address left in address pools ${names
        .slice(0, 5)
        .map((n) => `"${n}"`)
        .join(', ')} and 195 more pools`,
    );

    const v6 = allocatorWith(
      pool('v4', ['10.0.0.0/24']),
      ...names.map((n, i) => pool(n, [`fd00:${i}::/64`], { autoAssign: false })),
    );
    const dual = v6.allocate(req('ns/s', { families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' }));
    assert.deepEqual(addressesOf(dual), ['10.0.0.0']);
    const [notice] = noticesOf(dual);
    assert.equal(notice?.reason, 'FamilyUnavailable');
    assert.ok(notice!.message.length <= LIMIT, `${notice!.message.length}`);
    assert.match(notice!.message, / and 195 more pools; the Service gets IPv4 only until one is available$/);
  });

  it('restore and allocate with huge or many bad addresses', () => {
    const al = allocatorWith(pool('a', ['10.0.0.0/24']));
    const bad = al.restore(
      svc('ns/s'),
      Array.from({ length: 1000 }, (_, i) => `bogus-address-${i}`),
    );
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.message.length <= LIMIT, `${!bad.ok && bad.message.length}`);
    assert.match(!bad.ok ? bad.message : '', /; and \d+ more problems$/);
    const huge = failure(al.allocate(req('ns/s', { addresses: ['9'.repeat(100_000)] })));
    assert.equal(huge.reason, 'InvalidAddress');
    assert.ok(huge.message.length <= LIMIT, `${huge.message.length}`);
    assert.ok(huge.message.endsWith('…'));
  });
});

describe('scale', () => {
  it('finds the lowest free address in an IPv6 /48 without enumerating it; counts are capped', () => {
    const al = allocatorWith(pool('v6', ['fd00:1::/48']));
    restored(al, 'ns/r', ['fd00:1::1']);
    restored(al, 'ns/q', ['fd00:1::2']);
    restored(al, 'ns/p', ['fd00:1::ffff:ffff:ffff:ffff']);
    const start = performance.now();
    assert.equal(take(al, 'ns/a', { families: ['IPv6'] }), 'fd00:1::3');
    al.release('ns/r');
    assert.equal(take(al, 'ns/b', { families: ['IPv6'] }), 'fd00:1::1');
    const status = al.poolStatus('v6')!;
    console.log(`  /48: two picks and a status in ${(performance.now() - start).toFixed(2)} ms`);
    assert.equal(status.assignedIPv6, 4);
    assert.equal(status.availableIPv6, Number.MAX_SAFE_INTEGER);
  });

  it('skips a full run of taken addresses in a huge range at once', () => {
    // The whole IPv6 space but one /64's first addresses: the search jumps over the run, skips fd00:: itself.
    const al = allocatorWith(pool('all', ['::/0']));
    const top = (1n << 128n) - 1n;
    restored(al, 'ns/top', [formatAddress('IPv6', top)]);
    restored(al, 'ns/one', ['::1']);
    assert.equal(take(al, 'ns/a', { families: ['IPv6'] }), '::2');
    const small = allocatorWith(pool('p', ['fd00::1/127', 'fd00::8/127']));
    restored(small, 'ns/r', ['fd00::1']);
    restored(small, 'ns/q', ['fd00::8']);
    assert.equal(take(small, 'ns/a', { families: ['IPv6'] }), 'fd00::9');
  });

  it('stays correct with tens of thousands of Services (prints the time)', () => {
    const al = allocatorWith(pool('big', ['10.0.0.0/8'], { avoidBuggyIPs: true }), pool('v6', ['fd00::/64']));
    const start = performance.now();
    const n = 20_000;
    const both: RequestExtra = { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' };
    for (let i = 0; i < n; i++) addressesOf(al.allocate(req(`ns/s${i}`, both)));
    const middle = performance.now();
    for (let i = 0; i < n; i += 2) al.release(`ns/s${i}`);
    assert.deepEqual(addressesOf(al.allocate(req('ns/again', both))), ['10.0.0.1', 'fd00::1']);
    assert.deepEqual(addressesOf(al.allocate(req('ns/again2', both))), ['10.0.0.3', 'fd00::3']);
    console.log(
      `  ${n} dual-stack allocations in ${(middle - start).toFixed(0)} ms, ${n / 2} releases and 2 more in ${(performance.now() - middle).toFixed(0)} ms`,
    );
    const status = al.poolStatus('big')!;
    assert.equal(status.assignedIPv4, n / 2 + 2);
    // 2^24 addresses, minus the 2 per /24 skipped, minus the assigned ones (none of which is .0 or .255).
    assert.equal(status.availableIPv4, 2 ** 24 - 2 * 2 ** 16 - (n / 2 + 2));
    for (const a of al.assigned('ns/s19999')) {
      if (a.family === 'IPv4') assert.ok(!a.address.endsWith('.0') && !a.address.endsWith('.255'), a.address);
    }
  });
});
