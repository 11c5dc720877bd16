// The per-resource coalescing writer: the one place that writes a shared resource (one load balancer, or the NSG).
//
// A reconcile never writes the load balancer itself. It submits its Service's slice (or the slice's removal) and
// returns at once; the writer collects every slice submitted while its previous write was in flight, reads the
// resource, merges them all (merge* in slices.ts: limits checked per Service, everything else untouched), and PUTs
// once with If-Match: <etag>, waiting for the long-running operation in the background. A 412 (someone else wrote
// in between), a 409, or an operation superseded by another write → read again and merge again. So 20 Services
// created at once cost a handful of PUTs, not 20 serialized read-modify-writes, and no write ever loses another's
// frontend. Writers of different resources run independently: there is no global lock.
//
// Nothing here survives a restart, and nothing needs to: observe reads what ARM holds, and a Service whose slice is
// missing submits it again.

import type { Logger } from '../../observability/logger.ts';
import { type Clock, systemClock } from './client.ts';
import {
  type ArmFailure,
  ArmThrottledError,
  describeArmError,
  traceIds,
  userFailureReason,
} from './errors.ts';
import type { OwnerState, SliceChange } from './model.ts';
import type { MergeResult } from './slices.ts';

export interface WriteTarget<Body extends { etag?: string }, Slice> {
  /** For logs and messages, e.g. "load balancer prod". */
  readonly description: string;
  /** The resource as ARM holds it now (undefined: it does not exist). */
  read(): Promise<Body | undefined>;
  merge(current: Body | undefined, changes: ReadonlyArray<SliceChange<Slice>>): MergeResult<Body>;
  /** PUT (If-Match the current ETag, or If-None-Match: * when there is none) and wait for the operation. */
  write(body: Body, current: Body | undefined): Promise<void>;
  /** DELETE (If-Match the current ETag) and wait. */
  remove(current: Body): Promise<void>;
  /** After a conflict: whatever was cached is stale. */
  invalidate?(): void;
}

export interface WriterStats {
  submissions: number;
  /** Write cycles (one read, one merge; a write when something changed). */
  batches: number;
  /** PUTs and DELETEs sent. */
  writes: number;
  /** Writes refused for a stale ETag / another operation, or superseded: re-read and merged again. */
  conflicts: number;
  /** Batches that changed nothing (no write). */
  unchanged: number;
  /** The most slices one write carried. */
  largestBatch: number;
}

export interface WriterOptions {
  logger: Logger;
  clock?: Clock;
  /** How long the first submission after a quiet spell waits for others to join it. Default 100 ms. */
  coalesceMs?: number;
  /** Attempts per batch for conflicts and transient failures (throttling waits do not count). Default 8. */
  maxAttempts?: number;
  /** The backoff ceiling after a transient failure doubles from this. Default 500 ms. */
  retryBaseMs?: number;
  random?: () => number;
}

interface Submission<Slice> {
  owner: string;
  slice: Slice | null;
  key: string;
}

/** The key of a removal. */
export const REMOVAL_KEY = 'removed';

export class CoalescingWriter<Body extends { etag?: string }, Slice> {
  readonly #target: WriteTarget<Body, Slice>;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #coalesceMs: number;
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #random: () => number;
  readonly #queued = new Map<string, Submission<Slice>>();
  readonly #writing = new Map<string, Submission<Slice>>();
  readonly #failures = new Map<string, { key: string; reason: string; message: string }>();
  /** The last key written for each owner (a removal's entry is dropped once written). */
  readonly #written = new Map<string, string>();
  #refresh: 'no' | 'yes' | 'force' = 'no';
  #running: Promise<void> | undefined;
  /** A write that carried no Service's slice (the shared backend pool) and failed: reported as a notice. */
  lastSharedFailure: string | undefined;
  readonly stats: WriterStats = {
    submissions: 0,
    batches: 0,
    writes: 0,
    conflicts: 0,
    unchanged: 0,
    largestBatch: 0,
  };

  constructor(target: WriteTarget<Body, Slice>, options: WriterOptions) {
    this.#target = target;
    this.#log = options.logger.child({ writer: target.description });
    this.#clock = options.clock ?? systemClock;
    this.#coalesceMs = options.coalesceMs ?? 100;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#retryBaseMs = options.retryBaseMs ?? 500;
    this.#random = options.random ?? Math.random;
  }

  get description(): string {
    return this.#target.description;
  }

  /**
   * The Service's slice (null: remove what it has) goes into the next write. A newer submission of the same owner
   * replaces a queued one; the same slice already queued or being written is not queued again.
   */
  submit(owner: string, slice: Slice | null, key: string): void {
    const queued = this.#queued.get(owner);
    if (queued?.key === key) return;
    if (queued === undefined && this.#writing.get(owner)?.key === key) return;
    this.#failures.delete(owner);
    this.#written.delete(owner);
    this.#queued.set(owner, { owner, slice, key });
    this.stats.submissions++;
    this.#kick();
  }

  /**
   * A write cycle even if no slice changed: the shared parts (the backend pool) are merged in again, and written
   * when they differ; `force`: written even when nothing differs (after a failed provisioning).
   */
  refresh(force = false): void {
    if (this.#refresh === 'force' || (this.#refresh === 'yes' && !force)) return;
    this.#refresh = force ? 'force' : 'yes';
    this.#kick();
  }

  /** Where the owner's latest submission stands; undefined when it has been written (or was never submitted). */
  state(owner: string): OwnerState | undefined {
    const queued = this.#queued.get(owner);
    if (queued) return { phase: 'queued', key: queued.key };
    const writing = this.#writing.get(owner);
    if (writing) return { phase: 'writing', key: writing.key };
    const failure = this.#failures.get(owner);
    if (failure) return { phase: 'failed', ...failure };
    const written = this.#written.get(owner);
    return written !== undefined ? { phase: 'written', key: written } : undefined;
  }

  /** Drops a failure once it has been reported, so that the next reconcile submits the slice again. */
  forget(owner: string, key: string): void {
    if (this.#failures.get(owner)?.key === key) this.#failures.delete(owner);
  }

  /** True while anything is queued or being written. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Resolves once nothing is queued or being written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      // Something submitted after the loop's last look.
      if (this.#queued.size > 0 || this.#refresh !== 'no') this.#kick();
    });
  }

  async #run(): Promise<void> {
    if (this.#coalesceMs > 0) await this.#clock.sleep(this.#coalesceMs);
    while (this.#queued.size > 0 || this.#refresh !== 'no') {
      const batch = [...this.#queued.values()];
      const force = this.#refresh === 'force';
      this.#queued.clear();
      this.#refresh = 'no';
      for (const s of batch) this.#writing.set(s.owner, s);
      try {
        await this.#write(batch, force);
      } catch (error) {
        // #write reports every failure itself; this is a bug's last line of defence, not a path.
        this.#log.error({ err: String(error) }, 'writer failed unexpectedly');
        for (const s of batch) this.#fail(s, 'InternalError', String(error));
      } finally {
        for (const s of batch) if (this.#writing.get(s.owner) === s) this.#writing.delete(s.owner);
      }
    }
  }

  /** Read, merge, write, until written, refused, or out of attempts. */
  async #write(batch: Array<Submission<Slice>>, force = false): Promise<void> {
    let live = batch;
    let last: ArmFailure | undefined;
    for (let attempt = 1; attempt <= this.#maxAttempts; ) {
      this.stats.batches++;
      try {
        const current = await this.#target.read();
        const merged = this.#target.merge(
          current,
          live.map((s) => ({ owner: s.owner, slice: s.slice })),
        );
        for (const [owner, message] of merged.rejected) {
          const s = live.find((x) => x.owner === owner);
          if (s) this.#fail(s, 'LimitExceeded', message);
        }
        live = live.filter((s) => !merged.rejected.has(s.owner));
        if (!merged.changed && !(force && merged.body !== null)) {
          this.stats.unchanged++;
          this.#done(live);
          return;
        }
        this.stats.largestBatch = Math.max(this.stats.largestBatch, live.length);
        this.stats.writes++;
        if (merged.body === null) {
          if (current) await this.#target.remove(current);
        } else {
          await this.#target.write(merged.body, current);
        }
        if (live.length === 0) this.lastSharedFailure = undefined;
        this.#done(live);
        this.#log.debug({ services: live.length, attempt }, `wrote ${this.#target.description}`);
        return;
      } catch (error) {
        if (error instanceof ArmThrottledError) {
          // The subscription is throttled: wait for the gate, without spending an attempt.
          await this.#clock.sleep(error.retryAfterMs);
          continue;
        }
        last = describeArmError(error);
        if (last.kind === 'conflict') {
          this.stats.conflicts++;
          this.#target.invalidate?.();
          this.#log.debug(
            { code: last.code, attempt },
            `${this.#target.description} changed under us; merging again`,
          );
          // A little jitter so two writers racing for one resource do not stay in step.
          await this.#clock.sleep(Math.floor(this.#random() * 100));
          attempt++;
          continue;
        }
        if (last.kind === 'transient' || last.kind === 'throttled') {
          const ceiling = this.#retryBaseMs * 2 ** (attempt - 1);
          await this.#clock.sleep(Math.max(last.retryAfterMs ?? 0, Math.floor(this.#random() * ceiling)));
          attempt++;
          continue;
        }
        // ARM refused the merged body. With several slices in it, find out whose it is: each alone.
        if (live.length > 1) {
          this.#log.info(
            { code: last.code, services: live.length },
            `${this.#target.description}: ARM refused a merged write; writing each Service alone`,
          );
          for (const s of live) await this.#write([s]);
          return;
        }
        break;
      }
    }
    const failure = last ?? { kind: 'fatal' as const, code: 'Unknown', message: 'no attempt left' };
    const message = `${this.#target.description}: ${failure.code}: ${failure.message}${traceIds(failure)}`;
    if (live.length === 0) {
      this.lastSharedFailure = message;
      this.#log.warn({ code: failure.code }, message);
    }
    for (const s of live) this.#fail(s, userFailureReason(failure), message);
  }

  #done(live: ReadonlyArray<Submission<Slice>>): void {
    for (const s of live) {
      if (this.#queued.has(s.owner)) continue;
      if (s.slice === null) this.#written.delete(s.owner);
      else this.#written.set(s.owner, s.key);
    }
  }

  #fail(s: Submission<Slice>, reason: string, message: string): void {
    // A newer submission of the owner is queued: it gets its own verdict.
    if (this.#queued.has(s.owner)) return;
    this.#failures.set(s.owner, { key: s.key, reason, message });
  }
}
