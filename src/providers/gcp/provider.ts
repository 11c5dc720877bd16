// The GCP provider: backend-service based passthrough Network Load Balancers (external or internal)
// through Compute Engine. settings → observe → plan (pure) → apply; operations are started, remembered
// and looked at again on the next reconcile, so no worker ever waits for Compute.
import type { LoadBalancerIntent, Problem, ServiceRef } from '../../intent/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { RetryPolicy } from '../aws/client.ts';
import type { Clock, RateLimit } from '../aws/rate-limit.ts';
import type {
  ApplyResult,
  Capabilities,
  ExistingLoadBalancer,
  Provider,
  RemoveResult,
  WatchedResource,
} from '../provider.ts';
import {
  type ApplyContext,
  type ApplyOutcome,
  applyOperations,
  describeOperation,
  KeyedLock,
  SharedWriteLedger,
} from './apply.ts';
import { type ComputeCallEvent, ComputeClient } from './client.ts';
import { ComputeCallError } from './errors.ts';
import { ClusterInventory } from './inventory.ts';
import type { GcpConfig, GcpObserved, GcpPlan, GcpSettings } from './model.ts';
import { sharedHealthCheckName, sharedHealthFirewallName } from './names.ts';
import { nodeInstances } from './nodes.ts';
import { observe } from './observe.ts';
import { OperationTracker } from './operations.ts';
import { planLoadBalancer, planRemoval } from './plan.ts';
import { readGcpSettings } from './settings.ts';

export interface GcpProviderOptions {
  config: GcpConfig;
  logger: Logger;
  onCall?: (event: ComputeCallEvent) => void;
  /** http://host:port → an emulator (no credentials); absent → Google with Application Default Credentials. */
  endpoint?: string;
  rateLimit?: RateLimit;
  retry?: Partial<RetryPolicy>;
  /** A call unanswered this long is retried as a lost answer. Default 60 s. */
  callTimeoutMs?: number;
  clock?: Clock;
  /** When a Service with operations in flight is looked at again. Default 1000 ms. */
  requeueMs?: number;
}

interface GcpObservation {
  settings?: GcpSettings;
  observed?: GcpObserved;
}

interface GcpPlanned {
  plan: GcpPlan;
  notices: Array<{ reason: string; message: string }>;
}

export class GcpProvider implements Provider<GcpObservation, GcpPlanned> {
  readonly name = 'gcp';
  readonly capabilities: Capabilities = {
    tls: false,
    proxyProtocol: false,
    internal: true,
    sourceRanges: 'any',
    // Passthrough load balancers forward TCP and UDP; SCTP is refused by the settings.
    protocols: ['TCP', 'UDP'],
  };
  readonly watches: ReadonlyArray<WatchedResource> = [];
  readonly needs = { nodes: true };
  readonly #config: GcpConfig;
  readonly #client: ComputeClient;
  readonly #tracker = new OperationTracker();
  readonly #inventory: ClusterInventory;
  readonly #lock = new KeyedLock();
  readonly #sharedWrites = new SharedWriteLedger();
  readonly #log: Logger;
  readonly #requeueMs: number;

  constructor(options: GcpProviderOptions) {
    this.#config = options.config;
    this.#log = options.logger.child({ provider: 'gcp' });
    this.#client = new ComputeClient({
      logger: this.#log,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.onCall ? { onCall: options.onCall } : {}),
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.#inventory = new ClusterInventory(this.#client, this.#config);
    this.#requeueMs = options.requeueMs ?? 1000;
  }

  validate(intent: LoadBalancerIntent): Problem[] {
    return readGcpSettings(intent, this.#config).problems;
  }

  /** Nothing to rebuild: resources are named after the Service's UID and Compute is the record. */
  adopt(_existing: ReadonlyArray<ExistingLoadBalancer>): ReadonlyArray<{ key: string; message: string }> {
    return [];
  }

  async observe(intent: LoadBalancerIntent): Promise<GcpObservation> {
    const { settings } = readGcpSettings(intent, this.#config);
    if (!settings) return {};
    const observed = await observe(
      this.#client,
      this.#config,
      this.#tracker,
      {
        service: intent.service,
        ...(settings.requestedIp !== undefined ? { requestedIp: settings.requestedIp } : {}),
        ...(settings.scheme === 'INTERNAL' && settings.subnetwork ? { subnetwork: settings.subnetwork } : {}),
      },
      this.#inventory,
    );
    return { settings, observed };
  }

  plan(intent: LoadBalancerIntent, observation: GcpObservation): GcpPlanned {
    const { settings, observed } = observation;
    if (!settings || !observed) {
      const error = readGcpSettings(intent, this.#config).problems.find((p) => p.severity === 'error');
      return {
        plan: {
          ops: [],
          deferred: [],
          changed: [],
          problem: {
            reason: error?.reason ?? 'InvalidAnnotation',
            message: error ? `${error.field}: ${error.message}` : 'invalid settings',
          },
        },
        notices: [],
      };
    }
    const skipped = nodeInstances(intent.nodes, this.#config.project).skipped;
    return {
      plan: planLoadBalancer(intent, settings, this.#config, observed),
      notices:
        skipped.length > 0
          ? [{ reason: 'NodesSkipped', message: `not load-balanced: ${skipped.join('; ')}` }]
          : [],
    };
  }

  async apply(intent: LoadBalancerIntent, { plan, notices }: GcpPlanned): Promise<ApplyResult> {
    if (plan.problem) return { kind: 'failed', reason: plan.problem.reason, message: plan.problem.message };
    if (plan.ops.length === 0 && plan.deferred.length === 0 && plan.ip) {
      return {
        kind: 'ready',
        ingress: [{ ip: plan.ip, ipMode: 'VIP' }],
        changed: plan.changed,
        released: [],
        ...(notices.length > 0 ? { notices } : {}),
      };
    }
    try {
      const outcome = await applyOperations(plan.ops, this.#applyContext(intent.service));
      if (outcome.problem)
        return { kind: 'failed', reason: outcome.problem.reason, message: outcome.problem.message };
      const steps = [...plan.ops.map(describeOperation), ...plan.deferred, ...outcome.waiting];
      return {
        kind: 'pending',
        reason: 'Provisioning',
        message: `Compute Engine: ${steps.slice(0, 5).join('; ')}${steps.length > 5 ? `; and ${steps.length - 5} more` : ''}`,
        retryAfterMs: this.#requeueMs,
        ...(plan.changed.length > 0 ? { changed: plan.changed } : {}),
      };
    } catch (error) {
      if (error instanceof ComputeCallError && error.failure.retryable) {
        return {
          kind: 'pending',
          reason: 'Provisioning',
          message: error.message,
          retryAfterMs: 5 * this.#requeueMs,
        };
      }
      throw error;
    }
  }

  async remove(service: ServiceRef, _key: string): Promise<RemoveResult> {
    const observed = await observe(
      this.#client,
      this.#config,
      this.#tracker,
      { service, sharedUsers: true },
      this.#inventory,
    );
    const plan = planRemoval(service, this.#config, observed);
    const shared = new Set([
      sharedHealthCheckName(this.#config.cluster),
      sharedHealthFirewallName(this.#config.cluster),
    ]);
    const ownLeft =
      observed.running.length > 0 ||
      plan.deferred.length > 0 ||
      plan.ops.some((op) => op.kind === 'delete' && op.resource !== 'instanceGroup' && !shared.has(op.name));
    if (plan.ops.length === 0 && observed.running.length === 0 && plan.deferred.length === 0) {
      this.#forget(service.uid);
      return { kind: 'gone', released: [] };
    }
    let outcome: ApplyOutcome;
    try {
      outcome = await applyOperations(plan.ops, this.#applyContext(service));
    } catch (error) {
      // Throttled or failing after every retry: the deletes that did start are remembered; try again later.
      if (error instanceof ComputeCallError && error.failure.retryable) {
        return { kind: 'pending', message: error.message, retryAfterMs: 5 * this.#requeueMs };
      }
      throw error;
    }
    // Only the cluster's shared resources were left and another Service took them meanwhile (or a
    // delete was refused because one uses them): done. A delete left to another Service's claim is
    // not: that claim may be an earlier Service's, long finished, so wait until the listing shows it gone.
    if (!ownLeft && outcome.started === 0 && outcome.leftToOthers === undefined) {
      this.#forget(service.uid);
      return { kind: 'gone', released: [] };
    }
    // A shared delete another Service sent is named as such: this one did not send it.
    const byOthers = new Set(outcome.leftToOthers);
    const steps = plan.ops
      .map(describeOperation)
      .map((step) => (byOthers.has(step) ? `${step} (sent by another Service)` : step));
    return {
      kind: 'pending',
      message: `deleting in Compute Engine: ${[...steps, ...plan.deferred, ...outcome.waiting].slice(0, 5).join('; ')}`,
      retryAfterMs: this.#requeueMs,
    };
  }

  /** A removed Service: nothing of it is remembered (its shared deletes are over: others may send them). */
  #forget(uid: string): void {
    this.#tracker.forget(uid);
    this.#sharedWrites.releaseOwner(uid);
  }

  #applyContext(service: ServiceRef): ApplyContext {
    return {
      client: this.#client,
      config: this.#config,
      tracker: this.#tracker,
      lock: this.#lock,
      sharedWrites: this.#sharedWrites,
      logger: this.#log,
      service,
    };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
