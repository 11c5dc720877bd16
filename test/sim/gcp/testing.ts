// Helpers for tests that drive the real SDK against the simulator: wait for an operation the way
// Google's samples do, and read the Compute error out of what the SDK throws.
import type { protos } from '@google-cloud/compute';
import type { ComputeClients } from './clients.ts';
import { isRecord } from './json.ts';

export type ComputeOperation = protos.google.cloud.compute.v1.IOperation;

/**
 * What a mutating SDK call resolves to. At run time the first element is
 * { latestResponse: Operation, done, name, ... }; the SDK's .d.ts types it as a google.longrunning
 * Operation without latestResponse, so it is read with a check (operationOf).
 */
export type MutationResult = readonly unknown[];

/** The Compute Operation a mutating SDK call answered with. */
export function operationOf(result: MutationResult): ComputeOperation {
  const first = result[0];
  if (!isRecord(first) || !isRecord(first.latestResponse)) {
    throw new Error(`not the answer of a mutating call: ${JSON.stringify(first)}`);
  }
  return first.latestResponse as ComputeOperation;
}

function lastSegment(link: string | null | undefined): string {
  return (link ?? '').split('/').pop() ?? '';
}

function projectOf(operation: ComputeOperation): string {
  const match = /\/projects\/([^/]+)\//.exec(operation.selfLink ?? '');
  if (!match?.[1]) throw new Error(`operation ${operation.name} has no project in its selfLink`);
  return match[1];
}

/** Calls the scope's operations.wait until the operation is DONE (wait may answer before that). */
export async function waitForOperation(
  clients: ComputeClients,
  start: ComputeOperation,
): Promise<ComputeOperation> {
  let operation = start;
  const project = projectOf(start);
  const name = String(start.name);
  while (operation.status !== 'DONE') {
    if (operation.zone) {
      [operation] = await clients.zoneOperations.wait({
        project,
        zone: lastSegment(operation.zone),
        operation: name,
      });
    } else if (operation.region) {
      [operation] = await clients.regionOperations.wait({
        project,
        region: lastSegment(operation.region),
        operation: name,
      });
    } else {
      [operation] = await clients.globalOperations.wait({ project, operation: name });
    }
  }
  return operation;
}

/** Runs a mutating call and waits for its operation; returns the DONE operation (check its error). */
export async function done(
  clients: ComputeClients,
  call: Promise<MutationResult>,
): Promise<ComputeOperation> {
  return waitForOperation(clients, operationOf(await call));
}

/** Like done(), but fails when the operation ended with an error. */
export async function succeeded(
  clients: ComputeClients,
  call: Promise<MutationResult>,
): Promise<ComputeOperation> {
  const operation = await done(clients, call);
  if (operation.error)
    throw new Error(`operation ${operation.name} failed: ${JSON.stringify(operation.error)}`);
  return operation;
}

export interface ComputeApiError {
  /** HTTP status (the SDK's REST transport throws a GaxiosError whose status and code are this). */
  status: number;
  /** errors[0].reason of Compute's body. */
  reason: string;
  message: string;
  body: Record<string, unknown>;
}

/** Reads Compute's JSON error body out of what the SDK threw; throws when it is something else. */
export function computeError(thrown: unknown): ComputeApiError {
  if (!(thrown instanceof Error)) throw new Error(`not an Error: ${String(thrown)}`);
  const status = (thrown as { status?: unknown }).status;
  let parsed: unknown;
  try {
    parsed = JSON.parse(thrown.message);
  } catch {
    throw new Error(`not a Compute error body: ${thrown.message}`);
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  const first =
    error && Array.isArray(error.errors) && isRecord(error.errors[0]) ? error.errors[0] : undefined;
  if (!error || typeof status !== 'number') throw new Error(`not a Compute error: ${thrown.message}`);
  return {
    status,
    reason: typeof first?.reason === 'string' ? first.reason : '',
    message: typeof error.message === 'string' ? error.message : '',
    body: error,
  };
}

/** Awaits a call that must fail and returns Compute's error. */
export async function rejection(call: Promise<unknown>): Promise<ComputeApiError> {
  try {
    await call;
  } catch (error) {
    return computeError(error);
  }
  throw new Error('the call succeeded, but it was expected to fail');
}
