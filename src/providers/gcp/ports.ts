// The client firewall's ports: Compute takes at most 100 ports or port ranges per firewall rule
// (cloud-provider-gcp: "only 100 ports or port ranges can be used in a firewall rule"). Pure.
import type { L4Protocol } from './model.ts';

export const MAX_FIREWALL_PORT_ENTRIES = 100;

interface Run {
  low: number;
  high: number;
}

const text = (run: Run): string => (run.low === run.high ? String(run.low) : `${run.low}-${run.high}`);

/**
 * The ports of each protocol as firewall entries: each port on its own while all fit ("80", "443");
 * otherwise contiguous ports become ranges ("8000-8099"); and if that still does not fit, the
 * closest ranges are joined, which also opens the ports between them (`widened`, e.g. "TCP 101-109").
 */
export function firewallPorts(ports: Readonly<Record<L4Protocol, ReadonlyArray<number>>>): {
  allowed: Record<L4Protocol, string[]>;
  widened: string[];
} {
  const protocols: L4Protocol[] = ['TCP', 'UDP'];
  const sorted = (list: ReadonlyArray<number>) => [...new Set(list)].sort((a, b) => a - b);
  const total = protocols.reduce((n, p) => n + sorted(ports[p]).length, 0);
  if (total <= MAX_FIREWALL_PORT_ENTRIES) {
    return {
      allowed: { TCP: sorted(ports.TCP).map(String), UDP: sorted(ports.UDP).map(String) },
      widened: [],
    };
  }
  const runs: Record<L4Protocol, Run[]> = { TCP: [], UDP: [] };
  for (const protocol of protocols) {
    for (const port of sorted(ports[protocol])) {
      const last = runs[protocol].at(-1);
      if (last && port === last.high + 1) last.high = port;
      else runs[protocol].push({ low: port, high: port });
    }
  }
  const widened: Array<{ protocol: L4Protocol; gap: Run }> = [];
  while (runs.TCP.length + runs.UDP.length > MAX_FIREWALL_PORT_ENTRIES) {
    // The smallest gap of either protocol (TCP first, then the lowest ports, on a tie).
    let best: { protocol: L4Protocol; index: number; size: number } | undefined;
    for (const protocol of protocols) {
      const list = runs[protocol];
      for (let i = 0; i + 1 < list.length; i++) {
        const size = list[i + 1]!.low - list[i]!.high - 1;
        if (best === undefined || size < best.size) best = { protocol, index: i, size };
      }
    }
    if (best === undefined) break; // Unreachable: more than 100 runs means some protocol has two.
    const list = runs[best.protocol];
    const left = list[best.index]!;
    const right = list[best.index + 1]!;
    widened.push({ protocol: best.protocol, gap: { low: left.high + 1, high: right.low - 1 } });
    left.high = right.high;
    list.splice(best.index + 1, 1);
  }
  widened.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.gap.low - b.gap.low);
  return {
    allowed: { TCP: runs.TCP.map(text), UDP: runs.UDP.map(text) },
    widened: widened.map((w) => `${w.protocol} ${text(w.gap)}`),
  };
}
