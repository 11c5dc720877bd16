// Pure: from what this node should announce, what it believes it announces and what the kernel actually
// carries, the steps that make them agree. Level-triggered: an address someone removed by hand comes
// back, and an announcement address nobody wants (left by an earlier run, or lost to another node) goes.
import type { Family } from '../providers/pool/address-range.ts';
import type { Placement } from './commands.ts';

export interface WantedAddress {
  family: Family;
  address: string;
  interfaces: string[];
  /** `namespace/name` of the Service, for logs. */
  service: string;
}

export type HeldAddress = WantedAddress;

export interface KernelAnnouncement {
  interface: string;
  family: Family;
  address: string;
}

export interface AnnouncementPlan {
  /** `ip addr replace`: new placements and ones missing from the kernel. */
  take: Placement[];
  /** `ip addr del`. */
  release: Placement[];
  /** Start (or restart) announcing: log 'announcing' and send the unsolicited burst. */
  announce: Array<WantedAddress & { why: 'new' | 'interfaces changed' | 'was missing from the kernel' }>;
  /** Stop announcing: log 'withdrawn'. */
  withdraw: HeldAddress[];
  /** Announcement addresses in our pools that this process never held (an earlier run's). */
  stale: Placement[];
}

/**
 * `kernel` undefined: the interfaces could not be read; then the kernel is assumed to hold exactly what
 * we hold, so nothing unknown is removed and nothing is re-added on a guess.
 */
export function planAnnouncements(
  wanted: readonly WantedAddress[],
  held: ReadonlyMap<string, HeldAddress>,
  kernel: readonly KernelAnnouncement[] | undefined,
): AnnouncementPlan {
  const plan: AnnouncementPlan = { take: [], release: [], announce: [], withdraw: [], stale: [] };
  const onKernel = new Map<string, Set<string>>();
  const kernelList: KernelAnnouncement[] =
    kernel !== undefined
      ? [...kernel]
      : [...held.values()].flatMap((h) =>
          h.interfaces.map((i) => ({ interface: i, family: h.family, address: h.address })),
        );
  for (const k of kernelList) {
    const set = onKernel.get(k.address) ?? new Set<string>();
    set.add(k.interface);
    onKernel.set(k.address, set);
  }

  const wantedByAddress = new Map(wanted.map((w) => [w.address, w]));
  for (const w of wanted) {
    const h = held.get(w.address);
    const present = onKernel.get(w.address) ?? new Set<string>();
    const missing = w.interfaces.filter((i) => !present.has(i));
    for (const i of missing) plan.take.push({ family: w.family, address: w.address, interface: i });
    if (!h) plan.announce.push({ ...w, why: 'new' });
    else if (!sameSet(h.interfaces, w.interfaces)) plan.announce.push({ ...w, why: 'interfaces changed' });
    else if (missing.length > 0) plan.announce.push({ ...w, why: 'was missing from the kernel' });
  }

  for (const k of kernelList) {
    const w = wantedByAddress.get(k.address);
    if (w?.interfaces.includes(k.interface)) continue;
    const placement = { family: k.family, address: k.address, interface: k.interface };
    plan.release.push(placement);
    if (!held.has(k.address)) plan.stale.push(placement);
  }
  for (const h of held.values()) {
    if (!wantedByAddress.has(h.address)) plan.withdraw.push(h);
  }
  return plan;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
