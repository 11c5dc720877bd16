// The Azure provider: Standard load balancers through Azure Resource Manager (Microsoft.Network only).
// settings → observe → plan (pure) → apply; removal is observe → planRemoval → apply. The shared load balancers
// and NSG are written only by their coalescing writers (writer.ts), never by a reconcile directly.
import type { Agent } from 'node:https';
import type { TokenCredential } from '@azure/identity';
import type { LoadBalancerIntent, Problem, ServiceRef } from '../../intent/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type {
  ApplyResult,
  Capabilities,
  ExistingLoadBalancer,
  Provider,
  RemoveResult,
  WatchedResource,
} from '../provider.ts';
import { applyPlan, applyRemoval } from './apply.ts';
import {
  type ArmCallEvent,
  ArmClient,
  type Clock,
  type HttpClient,
  type RetryPolicy,
  systemClock,
} from './client.ts';
import { ClusterResources } from './cluster-resources.ts';
import { ArmThrottledError } from './errors.ts';
import type { AzureLimits, AzureObservation, AzurePlan, AzureScope, ProbeMode } from './model.ts';
import { frontendName, MAX_NAME_LENGTH, publicIpName } from './names.ts';
import { observe } from './observe.ts';
import { planLoadBalancer, planRemoval } from './plan.ts';
import { azureSettings } from './settings.ts';
import type { WriterStats } from './writer.ts';

export interface AzureProviderOptions {
  subscriptionId: string;
  /** The resource group of the load balancers, the NSG (when named) and the public IPs Sluice creates. */
  resourceGroup: string;
  location: string;
  vnetName: string;
  /** The default subnet of internal frontends (and, without securityGroupName, where the NSG is looked up). */
  subnetName: string;
  /** The VNet's resource group; default resourceGroup. */
  vnetResourceGroup?: string;
  /**
   * The cluster NSG whose rules Sluice manages (in resourceGroup). Unset: the NSG attached to subnetName is used;
   * if that subnet has none, Sluice writes no NSG rules and tells each Service so (NoSecurityGroup).
   */
  securityGroupName?: string;
  /** Names the load balancers (`<cluster>`, `<cluster>-internal`) and tags what Sluice creates. */
  cluster: string;
  logger: Logger;
  /** One observation per ARM request attempt, for metrics. */
  onCall?: (event: ArmCallEvent) => void;
  /** ARM endpoint override (tests: the simulator). */
  endpoint?: string;
  /** Default: DefaultAzureCredential (Workload Identity, then the rest of its chain). */
  credential?: TokenCredential;
  /** For an emulator with its own CA: an agent trusting it, or the CA's PEM. */
  httpsAgent?: Agent;
  caCertificate?: string;
  /** What an externalTrafficPolicy Cluster Service's TCP ports are probed on. Default nodeport. */
  probeMode?: ProbeMode;
  // ---- tuning (defaults suit Azure; tests make them short) ----
  /** When a pending Service is looked at again. Default 1500 ms. */
  requeueMs?: number;
  /** How often a long-running operation is polled. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long a writer waits for more slices after a quiet spell. Default 100 ms. */
  coalesceMs?: number;
  /** How old a shared read of a load balancer or the NSG a reconcile accepts. Default 1000 ms. */
  readMaxAgeMs?: number;
  /** How long a call waits at the closed throttle gate before it fails fast. Default 2000 ms. */
  maxGateWaitMs?: number;
  retry?: Partial<RetryPolicy>;
  limits?: AzureLimits;
  clock?: Clock;
  /** Replaces the HTTP transport under Sluice's policy (tests: to interpose on requests). */
  httpClient?: HttpClient;
}

export class AzureProvider implements Provider<AzureObservation, AzurePlan> {
  readonly name = 'azure';
  readonly capabilities: Capabilities = {
    tls: false,
    proxyProtocol: false,
    internal: true,
    sourceRanges: 'any',
    // SCTP only on internal load balancers in Azure, and kube-proxy has no SCTP health check: not offered.
    protocols: ['TCP', 'UDP'],
  };
  readonly watches: ReadonlyArray<WatchedResource> = [];
  readonly needs = { nodes: true };
  readonly #scope: AzureScope;
  readonly #cluster: ClusterResources;
  readonly #arm: ArmClient;
  readonly #log: Logger;
  readonly #probeMode: ProbeMode;
  readonly #requeueMs: number;
  readonly #readMaxAgeMs: number;

  constructor(options: AzureProviderOptions) {
    for (const key of [
      'subscriptionId',
      'resourceGroup',
      'location',
      'vnetName',
      'subnetName',
      'cluster',
    ] as const) {
      if (typeof options[key] !== 'string' || options[key].trim() === '') {
        throw new Error(`the Azure provider needs ${key}`);
      }
    }
    if (
      !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.cluster) ||
      options.cluster.length > MAX_NAME_LENGTH - 9
    ) {
      throw new Error(
        `cluster name "${options.cluster}" cannot name an Azure load balancer (letters, digits, "_", "." and "-", ` +
          `at most ${MAX_NAME_LENGTH - 9} characters)`,
      );
    }
    this.#log = options.logger.child({ provider: 'azure' });
    const clock = options.clock ?? systemClock;
    this.#scope = {
      subscriptionId: options.subscriptionId,
      resourceGroup: options.resourceGroup,
      location: options.location,
      vnetName: options.vnetName,
      subnetName: options.subnetName,
      cluster: options.cluster,
      ...(options.vnetResourceGroup ? { vnetResourceGroup: options.vnetResourceGroup } : {}),
    };
    this.#arm = new ArmClient({
      subscriptionId: options.subscriptionId,
      logger: this.#log,
      clock,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credential ? { credential: options.credential } : {}),
      ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}),
      ...(options.caCertificate ? { caCertificate: options.caCertificate } : {}),
      ...(options.onCall ? { onCall: options.onCall } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.maxGateWaitMs !== undefined ? { maxGateWaitMs: options.maxGateWaitMs } : {}),
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.httpClient ? { httpClient: options.httpClient } : {}),
    });
    this.#cluster = new ClusterResources({
      arm: this.#arm,
      scope: this.#scope,
      logger: this.#log,
      clock,
      ...(options.securityGroupName ? { securityGroupName: options.securityGroupName } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.coalesceMs !== undefined ? { writer: { coalesceMs: options.coalesceMs } } : {}),
    });
    this.#probeMode = options.probeMode ?? 'nodeport';
    this.#requeueMs = options.requeueMs ?? 1500;
    this.#readMaxAgeMs = options.readMaxAgeMs ?? 1000;
  }

  validate(intent: LoadBalancerIntent): Problem[] {
    return azureSettings(intent).problems;
  }

  /** Nothing to rebuild: the load balancers' entries are named after the Services' UIDs, ARM is the record. */
  adopt(_existing: ReadonlyArray<ExistingLoadBalancer>): ReadonlyArray<{ key: string; message: string }> {
    return [];
  }

  async observe(intent: LoadBalancerIntent): Promise<AzureObservation> {
    const { settings } = azureSettings(intent);
    return observe(intent, settings, this.#cluster, {
      readMaxAgeMs: this.#readMaxAgeMs,
      publicIpListMaxAgeMs: 5000,
    });
  }

  plan(intent: LoadBalancerIntent, observation: AzureObservation): AzurePlan {
    const error = azureSettings(intent).problems.find((p) => p.severity === 'error');
    if (error)
      return {
        steps: [],
        outcome: { kind: 'failed', reason: error.reason, message: `${error.field}: ${error.message}` },
      };
    return planLoadBalancer(intent, observation, {
      scope: this.#scope,
      probeMode: this.#probeMode,
      limits: this.#cluster.limits,
    });
  }

  async apply(_intent: LoadBalancerIntent, plan: AzurePlan): Promise<ApplyResult> {
    return applyPlan(plan, { cluster: this.#cluster, logger: this.#log, requeueMs: this.#requeueMs });
  }

  async remove(service: ServiceRef, _key: string): Promise<RemoveResult> {
    const owner = frontendName(service);
    const cluster = this.#cluster;
    try {
      const [publicLb, internalLb, managedPublicIp, ref] = await Promise.all([
        cluster.loadBalancerReads.public.get(this.#readMaxAgeMs),
        cluster.loadBalancerReads.internal.get(this.#readMaxAgeMs),
        cluster.resources.getPublicIp(this.#scope.resourceGroup, publicIpName(this.#scope.cluster, service)),
        cluster.securityGroupRef(),
      ]);
      const groupObserved = ref ? await cluster.securityGroupRead(ref).get(this.#readMaxAgeMs) : undefined;
      const groupWriter = ref ? cluster.securityGroupWriter(ref) : undefined;
      const plan = planRemoval(
        owner,
        {
          loadBalancers: { public: publicLb, internal: internalLb },
          managedPublicIp,
          ...(ref ? { securityGroup: { source: ref.source, observed: groupObserved } } : {}),
          writers: {
            loadBalancer: {
              public: cluster.loadBalancerWriters.public.state(owner),
              internal: cluster.loadBalancerWriters.internal.state(owner),
            },
            securityGroup: groupWriter?.state(owner),
          },
        },
        this.#scope.cluster,
        service.uid,
      );
      return await applyRemoval(plan, { cluster, logger: this.#log, requeueMs: this.#requeueMs });
    } catch (error) {
      if (error instanceof ArmThrottledError) {
        return { kind: 'pending', message: error.message, retryAfterMs: error.retryAfterMs };
      }
      throw error;
    }
  }

  /** Resolves once no writer has anything queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    return this.#cluster.idle();
  }

  /** What the writers did, for figures: submissions, write cycles, writes, conflicts. */
  writerStats(): Record<string, WriterStats> {
    const stats: Record<string, WriterStats> = {
      [this.#cluster.loadBalancerWriters.public.description]: {
        ...this.#cluster.loadBalancerWriters.public.stats,
      },
      [this.#cluster.loadBalancerWriters.internal.description]: {
        ...this.#cluster.loadBalancerWriters.internal.stats,
      },
    };
    const group = this.#cluster.currentSecurityGroupWriter();
    if (group) stats[group.description] = { ...group.stats };
    return stats;
  }

  /** The subscription's throttle gate (tests and metrics). */
  get throttleGate(): ArmClient['gate'] {
    return this.#arm.gate;
  }
}
