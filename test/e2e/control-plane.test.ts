import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { testCluster } from '../harness/test-cluster.ts';

const execFileAsync = promisify(execFile);

async function kubectl(...args: string[]): Promise<string> {
  const cluster = testCluster();
  const { stdout } = await execFileAsync(join(cluster.binDir, 'kubectl'), args, {
    env: { ...process.env, ...cluster.env },
  });
  return stdout;
}

test('kubectl reaches a v1.36 apiserver', async () => {
  const version = JSON.parse(await kubectl('version', '-o', 'json')) as {
    serverVersion?: { gitVersion?: string };
  };
  assert.match(version.serverVersion?.gitVersion ?? '', /^v1\.36(\.|$)/);
});

test('the admin user may do anything', async () => {
  assert.equal((await kubectl('auth', 'can-i', '*', '*')).trim(), 'yes');
});

test('client-node can create and delete a namespace', async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(testCluster().kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const name = `smoke-${randomBytes(4).toString('hex')}`;

  const created = await core.createNamespace({ body: { metadata: { name } } });
  assert.equal(created.metadata?.name, name);
  assert.equal((await core.readNamespace({ name })).metadata?.uid, created.metadata?.uid);

  await core.deleteNamespace({ name });
  // No controller-manager runs, so nothing finalizes the namespace: it stays Terminating.
  const deleted = await core.readNamespace({ name });
  assert.ok(deleted.metadata?.deletionTimestamp, 'namespace has a deletionTimestamp after delete');
});
