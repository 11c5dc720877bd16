import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import {
  advertisementFacts,
  endpointNodesByService,
  nodeFacts,
  poolFacts,
  serviceFacts,
} from '../../src/speaker/cluster-facts.ts';

const selection = { loadBalancerClass: 'sluice.dev/lb', manageUnclassed: false };

function svc(over: { cls?: string; type?: string; ips?: string[]; policy?: string } = {}): V1Service {
  return {
    metadata: { namespace: 'ns', name: 'web', uid: 'u-1' },
    spec: {
      type: over.type ?? 'LoadBalancer',
      ...(over.cls === undefined
        ? { loadBalancerClass: 'sluice.dev/lb' }
        : over.cls
          ? { loadBalancerClass: over.cls }
          : {}),
      ...(over.policy ? { externalTrafficPolicy: over.policy } : {}),
    },
    status: { loadBalancer: { ingress: (over.ips ?? ['198.51.100.200']).map((ip) => ({ ip })) } },
  };
}

describe('serviceFacts', () => {
  it('takes LoadBalancer Services of our class that have published addresses', () => {
    assert.deepEqual(
      serviceFacts(
        svc({ ips: ['198.51.100.200', '2001:db8::5', '198.51.100.200'], policy: 'Local' }),
        selection,
      ),
      {
        key: 'ns/web',
        namespace: 'ns',
        name: 'web',
        uid: 'u-1',
        addresses: ['198.51.100.200', '2001:db8::5'],
        trafficPolicy: 'Local',
      },
    );
  });

  it('leaves out other classes, other types, Services without addresses, and unclassed ones unless asked', () => {
    assert.equal(serviceFacts(svc({ cls: 'other.io/lb' }), selection), undefined);
    assert.equal(serviceFacts(svc({ type: 'NodePort' }), selection), undefined);
    assert.equal(serviceFacts(svc({ ips: [] }), selection), undefined);
    assert.equal(serviceFacts(svc({ cls: '' }), selection), undefined);
    assert.equal(serviceFacts(svc({ cls: '' }), { ...selection, manageUnclassed: true })?.key, 'ns/web');
  });
});

describe('nodeFacts', () => {
  it('reads Ready, NetworkUnavailable and the exclusion label', () => {
    const node: V1Node = {
      metadata: { name: 'n1', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } },
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'NetworkUnavailable', status: 'True' },
        ],
      },
    };
    assert.deepEqual(nodeFacts(node), {
      name: 'n1',
      labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
      ready: true,
      networkUnavailable: true,
      excluded: true,
    });
    const unknown = nodeFacts({
      metadata: { name: 'n2' },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
    });
    assert.equal(unknown.ready, false);
    assert.equal(nodeFacts({ metadata: { name: 'n3' } }).ready, false);
  });
});

describe('poolFacts', () => {
  it('parses the entries it can and keeps the labels', () => {
    const facts = poolFacts({
      metadata: { name: 'p', labels: { zone: 'a' } },
      spec: { addresses: ['198.51.100.0/30', 'garbage', 7, '2001:db8::1-2001:db8::2'] },
    });
    assert.equal(facts.name, 'p');
    assert.deepEqual(facts.labels, { zone: 'a' });
    assert.deepEqual(
      facts.ranges.map((r) => [r.family, r.last - r.first + 1n]),
      [
        ['IPv4', 4n],
        ['IPv6', 2n],
      ],
    );
    assert.deepEqual(poolFacts({ metadata: { name: 'empty' } }).ranges, []);
  });
});

describe('advertisementFacts', () => {
  it('reads a valid spec', () => {
    const { facts, problems } = advertisementFacts({
      metadata: { name: 'ad' },
      spec: {
        addressPools: ['a', 'a', 'b'],
        addressPoolSelectors: [{ matchLabels: { zone: 'x' } }],
        nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1'] }] }],
        interfaces: ['eth0', 'bond0.100'],
      },
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(facts, {
      name: 'ad',
      pools: ['a', 'b'],
      poolSelectors: [{ matchLabels: { zone: 'x' } }],
      nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1'] }] }],
      interfaces: ['eth0', 'bond0.100'],
    });
    assert.deepEqual(advertisementFacts({ metadata: { name: 'all' } }).facts, {
      name: 'all',
      pools: [],
      poolSelectors: [],
      nodeSelectors: [],
      interfaces: [],
    });
  });

  it('turns any problem into an advertisement that selects no node, and names the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { interfaces: ['eth0', 'has space'] },
        /spec\.interfaces\[1\]: "has space" is not a Linux interface name/,
      ],
      [{ interfaces: ['averyveryverylongname'] }, /is not a Linux interface name/],
      [{ addressPools: 'a' }, /spec\.addressPools must be a list of strings/],
      [
        { nodeSelectors: [{ matchLabel: { a: 'b' } }] },
        /spec\.nodeSelectors\[0\] has an unknown field "matchLabel"/,
      ],
      [{ addressPoolSelectors: {} }, /spec\.addressPoolSelectors must be a list of label selectors/],
      ['nope', /spec must be an object/],
    ];
    for (const [spec, problem] of cases) {
      const { facts, problems } = advertisementFacts({ metadata: { name: 'bad' }, spec });
      assert.match(problems.join('\n'), problem);
      assert.match(problems[0] ?? '', /^L2Advertisement bad: .*; it announces nothing until fixed$/);
      assert.deepEqual(facts.nodeSelectors, [undefined]);
    }
  });
});

describe('endpointNodesByService', () => {
  it('sorts endpoint nodes into ready and still-serving-while-terminating, per Service', () => {
    const slice = (service: string, endpoints: V1EndpointSlice['endpoints']): V1EndpointSlice => ({
      addressType: 'IPv4',
      metadata: { namespace: 'ns', labels: { 'kubernetes.io/service-name': service } },
      endpoints,
    });
    const result = endpointNodesByService([
      slice('web', [
        { addresses: ['10.0.0.1'], nodeName: 'ready', conditions: { ready: true } },
        { addresses: ['10.0.0.2'], nodeName: 'unset', conditions: {} },
        { addresses: ['10.0.0.3'], nodeName: 'serving-unset-ready', conditions: { serving: true } },
        { addresses: ['10.0.0.4'], nodeName: 'not-serving', conditions: { serving: false } },
        {
          addresses: ['10.0.0.5'],
          nodeName: 'terminating',
          conditions: { ready: false, serving: true, terminating: true },
        },
        { addresses: ['10.0.0.6'], nodeName: 'not-ready', conditions: { ready: false } },
        { addresses: ['10.0.0.7'], conditions: { ready: true } },
      ]),
      slice('web', [{ addresses: ['10.0.1.1'], nodeName: 'other-slice', conditions: { ready: true } }]),
      slice('api', [{ addresses: ['10.0.2.1'], nodeName: 'api-node' }]),
      {
        addressType: 'IPv4',
        metadata: { namespace: 'ns' },
        endpoints: [{ addresses: ['10.9.9.9'], nodeName: 'x' }],
      },
    ]);
    assert.deepEqual([...result.keys()].sort(), ['ns/api', 'ns/web']);
    assert.deepEqual([...(result.get('ns/web')?.ready ?? [])].sort(), [
      'other-slice',
      'ready',
      'serving-unset-ready',
      'unset',
    ]);
    assert.deepEqual([...(result.get('ns/web')?.serving ?? [])], ['terminating']);
    assert.deepEqual([...(result.get('ns/api')?.ready ?? [])], ['api-node']);
  });
});
