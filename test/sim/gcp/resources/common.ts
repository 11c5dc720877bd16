// What every resource type does the same way: identity kept across updates, PATCH versus PUT
// bodies, deletes blocked by users.
import { invalidField, reject } from '../errors.ts';
import { isRecord, type Json, mergePatch } from '../json.ts';
import type { Collection, ResourceRef } from '../links.ts';
import type { StoredResource } from '../store.ts';
import { checkName } from '../validate.ts';
import { type Change, checkNotInUse, requireResource, type World } from '../world.ts';

/** Server-owned fields a resource keeps for life. */
export interface Identity {
  id: string;
  creationTimestamp: string;
}

export function identityOf(resource: StoredResource): Identity {
  return { id: String(resource.body.id), creationTimestamp: String(resource.body.creationTimestamp) };
}

export type UpdateMode = 'patch' | 'update';

/** PATCH merges the body into the resource (JSON merge patch); PUT replaces it. */
export function updatedBody(current: Json, input: Json, mode: UpdateMode): Json {
  if (mode === 'update') return structuredClone(input);
  const merged = mergePatch(current, input);
  return isRecord(merged) ? merged : {};
}

/** The body of an update names the resource it updates; a rename is not an update. */
export function checkUnchangedName(body: Json, ref: ResourceRef): void {
  const name = checkName(body.name, 'resource.name');
  if (name !== ref.name)
    reject(invalidField('resource.name', name, `The name of '${ref.name}' cannot be changed.`));
}

export function requireBody(body: unknown): Json {
  if (!isRecord(body)) reject(invalidField('resource', body ?? '', 'A JSON object is required.'));
  return body;
}

/** Delete, refused while a resource of `blockers` refers to the target. */
export function deleteChange(
  world: World,
  ref: ResourceRef,
  label: string,
  blockers: readonly Collection[],
  afterDelete?: (deleted: StoredResource) => void,
): Change {
  const current = requireResource(world, ref);
  return {
    operationType: 'delete',
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const resource = requireResource(world, ref);
      checkNotInUse(world, resource.path, label, blockers);
      if (phase === 'commit') {
        world.store.delete(resource.path);
        afterDelete?.(resource);
      }
    },
  };
}
