// One Service's slice of the cluster's shared load balancer and NSG, and the merge of many slices into one body.
// Pure: no I/O, no clock. The writer (later) reads the LB / NSG, calls merge* with every slice submitted since its
// last write, and PUTs the result once with If-Match; so the merge must keep everything it does not own untouched,
// give every change its own verdict (a Service that would exceed a limit is refused alone, the others still go in),
// and say when nothing changed (no write at all).

import type { LoadBalancerIntent, PortIntent } from '../../intent/types.ts';
import {
  AZURE_LIMITS,
  type AzureLimits,
  type AzureProtocol,
  type AzureScope,
  type AzureSettings,
  type BackendAddressBody,
  type BackendPoolBody,
  type ForeignEntry,
  type FrontendBody,
  type LoadBalancerBody,
  type LoadBalancerSlice,
  MANAGED_PRIORITIES,
  type ProbeBody,
  type ProbeMode,
  type RuleBody,
  type SecurityGroupBody,
  type SecurityGroupSlice,
  type SecurityRuleBody,
  type SecurityRuleWish,
  type SliceChange,
} from './model.ts';
import {
  allowRuleName,
  backendPoolName,
  denyRuleName,
  frontendName,
  loadBalancerChildId,
  ownsEntry,
  probeName,
  ruleName,
  subnetId,
  virtualNetworkId,
} from './names.ts';

/** kube-proxy's health endpoint (HTTP /healthz) on every node. */
export const KUBE_PROXY_HEALTH_PORT = 10256;
export const KUBE_PROXY_HEALTH_PATH = '/healthz';

export interface SliceContext {
  scope: AzureScope;
  /** What an ETP Cluster Service's TCP ports are probed on (default nodeport). */
  probeMode: ProbeMode;
}

/**
 * The Service's desired slice of its load balancer (public or internal, from settings.internal).
 * `publicIpId`: the ARM ID of the frontend's public IP (public Services; the provider resolves the user's or names
 * Sluice's own). A Service that cannot be built gives `problem`, a reason the user can act on.
 */
export function loadBalancerSlice(
  intent: LoadBalancerIntent,
  settings: AzureSettings,
  context: SliceContext,
  publicIpId?: string,
): { slice: LoadBalancerSlice } | { problem: string } {
  const { scope } = context;
  const internal = settings.internal;
  const owner = frontendName(intent.service);
  const childId = (kind: Parameters<typeof loadBalancerChildId>[2], name: string): { id: string } => ({
    id: loadBalancerChildId(scope, internal, kind, name),
  });

  let frontend: FrontendBody;
  if (internal) {
    frontend = {
      name: owner,
      subnet: { id: subnetId(scope, settings.subnet) },
      privateIPAllocationMethod: settings.privateAddress !== undefined ? 'Static' : 'Dynamic',
      ...(settings.privateAddress !== undefined ? { privateIPAddress: settings.privateAddress } : {}),
    };
  } else {
    if (publicIpId === undefined)
      return { problem: 'internal error: no public IP resolved for a public frontend' };
    frontend = { name: owner, publicIPAddress: { id: publicIpId } };
  }

  if (intent.ports.length === 0) return { problem: 'the Service has no ports' };
  const probes = new Map<string, ProbeBody>();
  const rules: RuleBody[] = [];
  const probeBase = {
    intervalInSeconds: settings.probe.intervalSeconds,
    numberOfProbes: settings.probe.numberOfProbes,
    probeThreshold: settings.probe.numberOfProbes,
  };
  const httpProbe = (port: number, path: string): ProbeBody => ({
    name: probeName(owner, 'Http', port),
    protocol: 'Http',
    port,
    requestPath: path,
    ...probeBase,
  });

  let localProbe: ProbeBody | undefined;
  if (intent.trafficPolicy === 'Local') {
    if (intent.healthCheckNodePort === undefined) {
      return { problem: 'externalTrafficPolicy is Local but the Service has no healthCheckNodePort yet' };
    }
    localProbe = httpProbe(intent.healthCheckNodePort, KUBE_PROXY_HEALTH_PATH);
  }

  for (const port of intent.ports) {
    const protocol = azureProtocol(port);
    if (protocol === undefined)
      return { problem: `port ${port.port}/${port.protocol}: Azure load balancers carry TCP and UDP only` };
    if (port.nodePort === undefined) {
      return {
        problem: `port ${port.port}/${port.protocol} has no NodePort (allocateLoadBalancerNodePorts is false?)`,
      };
    }
    const probe = localProbe ?? clusterProbe(owner, port, protocol, settings, context.probeMode, httpProbe);
    probes.set(probe.name, probe);
    const name = ruleName(owner, protocol, port.port);
    if (rules.some((rule) => rule.name === name))
      return { problem: `port ${port.port}/${port.protocol} is listed twice` };
    rules.push({
      name,
      frontendIPConfiguration: childId('frontendIPConfigurations', owner),
      backendAddressPool: childId('backendAddressPools', backendPoolName(scope.cluster)),
      probe: childId('probes', probe.name),
      protocol,
      frontendPort: port.port,
      backendPort: settings.floatingIp ? port.port : port.nodePort,
      enableFloatingIP: settings.floatingIp,
      idleTimeoutInMinutes: settings.idleTimeoutMinutes,
      // TCP reset is a TCP feature: ARM refuses it on UDP rules.
      enableTcpReset: protocol === 'Tcp' && settings.tcpReset,
      loadDistribution: settings.loadDistribution,
      // Sluice's rules must never change how the nodes reach the Internet (that is the cluster's outbound rules' job).
      disableOutboundSnat: true,
    });
  }
  return { slice: { owner, frontend, rules, probes: [...probes.values()].sort(compareNames) } };
}

/** ETP Cluster: each TCP port's NodePort (the annotated protocol), or kube-proxy's /healthz; UDP always the latter. */
function clusterProbe(
  owner: string,
  port: PortIntent,
  protocol: AzureProtocol,
  settings: AzureSettings,
  mode: ProbeMode,
  httpProbe: (port: number, path: string) => ProbeBody,
): ProbeBody {
  // Nothing answers a TCP or HTTP probe on a UDP NodePort: UDP ports are probed through kube-proxy's health.
  if (mode === 'kube-proxy' || protocol === 'Udp')
    return httpProbe(KUBE_PROXY_HEALTH_PORT, KUBE_PROXY_HEALTH_PATH);
  const probeProtocol = settings.probe.protocol ?? 'Tcp';
  const nodePort = port.nodePort ?? port.port;
  return {
    name: probeName(owner, protocol, port.port),
    protocol: probeProtocol,
    port: nodePort,
    ...(probeProtocol !== 'Tcp' ? { requestPath: settings.probe.requestPath } : {}),
    intervalInSeconds: settings.probe.intervalSeconds,
    numberOfProbes: settings.probe.numberOfProbes,
    probeThreshold: settings.probe.numberOfProbes,
  };
}

function azureProtocol(port: PortIntent): AzureProtocol | undefined {
  if (port.protocol === 'TCP') return 'Tcp';
  if (port.protocol === 'UDP') return 'Udp';
  return undefined;
}

/**
 * The Service's desired slice of the NSG, or null when the Service asks Sluice to leave the NSG alone.
 * `frontendAddress`: the frontend's IP (known once the frontend exists); with floating IP off the packets arrive
 * at the nodes' addresses and NodePorts instead (as upstream), so those are the destinations.
 */
export function securityGroupSlice(
  intent: LoadBalancerIntent,
  settings: AzureSettings,
  frontendAddress: string,
  cluster: string,
): SecurityGroupSlice | null {
  if (!settings.access.manage) return null;
  const owner = frontendName(intent.service);
  const destinations = settings.floatingIp
    ? [frontendAddress]
    : [
        ...new Set(intent.nodes.flatMap((node) => node.internalAddresses.filter((a) => !a.includes(':')))),
      ].sort();
  const rules: SecurityRuleWish[] = [];
  if (destinations.length === 0) return { owner, rules };
  const description = `sluice: ${intent.service.namespace}/${intent.service.name} (cluster ${cluster})`;
  for (const protocol of ['Tcp', 'Udp'] as const) {
    const ports = intent.ports
      .filter((port) => azureProtocol(port) === protocol)
      .map((port) => (settings.floatingIp ? port.port : (port.nodePort ?? port.port)));
    if (ports.length === 0) continue;
    const common = {
      description,
      protocol,
      direction: 'Inbound' as const,
      sourcePortRange: '*' as const,
      destinationAddressPrefixes: destinations,
      destinationPortRanges: [...new Set(ports)].sort((a, b) => a - b).map(String),
    };
    const { ipRanges, serviceTags, denyAllOthers } = settings.access;
    if (ipRanges.length > 0) {
      rules.push({
        name: allowRuleName(owner, protocol, 'ranges'),
        access: 'Allow',
        sourceAddressPrefixes: [...ipRanges].sort(),
        ...common,
      });
    }
    // ARM takes a service tag only as the single sourceAddressPrefix: one rule per tag.
    for (const tag of serviceTags) {
      rules.push({
        name: allowRuleName(owner, protocol, { tag }),
        access: 'Allow',
        sourceAddressPrefix: tag,
        ...common,
      });
    }
    if (denyAllOthers) {
      rules.push({
        name: denyRuleName(owner, protocol),
        access: 'Deny',
        sourceAddressPrefix: '*',
        ...common,
      });
    }
  }
  return { owner, rules };
}

/** The shared IP-based backend pool: every target node's IPv4 InternalIP, in the VNet. */
export function backendPool(intent: Pick<LoadBalancerIntent, 'nodes'>, scope: AzureScope): BackendPoolBody {
  const vnet = { id: virtualNetworkId(scope) };
  const addresses: BackendAddressBody[] = [];
  for (const node of [...intent.nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    const ipAddress = node.internalAddresses.find((address) => !address.includes(':'));
    if (ipAddress !== undefined) addresses.push({ name: node.name, ipAddress, virtualNetwork: vnet });
  }
  return { name: backendPoolName(scope.cluster), loadBalancerBackendAddresses: addresses };
}

// ---- Merging into the load balancer --------------------------------------------------------------------------------

export interface LoadBalancerBase {
  name: string;
  location: string;
  /** Tags of a load balancer Sluice creates (an existing one keeps its own). */
  tags: Record<string, string>;
  /**
   * The shared pool with the current nodes: replaces the pool of that name (node changes update it once).
   * Absent (no node list known, e.g. a removal): an existing pool stays as it is, a new load balancer gets none.
   */
  backendPool?: BackendPoolBody;
}

export interface MergeResult<B> {
  /** The body to PUT; null: delete the resource (a load balancer left with no frontend). */
  body: B | null;
  /** Changes refused, by owner, with a reason for the Service (its old entries stay as they were). */
  rejected: Map<string, string>;
  /** False when the body equals what exists (no write needed). */
  changed: boolean;
}

/**
 * Applies every change (a Service's slice, or its removal) to the load balancer read from ARM (undefined: it does
 * not exist yet). Entries not owned by a changed Service are kept as they are, in place.
 * `rulesOnOtherLoadBalancer`: the rules of the cluster's other LB, whose backends are the same nodes (Azure counts
 * a NIC's rules over all load balancers).
 */
export function mergeLoadBalancer(
  current: LoadBalancerBody | undefined,
  changes: ReadonlyArray<SliceChange<LoadBalancerSlice>>,
  base: LoadBalancerBase,
  limits: AzureLimits = AZURE_LIMITS,
  rulesOnOtherLoadBalancer = 0,
): MergeResult<LoadBalancerBody> {
  let state: LoadBalancerBody = current
    ? structuredClone(current)
    : {
        name: base.name,
        location: base.location,
        sku: { name: 'Standard' },
        tags: { ...base.tags },
        frontendIPConfigurations: [],
        backendAddressPools: [],
        loadBalancingRules: [],
        probes: [],
      };
  const pool = base.backendPool;
  if (pool !== undefined) {
    state.backendAddressPools = replaceByName(state.backendAddressPools, [pool], (n) => n === pool.name);
  }
  const hasBackends = state.backendAddressPools.some(
    (entry) =>
      Array.isArray(entry.loadBalancerBackendAddresses) && entry.loadBalancerBackendAddresses.length > 0,
  );
  const rejected = new Map<string, string>();

  for (const change of changes) {
    const owned = (name: string): boolean => ownsEntry(change.owner, name);
    const next: LoadBalancerBody = {
      ...state,
      frontendIPConfigurations: replaceByName(
        state.frontendIPConfigurations,
        change.slice ? [change.slice.frontend] : [],
        owned,
      ),
      loadBalancingRules: replaceByName(state.loadBalancingRules, change.slice?.rules ?? [], owned),
      probes: replaceByName(state.probes, change.slice?.probes ?? [], owned),
    };
    const checks: Array<[number, number, number, string]> = [
      [
        next.frontendIPConfigurations.length,
        state.frontendIPConfigurations.length,
        limits.frontendsPerLoadBalancer,
        'frontend IP configurations',
      ],
      [
        next.loadBalancingRules.length,
        state.loadBalancingRules.length,
        limits.rulesPerLoadBalancer,
        'load-balancing rules',
      ],
      [next.probes.length, state.probes.length, limits.probesPerLoadBalancer, 'probes'],
    ];
    if (hasBackends) {
      checks.push([
        next.loadBalancingRules.length + rulesOnOtherLoadBalancer,
        state.loadBalancingRules.length + rulesOnOtherLoadBalancer,
        limits.rulesPerBackendAddress,
        "load-balancing rules per node (over both of the cluster's load balancers)",
      ]);
    }
    // Only growth past a limit is refused: a removal or a shrink always goes in, even on an over-full LB.
    const exceeded = checks.find(([after, before, limit]) => after > limit && after > before);
    if (exceeded) {
      const [after, , limit, what] = exceeded;
      rejected.set(
        change.owner,
        `load balancer ${base.name} would have ${after} ${what}; Azure allows ${limit} (remove ports or Services, ` +
          'or move this Service to the other visibility)',
      );
      continue;
    }
    state = next;
  }

  const body = state.frontendIPConfigurations.length === 0 ? null : state;
  const changed =
    body === null ? current !== undefined : current === undefined || !sameContent(current, body);
  return { body, rejected, changed };
}

/**
 * True when the load balancer read from ARM holds exactly this slice (ARM's extra read-only fields aside) and
 * nothing else of its owner: the Service's part is in place.
 */
export function holdsSlice(observed: LoadBalancerBody | undefined, slice: LoadBalancerSlice): boolean {
  if (observed === undefined) return false;
  const section = <T extends { name: string }>(
    entries: ReadonlyArray<ForeignEntry | T>,
    wanted: readonly T[],
  ): boolean => {
    const mine = entries.filter((entry) => ownsEntry(slice.owner, entry.name));
    return (
      mine.length === wanted.length &&
      wanted.every((want) => {
        const found = mine.find((entry) => entry.name === want.name);
        return found !== undefined && holds(found, want);
      })
    );
  };
  return (
    section(observed.frontendIPConfigurations, [slice.frontend]) &&
    section(observed.loadBalancingRules, slice.rules) &&
    section(observed.probes, slice.probes)
  );
}

/** True when the load balancer has nothing of this owner left (its removal is in place). */
export function holdsNothingOf(observed: LoadBalancerBody | undefined, owner: string): boolean {
  if (observed === undefined) return true;
  return [observed.frontendIPConfigurations, observed.loadBalancingRules, observed.probes].every((entries) =>
    entries.every((entry) => !ownsEntry(owner, entry.name)),
  );
}

/** True when the load balancer's pool of that name holds exactly these node addresses (in this order). */
export function holdsBackendPool(observed: LoadBalancerBody | undefined, pool: BackendPoolBody): boolean {
  const found = observed?.backendAddressPools.find((entry) => entry.name === pool.name);
  return found !== undefined && holds(found, pool);
}

/** True when the NSG holds exactly the owner's wished rules (any priority in the managed range) and no other of its. */
export function holdsSecurityRules(
  observed: SecurityGroupBody | undefined,
  slice: SecurityGroupSlice,
): boolean {
  if (observed === undefined) return false;
  const mine = observed.securityRules.filter((rule) => ownsEntry(slice.owner, rule.name));
  return (
    mine.length === slice.rules.length &&
    slice.rules.every((wish) => {
      const found = mine.find((rule) => rule.name === wish.name);
      return (
        found !== undefined &&
        holds(found, wish) &&
        typeof found.priority === 'number' &&
        found.priority >= MANAGED_PRIORITIES.first &&
        found.priority <= MANAGED_PRIORITIES.last
      );
    })
  );
}

/** True when the NSG has no rule of this owner left. */
export function holdsNoRulesOf(observed: SecurityGroupBody | undefined, owner: string): boolean {
  return observed === undefined || observed.securityRules.every((rule) => !ownsEntry(owner, rule.name));
}

// ---- Merging into the NSG --------------------------------------------------------------------------------------------

/**
 * Applies every change to the cluster NSG read from ARM. Rules keep their priority while they exist; new allow rules
 * take the lowest free priority of the managed range, deny rules the highest (so a Service's deny always comes
 * after its allows). A change that would exceed the NSG's rule or prefix limits, or find no free priority, is
 * refused alone.
 */
export function mergeSecurityGroup(
  current: SecurityGroupBody,
  changes: ReadonlyArray<SliceChange<SecurityGroupSlice>>,
  limits: AzureLimits = AZURE_LIMITS,
): MergeResult<SecurityGroupBody> {
  let state: SecurityGroupBody = structuredClone(current);
  const rejected = new Map<string, string>();
  for (const change of changes) {
    const previous = new Map(
      state.securityRules
        .filter((rule) => ownsEntry(change.owner, rule.name))
        .map((rule) => [rule.name, rule]),
    );
    const kept = state.securityRules.filter((rule) => !ownsEntry(change.owner, rule.name));
    const placed = placeRules(change.slice?.rules ?? [], previous, kept);
    if ('problem' in placed) {
      rejected.set(change.owner, placed.problem);
      continue;
    }
    const next: SecurityGroupBody = {
      ...state,
      securityRules: replaceByName(state.securityRules, placed.rules, (name) =>
        ownsEntry(change.owner, name),
      ),
    };
    const before = prefixCounts(state.securityRules);
    const after = prefixCounts(next.securityRules);
    const checks: Array<[number, number, number, string]> = [
      [next.securityRules.length, state.securityRules.length, limits.securityRulesPerGroup, 'security rules'],
      [after.source, before.source, limits.addressPrefixesPerSecurityGroup, 'source address prefixes'],
      [
        after.destination,
        before.destination,
        limits.addressPrefixesPerSecurityGroup,
        'destination address prefixes',
      ],
    ];
    const exceeded = checks.find(([a, b, limit]) => a > limit && a > b);
    if (exceeded) {
      const [a, , limit, what] = exceeded;
      rejected.set(
        change.owner,
        `network security group ${current.name} would have ${a} ${what}; Azure allows ${limit}`,
      );
      continue;
    }
    state = next;
  }
  return { body: state, rejected, changed: !sameContent(current, state) };
}

/** Gives each wished rule a priority: its old one when still free, else the first free one from its end of the range. */
function placeRules(
  wishes: readonly SecurityRuleWish[],
  previous: ReadonlyMap<string, SecurityRuleBody | ForeignEntry>,
  kept: ReadonlyArray<SecurityRuleBody | ForeignEntry>,
): { rules: SecurityRuleBody[] } | { problem: string } {
  const taken = new Set<number>();
  for (const rule of kept) {
    if (rule.direction !== 'Outbound' && typeof rule.priority === 'number') taken.add(rule.priority);
  }
  const rules: SecurityRuleBody[] = [];
  // Keep old priorities first, so a rule that is not moving never has to.
  const pending: SecurityRuleWish[] = [];
  for (const wish of wishes) {
    const old = previous.get(wish.name);
    const priority = old?.priority;
    if (
      typeof priority === 'number' &&
      old?.access === wish.access &&
      priority >= MANAGED_PRIORITIES.first &&
      priority <= MANAGED_PRIORITIES.last &&
      !taken.has(priority)
    ) {
      taken.add(priority);
      rules.push({ ...wish, priority });
    } else pending.push(wish);
  }
  for (const wish of pending) {
    const priority = freePriority(taken, wish.access === 'Deny' ? 'high' : 'low');
    if (priority === undefined) {
      return {
        problem: `no free priority left in ${MANAGED_PRIORITIES.first}-${MANAGED_PRIORITIES.last} of the network security group`,
      };
    }
    taken.add(priority);
    rules.push({ ...wish, priority });
  }
  const highestAllow = Math.max(0, ...rules.filter((r) => r.access === 'Allow').map((r) => r.priority));
  const lowestDeny = Math.min(Infinity, ...rules.filter((r) => r.access === 'Deny').map((r) => r.priority));
  if (lowestDeny < highestAllow) {
    return {
      problem:
        "the network security group has no room to place this Service's deny rule after its allow rules",
    };
  }
  // The order of the wishes, for a stable body.
  return { rules: wishes.flatMap((wish) => rules.filter((rule) => rule.name === wish.name)) };
}

function freePriority(taken: ReadonlySet<number>, from: 'low' | 'high'): number | undefined {
  const { first, last } = MANAGED_PRIORITIES;
  if (from === 'low') {
    for (let p = first; p <= last; p++) if (!taken.has(p)) return p;
  } else {
    for (let p = last; p >= first; p--) if (!taken.has(p)) return p;
  }
  return undefined;
}

function prefixCounts(rules: ReadonlyArray<SecurityRuleBody | ForeignEntry>): {
  source: number;
  destination: number;
} {
  let source = 0;
  let destination = 0;
  for (const rule of rules as ReadonlyArray<Record<string, unknown>>) {
    source += countPrefixes(rule.sourceAddressPrefixes, rule.sourceAddressPrefix);
    destination += countPrefixes(rule.destinationAddressPrefixes, rule.destinationAddressPrefix);
  }
  return { source, destination };
}

function countPrefixes(many: unknown, one: unknown): number {
  if (Array.isArray(many) && many.length > 0) return many.length;
  return typeof one === 'string' && one !== '' ? 1 : 0;
}

// ---- Helpers ---------------------------------------------------------------------------------------------------------

/**
 * The entries with those `owned` removed and `wanted` put in: an entry that already existed under the same name
 * keeps its place (and its very object, when it already holds every wanted field), new ones go at the end in name
 * order (so a repeated merge is a no-op, not a reshuffle).
 */
function replaceByName<E extends { name: string }, W extends { name: string }>(
  entries: readonly E[],
  wanted: readonly W[],
  owned: (name: string) => boolean,
): Array<E | W> {
  const byName = new Map(wanted.map((entry) => [entry.name, entry]));
  const result: Array<E | W> = [];
  for (const entry of entries) {
    if (!owned(entry.name)) {
      result.push(entry);
      continue;
    }
    const replacement = byName.get(entry.name);
    if (replacement !== undefined) {
      // An entry as ARM returned it that already holds what is wanted stays as it is: no change, no write.
      result.push(holds(entry, replacement) ? entry : replacement);
      byName.delete(entry.name);
    }
  }
  result.push(...[...byName.values()].sort(compareNames));
  return result;
}

function compareNames(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Deep equality of what Sluice writes, the etag aside. */
function sameContent(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a, true)) === JSON.stringify(canonical(b, true));
}

function canonical(value: unknown, top = false): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (top && key === 'etag') continue;
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/**
 * True when `observed` holds every field of `wanted` with the same value (extra fields ARM adds are ignored).
 * ARM IDs compare without regard to case: ARM may return resourceGroups in other casing than was written.
 */
export function holds(observed: unknown, wanted: unknown, key = ''): boolean {
  if (typeof wanted === 'string' && typeof observed === 'string' && key === 'id') {
    return wanted.toLowerCase() === observed.toLowerCase();
  }
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(observed) &&
      observed.length === wanted.length &&
      wanted.every((item, i) => holds(observed[i], item, key))
    );
  }
  if (wanted !== null && typeof wanted === 'object') {
    if (observed === null || typeof observed !== 'object') return false;
    return Object.entries(wanted).every(
      ([k, v]) => v === undefined || holds((observed as Record<string, unknown>)[k], v, k),
    );
  }
  return observed === wanted;
}
