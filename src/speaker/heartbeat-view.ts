// Which speakers are alive, judged as client-go's leader election judges a Lease: by when THIS process
// saw the heartbeat change, on its own clock, never by comparing the renewTime written by another
// machine's clock. A Lease counts as fresh for leaseDurationSeconds after the change was seen. Pure: the
// caller passes the time.
import type { V1Lease } from '@kubernetes/client-node';
import type { SpeakerHeartbeat } from './election.ts';
import { INTERFACE_NAME, type InterfaceSummary } from './interfaces.ts';

export const LEASE_PREFIX = 'sluice-speaker-';
/** The interfaces a speaker can announce on (JSON list of {name, prefixes}), on its heartbeat Lease. */
export const INTERFACES_ANNOTATION = 'sluice.dev/interfaces';
export const SPEAKER_LABELS = {
  'app.kubernetes.io/name': 'sluice',
  'app.kubernetes.io/component': 'speaker',
} as const;
export const SPEAKER_LABEL_SELECTOR = Object.entries(SPEAKER_LABELS)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

export function leaseName(node: string): string {
  return `${LEASE_PREFIX}${node}`;
}

/** The node a heartbeat Lease speaks for, when its name and holder agree. */
export function nodeOfLease(lease: V1Lease): string | undefined {
  const name = lease.metadata?.name ?? '';
  if (!name.startsWith(LEASE_PREFIX)) return undefined;
  const node = name.slice(LEASE_PREFIX.length);
  return node !== '' && lease.spec?.holderIdentity === node ? node : undefined;
}

/** The interfaces annotation, or [] when it is missing or malformed (such a node announces nothing). */
export function parseInterfacesAnnotation(text: string | undefined): InterfaceSummary[] {
  if (!text) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  const out: InterfaceSummary[] = [];
  for (const item of raw) {
    if (typeof item !== 'object' || item === null) continue;
    const { name, prefixes } = item as { name?: unknown; prefixes?: unknown };
    if (typeof name !== 'string' || !INTERFACE_NAME.test(name)) continue;
    const list = Array.isArray(prefixes) ? prefixes.filter((p): p is string => typeof p === 'string') : [];
    out.push({ name, prefixes: list });
  }
  return out;
}

interface Seen {
  record: string;
  seenAt: number;
  durationMs: number;
  interfaces: InterfaceSummary[];
}

export class HeartbeatView {
  readonly #seen = new Map<string, Seen>();

  /** Records a Lease as listed or watched at `now`. Leases that speak for no node are ignored. */
  observe(lease: V1Lease, now: number): void {
    const key = lease.metadata?.name ?? '';
    const node = nodeOfLease(lease);
    if (node === undefined) {
      // Released (holder cleared) or not a heartbeat at all: nobody is alive behind it.
      this.#seen.delete(key);
      return;
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity}|${timeText(spec.renewTime)}|${spec.leaseDurationSeconds ?? 0}`;
    const interfaces = parseInterfacesAnnotation(lease.metadata?.annotations?.[INTERFACES_ANNOTATION]);
    const previous = this.#seen.get(key);
    this.#seen.set(key, {
      record,
      seenAt: previous?.record === record ? previous.seenAt : now,
      durationMs: Math.max(0, spec.leaseDurationSeconds ?? 0) * 1000,
      interfaces,
    });
  }

  forget(lease: V1Lease): void {
    this.#seen.delete(lease.metadata?.name ?? '');
  }

  /** The speakers whose heartbeat changed within its duration before `now`. */
  fresh(now: number): Map<string, SpeakerHeartbeat> {
    const out = new Map<string, SpeakerHeartbeat>();
    for (const [key, seen] of this.#seen) {
      if (now < seen.seenAt + seen.durationMs) {
        const node = key.slice(LEASE_PREFIX.length);
        out.set(node, { node, interfaces: seen.interfaces });
      }
    }
    return out;
  }

  /** When `node`'s heartbeat was last seen to change, by our clock. */
  seenAt(node: string): number | undefined {
    return this.#seen.get(leaseName(node))?.seenAt;
  }

  /** The earliest moment after `now` at which a fresh heartbeat turns stale. */
  nextExpiry(now: number): number | undefined {
    let next: number | undefined;
    for (const seen of this.#seen.values()) {
      const at = seen.seenAt + seen.durationMs;
      if (at > now && (next === undefined || at < next)) next = at;
    }
    return next;
  }
}

function timeText(value: unknown): string {
  if (value instanceof Date) return String(value.getTime());
  return String(value);
}
