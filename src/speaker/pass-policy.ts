// Pure: what an election pass leaves to do after the announcer has run. A pass whose input did not change
// is skipped (heartbeats arrive all the time), so a pass that could not finish its work must not be
// remembered as done: it is tried again with backoff, or when a planned handover is due.
import type { AnnounceOutcome } from './announcer.ts';

export interface PassFollowUp {
  /** Remember the pass's input as handled: the same input again needs no pass. */
  done: boolean;
  /** Try again after a backoff (a take failed, or was postponed while a lifetime could be given). */
  retry: boolean;
}

export function passFollowUp(
  outcome: Pick<AnnounceOutcome, 'failed' | 'postponed'>,
  canTake: boolean,
  handoversWaiting: number,
): PassFollowUp {
  // Postponed because no lifetime can be given now: the next renewal changes the input anyway.
  const retry = outcome.failed.size > 0 || (canTake && outcome.postponed.size > 0);
  return { done: !retry && handoversWaiting === 0, retry };
}

/** Doubling delays between retries, from `minMs` up to `maxMs`; `reset` after a pass that finished. */
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  #nextMs: number;

  constructor(minMs: number, maxMs: number) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#nextMs = minMs;
  }

  next(): number {
    const delay = this.#nextMs;
    this.#nextMs = Math.min(this.#maxMs, this.#nextMs * 2);
    return delay;
  }

  reset(): void {
    this.#nextMs = this.#minMs;
  }
}
