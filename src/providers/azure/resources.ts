// The ARM resources the provider reads and writes, through ArmClient: the cluster's two load balancers, public IPs,
// the cluster NSG and the subnet that names it. Converts between the SDK's models and Sluice's bodies (model.ts):
// what Sluice does not own rides along as ARM returned it, and the SDK's serializer drops the read-only parts
// when it is written back.

import type { LoadBalancer, NetworkSecurityGroup, PublicIPAddress } from '@azure/arm-network';
import type { ArmClient } from './client.ts';
import type {
  AzureScope,
  ForeignEntry,
  LoadBalancerBody,
  ObservedLoadBalancer,
  ObservedPublicIp,
  ObservedSecurityGroup,
  PublicIpBody,
  SecurityGroupBody,
} from './model.ts';
import { loadBalancerName } from './names.ts';

/** Precondition of a write: the ETag read (If-Match), or "must not exist yet" (If-None-Match: *). */
export type Precondition = { ifMatch: string } | { ifNoneMatch: '*' };

function preconditionHeaders(precondition: Precondition): Record<string, string> {
  return 'ifMatch' in precondition ? { 'If-Match': precondition.ifMatch } : { 'If-None-Match': '*' };
}

function named<T extends { name?: string }>(entries: T[] | undefined): ForeignEntry[] {
  return (entries ?? []).filter(
    (e): e is T & { name: string } => typeof e.name === 'string',
  ) as ForeignEntry[];
}

/** The resource group in an ARM ID. */
export function resourceGroupOf(id: string): string | undefined {
  return /\/resourceGroups\/([^/]+)/i.exec(id)?.[1];
}

export function fromSdkLoadBalancer(lb: LoadBalancer): ObservedLoadBalancer {
  const {
    name,
    location,
    etag,
    sku,
    tags,
    frontendIPConfigurations,
    backendAddressPools,
    loadBalancingRules,
    probes,
    id: _id,
    type: _type,
    provisioningState,
    resourceGuid: _guid,
    ...other
  } = lb;
  const body: LoadBalancerBody = {
    name: name ?? '',
    location: location ?? '',
    ...(etag !== undefined ? { etag } : {}),
    sku: { name: 'Standard', ...(sku?.tier ? { tier: sku.tier } : {}) },
    tags: { ...(tags ?? {}) },
    frontendIPConfigurations: named(frontendIPConfigurations),
    backendAddressPools: named(backendAddressPools),
    loadBalancingRules: named(loadBalancingRules),
    probes: named(probes),
    ...(Object.keys(other).length > 0 ? { other: other as Record<string, unknown> } : {}),
  };
  return { body, provisioningState };
}

export function toSdkLoadBalancer(body: LoadBalancerBody): LoadBalancer {
  return {
    ...(body.other ?? {}),
    location: body.location,
    sku: body.sku,
    tags: body.tags,
    frontendIPConfigurations: body.frontendIPConfigurations,
    backendAddressPools: body.backendAddressPools,
    loadBalancingRules: body.loadBalancingRules,
    probes: body.probes,
  } as LoadBalancer;
}

export function fromSdkSecurityGroup(
  nsg: NetworkSecurityGroup,
  resourceGroup: string,
): ObservedSecurityGroup {
  const {
    name,
    location,
    etag,
    securityRules,
    id: _id,
    type: _type,
    provisioningState,
    resourceGuid: _guid,
    defaultSecurityRules: _defaults,
    networkInterfaces: _nics,
    subnets: _subnets,
    flowLogs: _flowLogs,
    ...other
  } = nsg;
  return {
    resourceGroup,
    provisioningState,
    body: {
      name: name ?? '',
      location: location ?? '',
      ...(etag !== undefined ? { etag } : {}),
      securityRules: named(securityRules),
      ...(Object.keys(other).length > 0 ? { other: other as Record<string, unknown> } : {}),
    },
  };
}

export function toSdkSecurityGroup(body: SecurityGroupBody): NetworkSecurityGroup {
  return {
    ...(body.other ?? {}),
    location: body.location,
    securityRules: body.securityRules,
  } as NetworkSecurityGroup;
}

export function fromSdkPublicIp(pip: PublicIPAddress, resourceGroup: string): ObservedPublicIp {
  return {
    id: pip.id ?? '',
    name: pip.name ?? '',
    resourceGroup: (pip.id ? resourceGroupOf(pip.id) : undefined) ?? resourceGroup,
    location: pip.location,
    ipAddress: pip.ipAddress,
    provisioningState: pip.provisioningState,
    sku: pip.sku?.name,
    allocation: pip.publicIPAllocationMethod,
    version: pip.publicIPAddressVersion,
    tags: { ...(pip.tags ?? {}) },
    dnsLabel: pip.dnsSettings?.domainNameLabel,
    usedBy: pip.ipConfiguration?.id,
  };
}

/** Reads and writes of the network resources, all through the one ArmClient. */
export class AzureResources {
  readonly #arm: ArmClient;
  readonly #scope: AzureScope;

  constructor(arm: ArmClient, scope: AzureScope) {
    this.#arm = arm;
    this.#scope = scope;
  }

  get arm(): ArmClient {
    return this.#arm;
  }

  #poll(): { updateIntervalInMs: number } {
    return { updateIntervalInMs: this.#arm.pollIntervalMs };
  }

  async getLoadBalancer(internal: boolean): Promise<ObservedLoadBalancer | undefined> {
    const name = loadBalancerName(this.#scope.cluster, internal);
    const lb = await this.#arm.find('GET loadBalancers', () =>
      this.#arm.network.loadBalancers.get(this.#scope.resourceGroup, name),
    );
    return lb ? fromSdkLoadBalancer(lb) : undefined;
  }

  /** PUT with a precondition, waiting for the operation to finish (the writer's background work, never a reconcile's). */
  async putLoadBalancer(body: LoadBalancerBody, precondition: Precondition): Promise<ObservedLoadBalancer> {
    const lb = await this.#arm.call('PUT loadBalancers', () =>
      this.#arm.network.loadBalancers.beginCreateOrUpdateAndWait(
        this.#scope.resourceGroup,
        body.name,
        toSdkLoadBalancer(body),
        { ...this.#poll(), requestOptions: { customHeaders: preconditionHeaders(precondition) } },
      ),
    );
    return fromSdkLoadBalancer(lb);
  }

  async deleteLoadBalancer(name: string, etag: string | undefined): Promise<void> {
    await this.#arm.call('DELETE loadBalancers', () =>
      this.#arm.network.loadBalancers.beginDeleteAndWait(this.#scope.resourceGroup, name, {
        ...this.#poll(),
        ...(etag ? { requestOptions: { customHeaders: { 'If-Match': etag } } } : {}),
      }),
    );
  }

  async getPublicIp(resourceGroup: string, name: string): Promise<ObservedPublicIp | undefined> {
    const pip = await this.#arm.find('GET publicIPAddresses', () =>
      this.#arm.network.publicIPAddresses.get(resourceGroup, name),
    );
    return pip ? fromSdkPublicIp(pip, resourceGroup) : undefined;
  }

  async listPublicIps(resourceGroup: string): Promise<ObservedPublicIp[]> {
    return await this.#arm.call('GET publicIPAddresses (list)', async () => {
      const found: ObservedPublicIp[] = [];
      for await (const pip of this.#arm.network.publicIPAddresses.list(resourceGroup)) {
        found.push(fromSdkPublicIp(pip, resourceGroup));
      }
      return found;
    });
  }

  /** Starts the PUT of a public IP; does not wait for it (the next reconcile reads its state). */
  async startPutPublicIp(resourceGroup: string, name: string, body: PublicIpBody): Promise<void> {
    await this.#arm.call('PUT publicIPAddresses', () =>
      this.#arm.network.publicIPAddresses.beginCreateOrUpdate(resourceGroup, name, body, this.#poll()),
    );
  }

  /** Starts the DELETE of a public IP; does not wait for it. */
  async startDeletePublicIp(resourceGroup: string, name: string): Promise<void> {
    await this.#arm.call('DELETE publicIPAddresses', () =>
      this.#arm.network.publicIPAddresses.beginDelete(resourceGroup, name, this.#poll()),
    );
  }

  async getSecurityGroup(resourceGroup: string, name: string): Promise<ObservedSecurityGroup | undefined> {
    const nsg = await this.#arm.find('GET networkSecurityGroups', () =>
      this.#arm.network.networkSecurityGroups.get(resourceGroup, name),
    );
    return nsg ? fromSdkSecurityGroup(nsg, resourceGroup) : undefined;
  }

  async putSecurityGroup(
    resourceGroup: string,
    body: SecurityGroupBody,
    etag: string | undefined,
  ): Promise<ObservedSecurityGroup> {
    const nsg = await this.#arm.call('PUT networkSecurityGroups', () =>
      this.#arm.network.networkSecurityGroups.beginCreateOrUpdateAndWait(
        resourceGroup,
        body.name,
        toSdkSecurityGroup(body),
        { ...this.#poll(), ...(etag ? { requestOptions: { customHeaders: { 'If-Match': etag } } } : {}) },
      ),
    );
    return fromSdkSecurityGroup(nsg, resourceGroup);
  }

  /** The NSG attached to a subnet of the cluster's VNet (resource group and name), if any. */
  async subnetSecurityGroup(subnet: string): Promise<{ resourceGroup: string; name: string } | undefined> {
    const group = this.#scope.vnetResourceGroup ?? this.#scope.resourceGroup;
    const found = await this.#arm.find('GET virtualNetworks/subnets', () =>
      this.#arm.network.subnets.get(group, this.#scope.vnetName, subnet),
    );
    const id = found?.networkSecurityGroup?.id;
    if (id === undefined) return undefined;
    const name = id.split('/').at(-1);
    const resourceGroup = resourceGroupOf(id);
    return name && resourceGroup ? { resourceGroup, name } : undefined;
  }
}
