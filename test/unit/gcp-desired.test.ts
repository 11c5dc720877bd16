// The desired load balancer of one Service: names, URLs, the address (Sluice's or the user's), the
// health check by traffic policy, backends per protocol, rules (ports or all ports), firewalls, groups.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerIntent } from '../../src/intent/types.ts';
import { desiredLoadBalancer } from '../../src/providers/gcp/desired.ts';
import {
  type AddressSpec,
  type Existing,
  type GcpConfig,
  type GcpObserved,
  operationsOnly,
} from '../../src/providers/gcp/model.ts';
import {
  addressName,
  backendName,
  clientFirewallName,
  instanceGroupName,
  ownershipDescription,
  serviceHealthCheckName,
  serviceHealthFirewallName,
  sharedHealthCheckName,
  sharedHealthFirewallName,
} from '../../src/providers/gcp/names.ts';
import { readGcpSettings } from '../../src/providers/gcp/settings.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

const CONFIG: GcpConfig = {
  project: 'p',
  region: 'r1',
  network: 'vpc',
  subnetwork: 'nodes',
  cluster: 'kube',
  nodeTags: ['node'],
};
const SVC = { namespace: 'shop', name: 'web', uid: 'u1' };
const empty: GcpObserved = operationsOnly([], []);
const intent = (overrides: Partial<LoadBalancerIntent> = {}) =>
  plainIntent({
    service: SVC,
    nodes: [
      { name: 'b', providerID: 'gce://p/r1-b/vm-b', labels: {}, internalAddresses: [] },
      { name: 'a', providerID: 'gce://p/r1-a/vm-a', labels: {}, internalAddresses: [] },
      { name: 'x', providerID: 'gce://p/r2-a/vm-x', labels: {}, internalAddresses: [] },
    ],
    ...overrides,
  });
const desired = (i: LoadBalancerIntent, observed: GcpObserved = empty) => {
  const { settings } = readGcpSettings(i, CONFIG);
  assert.ok(settings);
  return desiredLoadBalancer(i, settings, CONFIG, observed);
};
const ownAddress = (scheme: 'EXTERNAL' | 'INTERNAL', ip: string): Existing<AddressSpec> => ({
  name: addressName('kube', SVC, scheme),
  addressType: scheme,
  address: ip,
  selfLink: 'x',
  description: ownershipDescription('kube', SVC),
  status: 'RESERVED',
});

describe('desiredLoadBalancer', () => {
  it('external, ETP Cluster: the shared check, one TCP backend and rule, URLs in projects/… form', () => {
    const d = desired(intent(), { ...empty, addresses: [ownAddress('EXTERNAL', '203.0.113.5')] });
    assert.deepEqual(d.address, {
      name: addressName('kube', SVC, 'EXTERNAL'),
      addressType: 'EXTERNAL',
      networkTier: 'PREMIUM',
    });
    assert.equal(d.userAddress, undefined);
    assert.deepEqual(d.healthCheck, {
      name: sharedHealthCheckName('kube'),
      port: 10256,
      requestPath: '/healthz',
      checkIntervalSec: 8,
      timeoutSec: 1,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
      shared: true,
    });
    const name = backendName('kube', SVC, 'EXTERNAL', 'TCP');
    assert.deepEqual(d.backendServices, [
      {
        name,
        scheme: 'EXTERNAL',
        protocol: 'TCP',
        sessionAffinity: 'NONE',
        healthCheck: `projects/p/regions/r1/healthChecks/${sharedHealthCheckName('kube')}`,
        groups: [
          `projects/p/zones/r1-a/instanceGroups/${instanceGroupName('kube')}`,
          `projects/p/zones/r1-b/instanceGroups/${instanceGroupName('kube')}`,
        ],
      },
    ]);
    assert.deepEqual(d.forwardingRules, [
      {
        name,
        scheme: 'EXTERNAL',
        protocol: 'TCP',
        ip: '203.0.113.5',
        ports: [80],
        backendService: `projects/p/regions/r1/backendServices/${name}`,
        networkTier: 'PREMIUM',
      },
    ]);
    assert.deepEqual(
      d.firewalls.map((f) => [
        f.name,
        f.network,
        f.sourceRanges,
        f.destinationRanges,
        f.allowed,
        f.targetTags,
      ]),
      [
        [
          clientFirewallName('kube', SVC),
          'projects/p/global/networks/vpc',
          ['0.0.0.0/0'],
          ['203.0.113.5'],
          [{ protocol: 'tcp', ports: ['80'] }],
          ['node'],
        ],
        [
          sharedHealthFirewallName('kube'),
          'projects/p/global/networks/vpc',
          ['130.211.0.0/22', '35.191.0.0/16'],
          undefined,
          [{ protocol: 'tcp', ports: ['10256'] }],
          ['node'],
        ],
      ],
    );
    // The node in another region has no group (a regional backend service cannot use it).
    assert.deepEqual(
      d.instanceGroups.map((g) => [g.zone, g.instances]),
      [
        ['r1-a', ['projects/p/zones/r1-a/instances/vm-a']],
        ['r1-b', ['projects/p/zones/r1-b/instances/vm-b']],
      ],
    );
  });

  it('before the address exists the IP is unknown (empty): the plan defers what needs it', () => {
    const d = desired(intent());
    assert.equal(d.forwardingRules[0]?.ip, '');
    assert.deepEqual(d.firewalls[0]?.destinationRanges, ['']);
  });

  it('internal, ETP Local, TCP and UDP, six ports: shareable internal address, own check, allPorts', () => {
    const d = desired(
      intent({
        annotations: { 'networking.gke.io/load-balancer-type': 'Internal' },
        trafficPolicy: 'Local',
        healthCheckNodePort: 31000,
        ports: [
          ...[1, 2, 3, 4, 5, 6].map((port) => ({ name: `t${port}`, protocol: 'TCP' as const, port })),
          { name: 'dns', protocol: 'UDP' as const, port: 53 },
        ],
      }),
      { ...empty, addresses: [ownAddress('INTERNAL', '10.0.0.7')] },
    );
    assert.deepEqual(d.address, {
      name: addressName('kube', SVC, 'INTERNAL'),
      addressType: 'INTERNAL',
      subnetwork: 'projects/p/regions/r1/subnetworks/nodes',
      purpose: 'SHARED_LOADBALANCER_VIP',
    });
    assert.equal(d.healthCheck.name, serviceHealthCheckName('kube', SVC));
    assert.deepEqual(
      [d.healthCheck.port, d.healthCheck.checkIntervalSec, d.healthCheck.unhealthyThreshold],
      [31000, 3, 2],
    );
    assert.deepEqual(
      d.forwardingRules.map((r) => [
        r.protocol,
        r.ports,
        r.ip,
        r.networkTier,
        r.subnetwork,
        r.allowGlobalAccess,
      ]),
      [
        ['TCP', 'all', '10.0.0.7', undefined, 'projects/p/regions/r1/subnetworks/nodes', false],
        ['UDP', [53], '10.0.0.7', undefined, 'projects/p/regions/r1/subnetworks/nodes', false],
      ],
    );
    assert.ok(d.backendServices.every((b) => b.network === 'projects/p/global/networks/vpc'));
    assert.deepEqual(
      d.firewalls.map((f) => [f.name, f.allowed]),
      [
        [
          clientFirewallName('kube', SVC),
          [
            { protocol: 'tcp', ports: ['1', '2', '3', '4', '5', '6'] },
            { protocol: 'udp', ports: ['53'] },
          ],
        ],
        [serviceHealthFirewallName('kube', SVC), [{ protocol: 'tcp', ports: ['31000'] }]],
      ],
    );
  });

  it('the user’s own reserved address: no address of Sluice’s, its IP everywhere', () => {
    const d = desired(intent({ requestedAddresses: ['198.51.100.7'] }), {
      ...empty,
      requestedAddress: {
        name: 'mine',
        ip: '198.51.100.7',
        owned: false,
        status: 'RESERVED',
        addressType: 'EXTERNAL',
      },
    });
    assert.equal(d.address, undefined);
    assert.deepEqual(d.userAddress, { name: 'mine', ip: '198.51.100.7' });
    assert.equal(d.forwardingRules[0]?.ip, '198.51.100.7');
    assert.deepEqual(d.firewalls[0]?.destinationRanges, ['198.51.100.7']);
  });

  it('a requested IP on Sluice’s own address: its own address, asked for by IP', () => {
    const d = desired(intent({ requestedAddresses: ['203.0.113.5'] }), {
      ...empty,
      addresses: [ownAddress('EXTERNAL', '203.0.113.5')],
      requestedAddress: {
        name: addressName('kube', SVC, 'EXTERNAL'),
        ip: '203.0.113.5',
        owned: true,
        status: 'IN_USE',
        addressType: 'EXTERNAL',
      },
    });
    assert.equal(d.userAddress, undefined);
    assert.equal(d.address?.address, '203.0.113.5');
    assert.equal(d.forwardingRules[0]?.ip, '203.0.113.5');
  });

  it('more than 100 separate ports: the client firewall holds ranges, within Compute’s limit', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      name: `p${i}`,
      protocol: 'TCP' as const,
      port: 3000 + i,
    }));
    const d = desired(intent({ ports: many }));
    assert.deepEqual(d.firewalls[0]?.allowed, [{ protocol: 'tcp', ports: ['3000-3149'] }]);
    assert.equal(d.forwardingRules[0]?.ports, 'all');
  });

  it('no eligible nodes: no groups, backend services without backends', () => {
    const d = desired(intent({ nodes: [] }));
    assert.deepEqual(d.instanceGroups, []);
    assert.deepEqual(d.backendServices[0]?.groups, []);
  });
});
