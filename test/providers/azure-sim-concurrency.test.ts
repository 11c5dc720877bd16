// Concurrency on the ARM simulator through the real SDK: ETags and If-Match (412 PreconditionFailed),
// concurrent PUTs of one load balancer, many writers sharing one load balancer without losing frontends,
// operations superseded by a newer write, writes during a delete, and the public IP ETag changing when a
// load balancer starts or stops using it.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadBalancer } from '@azure/arm-network';
import {
  armRequest,
  FAST,
  loadBalancer,
  publicIp,
  publicIpWire,
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

const ifMatch = (etag: string | undefined) => ({
  requestOptions: { customHeaders: { 'If-Match': etag ?? '' } },
});

async function pips(names: string[]): Promise<Map<string, string>> {
  const created = await Promise.all(
    names.map((name) => t.client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, name, publicIp(), FAST)),
  );
  return new Map(created.map((p) => [p.name ?? '', p.id ?? '']));
}

/** The load balancer with one more frontend (and its rule), keeping everything it has. */
function withFrontend(lb: LoadBalancer, name: string, pipId: string, port: number): LoadBalancer {
  const { ids } = t;
  const lbName = lb.name ?? '';
  return {
    ...lb,
    frontendIPConfigurations: [
      ...(lb.frontendIPConfigurations ?? []),
      { name, publicIPAddress: { id: pipId } },
    ],
    loadBalancingRules: [
      ...(lb.loadBalancingRules ?? []),
      {
        name: `${name}-TCP-${port}`,
        frontendIPConfiguration: { id: ids.frontend(lbName, name) },
        backendAddressPool: { id: ids.pool(lbName, 'nodes') },
        protocol: 'Tcp',
        frontendPort: port,
        backendPort: port,
        enableFloatingIP: true,
      },
    ],
  };
}

describe('ETags', () => {
  it('If-Match with a stale ETag is refused with 412; the current one, *, and If-None-Match behave as ARM', async () => {
    const { client, ids, sim } = t;
    const created = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), FAST);
    const stale = created.etag;
    const updated = await client.publicIPAddresses.beginCreateOrUpdateAndWait(
      RG,
      'pip',
      publicIp({ tags: { a: '1' } }),
      {
        ...FAST,
        ...ifMatch(stale),
      },
    );
    assert.notEqual(updated.etag, stale);
    await assert.rejects(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp({ tags: { a: '2' } }), {
        ...FAST,
        ...ifMatch(stale),
      }),
      (e) => {
        assert.deepEqual([restError(e).statusCode, restError(e).code], [412, 'PreconditionFailed']);
        return true;
      },
    );
    assert.deepEqual(
      (await client.publicIPAddresses.get(RG, 'pip')).tags,
      { a: '1' },
      'the refused write changed nothing',
    );
    await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp({ tags: { a: '3' } }), {
      ...FAST,
      ...ifMatch('*'),
    });
    const strongForm = (await client.publicIPAddresses.get(RG, 'pip')).etag?.replace(/^W\//, '');
    await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp({ tags: { a: '4' } }), {
      ...FAST,
      ...ifMatch(strongForm),
    });

    const url = `${ids.pip('pip')}?api-version=2025-05-01`;
    const createOnly = await armRequest(sim, 'PUT', url, {
      body: publicIpWire(),
      headers: { 'If-None-Match': '*' },
    });
    assert.equal(createOnly.status, 412, 'If-None-Match: * refuses to overwrite');
    const missing = await armRequest(sim, 'PUT', `${ids.pip('nope')}?api-version=2025-05-01`, {
      body: publicIpWire(),
      headers: { 'If-Match': '*' },
    });
    assert.equal(missing.status, 412, 'If-Match on a resource that does not exist');
    const staleDelete = await armRequest(sim, 'DELETE', url, { headers: { 'If-Match': stale ?? '' } });
    assert.equal(staleDelete.status, 412, 'DELETE honours If-Match too');
  });

  it('a new ETag when provisioning finishes, so the ETag of the PUT response is already stale', async () => {
    const { client } = t;
    let fromPut: string | undefined;
    const final = await client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp(), {
      ...FAST,
      onResponse: (raw) => {
        if (raw.request.method === 'PUT')
          fromPut = raw.headers.get('etag') ?? (JSON.parse(raw.bodyAsText ?? '{}') as { etag?: string }).etag;
      },
    });
    assert.ok(fromPut);
    assert.notEqual(final.etag, fromPut);
  });

  it("a load balancer that starts or stops using a public IP changes the IP's ETag", async () => {
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
    const inUse = await client.publicIPAddresses.get(RG, 'pip');
    assert.notEqual(inUse.etag, pip.etag);
    await assert.rejects(
      client.publicIPAddresses.beginCreateOrUpdateAndWait(RG, 'pip', publicIp({ tags: { x: 'y' } }), {
        ...FAST,
        ...ifMatch(pip.etag),
      }),
      (e) => restError(e).statusCode === 412,
    );
    await client.loadBalancers.beginDeleteAndWait(RG, 'lb', FAST);
    assert.notEqual((await client.publicIPAddresses.get(RG, 'pip')).etag, inUse.etag);
  });
});

describe('concurrent writers', () => {
  it('two concurrent PUTs of one load balancer with the same If-Match: one wins, the other gets 412', async () => {
    const { client, ids } = t;
    const pip = await pips(['base', 'a', 'b']);
    const base = await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'lb',
      loadBalancer(ids, {
        name: 'lb',
        frontends: [{ name: 'base', pip: pip.get('base') ?? '' }],
        ports: [{ frontend: 'base', port: 80 }],
      }),
      FAST,
    );
    const attempts = await Promise.allSettled(
      (['a', 'b'] as const).map((name, i) =>
        client.loadBalancers.beginCreateOrUpdateAndWait(
          RG,
          'lb',
          withFrontend(base, name, pip.get(name) ?? '', 81 + i),
          {
            ...FAST,
            ...ifMatch(base.etag),
          },
        ),
      ),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a) => a.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.deepEqual(
      [restError(lost[0]?.reason).statusCode, restError(lost[0]?.reason).code],
      [412, 'PreconditionFailed'],
    );
    const winner = won[0]?.value.frontendIPConfigurations?.at(-1)?.name;
    const final = await client.loadBalancers.get(RG, 'lb');
    assert.deepEqual(
      final.frontendIPConfigurations?.map((f) => f.name),
      ['base', winner],
    );
  });

  it('many Services sharing one load balancer with read-modify-write, If-Match and retry lose no frontend', async () => {
    const { client, ids, sim } = t;
    const services = Array.from({ length: 12 }, (_, i) => `svc${i}`);
    const pip = await pips(['base', ...services]);
    await client.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'lb',
      loadBalancer(ids, {
        name: 'lb',
        frontends: [{ name: 'base', pip: pip.get('base') ?? '' }],
        ports: [{ frontend: 'base', port: 80 }],
      }),
      FAST,
    );
    let conflicts = 0;
    let superseded = 0;
    // Each writer is what an uncoordinated controller does: read, add its frontend, write with If-Match, and
    // on a conflict back off a little (jittered) and start again.
    const addService = async (name: string, port: number) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        if (attempt > 0) await sleep(5 + Math.random() * 20);
        const current = await client.loadBalancers.get(RG, 'lb');
        // Present, even while Updating, is enough: a write accepted with If-Match was built on everything
        // accepted before it, so the write that superseded ours (if any) carries our frontend too.
        if (current.frontendIPConfigurations?.some((f) => f.name === name)) return;
        try {
          const next = withFrontend(current, name, pip.get(name) ?? '', port);
          await client.loadBalancers.beginCreateOrUpdateAndWait(RG, 'lb', next, {
            ...FAST,
            ...ifMatch(current.etag),
          });
          return;
        } catch (error) {
          if (restError(error).statusCode === 412) conflicts++;
          else if (/cancel/i.test(restError(error).message)) superseded++;
          else throw error;
        }
      }
      throw new Error(`${name} never got its frontend`);
    };
    await Promise.all(services.map((name, i) => addService(name, 1000 + i)));
    sim.operations.completeAll();
    const final = await client.loadBalancers.get(RG, 'lb');
    assert.deepEqual(final.frontendIPConfigurations?.map((f) => f.name).sort(), ['base', ...services].sort());
    assert.equal(final.loadBalancingRules?.length, services.length + 1);
    for (const name of services) {
      assert.equal(
        (await client.publicIPAddresses.get(RG, name)).ipConfiguration?.id,
        ids.frontend('lb', name),
      );
    }
    console.log(
      `  ${services.length} writers: ${conflicts} answered 412, ${superseded} superseded, ${sim.counters().byCall['PUT loadBalancers']} PUTs`,
    );
  });

  it('a newer write supersedes the operation in progress: the first poller fails with CanceledAndSupersededDueToAnotherOperation', async () => {
    const { client, ids, sim } = t;
    const pip = await pips(['one', 'two']);
    sim.updateSettings({ holdOperations: true });
    const statusUrls: string[] = [];
    const onResponse = (raw: {
      request: { method: string };
      headers: { get(name: string): string | undefined };
    }) => {
      const url = raw.headers.get('azure-asyncoperation');
      if (raw.request.method === 'PUT' && url) statusUrls.push(url);
    };
    const first = await client.loadBalancers.beginCreateOrUpdate(
      RG,
      'lb',
      loadBalancer(ids, { name: 'lb', frontends: [{ name: 'one', pip: pip.get('one') ?? '' }] }),
      { ...FAST, onResponse },
    );
    const second = await client.loadBalancers.beginCreateOrUpdate(
      RG,
      'lb',
      loadBalancer(ids, { name: 'lb', frontends: [{ name: 'two', pip: pip.get('two') ?? '' }] }),
      { ...FAST, onResponse },
    );
    const canceled = await armRequest(sim, 'GET', statusUrls[0] ?? '');
    const body = canceled.body as {
      status: string;
      error: { code: string; details: Array<{ code: string; message: string }> };
    };
    assert.equal(body.status, 'Canceled');
    assert.equal(body.error.code, 'Canceled');
    assert.equal(body.error.details[0]?.code, 'CanceledAndSupersededDueToAnotherOperation');
    assert.match(
      body.error.details[0]?.message ?? '',
      /PutLoadBalancerOperation \(.+\) was canceled and superseded by operation PutLoadBalancerOperation/,
    );
    await assert.rejects(first.pollUntilDone(), /cancel/i);
    sim.updateSettings({ holdOperations: false });
    sim.operations.completeAll();
    const lb = await second.pollUntilDone();
    assert.deepEqual(
      lb.frontendIPConfigurations?.map((f) => f.name),
      ['two'],
    );
    assert.equal((await client.publicIPAddresses.get(RG, 'one')).ipConfiguration, undefined);
  });

  it('a write while a delete is in progress is refused with 409 AnotherOperationInProgress', async () => {
    const { client, ids, sim } = t;
    await client.networkSecurityGroups.beginCreateOrUpdateAndWait(RG, 'nsg', { location: 'eastus' }, FAST);
    sim.updateSettings({ holdOperations: true });
    const deleting = await client.networkSecurityGroups.beginDelete(RG, 'nsg', FAST);
    assert.equal((await client.networkSecurityGroups.get(RG, 'nsg')).provisioningState, 'Deleting');
    await assert.rejects(
      client.networkSecurityGroups.beginCreateOrUpdate(RG, 'nsg', { location: 'eastus' }, FAST),
      (e) => {
        assert.deepEqual([restError(e).statusCode, restError(e).code], [409, 'AnotherOperationInProgress']);
        return true;
      },
    );
    const again = await armRequest(sim, 'DELETE', `${ids.nsg('nsg')}?api-version=2025-05-01`);
    assert.equal(again.status, 202, 'a second DELETE joins the one in progress');
    sim.updateSettings({ holdOperations: false });
    await deleting.pollUntilDone();
    await assert.rejects(client.networkSecurityGroups.get(RG, 'nsg'), (e) => restError(e).statusCode === 404);
  });
});
