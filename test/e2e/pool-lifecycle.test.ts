// The bare-metal lifecycle scenarios, with Sluice running on an admin kubeconfig.
import { testCluster } from '../harness/test-cluster.ts';
import { lifecycleScenarios } from './lifecycle-scenarios.ts';
import { SluiceProcess } from './support.ts';

const CLASS = 'sluice.dev/e2e-lifecycle';

lifecycleScenarios({
  name: 'e2e-lifecycle',
  loadBalancerClass: CLASS,
  startSluice: () =>
    new SluiceProcess(testCluster().kubeconfigPath, [
      `--load-balancer-class=${CLASS}`,
      '--leader-elect=false',
      '--backoff-base=0.2',
      '--backoff-max=2',
    ]),
});
