// The Compute Engine simulator driven by the real @google-cloud/compute clients: operations, every
// simulated resource end to end, list filters and pages, and proof that nothing leaves loopback.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ComputeClients, computeClients } from '../sim/gcp/clients.ts';
import { recordOutbound } from '../sim/gcp/outbound.ts';
import { type GcpSimulator, startGcpSimulator } from '../sim/gcp/server.ts';
import { ComputeSimulator } from '../sim/gcp/simulator.ts';
import { operationOf, rejection, succeeded, waitForOperation } from '../sim/gcp/testing.ts';

const project = 'sluice-test';
const region = 'us-central1';
const zoneA = 'us-central1-a';
const zoneB = 'us-central1-b';

let sim: GcpSimulator;
let compute: ComputeClients;

before(async () => {
  sim = await startGcpSimulator({ operations: { pendingMs: 5, runningMs: 15 } });
  compute = computeClients(sim);
});

after(async () => {
  await compute.close();
  await sim.stop();
});

beforeEach(() => sim.reset());

async function healthCheck(name: string, port = 10256): Promise<string> {
  await succeeded(
    compute,
    compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name, type: 'HTTP', httpHealthCheck: { port, requestPath: '/healthz' } },
    }),
  );
  return `projects/${project}/regions/${region}/healthChecks/${name}`;
}

async function instanceGroup(zone: string, name: string, instances: string[]): Promise<string> {
  await succeeded(compute, compute.instanceGroups.insert({ project, zone, instanceGroupResource: { name } }));
  if (instances.length > 0) {
    await succeeded(
      compute,
      compute.instanceGroups.addInstances({
        project,
        zone,
        instanceGroup: name,
        instanceGroupsAddInstancesRequestResource: {
          instances: instances.map((instance) => ({ instance: `zones/${zone}/instances/${instance}` })),
        },
      }),
    );
  }
  return `projects/${project}/zones/${zone}/instanceGroups/${name}`;
}

describe('operations', () => {
  it('go PENDING → RUNNING → DONE, and the change shows only when DONE', async () => {
    let now = 1_000_000;
    const core = new ComputeSimulator({ operations: { pendingMs: 100, runningMs: 100 }, clock: () => now });
    const signal = new AbortController().signal;
    const insert = await core.handle(
      {
        method: 'POST',
        path: `projects/${project}/regions/${region}/healthChecks`,
        query: new URLSearchParams(),
        body: { name: 'hc', type: 'TCP', tcpHealthCheck: { port: 80 } },
      },
      signal,
    );
    assert.equal(insert.status, 200);
    assert.equal(insert.body.status, 'PENDING');
    const getHealthCheck = () =>
      core.handle(
        {
          method: 'GET',
          path: `projects/${project}/regions/${region}/healthChecks/hc`,
          query: new URLSearchParams(),
          body: undefined,
        },
        signal,
      );
    const getOperation = () =>
      core.handle(
        {
          method: 'GET',
          path: `projects/${project}/regions/${region}/operations/${String(insert.body.name)}`,
          query: new URLSearchParams(),
          body: undefined,
        },
        signal,
      );
    assert.equal((await getHealthCheck()).status, 404);
    now += 150;
    const running = await getOperation();
    assert.equal(running.body.status, 'RUNNING');
    assert.ok(running.body.startTime);
    assert.equal(running.body.endTime, undefined);
    assert.equal((await getHealthCheck()).status, 404);
    now += 100;
    const finished = await getOperation();
    assert.equal(finished.body.status, 'DONE');
    assert.equal(finished.body.progress, 100);
    assert.equal(finished.body.error, undefined);
    const healthCheckAnswer = await getHealthCheck();
    assert.equal(healthCheckAnswer.status, 200);
    assert.equal(healthCheckAnswer.body.checkIntervalSec, 5);
    assert.equal(healthCheckAnswer.body.id, finished.body.targetId);
  });

  it('are waited for through the SDK (regional, zonal and global)', async () => {
    sim.operations.setTiming({ pendingMs: 30, runningMs: 30 });
    const [regional] = await compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name: 'hc', type: 'TCP', tcpHealthCheck: { port: 80 } },
    });
    const started = operationOf([regional]);
    assert.equal(started.status, 'PENDING');
    assert.equal(started.operationType, 'insert');
    assert.match(String(started.targetLink), /\/regions\/us-central1\/healthChecks\/hc$/);
    const regionalDone = await waitForOperation(compute, started);
    assert.equal(regionalDone.status, 'DONE');
    assert.match(String(regionalDone.region), /\/regions\/us-central1$/);

    const zonal = await succeeded(
      compute,
      compute.instanceGroups.insert({ project, zone: zoneA, instanceGroupResource: { name: 'ig' } }),
    );
    assert.match(String(zonal.zone), /\/zones\/us-central1-a$/);

    const global = await succeeded(
      compute,
      compute.firewalls.insert({
        project,
        firewallResource: {
          name: 'fw',
          sourceRanges: ['0.0.0.0/0'],
          allowed: [{ IPProtocol: 'tcp', ports: ['80'] }],
        },
      }),
    );
    assert.equal(global.zone ?? undefined, undefined);
    assert.equal(global.region ?? undefined, undefined);

    const [listed] = await compute.regionOperations.list({ project, region });
    assert.deepEqual(
      listed.map((operation) => operation.name),
      [regionalDone.name],
    );
    const [fetched] = await compute.globalOperations.get({ project, operation: String(global.name) });
    assert.equal(fetched.status, 'DONE');
    const scopes: string[] = [];
    for await (const [scope, list] of compute.globalOperations.aggregatedListAsync({ project })) {
      if ((list.operations ?? []).length > 0) scopes.push(scope);
    }
    assert.deepEqual(scopes.sort(), ['global', 'regions/us-central1', 'zones/us-central1-a']);
  });

  it('wait answers with an unfinished operation when it takes longer than the wait timeout', async () => {
    sim.operations.setTiming({ waitTimeoutMs: 50 });
    sim.operations.hold();
    const [answer] = await compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name: 'hc', type: 'TCP' },
    });
    const operation = operationOf([answer]);
    const [waited] = await compute.regionOperations.wait({
      project,
      region,
      operation: String(operation.name),
    });
    assert.equal(waited.status, 'RUNNING');
    sim.operations.release();
    const [again] = await compute.regionOperations.wait({
      project,
      region,
      operation: String(operation.name),
    });
    assert.equal(again.status, 'DONE');
    const [stored] = await compute.healthChecks.get({ project, region, healthCheck: 'hc' });
    assert.equal(stored.tcpHealthCheck?.port, 80);
  });

  it('an unknown operation is 404', async () => {
    const error = await rejection(
      compute.regionOperations.get({ project, region, operation: 'operation-nope' }),
    );
    assert.equal(error.status, 404);
    assert.equal(error.reason, 'notFound');
  });
});

describe('resources through the SDK', () => {
  it('regional health checks: insert, get, list, patch, update, delete', async () => {
    await healthCheck('hc-local', 31000);
    const [stored] = await compute.healthChecks.get({ project, region, healthCheck: 'hc-local' });
    assert.equal(stored.type, 'HTTP');
    assert.equal(stored.httpHealthCheck?.port, 31000);
    assert.equal(stored.httpHealthCheck?.requestPath, '/healthz');
    assert.deepEqual(
      [stored.checkIntervalSec, stored.timeoutSec, stored.healthyThreshold, stored.unhealthyThreshold],
      [5, 5, 2, 2],
    );
    assert.equal(
      stored.selfLink,
      `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}/healthChecks/hc-local`,
    );

    await succeeded(
      compute,
      compute.healthChecks.patch({
        project,
        region,
        healthCheck: 'hc-local',
        healthCheckResource: { checkIntervalSec: 8, timeoutSec: 1 },
      }),
    );
    const [patched] = await compute.healthChecks.get({ project, region, healthCheck: 'hc-local' });
    assert.equal(patched.checkIntervalSec, 8);
    assert.equal(patched.httpHealthCheck?.port, 31000, 'PATCH keeps what it does not name');
    assert.equal(patched.id, stored.id);

    await succeeded(
      compute,
      compute.healthChecks.update({
        project,
        region,
        healthCheck: 'hc-local',
        healthCheckResource: { name: 'hc-local', type: 'TCP', tcpHealthCheck: { port: 31001 } },
      }),
    );
    const [replaced] = await compute.healthChecks.get({ project, region, healthCheck: 'hc-local' });
    assert.equal(replaced.type, 'TCP');
    assert.equal(replaced.httpHealthCheck ?? undefined, undefined, 'PUT replaces the whole resource');
    assert.equal(replaced.checkIntervalSec, 5);

    await healthCheck('hc-shared');
    const [listed] = await compute.healthChecks.list({ project, region });
    assert.deepEqual(
      listed.map((check) => check.name),
      ['hc-local', 'hc-shared'],
    );
    await succeeded(compute, compute.healthChecks.delete({ project, region, healthCheck: 'hc-local' }));
    const missing = await rejection(compute.healthChecks.get({ project, region, healthCheck: 'hc-local' }));
    assert.equal(missing.status, 404);
    assert.equal(
      missing.message,
      `The resource 'projects/${project}/regions/${region}/healthChecks/hc-local' was not found`,
    );
  });

  it('instances are seeded, then read with get, list and aggregatedList', async () => {
    sim.seed.instances(project, [
      {
        zone: zoneA,
        name: 'node-a',
        tags: ['gke-node'],
        serviceAccounts: ['nodes@sluice-test.iam.gserviceaccount.com'],
      },
      { zone: zoneB, name: 'node-b', networkIP: '10.128.0.50' },
    ]);
    const [nodeA] = await compute.instances.get({ project, zone: zoneA, instance: 'node-a' });
    assert.equal(nodeA.status, 'RUNNING');
    assert.deepEqual(nodeA.tags?.items, ['gke-node']);
    assert.equal(
      nodeA.networkInterfaces?.[0]?.network,
      `https://www.googleapis.com/compute/v1/projects/${project}/global/networks/default`,
    );
    assert.match(String(nodeA.networkInterfaces?.[0]?.networkIP), /^10\.128\.0\.\d+$/);
    assert.equal(nodeA.serviceAccounts?.[0]?.email, 'nodes@sluice-test.iam.gserviceaccount.com');
    const [inB] = await compute.instances.list({ project, zone: zoneB });
    assert.deepEqual(
      inB.map((instance) => [instance.name, instance.networkInterfaces?.[0]?.networkIP]),
      [['node-b', '10.128.0.50']],
    );
    const byZone = new Map<string, string[]>();
    for await (const [scope, list] of compute.instances.aggregatedListAsync({ project })) {
      byZone.set(
        scope,
        (list.instances ?? []).map((instance) => String(instance.name)),
      );
    }
    assert.deepEqual(byZone.get('zones/us-central1-a'), ['node-a']);
    assert.deepEqual(byZone.get('zones/us-central1-b'), ['node-b']);
    assert.deepEqual(byZone.get('zones/europe-west1-b'), []);
    const missing = await rejection(compute.instances.get({ project, zone: zoneA, instance: 'node-b' }));
    assert.equal(missing.status, 404);
  });

  it('instance groups: insert, members in and out, listInstances, named ports, delete', async () => {
    sim.seed.instances(project, [
      { zone: zoneA, name: 'node-1' },
      { zone: zoneA, name: 'node-2' },
      { zone: zoneA, name: 'node-3', status: 'TERMINATED' },
    ]);
    await instanceGroup(zoneA, 'ig', ['node-1', 'node-2', 'node-3']);
    const [group] = await compute.instanceGroups.get({ project, zone: zoneA, instanceGroup: 'ig' });
    assert.equal(group.size, 3);
    assert.equal(
      group.network,
      `https://www.googleapis.com/compute/v1/projects/${project}/global/networks/default`,
    );
    const [all] = await compute.instanceGroups.listInstances({
      project,
      zone: zoneA,
      instanceGroup: 'ig',
      instanceGroupsListInstancesRequestResource: { instanceState: 'ALL' },
    });
    assert.deepEqual(
      all.map((member) => [String(member.instance).split('/').pop(), member.status]),
      [
        ['node-1', 'RUNNING'],
        ['node-2', 'RUNNING'],
        ['node-3', 'TERMINATED'],
      ],
    );
    const [running] = await compute.instanceGroups.listInstances({
      project,
      zone: zoneA,
      instanceGroup: 'ig',
      instanceGroupsListInstancesRequestResource: { instanceState: 'RUNNING' },
    });
    assert.equal(running.length, 2);

    await succeeded(
      compute,
      compute.instanceGroups.removeInstances({
        project,
        zone: zoneA,
        instanceGroup: 'ig',
        instanceGroupsRemoveInstancesRequestResource: {
          instances: [{ instance: `projects/${project}/zones/${zoneA}/instances/node-2` }],
        },
      }),
    );
    assert.equal(sim.seed.removeInstance(project, zoneA, 'node-3'), true);
    const [after] = await compute.instanceGroups.get({ project, zone: zoneA, instanceGroup: 'ig' });
    assert.equal(after.size, 1, 'a deleted VM leaves its groups');

    await succeeded(
      compute,
      compute.instanceGroups.setNamedPorts({
        project,
        zone: zoneA,
        instanceGroup: 'ig',
        instanceGroupsSetNamedPortsRequestResource: {
          namedPorts: [{ name: 'http', port: 30080 }],
          fingerprint: after.fingerprint,
        },
      }),
    );
    const [named] = await compute.instanceGroups.get({ project, zone: zoneA, instanceGroup: 'ig' });
    assert.deepEqual(
      named.namedPorts?.map((port) => [port.name, port.port]),
      [['http', 30080]],
    );
    assert.notEqual(named.fingerprint, after.fingerprint);
    const [listed] = await compute.instanceGroups.list({ project, zone: zoneA });
    assert.deepEqual(
      listed.map((entry) => entry.name),
      ['ig'],
    );
    await succeeded(compute, compute.instanceGroups.delete({ project, zone: zoneA, instanceGroup: 'ig' }));
    assert.deepEqual(sim.snapshot(project).projects[project]?.created, []);
  });

  it('an external passthrough load balancer: health check, backend service, address, rules, firewalls, then teardown', async () => {
    sim.seed.instances(project, [
      { zone: zoneA, name: 'node-1', tags: ['k8s-node'] },
      { zone: zoneB, name: 'node-2', tags: ['k8s-node'] },
    ]);
    const hc = await healthCheck('k8s-hc');
    const igA = await instanceGroup(zoneA, 'k8s-ig', ['node-1']);
    const igB = await instanceGroup(zoneB, 'k8s-ig', ['node-2']);
    await succeeded(
      compute,
      compute.backendServices.insert({
        project,
        region,
        backendServiceResource: {
          name: 'k8s-bs',
          loadBalancingScheme: 'EXTERNAL',
          protocol: 'UNSPECIFIED',
          healthChecks: [hc],
          backends: [{ group: igA }, { group: igB }],
          sessionAffinity: 'CLIENT_IP',
          description: '{"kubernetes.io/service-name":"default/web"}',
        },
      }),
    );
    const [service] = await compute.backendServices.get({ project, region, backendService: 'k8s-bs' });
    assert.equal(service.sessionAffinity, 'CLIENT_IP');
    assert.equal(service.backends?.length, 2);
    assert.equal(service.backends?.[0]?.balancingMode, 'CONNECTION');
    assert.equal(service.description, '{"kubernetes.io/service-name":"default/web"}');
    assert.ok(service.fingerprint);

    await succeeded(
      compute,
      compute.addresses.insert({
        project,
        region,
        addressResource: { name: 'k8s-ip', networkTier: 'PREMIUM' },
      }),
    );
    const [address] = await compute.addresses.get({ project, region, address: 'k8s-ip' });
    assert.equal(address.status, 'RESERVED');
    assert.equal(address.addressType, 'EXTERNAL');
    assert.match(String(address.address), /^203\.0\.113\.\d+$/);

    await succeeded(
      compute,
      compute.forwardingRules.insert({
        project,
        region,
        forwardingRuleResource: {
          name: 'k8s-fr-l3',
          IPAddress: address.address,
          IPProtocol: 'L3_DEFAULT',
          allPorts: true,
          backendService: service.selfLink,
          networkTier: 'PREMIUM',
          labels: { 'sluice-owner': 'default_web' },
        },
      }),
    );
    const [rule] = await compute.forwardingRules.get({ project, region, forwardingRule: 'k8s-fr-l3' });
    assert.equal(rule.IPAddress, address.address);
    assert.equal(rule.allPorts, true);
    assert.equal(rule.loadBalancingScheme, 'EXTERNAL');
    assert.deepEqual(rule.labels, { 'sluice-owner': 'default_web' });
    const [inUse] = await compute.addresses.get({ project, region, address: 'k8s-ip' });
    assert.equal(inUse.status, 'IN_USE');
    assert.deepEqual(inUse.users, [rule.selfLink]);

    await succeeded(
      compute,
      compute.firewalls.insert({
        project,
        firewallResource: {
          name: 'k8s-fw',
          network: 'global/networks/default',
          sourceRanges: ['198.51.100.0/24'],
          destinationRanges: [String(address.address)],
          allowed: [{ IPProtocol: 'tcp', ports: ['80', '443'] }],
          targetTags: ['k8s-node'],
          description: '{"kubernetes.io/service-name":"default/web"}',
        },
      }),
    );
    await succeeded(
      compute,
      compute.firewalls.insert({
        project,
        firewallResource: {
          name: 'k8s-hc-fw',
          sourceRanges: ['130.211.0.0/22', '35.191.0.0/16'],
          allowed: [{ IPProtocol: 'tcp', ports: ['10256'] }],
          targetTags: ['k8s-node'],
        },
      }),
    );
    const [firewall] = await compute.firewalls.get({ project, firewall: 'k8s-fw' });
    assert.deepEqual(
      firewall.allowed?.map((entry) => [entry.IPProtocol, entry.ports]),
      [['tcp', ['80', '443']]],
    );
    assert.equal(firewall.direction, 'INGRESS');
    assert.equal(firewall.priority, 1000);
    await succeeded(
      compute,
      compute.firewalls.patch({
        project,
        firewall: 'k8s-fw',
        firewallResource: { sourceRanges: ['0.0.0.0/0'] },
      }),
    );
    const [patched] = await compute.firewalls.get({ project, firewall: 'k8s-fw' });
    assert.deepEqual(patched.sourceRanges, ['0.0.0.0/0']);
    assert.deepEqual(patched.targetTags, ['k8s-node']);

    assert.equal(sim.snapshot(project).projects[project]?.created.length, 8);
    // Teardown in dependency order.
    await succeeded(compute, compute.firewalls.delete({ project, firewall: 'k8s-fw' }));
    await succeeded(compute, compute.firewalls.delete({ project, firewall: 'k8s-hc-fw' }));
    await succeeded(
      compute,
      compute.forwardingRules.delete({ project, region, forwardingRule: 'k8s-fr-l3' }),
    );
    const [released] = await compute.addresses.get({ project, region, address: 'k8s-ip' });
    assert.equal(released.status, 'RESERVED');
    assert.equal(released.users?.length ?? 0, 0);
    await succeeded(compute, compute.addresses.delete({ project, region, address: 'k8s-ip' }));
    await succeeded(compute, compute.backendServices.delete({ project, region, backendService: 'k8s-bs' }));
    await succeeded(
      compute,
      compute.instanceGroups.delete({ project, zone: zoneA, instanceGroup: 'k8s-ig' }),
    );
    await succeeded(
      compute,
      compute.instanceGroups.delete({ project, zone: zoneB, instanceGroup: 'k8s-ig' }),
    );
    await succeeded(compute, compute.healthChecks.delete({ project, region, healthCheck: 'k8s-hc' }));
    assert.deepEqual(sim.snapshot(project).projects[project]?.created, []);
  });

  it('an internal passthrough load balancer: subnet, global access, a static internal IP shared by a TCP and a UDP rule', async () => {
    sim.seed.network(project, { name: 'vpc' });
    sim.seed.subnetwork(project, { name: 'nodes', region, network: 'vpc', ipCidrRange: '10.10.0.0/24' });
    sim.seed.instances(project, [{ zone: zoneA, name: 'node-1', network: 'vpc' }]);
    const hc = await healthCheck('ilb-hc');
    const ig = await instanceGroup(zoneA, 'ilb-ig', ['node-1']);
    for (const protocol of ['TCP', 'UDP'] as const) {
      await succeeded(
        compute,
        compute.backendServices.insert({
          project,
          region,
          backendServiceResource: {
            name: `ilb-bs-${protocol.toLowerCase()}`,
            loadBalancingScheme: 'INTERNAL',
            protocol,
            network: 'global/networks/vpc',
            healthChecks: [hc],
            backends: [{ group: ig }],
          },
        }),
      );
    }
    await succeeded(
      compute,
      compute.addresses.insert({
        project,
        region,
        addressResource: {
          name: 'ilb-ip',
          addressType: 'INTERNAL',
          subnetwork: `regions/${region}/subnetworks/nodes`,
          address: '10.10.0.100',
          purpose: 'SHARED_LOADBALANCER_VIP',
        },
      }),
    );
    for (const protocol of ['TCP', 'UDP'] as const) {
      await succeeded(
        compute,
        compute.forwardingRules.insert({
          project,
          region,
          forwardingRuleResource: {
            name: `ilb-fr-${protocol.toLowerCase()}`,
            loadBalancingScheme: 'INTERNAL',
            IPProtocol: protocol,
            IPAddress: `projects/${project}/regions/${region}/addresses/ilb-ip`,
            ports: ['53'],
            subnetwork: `regions/${region}/subnetworks/nodes`,
            backendService: `regions/${region}/backendServices/ilb-bs-${protocol.toLowerCase()}`,
            allowGlobalAccess: true,
          },
        }),
      );
    }
    const [tcp] = await compute.forwardingRules.get({ project, region, forwardingRule: 'ilb-fr-tcp' });
    assert.equal(tcp.IPAddress, '10.10.0.100');
    assert.equal(tcp.allowGlobalAccess, true);
    assert.equal(
      tcp.network,
      `https://www.googleapis.com/compute/v1/projects/${project}/global/networks/vpc`,
    );
    assert.equal(tcp.networkTier, 'PREMIUM');
    const [address] = await compute.addresses.get({ project, region, address: 'ilb-ip' });
    assert.equal(address.users?.length, 2);
    // An ephemeral internal IP comes from the subnet, skipping the addresses already in use.
    await succeeded(
      compute,
      compute.forwardingRules.insert({
        project,
        region,
        forwardingRuleResource: {
          name: 'ilb-fr-ephemeral',
          loadBalancingScheme: 'INTERNAL',
          IPProtocol: 'TCP',
          allPorts: true,
          subnetwork: `regions/${region}/subnetworks/nodes`,
          backendService: `regions/${region}/backendServices/ilb-bs-tcp`,
        },
      }),
    );
    const [ephemeral] = await compute.forwardingRules.get({
      project,
      region,
      forwardingRule: 'ilb-fr-ephemeral',
    });
    const [node] = await compute.instances.get({ project, zone: zoneA, instance: 'node-1' });
    assert.match(String(ephemeral.IPAddress), /^10\.10\.0\.\d+$/);
    assert.notEqual(ephemeral.IPAddress, node.networkInterfaces?.[0]?.networkIP);
    assert.notEqual(ephemeral.IPAddress, '10.10.0.100');
  });

  it('networks and subnetworks: the default ones and seeded ones', async () => {
    sim.seed.network(project, { name: 'shared-vpc' });
    sim.seed.subnetwork(project, {
      name: 'gke',
      region: 'europe-west1',
      network: 'shared-vpc',
      ipCidrRange: '10.20.0.0/20',
    });
    const [networks] = await compute.networks.list({ project });
    assert.deepEqual(
      networks.map((network) => network.name),
      ['default', 'shared-vpc'],
    );
    const [network] = await compute.networks.get({ project, network: 'shared-vpc' });
    assert.equal(network.subnetworks?.length, 1);
    const [subnet] = await compute.subnetworks.get({ project, region: 'europe-west1', subnetwork: 'gke' });
    assert.equal(subnet.ipCidrRange, '10.20.0.0/20');
    assert.equal(subnet.gatewayAddress, '10.20.0.1');
    const [defaults] = await compute.subnetworks.list({ project, region });
    assert.deepEqual(
      defaults.map((entry) => [entry.name, entry.ipCidrRange]),
      [['default', '10.128.0.0/20']],
    );
    const byRegion = new Map<string, number>();
    for await (const [scope, list] of compute.subnetworks.aggregatedListAsync({ project })) {
      byRegion.set(scope, (list.subnetworks ?? []).length);
    }
    assert.deepEqual(Object.fromEntries(byRegion), { 'regions/us-central1': 1, 'regions/europe-west1': 2 });
  });
});

describe('lists', () => {
  beforeEach(async () => {
    const hc = await healthCheck('hc');
    for (const name of ['bs-tcp', 'bs-udp']) {
      await succeeded(
        compute,
        compute.backendServices.insert({
          project,
          region,
          backendServiceResource: { name, protocol: name === 'bs-tcp' ? 'TCP' : 'UDP', healthChecks: [hc] },
        }),
      );
    }
    const rules = [
      { name: 'k8s-a-tcp', service: 'bs-tcp', protocol: 'TCP', owner: 'sluice', cluster: 'one' },
      { name: 'k8s-a-udp', service: 'bs-udp', protocol: 'UDP', owner: 'sluice', cluster: 'one' },
      { name: 'k8s-b-tcp', service: 'bs-tcp', protocol: 'TCP', owner: 'sluice', cluster: 'two' },
      { name: 'other-tcp', service: 'bs-tcp', protocol: 'TCP', owner: 'someone', cluster: '' },
    ];
    for (const [index, rule] of rules.entries()) {
      await succeeded(
        compute,
        compute.forwardingRules.insert({
          project,
          region,
          forwardingRuleResource: {
            name: rule.name,
            IPProtocol: rule.protocol,
            ports: [String(8000 + index)],
            backendService: `regions/${region}/backendServices/${rule.service}`,
            labels: rule.cluster ? { owner: rule.owner, cluster: rule.cluster } : { owner: rule.owner },
          },
        }),
      );
    }
  });

  async function names(filter: string, orderBy?: string): Promise<string[]> {
    const [rules] = await compute.forwardingRules.list({
      project,
      region,
      filter,
      ...(orderBy ? { orderBy } : {}),
    });
    return rules.map((rule) => String(rule.name));
  }

  it('filter on name and labels, in both filter syntaxes', async () => {
    assert.deepEqual(await names('name = "k8s-a-udp"'), ['k8s-a-udp']);
    assert.deepEqual(await names('name != "k8s-a-udp"'), ['k8s-a-tcp', 'k8s-b-tcp', 'other-tcp']);
    assert.deepEqual(await names('labels.owner = sluice'), ['k8s-a-tcp', 'k8s-a-udp', 'k8s-b-tcp']);
    assert.deepEqual(await names('labels.cluster:*'), ['k8s-a-tcp', 'k8s-a-udp', 'k8s-b-tcp']);
    assert.deepEqual(await names('(labels.owner = "sluice") AND (labels.cluster = "one")'), [
      'k8s-a-tcp',
      'k8s-a-udp',
    ]);
    assert.deepEqual(await names('(labels.cluster = "two") OR (name = "other-tcp")'), [
      'k8s-b-tcp',
      'other-tcp',
    ]);
    assert.deepEqual(await names('IPProtocol = UDP'), ['k8s-a-udp']);
    assert.deepEqual(await names("name eq 'k8s-.*-tcp'"), ['k8s-a-tcp', 'k8s-b-tcp']);
    assert.deepEqual(await names('name eq k8s-a.*'), ['k8s-a-tcp', 'k8s-a-udp']);
    assert.deepEqual(await names('name = "k8s-*"'), ['k8s-a-tcp', 'k8s-a-udp', 'k8s-b-tcp']);
    assert.deepEqual(await names('labels.owner = nobody'), []);
  });

  it('a filter Compute cannot read is a 400', async () => {
    const error = await rejection(compute.forwardingRules.list({ project, region, filter: 'name = ' }));
    assert.equal(error.status, 400);
    assert.equal(error.reason, 'invalid');
    assert.match(error.message, /Invalid value for field 'filter'/);
  });

  it('order and pages: the SDK follows nextPageToken', async () => {
    assert.deepEqual(await names('', 'name desc'), ['other-tcp', 'k8s-b-tcp', 'k8s-a-udp', 'k8s-a-tcp']);
    assert.deepEqual(await names('', 'creationTimestamp desc'), [
      'other-tcp',
      'k8s-b-tcp',
      'k8s-a-udp',
      'k8s-a-tcp',
    ]);
    const before = sim.counters()['forwardingRules.list'] ?? 0;
    const [all] = await compute.forwardingRules.list({ project, region, maxResults: 3 });
    assert.deepEqual(
      all.map((rule) => rule.name),
      ['k8s-a-tcp', 'k8s-a-udp', 'k8s-b-tcp', 'other-tcp'],
    );
    assert.equal((sim.counters()['forwardingRules.list'] ?? 0) - before, 2, 'two pages of at most 3');
    const [firstPage, , response] = await compute.forwardingRules.list(
      { project, region, maxResults: 3, filter: 'labels.owner = sluice' },
      { autoPaginate: false },
    );
    assert.equal(firstPage.length, 3);
    assert.equal(response?.nextPageToken ?? undefined, undefined, 'three matches fit one page of three');
    const aggregated: string[] = [];
    for await (const [scope, list] of compute.forwardingRules.aggregatedListAsync({
      project,
      maxResults: 1,
      filter: 'labels.cluster = one',
    })) {
      for (const rule of list.forwardingRules ?? []) aggregated.push(`${scope}/${rule.name}`);
    }
    assert.deepEqual(aggregated, ['regions/us-central1/k8s-a-tcp', 'regions/us-central1/k8s-a-udp']);
  });
});

describe('isolation', () => {
  it('the SDK reaches the simulator and nothing else: no Google endpoint, no metadata server', async () => {
    const recorder = recordOutbound();
    const isolated = await startGcpSimulator({ operations: { pendingMs: 0, runningMs: 0 } });
    const clients = computeClients(isolated);
    try {
      isolated.seed.instances(project, [{ zone: zoneA, name: 'node-1' }]);
      const hc = await (async () => {
        await succeeded(
          clients,
          clients.healthChecks.insert({
            project,
            region,
            healthCheckResource: { name: 'hc', type: 'TCP', tcpHealthCheck: { port: 80 } },
          }),
        );
        return `regions/${region}/healthChecks/hc`;
      })();
      await succeeded(
        clients,
        clients.instanceGroups.insert({ project, zone: zoneA, instanceGroupResource: { name: 'ig' } }),
      );
      await succeeded(
        clients,
        clients.backendServices.insert({
          project,
          region,
          backendServiceResource: {
            name: 'bs',
            protocol: 'TCP',
            healthChecks: [hc],
            backends: [{ group: `zones/${zoneA}/instanceGroups/ig` }],
          },
        }),
      );
      await succeeded(
        clients,
        clients.forwardingRules.insert({
          project,
          region,
          forwardingRuleResource: {
            name: 'fr',
            IPProtocol: 'TCP',
            ports: ['80'],
            backendService: `regions/${region}/backendServices/bs`,
          },
        }),
      );
      await clients.forwardingRules.list({ project, region });
      await clients.instances.get({ project, zone: zoneA, instance: 'node-1' });
      await rejection(clients.networks.get({ project, network: 'missing' }));
    } finally {
      await clients.close();
      await isolated.stop();
      recorder.stop();
    }
    const attempts = recorder.attempts();
    assert.ok(
      attempts.some((attempt) => attempt.kind === 'connect' && attempt.target === '127.0.0.1'),
      `the recorder saw the SDK's own connections: ${JSON.stringify(attempts)}`,
    );
    assert.deepEqual(recorder.nonLoopback(), []);
  });
});
