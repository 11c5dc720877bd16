import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SLUICE } from '../../src/intent/annotations.ts';
import type { LoadBalancerIntent, Problem } from '../../src/intent/types.ts';
import type { AzureSettings } from '../../src/providers/azure/model.ts';
import {
  AZURE_ANNOTATIONS as A,
  azureSettings,
  canonicalCidr,
  AZURE_REFUSED_ANNOTATIONS as R,
} from '../../src/providers/azure/settings.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

function settingsOf(
  annotations: Record<string, string> = {},
  overrides: Partial<LoadBalancerIntent> = {},
): { settings: AzureSettings; problems: Problem[] } {
  return azureSettings(plainIntent({ annotations, ...overrides }));
}

function errors(problems: Problem[]): Array<[string, string]> {
  return problems.filter((p) => p.severity === 'error').map((p) => [p.reason, p.field]);
}

function warnings(problems: Problem[]): Array<[string, string]> {
  return problems.filter((p) => p.severity === 'warning').map((p) => [p.reason, p.field]);
}

const DEFAULTS: AzureSettings = {
  internal: false,
  publicAddress: { kind: 'managed' },
  probe: { requestPath: '/', intervalSeconds: 5, numberOfProbes: 2 },
  idleTimeoutMinutes: 4,
  tcpReset: true,
  floatingIp: true,
  loadDistribution: 'Default',
  access: { manage: true, ipRanges: [], serviceTags: ['Internet'], denyAllOthers: false },
};

describe('azureSettings: defaults', () => {
  it('a plain Service: public, Sluice-made public IP, open to the Internet, Azure defaults', () => {
    const { settings, problems } = settingsOf();
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, DEFAULTS);
  });

  it('blank values count as not set (templated manifests)', () => {
    const blank = Object.fromEntries(Object.values(A).map((key) => [key, '  ']));
    const { settings, problems } = settingsOf(blank);
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, DEFAULTS);
  });
});

// Every annotation: a valid value, an invalid value, and removal returning the default.
interface Case {
  key: string;
  value: string;
  expect: (s: AzureSettings) => unknown;
  want: unknown;
  bad?: string;
  overrides?: Partial<LoadBalancerIntent>;
}

const cases: Case[] = [
  { key: A.internal, value: 'true', expect: (s) => s.internal, want: true, bad: 'yes' },
  {
    key: A.internalSubnet,
    value: 'ilb-subnet',
    expect: (s) => s.subnet,
    want: 'ilb-subnet',
    bad: '-bad',
    overrides: { annotations: { [A.internal]: 'true' } },
  },
  {
    key: A.pipName,
    value: 'my-pip',
    expect: (s) => s.publicAddress,
    want: { kind: 'named', name: 'my-pip' },
    bad: 'no/slash',
  },
  {
    key: A.ipv4,
    value: '20.1.2.3',
    expect: (s) => s.publicAddress,
    want: { kind: 'address', address: '20.1.2.3' },
    bad: '20.1.2',
  },
  {
    key: A.dnsLabelName,
    value: 'my-shop',
    expect: (s) => s.publicAddress,
    want: { kind: 'managed', dnsLabel: 'my-shop' },
    bad: 'My_Shop',
  },
  { key: A.probeProtocol, value: 'http', expect: (s) => s.probe.protocol, want: 'Http', bad: 'udp' },
  {
    key: A.probeRequestPath,
    value: '/ready',
    expect: (s) => s.probe.requestPath,
    want: '/ready',
    bad: 'ready',
    overrides: { annotations: { [A.probeProtocol]: 'Http' } },
  },
  { key: A.probeInterval, value: '10', expect: (s) => s.probe.intervalSeconds, want: 10, bad: '4' },
  { key: A.probeNumOfProbe, value: '3', expect: (s) => s.probe.numberOfProbes, want: 3, bad: '0' },
  { key: A.tcpIdleTimeout, value: '30', expect: (s) => s.idleTimeoutMinutes, want: 30, bad: '101' },
  { key: A.disableTcpReset, value: 'true', expect: (s) => s.tcpReset, want: false, bad: 'off' },
  { key: A.disableFloatingIp, value: 'true', expect: (s) => s.floatingIp, want: false, bad: '1' },
  {
    key: A.allowedServiceTags,
    value: 'AzureCloud.WestEurope, Storage',
    expect: (s) => s.access.serviceTags,
    want: ['AzureCloud.WestEurope', 'Storage'],
    bad: 'not a tag',
  },
  {
    key: A.allowedIpRanges,
    value: '203.0.113.0/24,198.51.100.7/32',
    expect: (s) => [s.access.ipRanges, s.access.serviceTags],
    want: [['203.0.113.0/24', '198.51.100.7/32'], []],
    bad: '203.0.113.0',
  },
  {
    key: A.denyAllExceptSourceRanges,
    value: 'true',
    expect: (s) => s.access.denyAllOthers,
    want: true,
    bad: 'maybe',
  },
  { key: A.disableNsgRule, value: 'true', expect: (s) => s.access.manage, want: false, bad: 'no' },
];

describe('azureSettings: every annotation', () => {
  it('covers every key Sluice reads', () => {
    const tested = new Set(cases.map((c) => c.key));
    tested.add(A.resourceGroup); // own tests below
    assert.deepEqual(
      Object.values(A).filter((key) => !tested.has(key)),
      [],
    );
  });

  for (const c of cases) {
    const base = c.overrides?.annotations ?? {};
    const overrides = { ...c.overrides };
    delete overrides.annotations;
    it(`${c.key.replace('service.beta.kubernetes.io/', '')}: "${c.value}" is read`, () => {
      const { settings, problems } = settingsOf({ ...base, [c.key]: c.value }, overrides);
      assert.deepEqual(errors(problems), []);
      assert.deepEqual(c.expect(settings), c.want);
    });
    it(`${c.key.replace('service.beta.kubernetes.io/', '')}: removing it returns the default`, () => {
      const withIt = settingsOf({ ...base, [c.key]: c.value }, overrides).settings;
      const without = settingsOf({ ...base }, overrides).settings;
      assert.notDeepEqual(c.expect(withIt), c.expect(without));
      assert.deepEqual(c.expect(without), c.expect(DEFAULTS));
      if (Object.keys(base).length === 0) assert.deepEqual(without, DEFAULTS);
    });
    if (c.bad !== undefined) {
      const bad = c.bad;
      it(`${c.key.replace('service.beta.kubernetes.io/', '')}: "${bad}" is an InvalidAnnotation error naming the key`, () => {
        const { problems } = settingsOf({ ...base, [c.key]: bad }, overrides);
        const problem = problems.find((p) => p.field === c.key && p.severity === 'error');
        assert.ok(problem, JSON.stringify(problems));
        assert.equal(problem.reason, 'InvalidAnnotation');
        assert.match(problem.message, new RegExp(bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      });
    }
  }
});

describe('azureSettings: addresses and visibility', () => {
  it('sluice.dev/internal works like the Azure key; the two must agree', () => {
    assert.equal(
      azureSettings(plainIntent({ internal: true, annotations: { [SLUICE.internal]: 'true' } })).settings
        .internal,
      true,
    );
    const both = azureSettings(
      plainIntent({ internal: true, annotations: { [SLUICE.internal]: 'true', [A.internal]: 'false' } }),
    );
    assert.deepEqual(errors(both.problems), [['ConflictingAnnotations', A.internal]]);
  });

  it('internal: a requested address is the static private address, no public IP', () => {
    const { settings, problems } = settingsOf(
      { [A.internal]: 'true' },
      { requestedAddresses: ['10.240.0.50'] },
    );
    assert.deepEqual(problems, []);
    assert.equal(settings.privateAddress, '10.240.0.50');
    assert.equal(settings.publicAddress, undefined);
    // No source named on an internal Service: no NSG rule (the VNet rule admits the VNet).
    assert.deepEqual(settings.access.serviceTags, []);
  });

  it('public: loadBalancerIP names the user public IP by address, in the annotated resource group', () => {
    const { settings, problems } = settingsOf(
      { [A.resourceGroup]: 'net-rg' },
      { requestedAddresses: ['20.1.2.3'] },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.publicAddress, {
      kind: 'address',
      address: '20.1.2.3',
      resourceGroup: 'net-rg',
    });
  });

  it('pip name and address together: the named public IP must hold that address', () => {
    const { settings } = settingsOf({ [A.pipName]: 'pip1', [A.ipv4]: '20.1.2.3' });
    assert.deepEqual(settings.publicAddress, { kind: 'named', name: 'pip1', address: '20.1.2.3' });
  });

  it('azure-load-balancer-ipv4 and loadBalancerIP disagreeing is a conflict', () => {
    const { problems } = settingsOf({ [A.ipv4]: '20.1.2.3' }, { requestedAddresses: ['20.9.9.9'] });
    assert.deepEqual(errors(problems), [['ConflictingAnnotations', A.ipv4]]);
  });

  it('resource group: invalid name refused; without a user public IP it is only a warning', () => {
    assert.deepEqual(errors(settingsOf({ [A.resourceGroup]: 'bad.', [A.pipName]: 'p' }).problems), [
      ['InvalidAnnotation', A.resourceGroup],
    ]);
    const alone = settingsOf({ [A.resourceGroup]: 'net-rg' });
    assert.deepEqual(warnings(alone.problems), [['InvalidAnnotation', A.resourceGroup]]);
    assert.deepEqual(alone.settings.publicAddress, { kind: 'managed' });
  });

  it('public-only keys on an internal Service, and the subnet on a public one, warn', () => {
    const internal = settingsOf({ [A.internal]: 'true', [A.pipName]: 'p', [A.dnsLabelName]: 'abc' });
    assert.deepEqual(warnings(internal.problems).sort(), [
      ['InvalidAnnotation', A.dnsLabelName],
      ['InvalidAnnotation', A.pipName],
    ]);
    const pub = settingsOf({ [A.internalSubnet]: 'sub' });
    assert.deepEqual(warnings(pub.problems), [['InvalidAnnotation', A.internalSubnet]]);
    assert.equal(pub.settings.subnet, undefined);
  });

  it('a DNS label on a user public IP has no effect (warning)', () => {
    const { problems } = settingsOf({ [A.pipName]: 'p', [A.dnsLabelName]: 'abc' });
    assert.deepEqual(warnings(problems), [['InvalidAnnotation', A.dnsLabelName]]);
  });

  it('bare-metal requests are refused, naming the key the user wrote: pools and shared addresses', () => {
    assert.deepEqual(errors(settingsOf({ [SLUICE.pool]: 'blue' }, { requestedPool: 'blue' }).problems), [
      ['Unsupported', SLUICE.pool],
    ]);
    assert.deepEqual(
      errors(
        settingsOf(
          { 'metallb.io/allow-shared-ip': 'k' },
          { sharing: { key: 'k', crossNamespace: [], backendKey: '' } },
        ).problems,
      ),
      [['Unsupported', 'metallb.io/allow-shared-ip']],
    );
  });

  it('IPv6: requested addresses, IPv6 keys and RequireDualStack are refused; PreferDualStack warns', () => {
    assert.deepEqual(errors(settingsOf({}, { requestedAddresses: ['2001:db8::1'] }).problems), [
      ['Unsupported', 'spec.loadBalancerIP'],
    ]);
    assert.deepEqual(errors(settingsOf({ [R.ipv6]: '2001:db8::1' }).problems), [['Unsupported', R.ipv6]]);
    assert.deepEqual(errors(settingsOf({ [R.pipNameIpv6]: 'p6' }).problems), [
      ['Unsupported', R.pipNameIpv6],
    ]);
    assert.deepEqual(
      errors(settingsOf({}, { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }).problems),
      [['Unsupported', 'spec.ipFamilyPolicy']],
    );
    assert.deepEqual(errors(settingsOf({}, { ipFamilies: ['IPv6'] }).problems), [
      ['Unsupported', 'spec.ipFamilies'],
    ]);
    assert.deepEqual(
      warnings(settingsOf({}, { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }).problems),
      [['Unsupported', 'spec.ipFamilies']],
    );
  });
});

describe('azureSettings: probes', () => {
  it('interval × count must stay under 120 s', () => {
    const { problems } = settingsOf({ [A.probeInterval]: '30', [A.probeNumOfProbe]: '4' });
    const problem = problems.find((p) => p.severity === 'error');
    assert.equal(problem?.field, A.probeNumOfProbe);
    assert.match(problem?.message ?? '', /120/);
    assert.deepEqual(errors(settingsOf({ [A.probeInterval]: '29', [A.probeNumOfProbe]: '4' }).problems), []);
  });

  it('ETP Local: protocol and path have no effect (warnings), interval and count still apply', () => {
    const { settings, problems } = settingsOf(
      { [A.probeProtocol]: 'Tcp', [A.probeRequestPath]: '/x', [A.probeInterval]: '7' },
      { trafficPolicy: 'Local', healthCheckNodePort: 32000 },
    );
    assert.deepEqual(warnings(problems).sort(), [
      ['InvalidAnnotation', A.probeProtocol],
      ['InvalidAnnotation', A.probeRequestPath],
    ]);
    assert.equal(settings.probe.intervalSeconds, 7);
  });

  it('a request path with a TCP probe has no effect (warning)', () => {
    assert.deepEqual(warnings(settingsOf({ [A.probeRequestPath]: '/x' }).problems), [
      ['InvalidAnnotation', A.probeRequestPath],
    ]);
  });
});

describe('azureSettings: access (NSG)', () => {
  it('spec source ranges become the allowed ranges; no Internet tag then', () => {
    const { settings } = settingsOf({}, { sourceRanges: ['203.0.113.0/24'] });
    assert.deepEqual(settings.access, {
      manage: true,
      ipRanges: ['203.0.113.0/24'],
      serviceTags: [],
      denyAllOthers: false,
    });
  });

  it('service tags alone replace the Internet default', () => {
    assert.deepEqual(
      settingsOf({ [A.allowedServiceTags]: 'AzureFrontDoor.Backend' }).settings.access.serviceTags,
      ['AzureFrontDoor.Backend'],
    );
  });

  it('azure-allowed-ip-ranges cannot be combined with loadBalancerSourceRanges', () => {
    const { problems } = settingsOf(
      { [A.allowedIpRanges]: '198.51.100.0/24' },
      { sourceRanges: ['203.0.113.0/24'], sourceRangesField: 'spec.loadBalancerSourceRanges' },
    );
    assert.deepEqual(errors(problems), [['ConflictingAnnotations', A.allowedIpRanges]]);
  });

  it('IPv6 ranges are dropped with a warning (the frontend is IPv4)', () => {
    const { settings, problems } = settingsOf({ [A.allowedIpRanges]: '2001:db8::/32,198.51.100.0/24' });
    assert.deepEqual(settings.access.ipRanges, ['198.51.100.0/24']);
    assert.deepEqual(warnings(problems), [['Unsupported', A.allowedIpRanges]]);
  });

  it('NSG keys with the NSG rule disabled warn', () => {
    const { problems } = settingsOf({ [A.disableNsgRule]: 'true', [A.allowedServiceTags]: 'Internet' });
    assert.deepEqual(warnings(problems), [['ConflictingAnnotations', A.allowedServiceTags]]);
  });

  it('canonicalCidr', () => {
    assert.equal(canonicalCidr('10.0.0.0/8'), '10.0.0.0/8');
    assert.equal(canonicalCidr('2001:DB8::/32'), '2001:db8::/32');
    assert.equal(canonicalCidr('10.0.0.0/33'), undefined);
    assert.equal(canonicalCidr('10.0.0/8'), undefined);
    assert.equal(canonicalCidr('10.0.0.0'), undefined);
  });
});

describe('azureSettings: what Sluice does not build', () => {
  it('session affinity ClientIP → SourceIP distribution', () => {
    assert.equal(settingsOf({}, { sessionAffinity: 'ClientIP' }).settings.loadDistribution, 'SourceIP');
  });

  it('azure-pls-proxy-protocol "true" is Unsupported (error naming the key); "false" is fine', () => {
    const { problems } = settingsOf({ [R.plsProxyProtocol]: 'true' });
    assert.deepEqual(errors(problems), [['Unsupported', R.plsProxyProtocol]]);
    assert.match(problems[0]?.message ?? '', /Private Link/);
    assert.deepEqual(settingsOf({ [R.plsProxyProtocol]: 'false' }).problems, []);
  });

  it('azure-pls-create "true" is Unsupported', () => {
    assert.deepEqual(errors(settingsOf({ [R.plsCreate]: 'true' }).problems), [['Unsupported', R.plsCreate]]);
  });

  it('other azure-* keys and per-port overrides warn Unsupported', () => {
    const mode = 'service.beta.kubernetes.io/azure-load-balancer-mode';
    const port = 'service.beta.kubernetes.io/port_80_no_probe_rule';
    const { problems } = settingsOf({ [mode]: '__auto__', [port]: 'true' });
    assert.deepEqual(warnings(problems), [
      ['Unsupported', mode],
      ['Unsupported', port],
    ]);
  });
});
