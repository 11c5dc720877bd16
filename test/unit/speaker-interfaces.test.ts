import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePoolEntry } from '../../src/providers/pool/address-range.ts';
import {
  announcementsOnNode,
  eligibleInterfaces,
  type NetInterface,
  parseIpAddrJson,
  prefixContains,
  summarizeInterfaces,
} from '../../src/speaker/interfaces.ts';

// Captured from `ip -j addr show` (iproute2 6.1) in a test network namespace: eth0 carries two announcement
// addresses (/32 and /128, preferred_lft 0), vx is a bridge port, br9 is down; kube-ipvs0 (NOARP, added by
// hand from a kube-proxy node) carries Service addresses.
const CAPTURED = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    link_type: 'loopback',
    addr_info: [
      {
        family: 'inet',
        local: '127.0.0.1',
        prefixlen: 8,
        scope: 'host',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: 'inet6',
        local: '::1',
        prefixlen: 128,
        scope: 'host',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  },
  {
    ifindex: 2,
    link_index: 10,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    operstate: 'UP',
    link_type: 'ether',
    address: 'c6:52:35:60:dd:1c',
    addr_info: [
      {
        family: 'inet',
        local: '198.51.100.11',
        prefixlen: 24,
        scope: 'global',
        label: 'eth0',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: 'inet',
        local: '198.51.100.205',
        prefixlen: 32,
        scope: 'global',
        deprecated: true,
        dynamic: true,
        label: 'eth0',
        valid_life_time: 4,
        preferred_life_time: 0,
      },
      {
        family: 'inet6',
        local: '2001:db8:51::205',
        prefixlen: 128,
        scope: 'global',
        nodad: true,
        deprecated: true,
        dynamic: true,
        valid_life_time: 4,
        preferred_life_time: 0,
      },
      {
        family: 'inet6',
        local: '2001:db8:51::11',
        prefixlen: 64,
        scope: 'global',
        nodad: true,
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: 'inet6',
        local: 'fe80::c452:35ff:fe60:dd1c',
        prefixlen: 64,
        scope: 'link',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  },
  {
    ifindex: 3,
    ifname: 'br9',
    flags: ['BROADCAST', 'MULTICAST'],
    operstate: 'DOWN',
    link_type: 'ether',
    addr_info: [],
  },
  {
    ifindex: 5,
    link: 'vy',
    ifname: 'vx',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN'],
    master: 'br9',
    link_type: 'ether',
    addr_info: [],
  },
  {
    ifindex: 6,
    ifname: 'kube-ipvs0',
    flags: ['BROADCAST', 'NOARP', 'UP', 'LOWER_UP'],
    link_type: 'ether',
    addr_info: [
      {
        family: 'inet',
        local: '10.96.0.1',
        prefixlen: 32,
        scope: 'global',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  },
  {
    ifindex: 7,
    ifname: 'eth1',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    link_type: 'ether',
    addr_info: [],
  },
]);

function parsed(): NetInterface[] {
  const result = parseIpAddrJson(CAPTURED);
  assert.ok('interfaces' in result, 'error' in result ? result.error : '');
  return result.interfaces;
}

describe('parseIpAddrJson', () => {
  it('reads names, state and addresses with their lifetimes', () => {
    const interfaces = parsed();
    assert.deepEqual(
      interfaces.map((i) => [i.name, i.up, i.loopback, i.noArp, i.enslaved]),
      [
        ['lo', true, true, false, false],
        ['eth0', true, false, false, false],
        ['br9', false, false, false, false],
        ['vx', false, false, false, true],
        ['kube-ipvs0', true, false, true, false],
        ['eth1', true, false, false, false],
      ],
    );
    const eth0 = interfaces[1];
    assert.deepEqual(eth0?.addresses[1], {
      family: 'IPv4',
      address: '198.51.100.205',
      value: 0xc63364cdn,
      prefixLength: 32,
      scope: 'global',
      validLifetime: 4,
      preferredLifetime: 0,
    });
    assert.equal(eth0?.addresses[2]?.address, '2001:db8:51::205');
    assert.equal(eth0?.addresses.length, 5);
  });

  it('writes addresses canonically', () => {
    const result = parseIpAddrJson(
      JSON.stringify([
        { ifname: 'e', flags: [], addr_info: [{ family: 'inet6', local: '2001:DB8:0:0::1', prefixlen: 64 }] },
      ]),
    );
    assert.ok('interfaces' in result);
    assert.equal(result.interfaces[0]?.addresses[0]?.address, '2001:db8::1');
  });

  it('turns anything unexpected into an error value or skips it, never a throw', () => {
    const notJson = parseIpAddrJson('Object "addr" is unknown');
    assert.match(
      'error' in notJson ? notJson.error : '',
      /^"ip -j addr show" printed something that is not JSON: /,
    );
    assert.deepEqual(parseIpAddrJson('{}'), { error: '"ip -j addr show" did not print a JSON list' });
    const odd = parseIpAddrJson(
      JSON.stringify([
        null,
        { flags: ['UP'] },
        {
          ifname: 'x',
          addr_info: [{ family: 'inet', local: 'nope', prefixlen: 24 }, { family: 'packet' }, 7],
        },
      ]),
    );
    assert.ok('interfaces' in odd);
    assert.deepEqual(odd.interfaces, [
      { name: 'x', up: false, loopback: false, noArp: false, enslaved: false, addresses: [] },
    ]);
  });
});

describe('summarizeInterfaces', () => {
  it('lists up, ARP-capable, unenslaved interfaces with the subnets of their global addresses', () => {
    assert.deepEqual(summarizeInterfaces(parsed(), new Set()), [
      { name: 'eth0', prefixes: ['198.51.100.11/24', '2001:db8:51::11/64'] },
    ]);
  });

  it('also lists an interface an L2Advertisement names, even without an address', () => {
    assert.deepEqual(summarizeInterfaces(parsed(), new Set(['eth1', 'vx', 'nope'])), [
      { name: 'eth0', prefixes: ['198.51.100.11/24', '2001:db8:51::11/64'] },
      { name: 'eth1', prefixes: [] },
    ]);
  });
});

describe('prefixContains and eligibleInterfaces', () => {
  const v4 = (text: string): bigint => {
    const r = parsePoolEntry(text);
    assert.ok(!('error' in r));
    return r.first;
  };

  it('matches addresses inside a prefix, of the same family only', () => {
    assert.equal(prefixContains('198.51.100.11/24', 'IPv4', v4('198.51.100.200')), true);
    assert.equal(prefixContains('198.51.100.11/24', 'IPv4', v4('198.51.101.1')), false);
    assert.equal(prefixContains('198.51.100.11/24', 'IPv6', v4('198.51.100.200')), false);
    assert.equal(prefixContains('0.0.0.0/0', 'IPv4', v4('203.0.113.1')), true);
    assert.equal(prefixContains('2001:db8:51::11/64', 'IPv6', v4('2001:db8:51::200')), true);
    assert.equal(prefixContains('2001:db8:51::11/64', 'IPv6', v4('2001:db8:52::200')), false);
    for (const bad of ['198.51.100.0', '198.51.100.0/33', 'x/24', '198.51.100.0/-1', '198.51.100.0/2.5']) {
      assert.equal(prefixContains(bad, 'IPv4', v4('198.51.100.1')), false, bad);
    }
  });

  it('chooses named interfaces, or every interface whose subnet holds the address', () => {
    const summary = [
      { name: 'eth0', prefixes: ['198.51.100.11/24'] },
      { name: 'eth1', prefixes: ['203.0.113.5/24'] },
      { name: 'bond0', prefixes: ['198.51.100.99/25'] },
    ];
    const vip = v4('198.51.100.20');
    assert.deepEqual(eligibleInterfaces(summary, [undefined], 'IPv4', vip), ['bond0', 'eth0']);
    assert.deepEqual(eligibleInterfaces(summary, [[]], 'IPv4', v4('198.51.100.200')), ['eth0']);
    assert.deepEqual(eligibleInterfaces(summary, [['eth1', 'eth9']], 'IPv4', vip), ['eth1']);
    assert.deepEqual(eligibleInterfaces(summary, [['eth1'], undefined], 'IPv4', vip), [
      'bond0',
      'eth0',
      'eth1',
    ]);
    assert.deepEqual(eligibleInterfaces(summary, [], 'IPv4', vip), []);
    assert.deepEqual(eligibleInterfaces(summary, [undefined], 'IPv4', v4('192.0.2.1')), []);
  });
});

describe('announcementsOnNode', () => {
  it('finds host addresses with preferred lifetime 0 inside the pools, and nothing else', () => {
    const pools = ['198.51.100.200-198.51.100.250', '2001:db8:51::200/120'].map((e) => {
      const r = parsePoolEntry(e);
      assert.ok(!('error' in r));
      return r;
    });
    const inPools = (family: 'IPv4' | 'IPv6', value: bigint): boolean =>
      pools.some((r) => r.family === family && r.first <= value && value <= r.last);
    assert.deepEqual(announcementsOnNode(parsed(), inPools), [
      { interface: 'eth0', family: 'IPv4', address: '198.51.100.205', validLifetime: 4 },
      { interface: 'eth0', family: 'IPv6', address: '2001:db8:51::205', validLifetime: 4 },
    ]);
    // Outside every pool (kube-ipvs0's 10.96.0.1, the node's own addresses): never touched.
    assert.deepEqual(
      announcementsOnNode(parsed(), () => false),
      [],
    );
    // A /32 that is preferred (someone else's host address) is not an announcement even inside a pool.
    const preferred = parsed().map((i) => ({
      ...i,
      addresses: i.addresses.map((a) => ({ ...a, preferredLifetime: 4294967295 })),
    }));
    assert.deepEqual(announcementsOnNode(preferred, inPools), []);
  });
});
