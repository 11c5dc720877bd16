import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMPORTED_FROM_ANNOTATION } from '../../src/import/manifest-types.ts';
import { convertMetalLB, type Finding } from '../../src/import/metallb-convert.ts';

const NS = 'metallb-system';

function pool(name: string, spec: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: NS, ...extra },
    spec,
  };
}

function l2(name: string, spec?: unknown): Record<string, unknown> {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name, namespace: NS },
    ...(spec === undefined ? {} : { spec }),
  };
}

const of = (findings: Finding[], severity: Finding['severity']): string[] =>
  findings
    .filter((f) => f.severity === severity)
    .map((f) => (f.subject ? `${f.subject}: ${f.message}` : f.message));

describe('convertMetalLB: IPAddressPool → AddressPool', () => {
  it('carries every spec field and the labels, and drops namespace, uid, status and other server fields', () => {
    const serviceAllocation = {
      priority: 50,
      namespaces: ['team-a', 'team-b'],
      namespaceSelectors: [{ matchLabels: { tier: 'web' } }],
      serviceSelectors: [
        { matchExpressions: [{ key: 'app', operator: 'In', values: ['shop'] }] },
        { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] },
      ],
    };
    const source = pool(
      'public',
      {
        addresses: ['192.0.2.0/24', '198.51.100.10-198.51.100.20', '2001:db8::/124'],
        autoAssign: false,
        avoidBuggyIPs: true,
        serviceAllocation,
      },
      {
        labels: { zone: 'a', 'example.com/role': 'edge' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
        uid: '5d0f...',
        resourceVersion: '4711',
        generation: 3,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl' }],
      },
    );
    source.status = { assignedIPv4: 3, availableIPv4: 250 };
    const { manifests, findings } = convertMetalLB([source]);
    assert.deepEqual(of(findings, 'error'), []);
    assert.deepEqual(of(findings, 'warning'), [
      'no L2Advertisement in this input: Sluice will hand out addresses from the imported pools, but no node ' +
        'announces them until an L2Advertisement covers them',
    ]);
    assert.deepEqual(manifests, [
      {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AddressPool',
        metadata: {
          name: 'public',
          labels: { zone: 'a', 'example.com/role': 'edge' },
          annotations: {
            [IMPORTED_FROM_ANNOTATION]: 'metallb.io/v1beta1 IPAddressPool metallb-system/public',
          },
        },
        spec: {
          addresses: ['192.0.2.0/24', '198.51.100.10-198.51.100.20', '2001:db8::/124'],
          autoAssign: false,
          avoidBuggyIPs: true,
          serviceAllocation,
        },
      },
    ]);
  });

  const specs: Array<[string, unknown, unknown]> = [
    [
      'only addresses: nothing else is added',
      { addresses: ['192.0.2.1/32'] },
      { addresses: ['192.0.2.1/32'] },
    ],
    [
      'spaces around a range dash are dropped (MetalLB allows them)',
      { addresses: [' 192.0.2.1 - 192.0.2.9 '] },
      { addresses: ['192.0.2.1-192.0.2.9'] },
    ],
    [
      'an empty serviceAllocation is kept: it still keeps the pool out of the general fallback',
      { addresses: ['192.0.2.0/28'], serviceAllocation: {} },
      { addresses: ['192.0.2.0/28'], serviceAllocation: {} },
    ],
    [
      'autoAssign true is kept as written',
      { addresses: ['192.0.2.0/28'], autoAssign: true },
      { addresses: ['192.0.2.0/28'], autoAssign: true },
    ],
    [
      'null fields are absent fields',
      { addresses: ['192.0.2.0/28'], autoAssign: null, serviceAllocation: null },
      { addresses: ['192.0.2.0/28'] },
    ],
  ];
  for (const [name, spec, expected] of specs) {
    it(name, () => {
      const { manifests, findings } = convertMetalLB([pool('p', spec), l2('all')]);
      assert.deepEqual(of(findings, 'error'), []);
      assert.deepEqual(manifests[0]?.spec, expected);
    });
  }

  const invalid: Array<[string, unknown, RegExp]> = [
    ['no addresses', {}, /spec\.addresses is missing or empty/],
    ['empty addresses', { addresses: [] }, /spec\.addresses is missing or empty/],
    ['addresses not a list', { addresses: '192.0.2.0/24' }, /spec\.addresses must be a list of strings/],
    [
      'a bad address',
      { addresses: ['192.0.2.0/24', '192.0.2.300/32'] },
      /spec\.addresses\[1\]: .*192\.0\.2\.300/,
    ],
    [
      'a backwards range',
      { addresses: ['192.0.2.9-192.0.2.1'] },
      /spec\.addresses\[0\]: .*start is after its end/,
    ],
    [
      'autoAssign as a string',
      { addresses: ['192.0.2.0/24'], autoAssign: 'false' },
      /spec\.autoAssign must be true or false, not string "false"/,
    ],
    [
      'priority not an integer',
      { addresses: ['192.0.2.0/24'], serviceAllocation: { priority: 1.5 } },
      /spec\.serviceAllocation\.priority must be an integer/,
    ],
    [
      'a negative priority',
      { addresses: ['192.0.2.0/24'], serviceAllocation: { priority: -1 } },
      /spec\.serviceAllocation\.priority -1 is negative/,
    ],
    [
      'a selector with a bad operator',
      {
        addresses: ['192.0.2.0/24'],
        serviceAllocation: {
          serviceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }],
        },
      },
      /spec\.serviceAllocation\.serviceSelectors\[0\]\.matchExpressions\[0\]\.operator "Equals" is not one of/,
    ],
    [
      'In without values',
      {
        addresses: ['192.0.2.0/24'],
        serviceAllocation: { namespaceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'In' }] }] },
      },
      /namespaceSelectors\[0\]\.matchExpressions\[0\]\.values must not be empty for In/,
    ],
    [
      'Exists with values',
      {
        addresses: ['192.0.2.0/24'],
        serviceAllocation: {
          namespaceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }],
        },
      },
      /values must be empty for Exists/,
    ],
    [
      'a misspelt selector field (dropping it would widen the selector)',
      { addresses: ['192.0.2.0/24'], serviceAllocation: { serviceSelectors: [{ matchLabel: { a: 'b' } }] } },
      /serviceSelectors\[0\]\.matchLabel is not a field of a label selector/,
    ],
    [
      'a matchLabels value that is not a string',
      {
        addresses: ['192.0.2.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchLabels: { replicas: 3 } }] },
      },
      /serviceSelectors\[0\]\.matchLabels\.replicas must be a string, not number 3/,
    ],
    [
      'namespaces not strings',
      { addresses: ['192.0.2.0/24'], serviceAllocation: { namespaces: [1] } },
      /namespaces\[0\] must be a string/,
    ],
  ];
  for (const [name, spec, expected] of invalid) {
    it(`refuses ${name}, naming the object and the field`, () => {
      const { manifests, findings } = convertMetalLB([pool('broken', spec)]);
      assert.deepEqual(manifests, []);
      const errors = of(findings, 'error');
      assert.ok(
        errors.some((e) => e.startsWith('IPAddressPool metallb-system/broken: ') && expected.test(e)),
        errors.join('\n'),
      );
    });
  }

  it('reports every problem of an object at once', () => {
    const { findings } = convertMetalLB([
      pool('broken', { addresses: ['x'], autoAssign: 'yes', avoidBuggyIPs: 1 }),
    ]);
    const errors = of(findings, 'error');
    assert.equal(
      errors.filter((e) => e.startsWith('IPAddressPool metallb-system/broken:')).length,
      3,
      errors.join('\n'),
    );
  });

  it('refuses an object without a name or a spec', () => {
    const { findings } = convertMetalLB([
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { namespace: NS },
        spec: { addresses: ['192.0.2.0/24'] },
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'nospec', namespace: NS },
      },
    ]);
    assert.deepEqual(of(findings, 'error'), [
      'IPAddressPool in document 1: metadata.name is missing',
      'IPAddressPool metallb-system/nospec: spec is missing',
    ]);
  });

  it('drops a spec field it does not know with a warning, and still converts the pool', () => {
    const { manifests, findings } = convertMetalLB([
      pool('p', { addresses: ['192.0.2.0/24'], futureField: 1 }),
      l2('all'),
    ]);
    assert.equal(manifests.length, 2);
    assert.deepEqual(of(findings, 'warning'), [
      'IPAddressPool metallb-system/p: spec.futureField has no Sluice equivalent; dropped',
    ]);
  });

  it('converts another metallb.io version of a known kind, with a warning to check the result', () => {
    const source = { ...pool('p', { addresses: ['192.0.2.0/24'] }), apiVersion: 'metallb.io/v1' };
    const { manifests, findings } = convertMetalLB([source, l2('all')]);
    assert.equal(manifests.length, 2);
    assert.match(
      of(findings, 'warning').join('\n'),
      /metallb\.io\/v1 is not the version this importer knows/,
    );
  });
});

describe('convertMetalLB: cluster-scoped names', () => {
  it('refuses one pool name in two MetalLB namespaces', () => {
    const other = {
      ...pool('shared', { addresses: ['198.51.100.0/24'] }),
      metadata: { name: 'shared', namespace: 'metallb-b' },
    };
    const { manifests, findings } = convertMetalLB([pool('shared', { addresses: ['192.0.2.0/24'] }), other]);
    const errors = of(findings, 'error');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(
      errors[0]!,
      /^IPAddressPool metallb-b\/shared: would become AddressPool "shared", which IPAddressPool metallb-system\/shared already becomes\. .*cluster-scoped.*rename one/,
    );
    // The caller writes nothing when there is an error; the converter still reports what it made.
    assert.equal(manifests.length, 1);
  });

  it('refuses one L2Advertisement name in two namespaces', () => {
    const other = { ...l2('l2'), metadata: { name: 'l2', namespace: 'elsewhere' } };
    const { findings } = convertMetalLB([pool('p', { addresses: ['192.0.2.0/24'] }), l2('l2'), other]);
    assert.match(
      of(findings, 'error').join('\n'),
      /L2Advertisement elsewhere\/l2: would become L2Advertisement "l2"/,
    );
  });

  it('says so when the same object appears twice (e.g. two files concatenated)', () => {
    const twice = pool('p', { addresses: ['192.0.2.0/24'] });
    const { findings } = convertMetalLB([twice, twice]);
    assert.deepEqual(of(findings, 'error'), [
      'IPAddressPool metallb-system/p: appears twice in the input; remove one copy',
    ]);
  });

  it('allows a pool and an advertisement to share a name (different kinds)', () => {
    const { findings } = convertMetalLB([pool('same', { addresses: ['192.0.2.0/24'] }), l2('same')]);
    assert.deepEqual(of(findings, 'error'), []);
  });
});

describe('convertMetalLB: L2Advertisement → L2Advertisement', () => {
  it('renames the pool fields and keeps node selectors and interfaces', () => {
    const spec = {
      ipAddressPools: ['public', 'private'],
      ipAddressPoolSelectors: [{ matchLabels: { zone: 'a' } }],
      nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'node-a' } }],
      interfaces: ['eth0', 'bond0.100'],
    };
    const { manifests, findings } = convertMetalLB([
      pool('public', { addresses: ['192.0.2.0/24'] }),
      pool('private', { addresses: ['198.51.100.0/24'] }),
      l2('edge', spec),
    ]);
    assert.deepEqual(of(findings, 'error'), []);
    assert.deepEqual(of(findings, 'warning'), []);
    assert.deepEqual(manifests[2], {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'L2Advertisement',
      metadata: {
        name: 'edge',
        annotations: { [IMPORTED_FROM_ANNOTATION]: 'metallb.io/v1beta1 L2Advertisement metallb-system/edge' },
      },
      spec: {
        addressPools: ['public', 'private'],
        addressPoolSelectors: [{ matchLabels: { zone: 'a' } }],
        nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'node-a' } }],
        interfaces: ['eth0', 'bond0.100'],
      },
    });
  });

  it('converts an advertisement with no spec (every pool, every node) to an empty spec', () => {
    const { manifests } = convertMetalLB([l2('everything')]);
    assert.deepEqual(manifests[0]?.spec, {});
  });

  const dropped: Array<[string, RegExp]> = [
    [
      'serviceSelectors',
      /spec\.serviceSelectors has no Sluice equivalent yet; dropped, so this advertisement now covers every Service/,
    ],
    [
      'preferredNodeSelectors',
      /spec\.preferredNodeSelectors has no Sluice equivalent yet; dropped, so any node it selects may announce/,
    ],
  ];
  for (const [field, message] of dropped) {
    it(`drops ${field} with a warning naming the object and the field, and still converts it`, () => {
      const { manifests, findings } = convertMetalLB([
        l2('l2', { ipAddressPools: ['p'], [field]: [{ matchLabels: { a: 'b' } }] }),
      ]);
      assert.deepEqual(manifests[0]?.spec, { addressPools: ['p'] });
      const warnings = of(findings, 'warning');
      assert.ok(
        warnings.some((w) => w.startsWith('L2Advertisement metallb-system/l2: ') && message.test(w)),
        warnings.join('\n'),
      );
      assert.deepEqual(of(findings, 'error'), []);
    });
  }

  it('refuses an invalid node selector rather than dropping it', () => {
    const { manifests, findings } = convertMetalLB([
      l2('l2', { nodeSelectors: [{ matchExpressions: [{ operator: 'Exists' }] }] }),
    ]);
    assert.deepEqual(manifests, []);
    assert.match(
      of(findings, 'error').join('\n'),
      /L2Advertisement metallb-system\/l2: spec\.nodeSelectors\[0\]\.matchExpressions\[0\]\.key is missing/,
    );
  });

  it('says when an advertisement names a pool that is not in the input', () => {
    const { findings } = convertMetalLB([
      pool('p', { addresses: ['192.0.2.0/24'] }),
      l2('l2', { ipAddressPools: ['p', 'elsewhere'] }),
    ]);
    assert.deepEqual(
      of(findings, 'info').filter((i) => i.includes('not in this input')),
      [
        'L2Advertisement l2: names pool "elsewhere", which is not in this input; it must exist as a Sluice AddressPool',
      ],
    );
  });
});

describe('convertMetalLB: other objects', () => {
  it('skips each BGP kind with a warning', () => {
    const kinds = ['BGPPeer', 'BGPAdvertisement', 'BFDProfile', 'Community'];
    const { findings } = convertMetalLB([
      pool('p', { addresses: ['192.0.2.0/24'] }),
      l2('l2'),
      ...kinds.map((kind) => ({
        apiVersion: kind === 'BGPPeer' ? 'metallb.io/v1beta2' : 'metallb.io/v1beta1',
        kind,
        metadata: { name: 'x', namespace: NS },
      })),
    ]);
    assert.deepEqual(
      of(findings, 'warning'),
      kinds.map((kind) => `${kind} metallb-system/x: skipped: BGP is not supported yet`),
    );
  });

  it('skips objects that are not MetalLB configuration with one info line that counts them', () => {
    const { manifests, findings } = convertMetalLB([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'controller', namespace: NS } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'speaker', namespace: NS } },
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'a.metallb.io' },
      },
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'b.metallb.io' },
      },
      { apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name: 's', namespace: NS } },
      pool('p', { addresses: ['192.0.2.0/24'] }),
      l2('l2'),
    ]);
    assert.equal(manifests.length, 2);
    assert.deepEqual(of(findings, 'warning'), []);
    const info = of(findings, 'info');
    assert.ok(
      info.includes(
        'skipped 5 objects that are not MetalLB configuration: Namespace, Deployment, DaemonSet, CustomResourceDefinition ×2',
      ),
      info.join('\n'),
    );
    assert.ok(
      info.includes(
        'ServiceL2Status metallb-system/s: skipped: status written by MetalLB, not configuration',
      ),
    );
  });

  it('warns about the legacy ConfigMap format instead of silently skipping it', () => {
    const { findings } = convertMetalLB([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'config', namespace: NS },
        data: {
          config: 'address-pools:\n- name: default\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n',
        },
      },
    ]);
    assert.match(
      of(findings, 'warning').join('\n'),
      /ConfigMap metallb-system\/config: .*legacy ConfigMap format.*configmaptocrs/,
    );
  });

  it('warns about an unknown metallb.io kind', () => {
    const { findings } = convertMetalLB([
      { apiVersion: 'metallb.io/v1beta1', kind: 'FancyPool', metadata: { name: 'f', namespace: NS } },
      pool('p', { addresses: ['192.0.2.0/24'] }),
    ]);
    assert.match(
      of(findings, 'warning').join('\n'),
      /FancyPool metallb-system\/f: skipped: not a MetalLB kind this importer knows/,
    );
  });
});

describe('convertMetalLB: legacy AddressPool (metallb.io/v1beta1, before 0.13)', () => {
  const legacy = (spec: unknown): Record<string, unknown> => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'AddressPool',
    metadata: { name: 'old', namespace: NS },
    spec,
  });

  it('a layer2 pool becomes an AddressPool and an L2Advertisement of that pool alone', () => {
    const { manifests, findings } = convertMetalLB([
      legacy({ protocol: 'layer2', addresses: ['192.0.2.0/24'], autoAssign: false }),
    ]);
    assert.deepEqual(of(findings, 'error'), []);
    assert.deepEqual(of(findings, 'warning'), []);
    assert.deepEqual(
      manifests.map((m) => [m.kind, m.metadata.name, m.spec]),
      [
        ['AddressPool', 'old', { addresses: ['192.0.2.0/24'], autoAssign: false }],
        ['L2Advertisement', 'old', { addressPools: ['old'] }],
      ],
    );
  });

  it('a bgp pool becomes an AddressPool, with a warning that nothing announces it', () => {
    const { manifests, findings } = convertMetalLB([
      legacy({
        protocol: 'bgp',
        addresses: ['192.0.2.0/24'],
        bgpAdvertisements: [{ aggregationLength: 32 }],
      }),
    ]);
    assert.deepEqual(
      manifests.map((m) => m.kind),
      ['AddressPool'],
    );
    const warnings = of(findings, 'warning').join('\n');
    assert.match(warnings, /AddressPool metallb-system\/old: spec\.protocol bgp: BGP is not supported yet/);
    assert.match(warnings, /spec\.bgpAdvertisements dropped/);
  });

  it('a legacy pool and an IPAddressPool of the same name collide', () => {
    const { findings } = convertMetalLB([
      legacy({ protocol: 'layer2', addresses: ['192.0.2.0/24'] }),
      pool('old', { addresses: ['198.51.100.0/24'] }),
    ]);
    assert.match(
      of(findings, 'error').join('\n'),
      /IPAddressPool metallb-system\/old: would become AddressPool "old"/,
    );
  });
});

describe('convertMetalLB: lists and empty input', () => {
  it('expands a kubectl List and a typed list whose items leave out apiVersion and kind', () => {
    const { manifests, findings } = convertMetalLB([
      { apiVersion: 'v1', kind: 'List', items: [pool('a', { addresses: ['192.0.2.0/28'] })] },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPoolList',
        items: [{ metadata: { name: 'b', namespace: NS }, spec: { addresses: ['192.0.2.16/28'] } }],
      },
      { apiVersion: 'metallb.io/v1beta1', kind: 'L2AdvertisementList', items: [] },
      null,
    ]);
    assert.deepEqual(of(findings, 'error'), []);
    assert.deepEqual(
      manifests.map((m) => `${m.kind}/${m.metadata.name}`),
      ['AddressPool/a', 'AddressPool/b'],
    );
  });

  it('names the list item that is not an object', () => {
    const { findings } = convertMetalLB([{ apiVersion: 'v1', kind: 'List', items: ['oops'] }]);
    assert.ok(of(findings, 'error').includes('document 1, item 1 is not a Kubernetes object'));
  });

  it('nothing convertible is an error that says what was looked for', () => {
    const empty = convertMetalLB([null, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }]);
    assert.deepEqual(of(empty.findings, 'error'), [
      'nothing to import: no metallb.io IPAddressPool, AddressPool or L2Advertisement found',
    ]);
    const bgpOnly = convertMetalLB([
      { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'p' } },
    ]);
    assert.deepEqual(of(bgpOnly.findings, 'error'), [
      'nothing to import: the MetalLB objects found have no Sluice equivalent yet',
    ]);
  });

  it('reminds that MetalLB serves unclassed Services, which Sluice only does with --manage-unclassed', () => {
    const { findings } = convertMetalLB([pool('p', { addresses: ['192.0.2.0/24'] }), l2('l2')]);
    assert.match(of(findings, 'info').join('\n'), /--manage-unclassed=true/);
  });
});
