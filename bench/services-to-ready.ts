// Benchmark: N LoadBalancer Services on a fresh local control plane, addressed by Sluice.
// Prints figures; asserts nothing. Usage: npm run bench [-- --services 1000 --workers 4]
//
// Floor: a minimal client that makes only the writes any implementation must make (add the
// finalizer, write the status) for the same N Services, as fast as it can, with the same
// concurrency as Sluice's workers. Sluice's time is printed as a ratio of the floor's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service, Watch } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../src/kube/kube-config.ts';
import { clients, kubectl, SluiceProcess } from '../test/e2e/support.ts';
import { findBinDir, startControlPlane } from '../test/harness/control-plane.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '4' },
    'create-concurrency': { type: 'string', default: '16' },
  },
});
const N = Number(values.services);
const WORKERS = Number(values.workers);
const CREATE_CONCURRENCY = Number(values['create-concurrency']);
const CLASS = 'sluice.dev/lb';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// Sluice runs as it does in its image: the compiled JavaScript.
execFileSync(
  fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)),
  ['-p', 'tsconfig.build.json'],
  {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: 'inherit',
  },
);
const ENTRY = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// The V8 flags the container image runs Sluice with (a small young generation keeps RSS low).
const NODE_FLAGS = ['--max-semi-space-size=2'];

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
const binDir = await findBinDir();
const cp = await startControlPlane({ binDir, dir });
const cluster = { kubeconfigPath: cp.kubeconfigPath, binDir };
// The bench's own client pools its connections as Sluice does, so the floor is a fair one.
const api = { ...clients(cp.kubeconfigPath), core: pooledCore(cp.kubeconfigPath) };

function service(namespace: string, name: string, cls: string): V1Service {
  return {
    metadata: { name, namespace },
    spec: { type: 'LoadBalancer', loadBalancerClass: cls, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** apiserver_request_total for mutating verbs, by resource, from the apiserver's own metrics. */
async function apiserverWrites(): Promise<Map<string, number>> {
  const text = await kubectl(cluster, ['get', '--raw', '/metrics']);
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    if (!verb || !['POST', 'PATCH', 'PUT', 'DELETE'].includes(verb)) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1];
    const key = `${verb} ${resource}${sub ? `/${sub}` : ''}`;
    totals.set(key, (totals.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return totals;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

try {
  await kubectl(cluster, ['apply', '-f', fileURLToPath(new URL('../crds/', import.meta.url))]);
  await kubectl(cluster, ['wait', '--for=condition=Established', 'crd/addresspools.sluice.dev']);
  await kubectl(cluster, ['create', 'namespace', 'floor']);
  await kubectl(cluster, ['create', 'namespace', 'bench']);
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    'apiVersion: sluice.dev/v1alpha1\nkind: AddressPool\nmetadata: { name: bench }\nspec: { addresses: ["198.18.0.0/15"] }\n',
  );

  // --- The floor: Services created as in Sluice's run; WORKERS writers add the finalizer and
  // write the status of each as soon as it exists, and do nothing else.
  const floorStart = performance.now();
  const createdQueue: V1Service[] = [];
  let creating = true;
  const waiting: Array<() => void> = [];
  const floorWriters = Array.from({ length: WORKERS }, async () => {
    for (;;) {
      const created = createdQueue.shift();
      if (!created) {
        if (!creating) return;
        await new Promise<void>((r) => waiting.push(r));
        continue;
      }
      const name = created.metadata!.name!;
      const withFinalizer = await api.core.patchNamespacedService(
        {
          name,
          namespace: 'floor',
          body: {
            metadata: {
              finalizers: ['bench.example/cleanup'],
              resourceVersion: created.metadata!.resourceVersion,
            },
          },
        },
        MERGE,
      );
      const n = Number(name.slice(4));
      await api.core.patchNamespacedServiceStatus(
        {
          name,
          namespace: 'floor',
          body: {
            metadata: { resourceVersion: withFinalizer.metadata!.resourceVersion },
            status: {
              loadBalancer: { ingress: [{ ip: `198.18.${Math.floor(n / 256)}.${n % 256}`, ipMode: 'VIP' }] },
            },
          },
        },
        MERGE,
      );
    }
  });
  // One waiting writer is woken per created Service; the rest are busy writing.
  const wakeOne = (): void => waiting.shift()?.();
  await pool(N, CREATE_CONCURRENCY, async (i) => {
    createdQueue.push(
      await api.core.createNamespacedService({
        namespace: 'floor',
        body: service('floor', `svc-${i}`, 'bench.example/floor'),
      }),
    );
    wakeOne();
  });
  creating = false;
  for (const w of waiting.splice(0)) w();
  await Promise.all(floorWriters);
  const floorMs = performance.now() - floorStart;

  // --- Sluice.
  const sluice = new SluiceProcess(cp.kubeconfigPath, [`--workers=${WORKERS}`], ENTRY, NODE_FLAGS);
  const port = await waitHealthy(sluice);
  const writesBefore = await apiserverWrites();
  const createdAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  let allReady: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allReady = resolve;
  });
  const watch = await new Watch(api.kc).watch(
    '/api/v1/namespaces/bench/services',
    {},
    (_type, obj: V1Service) => {
      const name = obj.metadata?.name ?? '';
      if (!readyAt.has(name) && obj.status?.loadBalancer?.ingress?.[0]?.ip) {
        readyAt.set(name, performance.now());
        if (readyAt.size === N) allReady();
      }
    },
    () => {},
  );
  const start = performance.now();
  await pool(N, CREATE_CONCURRENCY, async (i) => {
    const name = `svc-${i}`;
    createdAt.set(name, performance.now());
    await api.core.createNamespacedService({ namespace: 'bench', body: service('bench', name, CLASS) });
  });
  await done;
  const sluiceMs = performance.now() - start;
  watch.abort();
  // Events trail behind the status writes (they go through one bounded queue): count them
  // once they have stopped arriving.
  let writes = diff(await apiserverWrites(), writesBefore);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = diff(await apiserverWrites(), writesBefore);
    if (now.get('POST events') === writes.get('POST events')) break;
    writes = now;
  }
  const eventsDropped = await sluice.metric('sluice_events_dropped_total');
  const latencies = [...readyAt].map(([name, t]) => t - createdAt.get(name)!).sort((a, b) => a - b);
  const status = readFileSync(`/proc/${sluice.child.pid}/status`, 'utf8');
  const peakRssMiB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024;

  // Steady state: a full resync must write nothing.
  const steadyBefore = await apiserverWrites();
  const reconcilesBefore = await sluice.metric('sluice_reconcile_total');
  await sluice.stop();
  const restarted = new SluiceProcess(cp.kubeconfigPath, [`--workers=${WORKERS}`], ENTRY, NODE_FLAGS);
  await waitHealthy(restarted);
  const restartStart = performance.now();
  while ((await restarted.metric('sluice_reconcile_total')) < N) await new Promise((r) => setTimeout(r, 50));
  const restartMs = performance.now() - restartStart;
  const steadyWrites = diff(await apiserverWrites(), steadyBefore);
  await restarted.stop();

  const totalWrites = [...writes.values()].reduce((a, b) => a + b, 0);
  // The bench creates the Services (POST); Sluice's own writes to them are the PATCHes.
  const serviceWrites = [...writes].filter(([k]) => /^PATCH services/.test(k)).reduce((a, [, v]) => a + v, 0);
  const lines = [
    `Sluice bench: ${N} Services, ${WORKERS} workers, created ${CREATE_CONCURRENCY} at a time (port ${port})`,
    `  time until all addressed      ${fmt(sluiceMs)}`,
    `  create→status latency        p50 ${fmt(percentile(latencies, 50))}  p95 ${fmt(percentile(latencies, 95))}  p99 ${fmt(percentile(latencies, 99))}`,
    `  apiserver writes             ${totalWrites} in all (creates included); Sluice's to Services: ${serviceWrites} (${(serviceWrites / N).toFixed(2)} per Service)`,
    ...[...writes].sort().map(([k, v]) => `      ${k.padEnd(30)} ${v}`),
    `  events dropped (queue full)  ${eventsDropped}`,
    `  Sluice peak RSS              ${peakRssMiB.toFixed(0)} MiB (node ${NODE_FLAGS.join(' ')})`,
    `  floor (create + finalizer + status, same concurrency)  ${fmt(floorMs)}`,
    `  Sluice / floor               ${(sluiceMs / floorMs).toFixed(2)}×`,
    `  restart: ${N} in-sync Services re-checked in ${fmt(restartMs)} (reconciles before restart: ${reconcilesBefore})`,
    `  restart writes (all kinds)   ${[...steadyWrites].map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
}

async function waitHealthy(p: SluiceProcess): Promise<number> {
  const port = await p.healthPort();
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res?.ok) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pooledCore(kubeconfigPath: string): CoreV1Api {
  const kc = new PooledKubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc.makeApiClient(CoreV1Api);
}
