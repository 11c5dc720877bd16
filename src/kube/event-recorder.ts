// Records events.k8s.io/v1 Events the way client-go's recorder does in spirit: a repeat of the
// same event on the same object within the series window updates the existing Event's
// `series` instead of creating a new object, and series updates are themselves throttled,
// so a Service that fails every few seconds does not flood the apiserver. Events are best
// effort: a failure to record is logged and never fails a reconcile. Like client-go's
// broadcaster, writes go through one bounded queue with few senders, so a burst of Events
// trails behind the status writes users wait for instead of competing with them; when the
// queue is full, new Events are dropped (and counted) rather than held without bound.
import {
  type EventsV1Api,
  type EventsV1Event,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describe } from './leader-election.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  reportingController: string;
  reportingInstance: string;
  /** Repeats within this window join one series. */
  seriesWindowMs: number;
  /** At most one series update per event in this interval; counts in between accumulate. */
  seriesUpdateIntervalMs: number;
  /** Event writes in flight at once. */
  senders: number;
  /** Writes waiting beyond this are dropped. */
  maxQueued: number;
  onWrite?: (verb: 'create' | 'patch' | 'dropped') => void;
}

interface SeriesState {
  eventName: string;
  namespace: string;
  count: number;
  lastAt: number;
  lastPatchedAt: number;
  patchedCount: number;
  timer?: NodeJS.Timeout;
}

const NOTE_LIMIT = 1024;

export class EventRecorder {
  readonly #api: EventsV1Api;
  readonly #options: EventRecorderOptions;
  readonly #log: Logger;
  readonly #series = new Map<string, SeriesState>();
  readonly #queue: Array<() => Promise<unknown>> = [];
  #sending = 0;

  constructor(api: EventsV1Api, options: EventRecorderOptions, log: Logger) {
    this.#api = api;
    this.#options = options;
    this.#log = log.child({ component: 'events' });
  }

  /** Queues a write; one of the senders performs it. */
  #send(write: () => Promise<unknown>, what: string): void {
    if (this.#queue.length >= this.#options.maxQueued) {
      this.#options.onWrite?.('dropped');
      return;
    }
    this.#queue.push(() =>
      write().catch((error: unknown) =>
        this.#log.warn({ err: describe(error), event: what }, 'event not recorded'),
      ),
    );
    this.#pump();
  }

  #pump(): void {
    while (this.#sending < this.#options.senders && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#sending++;
      void job().finally(() => {
        this.#sending--;
        this.#pump();
      });
    }
  }

  /** Fire and forget; never throws. */
  record(target: EventTarget, type: EventType, reason: string, action: string, note: string): void {
    const namespace = target.namespace ?? 'default';
    const key = [target.uid ?? `${namespace}/${target.name}`, type, reason, action, note].join('\u0000');
    const now = Date.now();
    this.#sweep(now);
    const existing = this.#series.get(key);
    if (existing && now - existing.lastAt < this.#options.seriesWindowMs) {
      existing.count++;
      existing.lastAt = now;
      this.#scheduleSeriesUpdate(existing);
      return;
    }
    const body: EventsV1Event = {
      metadata: { name: `${target.name}.${eventSuffix(now)}`, namespace },
      eventTime: new V1MicroTime(now),
      reportingController: this.#options.reportingController,
      reportingInstance: this.#options.reportingInstance,
      action,
      reason,
      type,
      note: note.length > NOTE_LIMIT ? `${note.slice(0, NOTE_LIMIT - 3)}...` : note,
      regarding: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
        uid: target.uid,
      },
    };
    const state: SeriesState = {
      eventName: body.metadata!.name!,
      namespace,
      count: 1,
      lastAt: now,
      lastPatchedAt: now,
      patchedCount: 1,
    };
    this.#series.set(key, state);
    this.#send(() => {
      this.#options.onWrite?.('create');
      return this.#api.createNamespacedEvent({ namespace, body });
    }, `${reason} ${namespace}/${target.name}`);
  }

  #scheduleSeriesUpdate(state: SeriesState): void {
    if (state.timer) return;
    const wait = Math.max(0, state.lastPatchedAt + this.#options.seriesUpdateIntervalMs - Date.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (state.count === state.patchedCount) return;
      state.lastPatchedAt = Date.now();
      state.patchedCount = state.count;
      const series = { count: state.count, lastObservedTime: new V1MicroTime(state.lastAt) };
      this.#send(() => {
        this.#options.onWrite?.('patch');
        return this.#api.patchNamespacedEvent(
          { name: state.eventName, namespace: state.namespace, body: { series } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }, state.eventName);
    }, wait);
    state.timer.unref();
  }

  #sweep(now: number): void {
    if (this.#series.size < 256) return;
    for (const [key, state] of this.#series) {
      if (now - state.lastAt >= this.#options.seriesWindowMs && !state.timer) this.#series.delete(key);
    }
  }

  /** Cancels pending writes and series updates (on shutdown; Events are best effort). */
  stop(): void {
    this.#queue.length = 0;
    for (const state of this.#series.values()) {
      if (!state.timer) continue;
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }
}

function eventSuffix(now: number): string {
  return `${now.toString(16)}${Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0')}`;
}
