// GKE annotations and the Service spec → what the GCP provider builds, and every problem a user can
// cause, with the key it is about.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerIntent, TargetNode } from '../../src/intent/types.ts';
import {
  addressName,
  allServiceNames,
  backendName,
  clusterPrefix,
  isOwned,
  isValidName,
  ownershipDescription,
} from '../../src/providers/gcp/names.ts';
import { nodeInstances } from '../../src/providers/gcp/nodes.ts';
import { readGcpSettings } from '../../src/providers/gcp/settings.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

const CONFIG = { subnetwork: 'nodes' };
const read = (overrides: Partial<LoadBalancerIntent>, config: { subnetwork?: string } = CONFIG) =>
  readGcpSettings(plainIntent(overrides), config);
const problems = (overrides: Partial<LoadBalancerIntent>, config?: { subnetwork?: string }) =>
  read(overrides, config).problems.map((p) => `${p.severity} ${p.reason} ${p.field}`);

describe('readGcpSettings', () => {
  it('defaults: external, Premium, the shared check, open to all', () => {
    const { settings, problems: found } = read({});
    assert.deepEqual(found, []);
    assert.deepEqual(settings, {
      scheme: 'EXTERNAL',
      allowGlobalAccess: false,
      networkTier: 'PREMIUM',
      sessionAffinity: 'NONE',
      sourceRanges: ['0.0.0.0/0'],
      healthCheck: { kind: 'shared' },
      ports: { TCP: [80], UDP: [] },
    });
  });

  for (const [key, value] of [
    ['networking.gke.io/load-balancer-type', 'Internal'],
    ['cloud.google.com/load-balancer-type', 'internal'],
    ['cloud.google.com/load-balancer-type', 'INTERNAL'],
  ] as const) {
    it(`${key}: ${value} → internal in the configured subnetwork`, () => {
      const { settings } = read({ annotations: { [key]: value } });
      assert.equal(settings?.scheme, 'INTERNAL');
      assert.equal(settings?.subnetwork, 'nodes');
    });
  }

  it('internal: subnet and global access from annotations', () => {
    const { settings } = read({
      internal: true,
      annotations: {
        'sluice.dev/internal': 'true',
        'networking.gke.io/internal-load-balancer-subnet': 'ilb-subnet',
        'networking.gke.io/internal-load-balancer-allow-global-access': 'true',
      },
    });
    assert.equal(settings?.scheme, 'INTERNAL');
    assert.equal(settings?.subnetwork, 'ilb-subnet');
    assert.equal(settings?.allowGlobalAccess, true);
  });

  const cases: Array<[string, Partial<LoadBalancerIntent>, string[], { subnetwork?: string }?]> = [
    [
      'an unknown type',
      { annotations: { 'networking.gke.io/load-balancer-type': 'Regional' } },
      ['error InvalidAnnotation networking.gke.io/load-balancer-type'],
    ],
    [
      'the two type keys disagree',
      {
        annotations: {
          'networking.gke.io/load-balancer-type': 'Internal',
          'cloud.google.com/load-balancer-type': 'External',
        },
      },
      ['error ConflictingAnnotations cloud.google.com/load-balancer-type'],
    ],
    [
      'sluice.dev/internal disagrees with the GKE key',
      {
        internal: false,
        annotations: { 'sluice.dev/internal': 'false', 'cloud.google.com/load-balancer-type': 'Internal' },
      },
      ['error ConflictingAnnotations sluice.dev/internal'],
    ],
    [
      'internal without any subnetwork',
      { annotations: { 'cloud.google.com/load-balancer-type': 'Internal' } },
      ['error InvalidSpec networking.gke.io/internal-load-balancer-subnet'],
      {},
    ],
    [
      'a subnet that is not a name',
      {
        annotations: {
          'cloud.google.com/load-balancer-type': 'Internal',
          'networking.gke.io/internal-load-balancer-subnet': 'Bad_Subnet',
        },
      },
      ['error InvalidAnnotation networking.gke.io/internal-load-balancer-subnet'],
    ],
    [
      'internal-only keys on an external Service',
      {
        annotations: {
          'networking.gke.io/internal-load-balancer-subnet': 'x',
          'networking.gke.io/internal-load-balancer-allow-global-access': 'true',
        },
      },
      [
        'warning InvalidAnnotation networking.gke.io/internal-load-balancer-subnet',
        'warning InvalidAnnotation networking.gke.io/internal-load-balancer-allow-global-access',
      ],
    ],
    [
      'global access not a boolean',
      {
        annotations: {
          'cloud.google.com/load-balancer-type': 'Internal',
          'networking.gke.io/internal-load-balancer-allow-global-access': 'yes',
        },
      },
      ['error InvalidAnnotation networking.gke.io/internal-load-balancer-allow-global-access'],
    ],
    [
      'a tier that does not exist',
      { annotations: { 'cloud.google.com/network-tier': 'Gold' } },
      ['error InvalidAnnotation cloud.google.com/network-tier'],
    ],
    [
      'a tier on an internal Service',
      {
        annotations: {
          'cloud.google.com/network-tier': 'Standard',
          'cloud.google.com/load-balancer-type': 'Internal',
        },
      },
      ['warning InvalidAnnotation cloud.google.com/network-tier'],
    ],
    [
      'GKE keys Sluice does not implement',
      { annotations: { 'cloud.google.com/neg': '{}' } },
      ['warning Unsupported cloud.google.com/neg'],
    ],
    [
      'two requested addresses',
      { requestedAddresses: ['203.0.113.1', '203.0.113.2'] },
      ['error Unsupported spec.loadBalancerIP'],
    ],
    [
      'an IPv6 requested address',
      { requestedAddresses: ['2001:db8::1'] },
      ['error Unsupported spec.loadBalancerIP'],
    ],
    [
      'RequireDualStack',
      { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] },
      ['error Unsupported spec.ipFamilies'],
    ],
    [
      'an IPv6 source range',
      { sourceRanges: ['2001:db8::/32'] },
      ['error Unsupported spec.loadBalancerSourceRanges'],
    ],
    ['SCTP', { ports: [{ name: 's', protocol: 'SCTP', port: 9 }] }, ['error Unsupported spec.ports']],
    [
      'Local without a health-check port',
      { trafficPolicy: 'Local' },
      ['error InvalidSpec spec.healthCheckNodePort'],
    ],
  ];
  for (const [what, overrides, want, config] of cases) {
    it(what, () => {
      assert.deepEqual(problems(overrides, config ?? CONFIG).sort(), [...want].sort());
      const errors = want.some((w) => w.startsWith('error'));
      assert.equal(
        read(overrides, config ?? CONFIG).settings === undefined,
        errors,
        'settings only without errors',
      );
    });
  }

  it('the rest of the spec: tier, affinity, ranges, requested IP, Local, ports by protocol', () => {
    const { settings } = read({
      annotations: { 'cloud.google.com/network-tier': 'standard' },
      sessionAffinity: 'ClientIP',
      sourceRanges: ['192.0.2.0/24'],
      requestedAddresses: ['203.0.113.9'],
      trafficPolicy: 'Local',
      healthCheckNodePort: 32000,
      ports: [
        { name: 'b', protocol: 'TCP', port: 443 },
        { name: 'a', protocol: 'TCP', port: 80 },
        { name: 'd', protocol: 'UDP', port: 53 },
      ],
    });
    assert.equal(settings?.networkTier, 'STANDARD');
    assert.equal(settings?.sessionAffinity, 'CLIENT_IP');
    assert.deepEqual(settings?.sourceRanges, ['192.0.2.0/24']);
    assert.equal(settings?.requestedIp, '203.0.113.9');
    assert.deepEqual(settings?.healthCheck, { kind: 'service', port: 32000 });
    assert.deepEqual(settings?.ports, { TCP: [80, 443], UDP: [53] });
  });
});

describe('names and nodes', () => {
  const service = {
    namespace: 'a-very-long-namespace-name',
    name: 'x'.repeat(63),
    uid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
  };
  it('every name is RFC 1035 and at most 63 characters, whatever the cluster is called', () => {
    for (const cluster of ['prod', 'Prod Cluster #1', 'x'.repeat(200)]) {
      const all = Object.values(allServiceNames(cluster, service)).flat();
      assert.equal(all.length, 9);
      for (const name of all) assert.ok(isValidName(name) && name.length <= 63, name);
      assert.ok(clusterPrefix(cluster).startsWith('sl-'));
    }
    assert.notEqual(addressName('c', service, 'EXTERNAL'), addressName('c', service, 'INTERNAL'));
    assert.notEqual(
      backendName('c', service, 'EXTERNAL', 'TCP'),
      backendName('c', service, 'EXTERNAL', 'UDP'),
    );
  });

  it('ownership is read back from the description, per cluster and Service', () => {
    const description = ownershipDescription('prod', service);
    assert.ok(isOwned(description, 'prod', service.uid));
    assert.ok(isOwned(description, 'prod'));
    assert.ok(!isOwned(description, 'staging'));
    assert.ok(!isOwned(description, 'prod', 'another-uid'));
    assert.ok(!isOwned('made by hand', 'prod'));
    assert.ok(isOwned(ownershipDescription('prod'), 'prod'), 'shared resources');
  });

  it('nodes → instances by zone; other projects and other clouds are skipped with why', () => {
    const node = (name: string, providerID?: string): TargetNode => ({
      name,
      labels: {},
      internalAddresses: [],
      ...(providerID ? { providerID } : {}),
    });
    const { byZone, skipped } = nodeInstances(
      [
        node('b', 'gce://p1/us-central1-b/vm-b'),
        node('a', 'gce://p1/us-central1-a/vm-a'),
        node('a2', 'gce://p1/us-central1-a/vm-a2'),
        node('other', 'gce://p2/us-central1-a/vm-x'),
        node('aws', 'aws:///us-east-1a/i-1'),
        node('none'),
      ],
      'p1',
    );
    assert.deepEqual(byZone, {
      'us-central1-a': [
        'projects/p1/zones/us-central1-a/instances/vm-a',
        'projects/p1/zones/us-central1-a/instances/vm-a2',
      ],
      'us-central1-b': ['projects/p1/zones/us-central1-b/instances/vm-b'],
    });
    assert.equal(skipped.length, 3);
    assert.match(skipped[0]!, /project p2/);
  });
});
