// Records events.k8s.io/v1 Events the way client-go's recorder does in spirit: a repeat of the
// same event on the same object within the series window updates the existing Event's
// `series` instead of creating a new object, and series updates are themselves throttled,
// so a Service that fails every few seconds does not flood the apiserver. Events are best
// effort: a failure to record is logged and never fails a reconcile.
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
  onWrite?: (verb: 'create' | 'patch') => void;
}

interface SeriesState {
  eventName: string;
  namespace: string;
  count: number;
  firstAt: number;
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

  constructor(api: EventsV1Api, options: EventRecorderOptions, log: Logger) {
    this.#api = api;
    this.#options = options;
    this.#log = log.child({ component: 'events' });
  }

  /** Fire and forget; never throws. */
  record(target: EventTarget, type: EventType, reason: string, action: string, note: string): void {
    void this.#record(target, type, reason, action, note).catch((error: unknown) => {
      this.#log.warn({ err: describe(error), reason, object: `${target.namespace}/${target.name}` }, 'event not recorded');
    });
  }

  async #record(target: EventTarget, type: EventType, reason: string, action: string, note: string): Promise<void> {
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
      firstAt: now,
      lastAt: now,
      lastPatchedAt: now,
      patchedCount: 1,
    };
    this.#series.set(key, state);
    this.#options.onWrite?.('create');
    await this.#api.createNamespacedEvent({ namespace, body });
  }

  #scheduleSeriesUpdate(state: SeriesState): void {
    if (state.timer) return;
    const wait = Math.max(0, state.lastPatchedAt + this.#options.seriesUpdateIntervalMs - Date.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (state.count === state.patchedCount) return;
      state.lastPatchedAt = Date.now();
      state.patchedCount = state.count;
      this.#options.onWrite?.('patch');
      this.#api
        .patchNamespacedEvent(
          {
            name: state.eventName,
            namespace: state.namespace,
            body: { series: { count: state.count, lastObservedTime: new V1MicroTime(state.lastAt) } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch((error: unknown) => {
          this.#log.warn({ err: describe(error), event: state.eventName }, 'event series not updated');
        });
    }, wait);
    state.timer.unref();
  }

  #sweep(now: number): void {
    if (this.#series.size < 256) return;
    for (const [key, state] of this.#series) {
      if (now - state.lastAt >= this.#options.seriesWindowMs && !state.timer) this.#series.delete(key);
    }
  }

  /** Cancels pending series updates (on shutdown; the counts are informational). */
  stop(): void {
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
