// For `node --test --test-global-setup=test/harness/global-setup.ts`: one real control plane for the whole run.
// globalSetup runs in the test runner's own process before it spawns a child process per test file, and those
// children inherit its environment, so the variables set here reach every test (verified on Node 24).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlPlane, findBinDir, startControlPlane } from './control-plane.ts';

let controlPlane: ControlPlane | undefined;

const log = (line: string): void => {
  process.stderr.write(`# test cluster: ${line}\n`);
};

export async function globalSetup(): Promise<void> {
  const binDir = await findBinDir({ log });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-test-'));
  controlPlane = await startControlPlane({ binDir, dir, log });
  process.env.SLUICE_TEST_KUBECONFIG = controlPlane.kubeconfigPath;
  process.env.SLUICE_TEST_BIN_DIR = binDir;
}

export async function globalTeardown(): Promise<void> {
  if (!controlPlane) return;
  const { dir } = controlPlane;
  await controlPlane.stop();
  controlPlane = undefined;
  if (process.env.SLUICE_TEST_KEEP_DIR) log(`kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
