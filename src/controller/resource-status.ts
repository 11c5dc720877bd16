// Writes the status a provider reports for the resources it watches (AddressPool counts and
// conditions). Batched: changes only mark the set dirty, and at most one pass a second compares
// every object's desired status with what it shows and patches the ones that differ. At steady
// state it writes nothing.
import {
  ApiException,
  type CustomObjectsApi,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describe } from '../kube/leader-election.ts';
import type { Reflector } from '../kube/reflector.ts';
import type { WatchedObject, WatchedResource } from '../providers/provider.ts';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const INTERVAL_MS = 1000;

type Watched = KubernetesObject & WatchedObject;

export class ResourceStatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #log: Logger;
  readonly #onWrite: (resource: string) => void;
  readonly #resources: Array<{ watch: WatchedResource; reflector: Reflector<Watched> }> = [];
  #dirty = true;
  /**
   * Per object, the write the apiserver refused for good (4xx other than conflict or throttling),
   * with the object's resourceVersion: not sent again until either changes, so a status the
   * schema rejects (or missing RBAC) costs one warning, not a write every second.
   */
  readonly #refused = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(api: CustomObjectsApi, log: Logger, onWrite: (resource: string) => void) {
    this.#api = api;
    this.#log = log.child({ component: 'resource-status' });
    this.#onWrite = onWrite;
  }

  add(watch: WatchedResource, reflector: Reflector<Watched>): void {
    this.#resources.push({ watch, reflector });
  }

  markDirty(): void {
    this.#dirty = true;
  }

  /** Only the leader writes: started with the work, stopped with it. */
  start(): void {
    if (this.#timer || this.#resources.length === 0) return;
    this.#timer = setInterval(() => {
      if (!this.#dirty || this.#running) return;
      this.#dirty = false;
      this.#running = this.#pass().finally(() => {
        this.#running = undefined;
      });
    }, INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #pass(): Promise<void> {
    for (const { watch, reflector } of this.#resources) {
      const status = watch.status;
      if (!status) continue;
      for (const object of reflector.list()) {
        const desired = status(object);
        if (desired === undefined || sameJson(object.status, desired)) continue;
        const name = object.metadata?.name ?? '';
        const attempt = `${object.metadata?.resourceVersion ?? ''} ${JSON.stringify(desired)}`;
        const id = `${watch.plural}/${name}`;
        if (this.#refused.get(id) === attempt) continue;
        try {
          this.#onWrite(`${watch.plural}/status`);
          await this.#api.patchClusterCustomObjectStatus(
            {
              group: watch.group,
              version: watch.version,
              plural: watch.plural,
              name,
              body: { status: desired },
            },
            MERGE,
          );
        } catch (error) {
          // Deleted meanwhile: nothing to report on. Anything else: try again on the next pass.
          if (error instanceof ApiException && error.code === 404) continue;
          const code = error instanceof ApiException ? error.code : 0;
          const refused = code >= 400 && code < 500 && code !== 409 && code !== 429;
          if (refused) this.#refused.set(id, attempt);
          else this.#dirty = true;
          this.#log.warn(
            { [watch.plural]: name, err: describe(error) },
            refused
              ? 'could not update the status: the apiserver refused it; not retried until the object changes'
              : 'could not update the status; retrying shortly',
          );
          continue;
        }
        this.#refused.delete(id);
      }
    }
  }
}

/** A change worth re-evaluating Services for: spec (generation) or labels, not status alone. */
export function specOrLabelsChanged(now: WatchedObject, old: WatchedObject): boolean {
  return (
    now.metadata?.generation !== old.metadata?.generation ||
    !sameJson(now.metadata?.labels ?? {}, old.metadata?.labels ?? {}) ||
    // Objects without a status subresource (or without generation) change only through spec.
    (now.metadata?.generation === undefined && !sameJson(now.spec, old.spec))
  );
}

/** Deep equality of JSON values, whatever the key order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const otherKeys = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return keys.length === otherKeys.length && keys.every((k) => sameJson(ra[k], rb[k]));
}
