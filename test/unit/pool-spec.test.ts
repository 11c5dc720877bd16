import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress } from '../../src/providers/pool/address-range.ts';
import {
  allocationAdmits,
  compareAge,
  findConflicts,
  findPoolOverlaps,
  type PoolSpec,
  parsePool,
  type ServiceIdentity,
} from '../../src/providers/pool/pool-spec.ts';

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-06-01T00:00:00Z';

function pool(name: string, addresses: string[], creationTimestamp?: string): PoolSpec {
  const parsed = parsePool({ name, ...(creationTimestamp ? { creationTimestamp } : {}) }, { addresses });
  assert.deepEqual(parsed.problems, []);
  return parsed.pool;
}

describe('parsePool: addresses and booleans', () => {
  const cases: {
    name: string;
    spec: unknown;
    ranges: string[];
    flags?: Partial<
      Pick<PoolSpec, 'autoAssign' | 'avoidBuggyIPs' | 'disabled' | 'reallocateRemovedAddresses'>
    >;
    problems: string[];
  }[] = [
    {
      name: 'valid entries of every kind, defaults for every flag',
      spec: { addresses: ['10.0.0.0/30', '10.0.1.5 - 10.0.1.6', '10.0.2.7', 'fd00::/127'] },
      ranges: [
        'IPv4 10.0.0.0-10.0.0.3',
        'IPv4 10.0.1.5-10.0.1.6',
        'IPv4 10.0.2.7-10.0.2.7',
        'IPv6 fd00::-fd00::1',
      ],
      flags: { autoAssign: true, avoidBuggyIPs: false, disabled: false, reallocateRemovedAddresses: false },
      problems: [],
    },
    {
      name: 'every flag set',
      spec: {
        addresses: ['10.0.0.1'],
        autoAssign: false,
        avoidBuggyIPs: true,
        disabled: true,
        reallocateRemovedAddresses: true,
      },
      ranges: ['IPv4 10.0.0.1-10.0.0.1'],
      flags: { autoAssign: false, avoidBuggyIPs: true, disabled: true, reallocateRemovedAddresses: true },
      problems: [],
    },
    {
      name: 'invalid entries are reported and left out',
      spec: {
        addresses: ['10.0.0.0/33', '10.0.0.9', '192.168.1.20-192.168.1.10', 7, '10.0.0.1-fd00::1'],
        autoAssign: false,
      },
      ranges: ['IPv4 10.0.0.9-10.0.0.9'],
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
      problems: ['"nope" is not a valid IP address, range (A-B) or CIDR (A/N)'],
    },
    {
      name: 'missing addresses',
      spec: {},
      ranges: [],
      problems: ['spec.addresses is missing: the pool has no addresses'],
    },
    {
      name: 'null addresses and null flags take the defaults',
      spec: { addresses: null, autoAssign: null, disabled: null },
      ranges: [],
      flags: { autoAssign: true, disabled: false },
      problems: ['spec.addresses is missing: the pool has no addresses'],
    },
    {
      name: 'addresses not a list',
      spec: { addresses: '10.0.0.0/24' },
      ranges: [],
      problems: ['spec.addresses must be a list of strings, got "10.0.0.0/24"'],
    },
    {
      name: 'non-string entries',
      spec: { addresses: [null, { cidr: '10.0.0.0/24' }, ['10.0.0.1']] },
      ranges: [],
      problems: [
        'spec.addresses[0] must be a string, got null',
        'spec.addresses[1] must be a string, got an object',
        'spec.addresses[2] must be a string, got a list',
      ],
    },
    {
      name: 'flags that are not booleans take the cautious value',
      spec: {
        addresses: ['10.0.0.1'],
        autoAssign: 'true',
        avoidBuggyIPs: 1,
        disabled: 'no',
        reallocateRemovedAddresses: 'yes',
      },
      ranges: ['IPv4 10.0.0.1-10.0.0.1'],
      flags: { autoAssign: false, avoidBuggyIPs: true, disabled: true, reallocateRemovedAddresses: false },
      problems: [
        'spec.autoAssign must be true or false, got "true"; the pool is used only when requested',
        'spec.avoidBuggyIPs must be true or false, got 1; addresses ending in .0 and .255 are avoided',
        'spec.disabled must be true or false, got "no"; the pool hands out no new addresses',
        'spec.reallocateRemovedAddresses must be true or false, got "yes"; removed addresses are kept by their Services',
      ],
    },
    {
      name: 'spec that is not an object',
      spec: ['10.0.0.1'],
      ranges: [],
      problems: [
        'spec must be an object, got a list',
        'spec.addresses is missing: the pool has no addresses',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { pool: p, problems } = parsePool(
        { name: 'p', creationTimestamp: '2024-05-01T10:00:00Z' },
        c.spec,
      );
      assert.equal(p.name, 'p');
      assert.equal(p.creationTimestamp, '2024-05-01T10:00:00Z');
      assert.deepEqual(
        p.ranges.map(
          (r) => `${r.family} ${formatAddress(r.family, r.first)}-${formatAddress(r.family, r.last)}`,
        ),
        c.ranges,
      );
      for (const [flag, want] of Object.entries(c.flags ?? {})) {
        assert.equal(p[flag as keyof typeof c.flags], want, flag);
      }
      assert.equal(p.serviceAllocation, undefined);
      assert.deepEqual(problems, c.problems);
    });
  }
});

describe('parsePool: serviceAllocation', () => {
  const parse = (serviceAllocation: unknown) =>
    parsePool({ name: 'p' }, { addresses: ['10.0.0.1'], serviceAllocation });

  it('reads every field', () => {
    const { pool: p, problems } = parse({
      priority: 5,
      namespaces: ['team-a', 'team-b'],
      namespaceSelectors: [{ matchLabels: { tier: 'gold' } }],
      serviceSelectors: [{ matchExpressions: [{ key: 'exposure', operator: 'In', values: ['public'] }] }],
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(p.serviceAllocation, {
      priority: 5,
      namespaces: ['team-a', 'team-b'],
      namespaceSelectors: [{ matchLabels: { tier: 'gold' } }],
      serviceSelectors: [{ matchExpressions: [{ key: 'exposure', operator: 'In', values: ['public'] }] }],
      valid: true,
    });
  });

  it('an empty serviceAllocation is present (it pins the pool) with priority 0', () => {
    const { pool: p, problems } = parse({});
    assert.deepEqual(problems, []);
    assert.deepEqual(p.serviceAllocation, {
      priority: 0,
      namespaces: [],
      namespaceSelectors: [],
      serviceSelectors: [],
      valid: true,
    });
  });

  const invalid: { name: string; value: unknown; problems: string[]; valid: boolean; priority?: number }[] = [
    {
      name: 'priority not an integer only changes the order',
      value: { priority: 1.5 },
      problems: ['spec.serviceAllocation.priority must be an integer, got 1.5; it counts as 0 (tried last)'],
      valid: true,
      priority: 0,
    },
    {
      name: 'priority a string',
      value: { priority: '1' },
      problems: ['spec.serviceAllocation.priority must be an integer, got "1"; it counts as 0 (tried last)'],
      valid: true,
      priority: 0,
    },
    {
      name: 'negative priority',
      value: { priority: -3 },
      problems: ['spec.serviceAllocation.priority must not be negative, got -3; it counts as 0 (tried last)'],
      valid: true,
      priority: 0,
    },
    {
      name: 'not an object',
      value: 'team-a',
      problems: [
        'spec.serviceAllocation must be an object, got "team-a"',
        'spec.serviceAllocation is invalid, so the pool serves no Service until it is fixed',
      ],
      valid: false,
    },
    {
      name: 'namespaces not a list (dropping it would match every namespace)',
      value: { namespaces: 'team-a' },
      problems: [
        'spec.serviceAllocation.namespaces must be a list of namespace names, got "team-a"',
        'spec.serviceAllocation is invalid, so the pool serves no Service until it is fixed',
      ],
      valid: false,
    },
    {
      name: 'a namespace that is not a name',
      value: { namespaces: ['team-a', 'Team_B', 3] },
      problems: [
        `spec.serviceAllocation.namespaces[1] "Team_B" is not a namespace name (lower-case letters, digits and '-', at most 63)`,
        'spec.serviceAllocation.namespaces[2] must be a string, got 3',
        'spec.serviceAllocation is invalid, so the pool serves no Service until it is fixed',
      ],
      valid: false,
    },
    {
      name: 'a bad operator',
      value: { serviceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }] },
      problems: [
        'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator must be one of In, NotIn, Exists, DoesNotExist (got "Equals")',
        'spec.serviceAllocation is invalid, so the pool serves no Service until it is fixed',
      ],
      valid: false,
    },
    {
      name: 'In without values',
      value: { namespaceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'In' }] }] },
      problems: [
        'spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].values must not be empty for operator In',
        'spec.serviceAllocation is invalid, so the pool serves no Service until it is fixed',
      ],
      valid: false,
    },
    {
      name: 'selectors not a list',
      value: { serviceSelectors: { matchLabels: { a: 'b' } } },
      problems: [
        'spec.serviceAllocation.serviceSelectors must be a list of label selectors, got an object',
        'spec.serviceAllocation is invalid, so the pool serves no Service until it is fixed',
      ],
      valid: false,
    },
  ];
  for (const c of invalid) {
    it(c.name, () => {
      const { pool: p, problems } = parse(c.value);
      assert.deepEqual(problems, c.problems);
      assert.equal(p.serviceAllocation?.valid, c.valid);
      if (c.priority !== undefined) assert.equal(p.serviceAllocation?.priority, c.priority);
    });
  }
});

describe('allocationAdmits', () => {
  const service = (namespace: string, labels = {}, namespaceLabels = {}): ServiceIdentity => ({
    namespace,
    labels,
    namespaceLabels,
  });
  const allocation = (value: unknown) => {
    const { pool: p, problems } = parsePool(
      { name: 'p' },
      { addresses: ['10.0.0.1'], serviceAllocation: value },
    );
    return { allocation: p.serviceAllocation, problems };
  };
  const gold = { namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] };
  const cases: { name: string; value: unknown; service: ServiceIdentity; want: boolean }[] = [
    { name: 'no serviceAllocation admits all', value: undefined, service: service('x'), want: true },
    { name: 'empty serviceAllocation admits all', value: {}, service: service('x'), want: true },
    { name: 'listed namespace', value: { namespaces: ['a', 'b'] }, service: service('b'), want: true },
    { name: 'unlisted namespace', value: { namespaces: ['a', 'b'] }, service: service('c'), want: false },
    { name: 'namespace selector', value: gold, service: service('c', {}, { tier: 'gold' }), want: true },
    {
      name: 'namespace selector miss',
      value: gold,
      service: service('c', {}, { tier: 'iron' }),
      want: false,
    },
    {
      name: 'namespaces OR namespaceSelectors: by name',
      value: { namespaces: ['a'], ...gold },
      service: service('a', {}, {}),
      want: true,
    },
    {
      name: 'namespaces OR namespaceSelectors: by label',
      value: { namespaces: ['a'], ...gold },
      service: service('z', {}, { tier: 'gold' }),
      want: true,
    },
    {
      name: 'namespaces OR namespaceSelectors: neither',
      value: { namespaces: ['a'], ...gold },
      service: service('z', {}, { tier: 'iron' }),
      want: false,
    },
    {
      name: 'service selectors: any of the list',
      value: { serviceSelectors: [{ matchLabels: { app: 'web' } }, { matchLabels: { app: 'api' } }] },
      service: service('x', { app: 'api' }),
      want: true,
    },
    {
      name: 'service selectors: none matching',
      value: { serviceSelectors: [{ matchLabels: { app: 'web' } }] },
      service: service('x', { app: 'db' }),
      want: false,
    },
    {
      name: 'namespace AND service: both hold',
      value: { namespaces: ['a'], serviceSelectors: [{ matchLabels: { app: 'web' } }] },
      service: service('a', { app: 'web' }),
      want: true,
    },
    {
      name: 'namespace AND service: namespace fails',
      value: { namespaces: ['a'], serviceSelectors: [{ matchLabels: { app: 'web' } }] },
      service: service('b', { app: 'web' }),
      want: false,
    },
    {
      name: 'namespace AND service: service fails',
      value: { namespaces: ['a'], serviceSelectors: [{ matchLabels: { app: 'web' } }] },
      service: service('a', { app: 'db' }),
      want: false,
    },
    {
      name: 'an invalid selector admits no one, not everyone',
      value: { serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }] },
      service: service('a', { app: 'web' }),
      want: false,
    },
    {
      name: 'one invalid selector among valid ones still admits no one',
      value: { namespaces: ['a'], serviceSelectors: [{ matchLabels: { app: 'web' } }, { matchLabel: {} }] },
      service: service('a', { app: 'web' }),
      want: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { allocation: a } = allocation(c.value);
      assert.equal(allocationAdmits(a, c.service), c.want);
    });
  }
});

describe('pool age and conflicts', () => {
  it('orders by creationTimestamp, then name; a missing timestamp is newest', () => {
    const pools = [
      pool('c', ['10.0.3.0/24'], '2024-01-01T00:00:00Z'),
      pool('x', ['10.0.4.0/24']),
      pool('b', ['10.0.2.0/24'], '2024-01-01T00:00:00Z'),
      pool('a', ['10.0.1.0/24'], '2024-02-01T00:00:00Z'),
      pool('z', ['10.0.5.0/24'], '2023-12-31T23:59:59Z'),
      pool('w', ['10.0.6.0/24'], 'not a time'),
    ];
    assert.deepEqual(
      [...pools].sort(compareAge).map((p) => p.name),
      ['z', 'b', 'c', 'a', 'w', 'x'],
    );
  });

  it('the older pool wins; the newer is conflicting; both are told', () => {
    const older = pool('zeta', ['10.0.0.0/24'], '2024-01-01T00:00:00Z');
    const newer = pool('alpha', ['10.0.0.128/25', '10.0.9.0/24'], '2024-06-01T00:00:00Z');
    const apart = pool('mid', ['10.0.1.0/24'], '2024-03-01T00:00:00Z');
    const { conflicting, messages } = findConflicts([newer, apart, older]);
    assert.deepEqual([...conflicting], ['alpha']);
    assert.deepEqual(messages.get('alpha'), [
      'overlaps the older pool "zeta" (10.0.0.0-10.0.0.255 and 10.0.0.128-10.0.0.255); this pool hands out no new addresses until the overlap is removed',
    ]);
    assert.deepEqual(messages.get('zeta'), [
      'the newer pool "alpha" overlaps it (10.0.0.0-10.0.0.255 and 10.0.0.128-10.0.0.255); "alpha" hands out nothing',
    ]);
    assert.equal(messages.get('mid'), undefined);
  });

  it('equal timestamps: the name decides', () => {
    const t = '2024-01-01T00:00:00Z';
    const { conflicting } = findConflicts([pool('b', ['10.0.0.1'], t), pool('a', ['10.0.0.0/30'], t)]);
    assert.deepEqual([...conflicting], ['b']);
  });

  it('a pool overlapping only a conflicting pool is not conflicting', () => {
    const a = pool('a', ['10.0.0.0/30'], '2024-01-01T00:00:00Z');
    const b = pool('b', ['10.0.0.2-10.0.0.5'], '2024-02-01T00:00:00Z');
    const c = pool('c', ['10.0.0.4-10.0.0.7'], '2024-03-01T00:00:00Z');
    const { conflicting, messages } = findConflicts([a, b, c]);
    assert.deepEqual([...conflicting], ['b']);
    assert.equal(messages.get('c'), undefined);
  });

  it('families never overlap', () => {
    const { conflicting } = findConflicts([pool('a', ['10.0.0.0/24']), pool('b', ['::a00:0/120'])]);
    assert.deepEqual([...conflicting], []);
  });

  it('findPoolOverlaps lists shared ranges in name order', () => {
    const pools = [
      pool('b', ['10.0.0.5', 'fd00::/120']),
      pool('a', ['10.0.0.0/24', '10.0.0.4-10.0.0.6']),
      pool('c', ['10.0.1.0/24', 'fd00::80-fd00::90']),
    ];
    assert.deepEqual(findPoolOverlaps(pools), [
      'pools "a" and "b" overlap: 10.0.0.0-10.0.0.255 and 10.0.0.5; 10.0.0.4-10.0.0.6 and 10.0.0.5',
      'pools "b" and "c" overlap: fd00::-fd00::ff and fd00::80-fd00::90',
    ]);
  });
});

describe('message sizes stay bounded (status conditions are capped at 32768 characters)', () => {
  const LIMIT = 4096;
  const joined = (messages: readonly string[]): number => messages.join('; ').length;
  /** `count` /30 ranges, all inside 10.0.0.0/16. */
  const smallRanges = (count: number): string[] =>
    Array.from({ length: count }, (_, i) => `10.0.${i >> 6}.${(i & 63) * 4}/30`);
  /** A DNS-subdomain name of the greatest length Kubernetes allows (253). */
  const longName = (i: number): string => `pool-${String(i).padStart(4, '0')}-${'x'.repeat(243)}`;

  it('1024 ranges of one pool inside another pool: the first five overlaps and a count', () => {
    const pools = [pool('big', ['10.0.0.0/16'], T0), pool('small', smallRanges(1024), T1)];
    const { conflicting, messages } = findConflicts(pools);
    assert.deepEqual([...conflicting], ['small']);
    for (const name of ['big', 'small']) {
      const list = messages.get(name) ?? [];
      assert.equal(list.length, 1);
      assert.ok(joined(list) <= LIMIT, `${name}: ${joined(list)} characters`);
      assert.match(list[0]!, /10\.0\.0\.16\/30|10\.0\.0\.16-10\.0\.0\.19/);
      assert.match(list[0]!, /; and 1019 more overlaps\)/);
    }
    assert.equal(
      messages.get('small')?.[0],
      'overlaps the older pool "big" (10.0.0.0-10.0.255.255 and 10.0.0.0-10.0.0.3; 10.0.0.0-10.0.255.255 and 10.0.0.4-10.0.0.7; ' +
        '10.0.0.0-10.0.255.255 and 10.0.0.8-10.0.0.11; 10.0.0.0-10.0.255.255 and 10.0.0.12-10.0.0.15; ' +
        '10.0.0.0-10.0.255.255 and 10.0.0.16-10.0.0.19; and 1019 more overlaps); this pool hands out no new addresses until the overlap is removed',
    );
    const overlaps = findPoolOverlaps(pools);
    assert.equal(overlaps.length, 1);
    assert.ok(joined(overlaps) <= LIMIT);
    assert.match(overlaps[0]!, /^pools "big" and "small" overlap: .*; and 1019 more overlaps$/);
  });

  it('hundreds of pools with long names overlapping one: the list is cut and counted', () => {
    const pools = [
      pool('big', ['10.0.0.0/8'], T0),
      ...Array.from({ length: 300 }, (_, i) =>
        pool(longName(i), [`10.${i >> 8}.${i & 255}.0/24`, 'fd00::/64'], T1),
      ),
    ];
    const { conflicting, messages } = findConflicts(pools);
    assert.equal(conflicting.size, 300);
    const big = messages.get('big') ?? [];
    assert.ok(joined(big) <= LIMIT, `${joined(big)} characters`);
    assert.ok(big.length > 1);
    assert.match(big[big.length - 1]!, /^and \d+ more overlapping pools$/);
    const shown = big.length - 1;
    assert.equal(big[big.length - 1], `and ${300 - shown} more overlapping pools`);
    // Pools overlapping each other in IPv6 too, but only the first (oldest by name) wins there.
    const overlaps = findPoolOverlaps(pools);
    assert.ok(joined(overlaps) <= LIMIT, `${joined(overlaps)} characters`);
    assert.match(overlaps[overlaps.length - 1]!, /^and \d+ more overlapping pairs of pools$/);
  });

  it('a spec with 1024 bad entries names five and counts the rest; long entries are cut', () => {
    const entries = Array.from({ length: 1024 }, (_, i) => `bogus${i}`);
    const { pool: parsed, problems } = parsePool({ name: 'p' }, { addresses: entries });
    assert.deepEqual(parsed.ranges, []);
    assert.deepEqual(problems, [
      '"bogus0" is not a valid IP address, range (A-B) or CIDR (A/N)',
      '"bogus1" is not a valid IP address, range (A-B) or CIDR (A/N)',
      '"bogus2" is not a valid IP address, range (A-B) or CIDR (A/N)',
      '"bogus3" is not a valid IP address, range (A-B) or CIDR (A/N)',
      '"bogus4" is not a valid IP address, range (A-B) or CIDR (A/N)',
      'and 1019 more invalid entries in spec.addresses',
    ]);
    const long = parsePool({ name: 'p' }, { addresses: ['1'.repeat(100_000), 7] });
    assert.equal(long.problems.length, 2);
    assert.ok(long.problems[0]!.length <= 300);
    assert.match(long.problems[0]!, /^"1111.*…$/);
    assert.equal(long.problems[1], 'spec.addresses[1] must be a string, got 7');
  });

  it('many bad selectors: the problems stay within the limit, the last one says how many more', () => {
    const selectors = Array.from({ length: 32 }, () => ({
      matchExpressions: Array.from({ length: 64 }, (_, i) => ({ key: `k${i}`, operator: 'Bogus' })),
    }));
    const { pool: parsed, problems } = parsePool(
      { name: 'p' },
      { addresses: ['10.0.0.0/24'], serviceAllocation: { serviceSelectors: selectors } },
    );
    assert.equal(parsed.serviceAllocation?.valid, false);
    assert.ok(joined(problems) <= LIMIT, `${joined(problems)} characters`);
    assert.match(problems[problems.length - 1]!, /^and \d+ more problems$/);
  });
});
