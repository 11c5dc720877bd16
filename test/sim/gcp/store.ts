// The committed resources of every project: what GET and list see. Pending operations change it
// only when they reach DONE.
import type { Json } from './json.ts';
import {
  type Collection,
  pathOfLink,
  type ResourceRef,
  resourcePath,
  type Scope,
  scopePath,
} from './links.ts';

export interface StoredResource {
  readonly ref: ResourceRef;
  /** "projects/p/regions/r/forwardingRules/x" */
  readonly path: string;
  /** Exactly what GET returns. */
  body: Json;
  /** Instance groups: selfLinks of member instances, in the order they were added. */
  members?: string[];
  /** Forwarding rules: path of the reserved Address whose IP the rule uses (absent: ephemeral IP). */
  addressPath?: string;
}

export class ResourceStore {
  private readonly byPath = new Map<string, StoredResource>();

  get(path: string): StoredResource | undefined {
    return this.byPath.get(path);
  }

  getRef(ref: ResourceRef): StoredResource | undefined {
    return this.byPath.get(resourcePath(ref));
  }

  getLink(link: string): StoredResource | undefined {
    return this.byPath.get(pathOfLink(link));
  }

  put(resource: StoredResource): void {
    this.byPath.set(resource.path, resource);
  }

  delete(path: string): void {
    this.byPath.delete(path);
  }

  /** Resources of one collection in one scope of one project (scope undefined: every scope). */
  list(project: string, collection: Collection, scope?: Scope): StoredResource[] {
    const prefix = `projects/${project}/${scope ? `${scopePath(scope)}/` : ''}`;
    return [...this.byPath.values()].filter(
      (resource) => resource.ref.collection === collection && resource.path.startsWith(prefix),
    );
  }

  all(): StoredResource[] {
    return [...this.byPath.values()];
  }

  clear(): void {
    this.byPath.clear();
  }
}

/** Numeric ids as Compute hands them out: uint64 in decimal text, growing. */
export class IdSource {
  private next = 4_600_000_000_000_000_001n;

  take(): string {
    const id = this.next;
    this.next += 1n;
    return id.toString();
  }
}
