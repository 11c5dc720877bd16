// The cluster's Compute resources, read by listing each kind once (names filtered to the cluster's
// prefix) instead of one GET per name per Service. A reconcile needs a listing that started after
// every operation it saw finish (`notBefore`), and not much older than that: a recent listing that
// qualifies is reused, one under way that started late enough is joined, and otherwise the caller
// waits for the next, shared by everyone who asked meanwhile. A burst of N reconciles costs a few
// listings, not N × 17 reads through the client's rate limit.
import type { protos } from '@google-cloud/compute';
import type { ComputeClient } from './client.ts';
import { ComputeCallError, isNotFound } from './errors.ts';
import type { GcpConfig } from './model.ts';
import { clusterPrefix, instanceGroupName, lastSegment } from './names.ts';

type IAddress = protos.google.cloud.compute.v1.IAddress;
type IHealthCheck = protos.google.cloud.compute.v1.IHealthCheck;
type IBackendService = protos.google.cloud.compute.v1.IBackendService;
type IForwardingRule = protos.google.cloud.compute.v1.IForwardingRule;
type IFirewall = protos.google.cloud.compute.v1.IFirewall;
type IInstanceGroup = protos.google.cloud.compute.v1.IInstanceGroup;

/** One instance group (the cluster's, in one zone) and the instances in it. */
export interface ListedInstanceGroup {
  group: IInstanceGroup;
  zone: string;
  instances: string[];
}

/** Every resource whose name starts with the cluster's prefix, by kind (whoever owns it). */
export interface ClusterListing {
  addresses: IAddress[];
  healthChecks: IHealthCheck[];
  backendServices: IBackendService[];
  forwardingRules: IForwardingRule[];
  firewalls: IFirewall[];
  instanceGroups: ListedInstanceGroup[];
}

/** Compute's legacy filter syntax: a RE2 expression that must match the whole name. */
export function clusterNameFilter(cluster: string): string {
  return `name eq "${clusterPrefix(cluster)}-.*"`;
}

/** Pages through one list call; a retry starts the listing over. */
async function listAll<T>(client: ComputeClient, api: string, pages: () => AsyncIterable<T>): Promise<T[]> {
  return client.call(api, async () => {
    const items: T[] = [];
    for await (const item of pages()) items.push(item);
    return items;
  });
}

/** A listing and when it started (ms). */
interface Dated {
  startedAt: number;
  listing: Promise<ClusterListing>;
}

export interface InventoryOptions {
  /** How old a finished listing may be and still be reused. Default DEFAULT_LISTING_MAX_AGE_MS. */
  maxAgeMs?: number;
  now?: () => number;
}

/** Drift made outside Sluice shows within this long; Sluice's own writes show at once (notBefore). */
export const DEFAULT_LISTING_MAX_AGE_MS = 2_000;

export class ClusterInventory {
  readonly #client: ComputeClient;
  readonly #config: GcpConfig;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  /** The listing under way, if any. */
  #running: Dated | undefined;
  /** The listing that starts when the running one ends: whoever asks meanwhile waits for it. */
  #queued: Promise<ClusterListing> | undefined;
  /** The last listing that succeeded. */
  #latest: { startedAt: number; listing: ClusterListing } | undefined;

  constructor(client: ComputeClient, config: GcpConfig, options: InventoryOptions = {}) {
    this.#client = client;
    this.#config = config;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_LISTING_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A listing that started after `notBefore` (default: now, i.e. one started after this call)
   * and at most maxAgeMs ago. Callers pass the time they last saw one of their operations finish, so
   * what they see includes everything they wrote.
   */
  read(notBefore: number = this.#now()): Promise<ClusterListing> {
    const latest = this.#latest;
    if (latest && latest.startedAt > notBefore && this.#now() - latest.startedAt <= this.#maxAgeMs) {
      return Promise.resolve(latest.listing);
    }
    if (this.#running === undefined) return this.#start();
    if (this.#running.startedAt > notBefore) return this.#running.listing;
    this.#queued ??= this.#running.listing
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    return this.#queued;
  }

  #start(): Promise<ClusterListing> {
    const startedAt = this.#now();
    const listing = this.#list().then((result) => {
      if (!this.#latest || this.#latest.startedAt <= startedAt) this.#latest = { startedAt, listing: result };
      return result;
    });
    const running: Dated = { startedAt, listing };
    const settle = () => {
      if (this.#running === running) this.#running = undefined;
    };
    listing.then(settle, settle);
    this.#running = running;
    return listing;
  }

  async #list(): Promise<ClusterListing> {
    const client = this.#client;
    const { project, region, cluster } = this.#config;
    const filter = clusterNameFilter(cluster);
    // autoPaginate false: the async iterators page by themselves (and gax does not warn).
    const paged = { autoPaginate: false };
    const [addresses, healthChecks, backendServices, forwardingRules, firewalls, instanceGroups] =
      await Promise.all([
        listAll(client, 'addresses.list', () =>
          client.addresses.listAsync({ project, region, filter }, paged),
        ),
        listAll(client, 'regionHealthChecks.list', () =>
          client.healthChecks.listAsync({ project, region, filter }, paged),
        ),
        listAll(client, 'regionBackendServices.list', () =>
          client.backendServices.listAsync({ project, region, filter }, paged),
        ),
        listAll(client, 'forwardingRules.list', () =>
          client.forwardingRules.listAsync({ project, region, filter }, paged),
        ),
        listAll(client, 'firewalls.list', () => client.firewalls.listAsync({ project, filter }, paged)),
        this.#instanceGroups(),
      ]);
    return { addresses, healthChecks, backendServices, forwardingRules, firewalls, instanceGroups };
  }

  /** The cluster's instance groups (one per zone) and their members. */
  async #instanceGroups(): Promise<ListedInstanceGroup[]> {
    const client = this.#client;
    const { project, cluster } = this.#config;
    const name = instanceGroupName(cluster);
    const scoped = await listAll(client, 'instanceGroups.aggregatedList', () =>
      client.instanceGroups.aggregatedListAsync(
        { project, filter: `name = "${name}"` },
        { autoPaginate: false },
      ),
    );
    const groups = scoped.flatMap(([, list]) => (list.instanceGroups ?? []).filter((g) => g.name === name));
    const read = await Promise.all(
      groups.map(async (group): Promise<ListedInstanceGroup | undefined> => {
        const zone = lastSegment(String(group.zone));
        try {
          const [members] = await client.call('instanceGroups.listInstances', () =>
            client.instanceGroups.listInstances({
              project,
              zone,
              instanceGroup: name,
              instanceGroupsListInstancesRequestResource: { instanceState: 'ALL' },
            }),
          );
          return { group, zone, instances: members.map((m) => String(m.instance ?? '')) };
        } catch (error) {
          // Deleted between the list and the member read (a removal finishing): simply gone.
          if (error instanceof ComputeCallError && isNotFound(error.failure)) return undefined;
          throw error;
        }
      }),
    );
    return read.filter((g): g is ListedInstanceGroup => g !== undefined);
  }
}
