// The container image, checked without a container engine (none runs on our machines): the
// Dockerfile lints clean, its own steps are carried out in scratch directories, and the
// resulting tree starts as the image would: as user 65532, on a read-only root filesystem,
// through its ENTRYPOINT, against the real test cluster.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { testCluster } from '../harness/test-cluster.ts';
import { type Rehearsal, rehearse } from './dockerfile-rehearsal.ts';
import { installCrds, waitFor } from './support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_BIN = dirname(fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url)));
const UID = 65532;
let scratch = '';
let image: Rehearsal;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sluice-image-'));
  chmodSync(scratch, 0o755);
  image = rehearse(ROOT, scratch, NODE_BIN);
});

after(async () => {
  // Whatever a failed test left running from the rebuilt tree.
  try {
    execFileSync('pkill', ['-KILL', '-f', `${scratch}/`]);
  } catch {
    // nothing was running
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs the image's ENTRYPOINT (its paths mapped onto the rebuilt tree) as the image's user on a read-only root. */
function entrypoint(args: string[]): ReturnType<typeof spawn> {
  const [program, ...rest] = image.entrypoint;
  assert.equal(program, 'node', 'the entrypoint runs node from the base image');
  const mapped = rest.map((a) =>
    a.startsWith(`${image.workdir}/`) ? join(image.root, a.slice(image.workdir.length + 1)) : a,
  );
  return asImageUser([...mapped, ...args]);
}

/** Runs node with `args` as the image's user, with its ENV, on a read-only root filesystem. */
function asImageUser(args: string[]): ReturnType<typeof spawn> {
  const env = Object.entries(image.env).map(([k, v]) => `${k}=${v}`);
  const [uid, gid] = image.user.split(':');
  // A private mount namespace whose root is remounted read-only, as readOnlyRootFilesystem does.
  const script = 'mount --bind / / && mount -o remount,ro,bind / && exec "$@"';
  return spawn(
    'unshare',
    [
      '--mount',
      '--fork',
      'sh',
      '-c',
      script,
      'sh',
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${gid ?? uid}`,
      '--clear-groups',
      '--inh-caps=-all',
      'env',
      '-i',
      `PATH=${NODE_BIN}:/usr/bin:/bin`,
      ...env,
      'node',
      ...args,
    ],
    { cwd: image.root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe('container image', () => {
  test('the Dockerfile lints clean', () => {
    const diagnostics = validate(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    assert.deepEqual(diagnostics, []);
  });

  test('it builds on a Node 24 base, runs as a non-root user, with OCI labels and an exec-form entrypoint', () => {
    for (const base of image.baseImages) assert.match(base, /^node:24[-.]/);
    assert.equal(image.user, `${UID}:${UID}`);
    assert.deepEqual(image.entrypoint, ['node', '/app/dist/main.js']);
    assert.deepEqual(image.cmd, ['controller']);
    for (const label of ['title', 'description', 'version', 'licenses', 'source']) {
      assert.ok(image.labels[`org.opencontainers.image.${label}`], `label org.opencontainers.image.${label}`);
    }
  });

  test('the final tree holds the compiled controller and production dependencies only', () => {
    assert.ok(existsSync(join(image.root, 'dist/main.js')));
    assert.ok(existsSync(join(image.root, 'node_modules/@kubernetes/client-node')));
    for (const dev of ['typescript', '@biomejs/biome', 'node', 'dockerfile-ast', 'dockerfile-utils']) {
      assert.ok(
        !existsSync(join(image.root, 'node_modules', dev)),
        `${dev} is a devDependency and must not ship`,
      );
    }
    assert.ok(!existsSync(join(image.root, 'src')), 'sources do not ship');
  });

  test('the stand-in for readOnlyRootFilesystem really is read-only', async () => {
    const probe = join(image.root, 'probe');
    const child = asImageUser(['-e', `require('fs').writeFileSync(${JSON.stringify(probe)}, 'x')`]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(err, /EROFS|read-only file system/i);
  });

  test('the entrypoint prints the version as user 65532 on a read-only root filesystem', async () => {
    const child = entrypoint(['version']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    assert.equal(out.trim(), version);
  });

  test('the default command runs the controller: it syncs its caches and stops cleanly on SIGTERM', async () => {
    const cluster = testCluster();
    await installCrds(cluster);
    // The image's user must be able to read its kubeconfig, as a mounted token would be.
    const kubeconfig = join(scratch, 'kubeconfig');
    copyFileSync(cluster.kubeconfigPath, kubeconfig);
    chownSync(kubeconfig, UID, UID);
    const child = entrypoint([
      ...image.cmd,
      `--kubeconfig=${kubeconfig}`,
      '--health-address=127.0.0.1:0',
      '--leader-elect=false',
      '--load-balancer-class=sluice.dev/e2e-image',
    ]);
    const lines: string[] = [];
    child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n')));
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(
      () => lines.some((l) => l.includes('"msg":"reconciling"')),
      20_000,
      () => `${lines.join('\n')}\n${err}`,
    );
    // It really runs as 65532: unshare forks, so the controller is a grandchild; find it by its parent chain.
    const pids = execFileSync('pgrep', ['-f', `${image.root}/dist/main.js`])
      .toString()
      .trim()
      .split('\n');
    const uids = pids.map((pid) => /Uid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    assert.ok(uids.includes(String(UID)), `uids ${uids}`);
    execFileSync('pkill', ['-TERM', '-f', `${image.root}/dist/main.js`]);
    assert.equal(await exited, 0, err);
    assert.ok(lines.some((l) => l.includes('"msg":"shutting down"')));
  });
});
