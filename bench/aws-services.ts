// Benchmark: N LoadBalancer Services on AWS (moto), end to end through Sluice.
// Prints figures; asserts nothing. Usage: node bench/aws-services.ts [--services 100 --nodes 3 --workers 4]
//
// Measures: time until every Service has its NLB hostname (and percentiles per Service), the AWS
// calls that took (all, writes, per Service), the writes of a full resync at steady state (should
// be none), a node joining (time until every target group has it, and the calls), and deleting
// every Service (time until moto holds nothing Sluice made).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { clients, kubectl, SluiceProcess } from '../test/e2e/support.ts';
import { awsSnapshot } from '../test/harness/aws-inspect.ts';
import { addInstance, awsTestEnv, seedAccount } from '../test/harness/aws-seed.ts';
import { findBinDir, startControlPlane } from '../test/harness/control-plane.ts';
import { startFaultProxy } from '../test/harness/fault-proxy.ts';
import { startMoto } from '../test/harness/moto.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '100' },
    nodes: { type: 'string', default: '3' },
    workers: { type: 'string', default: '4' },
  },
});
const N = Number(values.services);
const NODES = Number(values.nodes);
const CLASS = 'sluice.dev/lb';
const CLUSTER = 'bench';
const NS = 'bench';

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-aws-'));
const binDir = await findBinDir();
const cp = await startControlPlane({ binDir, dir });
const cluster = { kubeconfigPath: cp.kubeconfigPath, binDir };
const api = clients(cp.kubeconfigPath);
const moto = await startMoto();
const proxy = await startFaultProxy({ target: moto.endpoint });
let sluice: SluiceProcess | undefined;

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function counts(): { calls: number; writes: number } {
  return { calls: proxy.counters.forwarded, writes: proxy.counters.mutating };
}

try {
  const account = await seedAccount({
    endpoint: moto.endpoint,
    cluster: CLUSTER,
    nodeNames: Array.from({ length: NODES }, (_, i) => `node-${i}`),
    certificates: 1,
  });
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const i of account.instances) {
    await apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: i.nodeName },
      spec: { providerID: i.providerID },
    });
  }
  Object.assign(process.env, awsTestEnv());
  sluice = new SluiceProcess(cp.kubeconfigPath, [
    '--provider=aws',
    `--aws-endpoint=${proxy.url}`,
    `--cluster-name=${CLUSTER}`,
    `--load-balancer-class=${CLASS}`,
    `--workers=${values.workers}`,
    '--leader-elect=false',
    '--resync-period=10',
  ]);
  await sluice.healthPort();
  proxy.resetCounters();

  // Create every Service at once; record when each gets its hostname.
  const started = Date.now();
  const readyAt = new Map<string, number>();
  const manifests = Array.from({ length: N }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: `svc-${i}`,
      namespace: NS,
      annotations: {
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
        'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': account.certificates[0],
        'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': '443',
      },
    },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      ports: [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'https', port: 443, targetPort: 8443 },
      ],
    },
  }));
  await kubectl(cluster, ['apply', '-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n'));
  await until(
    async () => {
      const list = await api.core.listNamespacedService({ namespace: NS });
      for (const s of list.items as V1Service[]) {
        if (s.status?.loadBalancer?.ingress?.[0]?.hostname && !readyAt.has(s.metadata!.name!)) {
          readyAt.set(s.metadata!.name!, Date.now() - started);
        }
      }
      return readyAt.size === N;
    },
    30 * 60_000,
    'every Service has a hostname',
  );
  const toReady = Date.now() - started;
  const created = counts();
  const latencies = [...readyAt.values()].sort((a, b) => a - b);

  // Steady state: a full resync (every 10 s here) must write nothing.
  proxy.resetCounters();
  await new Promise((r) => setTimeout(r, 12_000));
  const resync = counts();

  // A node joins: every target group registers it.
  proxy.resetCounters();
  const joinStarted = Date.now();
  const added = await addInstance(moto.endpoint, account, 'node-new');
  await apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: added.nodeName },
    spec: { providerID: added.providerID },
  });
  await until(
    async () => {
      const s = await awsSnapshot(moto.endpoint);
      return (
        s.targetGroups.length === 2 * N &&
        s.targetGroups.every((tg) => tg.targets.some((t) => t.startsWith(`${added.instanceId}:`)))
      );
    },
    30 * 60_000,
    'the new node in every target group',
  );
  const join = { ms: Date.now() - joinStarted, ...counts() };

  // Delete everything.
  proxy.resetCounters();
  const deleteStarted = Date.now();
  await kubectl(cluster, ['delete', 'services', '--all', '-n', NS, '--wait=false']);
  await until(
    async () => {
      const s = await awsSnapshot(moto.endpoint);
      return s.loadBalancers.length === 0 && s.targetGroups.length === 0;
    },
    30 * 60_000,
    'nothing left in moto',
  );
  const removal = { ms: Date.now() - deleteStarted, ...counts() };

  const lines = [
    `AWS (moto ${'5.2.5'}), ${N} Services × 2 ports (one TLS), ${NODES} nodes, ${values.workers} workers`,
    `all hostnames:           ${seconds(toReady)}  (p50 ${seconds(percentile(latencies, 50))}, p90 ${seconds(percentile(latencies, 90))}, p99 ${seconds(percentile(latencies, 99))})`,
    `AWS calls to ready:      ${created.calls} (${(created.calls / N).toFixed(1)} per Service), writes ${created.writes} (${(created.writes / N).toFixed(1)} per Service)`,
    `resync at steady state:  ${resync.calls} calls, ${resync.writes} writes`,
    `node joins:              ${seconds(join.ms)} until in all ${2 * N} target groups; ${join.calls} calls, ${join.writes} writes`,
    `delete all:              ${seconds(removal.ms)}; ${removal.calls} calls, ${removal.writes} writes`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  sluice?.child.kill('SIGTERM');
  await sluice?.exited;
  await proxy.stop();
  await moto.stop();
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
}
