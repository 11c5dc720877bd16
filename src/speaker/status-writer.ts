// Writes what users see: one L2Announcement per announced Service, Event `nodeAssigned` when a node
// starts announcing, and Warning `announceFailed` when an address cannot be announced. Addresses are
// elected one by one, so one Service may have several announcing nodes: the object is written by ONE of
// them (the winner of the Service's first elected address; with none, a caretaker), only when it
// changes, while each node tells its own Events. Runs apart from the election passes (latest input wins),
// so a slow API never delays taking or dropping an address.
import { ApiException, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventRecorder, EventTarget } from '../kube/event-recorder.ts';
import { describe } from '../kube/leader-election.ts';
import { withTimeout } from '../kube/with-timeout.ts';
import {
  type AddressStatus,
  type AnnouncementStatus,
  announcementBody,
  combineStatus,
  GROUP,
  type L2AnnouncementObject,
  nodeAssignedNote,
  ownedBy,
  PLURAL,
  sameStatus,
  showsAnnouncing,
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
  /**
   * Per Service: the Events this node last recorded while the situation they describe lasted. An entry is
   * dropped as soon as it no longer holds, so the same news told again later (A → B → A) is recorded again.
   */
  readonly #reported = new Map<string, { assigned?: string; failed?: string }>();
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
      if (decision.kind !== 'advertised') {
        this.#reported.delete(key);
        continue;
      }
      const previous = statusOf(current);
      const entries: AddressStatus[] = [];
      /** An address of ours neither announced nor failed yet: the next pass writes the object. */
      let pending = false;
      const mine = { announced: [] as string[], interfaces: new Set<string>(), failures: [] as string[] };
      const unannounceable: string[] = [];
      for (const d of decision.addresses) {
        if (d.kind === 'noCandidate') {
          const message = `no node can announce ${d.address}: ${d.reason}`;
          unannounceable.push(message);
          entries.push({ address: d.address, node: '', interfaces: [], message });
        } else if (d.node !== me) {
          entries.push({ address: d.address, node: d.node, interfaces: d.interfaces });
        } else if (!input.selfFresh) {
          pending = true;
        } else if (input.outcome.announced.has(d.address)) {
          const interfaces = input.outcome.announced.get(d.address) ?? [];
          mine.announced.push(d.address);
          for (const i of interfaces) mine.interfaces.add(i);
          entries.push({ address: d.address, node: me, interfaces });
        } else if (input.outcome.failed.has(d.address)) {
          const message = `node ${me} could not announce ${d.address}: ${input.outcome.failed.get(d.address)}`;
          mine.failures.push(message);
          entries.push({ address: d.address, node: '', interfaces: [], message });
        } else {
          pending = true;
        }
      }
      const desired = combineStatus(entries);
      const writer =
        decision.addresses.find((d) => d.kind === 'elected')?.node ??
        caretaker(key, previous?.node.split(',')[0] || undefined, input.fresh);
      // Decisions name this node only while it is fresh (the speaker leaves itself out otherwise).
      const iWrite = writer === me && !pending;
      this.#report(service, previous, {
        assigned:
          mine.announced.length > 0
            ? {
                addresses: mine.announced,
                interfaces: [...mine.interfaces].sort(),
                shown: mine.announced.every((a) =>
                  showsAnnouncing(previous, a, me, input.outcome.announced.get(a) ?? []),
                ),
              }
            : undefined,
        // This node's own failures, and (from the node that writes the object) why nobody can announce.
        failed: [...mine.failures, ...(iWrite ? unannounceable : [])],
      });
      if (iWrite) await this.#ensure(service, desired, current);
    }
    // Announcements nobody needs any more: the Service is gone, is no longer ours, or is not advertised.
    for (const obj of input.existing) {
      if (this.#stopped) return;
      const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
      const needed = input.decisions.get(key);
      if (needed && needed.decision.kind !== 'notAdvertised') continue;
      if (caretaker(key, statusOf(obj)?.node.split(',')[0] || undefined, input.fresh) !== me) continue;
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
    if (current && ownedBy(current, service) && sameStatus(previous, desired)) {
      this.#written.delete(key);
      return;
    }
    const text = JSON.stringify([service.uid, desired]);
    const written = this.#written.get(key);
    if (written?.text === text && Date.now() - written.at < WRITTEN_TRUST_MS) return;
    const body = announcementBody(service, desired, current);
    try {
      const target = { group: GROUP, version: VERSION, namespace: service.namespace, plural: PLURAL, body };
      if (current) {
        await withTimeout(
          this.#api.replaceNamespacedCustomObject({ ...target, name: service.name }),
          WRITE_TIMEOUT_MS,
        );
        this.#hooks.onWrite('update');
      } else {
        await withTimeout(this.#api.createNamespacedCustomObject(target), WRITE_TIMEOUT_MS);
        this.#hooks.onWrite('create');
      }
      this.#written.set(key, { text, at: Date.now() });
    } catch (error) {
      this.#written.delete(key);
      this.#failed(error, `could not write L2Announcement ${key}`);
    }
  }

  /**
   * Events for a change of what users should see, each told once while it lasts: `nodeAssigned` when this
   * node starts announcing addresses that the L2Announcement does not already show it announcing (a
   * restarted speaker that still holds them says nothing), `announceFailed` for a failure the object does
   * not show yet.
   */
  #report(
    service: ServiceFacts,
    previous: AnnouncementStatus | undefined,
    news: {
      assigned: { addresses: string[]; interfaces: string[]; shown: boolean } | undefined;
      failed: string[];
    },
  ): void {
    const memo = this.#reported.get(service.key) ?? {};
    const target: EventTarget = {
      apiVersion: 'v1',
      kind: 'Service',
      namespace: service.namespace,
      name: service.name,
      uid: service.uid,
    };
    if (news.assigned) {
      const note = nodeAssignedNote({ node: this.#node, ...news.assigned });
      if (memo.assigned !== note && !news.assigned.shown) {
        this.#events.record(target, 'Normal', 'nodeAssigned', 'Announce', note);
      }
      memo.assigned = note;
    } else {
      delete memo.assigned;
    }
    if (news.failed.length > 0) {
      const note = news.failed.join('; ');
      const shown = news.failed.every((f) => previous?.message?.includes(f));
      if (memo.failed !== note && !shown) {
        this.#events.record(target, 'Warning', 'announceFailed', 'Announce', note);
      }
      memo.failed = note;
    } else {
      delete memo.failed;
    }
    if (memo.assigned === undefined && memo.failed === undefined) this.#reported.delete(service.key);
    else {
      if (this.#reported.size > 50_000) this.#reported.clear();
      this.#reported.set(service.key, memo);
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
        WRITE_TIMEOUT_MS,
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
