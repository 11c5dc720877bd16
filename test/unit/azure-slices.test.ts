import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LoadBalancerIntent } from '../../src/intent/types.ts';
import {
  AZURE_LIMITS,
  type AzureScope,
  type LoadBalancerBody,
  type LoadBalancerSlice,
  type SecurityGroupBody,
} from '../../src/providers/azure/model.ts';
import {
  frontendName,
  isOwnedPublicIp,
  isSluiceFrontendName,
  loadBalancerName,
  MAX_NAME_LENGTH,
  ownsEntry,
  publicIpId,
  publicIpName,
  publicIpTags,
  ruleName,
} from '../../src/providers/azure/names.ts';
import { AZURE_ANNOTATIONS as A, azureSettings } from '../../src/providers/azure/settings.ts';
import {
  backendPool,
  holdsNothingOf,
  holdsSlice,
  type LoadBalancerBase,
  loadBalancerSlice,
  mergeLoadBalancer,
  mergeSecurityGroup,
  securityGroupSlice,
} from '../../src/providers/azure/slices.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

const SCOPE: AzureScope = {
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  resourceGroup: 'rg-k8s',
  location: 'westeurope',
  vnetName: 'vnet',
  subnetName: 'nodes',
  cluster: 'prod',
};
const CONTEXT = { scope: SCOPE, probeMode: 'nodeport' as const };
const NODES = [
  { name: 'node-b', labels: {}, internalAddresses: ['10.240.0.5'] },
  { name: 'node-a', labels: {}, internalAddresses: ['10.240.0.4', 'fd00::4'] },
];

function uid(n: number): string {
  return `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`.slice(-36);
}

function service(n: number, overrides: Partial<LoadBalancerIntent> = {}): LoadBalancerIntent {
  return plainIntent({
    service: { namespace: 'shop', name: `web-${n}`, uid: uid(n) },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 + n }],
    nodes: NODES,
    ...overrides,
  });
}

function sliceOf(
  intent: LoadBalancerIntent,
  probeMode: 'nodeport' | 'kube-proxy' = 'nodeport',
): LoadBalancerSlice {
  const { settings, problems } = azureSettings(intent);
  assert.deepEqual(
    problems.filter((p) => p.severity === 'error'),
    [],
  );
  const pip = settings.internal ? undefined : publicIpId(SCOPE, publicIpName(SCOPE.cluster, intent.service));
  const result = loadBalancerSlice(intent, settings, { scope: SCOPE, probeMode }, pip);
  if ('problem' in result) assert.fail(result.problem);
  return result.slice;
}

function base(internal = false): LoadBalancerBase {
  return {
    name: loadBalancerName(SCOPE.cluster, internal),
    location: SCOPE.location,
    tags: { 'sluice.dev-cluster': SCOPE.cluster },
    backendPool: backendPool({ nodes: NODES }, SCOPE),
  };
}

const GOLDEN_DIR = fileURLToPath(new URL('./golden/azure/', import.meta.url));
function golden(name: string, value: unknown): void {
  const file = `${GOLDEN_DIR}${name}.json`;
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.SLUICE_UPDATE_GOLDEN === '1') writeFileSync(file, text);
  assert.equal(text, readFileSync(file, 'utf8'), `differs from ${file} (SLUICE_UPDATE_GOLDEN=1 rewrites it)`);
}

describe('azure names', () => {
  it('frontend a<uid>, rules <frontend>-<PROTOCOL>-<port>, LB names per visibility', () => {
    const ref = { namespace: 'shop', name: 'web', uid: '3F2504E0-4F89-11D3-9A0C-0305E82C3301' };
    assert.equal(frontendName(ref), 'a3f2504e04f8911d39a0c0305e82c3301');
    assert.ok(isSluiceFrontendName(frontendName(ref)));
    assert.equal(ruleName(frontendName(ref), 'Udp', 53), 'a3f2504e04f8911d39a0c0305e82c3301-UDP-53');
    assert.equal(loadBalancerName('prod', false), 'prod');
    assert.equal(loadBalancerName('prod', true), 'prod-internal');
  });

  it('public IP names stay within 80 characters and keep the frontend whole', () => {
    const ref = { namespace: 'shop', name: 'web', uid: uid(1) };
    const name = publicIpName('c'.repeat(200), ref);
    assert.equal(name.length, MAX_NAME_LENGTH);
    assert.ok(name.endsWith(`-${frontendName(ref)}`));
    assert.ok(loadBalancerName('x'.repeat(200), true).length <= MAX_NAME_LENGTH);
    assert.notEqual(loadBalancerName('x'.repeat(200), true), loadBalancerName('x'.repeat(200), false));
  });

  it('ownership by prefix: a Service never owns another one whose UID starts the same', () => {
    assert.ok(ownsEntry('a1', 'a1'));
    assert.ok(ownsEntry('a1', 'a1-TCP-80'));
    assert.ok(!ownsEntry('a1', 'a12-TCP-80'));
  });

  it('public IP tags name cluster and Service', () => {
    const ref = { namespace: 'shop', name: 'web', uid: uid(1) };
    const tags = publicIpTags('prod', ref);
    assert.ok(isOwnedPublicIp(tags, 'prod', uid(1)));
    assert.ok(isOwnedPublicIp(tags, 'prod'));
    assert.ok(!isOwnedPublicIp(tags, 'prod', uid(2)));
    assert.ok(!isOwnedPublicIp(tags, 'other'));
    assert.ok(!isOwnedPublicIp(undefined, 'prod'));
  });
});

describe('loadBalancerSlice', () => {
  it('public, ETP Cluster: TCP probe on the NodePort, floating IP, backend port = service port', () => {
    const slice = sliceOf(service(1));
    const owner = frontendName(service(1).service);
    assert.deepEqual(slice.frontend, {
      name: owner,
      publicIPAddress: { id: publicIpId(SCOPE, `prod-${owner}`) },
    });
    assert.equal(slice.rules.length, 1);
    const [rule] = slice.rules;
    assert.equal(rule?.name, `${owner}-TCP-80`);
    assert.equal(rule?.backendPort, 80);
    assert.equal(rule?.enableFloatingIP, true);
    assert.equal(rule?.enableTcpReset, true);
    assert.deepEqual(slice.probes, [
      {
        name: `${owner}-TCP-80`,
        protocol: 'Tcp',
        port: 30081,
        intervalInSeconds: 5,
        numberOfProbes: 2,
        probeThreshold: 2,
      },
    ]);
  });

  it('ETP Local: one HTTP probe on healthCheckNodePort /healthz for every rule', () => {
    const intent = service(2, {
      trafficPolicy: 'Local',
      healthCheckNodePort: 32100,
      ports: [
        { protocol: 'TCP', port: 80, nodePort: 30080 },
        { protocol: 'UDP', port: 53, nodePort: 30053 },
      ],
    });
    const slice = sliceOf(intent);
    assert.deepEqual(
      slice.probes.map((p) => [p.protocol, p.port, p.requestPath]),
      [['Http', 32100, '/healthz']],
    );
    assert.ok(slice.rules.every((r) => r.probe?.id.endsWith(`/probes/${slice.probes[0]?.name}`)));
    // TCP reset only on TCP rules.
    assert.deepEqual(
      slice.rules.map((r) => [r.protocol, r.enableTcpReset]),
      [
        ['Tcp', true],
        ['Udp', false],
      ],
    );
  });

  it('ETP Local without healthCheckNodePort is a problem, not a crash', () => {
    const intent = service(2, { trafficPolicy: 'Local' });
    const result = loadBalancerSlice(intent, azureSettings(intent).settings, CONTEXT, 'pip');
    assert.ok('problem' in result && /healthCheckNodePort/.test(result.problem));
  });

  it('probe mode kube-proxy: HTTP 10256 /healthz; UDP ports always use it', () => {
    const slice = sliceOf(service(3), 'kube-proxy');
    assert.deepEqual(
      slice.probes.map((p) => [p.protocol, p.port, p.requestPath]),
      [['Http', 10256, '/healthz']],
    );
    const udp = sliceOf(service(3, { ports: [{ protocol: 'UDP', port: 53, nodePort: 30053 }] }));
    assert.deepEqual(
      udp.probes.map((p) => [p.protocol, p.port]),
      [['Http', 10256]],
    );
  });

  it('annotated HTTP probe with path, floating IP off (backend = NodePort), SourceIP, idle timeout, no TCP reset', () => {
    const intent = service(4, {
      sessionAffinity: 'ClientIP',
      annotations: {
        [A.probeProtocol]: 'Https',
        [A.probeRequestPath]: '/ready',
        [A.disableFloatingIp]: 'true',
        [A.tcpIdleTimeout]: '15',
        [A.disableTcpReset]: 'true',
      },
    });
    const slice = sliceOf(intent);
    assert.deepEqual(
      slice.probes.map((p) => [p.protocol, p.port, p.requestPath]),
      [['Https', 30084, '/ready']],
    );
    const [rule] = slice.rules;
    assert.deepEqual(
      [
        rule?.backendPort,
        rule?.enableFloatingIP,
        rule?.loadDistribution,
        rule?.idleTimeoutInMinutes,
        rule?.enableTcpReset,
      ],
      [30084, false, 'SourceIP', 15, false],
    );
  });

  it('internal: subnet from the annotation, static private address', () => {
    const intent = service(5, {
      requestedAddresses: ['10.240.1.10'],
      annotations: { [A.internal]: 'true', [A.internalSubnet]: 'ilb' },
    });
    const slice = sliceOf(intent);
    assert.deepEqual(slice.frontend, {
      name: frontendName(intent.service),
      subnet: {
        id: `/subscriptions/${SCOPE.subscriptionId}/resourceGroups/rg-k8s/providers/Microsoft.Network/virtualNetworks/vnet/subnets/ilb`,
      },
      privateIPAllocationMethod: 'Static',
      privateIPAddress: '10.240.1.10',
    });
    assert.match(slice.rules[0]?.frontendIPConfiguration.id ?? '', /loadBalancers\/prod-internal\//);
  });

  it('a port without NodePort, SCTP, or a repeated port is a problem', () => {
    for (const ports of [
      [{ protocol: 'TCP' as const, port: 80 }],
      [{ protocol: 'SCTP' as const, port: 80, nodePort: 30000 }],
      [
        { protocol: 'TCP' as const, port: 80, nodePort: 30000 },
        { protocol: 'TCP' as const, port: 80, nodePort: 30001 },
      ],
    ]) {
      const intent = service(6, { ports });
      const result = loadBalancerSlice(intent, azureSettings(intent).settings, CONTEXT, 'pip');
      assert.ok('problem' in result, JSON.stringify(ports));
    }
  });
});

describe('mergeLoadBalancer', () => {
  it('golden: a new LB from three Services (public, Local, UDP), with the shared IP-based pool', () => {
    const slices = [
      sliceOf(service(1)),
      sliceOf(service(2, { trafficPolicy: 'Local', healthCheckNodePort: 32100 })),
      sliceOf(service(3, { ports: [{ protocol: 'UDP', port: 53, nodePort: 30053 }] })),
    ];
    const result = mergeLoadBalancer(
      undefined,
      slices.map((slice) => ({ owner: slice.owner, slice })),
      base(),
    );
    assert.equal(result.rejected.size, 0);
    assert.ok(result.changed);
    golden('three-services', result.body);
    for (const slice of slices) assert.ok(holdsSlice(result.body ?? undefined, slice));
  });

  it('keeps foreign entries and other Services in place; merging the same slices again changes nothing', () => {
    const one = sliceOf(service(1));
    const two = sliceOf(service(2));
    const first = mergeLoadBalancer(undefined, [{ owner: one.owner, slice: one }], base());
    const current = structuredClone(first.body) as LoadBalancerBody;
    current.etag = 'W/"1"';
    current.frontendIPConfigurations.unshift({ name: 'someone-else', publicIPAddress: { id: 'x' } });
    current.loadBalancingRules.push({ name: 'someone-else-rule', extra: true });
    const second = mergeLoadBalancer(current, [{ owner: two.owner, slice: two }], base());
    assert.deepEqual(
      second.body?.frontendIPConfigurations.map((f) => f.name),
      ['someone-else', one.owner, two.owner],
    );
    assert.ok(second.body?.loadBalancingRules.some((r) => r.name === 'someone-else-rule'));
    assert.equal(second.body?.etag, 'W/"1"');
    const again = mergeLoadBalancer(
      second.body ?? undefined,
      [
        { owner: one.owner, slice: one },
        { owner: two.owner, slice: two },
      ],
      base(),
    );
    assert.equal(again.changed, false);
  });

  it('a changed slice replaces the old entries of its owner (a removed port goes away)', () => {
    const two = service(7, {
      ports: [
        { protocol: 'TCP', port: 80, nodePort: 30080 },
        { protocol: 'TCP', port: 443, nodePort: 30443 },
      ],
    });
    const before = sliceOf(two);
    const after = sliceOf({ ...two, ports: [{ protocol: 'TCP', port: 443, nodePort: 30443 }] });
    const lb =
      mergeLoadBalancer(undefined, [{ owner: before.owner, slice: before }], base()).body ?? undefined;
    const merged = mergeLoadBalancer(lb, [{ owner: after.owner, slice: after }], base());
    assert.deepEqual(
      merged.body?.loadBalancingRules.map((r) => r.name),
      [`${after.owner}-TCP-443`],
    );
    assert.ok(merged.changed);
    assert.ok(!holdsSlice(lb, after));
    assert.ok(holdsSlice(merged.body ?? undefined, after));
  });

  it('removal: the owner goes; the last one out deletes the LB (ARM refuses an empty frontend list)', () => {
    const one = sliceOf(service(1));
    const two = sliceOf(service(2));
    const lb =
      mergeLoadBalancer(
        undefined,
        [
          { owner: one.owner, slice: one },
          { owner: two.owner, slice: two },
        ],
        base(),
      ).body ?? undefined;
    const less = mergeLoadBalancer(lb, [{ owner: one.owner, slice: null }], base());
    assert.ok(holdsNothingOf(less.body ?? undefined, one.owner));
    assert.ok(holdsSlice(less.body ?? undefined, two));
    const none = mergeLoadBalancer(less.body ?? undefined, [{ owner: two.owner, slice: null }], base());
    assert.equal(none.body, null);
    assert.ok(none.changed);
    // Nothing there and nothing wanted: no write.
    assert.equal(mergeLoadBalancer(undefined, [{ owner: two.owner, slice: null }], base()).changed, false);
  });

  it('node changes replace the pool once, whatever the slices', () => {
    const one = sliceOf(service(1));
    const lb = mergeLoadBalancer(undefined, [{ owner: one.owner, slice: one }], base()).body ?? undefined;
    const pool = backendPool(
      { nodes: [...NODES, { name: 'node-c', labels: {}, internalAddresses: ['10.240.0.6'] }] },
      SCOPE,
    );
    const merged = mergeLoadBalancer(lb, [], { ...base(), backendPool: pool });
    assert.ok(merged.changed);
    assert.deepEqual(
      (
        (merged.body as LoadBalancerBody).backendAddressPools[0] as unknown as {
          loadBalancerBackendAddresses: Array<{ ipAddress: string }>;
        }
      ).loadBalancerBackendAddresses.map((a) => a.ipAddress),
      ['10.240.0.4', '10.240.0.5', '10.240.0.6'],
    );
  });

  it('limits: the Service that would exceed one is refused alone, with a reason; shrinking is always allowed', () => {
    const limits = { ...AZURE_LIMITS, frontendsPerLoadBalancer: 2 };
    const slices = [1, 2, 3, 4].map((n) => sliceOf(service(n)));
    const result = mergeLoadBalancer(
      undefined,
      slices.map((slice) => ({ owner: slice.owner, slice })),
      base(),
      limits,
    );
    assert.deepEqual([...result.rejected.keys()], [slices[2]?.owner, slices[3]?.owner]);
    assert.match(
      result.rejected.get(slices[2]?.owner ?? '') ?? '',
      /3 frontend IP configurations; Azure allows 2/,
    );
    assert.equal(result.body?.frontendIPConfigurations.length, 2);
    // Rules per node count both load balancers.
    const perNode = mergeLoadBalancer(
      undefined,
      [{ owner: slices[0]?.owner ?? '', slice: slices[0] ?? null }],
      base(),
      {
        ...AZURE_LIMITS,
        rulesPerBackendAddress: 300,
      },
      300,
    );
    assert.match(perNode.rejected.get(slices[0]?.owner ?? '') ?? '', /per node/);
    assert.equal(perNode.body, null);
    // An over-full LB (limit lowered) still accepts a removal.
    const full = mergeLoadBalancer(
      undefined,
      slices.slice(0, 2).map((slice) => ({ owner: slice.owner, slice })),
      base(),
    );
    const shrink = mergeLoadBalancer(
      full.body ?? undefined,
      [{ owner: slices[0]?.owner ?? '', slice: null }],
      base(),
      {
        ...AZURE_LIMITS,
        frontendsPerLoadBalancer: 0,
      },
    );
    assert.equal(shrink.rejected.size, 0);
  });

  it('holdsSlice ignores fields ARM adds and the casing of IDs', () => {
    const one = sliceOf(service(1));
    const lb = structuredClone(
      mergeLoadBalancer(undefined, [{ owner: one.owner, slice: one }], base()).body,
    ) as LoadBalancerBody;
    const rule = lb.loadBalancingRules[0] as unknown as Record<string, unknown> & {
      frontendIPConfiguration: { id: string };
    };
    rule.provisioningState = 'Succeeded';
    rule.frontendIPConfiguration.id = rule.frontendIPConfiguration.id.replace(
      'resourceGroups/rg-k8s',
      'resourcegroups/RG-K8S',
    );
    assert.ok(holdsSlice(lb, one));
    (lb.probes[0] as Record<string, unknown>).port = 1;
    assert.ok(!holdsSlice(lb, one));
  });
});

describe('securityGroupSlice and mergeSecurityGroup', () => {
  const nsg = (): SecurityGroupBody => ({
    name: 'cluster-nsg',
    location: SCOPE.location,
    etag: 'W/"7"',
    securityRules: [
      { name: 'ssh', priority: 500, direction: 'Inbound', access: 'Allow', sourceAddressPrefix: '*' },
      { name: 'out', priority: 501, direction: 'Outbound', access: 'Allow' },
    ],
  });

  it('public default: one Internet rule to the frontend IP and service ports', () => {
    const intent = service(1);
    const slice = securityGroupSlice(intent, azureSettings(intent).settings, '20.0.0.1', 'prod');
    assert.deepEqual(slice?.rules, [
      {
        name: `${frontendName(intent.service)}-allow-TCP-tag-Internet`,
        access: 'Allow',
        sourceAddressPrefix: 'Internet',
        description: 'sluice: shop/web-1 (cluster prod)',
        protocol: 'Tcp',
        direction: 'Inbound',
        sourcePortRange: '*',
        destinationAddressPrefixes: ['20.0.0.1'],
        destinationPortRanges: ['80'],
      },
    ]);
  });

  it('ranges + service tags + deny-all; floating IP off → node IPs and NodePorts', () => {
    const intent = service(2, {
      sourceRanges: ['203.0.113.0/24'],
      annotations: {
        [A.allowedServiceTags]: 'AzureFrontDoor.Backend',
        [A.denyAllExceptSourceRanges]: 'true',
        [A.disableFloatingIp]: 'true',
      },
    });
    const slice = securityGroupSlice(intent, azureSettings(intent).settings, '20.0.0.2', 'prod');
    assert.deepEqual(
      slice?.rules.map((r) => [
        r.access,
        r.sourceAddressPrefix ?? r.sourceAddressPrefixes,
        r.destinationAddressPrefixes,
        r.destinationPortRanges,
      ]),
      [
        ['Allow', ['203.0.113.0/24'], ['10.240.0.4', '10.240.0.5'], ['30082']],
        ['Allow', 'AzureFrontDoor.Backend', ['10.240.0.4', '10.240.0.5'], ['30082']],
        ['Deny', '*', ['10.240.0.4', '10.240.0.5'], ['30082']],
      ],
    );
    const merged = mergeSecurityGroup(nsg(), [{ owner: slice?.owner ?? '', slice }]);
    const prio = Object.fromEntries(merged.body?.securityRules.map((r) => [r.name, r.priority]) ?? []);
    // Allows take the lowest free priorities (500 is taken inbound; 501 only outbound), the deny the highest.
    assert.deepEqual(Object.values(prio), [500, 501, 501, 502, 4096]);
    assert.ok(merged.changed);
    assert.equal(merged.body?.etag, 'W/"7"');
  });

  it('disabled NSG rule: no slice; internal with no source: an empty slice that removes old rules', () => {
    const off = service(3, { annotations: { [A.disableNsgRule]: 'true' } });
    assert.equal(securityGroupSlice(off, azureSettings(off).settings, '20.0.0.3', 'prod'), null);
    const internal = service(3, { annotations: { [A.internal]: 'true' } });
    assert.deepEqual(
      securityGroupSlice(internal, azureSettings(internal).settings, '10.0.0.3', 'prod')?.rules,
      [],
    );
  });

  it('priorities are stable across merges; a removal frees them; a repeat is no change', () => {
    const a = service(1);
    const b = service(2);
    const sliceA = securityGroupSlice(a, azureSettings(a).settings, '20.0.0.1', 'prod');
    const sliceB = securityGroupSlice(b, azureSettings(b).settings, '20.0.0.2', 'prod');
    const both = mergeSecurityGroup(nsg(), [
      { owner: sliceA?.owner ?? '', slice: sliceA },
      { owner: sliceB?.owner ?? '', slice: sliceB },
    ]).body as SecurityGroupBody;
    const priorityOf = (body: SecurityGroupBody, owner: string): unknown =>
      body.securityRules.find((r) => ownsEntry(owner, r.name))?.priority;
    assert.equal(priorityOf(both, sliceA?.owner ?? ''), 501);
    assert.equal(priorityOf(both, sliceB?.owner ?? ''), 502);
    const withoutA = mergeSecurityGroup(both, [{ owner: sliceA?.owner ?? '', slice: null }])
      .body as SecurityGroupBody;
    assert.equal(priorityOf(withoutA, sliceB?.owner ?? ''), 502);
    assert.equal(withoutA.securityRules.length, 3);
    assert.equal(mergeSecurityGroup(both, [{ owner: sliceB?.owner ?? '', slice: sliceB }]).changed, false);
  });

  it('limits: rule count and prefixes refuse the Service alone', () => {
    const a = service(1, { sourceRanges: ['1.1.1.0/24', '2.2.2.0/24', '3.3.3.0/24'] });
    const sliceA = securityGroupSlice(a, azureSettings(a).settings, '20.0.0.1', 'prod');
    const byPrefix = mergeSecurityGroup(nsg(), [{ owner: sliceA?.owner ?? '', slice: sliceA }], {
      ...AZURE_LIMITS,
      addressPrefixesPerSecurityGroup: 3,
    });
    assert.match(
      byPrefix.rejected.get(sliceA?.owner ?? '') ?? '',
      /4 source address prefixes; Azure allows 3/,
    );
    assert.equal(byPrefix.changed, false);
    const byCount = mergeSecurityGroup(nsg(), [{ owner: sliceA?.owner ?? '', slice: sliceA }], {
      ...AZURE_LIMITS,
      securityRulesPerGroup: 2,
    });
    assert.match(byCount.rejected.get(sliceA?.owner ?? '') ?? '', /3 security rules/);
  });
});
