// Compute Engine operations: what a write answers with, and the ones a Service started that have not
// been looked at since. Nothing ever waits for an operation: apply remembers it, the next reconcile's
// observe GETs it once (DONE → forgotten, with its error if it failed; otherwise still running).
import type { ComputeClient } from './client.ts';
import { ComputeCallError, isNotFound } from './errors.ts';
import type { FailedOperation, InFlightOperation } from './model.ts';

/** Where an operation lives, to look at it again later. */
export type OperationScope = InFlightOperation['scope'];

export interface OperationRef {
  name: string;
  scope: OperationScope;
  /** PENDING | RUNNING | DONE. */
  status: string;
  /** The first error of a DONE operation that failed. */
  error?: { code: string; message: string };
}

/** The parts of a Compute Operation Sluice reads (the SDK's IOperation, loosely typed). */
export interface RawOperation {
  name?: string | null;
  status?: string | number | null;
  zone?: string | null;
  region?: string | null;
  error?: {
    errors?: Array<{
      code?: string | null;
      message?: string | null;
      errorDetails?: Array<{
        quotaInfo?: {
          metricName?: string | null;
          limitName?: string | null;
          limit?: number | null;
          dimensions?: Record<string, string> | null;
        } | null;
      }> | null;
    }> | null;
  } | null;
}

const lastSegment = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/** An operation as Sluice keeps it; a quota error names its metric and limit (errorDetails.quotaInfo). */
export function operationRef(raw: RawOperation): OperationRef {
  const scope: OperationScope = raw.zone
    ? { kind: 'zone', zone: lastSegment(raw.zone) }
    : raw.region
      ? { kind: 'region', region: lastSegment(raw.region) }
      : { kind: 'global' };
  const first = raw.error?.errors?.[0];
  const quota = first?.errorDetails?.find((d) => d.quotaInfo)?.quotaInfo;
  const quotaText = quota?.metricName
    ? ` (quota metric ${quota.metricName}${quota.limitName ? `, limit ${quota.limitName}` : ''}${
        typeof quota.limit === 'number' ? ` = ${quota.limit}` : ''
      })`
    : '';
  return {
    name: String(raw.name ?? ''),
    scope,
    status: String(raw.status ?? ''),
    ...(first
      ? {
          error: {
            code: String(first.code ?? 'UNKNOWN'),
            message: `${String(first.message ?? '')}${quotaText}`,
          },
        }
      : {}),
  };
}

/** Operations started per Service (by UID), in memory: a restart forgets them and observe copes. */
export class OperationTracker {
  readonly #byService = new Map<string, InFlightOperation[]>();
  /** When each Service last saw one of its operations finish (ms): what it reads must be newer. */
  readonly #settledAt = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  remember(serviceUid: string, operation: InFlightOperation): void {
    const list = this.#byService.get(serviceUid) ?? [];
    list.push(operation);
    this.#byService.set(serviceUid, list);
  }

  /** The Service is gone: forget when its operations finished. */
  forget(serviceUid: string): void {
    this.#settledAt.delete(serviceUid);
  }

  /** How many operations of the Service are remembered (tests, logs). */
  count(serviceUid: string): number {
    return this.#byService.get(serviceUid)?.length ?? 0;
  }

  /** Looks at each remembered operation once: finished ones are forgotten (their errors returned). */
  async check(
    client: ComputeClient,
    project: string,
    serviceUid: string,
  ): Promise<{ running: InFlightOperation[]; failed: FailedOperation[]; settledAt: number }> {
    const list = this.#byService.get(serviceUid) ?? [];
    const running: InFlightOperation[] = [];
    const failed: FailedOperation[] = [];
    await Promise.all(
      list.map(async (op) => {
        try {
          const now = await client.operation(project, op);
          if (now.status !== 'DONE') running.push(op);
          else if (now.error)
            failed.push({ target: op.target, code: now.error.code, message: now.error.message });
        } catch (error) {
          // An operation Compute no longer knows is over; anything else: look again next time.
          if (!(error instanceof ComputeCallError && isNotFound(error.failure))) running.push(op);
        }
      }),
    );
    // Only this Service's reconcile touches its entry (one worker per key), so nothing was added meanwhile.
    if (running.length === 0) this.#byService.delete(serviceUid);
    else this.#byService.set(serviceUid, running);
    if (running.length < list.length) this.#settledAt.set(serviceUid, this.#now());
    // 0: none seen finish since this process started (a restart forgets them; any recent read will do).
    return { running, failed, settledAt: this.#settledAt.get(serviceUid) ?? 0 };
  }
}
