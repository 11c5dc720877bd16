// Benchmark: repeated L2 failovers in network namespaces, on a fresh local control plane. Prints figures;
// asserts nothing. Needs root, iproute2, arping.
//
//   node bench/l2-failover.ts [--rounds 5] [--modes kill,term,partition]
//                             [--heartbeat-duration 6] [--heartbeat-interval 2]
//
// Each round, for each mode, waits for one steady announcer, disrupts it (kill: SIGKILL its speaker; term:
// SIGTERM; partition: cut its LAN port and its apiserver path), and measures from the disruption: the client's
// first answer from the other node, the address leaving the old node, the address reaching the new one.
// Then it repairs the disrupted node (restarts the speaker, heals the partition) for the next measurement.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  applyObject,
  clients,
  createPool,
  installCrds,
  kubectl,
  SluiceProcess,
  waitForAddress,
} from '../test/e2e/support.ts';
import { cleanUp } from '../test/harness/clean-up.ts';
import { findBinDir, startControlPlane } from '../test/harness/control-plane.ts';
import { createReadyNode, L2Lab, type LabNode, type SpeakerSettings } from '../test/harness/l2-lab.ts';
import {
  announcementOf,
  type Failover,
  measureFailover,
  waitForSteadyHolder,
} from '../test/harness/l2-measure.ts';

const MODES = ['kill', 'term', 'partition'] as const;
type Mode = (typeof MODES)[number];

function parseOptions(): { rounds: number; modes: Mode[]; duration: number; interval: number } {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      modes: { type: 'string', default: MODES.join(',') },
      'heartbeat-duration': { type: 'string', default: '6' },
      'heartbeat-interval': { type: 'string', default: '2' },
    },
  });
  const problems: string[] = [];
  const rounds = Number(values.rounds);
  const duration = Number(values['heartbeat-duration']);
  const interval = Number(values['heartbeat-interval']);
  const modes = values.modes.split(',').map((m) => m.trim());
  if (!Number.isInteger(rounds) || rounds < 1) problems.push('--rounds must be a whole number >= 1');
  if (!(interval > 0) || !(duration > interval))
    problems.push('--heartbeat-duration must be greater than --heartbeat-interval > 0');
  for (const m of modes)
    if (!(MODES as readonly string[]).includes(m))
      problems.push(`--modes: ${m} is not one of ${MODES.join(', ')}`);
  if (problems.length > 0) {
    process.stderr.write(`l2-failover: ${problems.join('; ')}\n`);
    process.exit(2);
  }
  return { rounds, modes: modes as Mode[], duration, interval };
}

const options = parseOptions();
const PORT = 8080;
const CLASS = 'sluice.dev/bench-l2';
const NS = 'bench-l2';
const POOL = 'bench-l2';
const TIMEOUT_MS = 120_000;
const settings: SpeakerSettings = {
  namespace: NS,
  loadBalancerClass: CLASS,
  heartbeatDurationSeconds: options.duration,
  heartbeatIntervalSeconds: options.interval,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `min ${s[0]} / p50 ${percentile(s, 50)} / p90 ${percentile(s, 90)} / max ${s.at(-1)}`;
}

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-l2-'));
const binDir = await findBinDir();
const cp = await startControlPlane({ binDir, dir });
const cluster = { kubeconfigPath: cp.kubeconfigPath, binDir };
const api = clients(cp.kubeconfigPath);
let lab: L2Lab | undefined;
let controller: SluiceProcess | undefined;
const results = new Map<Mode, Failover[]>(options.modes.map((m) => [m, []]));

try {
  await installCrds(cluster);
  await kubectl(cluster, ['create', 'namespace', NS]);
  await createPool(cluster, POOL, ['198.51.100.200-198.51.100.209'], false);
  await applyObject(cluster, {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'L2Advertisement',
    metadata: { name: POOL },
    spec: { addressPools: [POOL] },
  });
  lab = await L2Lab.create({
    cluster,
    prefix: 'sl2bench',
    nodes: [
      { key: 'a', ipv4: '198.51.100.11/24' },
      { key: 'b', ipv4: '198.51.100.12/24' },
    ],
    client: { ipv4: '198.51.100.100/24' },
    servicePort: PORT,
  });
  for (const node of lab.nodes) await createReadyNode(cluster, node.name, node.member.ipv4.split('/')[0]!);
  controller = new SluiceProcess(cp.kubeconfigPath, [
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
  ]);
  await applyObject(cluster, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS, annotations: { 'sluice.dev/pool': POOL } },
    spec: { type: 'LoadBalancer', loadBalancerClass: CLASS, ports: [{ port: PORT, targetPort: PORT }] },
  });
  const vip = await waitForAddress(api.core, NS, 'web', 30_000);
  for (const node of lab.nodes) await lab.startSpeaker(node, settings);
  const probe = lab.startProbe(vip, PORT);
  const announced = async (): Promise<string | undefined> =>
    (await announcementOf(api.custom, NS, 'web').catch(() => undefined))?.node;
  const disruptions: Record<Mode, (l: L2Lab, n: LabNode) => Promise<void>> = {
    kill: async (_, n) => void (await n.speaker?.stop('SIGKILL')),
    term: async (_, n) => void (await n.speaker?.stop('SIGTERM')),
    partition: async (l, n) => void (await Promise.all([l.lan.cut(n.key), l.cutApi(n)])),
  };
  process.stderr.write(
    `l2-failover: ${vip}, heartbeat ${options.duration}s/${options.interval}s, ${options.rounds} rounds of ${options.modes.join(', ')}\n`,
  );
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of options.modes) {
      const l2 = lab;
      const { holder } = await waitForSteadyHolder(l2, probe, vip, announced, 3_000, TIMEOUT_MS);
      const f = await measureFailover(
        l2,
        probe,
        vip,
        holder,
        () => disruptions[mode](l2, holder),
        TIMEOUT_MS,
      );
      results.get(mode)!.push(f);
      process.stderr.write(
        `round ${round} ${mode}: ${holder.name} → ${l2.other(holder).name}: client ${f.failoverMs} ms, ` +
          `gone ${f.goneMs} ms, taken ${f.takenMs} ms, overlap ${f.overlaps}/${f.samples}\n`,
      );
      // Repair the disrupted node so both are candidates again.
      if (mode === 'partition') {
        await l2.lan.restore(holder.key);
        await l2.startApiForwarder(holder);
      } else {
        await l2.startSpeaker(holder, settings);
      }
    }
  }
  console.log(
    `\nL2 failover, heartbeat ${options.duration}s/${options.interval}s (milliseconds from the disruption)`,
  );
  for (const [mode, list] of results) {
    if (list.length === 0) continue;
    console.log(`${mode} (${list.length} runs)`);
    console.log(`  client reaches the new node: ${summary(list.map((f) => f.failoverMs))}`);
    console.log(`  address gone from the old:   ${summary(list.map((f) => f.goneMs))}`);
    console.log(`  address on the new:          ${summary(list.map((f) => f.takenMs))}`);
    console.log(`  samples with two holders:    ${list.reduce((n, f) => n + f.overlaps, 0)}`);
  }
} finally {
  // Every step runs even when one before it fails: a lab that would not come down must not leave the
  // control plane running.
  await cleanUp('l2-failover clean-up', [
    ['stop the controller', () => controller?.stop('SIGKILL')],
    ['destroy the lab', () => lab?.destroy()],
    ['stop the control plane', () => cp.stop()],
    ['remove the work directory', () => rm(dir, { recursive: true, force: true })],
  ]);
}
