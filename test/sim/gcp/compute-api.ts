// The Compute Engine v1 methods the simulator answers: URL templates (the http rules of the
// Compute protos the Node SDK transcodes to), their method ids, and what each does.
import { notFound, reject } from './errors.ts';
import type { Json } from './json.ts';
import {
  API_BASE,
  type Collection,
  GLOBAL,
  type ResourceRef,
  regionScope,
  type Scope,
  scopeLink,
  scopePath,
  zoneScope,
} from './links.ts';
import { aggregatedResponse, listResponse, pageOf, readListQuery, type Scoped } from './listing.ts';
import type { Operation } from './operations.ts';
import { deleteAddress, insertAddress } from './resources/addresses.ts';
import {
  deleteBackendService,
  insertBackendService,
  updateBackendService,
} from './resources/backend-services.ts';
import { deleteFirewall, insertFirewall, updateFirewall } from './resources/firewalls.ts';
import { deleteForwardingRule, insertForwardingRule, setLabels } from './resources/forwarding-rules.ts';
import { deleteHealthCheck, insertHealthCheck, updateHealthCheck } from './resources/health-checks.ts';
import {
  addInstances,
  deleteInstanceGroup,
  insertInstanceGroup,
  memberEntries,
  removeInstances,
  setNamedPorts,
} from './resources/instance-groups.ts';
import { type Change, requireResource, type World } from './world.ts';

export type Outcome =
  | { kind: 'read'; body: Json }
  | { kind: 'change'; change: Change }
  | { kind: 'wait'; operation: Operation };

export interface RouteRequest {
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  body: unknown;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route {
  method: HttpMethod;
  /** Segments after /compute/v1/; ":name" captures one segment. */
  pattern: readonly string[];
  /** Compute's method id without the "compute." prefix, e.g. forwardingRules.insert. */
  id: string;
  /** Mutating: answers with an Operation, honours requestId. */
  write: boolean;
  handle(world: World, request: RouteRequest): Outcome;
}

const KINDS: Record<Collection, { list: string; aggregated: string }> = {
  forwardingRules: { list: 'compute#forwardingRuleList', aggregated: 'compute#forwardingRuleAggregatedList' },
  backendServices: { list: 'compute#backendServiceList', aggregated: 'compute#backendServiceAggregatedList' },
  healthChecks: { list: 'compute#healthCheckList', aggregated: 'compute#healthChecksAggregatedList' },
  instanceGroups: { list: 'compute#instanceGroupList', aggregated: 'compute#instanceGroupAggregatedList' },
  instances: { list: 'compute#instanceList', aggregated: 'compute#instanceAggregatedList' },
  addresses: { list: 'compute#addressList', aggregated: 'compute#addressAggregatedList' },
  firewalls: { list: 'compute#firewallList', aggregated: 'compute#firewallList' },
  networks: { list: 'compute#networkList', aggregated: 'compute#networkList' },
  subnetworks: { list: 'compute#subnetworkList', aggregated: 'compute#subnetworkAggregatedList' },
};

function param(request: RouteRequest, name: string): string {
  return request.params[name] ?? '';
}

function region(world: World, request: RouteRequest): Scope {
  const name = param(request, 'region');
  world.topology.requireRegion(name);
  return regionScope(name);
}

function zone(world: World, request: RouteRequest): Scope {
  const name = param(request, 'zone');
  world.topology.requireZone(name);
  return zoneScope(name);
}

function scopeName(scope: Scope): string {
  return scope.kind === 'global' ? '' : scope.name;
}

function ref(request: RouteRequest, scope: Scope, collection: Collection, nameParam = 'name'): ResourceRef {
  return { project: param(request, 'project'), scope, collection, name: param(request, nameParam) };
}

function list(world: World, request: RouteRequest, collection: Collection, scope: Scope): Outcome {
  const project = param(request, 'project');
  const query = readListQuery(request.query);
  const page = pageOf(
    world.store.list(project, collection, scope).map((resource) => resource.body),
    query,
    (body) => body,
  );
  const id = `projects/${project}/${scopePath(scope)}/${collection}`;
  return {
    kind: 'read',
    body: listResponse(KINDS[collection].list, id, `${scopeLink(project, scope)}/${collection}`, page),
  };
}

function aggregated(
  world: World,
  request: RouteRequest,
  collection: Collection,
  scopeKind: 'region' | 'zone',
): Outcome {
  const project = param(request, 'project');
  const query = readListQuery(request.query);
  const scopes =
    scopeKind === 'region'
      ? world.topology.regionNames().map((name) => `regions/${name}`)
      : world.topology.zoneNames().map((name) => `zones/${name}`);
  const items: Scoped[] = world.store
    .list(project, collection)
    .map((resource) => ({ scope: scopePath(resource.ref.scope), body: resource.body }));
  const page = pageOf(items, query, (item) => item.body);
  const id = `projects/${project}/aggregated/${collection}`;
  return {
    kind: 'read',
    body: aggregatedResponse(KINDS[collection].aggregated, id, `${API_BASE}${id}`, collection, scopes, page),
  };
}

function get(world: World, target: ResourceRef): Outcome {
  return { kind: 'read', body: requireResource(world, target).body };
}

function change(value: Change): Outcome {
  return { kind: 'change', change: value };
}

function findOperation(world: World, request: RouteRequest, scope: Scope): Operation {
  const project = param(request, 'project');
  const name = param(request, 'operation');
  const operation = world.operations.find(project, scope, name);
  if (!operation) reject(notFound(`projects/${project}/${scopePath(scope)}/operations/${name}`));
  return operation;
}

function listOperations(world: World, request: RouteRequest, scope: Scope): Outcome {
  const project = param(request, 'project');
  const query = readListQuery(request.query);
  const page = pageOf(
    world.operations.list(project, scope).map((operation) => world.operations.toJson(operation)),
    query,
    (body) => body,
  );
  const id = `projects/${project}/${scopePath(scope)}/operations`;
  return {
    kind: 'read',
    body: listResponse('compute#operationList', id, `${scopeLink(project, scope)}/operations`, page),
  };
}

function aggregatedOperations(world: World, request: RouteRequest): Outcome {
  const project = param(request, 'project');
  const query = readListQuery(request.query);
  const scopes = [
    'global',
    ...world.topology.regionNames().map((name) => `regions/${name}`),
    ...world.topology.zoneNames().map((name) => `zones/${name}`),
  ];
  const items: Scoped[] = world.operations
    .list(project)
    .map((operation) => ({ scope: scopePath(operation.scope), body: world.operations.toJson(operation) }));
  const page = pageOf(items, query, (item) => item.body);
  const id = `projects/${project}/aggregated/operations`;
  return {
    kind: 'read',
    body: aggregatedResponse(
      'compute#operationAggregatedList',
      id,
      `${API_BASE}${id}`,
      'operations',
      scopes,
      page,
    ),
  };
}

function route(
  method: HttpMethod,
  pattern: string,
  id: string,
  handle: (world: World, request: RouteRequest) => Outcome,
): Route {
  const write = method !== 'GET' && !id.endsWith('.wait') && !id.endsWith('.listInstances');
  return { method, pattern: `projects/:project/${pattern}`.split('/'), id, write, handle };
}

/** get and list of a regional or zonal collection the API only reads. */
function readOnly(
  segment: 'regions/:region' | 'zones/:zone',
  collection: Collection,
  scopeOf: typeof region,
): Route[] {
  return [
    route('GET', `${segment}/${collection}`, `${collection}.list`, (world, request) =>
      list(world, request, collection, scopeOf(world, request)),
    ),
    route('GET', `${segment}/${collection}/:name`, `${collection}.get`, (world, request) =>
      get(world, ref(request, scopeOf(world, request), collection)),
    ),
  ];
}

export const ROUTES: readonly Route[] = [
  // Regional health checks.
  route('GET', 'regions/:region/healthChecks', 'regionHealthChecks.list', (world, request) =>
    list(world, request, 'healthChecks', region(world, request)),
  ),
  route('POST', 'regions/:region/healthChecks', 'regionHealthChecks.insert', (world, request) =>
    change(
      insertHealthCheck(world, param(request, 'project'), scopeName(region(world, request)), request.body),
    ),
  ),
  route('GET', 'regions/:region/healthChecks/:name', 'regionHealthChecks.get', (world, request) =>
    get(world, ref(request, region(world, request), 'healthChecks')),
  ),
  route('PATCH', 'regions/:region/healthChecks/:name', 'regionHealthChecks.patch', (world, request) =>
    change(
      updateHealthCheck(world, ref(request, region(world, request), 'healthChecks'), request.body, 'patch'),
    ),
  ),
  route('PUT', 'regions/:region/healthChecks/:name', 'regionHealthChecks.update', (world, request) =>
    change(
      updateHealthCheck(world, ref(request, region(world, request), 'healthChecks'), request.body, 'update'),
    ),
  ),
  route('DELETE', 'regions/:region/healthChecks/:name', 'regionHealthChecks.delete', (world, request) =>
    change(deleteHealthCheck(world, ref(request, region(world, request), 'healthChecks'))),
  ),

  // Regional backend services.
  route('GET', 'regions/:region/backendServices', 'regionBackendServices.list', (world, request) =>
    list(world, request, 'backendServices', region(world, request)),
  ),
  route('POST', 'regions/:region/backendServices', 'regionBackendServices.insert', (world, request) =>
    change(
      insertBackendService(world, param(request, 'project'), scopeName(region(world, request)), request.body),
    ),
  ),
  route('GET', 'regions/:region/backendServices/:name', 'regionBackendServices.get', (world, request) =>
    get(world, ref(request, region(world, request), 'backendServices')),
  ),
  route('PATCH', 'regions/:region/backendServices/:name', 'regionBackendServices.patch', (world, request) =>
    change(
      updateBackendService(
        world,
        ref(request, region(world, request), 'backendServices'),
        request.body,
        'patch',
      ),
    ),
  ),
  route('PUT', 'regions/:region/backendServices/:name', 'regionBackendServices.update', (world, request) =>
    change(
      updateBackendService(
        world,
        ref(request, region(world, request), 'backendServices'),
        request.body,
        'update',
      ),
    ),
  ),
  route('DELETE', 'regions/:region/backendServices/:name', 'regionBackendServices.delete', (world, request) =>
    change(deleteBackendService(world, ref(request, region(world, request), 'backendServices'))),
  ),

  // Zonal unmanaged instance groups.
  route('GET', 'zones/:zone/instanceGroups', 'instanceGroups.list', (world, request) =>
    list(world, request, 'instanceGroups', zone(world, request)),
  ),
  route('GET', 'aggregated/instanceGroups', 'instanceGroups.aggregatedList', (world, request) =>
    aggregated(world, request, 'instanceGroups', 'zone'),
  ),
  route('POST', 'zones/:zone/instanceGroups', 'instanceGroups.insert', (world, request) =>
    change(
      insertInstanceGroup(world, param(request, 'project'), scopeName(zone(world, request)), request.body),
    ),
  ),
  route('GET', 'zones/:zone/instanceGroups/:name', 'instanceGroups.get', (world, request) =>
    get(world, ref(request, zone(world, request), 'instanceGroups')),
  ),
  route('DELETE', 'zones/:zone/instanceGroups/:name', 'instanceGroups.delete', (world, request) =>
    change(deleteInstanceGroup(world, ref(request, zone(world, request), 'instanceGroups'))),
  ),
  route(
    'POST',
    'zones/:zone/instanceGroups/:name/addInstances',
    'instanceGroups.addInstances',
    (world, request) =>
      change(addInstances(world, ref(request, zone(world, request), 'instanceGroups'), request.body)),
  ),
  route(
    'POST',
    'zones/:zone/instanceGroups/:name/removeInstances',
    'instanceGroups.removeInstances',
    (world, request) =>
      change(removeInstances(world, ref(request, zone(world, request), 'instanceGroups'), request.body)),
  ),
  route(
    'POST',
    'zones/:zone/instanceGroups/:name/setNamedPorts',
    'instanceGroups.setNamedPorts',
    (world, request) =>
      change(setNamedPorts(world, ref(request, zone(world, request), 'instanceGroups'), request.body)),
  ),
  route(
    'POST',
    'zones/:zone/instanceGroups/:name/listInstances',
    'instanceGroups.listInstances',
    (world, request) => {
      const project = param(request, 'project');
      const scope = zone(world, request);
      const group = requireResource(world, ref(request, scope, 'instanceGroups'));
      const page = pageOf(
        memberEntries(world, group, request.body),
        readListQuery(request.query),
        (entry) => entry,
      );
      const body: Json = {
        kind: 'compute#instanceGroupsListInstances',
        id: `projects/${project}/${scopePath(scope)}/instanceGroups/${group.ref.name}/listInstances`,
        selfLink: `${String(group.body.selfLink)}/listInstances`,
      };
      if (page.items.length > 0) body.items = page.items;
      if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
      return { kind: 'read', body };
    },
  ),

  // Zonal instances: seeded by tests, read here.
  ...readOnly('zones/:zone', 'instances', zone),
  route('GET', 'aggregated/instances', 'instances.aggregatedList', (world, request) =>
    aggregated(world, request, 'instances', 'zone'),
  ),

  // Regional forwarding rules.
  route('GET', 'regions/:region/forwardingRules', 'forwardingRules.list', (world, request) =>
    list(world, request, 'forwardingRules', region(world, request)),
  ),
  route('GET', 'aggregated/forwardingRules', 'forwardingRules.aggregatedList', (world, request) =>
    aggregated(world, request, 'forwardingRules', 'region'),
  ),
  route('POST', 'regions/:region/forwardingRules', 'forwardingRules.insert', (world, request) =>
    change(
      insertForwardingRule(world, param(request, 'project'), scopeName(region(world, request)), request.body),
    ),
  ),
  route('GET', 'regions/:region/forwardingRules/:name', 'forwardingRules.get', (world, request) =>
    get(world, ref(request, region(world, request), 'forwardingRules')),
  ),
  route('DELETE', 'regions/:region/forwardingRules/:name', 'forwardingRules.delete', (world, request) =>
    change(deleteForwardingRule(world, ref(request, region(world, request), 'forwardingRules'))),
  ),
  route(
    'POST',
    'regions/:region/forwardingRules/:name/setLabels',
    'forwardingRules.setLabels',
    (world, request) =>
      change(setLabels(world, ref(request, region(world, request), 'forwardingRules'), request.body)),
  ),

  // Regional static addresses.
  route('GET', 'regions/:region/addresses', 'addresses.list', (world, request) =>
    list(world, request, 'addresses', region(world, request)),
  ),
  route('GET', 'aggregated/addresses', 'addresses.aggregatedList', (world, request) =>
    aggregated(world, request, 'addresses', 'region'),
  ),
  route('POST', 'regions/:region/addresses', 'addresses.insert', (world, request) =>
    change(insertAddress(world, param(request, 'project'), scopeName(region(world, request)), request.body)),
  ),
  route('GET', 'regions/:region/addresses/:name', 'addresses.get', (world, request) =>
    get(world, ref(request, region(world, request), 'addresses')),
  ),
  route('DELETE', 'regions/:region/addresses/:name', 'addresses.delete', (world, request) =>
    change(deleteAddress(world, ref(request, region(world, request), 'addresses'))),
  ),
  route('POST', 'regions/:region/addresses/:name/setLabels', 'addresses.setLabels', (world, request) =>
    change(setLabels(world, ref(request, region(world, request), 'addresses'), request.body)),
  ),

  // Global firewall rules.
  route('GET', 'global/firewalls', 'firewalls.list', (world, request) =>
    list(world, request, 'firewalls', GLOBAL),
  ),
  route('POST', 'global/firewalls', 'firewalls.insert', (world, request) =>
    change(insertFirewall(world, param(request, 'project'), request.body)),
  ),
  route('GET', 'global/firewalls/:name', 'firewalls.get', (world, request) =>
    get(world, ref(request, GLOBAL, 'firewalls')),
  ),
  route('PATCH', 'global/firewalls/:name', 'firewalls.patch', (world, request) =>
    change(updateFirewall(world, ref(request, GLOBAL, 'firewalls'), request.body, 'patch')),
  ),
  route('PUT', 'global/firewalls/:name', 'firewalls.update', (world, request) =>
    change(updateFirewall(world, ref(request, GLOBAL, 'firewalls'), request.body, 'update')),
  ),
  route('DELETE', 'global/firewalls/:name', 'firewalls.delete', (world, request) =>
    change(deleteFirewall(world, ref(request, GLOBAL, 'firewalls'))),
  ),

  // Networks and subnetworks: seeded by tests, read here.
  route('GET', 'global/networks', 'networks.list', (world, request) =>
    list(world, request, 'networks', GLOBAL),
  ),
  route('GET', 'global/networks/:name', 'networks.get', (world, request) =>
    get(world, ref(request, GLOBAL, 'networks')),
  ),
  ...readOnly('regions/:region', 'subnetworks', region),
  route('GET', 'aggregated/subnetworks', 'subnetworks.aggregatedList', (world, request) =>
    aggregated(world, request, 'subnetworks', 'region'),
  ),

  // Operations.
  route('GET', 'regions/:region/operations', 'regionOperations.list', (world, request) =>
    listOperations(world, request, region(world, request)),
  ),
  route('GET', 'regions/:region/operations/:operation', 'regionOperations.get', (world, request) => ({
    kind: 'read',
    body: world.operations.toJson(findOperation(world, request, region(world, request))),
  })),
  route('POST', 'regions/:region/operations/:operation/wait', 'regionOperations.wait', (world, request) => ({
    kind: 'wait',
    operation: findOperation(world, request, region(world, request)),
  })),
  route('GET', 'zones/:zone/operations', 'zoneOperations.list', (world, request) =>
    listOperations(world, request, zone(world, request)),
  ),
  route('GET', 'zones/:zone/operations/:operation', 'zoneOperations.get', (world, request) => ({
    kind: 'read',
    body: world.operations.toJson(findOperation(world, request, zone(world, request))),
  })),
  route('POST', 'zones/:zone/operations/:operation/wait', 'zoneOperations.wait', (world, request) => ({
    kind: 'wait',
    operation: findOperation(world, request, zone(world, request)),
  })),
  route('GET', 'global/operations', 'globalOperations.list', (world, request) =>
    listOperations(world, request, GLOBAL),
  ),
  route('GET', 'aggregated/operations', 'globalOperations.aggregatedList', (world, request) =>
    aggregatedOperations(world, request),
  ),
  route('GET', 'global/operations/:operation', 'globalOperations.get', (world, request) => ({
    kind: 'read',
    body: world.operations.toJson(findOperation(world, request, GLOBAL)),
  })),
  route('POST', 'global/operations/:operation/wait', 'globalOperations.wait', (world, request) => ({
    kind: 'wait',
    operation: findOperation(world, request, GLOBAL),
  })),
];

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** Finds the method for a path below /compute/v1/ (segments already URL-decoded). */
export function matchRoute(method: string, segments: readonly string[]): RouteMatch | undefined {
  for (const candidate of ROUTES) {
    if (candidate.method !== method || candidate.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let matches = true;
    candidate.pattern.forEach((part, index) => {
      const segment = segments[index] ?? '';
      if (part.startsWith(':')) params[part.slice(1)] = segment;
      else if (part !== segment) matches = false;
    });
    if (matches) return { route: candidate, params };
  }
  return undefined;
}
