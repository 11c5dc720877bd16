// Wires one controller process: caches, work queue, leader election, health and shutdown.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubernetesObject,
  type V1Service,
} from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { EventRecorder } from '../kube/event-recorder.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { describe, LeaderElector } from '../kube/leader-election.ts';
import { objectKey, Reflector } from '../kube/reflector.ts';
import { ServiceWriter } from '../kube/service-writer.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import { startHealthServer } from '../observability/health.ts';
import { Metrics } from '../observability/metrics.ts';
import type { Provider, WatchedObject } from '../providers/provider.ts';
import { ClusterFacts } from './cluster-facts.ts';
import { ResourceStatusWriter, specOrLabelsChanged } from './resource-status.ts';
import { Backoff, ServiceReconciler, StaleCopy } from './service-reconciler.ts';
import { hasFinalizer, isManaged, ofOtherClass, ourCondition } from './service-state.ts';

const WATCHDOG_MS = 120_000;

export interface RunningController {
  /** Settles once the controller has shut down after its signal aborted. */
  stopped: () => Promise<void>;
  healthPort: number;
}

/** Runs until `signal` aborts (SIGTERM); resolves once caches are synced or the run was stopped. */
export async function runController(
  config: Config,
  provider: Provider,
  log: Logger,
  signal: AbortSignal,
  /** Shared with the provider (cloud call metrics); a fresh registry when not given. */
  metrics: Metrics = new Metrics(),
): Promise<RunningController> {
  const kc = loadKubeConfig(config.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const selection = { loadBalancerClass: config.loadBalancerClass, manageUnclassed: config.manageUnclassed };
  let working = false;
  let stopping = false;
  const onRestart = (resource: string) => (reason: string) => metrics.watchRestarts.inc({ resource, reason });

  const queue = new WorkQueue({
    workers: config.workers,
    baseDelayMs: config.backoffBaseMs,
    maxDelayMs: config.backoffMaxMs,
    onDone: (_key, outcome, seconds) => {
      // Allocations may have changed: pool status follows (batched; written only when it differs).
      statusWriter.markDirty();
      metrics.reconciles.inc({ result: outcome });
      metrics.reconcileDuration.observe(seconds);
    },
    onDepth: (depth) => metrics.queueDepth.set(depth),
    onError: (key, error, retryInMs) => {
      if (error instanceof Backoff) return;
      log.warn({ service: key, err: describe(error), retryInMs }, 'reconcile failed; will retry');
    },
  });
  // Only Services Sluice manages, or still holds a finalizer on, are worth a reconcile.
  const relevant = (s: V1Service): boolean =>
    isManaged(s, selection) || (hasFinalizer(s) && !ofOtherClass(s, selection));

  const services = new Reflector<V1Service>(
    {
      name: 'services',
      kubeConfig: kc,
      watchPath: '/api/v1/services',
      list: async () => {
        const list = await core.listServiceForAllNamespaces();
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      decode: (raw) => ObjectSerializer.deserialize(raw, 'V1Service') as V1Service,
      watchdogMs: WATCHDOG_MS,
      relistMs: config.resyncPeriodMs,
      log,
      onRestart: onRestart('services'),
    },
    {
      onUpsert: (s, old) => {
        if (relevant(s) || (old && relevant(old))) queue.add(objectKey(s));
      },
      onDelete: (s) => queue.add(objectKey(s)),
      // Called asynchronously, after the reconciler below exists.
      onListed: () => reconciler.forgetOwnWrites(),
    },
  );

  const events = new EventRecorder(
    kc.makeApiClient(EventsV1Api),
    {
      reportingController: 'sluice.dev/service-controller',
      reportingInstance: config.leaderElection.identity,
      seriesWindowMs: 10 * 60_000,
      seriesUpdateIntervalMs: 60_000,
      senders: 1,
      maxQueued: 10_000,
      onWrite: (verb) =>
        verb === 'dropped'
          ? metrics.eventsDropped.inc()
          : metrics.kubeWrites.inc({ resource: 'events', verb }),
    },
    log,
  );
  // Nodes and EndpointSlices, for providers that target them.
  let nodesPending = false;
  const facts = new ClusterFacts({
    kubeConfig: kc,
    needs: provider.needs ?? {},
    watchdogMs: WATCHDOG_MS,
    relistMs: config.resyncPeriodMs,
    log,
    onRestart,
    // Coalesced: a relist or a burst of node changes wakes each Service once.
    onNodesChanged: () => {
      if (nodesPending || !working) return;
      nodesPending = true;
      setImmediate(() => {
        nodesPending = false;
        for (const s of services.list()) if (isManaged(s, selection)) queue.add(objectKey(s));
      });
    },
    onEndpointsChanged: (key) => {
      const s = services.get(key);
      if (working && s && isManaged(s, selection)) queue.add(key);
    },
  });
  const reconciler = new ServiceReconciler({
    getService: (key) => services.get(key),
    listServices: () => services.list(),
    writer: new ServiceWriter(core, (resource) => metrics.kubeWrites.inc({ resource, verb: 'patch' })),
    events,
    provider,
    selection,
    log: log.child({ provider: provider.name }),
    enqueue: (key) => queue.add(key),
    onManagedCountChange: (n) => metrics.managedLoadBalancers.set(n),
    ...(provider.needs ? { clusterFacts: (s: V1Service) => facts.factsFor(s) } : {}),
  });

  // Resources the provider needs (address pools, namespaces): a change re-evaluates Services.
  const custom = kc.makeApiClient(CustomObjectsApi);
  const statusWriter = new ResourceStatusWriter(custom, log, (resource) =>
    metrics.kubeWrites.inc({ resource, verb: 'patch' }),
  );
  const extra = provider.watches.map((w) => {
    const reflector: Reflector<KubernetesObject & WatchedObject> = new Reflector(
      {
        name: w.plural,
        kubeConfig: kc,
        watchPath:
          w.group === '' ? `/api/${w.version}/${w.plural}` : `/apis/${w.group}/${w.version}/${w.plural}`,
        list: async () => {
          const list = (
            w.group === ''
              ? await core.listNamespace()
              : await custom.listClusterCustomObject({ group: w.group, version: w.version, plural: w.plural })
          ) as { items: Array<KubernetesObject & WatchedObject>; metadata?: { resourceVersion?: string } };
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
        },
        decode: (raw) => raw as KubernetesObject & WatchedObject,
        watchdogMs: WATCHDOG_MS,
        relistMs: config.resyncPeriodMs,
        log,
        onRestart: onRestart(w.plural),
      },
      {
        onUpsert: (obj, old) => {
          if (!old || specOrLabelsChanged(obj, old)) changed();
          else if (w.status) statusWriter.markDirty();
        },
        onDelete: () => changed(),
        onListed: () => changed(),
      },
    );
    let pending = false;
    // Coalesces a burst of changes (a relist delivers every object) into one re-evaluation.
    const changed = (): void => {
      if (pending) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        for (const problem of w.onChange(reflector.list())) {
          log.warn({ [w.plural]: problem.name }, problem.message);
        }
        if (w.status) statusWriter.markDirty();
        if (!working) return;
        for (const s of services.list()) {
          if (isManaged(s, selection) && (w.wakes === 'all' || ourCondition(s)?.status !== 'True')) {
            queue.add(objectKey(s));
          }
        }
      });
    };
    if (w.status) statusWriter.add(w, reflector);
    return reflector;
  });
  const reflectors: Reflector<KubernetesObject>[] = [services, ...extra, ...facts.reflectors];
  // Listen first: if the port is taken, fail before any watch keeps the process alive.
  const health = await startHealthServer(
    config.healthAddress.host,
    config.healthAddress.port,
    {
      live: () => {
        const stuck = reflectors.find((r) => r.idleMs > 3 * WATCHDOG_MS);
        return stuck ? 'a watch has been silent for too long' : undefined;
      },
      ready: () => (reflectors.every((r) => r.synced) ? undefined : 'caches not synced yet'),
    },
    metrics.registry,
  );
  log.info({ port: health.port }, 'serving /healthz, /readyz and /metrics');
  for (const r of reflectors) r.start();

  const startWork = (): void => {
    if (working || stopping) return;
    working = true;
    metrics.isLeader.set(1);
    // Addresses already published are claimed before anything new is handed out.
    reconciler.adoptExisting();
    statusWriter.start();
    queue.start(async (key) => {
      try {
        return await reconciler.reconcile(key);
      } catch (error) {
        if (error instanceof StaleCopy) return undefined;
        throw error;
      }
    });
    for (const s of services.list()) if (relevant(s)) queue.add(objectKey(s));
    log.info({ services: services.size }, 'reconciling');
  };

  const elector = config.leaderElection.enabled
    ? new LeaderElector(kc.makeApiClient(CoordinationV1Api), config.leaderElection, log)
    : undefined;

  const shutDown = async (reason: string): Promise<void> => {
    stopping = true;
    log.info({ reason }, 'shutting down');
    statusWriter.stop();
    for (const r of reflectors) r.stop();
    // In-flight reconciles finish (each is short: cloud waits are requeued, never awaited).
    await queue.shutdown();
    events.stop();
    await elector?.release();
    metrics.isLeader.set(0);
    health.server.closeAllConnections();
    await new Promise<void>((resolve) => health.server.close(() => resolve()));
  };
  // The signal (it aborts once) starts the shutdown; `stopped` settles when that has finished.
  const stopped = new Promise<void>((resolve, reject) => {
    const onAbort = (): void => void shutDown(String(signal.reason)).then(resolve, reject);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });

  await waitFor(() => reflectors.every((r) => r.synced) || stopping, 50);
  // A shutdown before the caches synced leaves nothing to start.
  if (!stopping) {
    log.info('caches synced');
    if (elector) {
      elector.run({
        onStartedLeading: startWork,
        onStoppedLeading: () => {
          // A replica that lost the lease may act on stale state: stop at once, without waiting
          // for in-flight work, and let the Deployment restart it as a standby.
          for (const r of reflectors) r.stop();
          statusWriter.stop();
          log.error(
            'lost the leader Lease (another replica holds it or it could not be renewed); exiting to restart as a standby',
          );
          process.exit(1);
        },
      });
    } else startWork();
  }

  return { stopped: () => stopped, healthPort: health.port };
}

async function waitFor(condition: () => boolean, intervalMs: number): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, intervalMs));
}
