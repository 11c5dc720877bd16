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
  tls?: { certificates: string[]; policy?: string };
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
  | 'DeprecatedAnnotation';

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
