// Measuring an L2 failover in the lab: who holds an address (as the kernel says) over time, and when the
// client first reaches the new node. Prints nothing and asserts nothing; the test and the bench decide.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { waitFor } from '../e2e/support.ts';
import type { L2Lab, LabNode } from './l2-lab.ts';
import type { NamespaceProcess, OutputLine } from './netns.ts';

export type Failover = {
  /** Disruption started → first connection answered by the new node. */
  failoverMs: number;
  /** Disruption started → the address gone from the old holder's interface (first sample without it). */
  goneMs: number;
  /** Disruption started → the address on the new holder's interface (first sample with it). */
  takenMs: number;
  /** Samples (one every ~100 ms) in which both nodes held the address. */
  overlaps: number;
  samples: number;
};

/** A probe line (tcp-probe.ts) answered by `node` from an attempt started at or after `since`. */
const answeredBy =
  (node: LabNode, since: number) =>
  (line: OutputLine): boolean =>
    line.ok === true && line.answer === node.name && (line.startedAt as number) >= since;

/** What an L2Announcement's status says: the announcing node, or why nobody announces. */
export type Announcement = { node?: string; addresses?: string[]; interfaces?: string[]; message?: string };

/** The status of the L2Announcement `namespace/name`, or undefined when there is none. */
export async function announcementOf(
  custom: CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<Announcement | undefined> {
  try {
    const object = (await custom.getNamespacedCustomObject({
      group: 'sluice.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'l2announcements',
      name,
    })) as { status?: Announcement };
    return object.status ?? {};
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/**
 * Samples which nodes hold `address` every `intervalMs` for `durationMs`; returns the holders' names per
 * sample.
 */
export async function sampleHolders(
  lab: L2Lab,
  address: string,
  durationMs: number,
  intervalMs = 150,
): Promise<string[][]> {
  const samples: string[][] = [];
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    samples.push((await lab.holders(address)).map((h) => h.name));
    await sleep(intervalMs);
  }
  return samples;
}

/**
 * Runs `disrupt` against `from`, the current holder of `address` in a two-node lab, and measures from the
 * moment it starts: when the address left `from`, when it reached the other node, and when `probe` (a
 * tcp-probe.ts process aimed at the address) was first answered by the other node. Samples both nodes'
 * interfaces meanwhile to count overlaps.
 */
export async function measureFailover(
  lab: L2Lab,
  probe: NamespaceProcess,
  address: string,
  from: LabNode,
  disrupt: () => Promise<void>,
  timeoutMs: number,
): Promise<Failover> {
  const to = lab.other(from);
  let goneAt: number | undefined;
  let takenAt: number | undefined;
  let overlaps = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = Date.now();
      const holders = await lab.holders(address);
      samples++;
      if (holders.length > 1) overlaps++;
      if (goneAt === undefined && !holders.includes(from)) goneAt = at;
      if (takenAt === undefined && holders.includes(to)) takenAt = at;
      await sleep(100);
    }
  })();
  const start = Date.now();
  try {
    await disrupt();
    const answered = await probe.waitForLine(answeredBy(to, start), timeoutMs);
    await waitFor(
      () => goneAt !== undefined && takenAt !== undefined,
      timeoutMs,
      () =>
        `${address}: gone from ${from.name}: ${goneAt !== undefined}, on ${to.name}: ${takenAt !== undefined}`,
    );
    return {
      failoverMs: (answered.at as number) - start,
      goneMs: goneAt! - start,
      takenMs: takenAt! - start,
      overlaps,
      samples,
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

/**
 * Waits until exactly one node holds `address`, `announcedNode()` (the L2Announcement's node) names that
 * node, and `probe` has been answered by it since it was first seen so; returns that node. The holder may
 * still change while the client catches up (a speaker that starts later wins the address back), so the
 * probe's answers are checked in the same poll rather than awaited for one holder.
 */
async function waitForSingleHolder(
  lab: L2Lab,
  probe: NamespaceProcess,
  address: string,
  announcedNode: () => Promise<string | undefined>,
  timeoutMs: number,
): Promise<LabNode> {
  let holders: LabNode[] = [];
  let announced: string | undefined;
  let single: { node: LabNode; since: number } | undefined;
  await waitFor(
    async () => {
      if (!probe.running) throw new Error(`the client probe exited: ${probe.stderr}`);
      holders = await lab.holders(address);
      announced = await announcedNode();
      const node = holders.length === 1 && announced === holders[0]!.name ? holders[0] : undefined;
      if (node?.name !== single?.node.name) single = node && { node, since: Date.now() };
      return single !== undefined && probe.lines.some(answeredBy(single.node, single.since));
    },
    timeoutMs,
    () =>
      single
        ? `the client was never answered by ${single.node.name}, the single announcer of ${address}`
        : `no single announcer of ${address}: held by [${holders.map((h) => h.name).join(', ')}], ` +
          `L2Announcement names ${announced ?? 'nobody'}`,
  );
  return single!.node;
}

export type Steady = {
  holder: LabNode;
  /** Samples in the settled window, every one showing `holder` alone. */
  samples: number;
  /** Windows thrown away because the address moved in them (a handover, e.g. when a node rejoined). */
  unsettledWindows: number;
  /** Samples in those windows that showed two or more holders at once. */
  overlapSamples: number;
};

/**
 * Waits for steady state on `address`: a single holder (see waitForSingleHolder), then a window of
 * `windowMs` in which every sample shows that holder alone and the announcement still names it. A window in
 * which the address moves is a handover, not steady state: it is counted, and the wait starts over. Two
 * holders that never resolve make this time out.
 */
export async function waitForSteadyHolder(
  lab: L2Lab,
  probe: NamespaceProcess,
  address: string,
  announcedNode: () => Promise<string | undefined>,
  windowMs: number,
  timeoutMs: number,
): Promise<Steady> {
  const deadline = Date.now() + timeoutMs;
  let unsettledWindows = 0;
  let overlapSamples = 0;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      throw new Error(
        `no steady announcer of ${address} within ${timeoutMs} ms: ${unsettledWindows} windows saw it move, ` +
          `${overlapSamples} samples saw two holders`,
      );
    const holder = await waitForSingleHolder(lab, probe, address, announcedNode, remaining);
    const samples = await sampleHolders(lab, address, windowMs);
    const settled =
      samples.every((s) => s.length === 1 && s[0] === holder.name) && (await announcedNode()) === holder.name;
    if (settled) return { holder, samples: samples.length, unsettledWindows, overlapSamples };
    unsettledWindows++;
    overlapSamples += samples.filter((s) => s.length > 1).length;
  }
}
