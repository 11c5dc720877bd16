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
import { readGcpSettings, UNSUPPORTED_GKE_KEYS } from '../../src/providers/gcp/settings.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

type Config = { subnetwork?: string; region?: string };
const CONFIG: Config = { subnetwork: 'nodes' };
const read = (overrides: Partial<LoadBalancerIntent>, config: Config = CONFIG) =>
  readGcpSettings(plainIntent(overrides), config);
const problems = (overrides: Partial<LoadBalancerIntent>, config?: Config) =>
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

  const schemes: Array<[string, Partial<LoadBalancerIntent>, 'EXTERNAL' | 'INTERNAL']> = [
    [
      'External, explicitly',
      { annotations: { 'networking.gke.io/load-balancer-type': 'External' } },
      'EXTERNAL',
    ],
    ['a blank type is not set', { annotations: { 'networking.gke.io/load-balancer-type': ' ' } }, 'EXTERNAL'],
    [
      'the portable key alone',
      { internal: true, annotations: { 'sluice.dev/internal': 'true' } },
      'INTERNAL',
    ],
    [
      'both GKE keys and the portable key agree',
      {
        internal: true,
        annotations: {
          'sluice.dev/internal': 'true',
          'networking.gke.io/load-balancer-type': 'Internal',
          'cloud.google.com/load-balancer-type': 'internal',
        },
      },
      'INTERNAL',
    ],
    [
      // decide() reports the bad value (and reads it as false); it does not vote against the GKE key.
      'a portable value that is not a boolean does not vote',
      {
        internal: false,
        annotations: { 'sluice.dev/internal': 'maybe', 'cloud.google.com/load-balancer-type': 'Internal' },
      },
      'INTERNAL',
    ],
  ];
  for (const [what, overrides, want] of schemes) {
    it(`scheme: ${what}`, () => {
      const { settings, problems: found } = read(overrides);
      assert.deepEqual(found, []);
      assert.equal(settings?.scheme, want);
    });
  }

  const INTERNAL = { 'networking.gke.io/load-balancer-type': 'Internal' };
  const SUBNET = 'networking.gke.io/internal-load-balancer-subnet';
  const subnets: Array<[string, string | undefined, Config, string]> = [
    ['the configured one', undefined, { subnetwork: 'nodes' }, 'nodes'],
    ['a name beats the configured one', 'ilb-subnet', { subnetwork: 'nodes' }, 'ilb-subnet'],
    ['a partial URL', 'projects/p/regions/r/subnetworks/ilb', {}, 'projects/p/regions/r/subnetworks/ilb'],
    [
      'a full URL',
      'https://www.googleapis.com/compute/v1/projects/p/regions/r/subnetworks/ilb',
      {},
      'https://www.googleapis.com/compute/v1/projects/p/regions/r/subnetworks/ilb',
    ],
    ['a blank annotation falls back to the configured one', '', { subnetwork: 'nodes' }, 'nodes'],
  ];
  for (const [what, annotation, config, want] of subnets) {
    it(`internal subnetwork: ${what}`, () => {
      const annotations = annotation === undefined ? INTERNAL : { ...INTERNAL, [SUBNET]: annotation };
      const { settings, problems: found } = read({ annotations }, config);
      assert.deepEqual(found, []);
      assert.equal(settings?.subnetwork, want);
    });
  }

  it('the newer key networking.gke.io/load-balancer-subnet: alone, or equal to the older key', () => {
    for (const annotations of [
      { ...INTERNAL, 'networking.gke.io/load-balancer-subnet': 'ilb' },
      {
        ...INTERNAL,
        'networking.gke.io/load-balancer-subnet': 'ilb',
        [SUBNET]: 'ilb',
      },
    ]) {
      const { settings, problems: found } = read({ annotations });
      assert.deepEqual(found, []);
      assert.equal(settings?.subnetwork, 'ilb');
    }
  });

  it('a subnetwork URL of the configured region is accepted', () => {
    const url = 'projects/p/regions/r1/subnetworks/ilb';
    const { settings, problems: found } = read(
      { annotations: { ...INTERNAL, [SUBNET]: url } },
      { subnetwork: 'nodes', region: 'r1' },
    );
    assert.deepEqual(found, []);
    assert.equal(settings?.subnetwork, url);
  });

  it('global access: any case of true/false', () => {
    const on = read({
      annotations: { ...INTERNAL, 'networking.gke.io/internal-load-balancer-allow-global-access': 'True' },
    });
    assert.deepEqual(on.problems, []);
    assert.equal(on.settings?.allowGlobalAccess, true);
  });

  it('an external load balancer has no subnetwork, whatever is configured', () => {
    assert.equal(read({}, { subnetwork: 'nodes' }).settings?.subnetwork, undefined);
  });

  it('global access "false" on an internal Service', () => {
    const { settings, problems: found } = read({
      annotations: { ...INTERNAL, 'networking.gke.io/internal-load-balancer-allow-global-access': 'false' },
    });
    assert.deepEqual(found, []);
    assert.equal(settings?.allowGlobalAccess, false);
  });

  const cases: Array<[string, Partial<LoadBalancerIntent>, string[], Config?]> = [
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
      ['error Unsupported spec.ipFamilyPolicy'],
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
    [
      'the portable key disagrees the other way',
      {
        internal: true,
        annotations: { 'sluice.dev/internal': 'true', 'networking.gke.io/load-balancer-type': 'External' },
      },
      ['error ConflictingAnnotations sluice.dev/internal'],
    ],
    [
      'global access not a boolean on an external Service',
      { annotations: { 'networking.gke.io/internal-load-balancer-allow-global-access': 'sometimes' } },
      ['error InvalidAnnotation networking.gke.io/internal-load-balancer-allow-global-access'],
    ],
    ['IPv6 only', { ipFamilies: ['IPv6'] }, ['error Unsupported spec.ipFamilies']],
    [
      'source ranges from an annotation name it',
      { sourceRanges: ['10.0.0.0/8', '2001:db8::/32'], sourceRangesField: 'sluice.dev/source-ranges' },
      ['error Unsupported sluice.dev/source-ranges'],
    ],
    [
      'every problem at once, not only the first',
      {
        annotations: {
          'cloud.google.com/load-balancer-type': 'Internal',
          'networking.gke.io/internal-load-balancer-subnet': 'Bad_Subnet',
          'cloud.google.com/network-tier': 'Gold',
          'cloud.google.com/l4-rbs': 'enabled',
        },
        ports: [{ name: 's', protocol: 'SCTP', port: 9 }],
      },
      [
        'error InvalidAnnotation networking.gke.io/internal-load-balancer-subnet',
        'error InvalidAnnotation cloud.google.com/network-tier',
        'warning Unsupported cloud.google.com/l4-rbs',
        'error Unsupported spec.ports',
      ],
    ],
    [
      'annotations of nobody Sluice knows are ignored',
      { annotations: { 'cloud.google.com/some-future-key': 'x', 'example.com/team': 'web' } },
      [],
    ],
    [
      'PreferDualStack is served on IPv4 only, with a warning',
      { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] },
      ['warning Unsupported spec.ipFamilies'],
    ],
    [
      'PreferDualStack in a single-stack cluster (IPv4 only) says nothing',
      { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4'] },
      [],
    ],
    [
      'RequireDualStack with IPv6 first',
      { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] },
      ['error Unsupported spec.ipFamilyPolicy'],
    ],
    [
      'the two subnet keys disagree',
      {
        annotations: {
          ...INTERNAL,
          'networking.gke.io/internal-load-balancer-subnet': 'a',
          'networking.gke.io/load-balancer-subnet': 'b',
        },
      },
      ['error ConflictingAnnotations networking.gke.io/load-balancer-subnet'],
    ],
    [
      'the newer subnet key on an external Service',
      { annotations: { 'networking.gke.io/load-balancer-subnet': 'x' } },
      ['warning InvalidAnnotation networking.gke.io/load-balancer-subnet'],
    ],
    [
      'a bad value of the newer subnet key',
      { annotations: { ...INTERNAL, 'networking.gke.io/load-balancer-subnet': 'no spaces' } },
      ['error InvalidAnnotation networking.gke.io/load-balancer-subnet'],
    ],
    [
      'a subnetwork URL of another region',
      {
        annotations: {
          ...INTERNAL,
          'networking.gke.io/internal-load-balancer-subnet': 'projects/p/regions/elsewhere/subnetworks/s',
        },
      },
      ['error InvalidAnnotation networking.gke.io/internal-load-balancer-subnet'],
      { subnetwork: 'nodes', region: 'r1' },
    ],
    [
      'a blank subnet key next to a set one is not a conflict',
      {
        annotations: {
          ...INTERNAL,
          'networking.gke.io/internal-load-balancer-subnet': ' ',
          'networking.gke.io/load-balancer-subnet': 'ilb',
        },
      },
      [],
    ],
    [
      'a tier with any case on an external Service',
      { annotations: { 'cloud.google.com/network-tier': 'PREMIUM' } },
      [],
    ],
    [
      'an unknown networking.gke.io key',
      { annotations: { 'networking.gke.io/load-balancer-magic': 'on' } },
      ['warning Unsupported networking.gke.io/load-balancer-magic'],
    ],
    [
      'what GKE controllers write on a Service is not a setting',
      {
        annotations: {
          'networking.gke.io/backend-service': 'k8s2-x',
          'networking.gke.io/target-pool': 'a123',
        },
      },
      [],
    ],
    [
      'other clouds’ keys are not GCP’s: ignored',
      {
        annotations: {
          'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
          'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
        },
      },
      [],
    ],
    [
      'a blank key Sluice does not implement is not set',
      { annotations: { 'cloud.google.com/l4-rbs': '' } },
      [],
    ],
    [
      'a second SCTP port is named too',
      {
        ports: [
          { name: 'a', protocol: 'SCTP', port: 9 },
          { name: 'b', protocol: 'SCTP', port: 10 },
          { name: 'c', protocol: 'TCP', port: 80 },
        ],
      },
      ['error Unsupported spec.ports', 'error Unsupported spec.ports'],
    ],
    [
      'more than 100 separate ports: the firewall opens the gaps, with a warning',
      {
        ports: Array.from({ length: 102 }, (_, i) => ({
          name: `p${i}`,
          protocol: 'TCP' as const,
          port: 1000 + 2 * i,
        })),
      },
      ['warning Unsupported spec.ports'],
    ],
    [
      'more than 100 ports that make ranges: no warning',
      {
        ports: Array.from({ length: 150 }, (_, i) => ({
          name: `p${i}`,
          protocol: 'TCP' as const,
          port: 2000 + i,
        })),
      },
      [],
    ],
    ...Object.keys(UNSUPPORTED_GKE_KEYS).map((key): [string, Partial<LoadBalancerIntent>, string[]] => [
      `not implemented: ${key}`,
      { annotations: { [key]: 'x' } },
      [`warning Unsupported ${key}`],
    ]),
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

  // What a user reads is `${field}: ${message}` (Events, conditions): the key is the field, the message
  // names the value and what to do.
  const text = (overrides: Partial<LoadBalancerIntent>, config: Config = CONFIG) =>
    read(overrides, config).problems.map((p) => `${p.field}: ${p.message}`);
  const messages: Array<[string, Partial<LoadBalancerIntent>, RegExp, Config?]> = [
    [
      'an unknown type names the key and the value',
      { annotations: { 'cloud.google.com/load-balancer-type': 'Regional' } },
      /^cloud\.google\.com\/load-balancer-type: .*"Regional".*Internal or External/,
    ],
    [
      'a bad tier names the key, the value and what is accepted',
      { annotations: { 'cloud.google.com/network-tier': 'Gold' } },
      /^cloud\.google\.com\/network-tier: .*"Gold".*Premium or Standard/,
    ],
    [
      'no subnetwork says both ways to give one',
      { annotations: INTERNAL },
      /^networking\.gke\.io\/internal-load-balancer-subnet: .*networking\.gke\.io\/internal-load-balancer-subnet.*--gcp-subnetwork/,
      {},
    ],
    [
      'a key Sluice does not implement has no effect',
      { annotations: { 'cloud.google.com/backend-config': '{}' } },
      /^cloud\.google\.com\/backend-config: has no effect/,
    ],
    [
      'SCTP names the port',
      { ports: [{ name: 's', protocol: 'SCTP', port: 3868 }] },
      /^spec\.ports: SCTP\/3868 \("s"\): .*TCP and UDP/,
    ],
    [
      'conflicting keys name both',
      {
        annotations: {
          'networking.gke.io/load-balancer-type': 'Internal',
          'cloud.google.com/load-balancer-type': 'External',
        },
      },
      /^cloud\.google\.com\/load-balancer-type: says external but networking\.gke\.io\/load-balancer-type says internal/,
    ],
    [
      'PreferDualStack says the IPv6 family is not served',
      { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] },
      /^spec\.ipFamilies: PreferDualStack: .*IPv4.*IPv6 family is not served/,
    ],
    [
      'RequireDualStack says what to use instead',
      { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] },
      /^spec\.ipFamilyPolicy: RequireDualStack: .*use PreferDualStack or SingleStack/,
    ],
    [
      'the subnet keys disagree: both values and both keys',
      {
        annotations: {
          ...INTERNAL,
          'networking.gke.io/internal-load-balancer-subnet': 'a',
          'networking.gke.io/load-balancer-subnet': 'b',
        },
      },
      /^networking\.gke\.io\/load-balancer-subnet: says "b" but networking\.gke\.io\/internal-load-balancer-subnet says "a"/,
    ],
    [
      'an unknown GKE key has no effect, and the message lists the keys Sluice reads',
      { annotations: { 'networking.gke.io/load-balancer-magic': 'on' } },
      /^networking\.gke\.io\/load-balancer-magic: .*no effect.*networking\.gke\.io\/load-balancer-type/,
    ],
    [
      'an internal-only key on an external Service names its value',
      { annotations: { 'networking.gke.io/internal-load-balancer-allow-global-access': 'true' } },
      /^networking\.gke\.io\/internal-load-balancer-allow-global-access: "true" has no effect on an external/,
    ],
    [
      'more than 100 separate ports: the warning names the ports it opens besides',
      {
        ports: Array.from({ length: 102 }, (_, i) => ({
          name: `p${i}`,
          protocol: 'TCP' as const,
          port: 1000 + 2 * i,
        })),
      },
      /^spec\.ports: .*at most 100.*opens TCP 1001, TCP 1003 between/,
    ],
    [
      'an IPv6 requested address names it',
      { requestedAddresses: ['2001:db8::1'] },
      /^spec\.loadBalancerIP: 2001:db8::1/,
    ],
  ];
  for (const [what, overrides, want, config] of messages) {
    it(`message: ${what}`, () => {
      const found = text(overrides, config);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0]!, want);
    });
  }

  it('bare-metal requests are refused, naming the key the user wrote: pools and shared addresses', () => {
    assert.deepEqual(problems({ annotations: { 'sluice.dev/pool': 'blue' }, requestedPool: 'blue' }), [
      'error Unsupported sluice.dev/pool',
    ]);
    assert.deepEqual(
      problems({
        annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' },
        sharing: { key: 'k', crossNamespace: [], backendKey: '' },
      }),
      ['error Unsupported metallb.universe.tf/allow-shared-ip'],
    );
    assert.equal(
      read({ annotations: { 'metallb.io/address-pool': 'blue' }, requestedPool: 'blue' }).settings,
      undefined,
    );
  });

  it('ports: sorted, unique, by protocol; the same number on TCP and UDP is two ports', () => {
    const { settings } = read({
      ports: [
        { name: 'dns-tcp', protocol: 'TCP', port: 53 },
        { name: 'https', protocol: 'TCP', port: 443 },
        { name: 'alt', protocol: 'TCP', port: 53 },
        { name: 'dns', protocol: 'UDP', port: 53 },
        { name: 'http', protocol: 'TCP', port: 80 },
      ],
    });
    assert.deepEqual(settings?.ports, { TCP: [53, 80, 443], UDP: [53] });
  });

  it('does not change the intent it reads', () => {
    const intent = plainIntent({
      sourceRanges: ['192.0.2.0/24'],
      ports: [
        { name: 'b', protocol: 'TCP', port: 443 },
        { name: 'a', protocol: 'TCP', port: 80 },
      ],
    });
    const before = structuredClone(intent);
    const { settings } = readGcpSettings(intent, CONFIG);
    settings?.sourceRanges.push('198.51.100.0/24');
    assert.deepEqual(intent, before);
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
