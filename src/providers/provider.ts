// The contract every provider implements. The controller knows nothing of any cloud or pool;
// a provider knows nothing of Kubernetes plumbing (it never imports src/kube/).
import type { LoadBalancerIntent, Problem, ServiceRef } from '../intent/types.ts';

export interface Capabilities {
  tls: boolean;
  proxyProtocol: boolean;
  internal: boolean;
  /**
   * Who enforces client source ranges: the provider's own firewall (`any` source of ranges),
   * only kube-proxy (which reads spec.loadBalancerSourceRanges alone), or nobody.
   */
  sourceRanges: 'any' | 'spec-only' | 'none';
  protocols: ReadonlyArray<'TCP' | 'UDP' | 'SCTP'>;
}

export interface Ingress {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
}

export type ApplyResult =
  /**
   * `changed`: what was done, for Events; `released`: addresses given up (others may want them);
   * `notices`: what the user should know while the load balancer works (Warning Events, and the
   * ready condition's reason).
   */
  | {
      kind: 'ready';
      ingress: Ingress[];
      changed: Array<{ reason: string; message: string }>;
      released: string[];
      notices?: Array<{ reason: string; message: string }>;
    }
  /** `reason` (default Pending) is the ready condition's reason meanwhile, e.g. Provisioning. */
  | {
      kind: 'pending';
      message: string;
      retryAfterMs: number;
      reason?: string;
      /** What was started on the way (e.g. a replacement), for Events. */
      changed?: Array<{ reason: string; message: string }>;
    }
  /** A problem the user (or the platform team) must fix; `reason` is machine-readable. */
  | { kind: 'failed'; reason: string; message: string; eventReason?: string };

export type RemoveResult =
  /** `wake: 'all'`: the removal took away something other Services may share; reconcile them now. */
  | { kind: 'gone'; released: string[]; wake?: 'all' }
  | { kind: 'pending'; message: string; retryAfterMs: number };

/** An existing Service's published address, handed to a provider before any work starts. */
export interface ExistingLoadBalancer {
  service: ServiceRef;
  key: string;
  addresses: string[];
  /** What the Service asks for now (its sharing key, ports, labels), even if its manifest has errors. */
  intent?: LoadBalancerIntent;
}

/** The parts of a watched object a provider reads. */
export interface WatchedObject {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    generation?: number;
    creationTimestamp?: Date | string;
  };
  spec?: unknown;
  status?: unknown;
}

/** A cluster-scoped resource the provider needs to see (e.g. address pools, namespaces). */
export interface WatchedResource {
  /** '' for the core API (e.g. namespaces). */
  group: string;
  version: string;
  plural: string;
  /**
   * Called with the full current set after a change that matters: an object added or deleted,
   * its spec (generation) or labels changed; not its status. Returns problems to log per object.
   */
  onChange: (objects: ReadonlyArray<WatchedObject>) => ResourceProblem[];
  /** Which Services a change re-evaluates: those still waiting for an address, or all. */
  wakes: 'waiting' | 'all';
  /**
   * For resources whose status the provider reports (pools): the status the object should show
   * now, or undefined to leave it. Written (status subresource) only when it differs.
   */
  status?: (object: WatchedObject) => Record<string, unknown> | undefined;
}

export interface ResourceProblem {
  name: string;
  message: string;
}

export interface Provider<Observed = unknown, Plan = unknown> {
  readonly name: string;
  readonly capabilities: Capabilities;
  readonly watches: ReadonlyArray<WatchedResource>;
  /**
   * Cluster facts the controller puts into each intent, and watches so that a change re-evaluates
   * the Services it affects: the stable node set (`nodes`), the Service's ready endpoints (`endpoints`).
   */
  readonly needs?: { nodes?: boolean; endpoints?: boolean };
  /**
   * Pure: problems with what the intent asks of this provider, e.g. its cloud's native annotations.
   * Errors stop provisioning (Event + condition); warnings are reported and provisioning goes on.
   */
  validate?(intent: LoadBalancerIntent): Problem[];
  /** Rebuild any in-memory state from what Services already publish; runs before any reconcile. */
  adopt(existing: ReadonlyArray<ExistingLoadBalancer>): ReadonlyArray<{ key: string; message: string }>;
  observe(intent: LoadBalancerIntent): Promise<Observed>;
  /** Pure. */
  plan(intent: LoadBalancerIntent, observed: Observed): Plan;
  apply(intent: LoadBalancerIntent, plan: Plan): Promise<ApplyResult>;
  remove(service: ServiceRef, key: string): Promise<RemoveResult>;
}
