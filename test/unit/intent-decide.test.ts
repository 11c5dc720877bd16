import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import { METALLB, SLUICE, SOURCE_RANGES_LEGACY } from '../../src/intent/annotations.ts';
import { canonicalAddress, decide } from '../../src/intent/decide.ts';
import type { Decision, PortIntent, Problem } from '../../src/intent/types.ts';

const HTTP = { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 };
const HTTPS = { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 };

function service(annotations: Record<string, string> = {}, spec: V1ServiceSpec = {}): V1Service {
  return {
    metadata: { namespace: 'shop', name: 'web', uid: 'uid-1', annotations },
    spec: { type: 'LoadBalancer', ports: [HTTP], ...spec },
  };
}

function decideWith(annotations: Record<string, string> = {}, spec: V1ServiceSpec = {}): Decision {
  return decide(service(annotations, spec));
}

/** Asserts exactly one problem, with these reason/field/severity, whose message mentions every `mentions`. */
function assertOneProblem(
  problems: Problem[],
  expected: Omit<Problem, 'message' | 'severity'> & { severity?: Problem['severity'] },
  mentions: string[],
): void {
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems)}`);
  const [p] = problems;
  assert.deepEqual(
    { reason: p!.reason, field: p!.field, severity: p!.severity },
    { reason: expected.reason, field: expected.field, severity: expected.severity ?? 'error' },
  );
  for (const m of mentions)
    assert.ok(p!.message.includes(m), `message ${JSON.stringify(p!.message)} should mention ${m}`);
}

describe('decide: a plain Service', () => {
  it('maps the whole intent, with defaults', () => {
    const { intent, problems } = decide({
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: 'sluice.dev/lb',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', nodePort: 31053, targetPort: 'dns' },
          { port: 8080, targetPort: '8081' },
        ],
      },
      metadata: { namespace: 'shop', name: 'web', uid: 'uid-1', annotations: { 'example.com/note': 'kept' } },
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(intent, {
      service: { namespace: 'shop', name: 'web', uid: 'uid-1' },
      loadBalancerClass: 'sluice.dev/lb',
      internal: false,
      ports: [
        { name: 'dns', protocol: 'UDP', port: 53, nodePort: 31053, targetPort: 'dns' },
        { protocol: 'TCP', port: 8080, targetPort: 8081 },
      ],
      proxyProtocol: false,
      trafficPolicy: 'Cluster',
      sourceRanges: [],
      requestedAddresses: [],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      labels: {},
      sessionAffinity: 'None',
      annotations: { 'example.com/note': 'kept' },
      nodes: [],
      endpoints: [],
    });
  });

  it('defaults namespace, name and uid when metadata is missing', () => {
    const { intent } = decide({ spec: { type: 'LoadBalancer', ports: [HTTP] } });
    assert.deepEqual(intent.service, { namespace: 'default', name: '', uid: '' });
    assert.equal('loadBalancerClass' in intent, false);
  });

  it('rejects a Service without ports', () => {
    for (const spec of [{ ports: [] }, { ports: undefined }]) {
      const { intent, problems } = decideWith({}, spec);
      assert.deepEqual(intent.ports, []);
      assertOneProblem(problems, { reason: 'InvalidSpec', field: 'spec.ports' }, ['at least one port']);
    }
  });

  it('copies externalTrafficPolicy Local and the health check node port', () => {
    const local = decideWith({}, { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }).intent;
    assert.equal(local.trafficPolicy, 'Local');
    assert.equal(local.healthCheckNodePort, 32000);
    const cluster = decideWith({}, { externalTrafficPolicy: 'Cluster' }).intent;
    assert.equal(cluster.trafficPolicy, 'Cluster');
    assert.equal('healthCheckNodePort' in cluster, false);
  });

  const affinities: Array<[string | undefined, 'None' | 'ClientIP']> = [
    [undefined, 'None'],
    ['None', 'None'],
    ['ClientIP', 'ClientIP'],
  ];
  for (const [given, expected] of affinities) {
    it(`sessionAffinity ${given} → ${expected}`, () => {
      const spec = given === undefined ? {} : { sessionAffinity: given };
      assert.equal(decideWith({}, spec).intent.sessionAffinity, expected);
    });
  }
});

describe('decide: requested addresses', () => {
  const single: Array<{
    name: string;
    annotations?: Record<string, string>;
    spec?: V1ServiceSpec;
    want: string[];
  }> = [
    { name: SLUICE.addresses, annotations: { [SLUICE.addresses]: '192.0.2.10' }, want: ['192.0.2.10'] },
    {
      name: METALLB.loadBalancerIPs,
      annotations: { [METALLB.loadBalancerIPs]: '192.0.2.11' },
      want: ['192.0.2.11'],
    },
    { name: 'spec.loadBalancerIP', spec: { loadBalancerIP: '192.0.2.12' }, want: ['192.0.2.12'] },
    {
      name: 'whitespace around list items',
      annotations: { [SLUICE.addresses]: ' 192.0.2.10 , 2001:db8::10 ' },
      spec: { ipFamilyPolicy: 'PreferDualStack' },
      want: ['192.0.2.10', '2001:db8::10'],
    },
    {
      name: 'IPv6 canonicalised',
      annotations: { [SLUICE.addresses]: '2001:DB8::0001' },
      want: ['2001:db8::1'],
    },
    {
      name: 'two sources agreeing',
      annotations: { [SLUICE.addresses]: '192.0.2.10', [METALLB.loadBalancerIPs]: '192.0.2.10' },
      want: ['192.0.2.10'],
    },
    {
      name: 'annotation and spec agreeing after canonicalisation',
      annotations: { [SLUICE.addresses]: '2001:db8::1' },
      spec: { loadBalancerIP: '2001:0DB8:0:0::1' },
      want: ['2001:db8::1'],
    },
    {
      name: 'two sources agreeing on a dual-stack set in different order (first source order kept)',
      annotations: {
        [SLUICE.addresses]: '2001:db8::1,192.0.2.10',
        [METALLB.loadBalancerIPs]: '192.0.2.10,2001:db8::1',
      },
      spec: { ipFamilyPolicy: 'RequireDualStack' },
      want: ['2001:db8::1', '192.0.2.10'],
    },
    { name: 'blank annotation ignored', annotations: { [SLUICE.addresses]: '  ' }, want: [] },
    {
      name: 'blank annotation does not conflict with a real one',
      annotations: { [SLUICE.addresses]: '', [METALLB.loadBalancerIPs]: '192.0.2.10' },
      want: ['192.0.2.10'],
    },
  ];
  for (const c of single) {
    it(`accepts: ${c.name}`, () => {
      const { intent, problems } = decideWith(c.annotations ?? {}, c.spec ?? {});
      assert.deepEqual(problems, []);
      assert.deepEqual(intent.requestedAddresses, c.want);
    });
  }

  it('reports disagreeing sources, naming both keys and values', () => {
    const { intent, problems } = decideWith(
      { [SLUICE.addresses]: '192.0.2.10', [METALLB.loadBalancerIPs]: '192.0.2.11' },
      { loadBalancerIP: '192.0.2.10' },
    );
    assert.deepEqual(intent.requestedAddresses, []);
    assertOneProblem(
      problems,
      {
        reason: 'ConflictingAnnotations',
        field: `${SLUICE.addresses},${METALLB.loadBalancerIPs},spec.loadBalancerIP`,
      },
      ['192.0.2.10', '192.0.2.11', SLUICE.addresses, METALLB.loadBalancerIPs],
    );
  });

  it('reports spec.loadBalancerIP disagreeing with an annotation', () => {
    const { problems } = decideWith(
      { [METALLB.loadBalancerIPs]: '192.0.2.10' },
      { loadBalancerIP: '192.0.2.99' },
    );
    assertOneProblem(
      problems,
      { reason: 'ConflictingAnnotations', field: `${METALLB.loadBalancerIPs},spec.loadBalancerIP` },
      ['192.0.2.99'],
    );
  });

  const invalid: Array<[string, Record<string, string>, V1ServiceSpec, string, string]> = [
    [
      'garbage in sluice.dev/addresses',
      { [SLUICE.addresses]: 'not-an-ip' },
      {},
      SLUICE.addresses,
      'not-an-ip',
    ],
    ['short IPv4 form', { [METALLB.loadBalancerIPs]: '10.1' }, {}, METALLB.loadBalancerIPs, '10.1'],
    ['leading zero IPv4', { [SLUICE.addresses]: '010.0.0.1' }, {}, SLUICE.addresses, '010.0.0.1'],
    ['IPv6 with zone', { [SLUICE.addresses]: 'fe80::1%eth0' }, {}, SLUICE.addresses, 'fe80::1%eth0'],
    [
      'CIDR instead of address',
      {},
      { loadBalancerIP: '192.0.2.0/24' },
      'spec.loadBalancerIP',
      '192.0.2.0/24',
    ],
    [
      'one bad item in a list',
      { [SLUICE.addresses]: '192.0.2.1, 2001:db8::zz' },
      {},
      SLUICE.addresses,
      '2001:db8::zz',
    ],
  ];
  for (const [name, annotations, spec, field, bad] of invalid) {
    it(`rejects ${name}`, () => {
      const { intent, problems } = decideWith(annotations, spec);
      assert.deepEqual(intent.requestedAddresses, []);
      assertOneProblem(problems, { reason: 'InvalidAnnotation', field }, [`"${bad}"`, 'not an IP address']);
    });
  }

  it('reports an invalid value in each source separately, and no conflict on top', () => {
    const { problems } = decideWith({ [SLUICE.addresses]: 'a', [METALLB.loadBalancerIPs]: 'b' });
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field]),
      [
        ['InvalidAnnotation', SLUICE.addresses],
        ['InvalidAnnotation', METALLB.loadBalancerIPs],
      ],
    );
  });

  const twoOfAFamily: Array<[string, string, string]> = [
    ['IPv4', '192.0.2.1,192.0.2.2', '192.0.2.1, 192.0.2.2'],
    ['IPv6', '2001:db8::1, 2001:db8::2', '2001:db8::1, 2001:db8::2'],
  ];
  for (const [family, value, listed] of twoOfAFamily) {
    it(`rejects two ${family} addresses`, () => {
      const { intent, problems } = decideWith({ [SLUICE.addresses]: value });
      assert.deepEqual(intent.requestedAddresses, []);
      assertOneProblem(problems, { reason: 'InvalidAnnotation', field: SLUICE.addresses }, [
        `at most one ${family}`,
        listed,
      ]);
    });
  }

  it('names the first source that gave addresses when there are two of a family', () => {
    const { problems } = decideWith({ [METALLB.loadBalancerIPs]: '192.0.2.1,192.0.2.2' });
    assertOneProblem(problems, { reason: 'InvalidAnnotation', field: METALLB.loadBalancerIPs }, [
      '192.0.2.1',
    ]);
  });

  const families: Array<[string, string, V1ServiceSpec, string[]]> = [
    ['one IPv4 on a SingleStack Service', '192.0.2.1', { ipFamilies: ['IPv4'] }, ['IPv4']],
    ['no spec.ipFamilies: the request decides', '2001:db8::1', {}, ['IPv6']],
    [
      'dual-stack request on PreferDualStack keeps spec order',
      '2001:db8::1, 192.0.2.1',
      { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' },
      ['IPv4', 'IPv6'],
    ],
    [
      'one family requested on a dual-stack Service: both served',
      '2001:db8::1',
      { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' },
      ['IPv6', 'IPv4'],
    ],
  ];
  for (const [name, value, spec, want] of families) {
    it(`ipFamilies with requested addresses: ${name}`, () => {
      const { intent, problems } = decideWith({ [SLUICE.addresses]: value }, spec);
      assert.deepEqual(problems, []);
      assert.deepEqual(intent.ipFamilies, want);
    });
  }

  const mismatches: Array<[string, string, V1ServiceSpec, string]> = [
    ['IPv6 on an IPv4 SingleStack Service', '2001:db8::1', { ipFamilies: ['IPv4'] }, 'IPv6'],
    ['both families on a SingleStack Service', '192.0.2.1,2001:db8::1', {}, 'IPv6'],
    ['IPv4 on an IPv6 Service', '192.0.2.1', { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' }, 'IPv4'],
  ];
  for (const [name, value, spec, family] of mismatches) {
    it(`a requested family the Service does not serve is an error: ${name}`, () => {
      const { problems } = decideWith({ [METALLB.loadBalancerIPs]: value }, spec);
      assertOneProblem(problems, { reason: 'InvalidAnnotation', field: METALLB.loadBalancerIPs }, [
        `an ${family} address is requested`,
        'PreferDualStack',
      ]);
    });
  }
});

describe('decide: ipFamilies and ipFamilyPolicy without requested addresses', () => {
  const cases: Array<[V1ServiceSpec, string[], string]> = [
    [{}, ['IPv4'], 'SingleStack'],
    [{ ipFamilies: [] }, ['IPv4'], 'SingleStack'],
    [{ ipFamilies: ['IPv6'] }, ['IPv6'], 'SingleStack'],
    [{ ipFamilies: ['IPv6', 'IPv4'] }, ['IPv6'], 'SingleStack'],
    [{ ipFamilies: ['Bogus', 'IPv6'] }, ['IPv6'], 'SingleStack'],
    [
      { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' },
      ['IPv4', 'IPv6'],
      'PreferDualStack',
    ],
    [
      { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' },
      ['IPv6', 'IPv4'],
      'RequireDualStack',
    ],
    // A single-stack cluster gives a PreferDualStack Service one family.
    [{ ipFamilies: ['IPv4'], ipFamilyPolicy: 'PreferDualStack' }, ['IPv4'], 'PreferDualStack'],
    [{ ipFamilies: ['IPv4', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }, ['IPv4'], 'PreferDualStack'],
  ];
  for (const [given, want, policy] of cases) {
    it(`spec ${JSON.stringify(given)} → ${JSON.stringify(want)} ${policy}`, () => {
      const { intent, problems } = decideWith({}, given);
      assert.deepEqual(problems, []);
      assert.deepEqual(intent.ipFamilies, want);
      assert.equal(intent.ipFamilyPolicy, policy);
    });
  }
});

describe('decide: address sharing', () => {
  it('no key: no sharing', () => {
    assert.equal(decideWith().intent.sharing, undefined);
  });
  it("MetalLB's key, Cluster traffic: empty backend key", () => {
    const { intent, problems } = decideWith({ [METALLB.allowSharedIP]: ' dns ' });
    assert.deepEqual(problems, []);
    assert.deepEqual(intent.sharing, { key: 'dns', crossNamespace: [], backendKey: '' });
  });
  it('Local traffic: the backend key is the canonical selector', () => {
    const { intent } = decideWith(
      { [SLUICE.sharingKey]: 'dns', [SLUICE.sharingCrossNamespace]: 'infra, *' },
      { externalTrafficPolicy: 'Local', selector: { b: '2', a: '1' } },
    );
    assert.deepEqual(intent.sharing, { key: 'dns', crossNamespace: ['infra', '*'], backendKey: 'a=1,b=2' });
  });
  it('both keys must agree', () => {
    const { intent, problems } = decideWith({ [SLUICE.sharingKey]: 'a', [METALLB.allowSharedIP]: 'b' });
    assert.equal(intent.sharing, undefined);
    assertOneProblem(
      problems,
      { reason: 'ConflictingAnnotations', field: `${SLUICE.sharingKey},${METALLB.allowSharedIP}` },
      ['"a"', '"b"'],
    );
  });
  it('cross-namespace without a key is an error', () => {
    const { problems } = decideWith({ [SLUICE.sharingCrossNamespace]: 'infra' });
    assertOneProblem(problems, { reason: 'InvalidAnnotation', field: SLUICE.sharingCrossNamespace }, [
      'needs a sharing key',
    ]);
  });
  it('a bad namespace name is an error', () => {
    const { problems } = decideWith({ [SLUICE.sharingKey]: 'k', [SLUICE.sharingCrossNamespace]: 'Bad_NS' });
    assertOneProblem(problems, { reason: 'InvalidAnnotation', field: SLUICE.sharingCrossNamespace }, [
      '"Bad_NS"',
    ]);
  });
});

describe('decide: MetalLB annotations under the deprecated metallb.universe.tf/ prefix', () => {
  it('are read, with a warning naming the new key', () => {
    const { intent, problems } = decideWith({
      'metallb.universe.tf/loadBalancerIPs': '192.0.2.9',
      'metallb.universe.tf/address-pool': 'edge',
      'metallb.universe.tf/allow-shared-ip': 'k',
    });
    assert.deepEqual(intent.requestedAddresses, ['192.0.2.9']);
    assert.equal(intent.requestedPool, 'edge');
    assert.equal(intent.sharing?.key, 'k');
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['DeprecatedAnnotation', 'metallb.universe.tf/loadBalancerIPs', 'warning'],
        ['DeprecatedAnnotation', 'metallb.universe.tf/address-pool', 'warning'],
        ['DeprecatedAnnotation', 'metallb.universe.tf/allow-shared-ip', 'warning'],
      ],
    );
    assert.ok(problems[0]!.message.includes('metallb.io/loadBalancerIPs'));
  });
  it('keys Sluice does not read are left alone, whatever MetalLB wrote there', () => {
    const { problems } = decideWith({
      'metallb.universe.tf/ip-allocated-from-pool': 'old',
      'metallb.io/ip-allocated-from-pool': 'new',
    });
    assert.deepEqual(problems, []);
  });
  it('disagreeing with the new key is a conflict', () => {
    const { problems } = decideWith({
      'metallb.universe.tf/address-pool': 'a',
      [METALLB.addressPool]: 'b',
    });
    assertOneProblem(
      problems,
      { reason: 'ConflictingAnnotations', field: `metallb.universe.tf/address-pool,${METALLB.addressPool}` },
      ['"a"', '"b"'],
    );
  });
});

describe('decide: pool', () => {
  const cases: Array<[string, Record<string, string>, string | undefined]> = [
    ['none', {}, undefined],
    ['sluice.dev/pool', { [SLUICE.pool]: 'public' }, 'public'],
    ['metallb.io/address-pool', { [METALLB.addressPool]: 'public' }, 'public'],
    ['trimmed', { [SLUICE.pool]: ' public ' }, 'public'],
    ['both agreeing', { [SLUICE.pool]: 'public', [METALLB.addressPool]: 'public ' }, 'public'],
    ['blank', { [SLUICE.pool]: '  ' }, undefined],
  ];
  for (const [name, annotations, want] of cases) {
    it(`accepts: ${name}`, () => {
      const { intent, problems } = decideWith(annotations);
      assert.deepEqual(problems, []);
      assert.equal(intent.requestedPool, want);
      assert.equal('requestedPool' in intent, want !== undefined);
    });
  }

  it('reports disagreeing pool annotations', () => {
    const { intent, problems } = decideWith({ [SLUICE.pool]: 'public', [METALLB.addressPool]: 'private' });
    assert.equal(intent.requestedPool, undefined);
    assertOneProblem(
      problems,
      { reason: 'ConflictingAnnotations', field: `${SLUICE.pool},${METALLB.addressPool}` },
      [`${SLUICE.pool}="public"`, `${METALLB.addressPool}="private"`],
    );
  });
});

describe('decide: boolean annotations', () => {
  const keys = [
    [SLUICE.internal, 'internal'],
    [SLUICE.proxyProtocol, 'proxyProtocol'],
  ] as const;
  const values: Array<[string, boolean]> = [
    ['true', true],
    ['false', false],
    [' TRUE ', true],
    ['False', false],
    ['', false],
  ];
  for (const [key, property] of keys) {
    for (const [value, want] of values) {
      it(`${key}=${JSON.stringify(value)} → ${want}`, () => {
        const { intent, problems } = decideWith({ [key]: value });
        assert.deepEqual(problems, []);
        assert.equal(intent[property], want);
      });
    }
    it(`${key} absent → false`, () => {
      assert.equal(decideWith().intent[property], false);
    });
    it(`${key}=garbage is an error naming the value`, () => {
      const { intent, problems } = decideWith({ [key]: 'yes' });
      assert.equal(intent[property], false);
      assertOneProblem(problems, { reason: 'InvalidAnnotation', field: key }, ['"yes"']);
    });
  }
});

describe('decide: TLS', () => {
  const ports = { ports: [HTTP, HTTPS] };
  const tlsOf = (p: PortIntent): PortIntent['tls'] => p.tls;

  it('a certificate alone means TLS on every port', () => {
    const { intent, problems } = decideWith({ [SLUICE.tlsCertificate]: 'arn:cert/1' }, ports);
    assert.deepEqual(problems, []);
    assert.deepEqual(intent.ports.map(tlsOf), [
      { certificates: ['arn:cert/1'] },
      { certificates: ['arn:cert/1'] },
    ]);
  });

  const selections: Array<[string, string]> = [
    ['by number', '443'],
    ['by name', 'https'],
    ['by name with spaces', ' https , '],
  ];
  for (const [name, tlsPorts] of selections) {
    it(`tls-ports selects ports ${name}`, () => {
      const { intent, problems } = decideWith(
        { [SLUICE.tlsCertificate]: 'cert-a, cert-b', [SLUICE.tlsPorts]: tlsPorts },
        ports,
      );
      assert.deepEqual(problems, []);
      assert.deepEqual(intent.ports.map(tlsOf), [undefined, { certificates: ['cert-a', 'cert-b'] }]);
    });
  }

  it('tls-policy is attached to every TLS port', () => {
    const { intent, problems } = decideWith(
      {
        [SLUICE.tlsCertificate]: 'cert',
        [SLUICE.tlsPorts]: '80,https',
        [SLUICE.tlsPolicy]: ' ELBSecurityPolicy-TLS13 ',
      },
      ports,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(intent.ports.map(tlsOf), [
      { certificates: ['cert'], policy: 'ELBSecurityPolicy-TLS13' },
      { certificates: ['cert'], policy: 'ELBSecurityPolicy-TLS13' },
    ]);
  });

  for (const unknown of ['8443', 'grpc']) {
    it(`tls-ports naming unknown port ${unknown} is an error naming it`, () => {
      const { intent, problems } = decideWith(
        { [SLUICE.tlsCertificate]: 'cert', [SLUICE.tlsPorts]: `443,${unknown}` },
        ports,
      );
      assertOneProblem(problems, { reason: 'InvalidAnnotation', field: SLUICE.tlsPorts }, [`"${unknown}"`]);
      // The ports that do match are still marked.
      assert.deepEqual(intent.ports.map(tlsOf), [undefined, { certificates: ['cert'] }]);
    });
  }

  it('tls-ports without a certificate is an error', () => {
    const { intent, problems } = decideWith({ [SLUICE.tlsPorts]: '443' }, ports);
    assertOneProblem(problems, { reason: 'InvalidAnnotation', field: SLUICE.tlsPorts }, [
      SLUICE.tlsCertificate,
    ]);
    assert.deepEqual(intent.ports.map(tlsOf), [undefined, undefined]);
  });

  it('no TLS annotations means no TLS', () => {
    const { intent, problems } = decideWith(
      { [SLUICE.tlsPorts]: ' ', [SLUICE.tlsCertificate]: ' , ' },
      ports,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(intent.ports.map(tlsOf), [undefined, undefined]);
  });
});

describe('decide: source ranges', () => {
  const cases: Array<[string, Record<string, string>, V1ServiceSpec, string[]]> = [
    ['none', {}, {}, []],
    [
      'spec',
      {},
      { loadBalancerSourceRanges: ['203.0.113.0/24', ' 2001:db8::/32 '] },
      ['203.0.113.0/24', '2001:db8::/32'],
    ],
    [
      'sluice annotation',
      { [SLUICE.sourceRanges]: '203.0.113.0/24, 198.51.100.0/24' },
      {},
      ['203.0.113.0/24', '198.51.100.0/24'],
    ],
    ['legacy annotation', { [SOURCE_RANGES_LEGACY]: '198.51.100.0/24' }, {}, ['198.51.100.0/24']],
    [
      'spec wins over both annotations',
      { [SLUICE.sourceRanges]: '198.51.100.0/24', [SOURCE_RANGES_LEGACY]: '192.0.2.0/24' },
      { loadBalancerSourceRanges: ['203.0.113.0/24'] },
      ['203.0.113.0/24'],
    ],
    [
      'sluice annotation wins over legacy',
      { [SLUICE.sourceRanges]: '198.51.100.0/24', [SOURCE_RANGES_LEGACY]: '192.0.2.0/24' },
      {},
      ['198.51.100.0/24'],
    ],
    [
      'empty spec list falls through to annotations',
      { [SOURCE_RANGES_LEGACY]: '192.0.2.0/24' },
      { loadBalancerSourceRanges: [] },
      ['192.0.2.0/24'],
    ],
    ['IPv4 host bits masked', { [SLUICE.sourceRanges]: '10.0.0.5/8' }, {}, ['10.0.0.0/8']],
    ['IPv4 mid-octet mask', { [SLUICE.sourceRanges]: '192.0.2.255/25' }, {}, ['192.0.2.128/25']],
    ['IPv4 /32 kept', { [SLUICE.sourceRanges]: '192.0.2.7/32' }, {}, ['192.0.2.7/32']],
    ['IPv4 /0', { [SLUICE.sourceRanges]: '192.0.2.7/0' }, {}, ['0.0.0.0/0']],
    [
      'IPv6 host bits masked and canonical',
      { [SLUICE.sourceRanges]: '2001:DB8:1:2::5/48' },
      {},
      ['2001:db8:1::/48'],
    ],
    ['IPv6 /0', { [SLUICE.sourceRanges]: '::1/0' }, {}, ['::/0']],
  ];
  for (const [name, annotations, spec, want] of cases) {
    it(`accepts: ${name}`, () => {
      const { intent, problems } = decideWith(annotations, spec);
      assert.deepEqual(
        problems.filter((p) => p.severity === 'error'),
        [],
      );
      assert.deepEqual(intent.sourceRanges, want);
    });
  }
  const fields: Array<[string, Record<string, string>, Record<string, unknown>, string | undefined]> = [
    ['no ranges', {}, {}, undefined],
    ['spec', {}, { loadBalancerSourceRanges: ['203.0.113.0/24'] }, 'spec.loadBalancerSourceRanges'],
    ['sluice annotation', { [SLUICE.sourceRanges]: '203.0.113.0/24' }, {}, SLUICE.sourceRanges],
    ['legacy annotation', { [SOURCE_RANGES_LEGACY]: '203.0.113.0/24' }, {}, SOURCE_RANGES_LEGACY],
  ];
  for (const [name, annotations, spec, want] of fields) {
    it(`records where the ranges came from: ${name}`, () => {
      assert.equal(decideWith(annotations, spec).intent.sourceRangesField, want);
    });
  }

  const invalid: Array<[string, Record<string, string>, V1ServiceSpec, string, string]> = [
    ['no prefix', { [SLUICE.sourceRanges]: '10.0.0.0' }, {}, SLUICE.sourceRanges, '10.0.0.0'],
    ['garbage', { [SOURCE_RANGES_LEGACY]: 'office' }, {}, SOURCE_RANGES_LEGACY, 'office'],
    [
      'prefix too long (IPv4)',
      { [SLUICE.sourceRanges]: '10.0.0.0/33' },
      {},
      SLUICE.sourceRanges,
      '10.0.0.0/33',
    ],
    [
      'prefix too long (IPv6)',
      { [SLUICE.sourceRanges]: '2001:db8::/129' },
      {},
      SLUICE.sourceRanges,
      '2001:db8::/129',
    ],
    ['negative prefix', { [SLUICE.sourceRanges]: '10.0.0.0/-1' }, {}, SLUICE.sourceRanges, '10.0.0.0/-1'],
    // ipaddr.js alone would read these as 0.0.0.10/8, 8.0.0.0/8 (octal) and 10.0.0.0/8 (hex).
    ['short IPv4 form', { [SLUICE.sourceRanges]: '10/8' }, {}, SLUICE.sourceRanges, '10/8'],
    ['octal-looking IPv4', { [SLUICE.sourceRanges]: '010.0.0.0/8' }, {}, SLUICE.sourceRanges, '010.0.0.0/8'],
    ['hex IPv4', { [SLUICE.sourceRanges]: '0x0a.0.0.0/8' }, {}, SLUICE.sourceRanges, '0x0a.0.0.0/8'],
    ['two slashes', { [SLUICE.sourceRanges]: '10.0.0.0/8/9' }, {}, SLUICE.sourceRanges, '10.0.0.0/8/9'],
    ['zone', { [SLUICE.sourceRanges]: 'fe80::%eth0/64' }, {}, SLUICE.sourceRanges, 'fe80::%eth0/64'],
    [
      'in spec',
      {},
      { loadBalancerSourceRanges: ['10.0.0.0/abc'] },
      'spec.loadBalancerSourceRanges',
      '10.0.0.0/abc',
    ],
  ];
  for (const [name, annotations, spec, field, bad] of invalid) {
    it(`rejects: ${name}`, () => {
      const { intent, problems } = decideWith(annotations, spec);
      assert.deepEqual(intent.sourceRanges, []);
      assertOneProblem(problems, { reason: 'InvalidAnnotation', field }, [`"${bad}"`, 'not a CIDR']);
    });
  }

  it('keeps the valid ranges and reports each invalid one', () => {
    const { intent, problems } = decideWith({ [SLUICE.sourceRanges]: '203.0.113.9/24, nope, 10.0.0.0/99' });
    assert.deepEqual(intent.sourceRanges, ['203.0.113.0/24']);
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['InvalidAnnotation', SLUICE.sourceRanges, 'error'],
        ['InvalidAnnotation', SLUICE.sourceRanges, 'error'],
      ],
    );
    assert.ok(problems[0]!.message.includes('"nope"'));
    assert.ok(problems[1]!.message.includes('"10.0.0.0/99"'));
  });
});

describe('decide: several problems at once', () => {
  it('reports every problem, not just the first', () => {
    const { problems } = decideWith(
      {
        [SLUICE.addresses]: 'bad-address',
        [SLUICE.internal]: 'maybe',
        [SLUICE.tlsPorts]: '443',
        [SLUICE.sourceRanges]: 'bad-range',
      },
      { ports: [] },
    );
    assert.deepEqual(
      problems.map((p) => p.field),
      ['spec.ports', SLUICE.addresses, SLUICE.internal, SLUICE.tlsPorts, SLUICE.sourceRanges],
    );
  });
});

describe('canonicalAddress', () => {
  const cases: Array<[string, string | undefined]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8::0001', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['::', '::'],
    ['10.1', undefined],
    ['10', undefined],
    ['010.0.0.1', undefined],
    ['0x0a.0.0.1', undefined],
    ['256.0.0.1', undefined],
    ['fe80::1%eth0', undefined],
    ['', undefined],
    ['example.com', undefined],
    ['192.0.2.0/24', undefined],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} → ${want}`, () => {
      assert.equal(canonicalAddress(text), want);
    });
  }
});

describe('decide: TLS policy without a certificate', () => {
  it('is an error naming the policy key, not silently ignored', () => {
    const { problems } = decideWith({ [SLUICE.tlsPolicy]: 'ELBSecurityPolicy-TLS13-1-2-2021-06' }, {});
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [['InvalidAnnotation', SLUICE.tlsPolicy, 'error']],
    );
  });
});

describe('decide: source-range keys that lose to a higher-priority source', () => {
  it('warns about each ignored key that says something else', () => {
    const { problems } = decideWith(
      { [SLUICE.sourceRanges]: '198.51.100.0/24', [SOURCE_RANGES_LEGACY]: '192.0.2.0/24' },
      { loadBalancerSourceRanges: ['203.0.113.0/24'] },
    );
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.severity]),
      [
        ['ConflictingAnnotations', SLUICE.sourceRanges, 'warning'],
        ['ConflictingAnnotations', SOURCE_RANGES_LEGACY, 'warning'],
      ],
    );
    assert.match(
      problems[0]?.message ?? '',
      /spec\.loadBalancerSourceRanges gives the source ranges \(203\.0\.113\.0\/24\)/,
    );
  });
  it('stays quiet when the ignored key agrees', () => {
    const { problems } = decideWith(
      { [SLUICE.sourceRanges]: '203.0.113.0/24' },
      { loadBalancerSourceRanges: ['203.0.113.0/24'] },
    );
    assert.deepEqual(problems, []);
  });
});
