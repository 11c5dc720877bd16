// The bare-metal provider: addresses from AddressPool objects (sluice.dev/v1alpha1).
// All state is the allocator in memory; it is rebuilt from Services' published addresses
// (adopt) before the first allocation, so an address never moves because Sluice restarted.
import type { IPFamily, LoadBalancerIntent, ServiceRef } from '../../intent/types.ts';
import type {
  ApplyResult,
  Capabilities,
  ExistingLoadBalancer,
  Provider,
  RemoveResult,
  ResourceProblem,
  WatchedObject,
  WatchedResource,
} from '../provider.ts';
import { type AllocationRequest, Allocator, type Assignment, type ServiceFacts } from './allocator.ts';
import { parsePool } from './pool-spec.ts';
import { poolStatus } from './pool-status.ts';

export interface PoolObserved {
  key: string;
  held: Assignment[];
}

/** What the allocator will be asked; it keeps what still satisfies the request and picks the rest. */
export interface PoolPlan {
  key: string;
  request: AllocationRequest;
  /** Addresses held now, per family, for showing what may change. */
  held: Array<{ family: IPFamily; address: string; pool: string | undefined }>;
}

export class PoolProvider implements Provider<PoolObserved, PoolPlan> {
  readonly name = 'pool';
  readonly capabilities: Capabilities = {
    tls: false,
    proxyProtocol: false,
    internal: false,
    // Bare metal has no firewall of its own; kube-proxy enforces spec.loadBalancerSourceRanges.
    sourceRanges: 'spec-only',
    protocols: ['TCP', 'UDP', 'SCTP'],
  };
  readonly allocator = new Allocator();
  /** Problems found in each pool's spec, by pool name (for its status). */
  #poolProblems = new Map<string, string[]>();
  #namespaceLabels = new Map<string, Record<string, string>>();
  readonly watches: WatchedResource[] = [
    {
      group: 'sluice.dev',
      version: 'v1alpha1',
      plural: 'addresspools',
      // A pool change can add a family (PreferDualStack) or ask for reallocation: look at every Service.
      wakes: 'all',
      onChange: (objects) => this.setPools(objects),
      status: (object) => {
        const name = object.metadata?.name ?? '';
        const usage = this.allocator.poolStatus(name);
        if (!usage) return undefined;
        return poolStatus(object, usage, this.#poolProblems.get(name) ?? [], new Date());
      },
    },
    {
      group: '',
      version: 'v1',
      plural: 'namespaces',
      // Namespace labels decide new allocations only (serviceAllocation.namespaceSelectors).
      wakes: 'waiting',
      onChange: (objects) => {
        this.#namespaceLabels = new Map(
          objects.map((o) => [o.metadata?.name ?? '', { ...(o.metadata?.labels ?? {}) }]),
        );
        return [];
      },
    },
  ];

  /** Replaces the pool set; returns what is wrong with each pool, for the log (and pool status). */
  setPools(objects: ReadonlyArray<WatchedObject>): ResourceProblem[] {
    const problems: ResourceProblem[] = [];
    this.#poolProblems = new Map();
    const pools = objects.map((o) => {
      const name = o.metadata?.name ?? '';
      const created = o.metadata?.creationTimestamp;
      const { pool, problems: found } = parsePool(
        {
          name,
          ...(created !== undefined
            ? { creationTimestamp: created instanceof Date ? created.toISOString() : created }
            : {}),
        },
        o.spec ?? {},
      );
      this.#poolProblems.set(name, found);
      for (const message of found) problems.push({ name, message });
      return pool;
    });
    this.allocator.setPools(pools);
    for (const pool of pools) {
      for (const message of this.allocator.poolStatus(pool.name)?.conflicts ?? []) {
        problems.push({ name: pool.name, message });
      }
    }
    return problems;
  }

  adopt(existing: ReadonlyArray<ExistingLoadBalancer>): Array<{ key: string; message: string }> {
    const problems: Array<{ key: string; message: string }> = [];
    for (const lb of existing) {
      // Only families the key holds nothing of: what it holds is already authoritative.
      const heldFamilies = new Set(this.allocator.assigned(lb.key).map((a) => a.family));
      const missing = lb.addresses.filter((a) => !heldFamilies.has(a.includes(':') ? 'IPv6' : 'IPv4'));
      if (missing.length === 0) continue;
      const facts = lb.intent ? this.#facts(lb.intent) : bareFacts(lb.service, lb.key);
      const restored = this.allocator.restore(facts, missing);
      if (!restored.ok) {
        problems.push({
          key: lb.key,
          message: `the address it publishes cannot be kept and a new one will be assigned: ${restored.message}`,
        });
      }
    }
    return problems;
  }

  async observe(intent: LoadBalancerIntent): Promise<PoolObserved> {
    const key = keyOf(intent.service);
    return { key, held: this.allocator.assigned(key) };
  }

  plan(intent: LoadBalancerIntent, observed: PoolObserved): PoolPlan {
    return {
      key: observed.key,
      request: {
        service: this.#facts(intent),
        families: intent.ipFamilies,
        policy: intent.ipFamilyPolicy,
        ...(intent.requestedAddresses.length > 0 ? { addresses: intent.requestedAddresses } : {}),
        ...(intent.requestedPool !== undefined ? { pool: intent.requestedPool } : {}),
      },
      held: observed.held.map((a) => ({ family: a.family, address: a.address, pool: a.pool })),
    };
  }

  async apply(_intent: LoadBalancerIntent, plan: PoolPlan): Promise<ApplyResult> {
    const before = this.allocator.assigned(plan.key);
    const result = this.allocator.allocate(plan.request);
    if (!result.ok) {
      // The allocator is all-or-nothing: the Service keeps publishing, and holding, what it had.
      return {
        kind: 'failed',
        reason: result.reason,
        message: result.message,
        eventReason: 'AllocationFailed',
      };
    }
    const changed = result.addresses
      .filter((a) => !before.some((b) => b.address === a.address))
      .map((a) => ({
        reason: 'IPAllocated',
        message: a.pool
          ? `Assigned IP ${a.address} from pool ${a.pool}`
          : `Assigned IP ${a.address} (it is in no current pool)`,
      }));
    const now = new Set(result.addresses.map((a) => a.address));
    return {
      kind: 'ready',
      ingress: result.addresses.map((a) => ({ ip: a.address, ipMode: 'VIP' as const })),
      changed,
      released: before.map((a) => a.address).filter((a) => !now.has(a)),
      notices: result.notices,
    };
  }

  async remove(_service: ServiceRef, key: string): Promise<RemoveResult> {
    return { kind: 'gone', released: this.allocator.release(key).map((a) => a.address) };
  }

  #facts(intent: LoadBalancerIntent): ServiceFacts {
    const { namespace } = intent.service;
    return {
      key: keyOf(intent.service),
      namespace,
      labels: intent.labels,
      namespaceLabels: this.#namespaceLabels.get(namespace) ?? {},
      ...(intent.sharing
        ? {
            sharing: {
              key: intent.sharing.key,
              crossNamespace: intent.sharing.crossNamespace,
              backendKey: intent.sharing.backendKey,
              ports: intent.ports.map((p) => ({ protocol: p.protocol, port: p.port })),
            },
          }
        : {}),
    };
  }
}

/** A Service whose manifest has errors: it holds its addresses, and shares them with no one. */
function bareFacts(service: ServiceRef, key: string): ServiceFacts {
  return { key, namespace: service.namespace, labels: {}, namespaceLabels: {} };
}

function keyOf(service: ServiceRef): string {
  return `${service.namespace}/${service.name}`;
}
