// The simulator's state: subscriptions, resource groups and Network resources, each stored in its normalized
// ARM form. Everything read-only that ARM derives from other resources (which frontend uses a public IP,
// which IP configurations sit in a subnet) is computed from the records on demand, so it can never drift.

import { randomUUID } from 'node:crypto';
import { idKey, type TopLevelType } from './arm-ids.ts';
import { arrayAt, isJsonObject, type JsonObject, objectAt, referenceIdAt, stringAt } from './json.ts';

export type ProvisioningState = 'Succeeded' | 'Updating' | 'Deleting' | 'Failed';

export interface ResourceRecord {
  type: TopLevelType;
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** As the caller wrote it; compare with normalizeLocation(). */
  location: string;
  /** The normalized representation: location, tags, sku, zones and properties, without computed fields. */
  body: JsonObject;
  etag: string;
  resourceGuid: string;
  provisioningState: ProvisioningState;
  /** The operation that last changed the resource, as ARM names it in ReferencedResourceNotProvisioned. */
  lastOperationKind: string;
  /**
   * True while the operation that created the resource runs: ARM leaves values it assigns asynchronously
   * (a public IP's address) out of responses until provisioning succeeds.
   */
  creating: boolean;
  /** Virtual networks only: per subnet (lower-case name), addresses the seed marked as taken. Never rendered. */
  occupiedAddresses?: Record<string, string[]>;
}

export interface ResourceGroupRecord {
  subscriptionId: string;
  name: string;
  location: string;
}

export function newEtag(): string {
  return `W/"${randomUUID()}"`;
}

export function cloneRecord(record: ResourceRecord): ResourceRecord {
  return { ...record, body: structuredClone(record.body) };
}

/** Who uses what, derived from the load balancers and virtual networks. Keys are lower-cased IDs. */
export interface UsageIndex {
  /** public IP → the frontend IP configuration that uses it */
  publicIpUsers: Map<string, string>;
  /** subnet → frontends in it with their private addresses */
  subnetUsers: Map<string, Array<{ frontendId: string; address: string | undefined }>>;
  /** network security group → subnets associated with it */
  securityGroupSubnets: Map<string, string[]>;
}

export class SimStore {
  readonly subscriptions = new Map<
    string,
    { id: string; resourceGroups: Map<string, ResourceGroupRecord> }
  >();
  readonly resources = new Map<string, ResourceRecord>();
  /** Next-fit cursor of the public address allocator, per family, so a released address is not handed out again at once. */
  readonly publicIpCursor = new Map<string, bigint>();
  #usage: UsageIndex | undefined;

  addSubscription(subscriptionId: string): void {
    if (!this.subscriptions.has(subscriptionId.toLowerCase())) {
      this.subscriptions.set(subscriptionId.toLowerCase(), { id: subscriptionId, resourceGroups: new Map() });
    }
  }

  subscription(subscriptionId: string) {
    return this.subscriptions.get(subscriptionId.toLowerCase());
  }

  resourceGroup(subscriptionId: string, name: string): ResourceGroupRecord | undefined {
    return this.subscription(subscriptionId)?.resourceGroups.get(name.toLowerCase());
  }

  addResourceGroup(group: ResourceGroupRecord): void {
    this.addSubscription(group.subscriptionId);
    this.subscription(group.subscriptionId)?.resourceGroups.set(group.name.toLowerCase(), group);
  }

  get(id: string): ResourceRecord | undefined {
    return this.resources.get(idKey(id));
  }

  put(record: ResourceRecord): void {
    this.resources.set(idKey(record.id), record);
    this.#usage = undefined;
  }

  remove(id: string): void {
    this.resources.delete(idKey(id));
    this.#usage = undefined;
  }

  /** Call after changing a stored record in place. */
  touched(): void {
    this.#usage = undefined;
  }

  list(filter: { subscriptionId?: string; resourceGroup?: string; type?: TopLevelType }): ResourceRecord[] {
    const out: ResourceRecord[] = [];
    for (const r of this.resources.values()) {
      if (filter.type && r.type !== filter.type) continue;
      if (filter.subscriptionId && r.subscriptionId.toLowerCase() !== filter.subscriptionId.toLowerCase())
        continue;
      if (filter.resourceGroup && r.resourceGroup.toLowerCase() !== filter.resourceGroup.toLowerCase())
        continue;
      out.push(r);
    }
    return out.sort((a, b) => a.id.toLowerCase().localeCompare(b.id.toLowerCase()));
  }

  clear(): void {
    this.subscriptions.clear();
    this.resources.clear();
    this.publicIpCursor.clear();
    this.#usage = undefined;
  }

  usage(): UsageIndex {
    if (!this.#usage) this.#usage = buildUsage(this.resources.values());
    return this.#usage;
  }
}

function buildUsage(records: Iterable<ResourceRecord>): UsageIndex {
  const usage: UsageIndex = {
    publicIpUsers: new Map(),
    subnetUsers: new Map(),
    securityGroupSubnets: new Map(),
  };
  for (const record of records) {
    const properties = objectAt(record.body, 'properties') ?? {};
    if (record.type === 'loadBalancers') {
      for (const fe of arrayAt(properties, 'frontendIPConfigurations') ?? []) {
        if (!isJsonObject(fe)) continue;
        const frontendId = stringAt(fe, 'id') ?? '';
        const feProps = objectAt(fe, 'properties') ?? {};
        const pip = referenceIdAt(feProps, 'publicIPAddress');
        if (pip) usage.publicIpUsers.set(idKey(pip), frontendId);
        const subnet = referenceIdAt(feProps, 'subnet');
        if (subnet) {
          const list = usage.subnetUsers.get(idKey(subnet)) ?? [];
          list.push({ frontendId, address: stringAt(feProps, 'privateIPAddress') });
          usage.subnetUsers.set(idKey(subnet), list);
        }
      }
    }
    if (record.type === 'virtualNetworks') {
      for (const subnet of arrayAt(properties, 'subnets') ?? []) {
        if (!isJsonObject(subnet)) continue;
        const nsg = referenceIdAt(objectAt(subnet, 'properties') ?? {}, 'networkSecurityGroup');
        if (!nsg) continue;
        const list = usage.securityGroupSubnets.get(idKey(nsg)) ?? [];
        list.push(stringAt(subnet, 'id') ?? '');
        usage.securityGroupSubnets.set(idKey(nsg), list);
      }
    }
  }
  return usage;
}
