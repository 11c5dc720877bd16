// The ARM simulator as its own process (`node test/sim/azure/main.ts`), as the demo runs it: it prints its
// endpoint as JSON, the real SDK talks to it with the printed token and CA, and the /_sim/ controls seed,
// inspect, fault and reset it over HTTPS.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { simulatorNetworkClient } from '../sim/azure/client.ts';
import { simulatorCredential } from '../sim/azure/credential.ts';
import { armRequest, errorCode, FAST, publicIp, restError } from '../sim/azure/testing.ts';

const MAIN = new URL('../sim/azure/main.ts', import.meta.url).pathname;

interface Printed {
  endpoint: string;
  subscriptionId: string;
  caFile: string | null;
  caCertificate: string;
  accessToken: string;
  controlUrl: string;
}

async function startProcess(
  args: string[],
): Promise<{ child: ChildProcess; printed: Printed; stderr: () => string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    once(child, 'exit').then(([code]) => {
      throw new Error(`simulator exited with ${code}: ${stderr}`);
    }),
  ]);
  return { child, printed: JSON.parse(first) as Printed, stderr: () => stderr };
}

describe('the simulator as a process', () => {
  let dir: string;
  let proc: Awaited<ReturnType<typeof startProcess>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-arm-sim-test-'));
    proc = await startProcess([
      '--port',
      '0',
      '--ca-file',
      join(dir, 'ca.pem'),
      '--provisioning-delay-ms',
      '20',
    ]);
  });
  after(async () => {
    if (proc.child.exitCode === null) {
      proc.child.kill('SIGTERM');
      await once(proc.child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its endpoint, subscription, token and CA (also written to --ca-file)', async () => {
    const { printed } = proc;
    assert.match(printed.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(printed.controlUrl, `${printed.endpoint}/_sim`);
    assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), printed.caCertificate);
    assert.match(printed.caCertificate, /BEGIN CERTIFICATE/);
  });

  it('serves the real SDK and the /_sim/ controls', async () => {
    const { printed } = proc;
    const sim = { ...printed, credential: simulatorCredential(printed.accessToken) };
    const client = simulatorNetworkClient(sim);
    const pip = await client.publicIPAddresses.beginCreateOrUpdateAndWait('sluice', 'demo', publicIp(), FAST);
    assert.equal(pip.provisioningState, 'Succeeded');
    const subnet = await client.subnets.get('sluice', 'sluice-vnet', 'nodes');
    assert.equal(subnet.addressPrefix, '10.224.0.0/16', 'the demo seed');

    const control = (method: string, path: string, body?: unknown) =>
      armRequest(
        printed,
        method,
        `/_sim${path}`,
        body === undefined ? { token: null } : { body, token: null },
      );
    assert.deepEqual((await control('GET', '/health')).body, { ok: true });
    const state = (await control('GET', '/state')).body as {
      subscriptions: Array<{
        resourceGroups: Array<{ name: string; publicIPAddresses: Array<{ name: string }> }>;
      }>;
    };
    assert.deepEqual(
      state.subscriptions[0]?.resourceGroups[0]?.publicIPAddresses.map((p) => p.name),
      ['demo'],
    );
    const counters = (await control('GET', '/counters')).body as { byCall: Record<string, number> };
    assert.equal(counters.byCall['PUT publicIPAddresses'], 1);

    assert.equal(
      (await control('POST', '/seed', { resourceGroups: [{ name: 'extra', location: 'westeurope' }] }))
        .status,
      200,
    );
    await client.networkSecurityGroups.beginCreateOrUpdateAndWait(
      'extra',
      'nsg',
      { location: 'westeurope' },
      FAST,
    );

    assert.equal(
      (
        await control('POST', '/faults', {
          status: 429,
          retryAfterSeconds: 1,
          nextCalls: 1,
          methods: ['GET'],
        })
      ).status,
      201,
    );
    assert.equal(
      (await client.publicIPAddresses.get('sluice', 'demo')).name,
      'demo',
      'the SDK rode out the 429',
    );
    assert.equal(((await control('GET', '/counters')).body as { throttled: number }).throttled, 1);

    assert.equal(
      (await control('POST', '/operation-failures', { count: 1, resourceTypes: ['publicIPAddresses'] }))
        .status,
      201,
    );
    await assert.rejects(
      client.publicIPAddresses.beginCreateOrUpdateAndWait('sluice', 'doomed', publicIp(), FAST),
    );

    const badSettings = await control('PATCH', '/settings', { provisioningDelayMs: -1 });
    assert.equal(badSettings.status, 400);
    assert.match(JSON.stringify(badSettings.body), /provisioningDelayMs must be a number >= 0/);
    const badSeed = await control('POST', '/seed', {
      virtualNetworks: [{ resourceGroup: 'sluice', name: 'v' }],
    });
    assert.deepEqual([badSeed.status, errorCode(badSeed.body)], [400, 'InvalidSimulatorRequest']);
    assert.equal((await control('PATCH', '/settings', { holdOperations: true })).status, 200);
    const held = await client.publicIPAddresses.beginCreateOrUpdate('sluice', 'held', publicIp(), FAST);
    const ops = (await control('GET', '/operations')).body as Array<{ status: string }>;
    assert.equal(ops.at(-1)?.status, 'InProgress');
    await control('POST', '/operations/complete');
    assert.equal((await held.pollUntilDone()).provisioningState, 'Succeeded');

    assert.equal((await control('POST', '/reset')).status, 200);
    await assert.rejects(
      client.publicIPAddresses.get('sluice', 'demo'),
      (e) => restError(e).statusCode === 404,
    );
    await assert.rejects(
      client.networkSecurityGroups.get('extra', 'nsg'),
      (e) => restError(e).code === 'ResourceGroupNotFound',
    );
  });

  it('stops on SIGTERM with exit code 0', async () => {
    proc.child.kill('SIGTERM');
    const [code] = await once(proc.child, 'exit');
    assert.equal(code, 0);
  });

  it('refuses a bad seed file with a message and exit code 2', async () => {
    const seedFile = join(dir, 'seed.json');
    await writeFile(seedFile, JSON.stringify({ resourceGroups: [{ name: 'rg' }] }));
    const child = spawn(process.execPath, [MAIN, '--port', '0', '--seed', seedFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /seed\.resourceGroups\[0\]\.location is required/);
  });
});
