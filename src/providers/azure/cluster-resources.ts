// The cluster-wide Azure resources every Service shares, and the one object that reads and writes them: the two
// load balancers (public, internal) and the NSG, each with a shared read (many reconciles, one GET) and its own
// coalescing writer; the node pool the last reconcile saw; where the NSG is. One instance per provider.

import type { Logger } from '../../observability/logger.ts';
import type { ArmClient, Clock } from './client.ts';
import { ArmCallError } from './errors.ts';
import {
  AZURE_LIMITS,
  type AzureLimits,
  type AzureScope,
  type BackendPoolBody,
  type LoadBalancerBody,
  type LoadBalancerSlice,
  type ObservedLoadBalancer,
  type ObservedPublicIp,
  type ObservedSecurityGroup,
  type SecurityGroupBody,
  type SecurityGroupSlice,
  type Visibility,
} from './model.ts';
import { loadBalancerBase } from './plan.ts';
import { AzureResources } from './resources.ts';
import { SharedRead } from './shared-read.ts';
import { mergeLoadBalancer, mergeSecurityGroup } from './slices.ts';
import { CoalescingWriter, type WriterOptions } from './writer.ts';

export interface ClusterResourcesOptions {
  arm: ArmClient;
  scope: AzureScope;
  logger: Logger;
  clock: Clock;
  /** The cluster NSG, by name in the scope's resource group; absent: the NSG of the default internal subnet. */
  securityGroupName?: string;
  limits?: AzureLimits;
  writer?: Omit<WriterOptions, 'logger' | 'clock'>;
  /** How long the NSG found on the subnet is trusted before it is looked up again. Default 5 min. */
  securityGroupLookupTtlMs?: number;
}

export interface SecurityGroupRef {
  resourceGroup: string;
  name: string;
  source: 'configured' | 'subnet';
}

const VISIBILITIES: readonly Visibility[] = ['public', 'internal'];

export class ClusterResources {
  readonly resources: AzureResources;
  readonly scope: AzureScope;
  readonly limits: AzureLimits;
  readonly loadBalancerReads: Record<Visibility, SharedRead<ObservedLoadBalancer | undefined>>;
  readonly loadBalancerWriters: Record<Visibility, CoalescingWriter<LoadBalancerBody, LoadBalancerSlice>>;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #writerOptions: WriterOptions;
  readonly #configuredGroup: string | undefined;
  readonly #lookupTtlMs: number;
  #pool: BackendPoolBody | undefined;
  #group: { ref: SecurityGroupRef | undefined; at: number } | undefined;
  #groupRead: { key: string; read: SharedRead<ObservedSecurityGroup | undefined> } | undefined;
  #groupWriter: { key: string; writer: CoalescingWriter<SecurityGroupBody, SecurityGroupSlice> } | undefined;
  readonly #publicIpLists = new Map<string, SharedRead<ObservedPublicIp[]>>();

  constructor(options: ClusterResourcesOptions) {
    this.resources = new AzureResources(options.arm, options.scope);
    this.scope = options.scope;
    this.limits = options.limits ?? AZURE_LIMITS;
    this.#log = options.logger;
    this.#clock = options.clock;
    this.#writerOptions = { ...options.writer, logger: options.logger, clock: options.clock };
    this.#configuredGroup = options.securityGroupName;
    this.#lookupTtlMs = options.securityGroupLookupTtlMs ?? 5 * 60_000;
    const read = (visibility: Visibility) =>
      new SharedRead(() => this.resources.getLoadBalancer(visibility === 'internal'), options.clock);
    this.loadBalancerReads = { public: read('public'), internal: read('internal') };
    this.loadBalancerWriters = {
      public: this.#loadBalancerWriter('public'),
      internal: this.#loadBalancerWriter('internal'),
    };
  }

  /** The node pool both load balancers should hold (the newest a reconcile saw). */
  setBackendPool(pool: BackendPoolBody): void {
    this.#pool = pool;
  }

  #loadBalancerWriter(visibility: Visibility): CoalescingWriter<LoadBalancerBody, LoadBalancerSlice> {
    const cache = () => this.loadBalancerReads[visibility];
    const other = () => this.loadBalancerReads[visibility === 'public' ? 'internal' : 'public'];
    return new CoalescingWriter<LoadBalancerBody, LoadBalancerSlice>(
      {
        description: `load balancer ${loadBalancerBase(this.scope, visibility, undefined).name}`,
        read: async () => {
          const observed = await this.resources.getLoadBalancer(visibility === 'internal');
          cache().set(observed);
          return observed?.body;
        },
        merge: (current, changes) =>
          mergeLoadBalancer(
            current,
            changes,
            loadBalancerBase(this.scope, visibility, this.#pool),
            this.limits,
            // Azure counts a node's rules over every load balancer it is behind.
            other().peek()?.body.loadBalancingRules.length ?? 0,
          ),
        write: async (body, current) => {
          const written = await this.resources.putLoadBalancer(
            body,
            current?.etag ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
          );
          cache().set(written);
        },
        remove: async (current) => {
          await this.resources.deleteLoadBalancer(current.name, current.etag);
          cache().set(undefined);
        },
        invalidate: () => cache().invalidate(),
      },
      this.#writerOptions,
    );
  }

  /** Where the NSG Sluice manages is: configured, or attached to the default subnet (looked up, cached); undefined: none. */
  async securityGroupRef(): Promise<SecurityGroupRef | undefined> {
    if (this.#configuredGroup !== undefined) {
      return { resourceGroup: this.scope.resourceGroup, name: this.#configuredGroup, source: 'configured' };
    }
    const now = this.#clock.now();
    if (this.#group === undefined || now - this.#group.at > this.#lookupTtlMs) {
      const found = await this.resources.subnetSecurityGroup(this.scope.subnetName);
      this.#group = { ref: found ? { ...found, source: 'subnet' } : undefined, at: now };
      if (!found)
        this.#log.warn(
          { subnet: this.scope.subnetName },
          'no NSG on the subnet and none configured: Sluice manages no NSG rules',
        );
    }
    return this.#group.ref;
  }

  /** The shared read of the NSG (the same object while the NSG stays the same). */
  securityGroupRead(ref: SecurityGroupRef): SharedRead<ObservedSecurityGroup | undefined> {
    const key = `${ref.resourceGroup}/${ref.name}`.toLowerCase();
    if (this.#groupRead?.key !== key) {
      this.#groupRead = {
        key,
        read: new SharedRead(() => this.resources.getSecurityGroup(ref.resourceGroup, ref.name), this.#clock),
      };
    }
    return this.#groupRead.read;
  }

  /** The NSG's writer (created on first use; a different NSG gets a new one). */
  securityGroupWriter(ref: SecurityGroupRef): CoalescingWriter<SecurityGroupBody, SecurityGroupSlice> {
    const key = `${ref.resourceGroup}/${ref.name}`.toLowerCase();
    if (this.#groupWriter?.key === key) return this.#groupWriter.writer;
    const cache = this.securityGroupRead(ref);
    const missing = () =>
      new ArmCallError('GET networkSecurityGroups', {
        kind: 'fatal',
        code: 'ResourceNotFound',
        message: `network security group ${ref.name} does not exist in resource group ${ref.resourceGroup}`,
      });
    const writer = new CoalescingWriter<SecurityGroupBody, SecurityGroupSlice>(
      {
        description: `network security group ${ref.name}`,
        read: async () => {
          const observed = await this.resources.getSecurityGroup(ref.resourceGroup, ref.name);
          cache.set(observed);
          if (observed === undefined) throw missing();
          return observed.body;
        },
        merge: (current, changes) => {
          if (current === undefined) throw missing();
          return mergeSecurityGroup(current, changes, this.limits);
        },
        write: async (body, current) => {
          cache.set(await this.resources.putSecurityGroup(ref.resourceGroup, body, current?.etag));
        },
        // The merge never empties the NSG: it is not Sluice's to delete.
        remove: async () => {},
        invalidate: () => cache.invalidate(),
      },
      this.#writerOptions,
    );
    this.#groupWriter = { key, writer };
    return writer;
  }

  /** The NSG writer if one exists (for a removal that finds the NSG unchanged). */
  currentSecurityGroupWriter(): CoalescingWriter<SecurityGroupBody, SecurityGroupSlice> | undefined {
    return this.#groupWriter?.writer;
  }

  /** The public IPs of a resource group, shared by the Services that look one up by address. */
  publicIpList(resourceGroup: string): SharedRead<ObservedPublicIp[]> {
    const key = resourceGroup.toLowerCase();
    let read = this.#publicIpLists.get(key);
    if (!read) {
      read = new SharedRead(() => this.resources.listPublicIps(resourceGroup), this.#clock);
      this.#publicIpLists.set(key, read);
    }
    return read;
  }

  /** Resolves when no writer has anything queued or in flight (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const writers = [
        ...VISIBILITIES.map((v) => this.loadBalancerWriters[v]),
        ...(this.#groupWriter ? [this.#groupWriter.writer] : []),
      ];
      if (!writers.some((w) => w.busy)) return;
      await Promise.all(writers.map((w) => w.idle()));
    }
  }
}
