// Writes what users see: one L2Announcement per announced Service (created or updated by the winning
// speaker, only when it changes), Event `nodeAssigned` when a node starts announcing, and Warning
// `announceFailed` when nothing can be announced. Runs apart from the election passes (latest input
// wins), so a slow API never delays taking or dropping an address.
import { ApiException, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventRecorder, EventTarget } from '../kube/event-recorder.ts';
import { describe } from '../kube/leader-election.ts';
import {
  type AnnouncementStatus,
  announcementBody,
  GROUP,
  type L2AnnouncementObject,
  nodeAssignedNote,
  ownedBy,
  PLURAL,
  sameStatus,
  shorten,
  statusOf,
  VERSION,
} from './announcement-status.ts';
import type { AnnounceOutcome } from './announcer.ts';
import type { ServiceFacts } from './cluster-facts.ts';
import { caretaker, type Decision } from './election.ts';

export interface StatusInput {
  decisions: ReadonlyMap<string, { service: ServiceFacts; decision: Decision }>;
  outcome: AnnounceOutcome;
  selfFresh: boolean;
  fresh: string[];
  existing: L2AnnouncementObject[];
}

export interface StatusWriterHooks {
  onWrite: (verb: 'create' | 'update' | 'delete') => void;
  /** Asks for another pass soon (a write lost a race or failed). */
  retry: () => void;
  /** The cached L2Announcement of a Service key. */
  current: (key: string) => L2AnnouncementObject | undefined;
}

const WRITE_TIMEOUT_MS = 10_000;
/** A write of ours the cache has not shown yet is trusted this long before it is checked again. */
const WRITTEN_TRUST_MS = 30_000;

export class StatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #events: EventRecorder;
  readonly #node: string;
  readonly #log: Logger;
  readonly #hooks: StatusWriterHooks;
  readonly #written = new Map<string, { text: string; at: number }>();
  readonly #reported = new Map<string, string>();
  #latest: StatusInput | undefined;
  #running = false;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    api: CustomObjectsApi,
    events: EventRecorder,
    node: string,
    log: Logger,
    hooks: StatusWriterHooks,
  ) {
    this.#api = api;
    this.#events = events;
    this.#node = node;
    this.#log = log.child({ component: 'status' });
    this.#hooks = hooks;
  }

  update(input: StatusInput): void {
    this.#latest = input;
    if (!this.#running) void this.#run();
  }

  stop(): void {
    this.#stopped = true;
    this.#latest = undefined;
    clearTimeout(this.#retryTimer);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#latest && !this.#stopped) {
        const input = this.#latest;
        this.#latest = undefined;
        await this.#apply(input);
      }
    } finally {
      this.#running = false;
    }
  }

  async #apply(input: StatusInput): Promise<void> {
    const me = this.#node;
    for (const [key, { service, decision }] of input.decisions) {
      if (this.#stopped) return;
      const current = this.#hooks.current(key);
      if (decision.kind === 'elected' && decision.node === me) {
        if (!input.selfFresh) continue;
        const announced = decision.addresses.filter((a) => input.outcome.announced.has(a.address));
        const failed = decision.addresses.filter((a) => input.outcome.failed.has(a.address));
        if (announced.length === 0 && failed.length === 0) continue;
        const interfaces = [
          ...new Set(announced.flatMap((a) => input.outcome.announced.get(a.address) ?? [])),
        ].sort();
        const first = failed[0];
        const message = first
          ? `node ${me} could not announce ${failed.map((a) => a.address).join(', ')}: ${input.outcome.failed.get(first.address)}`
          : undefined;
        const desired: AnnouncementStatus = {
          node: announced.length > 0 ? me : '',
          addresses: decision.addresses.map((a) => a.address),
          interfaces,
          ...(message ? { message: shorten(message) } : {}),
        };
        await this.#ensure(service, desired, current);
      } else if (decision.kind === 'noCandidate') {
        if (caretaker(key, statusOf(current)?.node, input.fresh) !== me) continue;
        await this.#ensure(
          service,
          {
            node: '',
            addresses: decision.addresses,
            interfaces: [],
            message: shorten(`no node can announce ${decision.addresses.join(', ')}: ${decision.reason}`),
          },
          current,
        );
      }
    }
    // Announcements nobody needs any more: the Service is gone, is no longer ours, or is not advertised.
    for (const obj of input.existing) {
      if (this.#stopped) return;
      const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
      const needed = input.decisions.get(key);
      if (needed && needed.decision.kind !== 'notAdvertised') continue;
      if (caretaker(key, statusOf(obj)?.node, input.fresh) !== me) continue;
      await this.#delete(key, obj);
    }
  }

  async #ensure(
    service: ServiceFacts,
    desired: AnnouncementStatus,
    current: L2AnnouncementObject | undefined,
  ): Promise<void> {
    const key = service.key;
    const previous = statusOf(current);
    this.#report(service, desired, previous);
    if (current && ownedBy(current, service) && sameStatus(previous, desired)) {
      this.#written.delete(key);
      return;
    }
    const text = JSON.stringify([service.uid, desired]);
    const written = this.#written.get(key);
    if (written?.text === text && Date.now() - written.at < WRITTEN_TRUST_MS) return;
    const body = announcementBody(service, desired, current);
    try {
      if (current) {
        await withTimeout(
          this.#api.replaceNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: service.namespace,
            plural: PLURAL,
            name: service.name,
            body,
          }),
        );
        this.#hooks.onWrite('update');
      } else {
        await withTimeout(
          this.#api.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: service.namespace,
            plural: PLURAL,
            body,
          }),
        );
        this.#hooks.onWrite('create');
      }
      this.#written.set(key, { text, at: Date.now() });
    } catch (error) {
      this.#written.delete(key);
      this.#failed(error, `could not write L2Announcement ${key}`);
    }
  }

  /** Events for a change of what users should see; each change is told once. */
  #report(
    service: ServiceFacts,
    desired: AnnouncementStatus,
    previous: AnnouncementStatus | undefined,
  ): void {
    const text = JSON.stringify(desired);
    if (this.#reported.get(service.key) === text) return;
    this.#reported.set(service.key, text);
    if (this.#reported.size > 50_000) this.#reported.clear();
    const target: EventTarget = {
      apiVersion: 'v1',
      kind: 'Service',
      namespace: service.namespace,
      name: service.name,
      uid: service.uid,
    };
    if (
      desired.node === this.#node &&
      (previous?.node !== this.#node || previous.interfaces.join() !== desired.interfaces.join())
    ) {
      this.#events.record(target, 'Normal', 'nodeAssigned', 'Announce', nodeAssignedNote(desired));
    }
    if (desired.message && desired.message !== previous?.message) {
      this.#events.record(target, 'Warning', 'announceFailed', 'Announce', desired.message);
    }
  }

  async #delete(key: string, obj: L2AnnouncementObject): Promise<void> {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    try {
      await withTimeout(
        this.#api.deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          // Only the object we judged: not a newer one created since for a new Service.
          body: { preconditions: { uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion } },
        }),
      );
      this.#hooks.onWrite('delete');
      this.#written.delete(key);
      this.#reported.delete(key);
      this.#log.info({ service: key }, 'deleted L2Announcement: the Service needs no announcement');
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return;
      this.#failed(error, `could not delete L2Announcement ${key}`);
    }
  }

  #failed(error: unknown, what: string): void {
    const conflict = error instanceof ApiException && (error.code === 409 || error.code === 404);
    // A lost race is normal (the cache was behind); anything else is worth a warning.
    if (conflict) this.#log.debug({ err: describe(error) }, what);
    else this.#log.warn({ err: describe(error) }, what);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#hooks.retry(), conflict ? 500 : 5000);
    this.#retryTimer.unref();
  }
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
