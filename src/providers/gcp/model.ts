// The GCP provider's data model: what a Service asks for (GcpSettings), what exists in the project
// (GcpObserved), and the operations that turn one into the other (GcpPlan). Types only:
// settings.ts parses annotations, desired.ts + plan.ts compute (pure), observe.ts + apply.ts talk
// to Compute Engine. Every resource has a deterministic name (names.ts), so a plan refers to
// resources by name and never needs an ID that does not exist yet.
//
// The load balancer of one Service (backend-service based passthrough NLB, external or internal):
//   Address (regional, reserved static; or the user's own) ──┐
//   HealthCheck (regional HTTP; per Service for ETP Local,    │
//     the cluster's shared kube-proxy check for Cluster)      │
//   InstanceGroup per zone (shared by the cluster) ──┐        │
//   BackendService per protocol (TCP, UDP) ──────────┴─ HC ───┤
//   ForwardingRule per protocol → its BackendService, IP ─────┘
//   Firewall: clients (source ranges → LB IP, the ports), health-check probes (→ HC port)

export type Scheme = 'EXTERNAL' | 'INTERNAL';
export type L4Protocol = 'TCP' | 'UDP';
export type NetworkTier = 'PREMIUM' | 'STANDARD';
export type SessionAffinity = 'NONE' | 'CLIENT_IP';

/** Google's health-check probe ranges (the same for external and internal passthrough LBs). */
export const HEALTH_CHECK_SOURCE_RANGES: readonly string[] = ['130.211.0.0/22', '35.191.0.0/16'];

/** kube-proxy's health endpoint on every node, used by the shared check (ETP Cluster). */
export const KUBE_PROXY_HEALTH_PORT = 10256;

/** A forwarding rule lists at most this many ports; more → allPorts. */
export const MAX_FORWARDING_RULE_PORTS = 5;

/** What the operator is configured with (flags / chart values). */
export interface GcpConfig {
  project: string;
  region: string;
  /** The VPC network: name or URL. */
  network: string;
  /** Default subnetwork of internal load balancers: name or URL. */
  subnetwork?: string;
  /** Cluster name: part of every name and every ownership description. */
  cluster: string;
  /** Network tags of the nodes; firewalls target them. Empty: every instance in the network. */
  nodeTags: string[];
}

/** Everything the Service asks for (native annotations, portable sluice.dev/* keys, spec), validated. */
export interface GcpSettings {
  scheme: Scheme;
  /** Internal only: subnetwork URL or name (annotation, else config). */
  subnetwork?: string;
  /** Internal only. */
  allowGlobalAccess: boolean;
  /** External only (internal rules have no tier). */
  networkTier: NetworkTier;
  /** spec.loadBalancerIP / sluice.dev/addresses: must be a reserved static address of the project (or ours). */
  requestedIp?: string;
  sessionAffinity: SessionAffinity;
  /** Client source ranges; default 0.0.0.0/0. */
  sourceRanges: string[];
  /** Shared kube-proxy check (ETP Cluster) or a per-Service check on healthCheckNodePort (ETP Local). */
  healthCheck: { kind: 'shared' } | { kind: 'service'; port: number };
  /** By protocol, the Service ports (sorted, unique). */
  ports: Record<L4Protocol, number[]>;
}

/** Resource kinds and where they live: regional, zonal (instance groups), global (firewalls). */
export type ResourceKind =
  | 'address'
  | 'healthCheck'
  | 'backendService'
  | 'forwardingRule'
  | 'firewall'
  | 'instanceGroup';

/** The JSON written to each resource's `description`: who owns it. */
export interface Ownership {
  'sluice.dev/cluster': string;
  /** "ns/name"; absent on shared cluster resources (instance groups, shared health check). */
  'sluice.dev/service'?: string;
  'sluice.dev/service-uid'?: string;
}

// ---- Desired and observed resource shapes: only the fields Sluice sets and compares. ----

export interface AddressSpec {
  name: string;
  addressType: Scheme;
  /** External only. */
  networkTier?: NetworkTier;
  /** Internal only (URL). */
  subnetwork?: string;
  /** A specific IP to reserve (internal requested IP); absent → Google picks. */
  address?: string;
  /**
   * Internal only: SHARED_LOADBALANCER_VIP lets the TCP and the UDP forwarding rule share the IP
   * (Compute refuses a second internal rule on a GCE_ENDPOINT address). Absent: Compute's default.
   */
  purpose?: AddressPurpose;
}

/** Internal addresses: GCE_ENDPOINT (Compute's default) or shared by several forwarding rules. */
export type AddressPurpose = 'GCE_ENDPOINT' | 'SHARED_LOADBALANCER_VIP';

export interface HealthCheckSpec {
  name: string;
  port: number;
  requestPath: string;
  checkIntervalSec: number;
  timeoutSec: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface BackendServiceSpec {
  name: string;
  scheme: Scheme;
  protocol: L4Protocol;
  sessionAffinity: SessionAffinity;
  /** Health check URL. */
  healthCheck: string;
  /** Instance group URLs (one per zone that has nodes). */
  groups: string[];
  /** Internal only (URL). */
  network?: string;
}

export interface ForwardingRuleSpec {
  name: string;
  scheme: Scheme;
  protocol: L4Protocol;
  /** The address (IP) the rule serves. */
  ip: string;
  /** ≤ 5 ports, or allPorts. */
  ports: number[] | 'all';
  /** Backend service URL. */
  backendService: string;
  /** External only. */
  networkTier?: NetworkTier;
  /** Internal only (URLs). */
  network?: string;
  subnetwork?: string;
  allowGlobalAccess?: boolean;
}

export interface FirewallSpec {
  name: string;
  /** Network URL. */
  network: string;
  sourceRanges: string[];
  /** The LB IP for client rules; absent for health-check rules. */
  destinationRanges?: string[];
  allowed: Array<{ protocol: 'tcp' | 'udp'; ports: string[] }>;
  /** Empty: every instance in the network. */
  targetTags: string[];
  priority: number;
}

export interface InstanceGroupSpec {
  name: string;
  zone: string;
  /** Network URL. */
  network: string;
  /** Instance URLs (projects/P/zones/Z/instances/N form), sorted. */
  instances: string[];
}

/** An existing resource: the spec fields as read back, plus what Compute keeps. */
export type Existing<S> = S & {
  selfLink: string;
  description: string;
  /** backend services, firewalls? (no), forwarding rules (labels), instance groups: optimistic locking. */
  fingerprint?: string;
  /** Addresses: RESERVING | RESERVED | IN_USE. */
  status?: string;
};

/** The desired load balancer of one Service (desired.ts). Shared resources are listed too. */
export interface GcpDesired {
  /** undefined when the user's own address is used (then `userAddress` names it). */
  address?: AddressSpec;
  userAddress?: { name: string; ip: string };
  healthCheck: HealthCheckSpec & { shared: boolean };
  backendServices: BackendServiceSpec[];
  forwardingRules: ForwardingRuleSpec[];
  firewalls: FirewallSpec[];
  /** The cluster's instance groups (shared, one per zone with eligible nodes). */
  instanceGroups: InstanceGroupSpec[];
}

/** An operation started earlier that has not finished (remembered in memory per Service). */
export interface InFlightOperation {
  /** Operation resource name. */
  name: string;
  scope: { kind: 'region'; region: string } | { kind: 'zone'; zone: string } | { kind: 'global' };
  /** What it changes, e.g. "forwardingRule sl-…-tcp insert". */
  target: string;
}

/** A finished operation that failed: its error, for the user. */
export interface FailedOperation {
  target: string;
  /** e.g. QUOTA_EXCEEDED, RESOURCE_IN_USE_BY_ANOTHER_RESOURCE, IP_IN_USE_BY_ANOTHER_RESOURCE. */
  code: string;
  message: string;
}

/** What exists now, for one Service: every name it could have used, plus the shared resources. */
export interface GcpObserved {
  /** Operations of this Service still running. While any runs nothing new starts, so the rest is not read (empty). */
  running: InFlightOperation[];
  /** Operations of this Service that finished with an error since the last reconcile. */
  failed: FailedOperation[];
  addresses: Array<Existing<AddressSpec>>;
  healthChecks: Array<Existing<HealthCheckSpec>>;
  backendServices: Array<Existing<BackendServiceSpec>>;
  forwardingRules: Array<Existing<ForwardingRuleSpec>>;
  firewalls: Array<Existing<FirewallSpec>>;
  instanceGroups: Array<Existing<InstanceGroupSpec>>;
  /** The user's address for requestedIp, found by IP; 'absent' when no reserved address has it. */
  requestedAddress?:
    | {
        name: string;
        ip: string;
        owned: boolean;
        status: string;
        addressType: Scheme;
        /** Internal addresses: as read (absent when not read); two internal rules need SHARED_LOADBALANCER_VIP. */
        purpose?: string;
      }
    | 'absent';
  /** Subnetwork (internal) as found; 'absent' when the named subnetwork does not exist. */
  subnetwork?: { selfLink: string } | 'absent';
  /**
   * Backend services of other Services that use the cluster's shared health check or instance groups
   * (read for removal only: the shared resources go when nobody else uses them). Absent: not read,
   * so planRemoval keeps the shared resources.
   */
  sharedUsers?: string[];
}

/** Only the Service's operations: what observe answers while one of them runs (nothing else is read). */
export function operationsOnly(running: InFlightOperation[], failed: FailedOperation[]): GcpObserved {
  return {
    running,
    failed,
    addresses: [],
    healthChecks: [],
    backendServices: [],
    forwardingRules: [],
    firewalls: [],
    instanceGroups: [],
  };
}

/** One write. Regional resources use the configured region; instance groups name their zone. */
export type GcpOperation =
  | { kind: 'insert'; resource: 'address'; spec: AddressSpec }
  | { kind: 'insert'; resource: 'healthCheck'; spec: HealthCheckSpec }
  | { kind: 'insert'; resource: 'backendService'; spec: BackendServiceSpec }
  | { kind: 'insert'; resource: 'forwardingRule'; spec: ForwardingRuleSpec }
  | { kind: 'insert'; resource: 'firewall'; spec: FirewallSpec }
  | { kind: 'insert'; resource: 'instanceGroup'; spec: InstanceGroupSpec }
  /** In-place updates; `fingerprint` where Compute requires it (backend services). */
  | { kind: 'patch'; resource: 'healthCheck'; spec: HealthCheckSpec }
  | { kind: 'patch'; resource: 'backendService'; spec: BackendServiceSpec; fingerprint?: string }
  | { kind: 'patch'; resource: 'firewall'; spec: FirewallSpec }
  | { kind: 'delete'; resource: Exclude<ResourceKind, 'instanceGroup'>; name: string }
  | { kind: 'delete'; resource: 'instanceGroup'; name: string; zone: string }
  | { kind: 'addInstances'; group: string; zone: string; instances: string[] }
  | { kind: 'removeInstances'; group: string; zone: string; instances: string[] };

/**
 * The plan: the writes that can start now (their prerequisites exist), safe to run in parallel.
 * Steps whose prerequisites are still being created are `deferred` (they come on a later
 * reconcile, after observe sees the prerequisite). Empty ops, nothing deferred and nothing
 * running → the load balancer is as desired, with `ip`.
 */
export interface GcpPlan {
  ops: GcpOperation[];
  /** Human-readable steps waiting for a prerequisite, e.g. "forwardingRule x (waits for backendService y)". */
  deferred: string[];
  /** The IP the Service gets once everything is in place (known once the address exists). */
  ip?: string;
  /** A problem the user must fix (requested IP not reserved, subnet missing, a failed operation's quota error). */
  problem?: { reason: string; message: string };
  /** Events for what this plan starts that the user should see (scheme switch, HC switch). */
  changed: Array<{ reason: string; message: string }>;
}
