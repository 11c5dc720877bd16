// The provider-neutral description of what one Service asks for, after validation.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IPFamily = 'IPv4' | 'IPv6';

export interface ServiceRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface PortIntent {
  name?: string;
  protocol: Protocol;
  port: number;
  nodePort?: number;
  /** spec.ports[].targetPort: a number, or the name of a container port (resolved per endpoint). */
  targetPort?: number | string;
  tls?: { certificates: string[]; policy?: string };
}

/**
 * A node that may receive load-balancer traffic: upstream's stable node set (not being deleted,
 * not labelled node.kubernetes.io/exclude-from-external-load-balancers, not tainted for removal by the
 * cluster autoscaler). Readiness does not matter: the load balancer's health check drains a sick node.
 */
export interface TargetNode {
  name: string;
  /** spec.providerID, e.g. aws:///us-east-1a/i-0123456789abcdef0. */
  providerID?: string;
  labels: Record<string, string>;
  /** InternalIP addresses. */
  internalAddresses: string[];
}

/** A ready endpoint of the Service, from its EndpointSlices (for load balancers that target Pods). */
export interface EndpointTarget {
  address: string;
  family: IPFamily;
  nodeName?: string;
  /** EndpointSlice ports: port name ('' when unnamed) → the Pod's port number, per protocol. */
  ports: Array<{ name: string; protocol: Protocol; port: number }>;
}

export interface LoadBalancerIntent {
  service: ServiceRef;
  loadBalancerClass?: string;
  internal: boolean;
  ports: PortIntent[];
  proxyProtocol: boolean;
  trafficPolicy: 'Cluster' | 'Local';
  healthCheckNodePort?: number;
  sourceRanges: string[];
  /** Where the source ranges came from: the spec field or an annotation key. */
  sourceRangesField?: string;
  /** Exact addresses the user asked for, canonical form. */
  requestedAddresses: string[];
  /** Families to serve, in the Service's order (one for SingleStack). */
  ipFamilies: IPFamily[];
  /** spec.ipFamilyPolicy: whether a second family is wanted, and whether it is required. */
  ipFamilyPolicy: IPFamilyPolicy;
  /** A named address pool (bare metal). */
  requestedPool?: string;
  /** Address sharing (bare metal): present when the Service carries a sharing key. */
  sharing?: SharingIntent;
  /** The Service's labels (pool serviceSelectors). */
  labels: Record<string, string>;
  sessionAffinity: 'None' | 'ClientIP';
  /** The Service's annotations as written: providers read their cloud's native keys here. */
  annotations: Record<string, string>;
  /** Filled in by the controller for providers that target nodes (Provider.needs.nodes). */
  nodes: TargetNode[];
  /** Filled in by the controller for providers that target Pods (Provider.needs.endpoints). */
  endpoints: EndpointTarget[];
}

export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

/** MetalLB's sharing rules: same key, no protocol+port overlap, same backends for Local. */
export interface SharingIntent {
  key: string;
  /** Namespaces this Service agrees to share an address with besides its own; '*' for any. */
  crossNamespace: string[];
  /** '' for externalTrafficPolicy Cluster; the canonical selector text for Local. */
  backendKey: string;
}

/** Machine-readable reasons, used as Event reason and Service condition reason. */
export type ProblemReason =
  | 'InvalidAnnotation'
  | 'ConflictingAnnotations'
  | 'InvalidSpec'
  | 'Unsupported'
  | 'DeprecatedAnnotation'
  /** A setting of another kind of load balancer (e.g. a Classic ELB's), carried over to its equivalent. */
  | 'EquivalentSetting';

export interface Problem {
  reason: ProblemReason;
  /** The annotation or field the problem is about. */
  field: string;
  message: string;
  /** `error` stops provisioning until fixed; `warning` is reported and provisioning goes on. */
  severity: 'error' | 'warning';
}

export interface Decision {
  intent: LoadBalancerIntent;
  problems: Problem[];
}
