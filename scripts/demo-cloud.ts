// For `npm run demo -- <cloud>`: starts the simulated cloud on loopback, seeds it with what a
// cluster's account has before Sluice runs (network, subnets, node instances), writes what the demo
// needs to know (Nodes to create, Sluice's flags and environment) as JSON to the given file, and
// runs until SIGTERM. Usage: node scripts/demo-cloud.ts aws OUT.json
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsTestEnv, seedAccount } from '../test/harness/aws-seed.ts';
import { startMoto } from '../test/harness/moto.ts';
import { demoSeed } from '../test/sim/azure/seed.ts';
import { startAzureSimulator } from '../test/sim/azure/simulator.ts';
import { startGcpSimulator } from '../test/sim/gcp/server.ts';

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

/**
 * The ARM simulator (HTTPS with its own CA) and its Entra ID stand-in: Sluice authenticates as a pod with
 * Azure Workload Identity does (DefaultAzureCredential with a projected token file and three variables).
 */
async function azure(): Promise<DemoCloud> {
  const sim = await startAzureSimulator({
    seed: demoSeed('eastus'),
    settings: { provisioningDelayMs: 1000 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-azure-'));
  writeFileSync(join(dir, 'ca.pem'), sim.caCertificate);
  // A service-account token's shape; the stand-in accepts any federated assertion.
  writeFileSync(
    join(dir, 'token'),
    'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVtbzpzbHVpY2UifQ.',
  );
  return {
    // Node addresses in the node subnet: the backend pool addresses nodes by IP.
    nodes: NODES.map((name, i) => ({
      name,
      providerID: `azure:///subscriptions/${sim.subscriptionId}/resourceGroups/sluice/providers/Microsoft.Compute/virtualMachines/${name}`,
      internalIP: `10.224.0.${4 + i}`,
    })),
    flags: [
      '--provider=azure',
      `--azure-endpoint=${sim.endpoint}`,
      `--azure-ca-file=${join(dir, 'ca.pem')}`,
      `--azure-subscription-id=${sim.subscriptionId}`,
      '--azure-resource-group=sluice',
      '--azure-location=eastus',
      '--azure-vnet=sluice-vnet',
      '--azure-subnet=nodes',
      `--cluster-name=${CLUSTER}`,
    ],
    env: {
      AZURE_AUTHORITY_HOST: sim.endpoint,
      AZURE_TENANT_ID: 'demo-tenant',
      AZURE_CLIENT_ID: 'demo-client',
      AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'),
    },
    notes: [],
    stop: () => sim.stop(),
  };
}

/** The Compute Engine simulator (plain HTTP on loopback: Sluice sends no credentials to an http:// endpoint). */
async function gcp(): Promise<DemoCloud> {
  const project = 'sluice-demo';
  // Operations take a second, as small ones do in Compute Engine.
  const sim = await startGcpSimulator({ operations: { pendingMs: 300, runningMs: 700 } });
  const zones = ['us-central1-a', 'us-central1-b'];
  const instances = sim.seed.instances(
    project,
    NODES.map((name, i) => ({ zone: zones[i % zones.length]!, name, tags: ['demo-node'] })),
  );
  return {
    nodes: NODES.map((name, i) => ({
      name,
      providerID: `gce://${project}/${zones[i % zones.length]}/${name}`,
      internalIP: (instances[i] as unknown as { networkInterfaces: Array<{ networkIP: string }> })
        .networkInterfaces[0]?.networkIP,
    })),
    flags: [
      '--provider=gcp',
      `--gcp-endpoint=${sim.url}`,
      `--gcp-project=${project}`,
      '--gcp-region=us-central1',
      '--gcp-subnetwork=default',
      '--gcp-node-tags=demo-node',
      `--cluster-name=${CLUSTER}`,
    ],
    env: {},
    notes: [],
    stop: () => sim.stop(),
  };
}

const [cloud, out] = process.argv.slice(2);
const starters: Record<string, () => Promise<DemoCloud>> = { aws, gcp, azure };
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
