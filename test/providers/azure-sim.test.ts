// The ARM simulator driven by the real @azure/arm-network NetworkManagementClient (only endpoint, credential
// and TLS trust changed): create, read, update and delete of every modelled resource through the SDK's
// long-running-operation pollers, paging, async-operation status, resuming a poller later, authentication
// (including @azure/identity's credentials against the Entra ID stand-in), and that nothing leaves loopback.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { NetworkManagementClient, type PublicIPAddress } from '@azure/arm-network';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { parseIp } from '../sim/azure/addresses.ts';
import { simulatorNetworkClient } from '../sim/azure/client.ts';
import {
  armRequest,
  errorCode,
  FAST,
  INTERNAL_SUBNET,
  isLoopback,
  LOCATION,
  loadBalancer,
  NODES,
  publicIp,
  RG,
  restError,
  startTestSimulator,
  type TestSimulator,
  watchOutboundConnections,
} from '../sim/azure/testing.ts';

let t: TestSimulator;

before(async () => {
  t = await startTestSimulator();
});
afterEach(() => t.sim.reset());
after(async () => {
  await t.sim.stop();
});

/** Raw responses the SDK saw for one call (status, headers, JSON body as sent), via the onResponse hook. */
function recorder() {
  const seen: Array<{ status: number; headers: Record<string, string>; body: unknown; url: string }> = [];
  return {
    seen,
    onResponse: (raw: {
      status: number;
      headers: { toJSON(): Record<string, string> };
      bodyAsText?: string | null;
      request: { url: string };
    }) => {
      const text = raw.bodyAsText ?? '';
      seen.push({
        status: raw.status,
        headers: raw.headers.toJSON(),
        body: text === '' ? undefined : JSON.parse(text),
        url: raw.request.url,
      });
    },
  };
}

function inPublicRange(address: string | undefined): boolean {
  const parsed = address ? parseIp(address) : undefined;
  // 198.18.0.0/15
  return parsed?.family === 'IPv4' && parsed.value >> 17n === 0xc612n >> 1n;
}

describe('public IP addresses through the SDK', () => {
  it('creates (201, Updating, no address until provisioned), reads, updates, tags and deletes', async () => {
    const { client, sim, ids } = t;
    const put = recorder();
    const poller = await client.publicIPAddresses.beginCreateOrUpdate(
      RG,
      'pip-a',
      publicIp({ dnsSettings: { domainNameLabel: 'sluice-a' } }),
      { ...FAST, onResponse: put.onResponse },
    );
    const initial = put.seen[0];
    assert.equal(initial?.status, 201);
    assert.match(
      initial?.headers['azure-asyncoperation'] ?? '',
      /\/providers\/Microsoft\.Network\/locations\/eastus\/operations\//,
    );
    assert.match(initial?.headers.location ?? '', /\/operationResults\//);
    assert.ok(initial?.headers['x-ms-request-id']);
    const initialBody = initial?.body as { properties: { provisioningState: string; ipAddress?: string } };
    assert.equal(initialBody.properties.provisioningState, 'Updating');
    assert.equal(
      initialBody.properties.ipAddress,
      undefined,
      'ARM shows no address before provisioning succeeds',
    );

    const created = await poller.pollUntilDone();
    assert.equal(created.provisioningState, 'Succeeded');
    assert.ok(inPublicRange(created.ipAddress), `${created.ipAddress} comes from 198.18.0.0/15`);
    assert.equal(created.publicIPAllocationMethod, 'Static');
    assert.equal(created.sku?.name, 'Standard');
    assert.equal(created.dnsSettings?.fqdn, 'sluice-a.eastus.cloudapp.azure.com');
    assert.equal(created.id, ids.pip('pip-a'));

    const read = await client.publicIPAddresses.get(RG, 'PIP-A');
    assert.equal(read.ipAddress, created.ipAddress, 'names are case-insensitive');
    assert.equal(read.etag, created.etag);

    const update = recorder();
    const updated = await client.publicIPAddresses.beginCreateOrUpdateAndWait(
      RG,
      'pip-a',
      publicIp({ tags: { owner: 'sluice' }, dnsSettings: { domainNameLabel: 'sluice-a' } }),
      { ...FAST, onResponse: update.onResponse },
    );
    assert.equal(update.seen[0]?.status, 200, 'an update answers 200');
    assert.equal(updated.ipAddress, created.ipAddress, 'the address is kept for the life of the resource');
    assert.deepEqual(updated.tags, { owner: 'sluice' });
    assert.notEqual(updated.etag, created.etag);

    const tagged = await client.publicIPAddresses.updateTags(RG, 'pip-a', {
      tags: { owner: 'sluice', env: 'test' },
    });
    assert.deepEqual(tagged.tags, { owner: 'sluice', env: 'test' });
    assert.notEqual(tagged.etag, updated.etag);

    const del = recorder();
    await client.publicIPAddresses.beginDeleteAndWait(RG, 'pip-a', { ...FAST, onResponse: del.onResponse });
    assert.equal(del.seen[0]?.status, 202);
    assert.ok(del.seen[0]?.headers['azure-asyncoperation']);
    await assert.rejects(client.publicIPAddresses.get(RG, 'pip-a'), (e) => {
      assert.deepEqual([restError(e).statusCode, restError(e).code], [404, 'ResourceNotFound']);
      return true;
    });
    const again = recorder();
    await client.publicIPAddresses.beginDeleteAndWait(RG, 'pip-a', { ...FAST, onResponse: again.onResponse });
    assert.equal(again.seen[0]?.status, 204, 'deleting what is gone answers 204');
    assert.equal(sim.counters().byCall['PUT publicIPAddresses'], 2);
  });

  it('allocates distinct addresses and IPv6 from its own range', async () => {
    const { client } = t;
    const [a, b, v6] = await Promise.all([
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'a', publicIp(), FAST),
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'b', publicIp(), FAST),
      client.publicIPAddresses.beginCreateOrUpdateAndWait(
        RG,
        'v6',
        publicIp({ publicIPAddressVersion: 'IPv6' }),
        FAST,
      ),
    ]);
    assert.notEqual(a.ipAddress, b.ipAddress);
    assert.match(v6.ipAddress ?? '', /^2001:db8:5a1c:/);
    assert.equal(v6.publicIPAddressVersion, 'IPv6');
  });
});

describe('async operations', () => {
  it('report InProgress until the operation finishes, then Succeeded; a poller can be resumed later', async () => {
    const { client, sim, ids } = t;
    sim.updateSettings({ holdOperations: true });
    const put = recorder();
    const poller = await client.publicIPAddresses.beginCreateOrUpdate(RG, 'later', publicIp(), {
      ...FAST,
      onResponse: put.onResponse,
    });
    const statusUrl = put.seen[0]?.headers['azure-asyncoperation'] ?? '';
    const inProgress = await armRequest(sim, 'GET', statusUrl);
    assert.deepEqual([inProgress.status, inProgress.body], [200, { status: 'InProgress' }]);
    const resultUrl = put.seen[0]?.headers.location ?? '';
    assert.equal((await armRequest(sim, 'GET', resultUrl)).status, 202);
    await poller.poll();
    assert.equal(poller.getOperationState().status, 'running');
    assert.equal((await client.publicIPAddresses.get(RG, 'later')).provisioningState, 'Updating');

    // The caller leaves: it keeps only the poller's serialized state.
    const saved = poller.toString();
    sim.operations.completeAll();
    const done = await armRequest(sim, 'GET', statusUrl);
    assert.deepEqual(done.body, { status: 'Succeeded' });
    const result = await armRequest(sim, 'GET', resultUrl);
    assert.equal(result.status, 200);
    assert.equal((result.body as { id: string }).id, ids.pip('later'));

    const resumed = await client.publicIPAddresses.beginCreateOrUpdate(RG, 'later', publicIp(), {
      ...FAST,
      resumeFrom: saved,
    });
    const pip: PublicIPAddress = await resumed.pollUntilDone();
    assert.equal(pip.provisioningState, 'Succeeded');
    assert.ok(pip.ipAddress);
    assert.equal(sim.counters().byCall['PUT publicIPAddresses'], 1, 'resuming does not send the PUT again');
    const ops = sim.operations.list();
    assert.deepEqual(
      ops.map((o) => [o.kind, o.status]),
      [['PutPublicIpAddressOperation', 'Succeeded']],
    );
  });

  it('honours pollRetryAfterSeconds on the status URL as ARM does (Retry-After)', async () => {
    const { client, sim } = t;
    sim.updateSettings({ holdOperations: true, pollRetryAfterSeconds: 10 });
    const put = recorder();
    await client.publicIPAddresses.beginCreateOrUpdate(RG, 'slow', publicIp(), {
      ...FAST,
      onResponse: put.onResponse,
    });
    const status = await armRequest(sim, 'GET', put.seen[0]?.headers['azure-asyncoperation'] ?? '');
    assert.equal(status.headers['retry-after'], '10');
    sim.operations.completeAll();
    const done = await armRequest(sim, 'GET', put.seen[0]?.headers['azure-asyncoperation'] ?? '');
    assert.equal(done.headers['retry-after'], undefined, 'no Retry-After once finished');
  });
});

describe('load balancers through the SDK', () => {
  it('creates a public Standard LB (frontend, IP-based pool, probes, rules), updates it, and deletes it', async () => {
    const { client, ids } = t;
    const [pip1, pip2] = await Promise.all([
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip-1', publicIp(), FAST),
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip-2', publicIp(), FAST),
    ]);
    const spec = {
      name: 'kubernetes',
      frontends: [{ name: 'svc1', pip: pip1.id ?? '' }],
      ports: [
        { frontend: 'svc1', port: 80 },
        { frontend: 'svc1', port: 443 },
      ],
    };
    const put = recorder();
    const lb = await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'kubernetes',
      loadBalancer(ids, spec),
      {
        ...FAST,
        onResponse: put.onResponse,
      },
    );
    assert.equal(put.seen[0]?.status, 201);
    assert.equal(lb.provisioningState, 'Succeeded');
    assert.equal(lb.sku?.name, 'Standard');
    const fe = lb.frontendIPConfigurations?.[0];
    assert.equal(fe?.id, ids.frontend('kubernetes', 'svc1'));
    assert.equal(fe?.publicIPAddress?.id, pip1.id);
    assert.deepEqual(
      fe?.loadBalancingRules?.map((r) => r.id),
      [ids.rule('kubernetes', 'svc1-TCP-80'), ids.rule('kubernetes', 'svc1-TCP-443')],
    );
    assert.equal(fe?.etag, lb.etag, 'children carry the parent ETag');
    const pool = lb.backendAddressPools?.[0];
    assert.deepEqual(
      pool?.loadBalancerBackendAddresses?.map((a) => a.ipAddress),
      NODES,
    );
    assert.equal(pool?.loadBalancerBackendAddresses?.[0]?.virtualNetwork?.id, ids.vnet);
    assert.equal(lb.probes?.length, 2);
    assert.equal(lb.probes?.[0]?.loadBalancingRules?.[0]?.id, ids.rule('kubernetes', 'svc1-TCP-80'));
    const rule = lb.loadBalancingRules?.[0];
    assert.equal(rule?.probe?.id, ids.probe('kubernetes', 'svc1-TCP-80'));
    assert.equal(rule?.enableFloatingIP, true);
    assert.equal(rule?.loadDistribution, 'Default');
    assert.equal((await client.publicIPAddresses.get(RG, 'pip-1')).ipConfiguration?.id, fe?.id);

    // A second Service joins the shared load balancer (read-modify-write with If-Match).
    const current = await client.loadBalancers.get(RG, 'kubernetes');
    const more = loadBalancer(ids, {
      ...spec,
      frontends: [...spec.frontends, { name: 'svc2', pip: pip2.id ?? '' }],
      ports: [...spec.ports, { frontend: 'svc2', port: 8080 }],
    });
    const update = recorder();
    const updated = await client.loadBalancers.beginCreateOrUpdateAndWait(RG, 'kubernetes', more, {
      ...FAST,
      onResponse: update.onResponse,
      requestOptions: { customHeaders: { 'If-Match': current.etag ?? '' } },
    });
    assert.equal(update.seen[0]?.status, 200);
    assert.deepEqual(
      updated.frontendIPConfigurations?.map((f) => f.name),
      ['svc1', 'svc2'],
    );
    assert.equal(
      (await client.publicIPAddresses.get(RG, 'pip-2')).ipConfiguration?.id,
      ids.frontend('kubernetes', 'svc2'),
    );

    // Child views through their own operations groups.
    const fe2 = await client.loadBalancerFrontendIPConfigurations.get(RG, 'kubernetes', 'svc2');
    assert.equal(fe2.publicIPAddress?.id, pip2.id);
    const probes = [];
    for await (const probe of client.loadBalancerProbes.list(RG, 'kubernetes')) probes.push(probe.name);
    assert.deepEqual(probes, ['svc1-TCP-80', 'svc1-TCP-443', 'svc2-TCP-8080']);
    const all = [];
    for await (const one of client.loadBalancers.listAll()) all.push(one.name);
    assert.deepEqual(all, ['kubernetes']);

    await client.loadBalancers.beginDeleteAndWait(RG, 'kubernetes', FAST);
    assert.equal((await client.publicIPAddresses.get(RG, 'pip-1')).ipConfiguration, undefined);
    await client.publicIPAddresses.beginDeleteAndWait(RG, 'pip-1', FAST);
    await client.publicIPAddresses.beginDeleteAndWait(RG, 'pip-2', FAST);
    assert.deepEqual(t.sim.snapshot().subscriptions[0]?.resourceGroups[0]?.loadBalancers, []);
  });

  it('gives an internal frontend the lowest free subnet address, keeps it across updates, and honours a static one', async () => {
    const { client, ids } = t;
    const subnet = ids.subnet('internal');
    const first = await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'kubernetes-internal',
      loadBalancer(ids, {
        name: 'kubernetes-internal',
        frontends: [
          { name: 'a', subnet },
          { name: 'b', subnet, ip: '10.10.1.10' },
        ],
        ports: [
          { frontend: 'a', port: 80 },
          { frontend: 'b', port: 80 },
        ],
      }),
      FAST,
    );
    const addresses = (lb: typeof first) =>
      lb.frontendIPConfigurations?.map((f) => [f.name, f.privateIPAddress, f.privateIPAllocationMethod]);
    assert.deepEqual(addresses(first), [
      ['a', '10.10.1.4', 'Dynamic'],
      ['b', '10.10.1.10', 'Static'],
    ]);
    const second = await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'kubernetes-internal',
      loadBalancer(ids, {
        name: 'kubernetes-internal',
        frontends: [
          { name: 'c', subnet },
          { name: 'a', subnet },
          { name: 'b', subnet, ip: '10.10.1.10' },
        ],
        ports: [{ frontend: 'a', port: 80 }],
      }),
      FAST,
    );
    assert.deepEqual(addresses(second), [
      ['c', '10.10.1.5', 'Dynamic'],
      ['a', '10.10.1.4', 'Dynamic'],
      ['b', '10.10.1.10', 'Static'],
    ]);
    const seenBySubnet = await client.subnets.get(RG, 'vnet', 'internal');
    assert.equal(seenBySubnet.addressPrefix, INTERNAL_SUBNET);
    assert.deepEqual(
      seenBySubnet.ipConfigurations?.map((c) => c.id).sort(),
      ['a', 'b', 'c'].map((n) => ids.frontend('kubernetes-internal', n)),
    );
  });
});

describe('backend address pools as sub-resources', () => {
  it('PUT and DELETE of a pool rewrite the load balancer; a pool a rule uses cannot go', async () => {
    const { client, ids } = t;
    const pip = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), FAST);
    await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'lb',
      loadBalancer(ids, {
        name: 'lb',
        frontends: [{ name: 'fe', pip: pip.id ?? '' }],
        ports: [{ frontend: 'fe', port: 80 }],
      }),
      FAST,
    );
    const spare = await client.loadBalancerBackendAddressPools.beginCreateOrUpdateAndWait(
      RG,
      'lb',
      'spare',
      {
        loadBalancerBackendAddresses: [
          { name: 'n9', ipAddress: '10.10.0.9', virtualNetwork: { id: ids.vnet } },
        ],
      },
      FAST,
    );
    assert.equal(spare.id, ids.pool('lb', 'spare'));
    const lb = await client.loadBalancers.get(RG, 'lb');
    assert.deepEqual(
      lb.backendAddressPools?.map((p) => p.name),
      ['nodes', 'spare'],
    );
    await assert.rejects(
      client.loadBalancerBackendAddressPools.beginDeleteAndWait(RG, 'lb', 'nodes', FAST),
      (e) => {
        assert.equal(restError(e).code, 'InvalidResourceReference');
        return true;
      },
    );
    await client.loadBalancerBackendAddressPools.beginDeleteAndWait(RG, 'lb', 'spare', FAST);
    assert.deepEqual(
      (await client.loadBalancers.get(RG, 'lb')).backendAddressPools?.map((p) => p.name),
      ['nodes'],
    );
  });
});

describe('network security groups through the SDK', () => {
  it('creates with inline rules, adds and removes rules through the securityRules sub-resource', async () => {
    const { client, ids } = t;
    const nsg = await client.networkSecurityGroups.beginCreateOrUpdateAndWait(
      RG,
      'svc-nsg',
      {
        location: LOCATION,
        securityRules: [
          {
            name: 'allow-http',
            protocol: 'Tcp',
            access: 'Allow',
            direction: 'Inbound',
            priority: 500,
            sourceAddressPrefix: 'Internet',
            sourcePortRange: '*',
            destinationAddressPrefixes: ['198.18.0.7'],
            destinationPortRange: '80',
          },
        ],
      },
      FAST,
    );
    assert.equal(nsg.securityRules?.[0]?.id, `${ids.nsg('svc-nsg')}/securityRules/allow-http`);
    assert.deepEqual(nsg.securityRules?.[0]?.destinationAddressPrefixes, ['198.18.0.7']);
    assert.deepEqual(nsg.securityRules?.[0]?.sourceAddressPrefixes, []);
    assert.deepEqual(
      nsg.defaultSecurityRules?.map((r) => r.name),
      [
        'AllowVnetInBound',
        'AllowAzureLoadBalancerInBound',
        'DenyAllInBound',
        'AllowVnetOutBound',
        'AllowInternetOutBound',
        'DenyAllOutBound',
      ],
    );

    const put = recorder();
    const added = await client.securityRules.beginCreateOrUpdateAndWait(
      RG,
      'svc-nsg',
      'allow-ranges',
      {
        protocol: 'Tcp',
        access: 'Allow',
        direction: 'Inbound',
        priority: 501,
        sourceAddressPrefixes: ['203.0.113.0/24', '192.0.2.7'],
        sourcePortRange: '*',
        destinationAddressPrefix: '198.18.0.7',
        destinationPortRanges: ['443', '8000-8080'],
      },
      { ...FAST, onResponse: put.onResponse },
    );
    assert.equal(put.seen[0]?.status, 201);
    assert.equal(added.provisioningState, 'Succeeded');
    assert.deepEqual(added.destinationPortRanges, ['443', '8000-8080']);
    const rules = [];
    for await (const r of client.securityRules.list(RG, 'svc-nsg')) rules.push(r.name);
    assert.deepEqual(rules, ['allow-http', 'allow-ranges']);
    assert.equal((await client.securityRules.get(RG, 'svc-nsg', 'allow-ranges')).priority, 501);

    await client.securityRules.beginDeleteAndWait(RG, 'svc-nsg', 'allow-http', FAST);
    const after = await client.networkSecurityGroups.get(RG, 'svc-nsg');
    assert.deepEqual(
      after.securityRules?.map((r) => r.name),
      ['allow-ranges'],
    );
    await client.networkSecurityGroups.beginDeleteAndWait(RG, 'svc-nsg', FAST);
    const seeded = await client.networkSecurityGroups.get(RG, 'cluster-nsg');
    assert.deepEqual(
      seeded.subnets?.map((s) => s.id),
      [ids.subnet('nodes')],
    );
  });
});

describe('virtual networks and subnets (seeded)', () => {
  it('reads them; writing them is not modelled (501)', async () => {
    const { client, sim, ids } = t;
    const vnet = await client.virtualNetworks.get(RG, 'vnet');
    assert.deepEqual(vnet.addressSpace?.addressPrefixes, ['10.10.0.0/16']);
    assert.deepEqual(
      vnet.subnets?.map((s) => s.name),
      ['nodes', 'internal'],
    );
    const nodes = await client.subnets.get(RG, 'vnet', 'nodes');
    assert.equal(nodes.networkSecurityGroup?.id, ids.nsg('cluster-nsg'));
    const listed = [];
    for await (const s of client.subnets.list(RG, 'vnet')) listed.push(s.name);
    assert.deepEqual(listed, ['nodes', 'internal']);
    const put = await armRequest(sim, 'PUT', `${ids.vnet}?api-version=2025-05-01`, {
      body: { location: LOCATION },
    });
    assert.deepEqual([put.status, errorCode(put.body)], [501, 'SimulatorNotImplemented']);
  });
});

describe('lists', () => {
  it('page through nextLink', async () => {
    const { client, sim } = t;
    sim.updateSettings({ listPageSize: 2 });
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) sim.seed.publicIPAddress({ resourceGroup: RG, name });
    const names = [];
    for await (const pip of client.publicIPAddresses.list(RG)) names.push(pip.name);
    assert.deepEqual(names, ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.equal(sim.counters().byCall['GET publicIPAddresses'], 3);
  });
});

describe('authentication', () => {
  it("refuses requests without the simulator's bearer token (401)", async () => {
    const { sim, ids } = t;
    const path = `${ids.pip('x')}?api-version=2025-05-01`;
    const none = await armRequest(sim, 'GET', path, { token: null });
    assert.deepEqual([none.status, errorCode(none.body)], [401, 'AuthenticationFailed']);
    const wrong = await armRequest(sim, 'GET', path, { token: 'not-this-one' });
    assert.deepEqual([wrong.status, errorCode(wrong.body)], [401, 'InvalidAuthenticationToken']);
    const client = simulatorNetworkClient({
      ...sim,
      credential: { getToken: async () => ({ token: 'stolen', expiresOnTimestamp: Date.now() + 60_000 }) },
    });
    await assert.rejects(client.publicIPAddresses.get(RG, 'x'), (e) => restError(e).statusCode === 401);
    assert.equal(sim.counters().unauthenticated, 3);
  });
});

describe('network isolation', () => {
  it('the SDK with the simulator credential only ever connects to loopback, even with HTTPS_PROXY set', async () => {
    const { sim } = t;
    const saved = { https: process.env.HTTPS_PROXY, http: process.env.HTTP_PROXY };
    process.env.HTTPS_PROXY = 'http://203.0.113.9:3128';
    process.env.HTTP_PROXY = 'http://203.0.113.9:3128';
    const watch = watchOutboundConnections();
    let seen: ReturnType<typeof watch.stop> = [];
    try {
      const client = simulatorNetworkClient(sim);
      await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'isolated', publicIp(), FAST);
      await client.publicIPAddresses.beginDeleteAndWait(RG, 'isolated', FAST);
    } finally {
      seen = watch.stop();
      if (saved.https === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved.https;
      if (saved.http === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved.http;
    }
    const attempts = seen.filter((s) => s.port !== undefined);
    assert.ok(attempts.length > 0, 'the watcher saw the client connect');
    for (const s of seen) {
      if (s.address) assert.ok(isLoopback(s.address), `connection to ${s.address}`);
      if (s.host) assert.ok(isLoopback(s.host), `looked up ${s.host}`);
    }
    assert.ok(
      sim.credential.requestedScopes.some((scopes) => scopes.includes(`${sim.endpoint}/.default`)),
      'the SDK asks the credential for the endpoint scope, and the credential answers without any network',
    );
  });
});

describe('Microsoft Entra ID stand-in', () => {
  it('@azure/identity credentials (client secret; DefaultAzureCredential with Workload Identity) get the token offline', async () => {
    const { sim } = t;
    const agent = new Agent({ ca: sim.caCertificate, keepAlive: true });
    const dir = await mkdtemp(join(tmpdir(), 'sluice-arm-sim-wi-'));
    const names = [
      'AZURE_FEDERATED_TOKEN_FILE',
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_AUTHORITY_HOST',
    ] as const;
    const saved = names.map((n) => process.env[n]);
    const watch = watchOutboundConnections();
    let seen: ReturnType<typeof watch.stop> = [];
    try {
      const secret = new ClientSecretCredential('tenant-a', 'client-a', 'secret', {
        authorityHost: sim.endpoint,
        disableInstanceDiscovery: true,
        agent,
      });
      const viaSecret = new NetworkManagementClient(secret, sim.subscriptionId, {
        endpoint: sim.endpoint,
        agent,
      });
      await viaSecret.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'wi', publicIp(), FAST);

      // What a pod with Azure Workload Identity sees: a projected service-account token and three variables.
      await writeFile(
        join(dir, 'token'),
        'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a3ViZS1zeXN0ZW06c2x1aWNlIn0.',
      );
      process.env.AZURE_FEDERATED_TOKEN_FILE = join(dir, 'token');
      process.env.AZURE_CLIENT_ID = 'client-b';
      process.env.AZURE_TENANT_ID = 'tenant-b';
      process.env.AZURE_AUTHORITY_HOST = sim.endpoint;
      const workload = new DefaultAzureCredential({ disableInstanceDiscovery: true, agent });
      const viaWorkload = new NetworkManagementClient(workload, sim.subscriptionId, {
        endpoint: sim.endpoint,
        agent,
      });
      assert.equal((await viaWorkload.publicIPAddresses.get(RG, 'wi')).name, 'wi');
    } finally {
      seen = watch.stop();
      names.forEach((n, i) => {
        const value = saved[i];
        if (value === undefined) delete process.env[n];
        else process.env[n] = value;
      });
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(sim.counters().byCall['POST entra/token'], 2, 'one token per credential');
    for (const s of seen) {
      if (s.address) assert.ok(isLoopback(s.address), `connection to ${s.address}`);
      if (s.host) assert.ok(isLoopback(s.host), `looked up ${s.host}`);
    }
  });

  it('answers OAuth errors for requests it cannot serve', async () => {
    const { sim } = t;
    const token = (form: Record<string, string>) =>
      armRequest(sim, 'POST', '/tenant-a/oauth2/v2.0/token', {
        token: null,
        body: new URLSearchParams(form).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    const noSecret = await token({
      grant_type: 'client_credentials',
      client_id: 'c',
      scope: 'https://x/.default',
    });
    assert.deepEqual([noSecret.status, (noSecret.body as { error: string }).error], [401, 'invalid_client']);
    const code = await token({
      grant_type: 'authorization_code',
      client_id: 'c',
      client_secret: 's',
      scope: 'https://x/.default',
    });
    assert.deepEqual([code.status, (code.body as { error: string }).error], [400, 'unsupported_grant_type']);
  });
});
