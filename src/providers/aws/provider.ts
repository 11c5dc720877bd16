// The AWS provider: Network Load Balancers through ELBv2 (and EC2 for subnets, instances and
// security groups). settings → observe → plan (pure) → apply; removal is observe-owned → plan → apply.
import type { Logger } from 'pino';
import type { AwsConfig } from '../../config/config.ts';
import type { LoadBalancerIntent, Problem, ServiceRef } from '../../intent/types.ts';
import type {
  ApplyResult,
  Capabilities,
  ExistingLoadBalancer,
  Provider,
  RemoveResult,
  WatchedResource,
} from '../provider.ts';
import { applyPlan, applyRemoval } from './apply.ts';
import { type AwsCallEvent, AwsClient, type AwsCredentials } from './client.ts';
import { AwsInventory } from './inventory.ts';
import type { AwsObserved, AwsPlan, AwsSettings } from './model.ts';
import { EnvironmentCache, type ObserveDeps, observe, observeOwned } from './observe.ts';
import { planLoadBalancer, planRemoval } from './plan.ts';
import { awsSettings } from './settings.ts';

export interface AwsProviderOptions extends AwsConfig {
  cluster: string;
  logger: Logger;
  /** One observation per cloud call, for metrics. */
  onCall?: (event: AwsCallEvent) => void;
  /** Tests only; otherwise the standard AWS credential chain (IRSA, Pod Identity, environment). */
  credentials?: AwsCredentials;
  /** How often the tag inventory is rebuilt from a full scan (it is also updated on every create/delete). */
  inventoryRefreshMs?: number;
}

/** What observe saw, with the settings it was computed for (plan needs both, and must stay pure). */
export interface AwsObservation {
  settings: AwsSettings;
  observed: AwsObserved;
}

export class AwsProvider implements Provider<AwsObservation, { plan: AwsPlan; observed: AwsObserved }> {
  readonly name = 'aws';
  readonly capabilities: Capabilities = {
    tls: true,
    proxyProtocol: true,
    internal: true,
    sourceRanges: 'any',
    // NLB has no SCTP listeners.
    protocols: ['TCP', 'UDP'],
  };
  readonly watches: ReadonlyArray<WatchedResource> = [];
  readonly needs = { nodes: true, endpoints: true };
  readonly #cluster: string;
  readonly #aws: AwsClient;
  readonly #inventory: AwsInventory;
  readonly #observeDeps: ObserveDeps;
  readonly #log: Logger;
  /** Set once the periodic inventory scan runs (its timer does not keep the process alive). */
  #stopRefresh: (() => void) | undefined;
  readonly #refreshMs: number;

  constructor(options: AwsProviderOptions) {
    this.#cluster = options.cluster;
    this.#log = options.logger;
    this.#aws = new AwsClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      logger: options.logger,
      ...(options.onCall ? { onCall: options.onCall } : {}),
    });
    this.#inventory = new AwsInventory({ aws: this.#aws, logger: options.logger });
    this.#observeDeps = {
      aws: this.#aws,
      inventory: this.#inventory,
      cluster: options.cluster,
      ...(options.vpcId ? { vpcId: options.vpcId } : {}),
      cache: new EnvironmentCache(),
    };
    this.#refreshMs = options.inventoryRefreshMs ?? 10 * 60_000;
  }

  validate(intent: LoadBalancerIntent): Problem[] {
    return awsSettings(intent).problems;
  }

  /** Nothing to rebuild from published hostnames: the cloud's tags are the record. */
  adopt(_existing: ReadonlyArray<ExistingLoadBalancer>): ReadonlyArray<{ key: string; message: string }> {
    this.#startRefresh();
    return [];
  }

  async observe(intent: LoadBalancerIntent): Promise<AwsObservation> {
    const { settings } = awsSettings(intent);
    return { settings, observed: await observe(intent, settings, this.#observeDeps) };
  }

  plan(intent: LoadBalancerIntent, observation: AwsObservation): { plan: AwsPlan; observed: AwsObserved } {
    return {
      plan: planLoadBalancer(intent, observation.settings, observation.observed, this.#cluster),
      observed: observation.observed,
    };
  }

  async apply(
    _intent: LoadBalancerIntent,
    { plan, observed }: { plan: AwsPlan; observed: AwsObserved },
  ): Promise<ApplyResult> {
    // applyPlan reports the plan's failure, changes (for Events) and notices itself.
    return applyPlan(plan, observed, { aws: this.#aws, inventory: this.#inventory, logger: this.#log });
  }

  async remove(service: ServiceRef, _key: string): Promise<RemoveResult> {
    const observed = await observeOwned(service, this.#observeDeps);
    const operations = planRemoval(
      observed.owned,
      observed.environment.nodeSecurityGroups,
      this.#cluster,
      service,
    );
    const result = await applyRemoval(
      operations,
      { aws: this.#aws, inventory: this.#inventory, logger: this.#log },
      observed,
    );
    // Rules on the nodes' group are shared by every load balancer that asks for the same protocol,
    // ports and source (ICMP from 0.0.0.0/0, kube-proxy's health port): the others put theirs back now.
    return result.kind === 'gone' && operations.some((op) => op.op === 'revokeIngress')
      ? { ...result, wake: 'all' }
      : result;
  }

  #startRefresh(): void {
    if (this.#stopRefresh) return;
    this.#stopRefresh = this.#inventory.startPeriodicRefresh(this.#refreshMs);
  }
}
