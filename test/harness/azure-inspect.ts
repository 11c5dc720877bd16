// Reads back what the ARM simulator holds in one resource group as plain data a test can assert on: load
// balancers with their frontends, rules, probes and backend pool addresses; public IPs; NSGs with their rules;
// and how many writes the simulator has answered. Only the fields Sluice sets (or must leave alone) are kept;
// ARM IDs are kept whole so a test can check what refers to what.
import type { JsonObject, JsonValue } from '../sim/azure/json.ts';
import type { AzureSimulator } from '../sim/azure/simulator.ts';

export interface FrontendView {
  name: string;
  id: string;
  publicIp?: string;
  subnet?: string;
  privateIPAddress?: string;
  privateIPAllocationMethod?: string;
}

export interface RuleView {
  name: string;
  frontend: string;
  backendPool: string;
  probe: string;
  protocol: string;
  frontendPort: number;
  backendPort: number;
  enableFloatingIP: boolean;
  enableTcpReset: boolean;
  idleTimeoutInMinutes: number;
  loadDistribution: string;
  disableOutboundSnat: boolean;
}

export interface ProbeView {
  name: string;
  id: string;
  protocol: string;
  port: number;
  requestPath?: string;
  intervalInSeconds: number;
}

export interface LoadBalancerView {
  name: string;
  sku: string;
  tags: Record<string, string>;
  provisioningState: string;
  frontends: FrontendView[];
  rules: RuleView[];
  probes: ProbeView[];
  /** Backend pools by name → the IP addresses in them, sorted. */
  pools: Record<string, string[]>;
}

export interface PublicIpView {
  name: string;
  id: string;
  etag: string;
  sku: string;
  allocation: string;
  ipAddress?: string;
  tags: Record<string, string>;
  /** The IP configuration (a load balancer frontend) using it. */
  usedBy?: string;
}

export interface SecurityRuleView {
  name: string;
  access: string;
  priority: number;
  protocol: string;
  /** sourceAddressPrefixes, or [sourceAddressPrefix]. */
  sources: string[];
  destinations: string[];
  ports: string[];
}

export interface SecurityGroupView {
  name: string;
  etag: string;
  rules: SecurityRuleView[];
}

export interface ResourceGroupView {
  loadBalancers: LoadBalancerView[];
  publicIps: PublicIpView[];
  securityGroups: SecurityGroupView[];
  virtualNetworks: Array<{ name: string; etag: string }>;
}

const obj = (value: JsonValue | undefined): JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
const arr = (value: JsonValue | undefined): JsonValue[] => (Array.isArray(value) ? value : []);
const str = (value: JsonValue | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;
const num = (value: JsonValue | undefined): number => (typeof value === 'number' ? value : Number.NaN);
const props = (value: JsonValue | undefined): JsonObject => obj(obj(value).properties);
const idOf = (value: JsonValue | undefined): string | undefined => str(obj(value).id);
const tagsOf = (value: JsonValue | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(obj(obj(value).tags)).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function loadBalancerView(lb: JsonObject): LoadBalancerView {
  const p = props(lb);
  const pools: Record<string, string[]> = {};
  for (const pool of arr(p.backendAddressPools)) {
    pools[str(obj(pool).name) ?? ''] = arr(props(pool).loadBalancerBackendAddresses)
      .map((address) => str(props(address).ipAddress) ?? '')
      .sort();
  }
  return {
    name: str(lb.name) ?? '',
    sku: str(obj(lb.sku).name) ?? '',
    tags: tagsOf(lb),
    provisioningState: str(p.provisioningState) ?? '',
    frontends: arr(p.frontendIPConfigurations).map((f) => {
      const fp = props(f);
      return {
        name: str(obj(f).name) ?? '',
        id: str(obj(f).id) ?? '',
        ...optional('publicIp', idOf(fp.publicIPAddress)),
        ...optional('subnet', idOf(fp.subnet)),
        ...optional('privateIPAddress', str(fp.privateIPAddress)),
        ...optional('privateIPAllocationMethod', str(fp.privateIPAllocationMethod)),
      };
    }),
    rules: arr(p.loadBalancingRules).map((r) => {
      const rp = props(r);
      return {
        name: str(obj(r).name) ?? '',
        frontend: idOf(rp.frontendIPConfiguration) ?? '',
        backendPool: idOf(rp.backendAddressPool) ?? idOf(arr(rp.backendAddressPools)[0]) ?? '',
        probe: idOf(rp.probe) ?? '',
        protocol: str(rp.protocol) ?? '',
        frontendPort: num(rp.frontendPort),
        backendPort: num(rp.backendPort),
        enableFloatingIP: rp.enableFloatingIP === true,
        enableTcpReset: rp.enableTcpReset === true,
        idleTimeoutInMinutes: num(rp.idleTimeoutInMinutes),
        loadDistribution: str(rp.loadDistribution) ?? 'Default',
        disableOutboundSnat: rp.disableOutboundSnat === true,
      };
    }),
    probes: arr(p.probes).map((probe) => {
      const pp = props(probe);
      return {
        name: str(obj(probe).name) ?? '',
        id: str(obj(probe).id) ?? '',
        protocol: str(pp.protocol) ?? '',
        port: num(pp.port),
        ...optional('requestPath', str(pp.requestPath)),
        intervalInSeconds: num(pp.intervalInSeconds),
      };
    }),
    pools,
  };
}

function publicIpView(pip: JsonObject): PublicIpView {
  const p = props(pip);
  return {
    name: str(pip.name) ?? '',
    id: str(pip.id) ?? '',
    etag: str(pip.etag) ?? '',
    sku: str(obj(pip.sku).name) ?? '',
    allocation: str(p.publicIPAllocationMethod) ?? '',
    ...optional('ipAddress', str(p.ipAddress)),
    tags: tagsOf(pip),
    ...optional('usedBy', idOf(p.ipConfiguration)),
  };
}

function securityGroupView(nsg: JsonObject): SecurityGroupView {
  return {
    name: str(nsg.name) ?? '',
    etag: str(nsg.etag) ?? '',
    rules: arr(props(nsg).securityRules).map((rule) => {
      const p = props(rule);
      const many = (plural: JsonValue | undefined, single: JsonValue | undefined): string[] => {
        const list = arr(plural).map((v) => str(v) ?? '');
        return list.length > 0 ? list : str(single) !== undefined ? [str(single) ?? ''] : [];
      };
      return {
        name: str(obj(rule).name) ?? '',
        access: str(p.access) ?? '',
        priority: num(p.priority),
        protocol: str(p.protocol) ?? '',
        sources: many(p.sourceAddressPrefixes, p.sourceAddressPrefix),
        destinations: many(p.destinationAddressPrefixes, p.destinationAddressPrefix),
        ports: many(p.destinationPortRanges, p.destinationPortRange),
      };
    }),
  };
}

/** Everything the simulator holds in the resource group (of its default subscription), as views. */
export function resourceGroupView(sim: AzureSimulator, resourceGroup: string): ResourceGroupView {
  const group = sim
    .snapshot()
    .subscriptions.find((s) => s.id === sim.subscriptionId)
    ?.resourceGroups.find((g) => g.name === resourceGroup);
  if (group === undefined) throw new Error(`resource group ${resourceGroup} is not in the simulator`);
  return {
    loadBalancers: group.loadBalancers.map(loadBalancerView),
    publicIps: group.publicIPAddresses.map(publicIpView),
    securityGroups: group.networkSecurityGroups.map(securityGroupView),
    virtualNetworks: group.virtualNetworks.map((v) => ({ name: str(v.name) ?? '', etag: str(v.etag) ?? '' })),
  };
}

/** PUT, PATCH and DELETE requests the simulator has answered (ARM writes), over every resource type. */
export function armWrites(sim: AzureSimulator): number {
  return Object.entries(sim.counters().byCall)
    .filter(([call]) => /^(PUT|PATCH|DELETE) /.test(call) && !call.includes('entra/'))
    .reduce((sum, [, n]) => sum + n, 0);
}

/**
 * The writes (every method but GET) the simulator answered for one public IP, e.g. to prove a user's IP was never
 * written. Throws when the simulator's request log has dropped old entries and so cannot prove it.
 */
export function writesToPublicIp(sim: AzureSimulator, name: string): string[] {
  const log = sim.requestLog();
  const counters = sim.counters();
  const entra = Object.entries(counters.byCall)
    .filter(([call]) => call.includes('entra/'))
    .reduce((sum, [, n]) => sum + n, 0);
  // Every ARM request is logged (unauthenticated ones too); only those that passed authentication are counted.
  if (log.length !== counters.total - entra + counters.unauthenticated) {
    throw new Error(`the simulator's request log holds ${log.length} requests, not all of them`);
  }
  const path = `/publicipaddresses/${name.toLowerCase()}`;
  return log
    .filter((r) => r.method !== 'GET' && r.path.toLowerCase().endsWith(path))
    .map((r) => `${r.method} ${r.path} → ${r.status}`);
}
