// Resource names and URLs. Compute stores every reference as a full URL ("selfLink") under
// https://www.googleapis.com/compute/v1/ and accepts full or partial URLs from clients
// ("projects/p/regions/r/backendServices/x", "regions/r/...", "global/networks/default").
// The simulator hands out the same canonical host as GCP: links are identifiers, never fetched.

export const API_BASE = 'https://www.googleapis.com/compute/v1/';

export type Scope = { kind: 'global' } | { kind: 'region'; name: string } | { kind: 'zone'; name: string };

export type Collection =
  | 'forwardingRules'
  | 'backendServices'
  | 'healthChecks'
  | 'instanceGroups'
  | 'instances'
  | 'addresses'
  | 'firewalls'
  | 'networks'
  | 'subnetworks';

const COLLECTIONS: ReadonlySet<string> = new Set<Collection>([
  'forwardingRules',
  'backendServices',
  'healthChecks',
  'instanceGroups',
  'instances',
  'addresses',
  'firewalls',
  'networks',
  'subnetworks',
]);

export interface ResourceRef {
  project: string;
  scope: Scope;
  collection: Collection;
  name: string;
}

export const GLOBAL: Scope = { kind: 'global' };

export function regionScope(name: string): Scope {
  return { kind: 'region', name };
}

export function zoneScope(name: string): Scope {
  return { kind: 'zone', name };
}

/** "global", "regions/us-central1", "zones/us-central1-a" */
export function scopePath(scope: Scope): string {
  if (scope.kind === 'global') return 'global';
  return `${scope.kind === 'region' ? 'regions' : 'zones'}/${scope.name}`;
}

/** "projects/p/regions/r/forwardingRules/x": the form Compute uses in messages. */
export function resourcePath(ref: ResourceRef): string {
  return `projects/${ref.project}/${scopePath(ref.scope)}/${ref.collection}/${ref.name}`;
}

export function selfLink(ref: ResourceRef): string {
  return API_BASE + resourcePath(ref);
}

/** The `region` / `zone` field of a resource: a URL too. */
export function scopeLink(project: string, scope: Scope): string {
  return `${API_BASE}projects/${project}/${scopePath(scope)}`;
}

export function pathOfLink(link: string): string {
  return link.startsWith(API_BASE) ? link.slice(API_BASE.length) : link;
}

/** The segments after /compute/<version>/ of a full URL, or the partial URL itself. */
function relativeSegments(text: string): string[] | undefined {
  let rest = text;
  const scheme = /^https?:\/\/[^/]+\/(.*)$/.exec(text);
  if (scheme) {
    const versioned = /^compute\/(?:v1|beta|alpha)\/(.*)$/.exec(scheme[1] ?? '');
    if (!versioned) return undefined;
    rest = versioned[1] ?? '';
  }
  const segments = rest.split('/');
  return segments.every((segment) => segment.length > 0) ? segments : undefined;
}

/**
 * Reads a full or partial resource URL. A partial URL without "projects/<p>/" names a resource of
 * `defaultProject`. Undefined when the text is not a resource URL at all.
 */
export function parseReference(text: string, defaultProject: string): ResourceRef | undefined {
  const segments = relativeSegments(text.trim());
  if (!segments) return undefined;
  let project = defaultProject;
  let rest = segments;
  if (rest[0] === 'projects') {
    if (rest.length < 2) return undefined;
    project = rest[1] ?? '';
    rest = rest.slice(2);
  }
  let scope: Scope;
  if (rest[0] === 'global') {
    scope = GLOBAL;
    rest = rest.slice(1);
  } else if (rest[0] === 'regions' || rest[0] === 'zones') {
    const name = rest[1];
    if (!name) return undefined;
    scope = rest[0] === 'regions' ? regionScope(name) : zoneScope(name);
    rest = rest.slice(2);
  } else {
    return undefined;
  }
  const [collection, name, ...extra] = rest;
  if (!collection || !name || extra.length > 0 || !COLLECTIONS.has(collection)) return undefined;
  return { project, scope, collection: collection as Collection, name };
}

/** The last segment of a scope URL or a bare name: "…/regions/us-central1" → "us-central1". */
export function lastSegment(link: string): string {
  const parts = link.split('/');
  return parts[parts.length - 1] ?? link;
}
