import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capabilityProblems } from '../../src/controller/capabilities.ts';
import { SLUICE } from '../../src/intent/annotations.ts';
import type { LoadBalancerIntent, PortIntent, Problem } from '../../src/intent/types.ts';
import type { Capabilities } from '../../src/providers/provider.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

const ALL: Capabilities = {
  tls: true,
  proxyProtocol: true,
  internal: true,
  sourceRanges: 'any',
  protocols: ['TCP', 'UDP', 'SCTP'],
};
const NONE: Capabilities = {
  tls: false,
  proxyProtocol: false,
  internal: false,
  sourceRanges: 'none',
  protocols: ['TCP'],
};

const intent = plainIntent;

const tlsPorts: PortIntent[] = [
  { name: 'http', protocol: 'TCP', port: 80 },
  { name: 'https', protocol: 'TCP', port: 443, tls: { certificates: ['cert'] } },
];

describe('capabilityProblems', () => {
  it('a plain TCP intent is fine even for the most limited provider', () => {
    assert.deepEqual(capabilityProblems(intent(), NONE, 'tiny'), []);
  });

  it('a provider that can do everything never objects', () => {
    const everything = intent({
      internal: true,
      proxyProtocol: true,
      sourceRanges: ['10.0.0.0/8'],
      ports: [...tlsPorts, { protocol: 'UDP', port: 53 }, { protocol: 'SCTP', port: 9 }],
    });
    assert.deepEqual(capabilityProblems(everything, ALL, 'big'), []);
  });

  const cases: Array<{
    name: string;
    intent: Partial<LoadBalancerIntent>;
    missing: Partial<Capabilities>;
    want: Problem;
  }> = [
    {
      name: 'TLS',
      intent: { ports: tlsPorts },
      missing: { tls: false },
      want: {
        reason: 'Unsupported',
        field: SLUICE.tlsCertificate,
        severity: 'error',
        message: 'TLS termination is not supported by the pool provider',
      },
    },
    {
      name: 'PROXY protocol',
      intent: { proxyProtocol: true },
      missing: { proxyProtocol: false },
      want: {
        reason: 'Unsupported',
        field: SLUICE.proxyProtocol,
        severity: 'error',
        message: 'PROXY protocol is not supported by the pool provider',
      },
    },
    {
      name: 'internal (a warning only)',
      intent: { internal: true },
      missing: { internal: false },
      want: {
        reason: 'Unsupported',
        field: SLUICE.internal,
        severity: 'warning',
        message: 'an internal-only load balancer is not supported by the pool provider',
      },
    },
    {
      name: 'source ranges',
      intent: { sourceRanges: ['203.0.113.0/24'] },
      missing: { sourceRanges: 'none' },
      want: {
        reason: 'Unsupported',
        field: 'spec.loadBalancerSourceRanges',
        severity: 'error',
        message: 'restricting client source ranges is not supported by the pool provider',
      },
    },
    {
      name: 'a protocol, naming the port by its index in spec.ports',
      intent: {
        ports: [
          { protocol: 'TCP', port: 80 },
          { protocol: 'UDP', port: 53 },
        ],
      },
      missing: { protocols: ['TCP'] },
      want: {
        reason: 'Unsupported',
        field: 'spec.ports[1]',
        severity: 'error',
        message: 'protocol UDP (port 53) is not supported by the pool provider',
      },
    },
  ];
  for (const c of cases) {
    it(`reports unsupported ${c.name}`, () => {
      assert.deepEqual(capabilityProblems(intent(c.intent), { ...ALL, ...c.missing }, 'pool'), [c.want]);
    });
    it(`is silent about ${c.name} when the intent does not ask for it`, () => {
      assert.deepEqual(capabilityProblems(intent(), { ...ALL, ...c.missing }, 'pool'), []);
    });
  }

  it('reports every unsupported feature at once, in a stable order', () => {
    const problems = capabilityProblems(
      intent({
        internal: true,
        proxyProtocol: true,
        sourceRanges: ['10.0.0.0/8'],
        ports: [...tlsPorts, { protocol: 'UDP', port: 53 }, { protocol: 'SCTP', port: 9 }],
      }),
      NONE,
      'tiny',
    );
    assert.deepEqual(
      problems.map((p) => [p.field, p.severity]),
      [
        [SLUICE.tlsCertificate, 'error'],
        [SLUICE.proxyProtocol, 'error'],
        [SLUICE.internal, 'warning'],
        ['spec.loadBalancerSourceRanges', 'error'],
        ['spec.ports[2]', 'error'],
        ['spec.ports[3]', 'error'],
      ],
    );
    assert.ok(
      problems.every((p) => p.reason === 'Unsupported' && p.message.endsWith('by the tiny provider')),
    );
  });

  it('reports TLS once however many ports ask for it', () => {
    const ports: PortIntent[] = [80, 443, 8443].map((port) => ({
      protocol: 'TCP',
      port,
      tls: { certificates: ['c'] },
    }));
    assert.equal(capabilityProblems(intent({ ports }), NONE, 'tiny').length, 1);
  });
});

describe('source ranges on a provider where only kube-proxy enforces them', () => {
  const specOnly: Capabilities = { ...ALL, sourceRanges: 'spec-only' };
  it('accepts ranges from spec.loadBalancerSourceRanges', () => {
    const fromSpec = intent({
      sourceRanges: ['203.0.113.0/24'],
      sourceRangesField: 'spec.loadBalancerSourceRanges',
    });
    assert.deepEqual(capabilityProblems(fromSpec, specOnly, 'pool'), []);
  });
  it('refuses ranges that only an annotation gives, since nothing would enforce them', () => {
    const fromAnnotation = intent({
      sourceRanges: ['203.0.113.0/24'],
      sourceRangesField: SLUICE.sourceRanges,
    });
    const problems = capabilityProblems(fromAnnotation, specOnly, 'pool');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.reason, 'Unsupported');
    assert.equal(problems[0]?.field, SLUICE.sourceRanges);
    assert.equal(problems[0]?.severity, 'error');
    assert.match(problems[0]?.message ?? '', /move them there/);
  });
});
