// Measuring an L2 failover in the lab: who holds an address (as the kernel says) over time, and when the
// client first reaches the new node. Prints nothing and asserts nothing; the test and the bench decide.
import { setTimeout as sleep } from 'node:timers/promises';
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
export const answeredBy =
  (node: LabNode, since: number) =>
  (line: OutputLine): boolean =>
    line.ok === true && line.answer === node.name && (line.startedAt as number) >= since;

/** Polls `check` every 100 ms until it holds; rejects after `timeoutMs` with `describe()`. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(100);
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
    await pollUntil(
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
 * node, and `probe` is answered by it; returns that node.
 */
export async function waitForSingleHolder(
  lab: L2Lab,
  probe: NamespaceProcess,
  address: string,
  announcedNode: () => Promise<string | undefined>,
  timeoutMs: number,
): Promise<LabNode> {
  let holders: LabNode[] = [];
  let announced: string | undefined;
  await pollUntil(
    async () => {
      holders = await lab.holders(address);
      announced = await announcedNode();
      return holders.length === 1 && announced === holders[0]!.name;
    },
    timeoutMs,
    () =>
      `no single announcer of ${address}: held by [${holders.map((h) => h.name).join(', ')}], ` +
      `L2Announcement names ${announced ?? 'nobody'}`,
  );
  const holder = holders[0]!;
  await probe.waitForLine(answeredBy(holder, Date.now()), timeoutMs);
  return holder;
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
