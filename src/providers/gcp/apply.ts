// Starts a plan's writes and remembers their operations; never waits for one to finish (the next
// reconcile looks at them). Writes to the cluster's shared resources (instance groups, the shared
// health check and its firewall) are serialized per resource across Services; everything else runs
// in parallel. Answers that mean "already so" count as done: 409 on insert (a retried or concurrent
// create), 404 on delete, a member already in (or not in) its group.
import { randomUUID } from 'node:crypto';
import type { ServiceRef } from '../../intent/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ComputeClient } from './client.ts';
import {
  ComputeCallError,
  type ComputeFailure,
  isAlreadyExists,
  isInUse,
  isNotFound,
  isQuota,
  isStale,
} from './errors.ts';
import type { BackendServiceSpec, FirewallSpec, GcpConfig, GcpOperation, HealthCheckSpec } from './model.ts';
import { ownershipDescription } from './names.ts';
import type { OperationRef, OperationTracker } from './operations.ts';

/** One promise chain per shared resource: its writes go one at a time. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

/**
 * Writes to the cluster's shared resources started recently, by what they change: a node change
 * wakes every Service at once and each plans the same membership change (and a new zone's group),
 * and the last Services removed together each plan deleting the shared check and groups; only the
 * first sends it, the others leave it to that operation instead of sending it again while it runs.
 * An entry expires (its operation has long finished, or failed and a Service plans it again), is
 * released at once when the call itself failed, and with all of its owner's when that is removed.
 */
export class SharedWriteLedger {
  readonly #started = new Map<string, { owner: string; at: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs = 15_000, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The keys no other owner has started the same write for; records them as started by `owner`. */
  claim(keys: readonly string[], owner: string): string[] {
    const now = this.#now();
    for (const [key, entry] of this.#started) if (now - entry.at > this.#ttlMs) this.#started.delete(key);
    const free = keys.filter((key) => {
      const entry = this.#started.get(key);
      return entry === undefined || entry.owner === owner;
    });
    for (const key of free) this.#started.set(key, { owner, at: now });
    return free;
  }

  /** The owner is gone (its removal finished): its writes are over, whatever their age. */
  releaseOwner(owner: string): void {
    for (const [key, entry] of this.#started) if (entry.owner === owner) this.#started.delete(key);
  }

  /** The write did not start after all: others may send it. */
  release(keys: readonly string[], owner: string): void {
    for (const key of keys) if (this.#started.get(key)?.owner === owner) this.#started.delete(key);
  }
}

export interface ApplyContext {
  client: ComputeClient;
  config: GcpConfig;
  tracker: OperationTracker;
  lock: KeyedLock;
  /** Shared writes other Services already started (see SharedWriteLedger). */
  sharedWrites: SharedWriteLedger;
  logger: Logger;
  /** The Service the writes are for (ownership descriptions; operations remembered under its UID). */
  service: ServiceRef;
}

export interface ApplyOutcome {
  started: number;
  /** Deletes refused because something still uses the resource: retried on a later reconcile. */
  waiting: string[];
  /** A refusal the user must act on (quota), with Compute's message. */
  problem?: { reason: string; message: string };
  /** Writes not sent because another Service started the same one (SharedWriteLedger); absent: none. */
  leftToOthers?: string[];
}

export function describeOperation(op: GcpOperation): string {
  if (op.kind === 'addInstances' || op.kind === 'removeInstances') {
    return `instanceGroup ${op.group} (${op.zone}) ${op.kind} ${op.instances.length}`;
  }
  return `${op.resource} ${'spec' in op ? op.spec.name : op.name} ${op.kind}`;
}

/** Which shared resource an operation writes, if any (the lock key); one key per instance group. */
function sharedKey(op: GcpOperation, service: ServiceRef, config: GcpConfig): string | undefined {
  if (op.kind === 'addInstances' || op.kind === 'removeInstances') return `ig/${op.zone}/${op.group}`;
  if (op.resource === 'instanceGroup') {
    return 'spec' in op ? `ig/${op.spec.zone}/${op.spec.name}` : `ig/${op.zone}/${op.name}`;
  }
  const name = 'spec' in op ? op.spec.name : op.name;
  return isShared(name, service) ? `${op.resource}/${name}/${config.cluster}` : undefined;
}

export async function applyOperations(
  ops: ReadonlyArray<GcpOperation>,
  context: ApplyContext,
): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { started: 0, waiting: [] };
  const leftToOthers: string[] = [];
  // Every write is started (and its operation remembered) before an unexpected error is reported:
  // a failure of one must not leave another's operation unknown.
  const results = await Promise.allSettled(
    ops.map(async (op) => {
      const target = describeOperation(op);
      const key = sharedKey(op, context.service, context.config);
      const claimed: string[] = [];
      const run = async () => {
        if (op.kind === 'addInstances' || op.kind === 'removeInstances') {
          const byInstance = new Map(op.instances.map((i) => [`${op.kind} ${op.zone}/${op.group} ${i}`, i]));
          claimed.push(...context.sharedWrites.claim([...byInstance.keys()], context.service.uid));
          const instances = claimed.map((k) => byInstance.get(k)!);
          if (instances.length > 0) return start({ ...op, instances }, context);
          leftToOthers.push(target);
          return undefined;
        }
        if (key !== undefined && (op.kind === 'insert' || op.kind === 'delete')) {
          claimed.push(...context.sharedWrites.claim([`${op.kind} ${key}`], context.service.uid));
          if (claimed.length === 0) {
            leftToOthers.push(target);
            return undefined;
          }
        }
        return start(op, context);
      };
      try {
        const ref = key ? await context.lock.run(key, run) : await run();
        if (ref) {
          context.tracker.remember(context.service.uid, { name: ref.name, scope: ref.scope, target });
          outcome.started++;
        }
      } catch (error) {
        if (!(error instanceof ComputeCallError)) {
          context.sharedWrites.release(claimed, context.service.uid);
          throw error;
        }
        const failure = error.failure;
        if (done(op, failure)) return;
        context.sharedWrites.release(claimed, context.service.uid);
        // In use (a delete before its user is gone), not ready (another operation on it runs), or a
        // stale fingerprint: the next reconcile reads the resource again and retries.
        if (isInUse(failure) || isStale(failure)) {
          context.logger.info({ target, reason: failure.reason }, failure.message);
          outcome.waiting.push(`${target}: ${failure.message}`);
          return;
        }
        if (isQuota(failure)) {
          context.logger.warn({ target, reason: failure.reason }, failure.message);
          outcome.problem = { reason: 'QuotaExceeded', message: `${target}: ${failure.message}` };
          return;
        }
        context.logger.warn({ target, status: failure.status, reason: failure.reason }, failure.message);
        throw error;
      }
    }),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  if (leftToOthers.length > 0) outcome.leftToOthers = leftToOthers;
  return outcome;
}

/** Answers that mean the write's purpose is already met. */
function done(op: GcpOperation, failure: ComputeFailure): boolean {
  if (op.kind === 'insert') return isAlreadyExists(failure);
  if (op.kind === 'delete') return isNotFound(failure);
  if (op.kind === 'addInstances') return failure.reason === 'memberAlreadyExists';
  if (op.kind === 'removeInstances') return failure.reason === 'memberNotFound';
  return false;
}

async function start(op: GcpOperation, context: ApplyContext): Promise<OperationRef | undefined> {
  const { client, config, service } = context;
  const { project, region, cluster } = config;
  // One requestId per write, kept across the client's retries: a retried call whose first answer was
  // lost returns the first call's operation instead of making a second resource.
  const requestId = randomUUID();
  const ownedByService = ownershipDescription(cluster, service);
  const ownedByCluster = ownershipDescription(cluster);
  switch (op.kind) {
    case 'insert':
      switch (op.resource) {
        case 'address': {
          const s = op.spec;
          return client.mutate('addresses.insert', () =>
            client.addresses.insert({
              project,
              region,
              requestId,
              addressResource: {
                name: s.name,
                description: ownedByService,
                addressType: s.addressType,
                ...(s.networkTier ? { networkTier: s.networkTier } : {}),
                ...(s.subnetwork ? { subnetwork: s.subnetwork } : {}),
                ...(s.address ? { address: s.address } : {}),
                ...(s.purpose ? { purpose: s.purpose } : {}),
              },
            }),
          );
        }
        case 'healthCheck':
          return client.mutate('regionHealthChecks.insert', () =>
            client.healthChecks.insert({
              project,
              region,
              requestId,
              healthCheckResource: healthCheckBody(
                op.spec,
                isShared(op.spec.name, service) ? ownedByCluster : ownedByService,
              ),
            }),
          );
        case 'backendService':
          return client.mutate('regionBackendServices.insert', () =>
            client.backendServices.insert({
              project,
              region,
              requestId,
              backendServiceResource: { ...backendBody(op.spec), description: ownedByService },
            }),
          );
        case 'forwardingRule': {
          const s = op.spec;
          return client.mutate('forwardingRules.insert', () =>
            client.forwardingRules.insert({
              project,
              region,
              requestId,
              forwardingRuleResource: {
                name: s.name,
                description: ownedByService,
                IPAddress: s.ip,
                IPProtocol: s.protocol,
                loadBalancingScheme: s.scheme,
                backendService: s.backendService,
                ...(s.ports === 'all' ? { allPorts: true } : { ports: s.ports.map(String) }),
                ...(s.networkTier ? { networkTier: s.networkTier } : {}),
                ...(s.network ? { network: s.network } : {}),
                ...(s.subnetwork ? { subnetwork: s.subnetwork } : {}),
                ...(s.allowGlobalAccess ? { allowGlobalAccess: true } : {}),
              },
            }),
          );
        }
        case 'firewall':
          return client.mutate('firewalls.insert', () =>
            client.firewalls.insert({
              project,
              requestId,
              firewallResource: firewallBody(
                op.spec,
                isShared(op.spec.name, service) ? ownedByCluster : ownedByService,
              ),
            }),
          );
        case 'instanceGroup':
          return client.mutate('instanceGroups.insert', () =>
            client.instanceGroups.insert({
              project,
              zone: op.spec.zone,
              requestId,
              instanceGroupResource: {
                name: op.spec.name,
                description: ownedByCluster,
                network: op.spec.network,
              },
            }),
          );
      }
      break;
    case 'patch':
      switch (op.resource) {
        case 'healthCheck':
          return client.mutate('regionHealthChecks.patch', () =>
            client.healthChecks.patch({
              project,
              region,
              requestId,
              healthCheck: op.spec.name,
              healthCheckResource: healthCheckBody(op.spec, undefined),
            }),
          );
        case 'backendService':
          return client.mutate('regionBackendServices.patch', () =>
            client.backendServices.patch({
              project,
              region,
              requestId,
              backendService: op.spec.name,
              backendServiceResource: {
                ...backendBody(op.spec),
                ...(op.fingerprint ? { fingerprint: op.fingerprint } : {}),
              },
            }),
          );
        case 'firewall':
          return client.mutate('firewalls.patch', () =>
            client.firewalls.patch({
              project,
              requestId,
              firewall: op.spec.name,
              firewallResource: firewallBody(op.spec, undefined),
            }),
          );
      }
      break;
    case 'delete':
      switch (op.resource) {
        case 'address':
          return client.mutate('addresses.delete', () =>
            client.addresses.delete({ project, region, requestId, address: op.name }),
          );
        case 'healthCheck':
          return client.mutate('regionHealthChecks.delete', () =>
            client.healthChecks.delete({ project, region, requestId, healthCheck: op.name }),
          );
        case 'backendService':
          return client.mutate('regionBackendServices.delete', () =>
            client.backendServices.delete({ project, region, requestId, backendService: op.name }),
          );
        case 'forwardingRule':
          return client.mutate('forwardingRules.delete', () =>
            client.forwardingRules.delete({ project, region, requestId, forwardingRule: op.name }),
          );
        case 'firewall':
          return client.mutate('firewalls.delete', () =>
            client.firewalls.delete({ project, requestId, firewall: op.name }),
          );
        case 'instanceGroup':
          return client.mutate('instanceGroups.delete', () =>
            client.instanceGroups.delete({ project, zone: op.zone, requestId, instanceGroup: op.name }),
          );
      }
      break;
    case 'addInstances':
      return client.mutate('instanceGroups.addInstances', () =>
        client.instanceGroups.addInstances({
          project,
          zone: op.zone,
          requestId,
          instanceGroup: op.group,
          instanceGroupsAddInstancesRequestResource: {
            instances: op.instances.map((instance) => ({ instance })),
          },
        }),
      );
    case 'removeInstances':
      return client.mutate('instanceGroups.removeInstances', () =>
        client.instanceGroups.removeInstances({
          project,
          zone: op.zone,
          requestId,
          instanceGroup: op.group,
          instanceGroupsRemoveInstancesRequestResource: {
            instances: op.instances.map((instance) => ({ instance })),
          },
        }),
      );
  }
  return undefined;
}

/** Shared cluster resources carry no Service in their name. */
function isShared(name: string, service: ServiceRef): boolean {
  return !name.includes(service.uid.replace(/-/g, '').toLowerCase());
}

function healthCheckBody(spec: HealthCheckSpec, description: string | undefined) {
  return {
    name: spec.name,
    ...(description !== undefined ? { description } : {}),
    type: 'HTTP',
    httpHealthCheck: { port: spec.port, requestPath: spec.requestPath },
    checkIntervalSec: spec.checkIntervalSec,
    timeoutSec: spec.timeoutSec,
    healthyThreshold: spec.healthyThreshold,
    unhealthyThreshold: spec.unhealthyThreshold,
  };
}

function backendBody(spec: BackendServiceSpec) {
  return {
    name: spec.name,
    loadBalancingScheme: spec.scheme,
    protocol: spec.protocol,
    sessionAffinity: spec.sessionAffinity,
    healthChecks: [spec.healthCheck],
    backends: spec.groups.map((group) => ({ group, balancingMode: 'CONNECTION' })),
    ...(spec.network ? { network: spec.network } : {}),
  };
}

function firewallBody(spec: FirewallSpec, description: string | undefined) {
  return {
    name: spec.name,
    ...(description !== undefined ? { description } : {}),
    network: spec.network,
    direction: 'INGRESS',
    priority: spec.priority,
    sourceRanges: spec.sourceRanges,
    ...(spec.destinationRanges ? { destinationRanges: spec.destinationRanges } : {}),
    allowed: spec.allowed.map((a) => ({ IPProtocol: a.protocol, ports: a.ports })),
    ...(spec.targetTags.length > 0 ? { targetTags: spec.targetTags } : {}),
  };
}
