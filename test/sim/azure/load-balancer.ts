// Microsoft.Network/loadBalancers: validates a PUT body the way the Network resource provider does (names,
// references between children, references to public IPs and subnets, private address allocation, SKU,
// limits) and produces the normalized body to store; renders a stored load balancer with its read-only
// back-references. Reads the store, never writes it.
//
// Validation is deep and fails at the first problem, so the helpers below throw the ArmError value and
// prepareLoadBalancer catches it once: callers only ever see a returned value.

import { canonicalIp, isReservedInSubnet, lowestFree, parseIp, prefixContains } from './addresses.ts';
import {
  type ArmError,
  backendAddressOutsideVnet,
  backendPoolSizeLimit,
  backendPoolSpansVnets,
  basicSkuNotAvailable,
  duplicateBackendAddress,
  duplicateBackendPort,
  duplicateFrontendPort,
  frontendHasBothSubnetAndPublicIp,
  frontendHasNoSubnetOrPublicIp,
  frontendLimit,
  haPortsOnPublicFrontend,
  invalidProperty,
  invalidResourceName,
  invalidResourceReference,
  isArmError,
  missingProperty,
  noPrefixForVersion,
  notModelled,
  outboundRuleLimit,
  privateIpInReservedRange,
  privateIpInUse,
  privateIpNotInSubnet,
  probeLimit,
  publicAndPrivateFrontends,
  publicIpAddressInUse,
  referencedResourceNotProvisioned,
  ruleLimit,
  rulesPerBackendAddressLimit,
  samePrivateIpTwice,
  subnetIsFull,
  withoutFrontendCantHaveChildren,
} from './arm-errors.ts';
import { idKey, isValidResourceName, normalizeLocation, sameId } from './arm-ids.ts';
import {
  arrayAt,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  objectAt,
  present,
  referenceIdAt,
  stringAt,
} from './json.ts';
import {
  type NamedChild,
  type PreparedWrite,
  readBoolean,
  readChildren,
  readEnum,
  readEnvelope,
  readInteger,
  readReference,
  readZones,
  skuName,
  skuTier,
  type WriteContext,
} from './resource-common.ts';
import type { ResourceRecord } from './store.ts';
import { findSubnet, type SubnetView, takenInSubnet, vnetSpace } from './virtual-network.ts';

/** Properties ARM computes; whatever a caller sends for them is dropped. */
const READ_ONLY = [
  'provisioningState',
  'loadBalancingRules',
  'inboundNatRules',
  'outboundRules',
  'inboundNatPools',
  'backendIPConfigurations',
  'backendIPConfiguration',
];

function withoutReadOnly(properties: JsonObject): JsonObject {
  const out: JsonObject = { ...properties };
  for (const key of READ_ONLY) delete out[key];
  return out;
}

function fail(error: ArmError): never {
  throw error;
}

/** Unwraps a reader's result, turning an ArmError into an exception caught once in prepareLoadBalancer. */
function must<T>(value: T | ArmError): T {
  if (isArmError(value)) fail(value);
  return value;
}

export function prepareLoadBalancer(input: JsonObject, ctx: WriteContext): PreparedWrite | ArmError {
  try {
    return build(input, ctx);
  } catch (error) {
    if (isArmError(error)) return error;
    throw error;
  }
}

function build(input: JsonObject, ctx: WriteContext): PreparedWrite {
  const envelope = must(readEnvelope(input, ctx));
  const sku = skuName(input) ?? 'Basic';
  if (sku.toLowerCase() !== 'standard') fail(basicSkuNotAvailable('Load balancer', ctx.id));
  const tier = skuTier(input) ?? 'Regional';
  if (tier.toLowerCase() !== 'regional') fail(notModelled('cross-region (Global tier) load balancers'));

  const p = envelope.properties;
  const path = 'properties';
  const frontends = must(
    readChildren(p, 'frontendIPConfigurations', ctx.id, 'frontendIPConfigurations', path),
  );
  const pools = must(readChildren(p, 'backendAddressPools', ctx.id, 'backendAddressPools', path));
  const probes = must(readChildren(p, 'probes', ctx.id, 'probes', path));
  const rules = must(readChildren(p, 'loadBalancingRules', ctx.id, 'loadBalancingRules', path));
  const natRules = must(readChildren(p, 'inboundNatRules', ctx.id, 'inboundNatRules', path));
  const outboundRules = must(readChildren(p, 'outboundRules', ctx.id, 'outboundRules', path));
  const natPools = arrayAt(p, 'inboundNatPools');
  if (natPools && natPools.length > 0) fail(notModelled('inbound NAT pools'));

  const children = pools.length + probes.length + rules.length + natRules.length + outboundRules.length;
  if (frontends.length === 0 && children > 0) fail(withoutFrontendCantHaveChildren(ctx.id));
  const { limits } = ctx;
  if (frontends.length > limits.frontendIPConfigurationsPerLoadBalancer) {
    fail(frontendLimit(limits.frontendIPConfigurationsPerLoadBalancer));
  }
  if (rules.length + natRules.length > limits.rulesPerLoadBalancer) {
    fail(ruleLimit(limits.rulesPerLoadBalancer, rules.length + natRules.length));
  }
  if (probes.length > limits.probesPerLoadBalancer) fail(probeLimit(limits.probesPerLoadBalancer));
  if (outboundRules.length > limits.outboundRulesPerLoadBalancer)
    fail(outboundRuleLimit(limits.outboundRulesPerLoadBalancer));

  const normalizedFrontends = buildFrontends(frontends, ctx, envelope.location);
  const internalFrontends = new Set<string>();
  let publicCount = 0;
  for (const fe of normalizedFrontends) {
    if (referenceIdAt(objectAt(fe, 'properties') ?? {}, 'subnet'))
      internalFrontends.add(idKey(stringAt(fe, 'id') ?? ''));
    else publicCount++;
  }
  if (publicCount > 0 && internalFrontends.size > 0) fail(publicAndPrivateFrontends(ctx.id));

  const normalizedPools = pools.map((pool, i) => buildPool(pool, i, ctx));
  const normalizedProbes = probes.map((probe, i) => buildProbe(probe, i));
  const byKey = (children: NamedChild[]) => new Map(children.map((c) => [idKey(c.id), c.id]));
  const ids: ChildIds = { frontends: byKey(frontends), pools: byKey(pools), probes: byKey(probes) };
  const normalizedRules = rules.map((rule, i) => buildRule(rule, i, ids, internalFrontends));
  checkRuleConflicts(normalizedRules);
  const normalizedNatRules = natRules.map((rule, i) => buildNatRule(rule, i, ids));
  const normalizedOutbound = outboundRules.map((rule, i) => buildOutboundRule(rule, i, ids));

  const body: JsonObject = {
    location: envelope.location,
    tags: envelope.tags,
    sku: { name: 'Standard', tier: 'Regional' },
    properties: {
      frontendIPConfigurations: normalizedFrontends,
      backendAddressPools: normalizedPools,
      loadBalancingRules: normalizedRules,
      probes: normalizedProbes,
      inboundNatRules: normalizedNatRules,
      outboundRules: normalizedOutbound,
      inboundNatPools: [],
    },
  };
  checkRulesPerBackendAddress(body, ctx);
  return { body, location: envelope.location };
}

// --- frontends ------------------------------------------------------------------------------------------

function buildFrontends(frontends: NamedChild[], ctx: WriteContext, location: string): JsonObject[] {
  const previous = new Map<string, JsonObject>();
  for (const fe of arrayAt(
    objectAt(ctx.existing?.body ?? {}, 'properties') ?? {},
    'frontendIPConfigurations',
  ) ?? []) {
    if (isJsonObject(fe)) previous.set((stringAt(fe, 'name') ?? '').toLowerCase(), fe);
  }
  const usedPublicIps = new Map<string, string>();
  /** subnet key | address → frontend ID, for the addresses this request claims. */
  const claimed = new Map<string, string>();
  const out = new Map<number, JsonObject>();
  // Static addresses first, then dynamic frontends that already have one, then new ones: so that no new
  // frontend takes an address a static one asks for or an existing one holds.
  const rank = (fe: NamedChild) => {
    if (stringAt(fe.properties, 'privateIPAllocationMethod')?.toLowerCase() === 'static') return 0;
    return previous.has(fe.name.toLowerCase()) ? 1 : 2;
  };
  const order = frontends.map((fe, index) => ({ fe, index })).sort((a, b) => rank(a.fe) - rank(b.fe));
  for (const { fe, index } of order) {
    const path = `properties.frontendIPConfigurations[${index}]`;
    const properties = withoutReadOnly(fe.properties);
    const pip = must(readReference(fe.properties, 'publicIPAddress', `${path}.properties`));
    const subnet = must(readReference(fe.properties, 'subnet', `${path}.properties`));
    if (pip && subnet) fail(frontendHasBothSubnetAndPublicIp(fe.id));
    if (!pip && !subnet) fail(frontendHasNoSubnetOrPublicIp(fe.id));
    const zones = must(readZones(fe.source, path));
    const normalized: JsonObject = { name: fe.name, id: fe.id };
    if (pip) {
      const record = ctx.store.get(pip);
      if (
        record?.type !== 'publicIPAddresses' ||
        normalizeLocation(record.location) !== normalizeLocation(location)
      ) {
        fail(invalidResourceReference(pip, fe.id));
      }
      if (record.provisioningState !== 'Succeeded') {
        fail(
          referencedResourceNotProvisioned(
            record.id,
            ctx.id,
            record.provisioningState,
            record.lastOperationKind,
          ),
        );
      }
      const user = ctx.store.usage().publicIpUsers.get(idKey(record.id));
      if (user && !sameId(user, fe.id)) fail(publicIpAddressInUse(record.id, user, fe.id));
      const inThisRequest = usedPublicIps.get(idKey(record.id));
      if (inThisRequest) fail(publicIpAddressInUse(record.id, inThisRequest, fe.id));
      usedPublicIps.set(idKey(record.id), fe.id);
      delete properties.subnet;
      delete properties.privateIPAddress;
      delete properties.privateIPAddressVersion;
      normalized.properties = {
        ...properties,
        publicIPAddress: { id: record.id },
        privateIPAllocationMethod: 'Dynamic',
      };
    } else if (subnet) {
      const view = findSubnet(ctx.store, subnet);
      if (!view || normalizeLocation(view.vnet.location) !== normalizeLocation(location)) {
        fail(invalidResourceReference(subnet, fe.id));
      }
      const address = privateAddress(fe, path, view, ctx, previous.get(fe.name.toLowerCase()), claimed);
      delete properties.publicIPAddress;
      normalized.properties = { ...properties, ...address, subnet: { id: view.id } };
    }
    if (zones) normalized.zones = zones;
    out.set(index, normalized);
  }
  return frontends.map((_, index) => out.get(index) ?? {});
}

function privateAddress(
  fe: NamedChild,
  path: string,
  view: SubnetView,
  ctx: WriteContext,
  previous: JsonObject | undefined,
  claimed: Map<string, string>,
): JsonObject {
  const propsPath = `${path}.properties`;
  const version = must(
    readEnum(fe.properties, 'privateIPAddressVersion', propsPath, ['IPv4', 'IPv6'], 'IPv4'),
  );
  const method = must(
    readEnum(fe.properties, 'privateIPAllocationMethod', propsPath, ['Static', 'Dynamic'], 'Dynamic'),
  );
  const prefixes = view.prefixes.filter((p) => p.family === version);
  const first = prefixes[0];
  if (!first) fail(noPrefixForVersion(view.id, version ?? 'IPv4', fe.id));
  const taken = takenInSubnet(ctx.store, view, ctx.id);
  const subnetKey = idKey(view.id);
  let address: string;
  if (method === 'Static') {
    const text = stringAt(fe.properties, 'privateIPAddress');
    if (text === undefined || text === '') fail(missingProperty(`${propsPath}.privateIPAddress`));
    const canonical = canonicalIp(text);
    const parsed = parseIp(text);
    if (!canonical || !parsed || parsed.family !== version) {
      fail(invalidProperty(`${propsPath}.privateIPAddress`, `must be an ${version} address`));
    }
    const prefix = prefixes.find((p) => prefixContains(p, canonical));
    if (!prefix) fail(privateIpNotInSubnet(canonical, first.text));
    if (isReservedInSubnet(prefix, parsed.value)) fail(privateIpInReservedRange(canonical, prefix.text));
    const holder = taken.get(canonical);
    if (holder) fail(privateIpInUse(canonical, holder, fe.id));
    const other = claimed.get(`${subnetKey}|${canonical}`);
    if (other) fail(samePrivateIpTwice(fe.id, other, canonical));
    address = canonical;
  } else {
    const before = previous ? objectAt(previous, 'properties') : undefined;
    const kept = before ? stringAt(before, 'privateIPAddress') : undefined;
    const keptSubnet = before ? referenceIdAt(before, 'subnet') : undefined;
    const keep =
      kept !== undefined &&
      keptSubnet !== undefined &&
      sameId(keptSubnet, view.id) &&
      prefixes.some((p) => prefixContains(p, kept)) &&
      !taken.has(kept) &&
      !claimed.has(`${subnetKey}|${kept}`);
    if (keep) {
      address = kept;
    } else {
      const used = new Set<string>(taken.keys());
      for (const key of claimed.keys())
        if (key.startsWith(`${subnetKey}|`)) used.add(key.slice(subnetKey.length + 1));
      let found: string | undefined;
      for (const prefix of prefixes) {
        found = lowestFree(prefix, used);
        if (found) break;
      }
      if (!found) fail(subnetIsFull(view.id, first.text));
      address = found;
    }
  }
  claimed.set(`${subnetKey}|${address}`, fe.id);
  return {
    privateIPAddress: address,
    privateIPAllocationMethod: method ?? 'Dynamic',
    privateIPAddressVersion: version ?? 'IPv4',
  };
}

// --- backend pools --------------------------------------------------------------------------------------

function buildPool(pool: NamedChild, index: number, ctx: WriteContext): JsonObject {
  const path = `properties.backendAddressPools[${index}].properties`;
  const properties = withoutReadOnly(pool.properties);
  const raw = pool.properties.loadBalancerBackendAddresses;
  const addresses: JsonObject[] = [];
  if (present(raw)) {
    if (!Array.isArray(raw))
      fail(invalidProperty(`${path}.loadBalancerBackendAddresses`, 'must be an array'));
    if (raw.length > ctx.limits.backendAddressesPerPool) {
      fail(backendPoolSizeLimit(pool.id, ctx.limits.backendAddressesPerPool, raw.length));
    }
    const names = new Set<string>();
    const ips = new Set<string>();
    let poolVnet: string | undefined;
    for (const [i, element] of raw.entries()) {
      const at = `${path}.loadBalancerBackendAddresses[${i}]`;
      if (!isJsonObject(element)) fail(invalidProperty(at, 'must be an object'));
      const name = stringAt(element, 'name');
      if (name === undefined || name === '') fail(missingProperty(`${at}.name`));
      if (!isValidResourceName(name)) fail(invalidResourceName(name));
      if (names.has(name.toLowerCase())) fail(invalidProperty(`${at}.name`, `repeats the name ${name}`));
      names.add(name.toLowerCase());
      const props = isJsonObject(element.properties) ? element.properties : {};
      const ipText = stringAt(props, 'ipAddress');
      if (ipText === undefined || ipText === '') fail(missingProperty(`${at}.properties.ipAddress`));
      const ip = canonicalIp(ipText);
      if (!ip) fail(invalidProperty(`${at}.properties.ipAddress`, 'must be an IP address'));
      if (ips.has(ip)) fail(duplicateBackendAddress(pool.id, ip));
      ips.add(ip);
      const vnetRef = must(readReference(props, 'virtualNetwork', `${at}.properties`));
      const subnetRef = must(readReference(props, 'subnet', `${at}.properties`));
      const addressId = `${pool.id}/loadBalancerBackendAddresses/${name}`;
      let vnet: ResourceRecord | undefined;
      if (vnetRef) {
        vnet = ctx.store.get(vnetRef);
        if (vnet?.type !== 'virtualNetworks') fail(invalidResourceReference(vnetRef, addressId));
      } else if (subnetRef) {
        vnet = findSubnet(ctx.store, subnetRef)?.vnet;
        if (!vnet) fail(invalidResourceReference(subnetRef, addressId));
      } else {
        fail(missingProperty(`${at}.properties.virtualNetwork`));
      }
      if (!vnetSpace(vnet).some((prefix) => prefixContains(prefix, ip)))
        fail(backendAddressOutsideVnet(ip, vnet.id, addressId));
      if (poolVnet !== undefined && !sameId(poolVnet, vnet.id)) fail(backendPoolSpansVnets(pool.id));
      poolVnet = vnet.id;
      const normalizedProps: JsonObject = { ...props, ipAddress: ip, virtualNetwork: { id: vnet.id } };
      if (subnetRef) normalizedProps.subnet = { id: subnetRef };
      else delete normalizedProps.subnet;
      delete normalizedProps.provisioningState;
      delete normalizedProps.networkInterfaceIPConfiguration;
      addresses.push({ name, properties: normalizedProps });
    }
  }
  return {
    name: pool.name,
    id: pool.id,
    properties: { ...properties, loadBalancerBackendAddresses: addresses },
  };
}

// --- probes ---------------------------------------------------------------------------------------------

function buildProbe(probe: NamedChild, index: number): JsonObject {
  const path = `properties.probes[${index}].properties`;
  const p = probe.properties;
  const protocol = must(readEnum(p, 'protocol', path, ['Tcp', 'Http', 'Https']));
  if (!protocol) fail(missingProperty(`${path}.protocol`));
  const port = must(readInteger(p, 'port', path, { min: 1, max: 65535 }));
  if (port === undefined) fail(missingProperty(`${path}.port`));
  const intervalInSeconds = must(
    readInteger(p, 'intervalInSeconds', path, { min: 5, max: 2147483646, default: 15 }),
  );
  const numberOfProbes = must(
    readInteger(p, 'numberOfProbes', path, { min: 1, max: 2147483646, default: 2 }),
  );
  const probeThreshold = must(
    readInteger(p, 'probeThreshold', path, { min: 1, max: 2147483646, default: 1 }),
  );
  const requestPath = stringAt(p, 'requestPath');
  const properties: JsonObject = { ...withoutReadOnly(p), protocol, port };
  if (intervalInSeconds !== undefined) properties.intervalInSeconds = intervalInSeconds;
  if (numberOfProbes !== undefined) properties.numberOfProbes = numberOfProbes;
  if (probeThreshold !== undefined) properties.probeThreshold = probeThreshold;
  if (protocol === 'Tcp') {
    if (requestPath !== undefined)
      fail(invalidProperty(`${path}.requestPath`, 'is not allowed for a Tcp probe'));
  } else if (requestPath === undefined || !requestPath.startsWith('/')) {
    fail(
      invalidProperty(`${path}.requestPath`, `is required for an ${protocol} probe and must start with "/"`),
    );
  }
  return { name: probe.name, id: probe.id, properties };
}

// --- rules ----------------------------------------------------------------------------------------------

/** Lower-cased child ID → canonical child ID, per collection of the load balancer being written. */
interface ChildIds {
  frontends: Map<string, string>;
  pools: Map<string, string>;
  probes: Map<string, string>;
}

/** A reference to a sibling child: must name one of this load balancer's children; returned in canonical form. */
function childRef(
  parent: JsonObject,
  key: string,
  path: string,
  known: Map<string, string>,
  byId: string,
): string | undefined {
  const ref = must(readReference(parent, key, path));
  if (ref === undefined) return undefined;
  const canonical = known.get(idKey(ref));
  if (!canonical) fail(invalidResourceReference(ref, byId));
  return canonical;
}

function buildRule(rule: NamedChild, index: number, ids: ChildIds, internal: Set<string>): JsonObject {
  const path = `properties.loadBalancingRules[${index}].properties`;
  const p = rule.properties;
  const frontend = childRef(p, 'frontendIPConfiguration', path, ids.frontends, rule.id);
  if (!frontend) fail(missingProperty(`${path}.frontendIPConfiguration`));
  const pool = childRef(p, 'backendAddressPool', path, ids.pools, rule.id);
  const poolList: string[] = pool ? [pool] : [];
  const extra = p.backendAddressPools;
  if (present(extra)) {
    if (!Array.isArray(extra)) fail(invalidProperty(`${path}.backendAddressPools`, 'must be an array'));
    for (const [i, ref] of extra.entries()) {
      const id = isJsonObject(ref) ? stringAt(ref, 'id') : undefined;
      if (!id) fail(invalidProperty(`${path}.backendAddressPools[${i}]`, 'must be an object with an id'));
      const canonical = ids.pools.get(idKey(id));
      if (!canonical) fail(invalidResourceReference(id, rule.id));
      if (!poolList.some((x) => sameId(x, canonical))) poolList.push(canonical);
    }
  }
  const probe = childRef(p, 'probe', path, ids.probes, rule.id);
  const protocol = must(readEnum(p, 'protocol', path, ['Tcp', 'Udp', 'All']));
  if (!protocol) fail(missingProperty(`${path}.protocol`));
  const frontendPort = must(readInteger(p, 'frontendPort', path, { min: 0, max: 65534 }));
  if (frontendPort === undefined) fail(missingProperty(`${path}.frontendPort`));
  const backendPort = must(readInteger(p, 'backendPort', path, { min: 0, max: 65535 }));
  if (backendPort === undefined) fail(missingProperty(`${path}.backendPort`));
  const haPorts = protocol === 'All';
  if (haPorts !== (frontendPort === 0 && backendPort === 0)) {
    fail(
      invalidProperty(
        `${path}.protocol`,
        'must be All exactly when frontendPort and backendPort are 0 (HA ports)',
      ),
    );
  }
  if (haPorts && !internal.has(idKey(frontend))) fail(haPortsOnPublicFrontend(rule.id));
  const idleTimeoutInMinutes = must(
    readInteger(p, 'idleTimeoutInMinutes', path, { min: 4, max: 100, default: 4 }),
  );
  const enableFloatingIP = must(readBoolean(p, 'enableFloatingIP', path, false));
  const enableTcpReset = must(readBoolean(p, 'enableTcpReset', path, false));
  const disableOutboundSnat = must(readBoolean(p, 'disableOutboundSnat', path, false));
  const loadDistribution = must(
    readEnum(p, 'loadDistribution', path, ['Default', 'SourceIP', 'SourceIPProtocol'], 'Default'),
  );
  const properties: JsonObject = {
    ...withoutReadOnly(p),
    frontendIPConfiguration: { id: frontend },
    backendAddressPools: poolList.map((id) => ({ id })),
    protocol,
    frontendPort,
    backendPort,
    idleTimeoutInMinutes: idleTimeoutInMinutes ?? 4,
    enableFloatingIP,
    enableTcpReset,
    disableOutboundSnat,
    loadDistribution: loadDistribution ?? 'Default',
  };
  const firstPool = poolList[0];
  if (firstPool) properties.backendAddressPool = { id: firstPool };
  else delete properties.backendAddressPool;
  if (probe) properties.probe = { id: probe };
  else delete properties.probe;
  return { name: rule.name, id: rule.id, properties };
}

function checkRuleConflicts(rules: JsonObject[]): void {
  const frontendPorts = new Map<string, string>();
  const backendPorts = new Map<string, string>();
  for (const rule of rules) {
    const p = objectAt(rule, 'properties') ?? {};
    const id = stringAt(rule, 'id') ?? '';
    const protocol = stringAt(p, 'protocol') ?? '';
    const frontendPort = Number(p.frontendPort);
    const backendPort = Number(p.backendPort);
    const frontend = idKey(referenceIdAt(p, 'frontendIPConfiguration') ?? '');
    const key = `${frontend}|${protocol}|${frontendPort}`;
    const other = frontendPorts.get(key);
    if (other) fail(duplicateFrontendPort(id, other, frontendPort, protocol));
    frontendPorts.set(key, id);
    if (p.enableFloatingIP === true) continue;
    for (const pool of arrayAt(p, 'backendAddressPools') ?? []) {
      const poolId = isJsonObject(pool) ? idKey(stringAt(pool, 'id') ?? '') : '';
      const backendKey = `${poolId}|${protocol}|${backendPort}`;
      const clash = backendPorts.get(backendKey);
      if (clash) fail(duplicateBackendPort(id, clash, backendPort, protocol));
      backendPorts.set(backendKey, id);
    }
  }
}

function buildNatRule(rule: NamedChild, index: number, ids: ChildIds): JsonObject {
  const path = `properties.inboundNatRules[${index}].properties`;
  const p = rule.properties;
  const frontend = childRef(p, 'frontendIPConfiguration', path, ids.frontends, rule.id);
  if (!frontend) fail(missingProperty(`${path}.frontendIPConfiguration`));
  childRef(p, 'backendAddressPool', path, ids.pools, rule.id);
  return { name: rule.name, id: rule.id, properties: withoutReadOnly(p) };
}

function buildOutboundRule(rule: NamedChild, index: number, ids: ChildIds): JsonObject {
  const path = `properties.outboundRules[${index}].properties`;
  const p = rule.properties;
  const frontends = p.frontendIPConfigurations;
  if (!Array.isArray(frontends) || frontends.length === 0)
    fail(missingProperty(`${path}.frontendIPConfigurations`));
  for (const [i, ref] of frontends.entries()) {
    const id = isJsonObject(ref) ? stringAt(ref, 'id') : undefined;
    if (!id) fail(invalidProperty(`${path}.frontendIPConfigurations[${i}]`, 'must be an object with an id'));
    if (!ids.frontends.has(idKey(id))) fail(invalidResourceReference(id, rule.id));
  }
  const pool = childRef(p, 'backendAddressPool', path, ids.pools, rule.id);
  if (!pool) fail(missingProperty(`${path}.backendAddressPool`));
  return { name: rule.name, id: rule.id, properties: withoutReadOnly(p) };
}

// --- rules per backend address (per NIC) -----------------------------------------------------------------

/** For each backend address (VNet + IP), how many load-balancing rules of this load balancer reach it. */
function rulesPerAddress(body: JsonObject): Map<string, { address: string; count: number }> {
  const properties = objectAt(body, 'properties') ?? {};
  const rulesPerPool = new Map<string, number>();
  for (const rule of arrayAt(properties, 'loadBalancingRules') ?? []) {
    if (!isJsonObject(rule)) continue;
    for (const pool of arrayAt(objectAt(rule, 'properties') ?? {}, 'backendAddressPools') ?? []) {
      const id = isJsonObject(pool) ? idKey(stringAt(pool, 'id') ?? '') : '';
      rulesPerPool.set(id, (rulesPerPool.get(id) ?? 0) + 1);
    }
  }
  const out = new Map<string, { address: string; count: number }>();
  for (const pool of arrayAt(properties, 'backendAddressPools') ?? []) {
    if (!isJsonObject(pool)) continue;
    const count = rulesPerPool.get(idKey(stringAt(pool, 'id') ?? '')) ?? 0;
    if (count === 0) continue;
    for (const address of arrayAt(objectAt(pool, 'properties') ?? {}, 'loadBalancerBackendAddresses') ?? []) {
      if (!isJsonObject(address)) continue;
      const ap = objectAt(address, 'properties') ?? {};
      const ip = stringAt(ap, 'ipAddress') ?? '';
      const key = `${idKey(referenceIdAt(ap, 'virtualNetwork') ?? '')}|${ip}`;
      const entry = out.get(key) ?? { address: ip, count: 0 };
      entry.count += count;
      out.set(key, entry);
    }
  }
  return out;
}

function checkRulesPerBackendAddress(body: JsonObject, ctx: WriteContext): void {
  const mine = rulesPerAddress(body);
  if (mine.size === 0) return;
  const limit = ctx.limits.rulesPerBackendAddress;
  const totals = new Map(mine);
  for (const other of ctx.store.list({ type: 'loadBalancers' })) {
    if (sameId(other.id, ctx.id)) continue;
    for (const [key, entry] of rulesPerAddress(other.body)) {
      const mineEntry = totals.get(key);
      if (mineEntry) totals.set(key, { address: mineEntry.address, count: mineEntry.count + entry.count });
    }
  }
  for (const entry of totals.values()) {
    if (entry.count > limit) fail(rulesPerBackendAddressLimit(entry.address, limit, entry.count));
  }
}

// --- rendering ------------------------------------------------------------------------------------------

const CHILD_TYPE_NAMES: Record<string, string> = {
  frontendIPConfigurations: 'Microsoft.Network/loadBalancers/frontendIPConfigurations',
  backendAddressPools: 'Microsoft.Network/loadBalancers/backendAddressPools',
  loadBalancingRules: 'Microsoft.Network/loadBalancers/loadBalancingRules',
  probes: 'Microsoft.Network/loadBalancers/probes',
  inboundNatRules: 'Microsoft.Network/loadBalancers/inboundNatRules',
  outboundRules: 'Microsoft.Network/loadBalancers/outboundRules',
};

/** Child ID → IDs of the rules (of one kind) that reference it. */
function referrers(rules: JsonValue[], keys: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    if (!isJsonObject(rule)) continue;
    const id = stringAt(rule, 'id') ?? '';
    const p = objectAt(rule, 'properties') ?? {};
    const targets = new Set<string>();
    for (const key of keys) {
      const value = p[key];
      const refs = Array.isArray(value) ? value : [value];
      for (const ref of refs) {
        if (isJsonObject(ref) && typeof ref.id === 'string') targets.add(idKey(ref.id));
      }
    }
    for (const target of targets) out.set(target, [...(out.get(target) ?? []), id]);
  }
  return out;
}

export function renderLoadBalancer(record: ResourceRecord): JsonObject {
  const properties = objectAt(record.body, 'properties') ?? {};
  const lbRules = arrayAt(properties, 'loadBalancingRules') ?? [];
  const natRules = arrayAt(properties, 'inboundNatRules') ?? [];
  const outbound = arrayAt(properties, 'outboundRules') ?? [];
  const byLbRule = referrers(lbRules, ['frontendIPConfiguration', 'backendAddressPools', 'probe']);
  const byNatRule = referrers(natRules, ['frontendIPConfiguration', 'backendAddressPool']);
  const byOutbound = referrers(outbound, ['frontendIPConfigurations', 'backendAddressPool']);
  const rendered: JsonObject = {};
  for (const [key, type] of Object.entries(CHILD_TYPE_NAMES)) {
    rendered[key] = (arrayAt(properties, key) ?? []).filter(isJsonObject).map((child) => {
      const childId = idKey(stringAt(child, 'id') ?? '');
      const childProps: JsonObject = {
        ...(objectAt(child, 'properties') ?? {}),
        provisioningState: record.provisioningState,
      };
      if (key === 'frontendIPConfigurations' || key === 'backendAddressPools' || key === 'probes') {
        const lb = byLbRule.get(childId);
        if (lb) childProps.loadBalancingRules = lb.map((id) => ({ id }));
      }
      if (key === 'frontendIPConfigurations' || key === 'backendAddressPools') {
        const nat = byNatRule.get(childId);
        if (nat) childProps.inboundNatRules = nat.map((id) => ({ id }));
        const out = byOutbound.get(childId);
        if (out) childProps.outboundRules = out.map((id) => ({ id }));
      }
      return { ...child, etag: record.etag, type, properties: childProps };
    });
  }
  return {
    name: record.name,
    id: record.id,
    etag: record.etag,
    type: 'Microsoft.Network/loadBalancers',
    location: record.location,
    tags: record.body.tags ?? {},
    sku: record.body.sku ?? { name: 'Standard', tier: 'Regional' },
    properties: {
      ...properties,
      ...rendered,
      provisioningState: record.provisioningState,
      resourceGuid: record.resourceGuid,
    },
  };
}
