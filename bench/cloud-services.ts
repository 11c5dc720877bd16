// Benchmark: N LoadBalancer Services on GCP or Azure (Sluice's Compute and ARM simulators), end to
// end through Sluice. Prints figures; asserts nothing.
// Usage: node bench/cloud-services.ts --cloud gcp|azure [--services 50 --workers 4 --operation-ms 200 --log FILE]
//
// Measures: time until every Service has its IP (and percentiles), the API calls and writes that
// took, the writes of a full resync at steady state (should be none), a node joining (time until the
// instance groups / backend pool hold it), and deleting every Service (time until nothing Sluice made
// is left). Operations take --operation-ms in the simulators (real clouds take seconds).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { clients, kubectl, SluiceProcess } from '../test/e2e/support.ts';
import { findBinDir, startControlPlane } from '../test/harness/control-plane.ts';
import type { JsonObject } from '../test/sim/azure/json.ts';
import { startTestSimulator } from '../test/sim/azure/testing.ts';
import { startGcpSimulator } from '../test/sim/gcp/server.ts';

const { values } = parseArgs({
  options: {
    cloud: { type: 'string', default: 'gcp' },
    services: { type: 'string', default: '50' },
    workers: { type: 'string', default: '4' },
    'operation-ms': { type: 'string', default: '200' },
    /** Where to write Sluice's log (JSON lines) when the run ends, to see why a phase was slow. */
    log: { type: 'string' },
  },
});
const N = Number(values.services);
const OPERATION_MS = Number(values['operation-ms']);
const CLASS = 'sluice.dev/lb';
const CLUSTER = 'bench';
const NS = 'bench';

interface Cloud {
  flags: string[];
  env: Record<string, string>;
  nodes: Array<{ name: string; providerID: string; ip: string }>;
  counts(): { calls: number; writes: number };
  /** Calls since the last reset, by API. */
  byCall(): Record<string, number>;
  reset(): void;
  /** Adds a node's machine; returns the Node to create. */
  addNode(): { name: string; providerID: string; ip: string };
  hasNode(name: string, ip: string): boolean;
  empty(): boolean;
  stop(): Promise<void>;
}

/** Counters now minus counters then, busiest first. */
function since(now: Record<string, number>, then: Record<string, number>): Record<string, number> {
  const entries = Object.entries(now).map(([k, n]) => [k, n - (then[k] ?? 0)] as const);
  return Object.fromEntries(entries.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]));
}

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-cloud-'));

async function gcp(): Promise<Cloud> {
  const project = 'bench-project';
  const sim = await startGcpSimulator({
    operations: { pendingMs: OPERATION_MS / 4, runningMs: (3 * OPERATION_MS) / 4 },
  });
  const zones = ['us-central1-a', 'us-central1-b', 'us-central1-c'];
  const node = (i: number) => ({ zone: zones[i % 3]!, name: `node-${i}` });
  sim.seed.instances(project, [0, 1, 2].map(node));
  // A project running N load balancers has raised its quotas (a new project's 21 static addresses
  // would stop the bench at 21 Services, correctly reported as QuotaExceeded).
  const room = Math.max(100, 4 * N);
  sim.quotas.set({
    limits: {
      FORWARDING_RULES: room,
      BACKEND_SERVICES: room,
      HEALTH_CHECKS: room,
      STATIC_ADDRESSES: room,
      FIREWALLS: room,
    },
  });
  let written = 0;
  const writes = () =>
    Object.entries(sim.counters())
      .filter(([m]) => /\.(insert|delete|patch|update|addInstances|removeInstances)$/.test(m))
      .reduce((s, [, n]) => s + n, 0);
  const calls = () => Object.values(sim.counters()).reduce((s, n) => s + n, 0);
  let base = { calls: 0, writes: 0 };
  let baseByCall: Record<string, number> = {};
  const view = (i: number) => ({
    name: `node-${i}`,
    providerID: `gce://${project}/${node(i).zone}/node-${i}`,
    ip: '',
  });
  return {
    flags: [
      '--provider=gcp',
      `--gcp-endpoint=${sim.url}`,
      `--gcp-project=${project}`,
      '--gcp-region=us-central1',
      '--gcp-subnetwork=default',
    ],
    env: {},
    nodes: [0, 1, 2].map(view),
    counts: () => ({ calls: calls() - base.calls, writes: writes() - base.writes }),
    byCall: () => since(sim.counters(), baseByCall),
    reset: () => {
      base = { calls: calls(), writes: writes() };
      baseByCall = { ...sim.counters() };
    },
    addNode: () => {
      written++;
      sim.seed.instances(project, [node(2 + written)]);
      return view(2 + written);
    },
    hasNode: (name) =>
      Object.values(sim.snapshot(project).projects[project]?.instanceGroupMembers ?? {})
        .flat()
        .some((m) => m.endsWith(`/${name}`)),
    empty: () => (sim.snapshot(project).projects[project]?.created ?? []).length === 0,
    stop: () => sim.stop(),
  };
}

async function azure(): Promise<Cloud> {
  const { sim } = await startTestSimulator({ settings: { provisioningDelayMs: OPERATION_MS } });
  await writeFile(join(dir, 'ca.pem'), sim.caCertificate);
  await writeFile(join(dir, 'token'), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaCJ9.');
  const byCall = () => sim.counters().byCall;
  const writes = () =>
    Object.entries(byCall())
      .filter(([c]) => /^(PUT|PATCH|DELETE) /.test(c))
      .reduce((s, [, n]) => s + n, 0);
  let base = { calls: 0, writes: 0 };
  let baseByCall: Record<string, number> = {};
  let added = 0;
  const group = () =>
    (sim.snapshot().subscriptions[0]?.resourceGroups.find((g) => g.name === 'sluice-rg') ??
      {}) as unknown as Record<string, JsonObject[]>;
  const view = (i: number) => ({
    name: `node-${i}`,
    providerID: `azure:///subscriptions/${sim.subscriptionId}/virtualMachines/node-${i}`,
    ip: `10.10.0.${10 + i}`,
  });
  return {
    flags: [
      '--provider=azure',
      `--azure-endpoint=${sim.endpoint}`,
      `--azure-ca-file=${join(dir, 'ca.pem')}`,
      `--azure-subscription-id=${sim.subscriptionId}`,
      '--azure-resource-group=sluice-rg',
      '--azure-location=eastus',
      '--azure-vnet=vnet',
      '--azure-subnet=nodes',
    ],
    env: {
      AZURE_AUTHORITY_HOST: sim.endpoint,
      AZURE_TENANT_ID: 'bench',
      AZURE_CLIENT_ID: 'bench',
      AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'),
    },
    nodes: [0, 1, 2].map(view),
    counts: () => ({ calls: sim.counters().total - base.calls, writes: writes() - base.writes }),
    byCall: () => since(byCall(), baseByCall),
    reset: () => {
      base = { calls: sim.counters().total, writes: writes() };
      baseByCall = { ...byCall() };
    },
    addNode: () => view(3 + added++),
    hasNode: (_name, ip) =>
      (group().loadBalancers ?? []).every((lb) =>
        JSON.stringify((lb.properties as JsonObject).backendAddressPools).includes(`"${ip}"`),
      ),
    empty: () => (group().loadBalancers ?? []).length === 0 && (group().publicIPAddresses ?? []).length === 0,
    stop: () => sim.stop(),
  };
}

const binDir = await findBinDir();
const cp = await startControlPlane({ binDir, dir });
const cluster = { kubeconfigPath: cp.kubeconfigPath, binDir };
const api = clients(cp.kubeconfigPath);
const cloud = values.cloud === 'azure' ? await azure() : await gcp();
let sluice: SluiceProcess | undefined;

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
/** Sluice's log so far, to --log (if given). */
async function saveLog(): Promise<void> {
  if (!values.log || !sluice) return;
  await writeFile(values.log, `${sluice.lines.map((l) => JSON.stringify(l)).join('\n')}\n${sluice.stderr}`);
}
async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  describe: string | (() => string),
): Promise<void> {
  const what = () => (typeof describe === 'string' ? describe : describe());
  const started = Date.now();
  let reported = started;
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out: ${what()}`);
    // A slow phase says where it is (on stderr: stdout holds only the figures).
    if (Date.now() - reported >= 30_000) {
      reported = Date.now();
      process.stderr.write(`still waiting after ${seconds(reported - started)}: ${what()}\n`);
      await saveLog();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
const nodeObject = (n: { name: string; providerID: string; ip: string }) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: n.name },
  spec: { providerID: n.providerID },
  ...(n.ip ? { status: { addresses: [{ type: 'InternalIP', address: n.ip }] } } : {}),
});

try {
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const n of cloud.nodes) await apply(nodeObject(n));
  Object.assign(process.env, cloud.env);
  sluice = new SluiceProcess(cp.kubeconfigPath, [
    ...cloud.flags,
    `--cluster-name=${CLUSTER}`,
    `--load-balancer-class=${CLASS}`,
    `--workers=${values.workers}`,
    '--leader-elect=false',
    '--resync-period=10',
  ]);
  await sluice.healthPort();
  cloud.reset();

  const started = Date.now();
  const readyAt = new Map<string, number>();
  const manifests = Array.from({ length: N }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: NS },
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
        if (s.status?.loadBalancer?.ingress?.[0]?.ip && !readyAt.has(s.metadata!.name!)) {
          readyAt.set(s.metadata!.name!, Date.now() - started);
        }
      }
      return readyAt.size === N;
    },
    30 * 60_000,
    () => `every Service has an IP (${readyAt.size}/${N} so far)`,
  );
  const toReady = Date.now() - started;
  const created = cloud.counts();
  const createdByCall = cloud.byCall();
  const latencies = [...readyAt.values()].sort((a, b) => a - b);

  cloud.reset();
  await new Promise((r) => setTimeout(r, 12_000));
  const resync = cloud.counts();

  cloud.reset();
  const joinStarted = Date.now();
  const added = cloud.addNode();
  await apply(nodeObject(added));
  await until(() => cloud.hasNode(added.name, added.ip), 30 * 60_000, 'the new node is a backend');
  const join = { ms: Date.now() - joinStarted, ...cloud.counts() };

  cloud.reset();
  const deleteStarted = Date.now();
  await kubectl(cluster, ['delete', 'services', '--all', '-n', NS, '--wait=false']);
  await until(() => cloud.empty(), 30 * 60_000, 'nothing Sluice made is left');
  const removal = { ms: Date.now() - deleteStarted, ...cloud.counts() };

  const lines = [
    `${values.cloud} (simulator, operations ${OPERATION_MS} ms), ${N} Services × 2 ports, ${cloud.nodes.length} nodes, ${values.workers} workers`,
    `all IPs:                 ${seconds(toReady)}  (p50 ${seconds(percentile(latencies, 50))}, p90 ${seconds(percentile(latencies, 90))}, p99 ${seconds(percentile(latencies, 99))})`,
    `API calls to ready:      ${created.calls} (${(created.calls / N).toFixed(1)} per Service), writes ${created.writes} (${(created.writes / N).toFixed(1)} per Service)`,
    `  busiest:               ${Object.entries(createdByCall)
      .slice(0, 6)
      .map(([call, n]) => `${call} ${n}`)
      .join(', ')}`,
    `resync at steady state:  ${resync.calls} calls, ${resync.writes} writes`,
    `node joins:              ${seconds(join.ms)} until a backend everywhere; ${join.calls} calls, ${join.writes} writes`,
    `delete all:              ${seconds(removal.ms)}; ${removal.calls} calls, ${removal.writes} writes`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await sluice?.stop();
  await saveLog();
  await cloud.stop();
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
}
