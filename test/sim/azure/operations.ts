// The book of long-running operations: one record per accepted PUT/DELETE, the one in progress per resource
// (a newer write supersedes it, as ARM cancels it), and which are due to finish. What finishing does to the
// resource lives in the network service; this module only keeps time and status.

import { randomUUID } from 'node:crypto';
import type { ArmError } from './arm-errors.ts';
import { idKey } from './arm-ids.ts';
import type { ResourceRecord } from './store.ts';

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export interface OperationRecord {
  id: string;
  /** ARM's name for it, e.g. PutLoadBalancerOperation. */
  kind: string;
  method: 'PUT' | 'DELETE';
  /** `provision`: the resource becomes Succeeded; `remove`: the resource goes away. */
  completion: 'provision' | 'remove';
  subscriptionId: string;
  /** Normalized region, part of the status URL. */
  location: string;
  /** The top-level resource whose state the operation changes. */
  resourceId: string;
  /** What the request addressed (the resource, or one of its children). */
  targetId: string;
  /** Resource type for counters and fault matching, e.g. loadBalancers or networkSecurityGroups/securityRules. */
  resourceType: string;
  status: OperationStatus;
  startedAt: number;
  completesAt: number;
  endedAt?: number;
  /** The resource before the request (undefined when it created the resource): what a failure restores. */
  before: ResourceRecord | undefined;
  /** A validation problem ARM reports through the operation (the resource is restored). */
  deferredError?: ArmError;
  /** An injected provisioning failure (the resource stays, in provisioning state Failed). */
  injectedFailure?: ArmError;
  error?: ArmError;
}

export type NewOperation = Omit<
  OperationRecord,
  'id' | 'status' | 'startedAt' | 'completesAt' | 'endedAt' | 'error'
>;

export class OperationBook {
  readonly #all = new Map<string, OperationRecord>();
  readonly #activeByResource = new Map<string, string>();

  start(operation: NewOperation, now: number, delayMs: number): OperationRecord {
    const record: OperationRecord = {
      ...operation,
      id: randomUUID(),
      status: 'InProgress',
      startedAt: now,
      completesAt: now + delayMs,
    };
    this.#all.set(record.id, record);
    this.#activeByResource.set(idKey(record.resourceId), record.id);
    return record;
  }

  get(id: string): OperationRecord | undefined {
    return this.#all.get(id.toLowerCase()) ?? this.#all.get(id);
  }

  /** The operation in progress on a resource, if any. */
  active(resourceId: string): OperationRecord | undefined {
    const id = this.#activeByResource.get(idKey(resourceId));
    const op = id ? this.#all.get(id) : undefined;
    return op?.status === 'InProgress' ? op : undefined;
  }

  finish(
    op: OperationRecord,
    status: Exclude<OperationStatus, 'InProgress'>,
    now: number,
    error?: ArmError,
  ): void {
    op.status = status;
    op.endedAt = now;
    if (error) op.error = error;
    if (this.#activeByResource.get(idKey(op.resourceId)) === op.id)
      this.#activeByResource.delete(idKey(op.resourceId));
  }

  /** In-progress operations due by `now` (all of them when `everything`), oldest deadline first. */
  due(now: number, everything: boolean): OperationRecord[] {
    return [...this.#all.values()]
      .filter((op) => op.status === 'InProgress' && (everything || op.completesAt <= now))
      .sort((a, b) => a.completesAt - b.completesAt || a.startedAt - b.startedAt);
  }

  list(): OperationRecord[] {
    return [...this.#all.values()].sort((a, b) => a.startedAt - b.startedAt);
  }

  clear(): void {
    this.#all.clear();
    this.#activeByResource.clear();
  }
}
