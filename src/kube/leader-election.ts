// Lease-based leader election, after client-go's algorithm (coordination.k8s.io/v1):
// take the Lease when it is free or expired, renew it every retry period, and give up
// leadership when no renewal has succeeded within the renew deadline. Optimistic
// concurrency (resourceVersion on replace) settles races between candidates.
import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { withTimeout } from './with-timeout.ts';

export interface LeaderElectionOptions {
  namespace: string;
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void;
  /** Called once when leadership is lost or released; the process should stop acting. */
  onStoppedLeading: () => void;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #options: LeaderElectionOptions;
  readonly #log: Logger;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  #observed: V1Lease | undefined;
  #inflight: Promise<void> | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** The holder record last seen, and when (by our clock) it last changed: expiry never compares clocks. */
  #seenRecord = '';
  #seenAt = 0;

  constructor(api: CoordinationV1Api, options: LeaderElectionOptions, log: Logger) {
    this.#api = api;
    this.#options = options;
    this.#log = log.child({
      component: 'leader-election',
      lease: `${options.namespace}/${options.leaseName}`,
    });
  }

  /** Campaigns until stopped; calls back on every change of leadership. */
  run(callbacks: LeaderCallbacks): void {
    const stepDown = (why: string): void => {
      if (!this.#leading) return;
      this.#leading = false;
      this.#stopped = true;
      if (this.#timer) clearTimeout(this.#timer);
      if (this.#deadlineTimer) clearInterval(this.#deadlineTimer);
      this.#log.error(why);
      callbacks.onStoppedLeading();
    };
    const tick = async (): Promise<void> => {
      if (this.#stopped) return;
      let acquired = false;
      try {
        // A request that hangs (a half-open connection) must not outlive the renew deadline.
        acquired = await withTimeout(this.#tryAcquireOrRenew(), this.#options.renewDeadlineMs);
      } catch (error) {
        this.#log.warn({ err: describe(error) }, 'could not read or write the leader lease');
      }
      if (this.#stopped) return;
      if (acquired) {
        this.#lastRenew = Date.now();
        if (!this.#leading) {
          this.#leading = true;
          this.#log.info({ identity: this.#options.identity }, 'became leader');
          // Checked on its own clock, so that a renewal stuck in flight cannot keep us leading.
          this.#deadlineTimer = setInterval(
            () => {
              if (Date.now() - this.#lastRenew > this.#options.renewDeadlineMs) {
                stepDown('leader lease not renewed within the renew deadline; stepping down');
              }
            },
            Math.max(50, this.#options.retryPeriodMs / 2),
          );
          callbacks.onStartedLeading();
        }
      }
      this.#timer = setTimeout(() => {
        this.#inflight = tick();
      }, this.#options.retryPeriodMs);
    };
    this.#inflight = tick();
  }

  /** Stops campaigning; when leading, clears the holder so a standby takes over at once. */
  async release(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#deadlineTimer) clearInterval(this.#deadlineTimer);
    // An attempt in flight could otherwise re-take the lease just after it is released.
    await this.#inflight?.catch(() => undefined);
    if (!this.#leading || !this.#observed) return;
    this.#leading = false;
    const lease = this.#observed;
    // Only a Lease we still hold: another replica may have taken it since our last renewal.
    if (lease.spec?.holderIdentity !== this.#options.identity) return;
    try {
      await this.#api.replaceNamespacedLease({
        name: this.#options.leaseName,
        namespace: this.#options.namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: undefined,
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(),
          },
        },
      });
      this.#log.info('released leader lease');
    } catch (error) {
      this.#log.warn(
        { err: describe(error) },
        'could not release leader lease; standbys will wait for expiry',
      );
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity } = this.#options;
    const now = new V1MicroTime();
    const durationSeconds = Math.ceil(this.#options.leaseDurationMs / 1000);
    let current: V1Lease;
    try {
      current = await this.#api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 404) throw error;
      try {
        this.#observed = await this.#api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (createError) {
        if (createError instanceof ApiException && createError.code === 409) return false;
        throw createError;
      }
    }
    this.#observed = current;
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    // Like client-go, judge expiry by when we saw the record change, on our own clock, so that
    // skew between our clock and the holder's cannot end a live lease early.
    const record = `${holder}|${String(spec.renewTime as unknown)}|${spec.leaseTransitions ?? 0}`;
    if (record !== this.#seenRecord) {
      this.#seenRecord = record;
      this.#seenAt = Date.now();
    }
    const expiresAt = this.#seenAt + (spec.leaseDurationSeconds ?? 0) * 1000;
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && expiresAt > Date.now()) return false;

    const changingHolder = holder !== identity;
    try {
      this.#observed = await this.#api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...current,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            renewTime: now,
            acquireTime: changingHolder ? now : spec.acquireTime,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (changingHolder && holder !== '' ? 1 : 0),
          },
        },
      });
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return false;
      throw error;
    }
  }
}

/** A short, secret-free description of a client error for logs. */
export function describe(error: unknown): { message: string; code?: number } {
  if (error instanceof ApiException) {
    return { code: error.code, message: statusMessage(error.body) ?? `HTTP ${error.code}` };
  }
  if (error instanceof Error) return { message: error.message };
  return { message: String(error) };
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return statusMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  return undefined;
}
