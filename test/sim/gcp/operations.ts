// Long-running operations. Every mutating call returns one; it is PENDING for `pendingMs`, RUNNING
// for `runningMs`, then DONE, and only at DONE does its change reach the resource store (as in
// Compute, where a GET right after an insert may still answer 404). A check that fails at DONE
// leaves the store untouched and puts the problem into operation.error.errors[].
//
// Time is evaluated lazily: every request first settles the operations whose time has come, in the
// order they became due, so results do not depend on timers firing.
import { setTimeout as sleep } from 'node:timers/promises';
import { type GcpError, httpStatusText, operationErrorBody, Rejection } from './errors.ts';
import type { Json } from './json.ts';
import { API_BASE, type Scope, scopeLink, scopePath } from './links.ts';
import type { IdSource } from './store.ts';

export interface OperationTiming {
  /** Time an operation stays PENDING. */
  pendingMs: number;
  /** Time it then stays RUNNING before it is DONE. */
  runningMs: number;
  /** Longest a `wait` call blocks before it answers with an operation that is not DONE yet. */
  waitTimeoutMs: number;
}

export interface OperationSpec {
  project: string;
  /** Where the operation lives: regionOperations, zoneOperations or globalOperations. */
  scope: Scope;
  operationType: string;
  targetLink: string;
  targetId: string;
  /** Path of the resource the operation changes: a second change to it waits for this one. */
  targetPath: string;
  /** Method id, e.g. forwardingRules.insert. */
  method: string;
  requestId?: string;
  /** For inserts: the quota the new resource counts against while the operation is pending. */
  quota?: { metric: string; region?: string };
  isInsert: boolean;
  /** Applies the change at DONE, or returns why it cannot (the operation then fails). */
  commit: () => GcpError | undefined;
  /** Fails the operation at DONE with this error without applying anything (fault injection). */
  forcedError?: GcpError;
}

export interface Operation extends OperationSpec {
  readonly id: string;
  readonly name: string;
  readonly seq: number;
  readonly createdAt: number;
  runningAt: number;
  doneAt: number;
  committedAt?: number;
  error?: GcpError;
}

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

function randomHex(length: number): string {
  let text = '';
  while (text.length < length)
    text += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return text.slice(0, length);
}

function keyOf(project: string, scope: Scope, name: string): string {
  return `${project}/${scopePath(scope)}/${name}`;
}

export class OperationEngine {
  private readonly operations = new Map<string, Operation>();
  /** The operations not DONE yet, so that settling stays cheap however many have finished. */
  private readonly unfinished = new Set<Operation>();
  private sequence = 0;
  private held = false;
  private readonly ids: IdSource;
  private readonly clock: () => number;
  timing: OperationTiming;

  constructor(timing: OperationTiming, ids: IdSource, clock: () => number = Date.now) {
    this.timing = { ...timing };
    this.ids = ids;
    this.clock = clock;
  }

  create(spec: OperationSpec): Operation {
    const now = this.clock();
    const runningAt = now + this.timing.pendingMs;
    const operation: Operation = {
      ...spec,
      id: this.ids.take(),
      name: `operation-${now}-${randomHex(13)}-${randomHex(8)}-${randomHex(8)}`,
      seq: this.sequence++,
      createdAt: now,
      runningAt,
      doneAt: this.held ? Number.POSITIVE_INFINITY : runningAt + this.timing.runningMs,
    };
    this.operations.set(keyOf(spec.project, spec.scope, operation.name), operation);
    this.unfinished.add(operation);
    this.settle();
    return operation;
  }

  /** Completes, in due order, every operation whose time has come. */
  settle(): void {
    const now = this.clock();
    const due = [...this.unfinished]
      .filter((operation) => operation.doneAt <= now)
      .sort((a, b) => a.doneAt - b.doneAt || a.seq - b.seq);
    for (const operation of due) this.complete(operation, Math.max(operation.doneAt, operation.createdAt));
  }

  private complete(operation: Operation, at: number): void {
    let problem = operation.forcedError;
    if (!problem) {
      try {
        problem = operation.commit();
      } catch (error) {
        // A Rejection is Compute refusing the change; anything else is a bug of the simulator, which
        // fails this operation loudly instead of leaving it unfinished forever.
        problem =
          error instanceof Rejection
            ? error.error
            : {
                httpStatus: 500,
                reason: 'simulatorBug',
                domain: 'gcp-sim',
                message: `gcp-sim internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
                operationCode: 'GCP_SIM_INTERNAL_ERROR',
              };
      }
    }
    operation.committedAt = at;
    this.unfinished.delete(operation);
    if (problem) operation.error = problem;
  }

  status(operation: Operation): OperationStatus {
    if (operation.committedAt !== undefined) return 'DONE';
    return this.clock() >= operation.runningAt ? 'RUNNING' : 'PENDING';
  }

  find(project: string, scope: Scope, name: string): Operation | undefined {
    return this.operations.get(keyOf(project, scope, name));
  }

  list(project: string, scope?: Scope): Operation[] {
    return [...this.operations.values()].filter(
      (operation) =>
        operation.project === project && (!scope || scopePath(operation.scope) === scopePath(scope)),
    );
  }

  all(): Operation[] {
    return [...this.operations.values()];
  }

  /** The unfinished operation changing the resource at `path`, if any. */
  pendingOn(path: string): Operation | undefined {
    for (const operation of this.unfinished) if (operation.targetPath === path) return operation;
    return undefined;
  }

  /** Unfinished inserts that will count against a quota. */
  pendingInserts(project: string, metric: string, region?: string): number {
    let count = 0;
    for (const operation of this.unfinished) {
      if (
        operation.project === project &&
        operation.quota?.metric === metric &&
        operation.quota.region === region
      ) {
        count += 1;
      }
    }
    return count;
  }

  /** From now on operations stay RUNNING until release(). */
  hold(): void {
    this.held = true;
    for (const operation of this.unfinished) operation.doneAt = Number.POSITIVE_INFINITY;
  }

  /** Lets held operations finish now (in the order they were created). */
  release(): void {
    this.held = false;
    const now = this.clock();
    for (const operation of this.unfinished) {
      if (operation.doneAt === Number.POSITIVE_INFINITY)
        operation.doneAt = Math.max(now, operation.runningAt);
    }
    this.settle();
  }

  isHeld(): boolean {
    return this.held;
  }

  /** Blocks until the operation is DONE or waitTimeoutMs has passed (Compute's wait is best effort too). */
  async wait(operation: Operation, signal: AbortSignal): Promise<void> {
    const deadline = this.clock() + this.timing.waitTimeoutMs;
    this.settle();
    while (operation.committedAt === undefined && !signal.aborted) {
      const now = this.clock();
      if (now >= deadline) return;
      const untilDue = operation.doneAt - now;
      const pause = Math.max(1, Math.min(untilDue, deadline - now, 25));
      try {
        await sleep(pause, undefined, { signal });
      } catch {
        return;
      }
      this.settle();
    }
  }

  toJson(operation: Operation): Json {
    const status = this.status(operation);
    const body: Json = {
      kind: 'compute#operation',
      id: operation.id,
      name: operation.name,
      operationType: operation.operationType,
      targetLink: operation.targetLink,
      targetId: operation.targetId,
      status,
      user: `gcp-sim@${operation.project}.iam.gserviceaccount.com`,
      progress: status === 'DONE' ? 100 : 0,
      insertTime: new Date(operation.createdAt).toISOString(),
      selfLink: `${API_BASE}projects/${operation.project}/${scopePath(operation.scope)}/operations/${operation.name}`,
    };
    if (status !== 'PENDING')
      body.startTime = new Date(Math.min(operation.runningAt, this.clock())).toISOString();
    if (operation.committedAt !== undefined) body.endTime = new Date(operation.committedAt).toISOString();
    if (operation.scope.kind === 'region') body.region = scopeLink(operation.project, operation.scope);
    if (operation.scope.kind === 'zone') body.zone = scopeLink(operation.project, operation.scope);
    if (operation.error) {
      body.error = operationErrorBody(operation.error);
      body.httpErrorStatusCode = operation.error.httpStatus;
      body.httpErrorMessage = httpStatusText(operation.error.httpStatus);
    }
    return body;
  }

  reset(): void {
    this.operations.clear();
    this.unfinished.clear();
    this.held = false;
  }
}
