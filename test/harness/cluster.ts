// A throwaway control plane that outlives this command, for people and for the demo script.
//
//   node test/harness/cluster.ts up   [--dir D]   start etcd + kube-apiserver in the background
//   node test/harness/cluster.ts env  [--dir D]   print the export lines for kubectl
//   node test/harness/cluster.ts down [--dir D]   stop them
//
// D defaults to .sluice/cluster under the repository root.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findBinDir, processRuns, startControlPlane, stopComponents } from './control-plane.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

type PidsFile = { etcd: number; apiserver: number; binDir: string; kubeconfigPath: string; server: string };

function usage(): never {
  process.stderr.write('usage: node test/harness/cluster.ts up|down|env [--dir DIR]\n');
  process.exit(2);
}

async function readPids(dir: string): Promise<PidsFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'pids.json'), 'utf8')) as PidsFile;
  } catch {
    return undefined;
  }
}

/** The processes from pids.json that are still alive and still ours (not a recycled pid). */
function live(pids: PidsFile): { apiserver?: number; etcd?: number; count: number } {
  const apiserver = processRuns(pids.apiserver, 'kube-apiserver') ? pids.apiserver : undefined;
  const etcd = processRuns(pids.etcd, 'etcd') ? pids.etcd : undefined;
  return { apiserver, etcd, count: (apiserver ? 1 : 0) + (etcd ? 1 : 0) };
}

function exportLines(kubeconfigPath: string, binDir: string): string {
  return `export KUBECONFIG=${kubeconfigPath}\nexport PATH=${binDir}:$PATH\n`;
}

async function up(dir: string): Promise<void> {
  const existing = await readPids(dir);
  if (existing && live(existing).count === 2) {
    process.stderr.write(`cluster already running in ${dir} (${existing.server})\n`);
    process.stdout.write(exportLines(existing.kubeconfigPath, existing.binDir));
    return;
  }
  if (existing) await stopComponents(live(existing));
  await rm(join(dir, 'pids.json'), { force: true });

  const log = (line: string) => process.stderr.write(`cluster: ${line}\n`);
  const binDir = await findBinDir({ log });
  const cp = await startControlPlane({ binDir, dir, log, detach: true });
  const pids: PidsFile = { ...cp.pids, binDir, kubeconfigPath: cp.kubeconfigPath, server: cp.server };
  await writeFile(join(dir, 'pids.json'), `${JSON.stringify(pids, null, 2)}\n`);
  process.stderr.write(
    `cluster: running in the background (etcd pid ${cp.pids.etcd}, kube-apiserver pid ${cp.pids.apiserver}); ` +
      `stop it with: node test/harness/cluster.ts down${dir === defaultDir() ? '' : ` --dir ${dir}`}\n` +
      'cluster: point kubectl at it with:\n',
  );
  process.stdout.write(exportLines(cp.kubeconfigPath, binDir));
}

async function down(dir: string): Promise<void> {
  const pids = await readPids(dir);
  if (!pids) {
    process.stderr.write(`cluster: nothing to stop (no ${join(dir, 'pids.json')})\n`);
    return;
  }
  const running = live(pids);
  await stopComponents(running);
  await rm(join(dir, 'pids.json'), { force: true });
  process.stderr.write(running.count > 0 ? 'cluster: stopped\n' : 'cluster: was not running\n');
}

async function env(dir: string): Promise<void> {
  const pids = await readPids(dir);
  if (!pids || !existsSync(pids.kubeconfigPath)) {
    process.stderr.write(`cluster: no cluster in ${dir}; start one with: node test/harness/cluster.ts up\n`);
    process.exit(1);
  }
  if (live(pids).count < 2) process.stderr.write(`cluster: warning: the cluster in ${dir} is not running\n`);
  process.stdout.write(exportLines(pids.kubeconfigPath, pids.binDir));
}

function defaultDir(): string {
  return join(REPO_ROOT, '.sluice', 'cluster');
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: 'string' } },
  });
  const dir = values.dir === undefined ? defaultDir() : resolve(values.dir);
  switch (positionals[0]) {
    case 'up':
      return up(dir);
    case 'down':
      return down(dir);
    case 'env':
      return env(dir);
    default:
      usage();
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
