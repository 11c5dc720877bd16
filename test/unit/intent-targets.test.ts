import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1EndpointSlice, V1Node } from '@kubernetes/client-node';
import { EXCLUDE_LABEL, serviceEndpoints, targetNodes } from '../../src/intent/targets.ts';

function node(
  name: string,
  extra: { labels?: Record<string, string>; deleting?: boolean; taint?: string } = {},
): V1Node {
  return {
    metadata: {
      name,
      labels: extra.labels ?? {},
      ...(extra.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: {
      providerID: `aws:///us-east-1a/i-${name}`,
      ...(extra.taint ? { taints: [{ key: extra.taint, effect: 'NoSchedule' }] } : {}),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: `10.0.0.${name.length}` },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'False' }],
    },
  };
}

describe('targetNodes: the stable node set', () => {
  it('keeps NotReady nodes and maps providerID, labels and internal addresses', () => {
    assert.deepEqual(targetNodes([node('b', { labels: { zone: 'a' } }), node('a')]), [
      { name: 'a', providerID: 'aws:///us-east-1a/i-a', labels: {}, internalAddresses: ['10.0.0.1'] },
      {
        name: 'b',
        providerID: 'aws:///us-east-1a/i-b',
        labels: { zone: 'a' },
        internalAddresses: ['10.0.0.1'],
      },
    ]);
  });

  it('drops nodes being deleted, excluded by label (any value but false) or tainted by the autoscaler', () => {
    const names = targetNodes([
      node('deleting', { deleting: true }),
      node('excluded', { labels: { [EXCLUDE_LABEL]: 'true' } }),
      node('excluded-odd', { labels: { [EXCLUDE_LABEL]: 'yes please' } }),
      node('included', { labels: { [EXCLUDE_LABEL]: 'False' } }),
      node('scaling-down', { taint: 'ToBeDeletedByClusterAutoscaler' }),
      node('tainted-otherwise', { taint: 'dedicated' }),
    ]).map((n) => n.name);
    assert.deepEqual(names, ['included', 'tainted-otherwise']);
  });
});

function slice(
  addressType: string,
  endpoints: V1EndpointSlice['endpoints'],
  ports: V1EndpointSlice['ports'] = [{ name: 'http', port: 8080, protocol: 'TCP' }],
): V1EndpointSlice {
  return { addressType, endpoints, ports, metadata: { name: 'web-x', namespace: 'shop' } };
}

describe('serviceEndpoints', () => {
  it('lists ready endpoints of both families with their ports; unset ready means ready', () => {
    assert.deepEqual(
      serviceEndpoints([
        slice('IPv4', [
          { addresses: ['10.1.0.2'], conditions: { ready: true }, nodeName: 'n1' },
          { addresses: ['10.1.0.3'], conditions: { ready: false } },
          { addresses: ['10.1.0.1'] },
        ]),
        slice('IPv6', [{ addresses: ['fd00::5'], conditions: { ready: true } }]),
        slice('FQDN', [{ addresses: ['example.com'] }]),
      ]),
      [
        { address: '10.1.0.1', family: 'IPv4', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
        {
          address: '10.1.0.2',
          family: 'IPv4',
          nodeName: 'n1',
          ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
        },
        { address: 'fd00::5', family: 'IPv6', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
      ],
    );
  });

  it('counts an endpoint in two slices once, with the ports of both', () => {
    const result = serviceEndpoints([
      slice('IPv4', [{ addresses: ['10.1.0.1'] }]),
      slice('IPv4', [{ addresses: ['10.1.0.1'] }], [{ name: 'dns', port: 53, protocol: 'UDP' }]),
    ]);
    assert.deepEqual(result, [
      {
        address: '10.1.0.1',
        family: 'IPv4',
        ports: [
          { name: 'http', protocol: 'TCP', port: 8080 },
          { name: 'dns', protocol: 'UDP', port: 53 },
        ],
      },
    ]);
  });
});
