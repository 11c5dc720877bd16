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
  WatchedResource,
} from '../provider.ts';
import { Allocator, type Assignment, findPoolOverlaps, parsePool } from './allocator.ts';

export interface PoolObserved {
  key: string;
  held: Assignment[];
}

/** What the allocator will be asked, per family; the allocator picks the address in apply. */
export interface PoolPlan {
  key: string;
  steps: Array<
    | { action: 'keep'; family: IPFamily; address: string; pool: string | undefined }
    | { action: 'assign'; family: IPFamily; requested: string[]; pool?: string }
    | { action: 'release'; family: IPFamily; address: string }
  >;
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
  readonly watches: WatchedResource[] = [
    {
      group: 'sluice.dev',
      version: 'v1alpha1',
      plural: 'addresspools',
      onChange: (objects) => this.setPools(objects),
    },
  ];

  /** Replaces the pool set; returns what is wrong with each pool, for the log (and, later, pool status). */
  setPools(objects: ReadonlyArray<{ metadata?: { name?: string }; spec?: unknown }>): ResourceProblem[] {
    const problems: ResourceProblem[] = [];
    const pools = objects.map((o) => {
      const name = o.metadata?.name ?? '';
      const { pool, problems: p } = parsePool(
        name,
        (o.spec ?? {}) as { addresses?: unknown; autoAssign?: unknown },
      );
      for (const message of p) problems.push({ name, message });
      return pool;
    });
    this.allocator.setPools(pools);
    for (const message of findPoolOverlaps(pools)) problems.push({ name: '', message });
    return problems;
  }

  adopt(existing: ReadonlyArray<ExistingLoadBalancer>): Array<{ key: string; message: string }> {
    const problems: Array<{ key: string; message: string }> = [];
    for (const lb of existing) {
      // Only families the key holds nothing of: what it holds is already authoritative.
      const heldFamilies = new Set(this.allocator.assigned(lb.key).map((a) => a.family));
      const missing = lb.addresses.filter((a) => !heldFamilies.has(a.includes(':') ? 'IPv6' : 'IPv4'));
      if (missing.length === 0) continue;
      const restored = this.allocator.restore(lb.key, missing);
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
    const steps: PoolPlan['steps'] = [];
    for (const family of intent.ipFamilies) {
      const held = observed.held.find((a) => a.family === family);
      const requested = intent.requestedAddresses.filter((a) => a.includes(':') === (family === 'IPv6'));
      const satisfies =
        held !== undefined &&
        (requested.length === 0 || requested.includes(held.address)) &&
        (intent.requestedPool === undefined || held.pool === intent.requestedPool);
      if (held && satisfies) steps.push({ action: 'keep', family, address: held.address, pool: held.pool });
      else {
        steps.push({
          action: 'assign',
          family,
          requested,
          ...(intent.requestedPool ? { pool: intent.requestedPool } : {}),
        });
      }
    }
    for (const held of observed.held) {
      if (!intent.ipFamilies.includes(held.family))
        steps.push({ action: 'release', family: held.family, address: held.address });
    }
    return { key: observed.key, steps };
  }

  async apply(intent: LoadBalancerIntent, plan: PoolPlan): Promise<ApplyResult> {
    const before = this.allocator.assigned(plan.key);
    const ingress: Array<{ ip: string; ipMode: 'VIP' }> = [];
    const changed: Array<{ reason: string; message: string }> = [];
    for (const step of plan.steps) {
      if (step.action === 'release') {
        this.allocator.release(plan.key, [step.family]);
        continue;
      }
      // The allocator is authoritative and idempotent: a kept address is confirmed, not moved.
      const result = this.allocator.allocate(plan.key, {
        family: step.family,
        ...(step.action === 'assign' && step.requested.length > 0 ? { addresses: step.requested } : {}),
        ...(intent.requestedPool ? { pool: intent.requestedPool } : {}),
      });
      if (!result.ok) {
        // All or nothing: the Service keeps publishing what it had, so it must keep holding it.
        // Nothing else ran since `before` was read (no await in between), so it is all free.
        this.allocator.release(plan.key);
        this.allocator.restore(
          plan.key,
          before.map((a) => a.address),
        );
        return {
          kind: 'failed',
          reason: result.reason,
          message: result.message,
          eventReason: 'AllocationFailed',
        };
      }
      for (const a of result.addresses) {
        ingress.push({ ip: a.address, ipMode: 'VIP' });
        if (!before.some((b) => b.address === a.address)) {
          changed.push({
            reason: 'IPAllocated',
            message: a.pool
              ? `Assigned IP ${a.address} from pool ${a.pool}`
              : `Assigned IP ${a.address} (it is in no current pool)`,
          });
        }
      }
    }
    const now = new Set(ingress.map((i) => i.ip));
    const released = before.map((a) => a.address).filter((a) => !now.has(a));
    return { kind: 'ready', ingress, changed, released };
  }

  async remove(_service: ServiceRef, key: string): Promise<RemoveResult> {
    return { kind: 'gone', released: this.allocator.release(key).map((a) => a.address) };
  }
}

function keyOf(service: ServiceRef): string {
  return `${service.namespace}/${service.name}`;
}
