// What exists before a test or demo starts: subscriptions, resource groups, virtual networks with subnets,
// and user-owned public IPs and network security groups. Seeded resources are Succeeded at once, are not
// counted as calls, and go through the same validation as a PUT (except virtual networks, which ARM's PUT
// here does not model).

import { randomUUID } from 'node:crypto';
import { isArmError } from './arm-errors.ts';
import { isValidResourceName, resourceId, type TopLevelType } from './arm-ids.ts';
import type { JsonObject } from './json.ts';
import { preparePublicIp } from './public-ip.ts';
import type { PreparedWrite, WriteContext } from './resource-common.ts';
import { prepareSecurityGroup } from './security-group.ts';
import { newEtag, type ResourceRecord, type SimStore } from './store.ts';
import { buildVirtualNetwork, type VirtualNetworkSeed } from './virtual-network.ts';

export type { SubnetSeed, VirtualNetworkSeed } from './virtual-network.ts';

export interface ResourceGroupSeed {
  subscriptionId?: string;
  name: string;
  location: string;
}

export interface PublicIpSeed {
  subscriptionId?: string;
  resourceGroup: string;
  name: string;
  /** Default: the resource group's location. */
  location?: string;
  /** A specific address; default: the next from the simulator's range. */
  ipAddress?: string;
  version?: 'IPv4' | 'IPv6';
  domainNameLabel?: string;
  tags?: Record<string, string>;
}

export interface SecurityGroupSeed {
  subscriptionId?: string;
  resourceGroup: string;
  name: string;
  location?: string;
  /** In ARM's shape: [{ name, properties: { protocol, access, direction, priority, ... } }]. */
  securityRules?: JsonObject[];
  tags?: Record<string, string>;
}

export interface SimulatorSeed {
  /** Subscriptions that exist (the default subscription always does). */
  subscriptions?: string[];
  resourceGroups?: ResourceGroupSeed[];
  networkSecurityGroups?: SecurityGroupSeed[];
  virtualNetworks?: VirtualNetworkSeed[];
  publicIPAddresses?: PublicIpSeed[];
}

export interface SeedTarget {
  store: SimStore;
  defaultSubscriptionId: string;
  context(type: TopLevelType, subscriptionId: string, resourceGroup: string, name: string): WriteContext;
}

export class SeedError extends Error {}

function groupOf(target: SeedTarget, subscriptionId: string, name: string) {
  const group = target.store.resourceGroup(subscriptionId, name);
  if (!group) throw new SeedError(`resource group ${name} is not seeded in subscription ${subscriptionId}`);
  return group;
}

function commit(
  target: SeedTarget,
  type: TopLevelType,
  ctx: WriteContext,
  prepared: PreparedWrite,
): ResourceRecord {
  const record: ResourceRecord = {
    type,
    id: ctx.id,
    subscriptionId: ctx.subscriptionId,
    resourceGroup: ctx.resourceGroup,
    name: ctx.name,
    location: prepared.location,
    body: prepared.body,
    etag: newEtag(),
    resourceGuid: randomUUID(),
    provisioningState: 'Succeeded',
    lastOperationKind: 'Seed',
    creating: false,
  };
  target.store.put(record);
  return record;
}

export function seedResourceGroup(target: SeedTarget, seed: ResourceGroupSeed): void {
  const subscriptionId = seed.subscriptionId ?? target.defaultSubscriptionId;
  if (!seed.name || !/^[-\w._()]{1,90}$/.test(seed.name) || seed.name.endsWith('.')) {
    throw new SeedError(`resource group name "${seed.name}" is not valid`);
  }
  if (!seed.location) throw new SeedError(`resource group ${seed.name} needs a location`);
  target.store.addResourceGroup({ subscriptionId, name: seed.name, location: seed.location });
}

export function seedVirtualNetwork(target: SeedTarget, seed: VirtualNetworkSeed): ResourceRecord {
  const subscriptionId = seed.subscriptionId ?? target.defaultSubscriptionId;
  const group = groupOf(target, subscriptionId, seed.resourceGroup);
  const record = buildVirtualNetwork(seed, subscriptionId, group.name, seed.location ?? group.location);
  if ('error' in record) throw new SeedError(record.error);
  target.store.put(record);
  return record;
}

export function seedPublicIp(target: SeedTarget, seed: PublicIpSeed): ResourceRecord {
  const subscriptionId = seed.subscriptionId ?? target.defaultSubscriptionId;
  const group = groupOf(target, subscriptionId, seed.resourceGroup);
  if (!isValidResourceName(seed.name))
    throw new SeedError(`public IP name "${seed.name}" is not a valid ARM name`);
  const ctx = target.context('publicIPAddresses', subscriptionId, group.name, seed.name);
  if (ctx.existing) throw new SeedError(`public IP ${ctx.id} already exists`);
  const properties: JsonObject = {
    publicIPAllocationMethod: 'Static',
    publicIPAddressVersion: seed.version ?? 'IPv4',
  };
  if (seed.domainNameLabel) properties.dnsSettings = { domainNameLabel: seed.domainNameLabel };
  const input: JsonObject = {
    location: seed.location ?? group.location,
    tags: seed.tags ?? {},
    sku: { name: 'Standard', tier: 'Regional' },
    properties,
  };
  const prepared = preparePublicIp(input, ctx, seed.ipAddress ? { requestedAddress: seed.ipAddress } : {});
  if (isArmError(prepared))
    throw new SeedError(`public IP ${seed.name}: ${prepared.code}: ${prepared.message}`);
  return commit(target, 'publicIPAddresses', ctx, prepared);
}

export function seedSecurityGroup(target: SeedTarget, seed: SecurityGroupSeed): ResourceRecord {
  const subscriptionId = seed.subscriptionId ?? target.defaultSubscriptionId;
  const group = groupOf(target, subscriptionId, seed.resourceGroup);
  if (!isValidResourceName(seed.name))
    throw new SeedError(`security group name "${seed.name}" is not a valid ARM name`);
  const ctx = target.context('networkSecurityGroups', subscriptionId, group.name, seed.name);
  if (ctx.existing) throw new SeedError(`network security group ${ctx.id} already exists`);
  const input: JsonObject = {
    location: seed.location ?? group.location,
    tags: seed.tags ?? {},
    properties: { securityRules: seed.securityRules ?? [] },
  };
  const prepared = prepareSecurityGroup(input, ctx);
  if (isArmError(prepared))
    throw new SeedError(`security group ${seed.name}: ${prepared.code}: ${prepared.message}`);
  if (prepared.deferredError) {
    throw new SeedError(
      `security group ${seed.name}: ${prepared.deferredError.code}: ${prepared.deferredError.message}`,
    );
  }
  return commit(target, 'networkSecurityGroups', ctx, prepared);
}

/** Applies a whole seed in dependency order: groups, security groups, networks, public IPs. */
export function applySeed(target: SeedTarget, seed: SimulatorSeed): void {
  target.store.addSubscription(target.defaultSubscriptionId);
  for (const subscription of seed.subscriptions ?? []) target.store.addSubscription(subscription);
  for (const group of seed.resourceGroups ?? []) seedResourceGroup(target, group);
  for (const nsg of seed.networkSecurityGroups ?? []) seedSecurityGroup(target, nsg);
  for (const vnet of seed.virtualNetworks ?? []) {
    const record = seedVirtualNetwork(target, vnet);
    for (const subnet of vnet.subnets) {
      if (!subnet.networkSecurityGroup) continue;
      const nsgId = subnet.networkSecurityGroup.startsWith('/')
        ? subnet.networkSecurityGroup
        : resourceId(
            record.subscriptionId,
            record.resourceGroup,
            'networkSecurityGroups',
            subnet.networkSecurityGroup,
          );
      if (!target.store.get(nsgId))
        throw new SeedError(`subnet ${subnet.name}: network security group ${nsgId} is not seeded`);
    }
  }
  for (const pip of seed.publicIPAddresses ?? []) seedPublicIp(target, pip);
}

/** What `main.ts` seeds unless given --seed: one group, a VNet for nodes and internal frontends, a cluster NSG. */
export function demoSeed(location = 'eastus'): SimulatorSeed {
  return {
    resourceGroups: [{ name: 'sluice', location }],
    networkSecurityGroups: [{ resourceGroup: 'sluice', name: 'sluice-nodes-nsg' }],
    virtualNetworks: [
      {
        resourceGroup: 'sluice',
        name: 'sluice-vnet',
        addressPrefixes: ['10.224.0.0/12'],
        subnets: [
          { name: 'nodes', addressPrefix: '10.224.0.0/16', networkSecurityGroup: 'sluice-nodes-nsg' },
          { name: 'services', addressPrefix: '10.225.0.0/24' },
        ],
      },
    ],
  };
}
