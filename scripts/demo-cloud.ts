// For `npm run demo -- <cloud>`: starts the simulated cloud on loopback, seeds it with what a
// cluster's account has before Sluice runs (network, subnets, node instances), writes what the demo
// needs to know (Nodes to create, Sluice's flags and environment) as JSON to the given file, and
// runs until SIGTERM. Usage: node scripts/demo-cloud.ts aws OUT.json
import { writeFileSync } from 'node:fs';
import { awsTestEnv, seedAccount } from '../test/harness/aws-seed.ts';
import { startMoto } from '../test/harness/moto.ts';

interface DemoCloud {
  /** Node objects to create: name and providerID (and InternalIP where the cloud targets addresses). */
  nodes: Array<{ name: string; providerID: string; internalIP?: string }>;
  flags: string[];
  env: Record<string, string>;
  /** Annotations of the sample Services on this cloud. */
  notes: string[];
  stop: () => Promise<void>;
}

const NODES = ['demo-node-a', 'demo-node-b'];
const CLUSTER = 'demo';

async function aws(): Promise<DemoCloud> {
  const moto = await startMoto();
  const account = await seedAccount({
    endpoint: moto.endpoint,
    cluster: CLUSTER,
    nodeNames: NODES,
    certificates: 1,
  });
  return {
    nodes: account.instances.map((i) => ({
      name: i.nodeName,
      providerID: i.providerID,
      internalIP: i.privateIp,
    })),
    flags: ['--provider=aws', `--aws-endpoint=${moto.endpoint}`, `--cluster-name=${CLUSTER}`],
    env: awsTestEnv(),
    notes: [`certificate=${account.certificates[0]}`],
    stop: () => moto.stop(),
  };
}

const [cloud, out] = process.argv.slice(2);
const starters: Record<string, () => Promise<DemoCloud>> = { aws };
const start = cloud ? starters[cloud] : undefined;
if (!start || !out) {
  process.stderr.write(`usage: node scripts/demo-cloud.ts <${Object.keys(starters).join('|')}> OUT.json\n`);
  process.exitCode = 2;
} else {
  const running = await start();
  writeFileSync(
    out,
    JSON.stringify({ nodes: running.nodes, flags: running.flags, env: running.env, notes: running.notes }),
  );
  // The simulator's server (or child process) keeps this process alive until a signal stops it.
  const stop = (): void => void running.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
