// Which ELBv2 load balancers and target groups Sluice owns, by tag. ELBv2 has no tag filter, so
// this keeps an index ARN → tags: a paginated scan of every load balancer and target group (at
// start and periodically), DescribeTags for new ARNs in batches of 20, tags cached per ARN (re-read
// once they are older than `tagMaxAgeMs`, so a tag changed by hand is seen eventually), and kept
// up to date by our own creates, deletes and tag changes. Only resources whose tags say this
// cluster (and Service) are ever returned. Security groups need none of this: EC2 filters by tag.
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Logger } from '../../observability/logger.ts';
import type { AwsClient } from './client.ts';
import { AwsCallError, isNotFoundError } from './errors.ts';
import { TAG } from './model.ts';
import type { Clock } from './rate-limit.ts';
import { systemClock } from './rate-limit.ts';
import { chunks, tagMap } from './sdk-shapes.ts';

export type IndexedKind = 'load-balancer' | 'target-group';

interface Entry {
  kind: IndexedKind;
  tags: Record<string, string>;
  /** When the tags were read (or written by us). */
  taggedAt: number;
}

export interface OwnedArns {
  loadBalancerArns: string[];
  targetGroupArns: string[];
}

export interface InventoryOptions {
  aws: AwsClient;
  logger: Logger;
  clock?: Clock;
  /** Tags older than this are read again on the next refresh. Default 20 min (as aws-load-balancer-controller). */
  tagMaxAgeMs?: number;
}

/** DescribeTags takes at most 20 ARNs. */
const TAG_BATCH = 20;
/** DescribeLoadBalancers / DescribeTargetGroups page size (the API's maximum). */
const PAGE_SIZE = 400;

function isGone(error: unknown): boolean {
  return error instanceof AwsCallError && isNotFoundError(error.code);
}

export class AwsInventory {
  readonly #aws: AwsClient;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #tagMaxAgeMs: number;
  readonly #entries = new Map<string, Entry>();
  /** ARNs we deleted since the scan in flight started: a slow list must not bring them back. */
  readonly #deletedDuringScan = new Set<string>();
  /** ARNs we created since the scan in flight started: the lists may not show them yet. */
  readonly #createdDuringScan = new Set<string>();
  #scan: Promise<void> | undefined;
  #loaded = false;
  #scans = 0;

  constructor(options: InventoryOptions) {
    this.#aws = options.aws;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#tagMaxAgeMs = options.tagMaxAgeMs ?? 20 * 60_000;
  }

  /** Completed scans (tests, metrics). */
  get scans(): number {
    return this.#scans;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The first scan, once; later calls wait for it. */
  async ensureLoaded(): Promise<void> {
    if (!this.#loaded) await this.refresh();
  }

  /** Scans every load balancer and target group; one scan at a time (callers share it). */
  refresh(): Promise<void> {
    this.#scan ??= this.#doScan().finally(() => {
      this.#scan = undefined;
    });
    return this.#scan;
  }

  /** Refreshes every `intervalMs` until the returned function is called. */
  startPeriodicRefresh(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.refresh().catch((error: unknown) => {
        this.#logger.warn(
          { err: String(error) },
          'AWS inventory refresh failed; the index keeps what it had',
        );
      });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async #doScan(): Promise<void> {
    this.#deletedDuringScan.clear();
    this.#createdDuringScan.clear();
    const seen = new Map<string, IndexedKind>();
    let marker: string | undefined;
    do {
      const page = await this.#aws.elbv2(
        new DescribeLoadBalancersCommand({ PageSize: PAGE_SIZE, Marker: marker }),
      );
      for (const lb of page.LoadBalancers ?? [])
        if (lb.LoadBalancerArn) seen.set(lb.LoadBalancerArn, 'load-balancer');
      marker = page.NextMarker;
    } while (marker);
    do {
      const page = await this.#aws.elbv2(
        new DescribeTargetGroupsCommand({ PageSize: PAGE_SIZE, Marker: marker }),
      );
      for (const tg of page.TargetGroups ?? [])
        if (tg.TargetGroupArn) seen.set(tg.TargetGroupArn, 'target-group');
      marker = page.NextMarker;
    } while (marker);

    for (const arn of [...this.#entries.keys()]) {
      if (!seen.has(arn) && !this.#createdDuringScan.has(arn)) this.#entries.delete(arn);
    }
    const stale = this.#clock.now() - this.#tagMaxAgeMs;
    const toTag = [...seen].filter(([arn]) => {
      if (this.#deletedDuringScan.has(arn)) return false;
      const entry = this.#entries.get(arn);
      return !entry || entry.taggedAt < stale;
    });
    await this.#readTags(toTag);
    this.#loaded = true;
    this.#scans++;
  }

  /** DescribeTags in batches; a batch naming a resource deleted meanwhile is read one by one. */
  async #readTags(resources: ReadonlyArray<[string, IndexedKind]>): Promise<void> {
    const kinds = new Map(resources);
    for (const batch of chunks(
      resources.map(([arn]) => arn),
      TAG_BATCH,
    )) {
      try {
        await this.#tagBatch(batch, kinds);
        continue;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
      // AWS refuses the whole batch when one of its resources was deleted meanwhile: one by one.
      for (const arn of batch) {
        try {
          await this.#tagBatch([arn], kinds);
        } catch (error) {
          if (!isGone(error)) throw error;
          this.#entries.delete(arn);
        }
      }
    }
  }

  async #tagBatch(arns: string[], kinds: ReadonlyMap<string, IndexedKind>): Promise<void> {
    const out = await this.#aws.elbv2(new DescribeTagsCommand({ ResourceArns: arns }));
    const now = this.#clock.now();
    for (const description of out.TagDescriptions ?? []) {
      const arn = description.ResourceArn;
      const kind = arn ? kinds.get(arn) : undefined;
      if (!arn || !kind || this.#deletedDuringScan.has(arn)) continue;
      this.#entries.set(arn, { kind, tags: tagMap(description.Tags), taggedAt: now });
    }
  }

  /** The resources tagged for this cluster and Service. */
  owned(cluster: string, serviceUid: string): OwnedArns {
    return this.#select((tags) => tags[TAG.cluster] === cluster && tags[TAG.serviceUid] === serviceUid);
  }

  /** Everything tagged for this cluster (orphan detection). */
  ownedByCluster(cluster: string): OwnedArns & { serviceUids: string[] } {
    const arns = this.#select((tags) => tags[TAG.cluster] === cluster);
    const uids = new Set<string>();
    for (const arn of [...arns.loadBalancerArns, ...arns.targetGroupArns]) {
      const uid = this.#entries.get(arn)?.tags[TAG.serviceUid];
      if (uid) uids.add(uid);
    }
    return { ...arns, serviceUids: [...uids].sort() };
  }

  #select(match: (tags: Record<string, string>) => boolean): OwnedArns {
    const loadBalancerArns: string[] = [];
    const targetGroupArns: string[] = [];
    for (const [arn, entry] of this.#entries) {
      if (!match(entry.tags)) continue;
      (entry.kind === 'load-balancer' ? loadBalancerArns : targetGroupArns).push(arn);
    }
    return { loadBalancerArns: loadBalancerArns.sort(), targetGroupArns: targetGroupArns.sort() };
  }

  /** The cached tags of one resource (undefined: not indexed). */
  tagsOf(arn: string): Record<string, string> | undefined {
    const tags = this.#entries.get(arn)?.tags;
    return tags ? { ...tags } : undefined;
  }

  /** After our own create (or adoption): the resource is indexed with the tags it was made with. */
  recordCreated(arn: string, kind: IndexedKind, tags: Record<string, string>): void {
    this.#deletedDuringScan.delete(arn);
    if (this.#scan) this.#createdDuringScan.add(arn);
    this.#entries.set(arn, { kind, tags: { ...tags }, taggedAt: this.#clock.now() });
  }

  /** After our own delete, or when a Describe says the resource is gone. */
  recordDeleted(arn: string): void {
    this.#entries.delete(arn);
    if (this.#scan) this.#deletedDuringScan.add(arn);
  }

  /** After our own AddTags / RemoveTags. */
  recordTags(arn: string, added: Record<string, string>, removedKeys: ReadonlyArray<string> = []): void {
    const entry = this.#entries.get(arn);
    if (!entry) return;
    const tags = { ...entry.tags, ...added };
    for (const key of removedKeys) delete tags[key];
    this.#entries.set(arn, { ...entry, tags });
  }
}
