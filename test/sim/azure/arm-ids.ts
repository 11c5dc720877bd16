// ARM resource IDs and request paths for the Microsoft.Network types the simulator models. Pure.
// ARM compares every segment case-insensitively; the simulator answers with the casing a resource was
// created with (and the canonical casing of type names).

export const NETWORK = 'Microsoft.Network';

export const TOP_LEVEL_TYPES = [
  'loadBalancers',
  'publicIPAddresses',
  'networkSecurityGroups',
  'virtualNetworks',
] as const;
export type TopLevelType = (typeof TOP_LEVEL_TYPES)[number];

/** The child collections of each type that can be read (and, where the table says so, written) one by one. */
export const CHILD_TYPES = {
  loadBalancers: [
    'frontendIPConfigurations',
    'backendAddressPools',
    'loadBalancingRules',
    'probes',
    'inboundNatRules',
    'outboundRules',
  ],
  networkSecurityGroups: ['securityRules', 'defaultSecurityRules'],
  virtualNetworks: ['subnets'],
  publicIPAddresses: [],
} as const satisfies Record<TopLevelType, readonly string[]>;
export type ChildType = (typeof CHILD_TYPES)[TopLevelType][number];

/** Children written through their own URL (PUT/DELETE); the rest are read-only views of the parent. */
export const WRITABLE_CHILD_TYPES: ReadonlySet<ChildType> = new Set<ChildType>([
  'securityRules',
  'backendAddressPools',
]);

/** Name of the operation kind, as ARM reports it in async status and cancellation messages. */
export function operationKind(method: 'PUT' | 'DELETE', type: TopLevelType, child?: ChildType): string {
  const verb = method === 'PUT' ? 'Put' : 'Delete';
  if (child === 'securityRules') return `${verb}SecurityRuleOperation`;
  if (child === 'backendAddressPools') return `${verb}LoadBalancerBackendAddressPoolOperation`;
  const noun: Record<TopLevelType, string> = {
    loadBalancers: 'LoadBalancer',
    publicIPAddresses: 'PublicIpAddress',
    networkSecurityGroups: 'NetworkSecurityGroup',
    virtualNetworks: 'VirtualNetwork',
  };
  return `${verb}${noun[type]}Operation`;
}

function canonicalTopLevelType(text: string): TopLevelType | undefined {
  const lower = text.toLowerCase();
  return TOP_LEVEL_TYPES.find((t) => t.toLowerCase() === lower);
}

function canonicalChildType(type: TopLevelType, text: string): ChildType | undefined {
  const lower = text.toLowerCase();
  const children: readonly ChildType[] = CHILD_TYPES[type];
  return children.find((c) => c.toLowerCase() === lower);
}

export function resourceId(
  subscriptionId: string,
  resourceGroup: string,
  type: TopLevelType,
  name: string,
): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${NETWORK}/${type}/${name}`;
}

export function childResourceId(parentId: string, child: ChildType, name: string): string {
  return `${parentId}/${child}/${name}`;
}

/** The key under which a resource is stored: ARM IDs are case-insensitive. */
export function idKey(id: string): string {
  return id.toLowerCase();
}

export function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export interface ParsedId {
  subscriptionId: string;
  resourceGroup: string;
  type: TopLevelType;
  name: string;
  child?: { type: ChildType; name: string };
}

/** Parses an ID written in a request body (a reference). Undefined for anything the simulator does not model. */
export function parseResourceId(id: string): ParsedId | undefined {
  const route = routeArmPath(id);
  if (route.kind !== 'resource') return undefined;
  const { subscriptionId, resourceGroup, type, name, child } = route;
  return child
    ? { subscriptionId, resourceGroup, type, name, child }
    : { subscriptionId, resourceGroup, type, name };
}

export type ArmRoute =
  | {
      kind: 'resource';
      subscriptionId: string;
      resourceGroup: string;
      type: TopLevelType;
      name: string;
      child?: { type: ChildType; name: string };
    }
  | { kind: 'list'; subscriptionId: string; resourceGroup?: string; type: TopLevelType }
  | {
      kind: 'listChildren';
      subscriptionId: string;
      resourceGroup: string;
      type: TopLevelType;
      name: string;
      childType: ChildType;
    }
  | {
      kind: 'operation';
      subscriptionId: string;
      location: string;
      operationId: string;
      flavor: 'status' | 'result';
    }
  | { kind: 'notModelled'; what: string }
  | { kind: 'notFound' };

function segmentsOf(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** Maps an ARM request path (without query) to what it addresses. */
export function routeArmPath(pathname: string): ArmRoute {
  const s = segmentsOf(pathname);
  if (!s || s.length < 2 || s[0]?.toLowerCase() !== 'subscriptions') return { kind: 'notFound' };
  const subscriptionId = s[1] ?? '';
  const rest = s.slice(2);
  const lower = rest.map((x) => x.toLowerCase());

  if (lower[0] === 'providers') {
    if (lower[1] !== NETWORK.toLowerCase())
      return { kind: 'notModelled', what: `resource provider ${rest[1]}` };
    if (
      lower[2] === 'locations' &&
      rest.length === 6 &&
      (lower[4] === 'operations' || lower[4] === 'operationresults')
    ) {
      return {
        kind: 'operation',
        subscriptionId,
        location: rest[3] ?? '',
        operationId: rest[5] ?? '',
        flavor: lower[4] === 'operations' ? 'status' : 'result',
      };
    }
    if (rest.length === 3) {
      const type = canonicalTopLevelType(rest[2] ?? '');
      return type
        ? { kind: 'list', subscriptionId, type }
        : { kind: 'notModelled', what: `${NETWORK}/${rest[2]}` };
    }
    return { kind: 'notModelled', what: `the path ${pathname}` };
  }

  if (lower[0] !== 'resourcegroups' || rest.length < 2) return { kind: 'notFound' };
  const resourceGroup = rest[1] ?? '';
  if (rest.length === 2) return { kind: 'notModelled', what: 'resource group operations' };
  if (lower[2] !== 'providers' || rest.length < 5) return { kind: 'notFound' };
  if (lower[3] !== NETWORK.toLowerCase())
    return { kind: 'notModelled', what: `resource provider ${rest[3]}` };
  const type = canonicalTopLevelType(rest[4] ?? '');
  if (!type) return { kind: 'notModelled', what: `${NETWORK}/${rest[4]}` };
  if (rest.length === 5) return { kind: 'list', subscriptionId, resourceGroup, type };
  const name = rest[5] ?? '';
  if (rest.length === 6) return { kind: 'resource', subscriptionId, resourceGroup, type, name };
  const childType = canonicalChildType(type, rest[6] ?? '');
  if (!childType) return { kind: 'notModelled', what: `${NETWORK}/${type}/${rest[6]}` };
  if (rest.length === 7)
    return { kind: 'listChildren', subscriptionId, resourceGroup, type, name, childType };
  if (rest.length === 8) {
    return {
      kind: 'resource',
      subscriptionId,
      resourceGroup,
      type,
      name,
      child: { type: childType, name: rest[7] ?? '' },
    };
  }
  return { kind: 'notModelled', what: `the path ${pathname}` };
}

/** ARM's rule for Network resource names: 1-80 word characters, '.', '-', '_', starting with a word character. */
const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;

export function isValidResourceName(name: string): boolean {
  return NAME.test(name);
}

/** Location as ARM normalizes it: "East US" and "eastus" are one region. */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}
