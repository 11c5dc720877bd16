// Wires one speaker process: caches, heartbeat, election passes, the announcer, the L2Announcement
// writer, health and shutdown. The timing rules against split brain are in fence.ts; on top of them, after
// losing the API the speaker announces nothing until every cache has been listed again.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  EventsV1Api,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Lease,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { Logger } from 'pino';
import type { SpeakerConfig } from '../config/speaker-config.ts';
import { EventRecorder } from '../kube/event-recorder.ts';
import { loadKubeConfig, type PooledKubeConfig } from '../kube/kube-config.ts';
import { describe } from '../kube/leader-election.ts';
import { Reflector } from '../kube/reflector.ts';
import { startHealthServer } from '../observability/health.ts';
import type { WantedAddress } from './announcement-plan.ts';
import { GROUP, type L2AnnouncementObject, PLURAL, statusOf, VERSION } from './announcement-status.ts';
import { Announcer, type KernelView } from './announcer.ts';
import {
  type AdvertisementFacts,
  advertisementFacts,
  type EndpointNodes,
  endpointNodesByService,
  inSomePool,
  type NodeFacts,
  nodeFacts,
  type PoolFacts,
  poolFacts,
  SERVICE_NAME_LABEL,
  type ServiceFacts,
  serviceFacts,
} from './cluster-facts.ts';
import { CommandRunner } from './command-runner.ts';
import { readInterfacesCommand } from './commands.ts';
import { type Decision, Election } from './election.ts';
import {
  addressDeadline,
  fenceDeadline,
  holdMs,
  leaseReleaseDelayMs,
  lifetimeBefore,
  mayAnnounce,
} from './fence.ts';
import { Heartbeat } from './heartbeat.ts';
import { HeartbeatView, leaseName, SPEAKER_LABEL_SELECTOR } from './heartbeat-view.ts';
import {
  announcementsOnNode,
  type NetInterface,
  parseIpAddrJson,
  summarizeInterfaces,
} from './interfaces.ts';
import { SpeakerMetrics } from './metrics.ts';
import { Backoff, passFollowUp } from './pass-policy.ts';
import { StatusWriter } from './status-writer.ts';

const WATCHDOG_MS = 120_000;
const RELIST_MS = 300_000;
/** Changes arriving within this window are handled by one pass. */
const PASS_DEBOUNCE_MS = 30;
/** A pass that could not take every address it won is tried again after this, doubling up to the max. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export interface RunningSpeaker {
  stopped: () => Promise<void>;
  healthPort: number;
}

type Custom = KubernetesObject & { spec?: unknown; status?: unknown };

/** The election's inputs from the caches, rebuilt only when one of them changed. */
interface Facts {
  version: number;
  services: ServiceFacts[];
  nodes: Map<string, NodeFacts>;
  pools: PoolFacts[];
  ads: AdvertisementFacts[];
  /** Interfaces some L2Advertisement names: the heartbeat reports them even without an address. */
  wantedInterfaces: Set<string>;
  endpoints: Map<string, EndpointNodes>;
}

export async function runSpeaker(
  config: SpeakerConfig,
  log: Logger,
  signal: AbortSignal,
): Promise<RunningSpeaker> {
  const speaker = new Speaker(config, log);
  return speaker.run(signal);
}

class Speaker {
  readonly #config: SpeakerConfig;
  readonly #log: Logger;
  readonly #node: string;
  readonly #metrics = new SpeakerMetrics();
  readonly #view = new HeartbeatView();
  readonly #runner: CommandRunner;
  readonly #announcer: Announcer;
  readonly #kc: PooledKubeConfig;
  readonly #selection: { loadBalancerClass: string; manageUnclassed: boolean };
  /** D − R: how long after a renewal began this speaker may keep announcing. */
  readonly #holdMs: number;

  #services!: Reflector<V1Service>;
  #nodes!: Reflector<V1Node>;
  #slices!: Reflector<V1EndpointSlice>;
  #pools!: Reflector<Custom>;
  #ads!: Reflector<Custom>;
  #announcements!: Reflector<Custom>;
  /** Every cache by name (the name its metrics and logs use). */
  readonly #reflectors = new Map<string, Reflector<KubernetesObject>>();
  #heartbeat!: Heartbeat;
  #statusWriter!: StatusWriter;

  /** Bumped whenever a fact the election reads may have changed. */
  #factsVersion = 0;
  #facts: Facts | undefined;
  #reportedProblems = new Set<string>();
  #snapshot: NetInterface[] | undefined;
  /** When the snapshot's `ip` command started. */
  #snapshotAt = 0;
  #lastRenewStart: number | undefined;
  #renewedOnce = false;
  #syncedAt: number | undefined;
  #stopping = false;
  #passTimer: NodeJS.Timeout | undefined;
  #passRunning: Promise<void> | undefined;
  #passAgain = false;
  #lastSignature = '';
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #retryBackoff = new Backoff(RETRY_MIN_MS, RETRY_MAX_MS);
  #snapshotTimer: NodeJS.Timeout | undefined;
  #snapshotRunning: Promise<void> | undefined;
  /** When the API was first lost (a renewal failed), for choosing which caches to list again. */
  #lostAt: number | undefined;
  readonly #restartedAt = new Map<string, number>();
  /** Address → when this node first saw itself elected for it while another live node held it. */
  readonly #handoverSince = new Map<string, number>();
  #handoverTimer: NodeJS.Timeout | undefined;
  #fenceTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** A renewal failed since the last one that succeeded. */
  #apiLost = false;
  /** After the API came back: the caches must have been listed since then. */
  #resyncFrom: number | undefined;
  readonly #listedAt = new Map<string, number>();
  /** The caches that must be listed again (since #resyncFrom) before announcing. */
  #resyncNames = new Set<string>();
  #lastLeaseKick = 0;

  constructor(config: SpeakerConfig, log: Logger) {
    this.#config = config;
    this.#node = config.nodeName;
    this.#log = log;
    this.#selection = {
      loadBalancerClass: config.loadBalancerClass,
      manageUnclassed: config.manageUnclassed,
    };
    this.#holdMs = holdMs(config.heartbeat);
    this.#runner = new CommandRunner({
      lanes: {
        // The fence and the heartbeat's interface snapshot: never behind an announcement.
        ip: { concurrency: 4, timeoutMs: 5000 },
        // One arping lasts about a second: 16 at once get through a burst of 8 addresses per second;
        // beyond 256 waiting, the latest rounds of the bursts are dropped.
        announce: { concurrency: 16, maxQueued: 256, timeoutMs: 3000 },
      },
      onResult: (file, ok) => this.#metrics.commands.inc({ command: file, result: ok ? 'success' : 'error' }),
      onSkipped: (file) => this.#metrics.commands.inc({ command: file, result: 'skipped' }),
    });
    this.#announcer = new Announcer(this.#runner, log, {
      timing: config.heartbeat,
      onAnnounce: () => this.#metrics.announcements.inc(),
      onWithdraw: () => this.#metrics.withdrawals.inc(),
    });
    this.#kc = loadKubeConfig(config.kubeconfig);
  }

  async run(signal: AbortSignal): Promise<RunningSpeaker> {
    const kc = this.#kc;
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const changed = (): void => {
      this.#factsVersion++;
      this.#requestPass();
    };

    this.#services = this.#reflector<V1Service>(
      'services',
      '/api/v1/services',
      async () => {
        const list = await core.listServiceForAllNamespaces();
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      (raw) => ObjectSerializer.deserialize(raw, 'V1Service') as V1Service,
      WATCHDOG_MS,
      {
        onUpsert: (s, old) => {
          if (serviceFacts(s, this.#selection) || (old && serviceFacts(old, this.#selection))) changed();
        },
        onDelete: changed,
        onListed: changed,
      },
    );
    this.#nodes = this.#reflector<V1Node>(
      'nodes',
      '/api/v1/nodes',
      async () => {
        const list = await core.listNode();
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      (raw) => ObjectSerializer.deserialize(raw, 'V1Node') as V1Node,
      WATCHDOG_MS,
      {
        // Kubelets update their Node often; only what the election reads matters.
        onUpsert: (n, old) => {
          if (!old || JSON.stringify(nodeFacts(n)) !== JSON.stringify(nodeFacts(old))) changed();
        },
        onDelete: changed,
        onListed: changed,
      },
    );
    this.#slices = this.#reflector<V1EndpointSlice>(
      'endpointslices',
      '/apis/discovery.k8s.io/v1/endpointslices',
      async () => {
        const list = await discovery.listEndpointSliceForAllNamespaces();
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      (raw) => ObjectSerializer.deserialize(raw, 'V1EndpointSlice') as V1EndpointSlice,
      WATCHDOG_MS,
      {
        // Endpoints matter only for Local Services we announce.
        onUpsert: (s) => this.#sliceMatters(s) && changed(),
        onDelete: (s) => this.#sliceMatters(s) && changed(),
        onListed: changed,
      },
    );
    const customReflector = (plural: string, onChange: () => void): Reflector<Custom> =>
      this.#reflector<Custom>(
        plural,
        `/apis/${GROUP}/${VERSION}/${plural}`,
        async () => {
          const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as {
            items: Custom[];
            metadata?: { resourceVersion?: string };
          };
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
        },
        (raw) => raw as Custom,
        WATCHDOG_MS,
        { onUpsert: onChange, onDelete: onChange, onListed: onChange },
      );
    this.#pools = customReflector('addresspools', changed);
    this.#ads = customReflector('l2advertisements', changed);
    // What users see: the election does not read it, but a hand edit must be put right.
    this.#announcements = customReflector(PLURAL, () => this.#requestPass());
    const { namespace } = this.#config;
    // Our own renewals arrive every interval: a watch silent for a few of them is broken.
    const leaseWatchdogMs = Math.max(5000, 3 * this.#config.heartbeat.intervalMs);
    this.#reflector<V1Lease>(
      'leases',
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases?labelSelector=${encodeURIComponent(SPEAKER_LABEL_SELECTOR)}`,
      async () => {
        const list = await coordination.listNamespacedLease({
          namespace,
          labelSelector: SPEAKER_LABEL_SELECTOR,
        });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      (raw) => ObjectSerializer.deserialize(raw, 'V1Lease') as V1Lease,
      leaseWatchdogMs,
      {
        onUpsert: (lease) => {
          this.#view.observe(lease, Date.now());
          if (lease.metadata?.name === leaseName(this.#node)) this.#scheduleFence();
          this.#scheduleExpiryCheck();
          this.#requestPass();
        },
        onDelete: (lease) => {
          this.#view.forget(lease);
          this.#requestPass();
        },
        onListed: () => this.#requestPass(),
      },
    );

    const events = new EventRecorder(
      kc.makeApiClient(EventsV1Api),
      {
        reportingController: 'sluice.dev/speaker',
        reportingInstance: this.#node,
        seriesWindowMs: 10 * 60_000,
        seriesUpdateIntervalMs: 60_000,
        senders: 1,
        maxQueued: 1000,
        onWrite: (verb) => {
          if (verb !== 'dropped') this.#metrics.kubeWrites.inc({ resource: 'events', verb });
        },
      },
      this.#log,
    );
    this.#statusWriter = new StatusWriter(custom, events, this.#node, this.#log, {
      onWrite: (verb) => this.#metrics.kubeWrites.inc({ resource: PLURAL, verb }),
      retry: () => this.#requestPass(true),
      current: (key) => this.#announcements.get(key) as L2AnnouncementObject | undefined,
    });

    this.#heartbeat = new Heartbeat(
      coordination,
      { namespace, node: this.#node, ...this.#config.heartbeat },
      {
        annotation: () => this.#interfacesAnnotation(),
        onRenewed: (startedAt) => this.#onRenewed(startedAt),
        onFailed: () => {
          if (!this.#apiLost) this.#lostAt = Date.now();
          this.#apiLost = true;
          this.#metrics.heartbeats.inc({ result: 'error' });
        },
      },
      this.#log,
    );

    const health = await startHealthServer(
      this.#config.healthAddress.host,
      this.#config.healthAddress.port,
      {
        live: () => {
          const stuck = [...this.#reflectors.values()].some((r) => r.idleMs > 3 * WATCHDOG_MS);
          if (stuck) return 'a watch has been silent for too long';
          const loopLimit = Math.max(30_000, 5 * this.#config.heartbeat.durationMs);
          if (this.#heartbeat.sinceLastAttemptMs > loopLimit) return 'the heartbeat loop has stalled';
          return undefined;
        },
        ready: () => {
          if (!this.#allSynced()) return 'caches not synced yet';
          if (!this.#renewedOnce) return 'heartbeat lease not renewed yet';
          return undefined;
        },
      },
      this.#metrics.registry,
    );
    this.#log.info({ port: health.port }, 'serving /healthz, /readyz and /metrics');
    for (const r of this.#reflectors.values()) r.start();

    let stopped: Promise<void> | undefined;
    const stop = (reason: string): Promise<void> => {
      stopped ??= (async () => {
        this.#stopping = true;
        this.#log.info({ reason }, 'shutting down');
        for (const timer of [
          this.#passTimer,
          this.#fenceTimer,
          this.#expiryTimer,
          this.#retryTimer,
          this.#snapshotTimer,
          this.#handoverTimer,
        ])
          clearTimeout(timer);
        await this.#heartbeat.stop();
        await this.#passRunning?.catch(() => undefined);
        await this.#snapshotRunning?.catch(() => undefined);
        // Addresses first, then the Lease: nobody may take over while this node still answers.
        await this.#snapshotNow();
        const withdrawn = await this.#announcer.withdrawAll('shutting down', this.#leftovers());
        this.#announcer.stop();
        const waitMs = leaseReleaseDelayMs(
          this.#config.heartbeat,
          this.#lastRenewStart,
          withdrawn,
          Date.now(),
        );
        if (waitMs > 0) {
          this.#log.warn(
            { waitMs },
            'could not remove every address; releasing the heartbeat once their lifetime has ended',
          );
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
        await this.#heartbeat.release();
        for (const r of this.#reflectors.values()) r.stop();
        this.#statusWriter.stop();
        events.stop();
        health.server.closeAllConnections();
        await new Promise<void>((resolve) => health.server.close(() => resolve()));
      })();
      return stopped;
    };
    if (signal.aborted) void stop(String(signal.reason));
    signal.addEventListener('abort', () => void stop(String(signal.reason)), { once: true });

    await waitFor(() => this.#allSynced() || this.#stopping, 50);
    if (!this.#stopping) {
      this.#syncedAt = Date.now();
      this.#log.info('caches synced');
      // The first heartbeat publishes the interfaces; later ones publish the latest snapshot, which a
      // loop of its own keeps current (a renewal never waits for `ip`).
      await this.#snapshotNow();
      this.#scheduleSnapshot();
      this.#heartbeat.start();
      this.#requestPass();
    }
    return { stopped: () => stop(String(signal.reason ?? 'stopped')), healthPort: health.port };
  }

  #reflector<T extends KubernetesObject>(
    name: string,
    watchPath: string,
    list: () => Promise<{ items: T[]; resourceVersion: string }>,
    decode: (raw: unknown) => T,
    watchdogMs: number,
    handlers: {
      onUpsert?: (obj: T, old: T | undefined) => void;
      onDelete?: (obj: T) => void;
      onListed?: () => void;
    },
  ): Reflector<T> {
    const listed = (): void => {
      this.#listedAt.set(name, Date.now());
      handlers.onListed?.();
    };
    const reflector = new Reflector<T>(
      {
        name,
        kubeConfig: this.#kc,
        watchPath,
        list,
        decode,
        watchdogMs,
        relistMs: RELIST_MS,
        log: this.#log,
        onRestart: (reason) => {
          this.#restartedAt.set(name, Date.now());
          this.#metrics.watchRestarts.inc({ resource: name, reason });
        },
      },
      { ...handlers, onListed: listed },
    );
    this.#reflectors.set(name, reflector as unknown as Reflector<KubernetesObject>);
    return reflector;
  }

  #allSynced(): boolean {
    return [...this.#reflectors.values()].every((r) => r.synced);
  }

  #sliceMatters(slice: V1EndpointSlice): boolean {
    const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!name) return false;
    const service = this.#services.get(`${slice.metadata?.namespace}/${name}`);
    return (
      service?.spec?.externalTrafficPolicy === 'Local' && serviceFacts(service, this.#selection) !== undefined
    );
  }

  /** The annotation the heartbeat publishes: the interfaces of the latest snapshot. */
  #interfacesAnnotation(): string {
    const wanted = this.#currentFacts().wantedInterfaces;
    return JSON.stringify(summarizeInterfaces(this.#snapshot ?? [], wanted));
  }

  /** Reads the interfaces again every heartbeat interval, apart from the renewals. */
  #scheduleSnapshot(): void {
    if (this.#stopping) return;
    this.#snapshotTimer = setTimeout(() => {
      this.#snapshotRunning = this.#snapshotNow().finally(() => {
        this.#snapshotRunning = undefined;
        this.#requestPass();
        this.#scheduleSnapshot();
      });
    }, this.#config.heartbeat.intervalMs);
  }

  async #snapshotNow(): Promise<void> {
    const startedAt = Date.now();
    const result = await this.#runner.run(readInterfacesCommand());
    if (!result.ok) {
      this.#log.warn({ reason: result.reason }, 'could not read the interfaces');
      return;
    }
    const parsed = parseIpAddrJson(result.stdout);
    if ('error' in parsed) this.#log.warn({ reason: parsed.error }, 'could not read the interfaces');
    else {
      this.#snapshot = parsed.interfaces;
      this.#snapshotAt = startedAt;
    }
  }

  /** Announcement addresses on this node inside some pool (whatever their origin), per the latest snapshot. */
  #kernelView(pools: PoolFacts[]): KernelView | undefined {
    if (!this.#snapshot) return undefined;
    const placements = announcementsOnNode(this.#snapshot, (family, value) =>
      inSomePool(pools, family, value),
    );
    return { placements, readAt: this.#snapshotAt };
  }

  /** What to withdraw at shutdown besides the addresses held: unknown until the pools are listed. */
  #leftovers(): KernelView | undefined {
    return this.#pools.synced ? this.#kernelView(this.#currentFacts().pools) : undefined;
  }

  #onRenewed(startedAt: number): void {
    this.#lastRenewStart = startedAt;
    const first = !this.#renewedOnce;
    this.#renewedOnce = true;
    this.#metrics.heartbeats.inc({ result: 'success' });
    const now = Date.now();
    if (this.#apiLost) {
      // The API is back, but a cache whose watch broke meanwhile may have missed changes and may be
      // waiting out a long backoff: list those again now, and announce nothing until every one has
      // (others already count this node as alive again). A watch that stayed connected has missed
      // nothing, and relisting everything on every speaker at once after each blip would load the API
      // server just when it recovers.
      const lostAt = this.#lostAt ?? now;
      this.#apiLost = false;
      this.#lostAt = undefined;
      this.#resyncFrom = now;
      this.#resyncNames = new Set(
        [...this.#reflectors.keys()].filter((name) => (this.#restartedAt.get(name) ?? 0) >= lostAt),
      );
      this.#log.info(
        { caches: [...this.#resyncNames] },
        'the API answers again; refreshing the caches whose watch broke before announcing',
      );
      this.#restartReflectors(this.#resyncNames);
    } else {
      const seen = this.#view.seenAt(this.#node);
      const behind = seen === undefined || now - seen > 2 * this.#config.heartbeat.intervalMs;
      if (behind && !first && now - this.#lastLeaseKick > this.#holdMs) {
        // Renewals succeed but the heartbeat watch does not show them: reconnect it.
        this.#lastLeaseKick = now;
        this.#log.info('the heartbeat watch is behind this speaker’s own renewals; relisting the heartbeats');
        this.#restartReflectors(['leases']);
      }
    }
    this.#scheduleFence();
    if (this.#selfFresh(Date.now()))
      void this.#announcer.refresh(addressDeadline(this.#config.heartbeat, startedAt));
    this.#requestPass();
  }

  #restartReflectors(names: Iterable<string>): void {
    for (const name of names) {
      const r = this.#reflectors.get(name);
      r?.stop();
      r?.start();
    }
  }

  /**
   * Whether this speaker may announce: its renewal is recent, its watch shows that renewal, and after a
   * loss of the API every cache has been listed again.
   */
  #selfFresh(now: number): boolean {
    if (!mayAnnounce(this.#config.heartbeat, this.#lastRenewStart, this.#view.seenAt(this.#node), now))
      return false;
    if (this.#resyncFrom !== undefined) {
      const from = this.#resyncFrom;
      if (![...this.#resyncNames].every((name) => (this.#listedAt.get(name) ?? 0) >= from)) return false;
      this.#resyncFrom = undefined;
    }
    return true;
  }

  /** When an address taken now must be gone by (undefined before the first renewal). */
  #deadline(): number | undefined {
    return this.#lastRenewStart === undefined
      ? undefined
      : addressDeadline(this.#config.heartbeat, this.#lastRenewStart);
  }

  #scheduleFence(): void {
    if (this.#stopping || this.#lastRenewStart === undefined) return;
    const deadline = fenceDeadline(
      this.#config.heartbeat,
      this.#lastRenewStart,
      this.#view.seenAt(this.#node),
    );
    clearTimeout(this.#fenceTimer);
    this.#fenceTimer = setTimeout(() => this.#checkFence(), Math.max(0, deadline - Date.now()) + 1);
  }

  #checkFence(): void {
    if (this.#stopping || this.#selfFresh(Date.now())) return;
    if (this.#announcer.held.size > 0) {
      const renewed = this.#lastRenewStart !== undefined && Date.now() < this.#lastRenewStart + this.#holdMs;
      this.#log.warn(
        { holdMs: this.#holdMs },
        renewed
          ? 'the heartbeat watch has not shown this speaker’s renewals; withdrawing every address'
          : 'heartbeat not renewed in time; withdrawing every address',
      );
    }
    // Straight to the announcer: a pass may be waiting on the API, the fence must not.
    void this.#announcer.withdrawAll('heartbeat lapsed');
    this.#requestPass();
  }

  /** A pass when the next heartbeat seen by us turns stale (another speaker may have died). */
  #scheduleExpiryCheck(): void {
    const now = Date.now();
    const next = this.#view.nextExpiry(now);
    if (next === undefined || this.#stopping) return;
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(
      () => {
        this.#requestPass();
        this.#scheduleExpiryCheck();
      },
      next - now + 1,
    );
  }

  #requestPass(force = false): void {
    if (force) this.#lastSignature = '';
    if (this.#stopping || this.#syncedAt === undefined) return;
    if (this.#passRunning) {
      this.#passAgain = true;
      return;
    }
    if (this.#passTimer) return;
    this.#passTimer = setTimeout(() => {
      this.#passTimer = undefined;
      this.#passRunning = this.#pass()
        .catch((error: unknown) =>
          this.#log.error(
            { err: describe(error) },
            'could not work out or apply the addresses this node announces; trying again shortly',
          ),
        )
        .finally(() => {
          this.#passRunning = undefined;
          if (this.#passAgain) {
            this.#passAgain = false;
            this.#requestPass();
          }
        });
    }, PASS_DEBOUNCE_MS);
  }

  #currentFacts(): Facts {
    if (this.#facts?.version === this.#factsVersion) return this.#facts;
    const problems: string[] = [];
    const ads = this.#ads.list().map((ad) => {
      const result = advertisementFacts(ad);
      problems.push(...result.problems);
      return result.facts;
    });
    for (const problem of problems) {
      if (!this.#reportedProblems.has(problem)) this.#log.warn(problem);
    }
    this.#reportedProblems = new Set(problems);
    const services: ServiceFacts[] = [];
    for (const s of this.#services.list()) {
      const facts = serviceFacts(s, this.#selection);
      if (facts) services.push(facts);
    }
    this.#facts = {
      version: this.#factsVersion,
      services,
      nodes: new Map(this.#nodes.list().map((n) => [n.metadata?.name ?? '', nodeFacts(n)])),
      pools: this.#pools.list().map((p) => poolFacts(p as Parameters<typeof poolFacts>[0])),
      ads,
      wantedInterfaces: new Set(ads.flatMap((ad) => ad.interfaces)),
      endpoints: endpointNodesByService(this.#slices.list()),
    };
    return this.#facts;
  }

  async #pass(): Promise<void> {
    if (this.#stopping) return;
    const now = Date.now();
    const selfFresh = this.#selfFresh(now);
    this.#metrics.fenced.set(selfFresh ? 0 : 1);
    // At start-up, addresses an earlier run left stay until this run knows whether it still wins them.
    const settled = selfFresh || now > (this.#syncedAt ?? now) + this.#config.heartbeat.durationMs;
    const fresh = this.#view.fresh(now);
    if (!selfFresh) fresh.delete(this.#node);
    this.#metrics.freshSpeakers.set(fresh.size);
    const facts = this.#currentFacts();
    const kernel = this.#kernelView(facts.pools);
    const deadline = this.#deadline();
    const canTake = lifetimeBefore(this.#config.heartbeat, deadline, now) >= 1;
    const signature = JSON.stringify([
      this.#factsVersion,
      [...fresh.values()],
      selfFresh,
      settled,
      canTake,
      kernel?.placements.map((k) => `${k.address}%${k.interface}`).sort(),
      this.#announcements.list().map((a) => a.metadata?.resourceVersion),
    ]);
    // Heartbeats arrive all the time; most change nothing the election reads.
    if (signature === this.#lastSignature) return;
    const election = new Election({
      nodes: facts.nodes,
      speakers: fresh,
      pools: facts.pools,
      advertisements: facts.ads,
      endpoints: facts.endpoints,
    });

    const decisions = new Map<string, { service: ServiceFacts; decision: Decision }>();
    // One entry per address: an address shared by several Services has one winner for all of them.
    const wanted = new Map<string, WantedAddress>();
    const byKey = election.decideAll(facts.services);
    for (const service of facts.services) {
      const decision = byKey.get(service.key) ?? { kind: 'notAdvertised' };
      decisions.set(service.key, { service, decision });
      if (decision.kind !== 'advertised' || !selfFresh) continue;
      for (const a of decision.addresses) {
        if (a.kind !== 'elected' || a.node !== this.#node) continue;
        const existing = wanted.get(a.address);
        wanted.set(a.address, {
          family: a.family,
          address: a.address,
          interfaces: a.interfaces,
          service: existing ? `${existing.service},${service.key}` : service.key,
        });
      }
    }
    if (!settled) return;
    const handover = this.#awaitHandover(wanted, fresh, now);
    const outcome = await this.#announcer.reconcile(
      [...wanted.values()].filter((w) => !handover.has(w.address)),
      kernel,
      deadline,
    );
    this.#metrics.announcedAddresses.set(this.#announcer.held.size);
    // A take that failed (or had to wait) is tried again with backoff; a waiting handover is tried
    // again when it is due: neither may be skipped as "nothing changed".
    const next = passFollowUp(outcome, canTake, handover.size);
    if (next.retry) this.#retryLater();
    else this.#retryBackoff.reset();
    if (next.done) this.#lastSignature = signature;
    if (this.#stopping) return;
    this.#statusWriter.update({
      decisions,
      outcome,
      selfFresh,
      fresh: [...fresh.keys()],
      existing: this.#announcements.list() as L2AnnouncementObject[],
    });
  }

  #retryLater(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#requestPass(true), this.#retryBackoff.next());
  }

  /**
   * Addresses this node just won from another node that is still alive (a planned move: failback, a
   * node turning Ready, a label change). The old holder sees the same change and drops them on its own
   * next pass; taking them at once would put the address on two nodes for a moment, so this node waits
   * one heartbeat interval first. A holder that is not fresh (dead, cut off, shut down) is not waited
   * for: its kernel lifetime has already ended. The holder is the node the L2Announcement shows.
   */
  #awaitHandover(
    wanted: ReadonlyMap<string, WantedAddress>,
    fresh: ReadonlyMap<string, unknown>,
    now: number,
  ): Set<string> {
    const waiting = new Set<string>();
    let nextDue: number | undefined;
    const held = this.#announcer.held;
    for (const address of [...this.#handoverSince.keys()]) {
      if (!wanted.has(address) || held.has(address)) this.#handoverSince.delete(address);
    }
    for (const w of wanted.values()) {
      if (held.has(w.address)) continue;
      const holder = this.#shownHolder(w);
      if (holder === undefined || holder === this.#node || !fresh.has(holder)) {
        this.#handoverSince.delete(w.address);
        continue;
      }
      const since = this.#handoverSince.get(w.address) ?? now;
      this.#handoverSince.set(w.address, since);
      const due = since + this.#config.heartbeat.intervalMs;
      if (now >= due) continue;
      waiting.add(w.address);
      nextDue = Math.min(nextDue ?? due, due);
    }
    if (nextDue !== undefined) {
      clearTimeout(this.#handoverTimer);
      this.#handoverTimer = setTimeout(() => this.#requestPass(true), nextDue - now + 1);
    }
    return waiting;
  }

  /** The node the L2Announcements show announcing an address, if any. */
  #shownHolder(w: WantedAddress): string | undefined {
    for (const key of w.service.split(',')) {
      const status = statusOf(this.#announcements.get(key) as L2AnnouncementObject | undefined);
      if (!status) continue;
      const entry = status.byAddress?.find((e) => e.address === w.address);
      if (entry) return entry.node || undefined;
      if (!status.byAddress && status.node && status.addresses.includes(w.address)) return status.node;
    }
    return undefined;
  }
}

async function waitFor(condition: () => boolean, intervalMs: number): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, intervalMs));
}
