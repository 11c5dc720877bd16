// Pure: the timing rules that keep two nodes from announcing one address at once. After this speaker's
// last successful renewal, which began at T (its own clock):
//   T + (D − R)        the speaker withdraws everything actively, unless a newer renewal succeeded
//   ≤ T + D − 1 s + ε  the kernel has dropped each address by itself, even if the process is frozen or
//                      killed: an address's valid_lft, set right after each renewal, is at most
//                      D − 1 s − (time since T), and the kernel removes expired addresses up to ε ≈ 1 s late
//                      (it rounds its timer up to whole seconds)
//   ≥ T + D            any other speaker may take over: it waits D after it SAW the renewal
export interface HeartbeatTiming {
  /** D: leaseDurationSeconds × 1000. */
  durationMs: number;
  /** R: time between renewals. */
  intervalMs: number;
}

/** How late the kernel may remove an expired address. */
export const KERNEL_EXPIRY_SLACK_MS = 1000;

/** D − R: how long after a renewal began the speaker may keep announcing. */
export function holdMs(timing: HeartbeatTiming): number {
  return timing.durationMs - timing.intervalMs;
}

/**
 * The moment a kernel address must be gone by (ms, our clock), for the renewal that began at
 * `renewStartedAt`: D − 1 s after it (the kernel may remove an expired address up to ~1 s late).
 */
export function addressDeadline(timing: HeartbeatTiming, renewStartedAt: number): number {
  return renewStartedAt + timing.durationMs - KERNEL_EXPIRY_SLACK_MS;
}

/**
 * The valid_lft (whole seconds) an address may be given at `now` so that it is gone by `deadline`:
 * min(⌊D − R⌋, ⌊deadline − now⌋). Below 1: no address may be taken or refreshed now. Computed right
 * before `ip` runs, never when the command is queued.
 */
export function lifetimeBefore(timing: HeartbeatTiming, deadline: number | undefined, now: number): number {
  if (deadline === undefined) return 0;
  return Math.min(Math.floor(holdMs(timing) / 1000), Math.floor((deadline - now) / 1000));
}

/**
 * The valid_lft (whole seconds) an address may be given at `now`: min(D − R, D − 1 s − time since the
 * renewal began), rounded down. Below 1: no address may be taken or refreshed now.
 */
export function addressLifetimeSeconds(
  timing: HeartbeatTiming,
  renewStartedAt: number | undefined,
  now: number,
): number {
  if (renewStartedAt === undefined) return 0;
  return lifetimeBefore(timing, addressDeadline(timing, renewStartedAt), now);
}

/**
 * Whether the speaker may announce at `now`: its last renewal began less than D − R ago, and its own
 * watch showed a renewal less than D − R ago (a view that stopped showing its own renewals cannot tell
 * a dead peer from a live one).
 */
export function mayAnnounce(
  timing: HeartbeatTiming,
  renewStartedAt: number | undefined,
  ownRenewalSeenAt: number | undefined,
  now: number,
): boolean {
  if (renewStartedAt === undefined || ownRenewalSeenAt === undefined) return false;
  return now < renewStartedAt + holdMs(timing) && now < ownRenewalSeenAt + holdMs(timing);
}

/** When `mayAnnounce` turns false unless something new happens. */
export function fenceDeadline(
  timing: HeartbeatTiming,
  renewStartedAt: number,
  ownRenewalSeenAt: number | undefined,
): number {
  return Math.min(renewStartedAt, ownRenewalSeenAt ?? 0) + holdMs(timing);
}

/**
 * On shutdown, how long to wait before deleting the heartbeat Lease (which lets the others take over at
 * once). 0 when every address was removed; otherwise an address is still in the kernel until its lifetime
 * ends (at the latest D after the last renewal began, expiry slack included), and no other node may take
 * it before then.
 */
export function leaseReleaseDelayMs(
  timing: HeartbeatTiming,
  renewStartedAt: number | undefined,
  everyAddressRemoved: boolean,
  now: number,
): number {
  if (everyAddressRemoved || renewStartedAt === undefined) return 0;
  return Math.max(0, addressDeadline(timing, renewStartedAt) + KERNEL_EXPIRY_SLACK_MS - now);
}
