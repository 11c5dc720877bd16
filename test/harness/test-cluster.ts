// What a test file needs to reach the control plane that global-setup.ts started. Throws, so a test fails
// rather than skips, when the suite was run without the global setup or the cluster is gone.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type TestCluster = {
  kubeconfigPath: string;
  binDir: string;
  /** Environment for child processes: KUBECONFIG, and PATH with binDir first. */
  env: Record<string, string>;
};

export function testCluster(): TestCluster {
  const kubeconfigPath = process.env.SLUICE_TEST_KUBECONFIG;
  const binDir = process.env.SLUICE_TEST_BIN_DIR;
  if (!kubeconfigPath || !binDir) {
    throw new Error(
      'no test cluster: SLUICE_TEST_KUBECONFIG / SLUICE_TEST_BIN_DIR are unset. Run the tests with ' +
        '--test-global-setup=test/harness/global-setup.ts.',
    );
  }
  if (!existsSync(kubeconfigPath)) throw new Error(`test cluster kubeconfig ${kubeconfigPath} is missing`);
  if (!existsSync(join(binDir, 'kubectl'))) throw new Error(`no kubectl in test cluster bin dir ${binDir}`);
  return {
    kubeconfigPath,
    binDir,
    env: { KUBECONFIG: kubeconfigPath, PATH: [binDir, process.env.PATH ?? ''].join(delimiter) },
  };
}
