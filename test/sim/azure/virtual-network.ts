// Virtual networks and subnets: built from a seed (ARM's PUT for them is not modelled), looked up by the
// load balancer module, and the source of private frontend addresses. A subnet's used addresses are the
// frontends in it plus addresses the seed marks occupied (the cluster's nodes, say).

import { randomUUID } from 'node:crypto';
import { canonicalIp, type Prefix, parsePrefix, prefixContains } from './addresses.ts';
import { childResourceId, idKey, isValidResourceName, parseResourceId, resourceId } from './arm-ids.ts';
import { arrayAt, isJsonObject, type JsonObject, objectAt, stringAt } from './json.ts';
import { newEtag, type ResourceRecord, type SimStore } from './store.ts';

export interface SubnetSeed {
  name: string;
  /** One prefix, or several (IPv4 and IPv6 for a dual-stack subnet). */
  addressPrefix?: string;
  addressPrefixes?: string[];
  /** ID (or name in the same resource group) of a network security group associated with the subnet. */
  networkSecurityGroup?: string;
  /** Addresses already taken by something the simulator does not model (node NICs). */
  occupiedAddresses?: string[];
}

export interface VirtualNetworkSeed {
  subscriptionId?: string;
  resourceGroup: string;
  name: string;
  /** Default: the resource group's location. */
  location?: string;
  addressPrefixes: string[];
  subnets: SubnetSeed[];
  tags?: Record<string, string>;
}

export function buildVirtualNetwork(
  seed: VirtualNetworkSeed,
  subscriptionId: string,
  resourceGroup: string,
  location: string,
): ResourceRecord | { error: string } {
  if (!isValidResourceName(seed.name))
    return { error: `virtual network name "${seed.name}" is not a valid ARM name` };
  if (!Array.isArray(seed.addressPrefixes) || seed.addressPrefixes.length === 0) {
    return { error: `virtual network ${seed.name}: addressPrefixes must list at least one CIDR` };
  }
  const space: Prefix[] = [];
  for (const text of seed.addressPrefixes) {
    const prefix = parsePrefix(text);
    if ('error' in prefix) return { error: `virtual network ${seed.name}: ${prefix.error}` };
    space.push(prefix);
  }
  const id = resourceId(subscriptionId, resourceGroup, 'virtualNetworks', seed.name);
  const occupied: Record<string, string[]> = {};
  const subnets: JsonObject[] = [];
  for (const subnet of seed.subnets ?? []) {
    if (!isValidResourceName(subnet.name))
      return { error: `subnet name "${subnet.name}" is not a valid ARM name` };
    const texts = subnet.addressPrefixes ?? (subnet.addressPrefix ? [subnet.addressPrefix] : []);
    if (texts.length === 0) return { error: `subnet ${subnet.name}: give addressPrefix or addressPrefixes` };
    for (const text of texts) {
      const prefix = parsePrefix(text);
      if ('error' in prefix) return { error: `subnet ${subnet.name}: ${prefix.error}` };
      const inside = space.some(
        (s) => s.family === prefix.family && s.first <= prefix.first && prefix.last <= s.last,
      );
      if (!inside)
        return { error: `subnet ${subnet.name}: ${text} is outside the virtual network's address space` };
    }
    const properties: JsonObject =
      texts.length === 1 ? { addressPrefix: texts[0] ?? '' } : { addressPrefixes: [...texts] };
    if (subnet.networkSecurityGroup) {
      const nsgId = subnet.networkSecurityGroup.startsWith('/')
        ? subnet.networkSecurityGroup
        : resourceId(subscriptionId, resourceGroup, 'networkSecurityGroups', subnet.networkSecurityGroup);
      properties.networkSecurityGroup = { id: nsgId };
    }
    properties.privateEndpointNetworkPolicies = 'Disabled';
    properties.privateLinkServiceNetworkPolicies = 'Enabled';
    const taken: string[] = [];
    for (const address of subnet.occupiedAddresses ?? []) {
      const canonical = canonicalIp(address);
      if (!canonical)
        return { error: `subnet ${subnet.name}: occupied address "${address}" is not an IP address` };
      if (!texts.some((t) => prefixContainsText(t, canonical))) {
        return { error: `subnet ${subnet.name}: occupied address ${address} is outside the subnet` };
      }
      taken.push(canonical);
    }
    occupied[subnet.name.toLowerCase()] = taken;
    subnets.push({ name: subnet.name, id: childResourceId(id, 'subnets', subnet.name), properties });
  }
  const record: ResourceRecord = {
    type: 'virtualNetworks',
    id,
    subscriptionId,
    resourceGroup,
    name: seed.name,
    location,
    body: {
      location,
      tags: { ...(seed.tags ?? {}) },
      properties: {
        addressSpace: { addressPrefixes: [...seed.addressPrefixes] },
        subnets,
        virtualNetworkPeerings: [],
        enableDdosProtection: false,
      },
    },
    etag: newEtag(),
    resourceGuid: randomUUID(),
    provisioningState: 'Succeeded',
    lastOperationKind: 'PutVirtualNetworkOperation',
    creating: false,
    occupiedAddresses: occupied,
  };
  return record;
}

function prefixContainsText(prefixText: string, ip: string): boolean {
  const prefix = parsePrefix(prefixText);
  return !('error' in prefix) && prefixContains(prefix, ip);
}

export interface SubnetView {
  vnet: ResourceRecord;
  subnet: JsonObject;
  /** Canonical subnet ID. */
  id: string;
  prefixes: Prefix[];
}

/** The subnet an ID names, if it exists. */
export function findSubnet(store: SimStore, subnetId: string): SubnetView | undefined {
  const parsed = parseResourceId(subnetId);
  if (parsed?.type !== 'virtualNetworks' || parsed.child?.type !== 'subnets') return undefined;
  const vnet = store.get(
    resourceId(parsed.subscriptionId, parsed.resourceGroup, 'virtualNetworks', parsed.name),
  );
  if (!vnet) return undefined;
  const subnets = arrayAt(objectAt(vnet.body, 'properties') ?? {}, 'subnets') ?? [];
  const childName = parsed.child.name;
  for (const subnet of subnets) {
    if (!isJsonObject(subnet) || stringAt(subnet, 'name')?.toLowerCase() !== childName.toLowerCase())
      continue;
    const properties = objectAt(subnet, 'properties') ?? {};
    const single = stringAt(properties, 'addressPrefix');
    const texts = single
      ? [single]
      : (arrayAt(properties, 'addressPrefixes') ?? []).filter((t) => typeof t === 'string');
    const prefixes: Prefix[] = [];
    for (const text of texts) {
      const prefix = parsePrefix(text);
      if (!('error' in prefix)) prefixes.push(prefix);
    }
    return { vnet, subnet, id: stringAt(subnet, 'id') ?? '', prefixes };
  }
  return undefined;
}

/** The virtual network's address space. */
export function vnetSpace(vnet: ResourceRecord): Prefix[] {
  const space = objectAt(objectAt(vnet.body, 'properties') ?? {}, 'addressSpace') ?? {};
  const out: Prefix[] = [];
  for (const text of arrayAt(space, 'addressPrefixes') ?? []) {
    if (typeof text !== 'string') continue;
    const prefix = parsePrefix(text);
    if (!('error' in prefix)) out.push(prefix);
  }
  return out;
}

/**
 * Addresses taken in a subnet, with who holds them: the seed's occupied addresses and every frontend in the
 * subnet except those of the load balancer being written (its PUT replaces them).
 */
export function takenInSubnet(
  store: SimStore,
  view: SubnetView,
  exceptLoadBalancerId: string,
): Map<string, string> {
  const taken = new Map<string, string>();
  const occupied = view.vnet.occupiedAddresses?.[(stringAt(view.subnet, 'name') ?? '').toLowerCase()];
  for (const address of occupied ?? []) taken.set(address, `${view.id} (occupied by the seed)`);
  for (const user of store.usage().subnetUsers.get(idKey(view.id)) ?? []) {
    if (user.address === undefined) continue;
    if (user.frontendId.toLowerCase().startsWith(`${exceptLoadBalancerId.toLowerCase()}/`)) continue;
    taken.set(user.address, user.frontendId);
  }
  return taken;
}

/** The subnet as ARM returns it: with ETag, type, state and the IP configurations (frontends) in it. */
function renderSubnet(store: SimStore, vnet: ResourceRecord, subnet: JsonObject): JsonObject {
  const id = stringAt(subnet, 'id') ?? '';
  const properties: JsonObject = {
    ...(objectAt(subnet, 'properties') ?? {}),
    provisioningState: vnet.provisioningState,
  };
  const users = store.usage().subnetUsers.get(idKey(id)) ?? [];
  if (users.length > 0) properties.ipConfigurations = users.map((u) => ({ id: u.frontendId }));
  return {
    name: stringAt(subnet, 'name') ?? '',
    id,
    etag: vnet.etag,
    type: 'Microsoft.Network/virtualNetworks/subnets',
    properties,
  };
}

export function renderVirtualNetwork(store: SimStore, record: ResourceRecord): JsonObject {
  const properties = objectAt(record.body, 'properties') ?? {};
  const subnets = (arrayAt(properties, 'subnets') ?? [])
    .filter(isJsonObject)
    .map((s) => renderSubnet(store, record, s));
  return {
    name: record.name,
    id: record.id,
    etag: record.etag,
    type: 'Microsoft.Network/virtualNetworks',
    location: record.location,
    tags: record.body.tags ?? {},
    properties: {
      ...properties,
      provisioningState: record.provisioningState,
      resourceGuid: record.resourceGuid,
      subnets,
    },
  };
}
