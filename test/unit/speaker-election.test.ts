import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePoolEntry } from '../../src/providers/pool/address-range.ts';
import type {
  AdvertisementFacts,
  EndpointNodes,
  NodeFacts,
  PoolFacts,
  ServiceFacts,
} from '../../src/speaker/cluster-facts.ts';
import {
  caretaker,
  type Decision,
  describeExclusions,
  Election,
  type ElectionInput,
  rankHash,
  type SpeakerHeartbeat,
} from '../../src/speaker/election.ts';

// A small LAN: every node has eth0 in 198.51.100.0/24 and 2001:db8:51::/64, some also eth1 in 203.0.113.0/24.
function node(name: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return { name, labels: {}, ready: true, networkUnavailable: false, excluded: false, ...over };
}

function speaker(name: string, interfaces = LAN): SpeakerHeartbeat {
  return { node: name, interfaces };
}

const LAN = [{ name: 'eth0', prefixes: ['198.51.100.11/24', '2001:db8:51::11/64'] }];
const TWO_NICS = [...LAN, { name: 'eth1', prefixes: ['203.0.113.5/24'] }];

function pool(name: string, entries: string[], labels: Record<string, string> = {}): PoolFacts {
  return {
    name,
    labels,
    ranges: entries.map((e) => {
      const r = parsePoolEntry(e);
      assert.ok(!('error' in r), `bad test pool entry ${e}`);
      return r;
    }),
  };
}

function ad(name: string, over: Partial<AdvertisementFacts> = {}): AdvertisementFacts {
  return { name, pools: [], poolSelectors: [], nodeSelectors: [], interfaces: [], ...over };
}

function service(addresses: string[], over: Partial<ServiceFacts> = {}): ServiceFacts {
  return {
    key: 'ns/web',
    namespace: 'ns',
    name: 'web',
    uid: 'u1',
    addresses,
    trafficPolicy: 'Cluster',
    ...over,
  };
}

const POOLS = [
  pool('lan', ['198.51.100.200-198.51.100.250', '2001:db8:51::200-2001:db8:51::2ff'], { zone: 'lan' }),
  pool('dmz', ['203.0.113.100-203.0.113.120'], { zone: 'dmz' }),
  pool('bgp-only', ['192.0.2.0/24']),
];

function input(over: Partial<ElectionInput> & { nodeNames?: string[] } = {}): ElectionInput {
  const names = over.nodeNames ?? ['n1', 'n2', 'n3', 'n4'];
  return {
    nodes: over.nodes ?? new Map(names.map((n) => [n, node(n)])),
    speakers: over.speakers ?? new Map(names.map((n) => [n, speaker(n)])),
    pools: over.pools ?? POOLS,
    advertisements: over.advertisements ?? [ad('lan', { pools: ['lan', 'dmz'] })],
    endpoints: over.endpoints ?? new Map(),
  };
}

/** The node that hashes lowest for the address among `nodes`. */
function expectedWinner(nodes: string[], address: string): string {
  return [...nodes].sort((a, b) => (rankHash(a, address) < rankHash(b, address) ? -1 : 1))[0] ?? '';
}

/** The node elected for the Service's first advertised address (or `address`). */
function winnerOf(decision: Decision | undefined, address?: string): string | undefined {
  if (decision?.kind !== 'advertised') return undefined;
  const d = address ? decision.addresses.find((a) => a.address === address) : decision.addresses[0];
  return d?.kind === 'elected' ? d.node : undefined;
}

/** The reason when no address of the Service has a candidate; undefined otherwise. */
function noCandidate(decision: Decision | undefined): string | undefined {
  if (decision?.kind !== 'advertised') return undefined;
  const reasons = decision.addresses.map((a) => (a.kind === 'noCandidate' ? a.reason : undefined));
  return reasons.every((r) => r !== undefined) ? reasons.join(' | ') : undefined;
}

function interfacesOf(decision: Decision | undefined): string[] | undefined {
  const d = decision?.kind === 'advertised' ? decision.addresses[0] : undefined;
  return d?.kind === 'elected' ? d.interfaces : undefined;
}

describe('election: the winner', () => {
  it('is the candidate with the lowest sha256(node#address), the same for every caller', () => {
    for (const address of ['198.51.100.200', '198.51.100.201', '198.51.100.202', '2001:db8:51::200']) {
      const decision = new Election(input()).decide(service([address]));
      assert.equal(winnerOf(decision), expectedWinner(['n1', 'n2', 'n3', 'n4'], address), address);
      // Node order in the caches does not matter.
      const reversed = input({ nodes: new Map([...input().nodes].reverse()) });
      assert.deepEqual(new Election(reversed).decide(service([address])), decision);
    }
  });

  it('never moves an address when a node that does not hold it leaves', () => {
    const all = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    for (let i = 200; i < 230; i++) {
      const address = `198.51.100.${i}`;
      const winner = winnerOf(new Election(input({ nodeNames: all })).decide(service([address])));
      assert.ok(winner);
      for (const gone of all.filter((n) => n !== winner)) {
        const rest = all.filter((n) => n !== gone);
        assert.equal(winnerOf(new Election(input({ nodeNames: rest })).decide(service([address]))), winner);
      }
      // When the winner leaves, the next-lowest takes over.
      const rest = all.filter((n) => n !== winner);
      assert.equal(
        winnerOf(new Election(input({ nodeNames: rest })).decide(service([address]))),
        expectedWinner(rest, address),
      );
    }
  });

  it('moves an address to a new node only if that node hashes lower than the holder', () => {
    const before = ['n1', 'n2', 'n3'];
    let moved = 0;
    for (let i = 200; i < 250; i++) {
      const address = `198.51.100.${i}`;
      const holder = winnerOf(new Election(input({ nodeNames: before })).decide(service([address])));
      const after = winnerOf(
        new Election(input({ nodeNames: [...before, 'n9'] })).decide(service([address])),
      );
      if (after !== holder) {
        moved++;
        assert.equal(after, 'n9');
        assert.ok(rankHash('n9', address) < rankHash(holder ?? '', address));
      }
    }
    // About a quarter of the addresses move to the fourth node; none moves between the old ones.
    assert.ok(moved > 0 && moved < 50, `moved ${moved}`);
  });

  it('elects each address of a Service on its own, hashed on that address, in the Service order', () => {
    const all = ['n1', 'n2', 'n3', 'n4'];
    const decision = new Election(input()).decide(service(['2001:db8:51::200', '198.51.100.200']));
    assert.deepEqual(decision, {
      kind: 'advertised',
      addresses: [
        {
          kind: 'elected',
          family: 'IPv6',
          address: '2001:db8:51::200',
          node: expectedWinner(all, '2001:db8:51::200'),
          interfaces: ['eth0'],
        },
        {
          kind: 'elected',
          family: 'IPv4',
          address: '198.51.100.200',
          node: expectedWinner(all, '198.51.100.200'),
          interfaces: ['eth0'],
        },
      ],
    });
  });

  it('uses canonical address text (hash and placement) whatever the Service wrote', () => {
    const decision = new Election(input()).decide(service(['2001:DB8:51:0:0:0:0:200']));
    assert.equal(winnerOf(decision), expectedWinner(['n1', 'n2', 'n3', 'n4'], '2001:db8:51::200'));
    assert.equal(decision.kind === 'advertised' && decision.addresses[0]?.address, '2001:db8:51::200');
  });
});

describe('election: candidates', () => {
  const address = '198.51.100.200';
  const names = ['n1', 'n2', 'n3', 'n4'];
  // Exclude the natural winner in each way: the next one must win. Exclude every node that way: nothing
  // is announced, and the reason says why.
  const natural = expectedWinner(names, address);
  const others = names.filter((n) => n !== natural);
  const withNode = (i: ElectionInput, n: string, over: Partial<NodeFacts>): ElectionInput => ({
    ...i,
    nodes: new Map(i.nodes).set(n, { ...(i.nodes.get(n) ?? node(n)), ...over }),
  });
  const withSpeaker = (i: ElectionInput, n: string, s: SpeakerHeartbeat | undefined): ElectionInput => {
    const speakers = new Map(i.speakers);
    if (s) speakers.set(n, s);
    else speakers.delete(n);
    return { ...i, speakers };
  };
  const cases: Array<{
    name: string;
    base?: (i: ElectionInput) => ElectionInput;
    exclude: (i: ElectionInput, n: string) => ElectionInput;
    reason: RegExp;
  }> = [
    {
      name: 'a node that is not Ready',
      exclude: (i, n) => withNode(i, n, { ready: false }),
      reason: /not Ready/,
    },
    {
      name: 'a node with NetworkUnavailable',
      exclude: (i, n) => withNode(i, n, { networkUnavailable: true }),
      reason: /NetworkUnavailable/,
    },
    {
      name: 'a node labelled exclude-from-external-load-balancers',
      exclude: (i, n) => withNode(i, n, { excluded: true }),
      reason: /exclude-from-external-load-balancers/,
    },
    {
      name: 'a node without a fresh speaker heartbeat',
      exclude: (i, n) => withSpeaker(i, n, undefined),
      reason: /no fresh speaker heartbeat/,
    },
    {
      name: 'a node no L2Advertisement selects',
      base: (i) => ({
        ...i,
        advertisements: [
          ad('lan', {
            nodeSelectors: [{ matchExpressions: [{ key: 'pool', operator: 'NotIn', values: ['no'] }] }],
          }),
        ],
      }),
      exclude: (i, n) => withNode(i, n, { labels: { pool: 'no' } }),
      reason: /no L2Advertisement selects this node for 198\.51\.100\.200/,
    },
    {
      name: 'a node without an interface in the address’s subnet',
      exclude: (i, n) => withSpeaker(i, n, speaker(n, [{ name: 'eth0', prefixes: ['10.9.0.4/16'] }])),
      reason: /no up interface with a subnet containing it for 198\.51\.100\.200/,
    },
    {
      name: 'a node without the interface the advertisement names',
      base: (i) => ({
        ...i,
        speakers: new Map([...i.speakers.keys()].map((n) => [n, speaker(n, TWO_NICS)])),
        advertisements: [ad('lan', { interfaces: ['eth1'] })],
      }),
      exclude: (i, n) => withSpeaker(i, n, speaker(n, LAN)),
      reason: /no up interface named eth1 for 198\.51\.100\.200/,
    },
  ];
  for (const c of cases) {
    it(`leaves out ${c.name}`, () => {
      const base = c.base ? c.base(input()) : input();
      assert.equal(
        winnerOf(new Election(base).decide(service([address]))),
        natural,
        'the base elects the natural winner',
      );
      const one = c.exclude(base, natural);
      assert.equal(winnerOf(new Election(one).decide(service([address]))), expectedWinner(others, address));
      const none = names.reduce((acc, n) => c.exclude(acc, n), base);
      const decision = new Election(none).decide(service([address]));
      const reason = noCandidate(decision) ?? '';
      assert.ok(noCandidate(decision) !== undefined, JSON.stringify(decision));
      assert.match(reason, c.reason);
      assert.match(reason, /^n1, n2, n3 and 1 more: /);
    });
  }

  it('ignores a heartbeat from a node that has no Node object', () => {
    const i = input({ nodeNames: ['n1'] });
    const decision = new Election({
      ...i,
      speakers: new Map(i.speakers).set('ghost', speaker('ghost')),
    }).decide(service([address]));
    assert.equal(winnerOf(decision), 'n1');
  });

  it('says so when the cluster has no nodes', () => {
    const decision = new Election(input({ nodeNames: [] })).decide(service([address]));
    assert.deepEqual(decision, {
      kind: 'advertised',
      addresses: [
        { kind: 'noCandidate', family: 'IPv4', address: '198.51.100.200', reason: 'there are no nodes' },
      ],
    });
  });

  it('elects an address only among the nodes that can carry that address', () => {
    const i = input();
    // Only n2 has IPv6 on its LAN interface.
    const v4only = [{ name: 'eth0', prefixes: ['198.51.100.11/24'] }];
    const speakers = new Map([...i.speakers].map(([n, s]) => [n, n === 'n2' ? s : speaker(n, v4only)]));
    const decision = new Election({ ...i, speakers }).decide(service(['198.51.100.200', '2001:db8:51::200']));
    assert.equal(winnerOf(decision, '2001:db8:51::200'), 'n2');
    assert.equal(
      winnerOf(decision, '198.51.100.200'),
      expectedWinner(['n1', 'n2', 'n3', 'n4'], '198.51.100.200'),
    );
  });
});

describe('election: advertisements and pools', () => {
  const cases: Array<{ name: string; ads: AdvertisementFacts[]; address: string; advertised: boolean }> = [
    {
      name: 'a pool named by the advertisement',
      ads: [ad('a', { pools: ['lan'] })],
      address: '198.51.100.201',
      advertised: true,
    },
    {
      name: 'a pool the advertisement does not name',
      ads: [ad('a', { pools: ['dmz'] })],
      address: '198.51.100.201',
      advertised: false,
    },
    {
      name: 'every pool when names and selectors are empty',
      ads: [ad('a')],
      address: '192.0.2.9',
      advertised: true,
    },
    {
      name: 'a pool whose labels a selector matches',
      ads: [ad('a', { poolSelectors: [{ matchLabels: { zone: 'dmz' } }] })],
      address: '203.0.113.101',
      advertised: true,
    },
    {
      name: 'a pool no selector matches',
      ads: [
        ad('a', { poolSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] }] }),
      ],
      address: '203.0.113.101',
      advertised: false,
    },
    {
      name: 'names and selectors together (either covers the pool)',
      ads: [ad('a', { pools: ['lan'], poolSelectors: [{ matchLabels: { zone: 'dmz' } }] })],
      address: '203.0.113.101',
      advertised: true,
    },
    {
      name: 'an invalid selector (it matches nothing, it never widens to every pool)',
      ads: [ad('a', { poolSelectors: [undefined] })],
      address: '198.51.100.201',
      advertised: false,
    },
    { name: 'an address outside every pool', ads: [ad('a')], address: '198.51.100.5', advertised: false },
    {
      name: 'no advertisement at all (maybe BGP later)',
      ads: [],
      address: '198.51.100.201',
      advertised: false,
    },
  ];
  for (const c of cases) {
    it(`${c.advertised ? 'announces' : 'does not announce'} ${c.name}`, () => {
      const speakers = new Map(['n1', 'n2'].map((n) => [n, speaker(n, TWO_NICS)]));
      const decision = new Election(
        input({ nodeNames: ['n1', 'n2'], speakers, advertisements: c.ads }),
      ).decide(service([c.address]));
      // Advertised: elected, or wanted but (192.0.2.0/24 is on no interface here) without a candidate.
      if (c.advertised) assert.notEqual(decision.kind, 'notAdvertised', JSON.stringify(decision));
      else assert.deepEqual(decision, { kind: 'notAdvertised' });
    });
  }

  it('drops addresses no advertisement covers and announces the rest', () => {
    const decision = new Election(input({ advertisements: [ad('a', { pools: ['lan'] })] })).decide(
      service(['192.0.2.7', '198.51.100.210']),
    );
    assert.equal(
      decision.kind === 'advertised' && decision.addresses.map((a) => a.address).join(),
      '198.51.100.210',
    );
    assert.equal(winnerOf(decision), expectedWinner(['n1', 'n2', 'n3', 'n4'], '198.51.100.210'));
  });

  it('restricts nodes by nodeSelectors (any selector of the list), and several advertisements add up', () => {
    const nodes = new Map([
      ['n1', node('n1', { labels: { rack: 'a' } })],
      ['n2', node('n2', { labels: { rack: 'b' } })],
      ['n3', node('n3', { labels: { rack: 'c' } })],
    ]);
    const speakers = new Map(['n1', 'n2', 'n3'].map((n) => [n, speaker(n)]));
    const only = (ads: AdvertisementFacts[]): Set<string> => {
      const winners = new Set<string>();
      for (let i = 200; i < 240; i++) {
        const w = winnerOf(
          new Election({ ...input(), nodes, speakers, advertisements: ads }).decide(
            service([`198.51.100.${i}`]),
          ),
        );
        if (w) winners.add(w);
      }
      return winners;
    };
    assert.deepEqual(only([ad('a', { nodeSelectors: [{ matchLabels: { rack: 'a' } }] })]), new Set(['n1']));
    assert.deepEqual(
      only([ad('a', { nodeSelectors: [{ matchLabels: { rack: 'a' } }, { matchLabels: { rack: 'b' } }] })]),
      new Set(['n1', 'n2']),
    );
    assert.deepEqual(
      only([
        ad('a', { nodeSelectors: [{ matchLabels: { rack: 'a' } }] }),
        ad('b', { nodeSelectors: [{ matchLabels: { rack: 'c' } }] }),
      ]),
      new Set(['n1', 'n3']),
    );
    // An invalid node selector selects no node (the advertisement is broken, not widened).
    assert.deepEqual(only([ad('a', { nodeSelectors: [undefined] })]), new Set());
  });

  it('puts an address on the interfaces the advertisement names, or on those whose subnet contains it', () => {
    const speakers = new Map(['n1'].map((n) => [n, speaker(n, TWO_NICS)]));
    const placed = (ads: AdvertisementFacts[], address: string): string[] | undefined => {
      const d = new Election(input({ nodeNames: ['n1'], speakers, advertisements: ads })).decide(
        service([address]),
      );
      return interfacesOf(d);
    };
    assert.deepEqual(placed([ad('a')], '198.51.100.201'), ['eth0']);
    assert.deepEqual(placed([ad('a')], '203.0.113.101'), ['eth1']);
    // Named interfaces need no matching subnet.
    assert.deepEqual(placed([ad('a', { interfaces: ['eth1'] })], '198.51.100.201'), ['eth1']);
    assert.deepEqual(placed([ad('a', { interfaces: ['eth0', 'eth1', 'eth7'] })], '198.51.100.201'), [
      'eth0',
      'eth1',
    ]);
    // Two advertisements for the same pool: the union.
    assert.deepEqual(placed([ad('a', { interfaces: ['eth1'] }), ad('b')], '198.51.100.201'), [
      'eth0',
      'eth1',
    ]);
    // A subnet-chosen interface is never a /32 host address that happens to equal the VIP.
    const hostOnly = new Map([['n1', speaker('n1', [{ name: 'eth0', prefixes: [] }])]]);
    assert.ok(
      noCandidate(
        new Election(input({ nodeNames: ['n1'], speakers: hostOnly })).decide(service(['198.51.100.201'])),
      ),
    );
  });
});

describe('election: externalTrafficPolicy Local', () => {
  const address = '198.51.100.220';
  const local = service([address], { trafficPolicy: 'Local' });
  const endpoints = (ready: string[], serving: string[] = []): Map<string, EndpointNodes> =>
    new Map([['ns/web', { ready: new Set(ready), serving: new Set(serving) }]]);

  it('elects only nodes with a ready endpoint of the Service', () => {
    for (const ready of [['n1'], ['n2', 'n3'], ['n1', 'n2', 'n3', 'n4']]) {
      const decision = new Election(input({ endpoints: endpoints(ready) })).decide(local);
      assert.equal(winnerOf(decision), expectedWinner(ready, address), ready.join());
    }
  });

  it('falls back to terminating endpoints that still serve when none is ready', () => {
    const decision = new Election(input({ endpoints: endpoints([], ['n3']) })).decide(local);
    assert.equal(winnerOf(decision), 'n3');
    // A ready endpoint elsewhere wins over a serving one.
    assert.equal(winnerOf(new Election(input({ endpoints: endpoints(['n4'], ['n3']) })).decide(local)), 'n4');
  });

  it('announces nothing, and says why, when no eligible node has an endpoint', () => {
    for (const e of [new Map<string, EndpointNodes>(), endpoints(['elsewhere'])]) {
      const decision = new Election(input({ endpoints: e })).decide(local);
      assert.match(
        noCandidate(decision) ?? '',
        /no ready endpoint of the Service \(externalTrafficPolicy Local\)/,
      );
    }
    // An endpoint on a node that is not a candidate does not help.
    const i = input({ endpoints: endpoints(['n1']) });
    const notReady = { ...i, nodes: new Map(i.nodes).set('n1', node('n1', { ready: false })) };
    assert.ok(noCandidate(new Election(notReady).decide(local)));
  });

  it('ignores endpoints for Cluster policy', () => {
    const decision = new Election(input({ endpoints: endpoints([]) })).decide(service([address]));
    assert.equal(winnerOf(decision), expectedWinner(['n1', 'n2', 'n3', 'n4'], address));
  });
});

describe('election: messages and caretaker', () => {
  it('groups excluded nodes by reason and shortens long lists', () => {
    const text = describeExclusions(
      new Map([
        ['not Ready', ['a', 'b', 'c', 'd', 'e']],
        ['no fresh speaker heartbeat', ['f']],
      ]),
    );
    assert.equal(text, 'a, b, c and 2 more: not Ready; f: no fresh speaker heartbeat');
  });

  it('gives an unannounced Service one caretaker: the node it names while fresh, else the lowest hash', () => {
    assert.equal(caretaker('ns/web', 'n2', ['n1', 'n2', 'n3']), 'n2');
    const lowest = ['n1', 'n3'].sort((a, b) => (rankHash(a, 'ns/web') < rankHash(b, 'ns/web') ? -1 : 1))[0];
    assert.equal(caretaker('ns/web', 'gone', ['n1', 'n3']), lowest);
    assert.equal(caretaker('ns/web', undefined, ['n3', 'n1']), lowest);
    assert.equal(caretaker('ns/web', 'n1', []), undefined);
  });
});

describe('election: an address shared by several Services has exactly one announcer', () => {
  const X = '198.51.100.230';
  const Y6 = '2001:db8:51::230';
  const V4_ONLY = [{ name: 'eth0', prefixes: ['198.51.100.11/24'] }];
  const named = (key: string, addresses: string[], over: Partial<ServiceFacts> = {}): ServiceFacts => {
    const [namespace = '', name = ''] = key.split('/');
    return { ...service(addresses), key, namespace, name, uid: key, ...over };
  };
  /** Every node announcing X for some Service. */
  const announcersOf = (decisions: Map<string, Decision>, address: string): Set<string> => {
    const out = new Set<string>();
    for (const d of decisions.values()) {
      const node = winnerOf(d, address);
      if (node) out.add(node);
    }
    return out;
  };
  // Node names where an IPv4-only node hashes lowest for X (the reviewer's reproduction), and where a
  // dual-stack node does: both layouts must give one announcer.
  const layouts = (): Array<{ v4only: string; dual: string }> => {
    const out: Array<{ v4only: string; dual: string }> = [];
    for (let i = 0; out.length < 4 && i < 200; i++) {
      const a = `v4-${i}`;
      const b = `dual-${i}`;
      const v4Lower = rankHash(a, X) < rankHash(b, X);
      if (out.filter((l) => rankHash(l.v4only, X) < rankHash(l.dual, X) === v4Lower).length < 2)
        out.push({ v4only: a, dual: b });
    }
    return out;
  };
  const shared = (names: { v4only: string; dual: string }): ElectionInput =>
    input({
      nodes: new Map([names.v4only, names.dual].map((n) => [n, node(n)])),
      speakers: new Map([
        [names.v4only, speaker(names.v4only, V4_ONLY)],
        [names.dual, speaker(names.dual)],
      ]),
    });

  const cases: Array<{ name: string; services: ServiceFacts[] }> = [
    {
      name: 'single-stack [X] and dual-stack [X, Y6]',
      services: [named('a/v4', [X]), named('a/dual', [X, Y6])],
    },
    {
      name: 'single-stack [X] and dual-stack in order [Y6, X]',
      services: [named('a/v4', [X]), named('a/dual', [Y6, X])],
    },
    {
      name: 'dual-stack first, then single-stack',
      services: [named('a/dual', [Y6, X]), named('a/v4', [X])],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: one node for X, whichever node hashes lowest`, () => {
      for (const names of layouts()) {
        const decisions = new Election(shared(names)).decideAll(c.services);
        const holders = announcersOf(decisions, X);
        assert.equal(holders.size, 1, `${JSON.stringify(names)}: X announced by ${[...holders].join(', ')}`);
        // Both nodes can carry X: the lowest hash of the two wins it for every Service.
        assert.deepEqual([...holders], [expectedWinner([names.v4only, names.dual], X)]);
        // Only the dual-stack node can carry Y6.
        assert.equal(winnerOf(decisions.get('a/dual'), Y6), names.dual);
      }
    });
  }

  it('Local Services sharing X (same selector): a node with an endpoint of every one of them', () => {
    const local = (key: string) => named(key, [X], { trafficPolicy: 'Local' });
    const endpoints = new Map<string, EndpointNodes>([
      ['a/one', { ready: new Set(['n1', 'n2', 'n3']), serving: new Set() }],
      ['a/two', { ready: new Set(['n2', 'n3', 'n4']), serving: new Set() }],
    ]);
    const decisions = new Election(input({ endpoints })).decideAll([local('a/one'), local('a/two')]);
    const holders = announcersOf(decisions, X);
    assert.deepEqual([...holders], [expectedWinner(['n2', 'n3'], X)]);
    // No common node: announced by nobody, and the reason names the Service lacking an endpoint.
    const apart = new Map<string, EndpointNodes>([
      ['a/one', { ready: new Set(['n1']), serving: new Set() }],
      ['a/two', { ready: new Set(['n4']), serving: new Set() }],
    ]);
    const none = new Election(input({ endpoints: apart })).decideAll([local('a/one'), local('a/two')]);
    assert.equal(announcersOf(none, X).size, 0);
    assert.match(noCandidate(none.get('a/one')) ?? '', /no ready endpoint of the Service a\/(one|two)/);
  });

  it('a Cluster and a Local Service sharing X: the Local one decides', () => {
    const endpoints = new Map<string, EndpointNodes>([
      ['a/local', { ready: new Set(['n3']), serving: new Set() }],
    ]);
    const decisions = new Election(input({ endpoints })).decideAll([
      named('a/cluster', [X]),
      named('a/local', [X], { trafficPolicy: 'Local' }),
    ]);
    assert.deepEqual([...announcersOf(decisions, X)], ['n3']);
  });
});
