// This speaker's heartbeat: a coordination.k8s.io/v1 Lease `sluice-speaker-<node>`, renewed every
// interval. Renewals are paced from when the previous one began, so a slow answer does not push the next
// one later. Each renewal also publishes the interfaces this node can announce on, so that every speaker
// elects only nodes that can actually carry an address.
import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describe } from '../kube/leader-election.ts';
import { withTimeout } from '../kube/with-timeout.ts';
import { INTERFACES_ANNOTATION, leaseName, SPEAKER_LABELS } from './heartbeat-view.ts';

export interface HeartbeatOptions {
  namespace: string;
  node: string;
  durationMs: number;
  intervalMs: number;
}

export interface HeartbeatHooks {
  /**
   * The interfaces annotation to publish, from the latest snapshot. Synchronous on purpose: a renewal
   * must never wait for a command (reading the interfaces may be slow, and a late renewal bounces every
   * address of this node to another one).
   */
  annotation: () => string;
  /** A renewal that began at `startedAt` (our clock) succeeded. */
  onRenewed: (startedAt: number) => void;
  onFailed: (error: unknown) => void;
}

export class Heartbeat {
  readonly #api: CoordinationV1Api;
  readonly #options: HeartbeatOptions;
  readonly #hooks: HeartbeatHooks;
  readonly #log: Logger;
  #current: V1Lease | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #stopped = true;
  #lastAttempt = 0;

  constructor(api: CoordinationV1Api, options: HeartbeatOptions, hooks: HeartbeatHooks, log: Logger) {
    this.#api = api;
    this.#options = options;
    this.#hooks = hooks;
    this.#log = log.child({
      component: 'heartbeat',
      lease: `${options.namespace}/${leaseName(options.node)}`,
    });
  }

  /** Milliseconds since the last renewal attempt began (0 before the first). */
  get sinceLastAttemptMs(): number {
    return this.#lastAttempt === 0 ? 0 : Date.now() - this.#lastAttempt;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#inflight = this.#tick();
  }

  /** Stops renewing and waits for a renewal in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#inflight?.catch(() => undefined);
  }

  /** Deletes the Lease, so that the others take this node's addresses at once. */
  async release(): Promise<void> {
    await this.stop();
    try {
      await this.#api.deleteNamespacedLease({
        name: leaseName(this.#options.node),
        namespace: this.#options.namespace,
      });
      this.#log.info('deleted heartbeat lease');
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return;
      this.#log.warn(
        { err: describe(error) },
        'could not delete heartbeat lease; the others take over when it expires',
      );
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const startedAt = Date.now();
    this.#lastAttempt = startedAt;
    try {
      const interfaces = this.#hooks.annotation();
      // An answer later than the remaining lifetime would come too late to extend anything.
      await withTimeout(this.#renew(interfaces), this.#options.durationMs - this.#options.intervalMs);
      if (!this.#stopped) this.#hooks.onRenewed(startedAt);
    } catch (error) {
      this.#current = undefined;
      if (!this.#stopped) {
        this.#log.warn({ err: describe(error) }, 'could not renew heartbeat lease');
        this.#hooks.onFailed(error);
      }
    }
    if (this.#stopped) return;
    const delay = Math.max(0, startedAt + this.#options.intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#inflight = this.#tick();
    }, delay);
  }

  async #renew(interfaces: string): Promise<void> {
    const { namespace, node } = this.#options;
    const name = leaseName(node);
    const now = new V1MicroTime();
    const durationSeconds = Math.round(this.#options.durationMs / 1000);
    const spec = { holderIdentity: node, leaseDurationSeconds: durationSeconds, renewTime: now };
    const metadata = (base: V1Lease['metadata']) => ({
      ...base,
      name,
      namespace,
      labels: { ...base?.labels, ...SPEAKER_LABELS },
      annotations: { ...base?.annotations, [INTERFACES_ANNOTATION]: interfaces },
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      let current = this.#current;
      if (!current) {
        try {
          current = await this.#api.readNamespacedLease({ name, namespace });
        } catch (error) {
          if (!(error instanceof ApiException) || error.code !== 404) throw error;
          try {
            this.#current = await this.#api.createNamespacedLease({
              namespace,
              body: {
                metadata: metadata(undefined),
                spec: { ...spec, acquireTime: now, leaseTransitions: 0 },
              },
            });
            return;
          } catch (createError) {
            if (createError instanceof ApiException && createError.code === 409) continue;
            throw createError;
          }
        }
      }
      try {
        this.#current = await this.#api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...current, metadata: metadata(current.metadata), spec: { ...current.spec, ...spec } },
        });
        return;
      } catch (error) {
        // Someone else wrote it (an earlier run of this speaker, kubectl): read it again and retry once.
        this.#current = undefined;
        if (error instanceof ApiException && (error.code === 409 || error.code === 404)) continue;
        throw error;
      }
    }
    throw new Error('the heartbeat lease changed under every attempt to renew it');
  }
}
