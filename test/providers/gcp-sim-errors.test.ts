// What makes Compute hard, as the real SDK sees it from the simulator: references that must exist,
// duplicates, resources in use, stale fingerprints, quotas, resources not ready, IP conflicts that
// show up only in the DONE operation, and instance-group membership rules.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ComputeClients, computeClients } from '../sim/gcp/clients.ts';
import { type GcpSimulator, startGcpSimulator } from '../sim/gcp/server.ts';
import { done, operationOf, rejection, succeeded, waitForOperation } from '../sim/gcp/testing.ts';

const project = 'sluice-errors';
const region = 'us-central1';
const zone = 'us-central1-a';

let sim: GcpSimulator;
let compute: ComputeClients;

before(async () => {
  sim = await startGcpSimulator({ operations: { pendingMs: 0, runningMs: 5 } });
  compute = computeClients(sim);
});

after(async () => {
  await compute.close();
  await sim.stop();
});

beforeEach(() => sim.reset());

const hcLink = (name: string) => `projects/${project}/regions/${region}/healthChecks/${name}`;
const bsLink = (name: string) => `projects/${project}/regions/${region}/backendServices/${name}`;
const igLink = (name: string, inZone = zone) => `projects/${project}/zones/${inZone}/instanceGroups/${name}`;

async function healthCheck(name = 'hc'): Promise<void> {
  await succeeded(
    compute,
    compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name, type: 'TCP', tcpHealthCheck: { port: 80 } },
    }),
  );
}

async function group(name: string, members: string[], inZone = zone): Promise<void> {
  await succeeded(
    compute,
    compute.instanceGroups.insert({ project, zone: inZone, instanceGroupResource: { name } }),
  );
  if (members.length === 0) return;
  await succeeded(
    compute,
    compute.instanceGroups.addInstances({
      project,
      zone: inZone,
      instanceGroup: name,
      instanceGroupsAddInstancesRequestResource: {
        instances: members.map((member) => ({ instance: `zones/${inZone}/instances/${member}` })),
      },
    }),
  );
}

async function backendService(
  name = 'bs',
  options: { protocol?: string; groups?: string[]; scheme?: string } = {},
): Promise<void> {
  await succeeded(
    compute,
    compute.backendServices.insert({
      project,
      region,
      backendServiceResource: {
        name,
        loadBalancingScheme: options.scheme ?? 'EXTERNAL',
        protocol: options.protocol ?? 'TCP',
        healthChecks: [hcLink('hc')],
        backends: (options.groups ?? []).map((link) => ({ group: link })),
      },
    }),
  );
}

function insertRule(name: string, fields: Record<string, unknown>) {
  return compute.forwardingRules.insert({
    project,
    region,
    forwardingRuleResource: {
      name,
      IPProtocol: 'TCP',
      ports: ['80'],
      backendService: bsLink('bs'),
      ...fields,
    },
  });
}

describe('references must exist', () => {
  it('a forwarding rule without its backend service: 404 notFound naming the missing resource', async () => {
    const error = await rejection(insertRule('fr', {}));
    assert.equal(error.status, 404);
    assert.equal(error.reason, 'notFound');
    assert.equal(error.message, `The resource '${bsLink('bs')}' was not found`);
  });

  it('a backend service without its health check or instance group: 404', async () => {
    const noCheck = await rejection(
      compute.backendServices.insert({
        project,
        region,
        backendServiceResource: { name: 'bs', protocol: 'TCP', healthChecks: [hcLink('hc')] },
      }),
    );
    assert.equal(noCheck.status, 404);
    assert.match(noCheck.message, /healthChecks\/hc' was not found/);
    await healthCheck();
    const noGroup = await rejection(
      compute.backendServices.insert({
        project,
        region,
        backendServiceResource: {
          name: 'bs',
          protocol: 'TCP',
          healthChecks: [hcLink('hc')],
          backends: [{ group: igLink('ig') }],
        },
      }),
    );
    assert.equal(noGroup.status, 404);
    assert.match(noGroup.message, /instanceGroups\/ig' was not found/);
    const noHealthCheckAtAll = await rejection(
      compute.backendServices.insert({
        project,
        region,
        backendServiceResource: { name: 'bs', protocol: 'TCP' },
      }),
    );
    assert.equal(noHealthCheckAtAll.status, 400);
    assert.equal(noHealthCheckAtAll.reason, 'required');
  });

  it('instance group members must exist, in the group zone', async () => {
    sim.seed.instances(project, [{ zone: 'us-central1-b', name: 'elsewhere' }]);
    await group('ig', []);
    const missing = await rejection(
      compute.instanceGroups.addInstances({
        project,
        zone,
        instanceGroup: 'ig',
        instanceGroupsAddInstancesRequestResource: {
          instances: [{ instance: `zones/${zone}/instances/ghost` }],
        },
      }),
    );
    assert.equal(missing.status, 404);
    const otherZone = await rejection(
      compute.instanceGroups.addInstances({
        project,
        zone,
        instanceGroup: 'ig',
        instanceGroupsAddInstancesRequestResource: {
          instances: [{ instance: 'zones/us-central1-b/instances/elsewhere' }],
        },
      }),
    );
    assert.equal(otherZone.status, 400);
    assert.equal(otherZone.reason, 'invalid');
  });

  it('a malformed reference is 400 "The URL is malformed."', async () => {
    await healthCheck();
    const error = await rejection(
      compute.backendServices.insert({
        project,
        region,
        backendServiceResource: { name: 'bs', protocol: 'TCP', healthChecks: ['hc'] },
      }),
    );
    assert.equal(error.status, 400);
    assert.match(error.message, /The URL is malformed/);
  });

  it('a reference that disappears before the operation is DONE fails the operation, not the call', async () => {
    await healthCheck();
    await backendService();
    sim.operations.hold();
    const [deleting] = await compute.backendServices.delete({ project, region, backendService: 'bs' });
    const [inserting] = await insertRule('fr', {});
    sim.operations.release();
    const deleted = await waitForOperation(compute, operationOf([deleting]));
    assert.equal(deleted.error ?? undefined, undefined);
    const failed = await waitForOperation(compute, operationOf([inserting]));
    assert.equal(failed.status, 'DONE');
    assert.equal(failed.httpErrorStatusCode, 404);
    assert.equal(failed.httpErrorMessage, 'NOT FOUND');
    assert.equal(failed.error?.errors?.[0]?.code, 'RESOURCE_NOT_FOUND');
    assert.equal(
      (await rejection(compute.forwardingRules.get({ project, region, forwardingRule: 'fr' }))).status,
      404,
    );
  });
});

describe('duplicates and concurrent changes', () => {
  it('inserting an existing name is 409 alreadyExists, also while the first insert is still running', async () => {
    await healthCheck();
    const error = await rejection(
      compute.healthChecks.insert({ project, region, healthCheckResource: { name: 'hc', type: 'TCP' } }),
    );
    assert.equal(error.status, 409);
    assert.equal(error.reason, 'alreadyExists');
    assert.equal(error.message, `The resource '${hcLink('hc')}' already exists`);

    sim.operations.hold();
    await compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name: 'hc-2', type: 'TCP' },
    });
    const whilePending = await rejection(
      compute.healthChecks.insert({ project, region, healthCheckResource: { name: 'hc-2', type: 'TCP' } }),
    );
    assert.equal(whilePending.status, 409);
    assert.equal(
      (await rejection(compute.healthChecks.get({ project, region, healthCheck: 'hc-2' }))).status,
      404,
    );
    sim.operations.release();
  });

  it('changing a resource whose last operation is not DONE is 400 resourceNotReady', async () => {
    await healthCheck();
    sim.operations.hold();
    await compute.healthChecks.patch({
      project,
      region,
      healthCheck: 'hc',
      healthCheckResource: { checkIntervalSec: 10 },
    });
    const error = await rejection(compute.healthChecks.delete({ project, region, healthCheck: 'hc' }));
    assert.equal(error.status, 400);
    assert.equal(error.reason, 'resourceNotReady');
    sim.operations.release();
    await succeeded(compute, compute.healthChecks.delete({ project, region, healthCheck: 'hc' }));
  });
});

describe('resources in use', () => {
  it('delete of a referenced resource is 400 resourceInUseByAnotherResource naming the user, in dependency order', async () => {
    sim.seed.instances(project, [{ zone, name: 'node-1' }]);
    await healthCheck();
    await group('ig', ['node-1']);
    await backendService('bs', { groups: [igLink('ig')] });
    await succeeded(compute, compute.addresses.insert({ project, region, addressResource: { name: 'ip' } }));
    const [address] = await compute.addresses.get({ project, region, address: 'ip' });
    await succeeded(compute, insertRule('fr', { IPAddress: address.address }));

    const blocked: Array<[Promise<unknown>, string, string]> = [
      [
        compute.healthChecks.delete({ project, region, healthCheck: 'hc' }),
        `The health_check resource '${hcLink('hc')}'`,
        bsLink('bs'),
      ],
      [
        compute.instanceGroups.delete({ project, zone, instanceGroup: 'ig' }),
        `The instance_group resource '${igLink('ig')}'`,
        bsLink('bs'),
      ],
      [
        compute.backendServices.delete({ project, region, backendService: 'bs' }),
        `The backend_service resource '${bsLink('bs')}'`,
        `projects/${project}/regions/${region}/forwardingRules/fr`,
      ],
      [
        compute.addresses.delete({ project, region, address: 'ip' }),
        `The address resource 'projects/${project}/regions/${region}/addresses/ip'`,
        `projects/${project}/regions/${region}/forwardingRules/fr`,
      ],
    ];
    for (const [call, subject, user] of blocked) {
      const error = await rejection(call);
      assert.equal(error.status, 400);
      assert.equal(error.reason, 'resourceInUseByAnotherResource');
      assert.equal(error.message, `${subject} is already being used by '${user}'`);
    }
    await succeeded(compute, compute.forwardingRules.delete({ project, region, forwardingRule: 'fr' }));
    await succeeded(compute, compute.addresses.delete({ project, region, address: 'ip' }));
    await succeeded(compute, compute.backendServices.delete({ project, region, backendService: 'bs' }));
    await succeeded(compute, compute.instanceGroups.delete({ project, zone, instanceGroup: 'ig' }));
    await succeeded(compute, compute.healthChecks.delete({ project, region, healthCheck: 'hc' }));
    assert.deepEqual(sim.snapshot(project).projects[project]?.created, []);
  });
});

describe('fingerprints', () => {
  it('backend service update needs the current fingerprint; a stale one is 412 conditionNotMet', async () => {
    await healthCheck();
    await backendService();
    const [first] = await compute.backendServices.get({ project, region, backendService: 'bs' });
    await succeeded(
      compute,
      compute.backendServices.patch({
        project,
        region,
        backendService: 'bs',
        backendServiceResource: { sessionAffinity: 'CLIENT_IP', fingerprint: first.fingerprint },
      }),
    );
    const [second] = await compute.backendServices.get({ project, region, backendService: 'bs' });
    assert.notEqual(second.fingerprint, first.fingerprint);
    const stale = await rejection(
      compute.backendServices.patch({
        project,
        region,
        backendService: 'bs',
        backendServiceResource: { sessionAffinity: 'NONE', fingerprint: first.fingerprint },
      }),
    );
    assert.equal(stale.status, 412);
    assert.equal(stale.reason, 'conditionNotMet');
    const { fingerprint: _dropped, ...withoutFingerprint } = second;
    const missing = await rejection(
      compute.backendServices.update({
        project,
        region,
        backendService: 'bs',
        backendServiceResource: withoutFingerprint,
      }),
    );
    assert.equal(missing.status, 412);
    await succeeded(
      compute,
      compute.backendServices.update({
        project,
        region,
        backendService: 'bs',
        backendServiceResource: { ...second, sessionAffinity: 'CLIENT_IP_PROTO' },
      }),
    );
    const [third] = await compute.backendServices.get({ project, region, backendService: 'bs' });
    assert.equal(third.sessionAffinity, 'CLIENT_IP_PROTO');
  });

  it('setLabels needs the current labelFingerprint', async () => {
    await healthCheck();
    await backendService();
    await succeeded(compute, insertRule('fr', {}));
    const [rule] = await compute.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    assert.equal(rule.labelFingerprint, '42WmSpB8rSM=', 'what Compute reports for no labels');
    await succeeded(
      compute,
      compute.forwardingRules.setLabels({
        project,
        region,
        resource: 'fr',
        regionSetLabelsRequestResource: {
          labels: { owner: 'sluice' },
          labelFingerprint: rule.labelFingerprint,
        },
      }),
    );
    const stale = await rejection(
      compute.forwardingRules.setLabels({
        project,
        region,
        resource: 'fr',
        regionSetLabelsRequestResource: {
          labels: { owner: 'other' },
          labelFingerprint: rule.labelFingerprint,
        },
      }),
    );
    assert.equal(stale.status, 412);
    assert.equal(stale.reason, 'conditionNotMet');
    const [labelled] = await compute.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    assert.deepEqual(labelled.labels, { owner: 'sluice' });
    assert.notEqual(labelled.fingerprint, rule.fingerprint);
  });
});

describe('quotas', () => {
  it('per region: 403 quotaExceeded, counting inserts still running; other regions unaffected', async () => {
    sim.quotas.set({ regions: { [region]: { HEALTH_CHECKS: 2 } } });
    sim.operations.hold();
    await compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name: 'hc-1', type: 'TCP' },
    });
    await compute.healthChecks.insert({
      project,
      region,
      healthCheckResource: { name: 'hc-2', type: 'TCP' },
    });
    const error = await rejection(
      compute.healthChecks.insert({ project, region, healthCheckResource: { name: 'hc-3', type: 'TCP' } }),
    );
    assert.equal(error.status, 403);
    assert.equal(error.reason, 'quotaExceeded');
    assert.equal(error.message, "Quota 'HEALTH_CHECKS' exceeded.  Limit: 2.0 in region us-central1.");
    sim.operations.release();
    await succeeded(
      compute,
      compute.healthChecks.insert({
        project,
        region: 'europe-west1',
        healthCheckResource: { name: 'hc-3', type: 'TCP' },
      }),
    );
  });

  it('project-wide FIREWALLS, and quota errors in the operation when configured so', async () => {
    sim.quotas.set({ limits: { FIREWALLS: 1 } });
    const firewall = (name: string) =>
      compute.firewalls.insert({
        project,
        firewallResource: { name, sourceRanges: ['10.0.0.0/8'], allowed: [{ IPProtocol: 'tcp' }] },
      });
    await succeeded(compute, firewall('fw-1'));
    const error = await rejection(firewall('fw-2'));
    assert.equal(error.status, 403);
    assert.equal(error.message, "Quota 'FIREWALLS' exceeded.  Limit: 1.0 globally.");

    const inOperation = await startGcpSimulator({
      operations: { pendingMs: 0, runningMs: 0 },
      quotaErrorsIn: 'operation',
      quotas: { limits: { STATIC_ADDRESSES: 1 } },
    });
    const clients = computeClients(inOperation);
    try {
      await succeeded(
        clients,
        clients.addresses.insert({ project, region, addressResource: { name: 'ip-1' } }),
      );
      const failed = await done(
        clients,
        clients.addresses.insert({ project, region, addressResource: { name: 'ip-2' } }),
      );
      assert.equal(failed.httpErrorStatusCode, 403);
      const problem = failed.error?.errors?.[0];
      assert.equal(problem?.code, 'QUOTA_EXCEEDED');
      assert.equal(problem?.errorDetails?.[0]?.quotaInfo?.limit, 1);
      assert.equal(problem?.errorDetails?.[0]?.quotaInfo?.dimensions?.region, region);
    } finally {
      await clients.close();
      await inOperation.stop();
    }
  });
});

describe('addresses and IPs', () => {
  beforeEach(async () => {
    await healthCheck();
    await backendService('bs');
    await backendService('bs-udp', { protocol: 'UDP' });
  });

  it('a TCP and a UDP rule share a static external address; a clashing rule fails in its operation', async () => {
    await succeeded(compute, compute.addresses.insert({ project, region, addressResource: { name: 'ip' } }));
    const [address] = await compute.addresses.get({ project, region, address: 'ip' });
    await succeeded(compute, insertRule('fr-tcp', { IPAddress: address.address, ports: ['80', '443'] }));
    await succeeded(
      compute,
      insertRule('fr-udp', {
        IPAddress: address.address,
        IPProtocol: 'UDP',
        ports: ['443'],
        backendService: bsLink('bs-udp'),
      }),
    );
    const clash = await done(compute, insertRule('fr-clash', { IPAddress: address.address, ports: ['443'] }));
    assert.equal(clash.error?.errors?.[0]?.code, 'IP_IN_USE_BY_ANOTHER_RESOURCE');
    assert.match(String(clash.error?.errors?.[0]?.message), /forwardingRules\/fr-tcp/);
    await succeeded(compute, insertRule('fr-more', { IPAddress: address.address, ports: ['8080'] }));
    const [used] = await compute.addresses.get({ project, region, address: 'ip' });
    assert.equal(used.users?.length, 3);
  });

  it('an external IP that is not a reserved address is refused', async () => {
    const error = await rejection(insertRule('fr', { IPAddress: '203.0.113.77' }));
    assert.equal(error.status, 400);
    assert.match(error.message, /IPAddress/);
  });

  it('reserving the ephemeral IP of a rule promotes it: the IP outlives the rule', async () => {
    await succeeded(compute, insertRule('fr', {}));
    const [rule] = await compute.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    await succeeded(
      compute,
      compute.addresses.insert({
        project,
        region,
        addressResource: { name: 'kept', address: rule.IPAddress },
      }),
    );
    const [promoted] = await compute.addresses.get({ project, region, address: 'kept' });
    assert.equal(promoted.status, 'IN_USE');
    assert.deepEqual(promoted.users, [rule.selfLink]);
    await succeeded(compute, compute.forwardingRules.delete({ project, region, forwardingRule: 'fr' }));
    const [kept] = await compute.addresses.get({ project, region, address: 'kept' });
    assert.equal(kept.status, 'RESERVED');
    assert.equal(kept.address, rule.IPAddress);
    await succeeded(compute, insertRule('fr-again', { IPAddress: rule.IPAddress }));
    const [again] = await compute.forwardingRules.get({ project, region, forwardingRule: 'fr-again' });
    assert.equal(again.IPAddress, rule.IPAddress);
  });

  it('the address tier must match the rule; an address taken by another is a conflict', async () => {
    await succeeded(
      compute,
      compute.addresses.insert({
        project,
        region,
        addressResource: { name: 'std', networkTier: 'STANDARD' },
      }),
    );
    const [standard] = await compute.addresses.get({ project, region, address: 'std' });
    const tier = await rejection(insertRule('fr', { IPAddress: standard.address, networkTier: 'PREMIUM' }));
    assert.equal(tier.status, 400);
    assert.match(tier.message, /networkTier/);
    const taken = await rejection(
      compute.addresses.insert({
        project,
        region,
        addressResource: { name: 'dup', address: standard.address },
      }),
    );
    assert.equal(taken.status, 400);
    assert.match(taken.message, /Specified IP address is in-use and would result in a conflict/);
  });

  it('an internal IP of a VM cannot be a rule IP; two rules on one internal IP need a shared VIP', async () => {
    sim.seed.instances(project, [{ zone, name: 'node-1', networkIP: '10.128.0.10' }]);
    await backendService('ilb-bs', { scheme: 'INTERNAL' });
    const internal = (name: string, ip: string, ports: string[]) =>
      insertRule(name, {
        loadBalancingScheme: 'INTERNAL',
        IPAddress: ip,
        ports,
        backendService: bsLink('ilb-bs'),
      });
    const onVm = await done(compute, internal('ilb-1', '10.128.0.10', ['80']));
    assert.equal(onVm.error?.errors?.[0]?.code, 'IP_IN_USE_BY_ANOTHER_RESOURCE');
    await succeeded(compute, internal('ilb-1', '10.128.0.20', ['80']));
    const second = await done(compute, internal('ilb-2', '10.128.0.20', ['81']));
    assert.equal(
      second.error?.errors?.[0]?.code,
      'IP_IN_USE_BY_ANOTHER_RESOURCE',
      'an ephemeral internal IP is not shared',
    );
  });
});

describe('validation', () => {
  beforeEach(async () => {
    await healthCheck();
    await backendService();
  });

  it('names, ports and protocols are checked like Compute checks them', async () => {
    const badName = await rejection(insertRule('Not_A_Name', {}));
    assert.equal(badName.status, 400);
    assert.match(badName.message, /Invalid value for field 'resource.name'/);
    const sixPorts = await rejection(insertRule('fr', { ports: ['1', '2', '3', '4', '5', '6'] }));
    assert.equal(sixPorts.status, 400);
    assert.match(sixPorts.message, /at most 5 ports/);
    const protocol = await rejection(insertRule('fr', { IPProtocol: 'UDP' }));
    assert.match(protocol.message, /needs IPProtocol TCP/);
    const scheme = await rejection(insertRule('fr', { loadBalancingScheme: 'INTERNAL' }));
    assert.match(scheme.message, /load balancing scheme EXTERNAL/);
    const badRequestId = await rejection(
      compute.forwardingRules.insert({
        project,
        region,
        requestId: 'not-a-uuid',
        forwardingRuleResource: { name: 'fr', backendService: bsLink('bs') },
      }),
    );
    assert.equal(badRequestId.status, 400);
    assert.match(badRequestId.message, /requestId/);
    const unknownRegion = await rejection(compute.forwardingRules.list({ project, region: 'mars-north1' }));
    assert.equal(unknownRegion.status, 400);
    assert.match(unknownRegion.message, /Unknown region/);
  });

  it('firewall rules and health checks are checked too', async () => {
    const firewall = (fields: Record<string, unknown>) =>
      compute.firewalls.insert({
        project,
        firewallResource: { name: 'fw', sourceRanges: ['10.0.0.0/8'], ...fields },
      });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /either allowed or denied/],
      [{ allowed: [{ IPProtocol: 'tcp' }], denied: [{ IPProtocol: 'udp' }] }, /either allowed or denied/],
      [{ allowed: [{ IPProtocol: 'icmp', ports: ['80'] }] }, /Ports are only allowed for tcp, udp and sctp/],
      [{ allowed: [{ IPProtocol: 'tcp', ports: ['70000'] }] }, /Must be a port/],
      [{ allowed: [{ IPProtocol: 'tcp' }], sourceRanges: ['10.0.0.0/33'] }, /CIDR/],
      [
        {
          allowed: [{ IPProtocol: 'tcp' }],
          targetTags: ['k8s-node'],
          targetServiceAccounts: ['nodes@p.iam.gserviceaccount.com'],
        },
        /targetTags and targetServiceAccounts cannot both be set/,
      ],
      [
        { allowed: [{ IPProtocol: 'tcp' }], network: 'global/networks/missing' },
        /networks\/missing' was not found/,
      ],
    ];
    for (const [fields, expected] of cases) {
      const error = await rejection(firewall(fields));
      assert.match(error.message, expected, JSON.stringify(fields));
    }
    await succeeded(
      compute,
      firewall({
        allowed: [{ IPProtocol: 'tcp', ports: ['30000-32767'] }],
        targetServiceAccounts: ['nodes@p.iam.gserviceaccount.com'],
      }),
    );
    const slowTimeout = await rejection(
      compute.healthChecks.insert({
        project,
        region,
        healthCheckResource: { name: 'slow', type: 'HTTP', checkIntervalSec: 2, timeoutSec: 5 },
      }),
    );
    assert.match(slowTimeout.message, /timeoutSec must be less than or equal to checkIntervalSec/);
    const noType = await rejection(
      compute.healthChecks.insert({ project, region, healthCheckResource: { name: 'untyped' } }),
    );
    assert.equal(noType.reason, 'required');
  });

  it('a backend service protocol change must still fit its forwarding rules', async () => {
    await succeeded(compute, insertRule('fr', {}));
    const error = await rejection(
      compute.backendServices.patch({
        project,
        region,
        backendService: 'bs',
        backendServiceResource: { protocol: 'UDP' },
      }),
    );
    assert.equal(error.status, 400);
    assert.match(error.message, /forwardingRules\/fr/);
  });
});

describe('instance group membership', () => {
  it('memberAlreadyExists, memberNotFound, and at most one load-balanced group per VM', async () => {
    sim.seed.instances(project, [
      { zone, name: 'node-1' },
      { zone, name: 'node-2' },
    ]);
    await healthCheck();
    await group('ig', ['node-1']);
    const again = await rejection(
      compute.instanceGroups.addInstances({
        project,
        zone,
        instanceGroup: 'ig',
        instanceGroupsAddInstancesRequestResource: {
          instances: [{ instance: `zones/${zone}/instances/node-1` }],
        },
      }),
    );
    assert.equal(again.status, 400);
    assert.equal(again.reason, 'memberAlreadyExists');
    const absent = await rejection(
      compute.instanceGroups.removeInstances({
        project,
        zone,
        instanceGroup: 'ig',
        instanceGroupsRemoveInstancesRequestResource: {
          instances: [{ instance: `zones/${zone}/instances/node-2` }],
        },
      }),
    );
    assert.equal(absent.reason, 'memberNotFound');

    await backendService('bs', { groups: [igLink('ig')] });
    await group('ig-other', ['node-1']);
    const second = await rejection(
      compute.backendServices.insert({
        project,
        region,
        backendServiceResource: {
          name: 'bs-2',
          protocol: 'TCP',
          healthChecks: [hcLink('hc')],
          backends: [{ group: igLink('ig-other') }],
        },
      }),
    );
    assert.equal(second.status, 400);
    assert.match(second.message, /at most one load-balanced instance group/);
    await group('ig-2', []);
    await backendService('bs-3', { groups: [igLink('ig-2')] });
    const joining = await rejection(
      compute.instanceGroups.addInstances({
        project,
        zone,
        instanceGroup: 'ig-2',
        instanceGroupsAddInstancesRequestResource: {
          instances: [{ instance: `zones/${zone}/instances/node-1` }],
        },
      }),
    );
    assert.match(joining.message, /at most one load-balanced instance group/);
  });
});
