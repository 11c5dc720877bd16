// What the ARM simulator refuses, and with which of ARM's error codes: references between load balancer
// children and to public IPs and subnets, public IPs in use, Azure's limits (defaults and configured), NSG
// rule validation (priority conflicts arrive through the async operation), private address allocation, and
// malformed requests.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { LoadBalancer, SecurityRule } from '@azure/arm-network';
import {
  armRequest,
  errorCode,
  FAST,
  LOCATION,
  loadBalancer,
  publicIp,
  RG,
  restError,
  startTestSimulator,
  type TestSimulator,
} from '../sim/azure/testing.ts';

let t: TestSimulator;

before(async () => {
  t = await startTestSimulator();
});
afterEach(() => t.sim.reset());
after(async () => {
  await t.sim.stop();
});

/** Awaits a failing SDK call and checks ARM's status and code; returns the message. */
async function refused(call: Promise<unknown>, status: number, code: string): Promise<string> {
  let message = '';
  await assert.rejects(call, (e) => {
    const info = restError(e);
    assert.deepEqual([info.statusCode, info.code], [status, code], info.message);
    message = info.message;
    return true;
  });
  return message;
}

async function pip(name: string): Promise<string> {
  return (await t.client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, name, publicIp(), FAST)).id ?? '';
}

const putLb = (name: string, body: LoadBalancer) =>
  t.client.loadBalancers.beginCreateOrUpdateAndWait(RG, name, body, FAST);

describe('load balancer references', () => {
  it('a rule naming a missing frontend, backend pool or probe is refused with InvalidResourceReference', async () => {
    const { ids } = t;
    const good = loadBalancer(ids, {
      name: 'lb',
      frontends: [{ name: 'fe', pip: await pip('p') }],
      ports: [{ frontend: 'fe', port: 80 }],
    });
    const rule = good.loadBalancingRules?.[0] ?? {};
    const cases: Array<[string, LoadBalancer]> = [
      [
        'frontendIPConfigurations/ghost',
        {
          ...good,
          loadBalancingRules: [{ ...rule, frontendIPConfiguration: { id: ids.frontend('lb', 'ghost') } }],
        },
      ],
      [
        'backendAddressPools/ghost',
        { ...good, loadBalancingRules: [{ ...rule, backendAddressPool: { id: ids.pool('lb', 'ghost') } }] },
      ],
      [
        'probes/ghost',
        { ...good, loadBalancingRules: [{ ...rule, probe: { id: ids.probe('lb', 'ghost') } }] },
      ],
      [
        'frontendIPConfigurations/fe',
        {
          ...good,
          loadBalancingRules: [{ ...rule, frontendIPConfiguration: { id: ids.frontend('other-lb', 'fe') } }],
        },
      ],
    ];
    for (const [missing, body] of cases) {
      const message = await refused(putLb('lb', body), 400, 'InvalidResourceReference');
      assert.ok(message.includes(missing), `${message} names ${missing}`);
      assert.ok(message.includes(ids.rule('lb', 'fe-TCP-80')), `${message} names the rule`);
    }
    await assert.rejects(t.client.loadBalancers.get(RG, 'lb'), (e) => restError(e).statusCode === 404);
  });

  it('frontends must reference exactly one of a public IP or a subnet, one that exists and is provisioned', async () => {
    const { ids, sim, client } = t;
    const p = await pip('p');
    const subnet = ids.subnet('internal');
    await refused(
      putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', pip: p, subnet }] })),
      400,
      'FrontendIPConfigHasBothSubnetAndPublicIP',
    );
    await refused(
      putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe' }] })),
      400,
      'FrontendIPConfigHasNoSubnetOrPublicIP',
    );
    await refused(
      putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', pip: ids.pip('ghost') }] })),
      400,
      'InvalidResourceReference',
    );
    await refused(
      putLb(
        'lb',
        loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', subnet: ids.subnet('ghost') }] }),
      ),
      400,
      'InvalidResourceReference',
    );
    await refused(
      putLb(
        'lb',
        loadBalancer(ids, {
          name: 'lb',
          frontends: [
            { name: 'a', pip: p },
            { name: 'b', subnet },
          ],
        }),
      ),
      400,
      'LoadBalancerCannotHaveBothPublicAndPrivateFrontendIPConfigurations',
    );
    sim.updateSettings({ holdOperations: true });
    await client.publicIPAddresses.beginCreateOrUpdate(RG, 'young', publicIp(), FAST);
    const message = await refused(
      putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', pip: ids.pip('young') }] })),
      400,
      'ReferencedResourceNotProvisioned',
    );
    assert.match(message, /is in Updating state .* PutPublicIpAddressOperation/);
  });

  it('a public IP serves one frontend only', async () => {
    const { ids } = t;
    const p = await pip('p');
    await putLb('lb1', loadBalancer(ids, { name: 'lb1', frontends: [{ name: 'fe', pip: p }] }));
    await refused(
      putLb('lb2', loadBalancer(ids, { name: 'lb2', frontends: [{ name: 'fe', pip: p }] })),
      400,
      'PublicIPAddressInUse',
    );
    await refused(
      putLb(
        'lb1',
        loadBalancer(ids, {
          name: 'lb1',
          frontends: [
            { name: 'fe', pip: p },
            { name: 'fe2', pip: p },
          ],
        }),
      ),
      400,
      'PublicIPAddressInUse',
    );
  });

  it('a load balancer without frontends cannot have pools, rules or probes', async () => {
    const { ids } = t;
    await refused(
      putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [] })),
      400,
      'LoadBalancerWithoutFrontendIPCantHaveChildResources',
    );
  });

  it('rules: one frontend port per protocol; backend ports unique without floating IP; HA ports on internal frontends only', async () => {
    const { ids } = t;
    const p = await pip('p');
    const twice = loadBalancer(ids, {
      name: 'lb',
      frontends: [{ name: 'fe', pip: p }],
      ports: [{ frontend: 'fe', port: 80 }],
    });
    const rule = twice.loadBalancingRules?.[0] ?? {};
    await refused(
      putLb('lb', { ...twice, loadBalancingRules: [rule, { ...rule, name: 'again', probe: undefined }] }),
      400,
      'LoadBalancingRulesUseSameFrontendIPConfigurationProtocolAndPort',
    );
    const noFloat = { ...rule, enableFloatingIP: false, probe: undefined };
    await refused(
      putLb('lb', {
        ...twice,
        probes: [],
        loadBalancingRules: [noFloat, { ...noFloat, name: 'r2', frontendPort: 81 }],
      }),
      400,
      'RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig',
    );
    const ha = { ...noFloat, name: 'ha', protocol: 'All' as const, frontendPort: 0, backendPort: 0 };
    await refused(
      putLb('lb', { ...twice, probes: [], loadBalancingRules: [ha] }),
      400,
      'HighAvailabilityPortsRuleOnlyAllowedOnInternalLoadBalancer',
    );
    const internal = loadBalancer(ids, {
      name: 'ilb',
      frontends: [{ name: 'fe', subnet: ids.subnet('internal') }],
    });
    const haInternal = {
      ...ha,
      frontendIPConfiguration: { id: ids.frontend('ilb', 'fe') },
      backendAddressPool: { id: ids.pool('ilb', 'nodes') },
    };
    const created = await putLb('ilb', { ...internal, loadBalancingRules: [haInternal] });
    assert.equal(created.loadBalancingRules?.[0]?.protocol, 'All');
  });

  it('SKU, names, probes and backend addresses are checked', async () => {
    const { ids } = t;
    const p = await pip('p');
    const good = loadBalancer(ids, {
      name: 'lb',
      frontends: [{ name: 'fe', pip: p }],
      ports: [{ frontend: 'fe', port: 80 }],
    });
    await refused(putLb('lb', { ...good, sku: { name: 'Basic' } }), 400, 'SkuNotAvailable');
    await refused(putLb('lb', { ...good, sku: undefined }), 400, 'SkuNotAvailable');
    await refused(
      putLb('lb', { ...good, probes: [{ name: 'bad name!', protocol: 'Tcp', port: 1 }] }),
      400,
      'InvalidResourceName',
    );
    await refused(
      putLb('lb', { ...good, probes: [{ ...good.probes?.[0], protocol: 'Http' }] }),
      400,
      'InvalidRequestFormat',
    );
    const address = (ipAddress: string, vnet = ids.vnet) => ({
      ...good,
      backendAddressPools: [
        {
          name: 'nodes',
          loadBalancerBackendAddresses: [{ name: 'n', ipAddress, virtualNetwork: { id: vnet } }],
        },
      ],
    });
    await refused(
      putLb('lb', address('192.168.7.7')),
      400,
      'LoadBalancerBackendAddressIpAddressNotInVirtualNetwork',
    );
    await refused(
      putLb('lb', address('10.10.0.7', `${ids.group}/virtualNetworks/ghost`)),
      400,
      'InvalidResourceReference',
    );
    const message = await refused(putLb('bad name!', good), 400, 'InvalidResourceName');
    assert.match(message, /can be up to 80 characters/);
  });
});

describe('public IPs in use', () => {
  it('deleting a public IP a frontend uses is refused until the frontend lets go of it', async () => {
    const { ids, client } = t;
    const [a, b] = [await pip('a'), await pip('b')];
    await putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', pip: a }] }));
    const message = await refused(
      client.publicIPAddresses.beginDeleteAndWait(RG, 'a', FAST),
      400,
      'PublicIPAddressCannotBeDeleted',
    );
    assert.ok(message.includes(ids.frontend('lb', 'fe')), message);
    await putLb('lb', loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', pip: b }] }));
    await client.publicIPAddresses.beginDeleteAndWait(RG, 'a', FAST);
  });

  it('public IPs must be Standard and Static, labels valid and unique, version fixed', async () => {
    const { client } = t;
    await refused(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(
        RG,
        'x',
        { location: LOCATION, publicIPAllocationMethod: 'Static' },
        FAST,
      ),
      400,
      'IPv4BasicSkuPublicIpCountLimitReached',
    );
    await refused(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(
        RG,
        'x',
        publicIp({ publicIPAllocationMethod: 'Dynamic' }),
        FAST,
      ),
      400,
      'StandardSkuPublicIPAddressesMustBeStatic',
    );
    await refused(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(
        RG,
        'x',
        publicIp({ dnsSettings: { domainNameLabel: 'Bad_Label' } }),
        FAST,
      ),
      400,
      'InvalidDomainNameLabel',
    );
    await client.publicIPAddresses.beginCreateOrUpdateAndWait(
      RG,
      'one',
      publicIp({ dnsSettings: { domainNameLabel: 'taken' } }),
      FAST,
    );
    const message = await refused(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(
        RG,
        'two',
        publicIp({ dnsSettings: { domainNameLabel: 'taken' } }),
        FAST,
      ),
      400,
      'DnsRecordInUse',
    );
    assert.match(message, /taken\.eastus\.cloudapp\.azure\.com/);
    await refused(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(
        RG,
        'one',
        publicIp({ publicIPAddressVersion: 'IPv6' }),
        FAST,
      ),
      400,
      'PropertyChangeNotAllowed',
    );
  });
});

describe("Azure's limits", () => {
  it('default: 1500 rules per load balancer, 1000 rules per security group', async () => {
    const { ids, client } = t;
    const base = loadBalancer(ids, { name: 'lb', frontends: [{ name: 'fe', pip: await pip('p') }] });
    const rules = Array.from({ length: 1501 }, (_, i) => ({
      name: `r${i}`,
      frontendIPConfiguration: { id: ids.frontend('lb', 'fe') },
      backendAddressPool: { id: ids.pool('lb', 'nodes') },
      protocol: 'Tcp' as const,
      frontendPort: i + 1,
      backendPort: i + 1,
      enableFloatingIP: true,
    }));
    assert.match(
      await refused(
        putLb('lb', { ...base, loadBalancingRules: rules }),
        400,
        'LoadBalancerRuleCountLimitReached',
      ),
      /more than 1500/,
    );
    t.sim.updateSettings({ limits: { rulesPerBackendAddress: 5000 } });
    const ok = await putLb('lb', { ...base, loadBalancingRules: rules.slice(0, 1500) });
    assert.equal(ok.loadBalancingRules?.length, 1500);

    const securityRules: SecurityRule[] = Array.from({ length: 1001 }, (_, i) => ({
      name: `s${i}`,
      protocol: 'Tcp',
      access: 'Allow',
      direction: 'Inbound',
      priority: 100 + i,
      sourceAddressPrefix: '*',
      sourcePortRange: '*',
      destinationAddressPrefix: '*',
      destinationPortRange: String(i + 1),
    }));
    assert.match(
      await refused(
        client.networkSecurityGroups.beginCreateOrUpdateAndWait(
          RG,
          'nsg',
          { location: LOCATION, securityRules },
          FAST,
        ),
        400,
        'SecurityRuleCountLimitReached',
      ),
      /more than 1000 security rules/,
    );
  });

  it('configured: frontends, probes, pool size, rules per backend address (over all load balancers)', async () => {
    const { ids, sim } = t;
    sim.updateSettings({
      limits: {
        frontendIPConfigurationsPerLoadBalancer: 2,
        probesPerLoadBalancer: 1,
        backendAddressesPerPool: 2,
        rulesPerBackendAddress: 2,
      },
    });
    const subnet = ids.subnet('internal');
    const three = loadBalancer(ids, {
      name: 'ilb',
      frontends: ['a', 'b', 'c'].map((name) => ({ name, subnet })),
      nodes: ['10.10.0.4'],
    });
    assert.match(
      await refused(putLb('ilb', three), 400, 'LoadBalancerFrontendIPConfigurationCountLimitReached'),
      /more than 2 FrontendIPConfigurations/,
    );
    const twoProbes = loadBalancer(ids, {
      name: 'ilb',
      frontends: [{ name: 'a', subnet }],
      nodes: ['10.10.0.4'],
      ports: [
        { frontend: 'a', port: 80 },
        { frontend: 'a', port: 81 },
      ],
    });
    await refused(putLb('ilb', twoProbes), 400, 'LoadBalancerProbeCountLimitReached');
    const bigPool = loadBalancer(ids, {
      name: 'ilb',
      frontends: [{ name: 'a', subnet }],
      nodes: ['10.10.0.4', '10.10.0.5', '10.10.0.6'],
    });
    await refused(putLb('ilb', bigPool), 400, 'LoadBalancerBackendAddressPoolSizeLimitReached');

    const noProbes = (lb: LoadBalancer): LoadBalancer => ({
      ...lb,
      probes: [],
      loadBalancingRules: lb.loadBalancingRules?.map((r) => ({ ...r, probe: undefined })),
    });
    await putLb(
      'lb',
      noProbes(
        loadBalancer(ids, {
          name: 'lb',
          frontends: [{ name: 'fe', pip: await pip('p') }],
          nodes: ['10.10.0.4'],
          ports: [
            { frontend: 'fe', port: 80 },
            { frontend: 'fe', port: 81 },
          ],
        }),
      ),
    );
    const message = await refused(
      putLb(
        'ilb',
        noProbes(
          loadBalancer(ids, {
            name: 'ilb',
            frontends: [{ name: 'a', subnet }],
            nodes: ['10.10.0.4'],
            ports: [{ frontend: 'a', port: 80 }],
          }),
        ),
      ),
      400,
      'LoadBalancerRuleCountLimitReachedForNic',
    );
    assert.match(message, /10\.10\.0\.4 .* more than 2 .* with 3/);
  });

  it('configured: security rules and address prefixes per NSG, public IPs per region', async () => {
    const { sim, client } = t;
    sim.updateSettings({
      limits: { securityRulesPerGroup: 1, addressPrefixesPerSecurityGroup: 3, publicIpAddressesPerRegion: 1 },
    });
    const rule = (priority: number, sources: string[]): SecurityRule => ({
      protocol: 'Tcp',
      access: 'Allow',
      direction: 'Inbound',
      priority,
      sourceAddressPrefixes: sources,
      sourcePortRange: '*',
      destinationAddressPrefix: '*',
      destinationPortRange: '80',
    });
    await client.networkSecurityGroups.beginCreateOrUpdateAndWait(
      RG,
      'nsg',
      { location: LOCATION, securityRules: [{ name: 'one', ...rule(100, ['192.0.2.1']) }] },
      FAST,
    );
    await refused(
      client.securityRules.beginCreateOrUpdateAndWait(RG, 'nsg', 'two', rule(101, ['192.0.2.2']), FAST),
      400,
      'SecurityRuleCountLimitReached',
    );
    await refused(
      client.securityRules.beginCreateOrUpdateAndWait(
        RG,
        'nsg',
        'one',
        rule(100, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']),
        FAST,
      ),
      400,
      'SecurityRuleAddressesOrPortsPerSecurityGroupLimitReached',
    );
    await pip('only');
    await refused(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'second', publicIp(), FAST),
      400,
      'PublicIPCountLimitReached',
    );
  });
});

describe('network security group rules', () => {
  const rule = (priority: number, extra: Partial<SecurityRule> = {}): SecurityRule => ({
    protocol: 'Tcp',
    access: 'Allow',
    direction: 'Inbound',
    priority,
    sourceAddressPrefix: 'Internet',
    sourcePortRange: '*',
    destinationAddressPrefix: '*',
    destinationPortRange: '443',
    ...extra,
  });

  it('two rules with one priority and direction: the operation fails with SecurityRuleConflict and nothing changes', async () => {
    const { client, sim } = t;
    await client.networkSecurityGroups.beginCreateOrUpdateAndWait(
      RG,
      'nsg',
      { location: LOCATION, securityRules: [{ name: 'first', ...rule(500) }] },
      FAST,
    );
    let initialStatus = 0;
    await assert.rejects(
      client.securityRules.beginCreateOrUpdateAndWait(RG, 'nsg', 'second', rule(500), {
        ...FAST,
        onResponse: (raw) => {
          if (raw.request.method === 'PUT') initialStatus = raw.status;
        },
      }),
      (e) => {
        assert.match(restError(e).message, /conflicts with rule|SecurityRuleConflict/);
        return true;
      },
    );
    assert.equal(initialStatus, 201, 'the PUT is accepted; the conflict comes through the async operation');
    assert.deepEqual(sim.operations.list().at(-1)?.error?.code, 'SecurityRuleConflict');
    const nsg = await client.networkSecurityGroups.get(RG, 'nsg');
    assert.deepEqual(
      nsg.securityRules?.map((r) => r.name),
      ['first'],
    );
    assert.equal(nsg.provisioningState, 'Succeeded');
    await client.securityRules.beginCreateOrUpdateAndWait(
      RG,
      'nsg',
      'second',
      rule(500, { direction: 'Outbound' }),
      FAST,
    );
  });

  it('priority range, address prefixes, port ranges, tags in plural fields', async () => {
    const { client } = t;
    await client.networkSecurityGroups.beginCreateOrUpdateAndWait(RG, 'nsg', { location: LOCATION }, FAST);
    const put = (r: SecurityRule) => client.securityRules.beginCreateOrUpdateAndWait(RG, 'nsg', 'r', r, FAST);
    assert.match(await refused(put(rule(99)), 400, 'SecurityRuleInvalidPriority'), /Allowed range 100-4096/);
    await refused(put(rule(4097)), 400, 'SecurityRuleInvalidPriority');
    await refused(
      put(rule(200, { sourceAddressPrefix: '10.0.0.0/33' })),
      400,
      'SecurityRuleInvalidAddressPrefix',
    );
    await refused(put(rule(200, { destinationPortRange: '80-70' })), 400, 'SecurityRuleInvalidPortRange');
    await refused(
      put(rule(200, { sourceAddressPrefix: undefined, sourceAddressPrefixes: ['10.0.0.0/8', 'Internet'] })),
      400,
      'SecurityRuleParameterContainsUnsupportedValue',
    );
    await refused(put(rule(200, { sourceAddressPrefixes: ['10.0.0.0/8'] })), 400, 'InvalidRequestFormat');
    const tagged = await put(rule(200, { sourceAddressPrefix: 'AzureFrontDoor.Backend' }));
    assert.equal(tagged.sourceAddressPrefix, 'AzureFrontDoor.Backend');
  });

  it('a security group associated with a subnet cannot be deleted', async () => {
    const { client, ids } = t;
    const message = await refused(
      client.networkSecurityGroups.beginDeleteAndWait(RG, 'cluster-nsg', FAST),
      400,
      'InUseNetworkSecurityGroupCannotBeDeleted',
    );
    assert.ok(message.includes(ids.subnet('nodes')), message);
  });
});

describe('private frontend addresses', () => {
  it('a static address must be in the subnet, outside the reserved range, and free', async () => {
    const { ids, sim } = t;
    const internal = ids.subnet('internal');
    const at = (ip: string, subnet = internal) =>
      loadBalancer(ids, { name: 'ilb', frontends: [{ name: 'fe', subnet, ip }] });
    assert.match(
      await refused(putLb('ilb', at('10.10.2.5')), 400, 'PrivateIPAddressNotInSubnet'),
      /10\.10\.1\.0\/24/,
    );
    await refused(putLb('ilb', at('10.10.1.2')), 400, 'PrivateIPAddressInReservedRange');
    await refused(putLb('ilb', at('10.10.1.255')), 400, 'PrivateIPAddressInReservedRange');
    await refused(putLb('ilb', at('10.10.0.5', ids.subnet('nodes'))), 400, 'PrivateIPAddressInUse');
    await putLb(
      'other',
      loadBalancer(ids, { name: 'other', frontends: [{ name: 'fe', subnet: internal, ip: '10.10.1.20' }] }),
    );
    await refused(putLb('ilb', at('10.10.1.20')), 400, 'PrivateIPAddressInUse');
    await refused(
      putLb(
        'ilb',
        loadBalancer(ids, {
          name: 'ilb',
          frontends: [
            { name: 'a', subnet: internal, ip: '10.10.1.30' },
            { name: 'b', subnet: internal, ip: '10.10.1.30' },
          ],
        }),
      ),
      400,
      'MultipleIpConfigsRequestSamePrivateIpAddress',
    );

    sim.seed.virtualNetwork({
      resourceGroup: RG,
      name: 'small',
      addressPrefixes: ['10.20.0.0/16'],
      subnets: [{ name: 'tiny', addressPrefix: '10.20.0.0/29' }],
    });
    const tiny = `${ids.group}/virtualNetworks/small/subnets/tiny`;
    const frontends = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, subnet: tiny }));
    const full = await putLb('tiny', loadBalancer(ids, { name: 'tiny', frontends: frontends(3), nodes: [] }));
    assert.deepEqual(
      full.frontendIPConfigurations?.map((f) => f.privateIPAddress),
      ['10.20.0.4', '10.20.0.5', '10.20.0.6'],
    );
    await refused(
      putLb('tiny', loadBalancer(ids, { name: 'tiny', frontends: frontends(4), nodes: [] })),
      400,
      'SubnetIsFull',
    );
  });
});

describe('malformed requests', () => {
  it('answers with ARM codes for api-version, body, location, groups, subscriptions and types it does not model', async () => {
    const { sim, ids } = t;
    const v = '?api-version=2025-05-01';
    const cases: Array<[string, string, unknown, number, string]> = [
      ['GET', ids.pip('p'), undefined, 400, 'MissingApiVersionParameter'],
      ['GET', `${ids.pip('p')}?api-version=latest`, undefined, 400, 'InvalidApiVersionParameter'],
      ['PUT', `${ids.pip('p')}${v}`, '{not json', 400, 'InvalidRequestContent'],
      ['PUT', `${ids.pip('p')}${v}`, { sku: { name: 'Standard' }, properties: {} }, 400, 'LocationRequired'],
      ['GET', `${ids.pip('p').replace(RG, 'nope')}${v}`, undefined, 404, 'ResourceGroupNotFound'],
      [
        'GET',
        `${ids.pip('p').replace(sim.subscriptionId, '11111111-1111-1111-1111-111111111111')}${v}`,
        undefined,
        404,
        'SubscriptionNotFound',
      ],
      ['GET', `${ids.pip('p')}${v}`, undefined, 404, 'ResourceNotFound'],
      ['GET', `${ids.group}/natGateways/n${v}`, undefined, 501, 'SimulatorNotImplemented'],
      [
        'GET',
        `${ids.group.replace('Microsoft.Network', 'Microsoft.Compute')}/virtualMachines/vm${v}`,
        undefined,
        501,
        'SimulatorNotImplemented',
      ],
      ['PUT', `${ids.lb('lb')}/probes/p${v}`, { properties: {} }, 405, 'MethodNotAllowed'],
      ['GET', `${ids.lb('lb')}/probes/p${v}`, undefined, 404, 'ResourceNotFound'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await armRequest(sim, method, path, body === undefined ? {} : { body });
      assert.deepEqual([res.status, errorCode(res.body)], [status, code], `${method} ${path}`);
    }
    await t.client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'p', publicIp(), FAST);
    const moved = await armRequest(sim, 'PUT', `${ids.pip('p')}${v}`, {
      body: {
        location: 'westus',
        sku: { name: 'Standard' },
        properties: { publicIPAllocationMethod: 'Static' },
      },
    });
    assert.deepEqual([moved.status, errorCode(moved.body)], [409, 'InvalidResourceLocation']);
  });
});
