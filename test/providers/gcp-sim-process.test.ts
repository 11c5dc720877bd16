// gcp-sim as its own process (as the demo runs it): `node test/sim/gcp/main.ts --port 0` prints its
// endpoint as JSON; the SDK talks to it; tests steer it over HTTP under /_sim/.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type ComputeClients, computeClients } from '../sim/gcp/clients.ts';
import { rejection, succeeded } from '../sim/gcp/testing.ts';

const MAIN = join(import.meta.dirname, '..', 'sim', 'gcp', 'main.ts');
const project = 'sluice-demo';
const region = 'europe-west4';
const zone = 'europe-west4-a';

interface Endpoint {
  url: string;
  apiEndpoint: string;
  port: number;
  protocol: 'http';
}

async function startProcess(
  args: string[],
): Promise<{ child: ChildProcess; endpoint: Endpoint; stderr: () => string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(() => {
    throw new Error(`gcp-sim exited before it printed its endpoint: ${stderr}`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
  return { child, endpoint: JSON.parse(line) as Endpoint, stderr: () => stderr };
}

async function control(
  endpoint: Endpoint,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${endpoint.url}/_sim/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: await response.json() };
}

describe('gcp-sim as a process', () => {
  let child: ChildProcess;
  let endpoint: Endpoint;
  let compute: ComputeClients;

  before(async () => {
    ({ child, endpoint } = await startProcess([
      '--port',
      '0',
      '--pending-ms',
      '0',
      '--running-ms',
      '0',
      '--region',
      `${region}=${zone},europe-west4-b`,
      '--quota',
      'FORWARDING_RULES=1',
    ]));
    compute = computeClients(endpoint);
  });

  after(async () => {
    await compute.close();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('prints its loopback endpoint as JSON', () => {
    assert.equal(endpoint.apiEndpoint, '127.0.0.1');
    assert.equal(endpoint.protocol, 'http');
    assert.ok(endpoint.port > 0);
    assert.equal(endpoint.url, `http://127.0.0.1:${endpoint.port}`);
  });

  it('is seeded, steered and inspected over /_sim/ while the SDK uses it', async () => {
    assert.deepEqual((await control(endpoint, 'GET', 'endpoint')).body, endpoint);
    const seeded = await control(endpoint, 'POST', `projects/${project}/instances`, {
      instances: [
        { zone, name: 'node-1', tags: ['k8s-node'] },
        { zone, name: 'node-2' },
      ],
    });
    assert.equal(seeded.status, 200);
    const [instances] = await compute.instances.list({ project, zone });
    assert.deepEqual(
      instances.map((instance) => instance.name),
      ['node-1', 'node-2'],
    );

    await succeeded(
      compute,
      compute.instanceGroups.insert({ project, zone, instanceGroupResource: { name: 'ig' } }),
    );
    await succeeded(
      compute,
      compute.instanceGroups.addInstances({
        project,
        zone,
        instanceGroup: 'ig',
        instanceGroupsAddInstancesRequestResource: {
          instances: [
            { instance: `zones/${zone}/instances/node-1` },
            { instance: `zones/${zone}/instances/node-2` },
          ],
        },
      }),
    );
    assert.equal(
      (await control(endpoint, 'DELETE', `projects/${project}/zones/${zone}/instances/node-2`)).status,
      200,
    );
    const state = (await control(endpoint, 'GET', `state?project=${project}`)).body as {
      projects: Record<string, { instanceGroupMembers: Record<string, string[]>; created: string[] }>;
    };
    const members = Object.values(state.projects[project]?.instanceGroupMembers ?? {});
    assert.deepEqual(members, [
      [`https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/instances/node-1`],
    ]);
    assert.deepEqual(state.projects[project]?.created, [
      `projects/${project}/zones/${zone}/instanceGroups/ig`,
    ]);

    const faults = await control(endpoint, 'PUT', 'faults', {
      rateLimit: { nextN: 1, status: 429, methods: ['instanceGroups.get'] },
    });
    assert.equal(faults.status, 200);
    assert.equal(
      (await rejection(compute.instanceGroups.get({ project, zone, instanceGroup: 'ig' }))).status,
      429,
    );
    const [group] = await compute.instanceGroups.get({ project, zone, instanceGroup: 'ig' });
    assert.equal(group.size, 1);
    const counters = (await control(endpoint, 'GET', 'counters')).body as {
      counters: Record<string, number>;
    };
    assert.equal(counters.counters['instanceGroups.get'], 2);

    assert.equal((await control(endpoint, 'POST', 'operations/hold')).status, 200);
    const [held] = await compute.instanceGroups.delete({ project, zone, instanceGroup: 'ig' });
    assert.ok(held);
    assert.equal((await compute.instanceGroups.get({ project, zone, instanceGroup: 'ig' }))[0].name, 'ig');
    assert.equal((await control(endpoint, 'POST', 'operations/release')).status, 200);
    assert.equal(
      (await rejection(compute.instanceGroups.get({ project, zone, instanceGroup: 'ig' }))).status,
      404,
    );

    assert.equal((await control(endpoint, 'POST', 'reset')).status, 200);
    assert.deepEqual(
      ((await control(endpoint, 'GET', 'counters')).body as { counters: object }).counters,
      {},
    );
  });

  it('honours its flags: regions and quotas', async () => {
    const unknown = await rejection(compute.forwardingRules.list({ project, region: 'us-central1' }));
    assert.equal(unknown.status, 400);
    const quotas = (await control(endpoint, 'GET', 'quotas')).body as { limits: Record<string, number> };
    assert.deepEqual(quotas.limits, { FORWARDING_RULES: 1 });
  });

  it('answers bad control input with 400 and the reason', async () => {
    const badFaults = await control(endpoint, 'PUT', 'faults', { rateLimit: { nextN: -1 } });
    assert.equal(badFaults.status, 400);
    assert.match(JSON.stringify(badFaults.body), /nextN must be a whole number/);
    const badSeed = await control(endpoint, 'POST', `projects/${project}/instances`, {
      zone: 'nowhere-1-a',
      name: 'x',
    });
    assert.equal(badSeed.status, 400);
    assert.match(JSON.stringify(badSeed.body), /zone 'nowhere-1-a' is not served/);
    const unknownPath = await control(endpoint, 'GET', 'nothing-here');
    assert.equal(unknownPath.status, 404);
  });

  it('stops on SIGTERM', async () => {
    const { child: other } = await startProcess(['--port', '0']);
    other.kill('SIGTERM');
    const [code] = (await once(other, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  it('refuses bad flags with a message and exit code 2', async () => {
    const bad = spawn(process.execPath, [MAIN, '--quota', 'NOPE=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    bad.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(bad, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(stderr, /NOPE is not a quota/);
  });
});
