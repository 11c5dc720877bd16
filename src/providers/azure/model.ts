// The Azure provider's data model: what a Service's annotations ask for (AzureSettings), the part of the cluster's
// shared load balancer and network security group one Service owns (its slices), and the bodies Sluice PUTs.
// Types only: settings.ts parses, names.ts names, slices.ts computes and merges (pure); the writer talks to ARM.
//
// The body types are plain subsets of @azure/arm-network's models with the fields Sluice sets made required: they
// are assignable to the SDK's LoadBalancer / NetworkSecurityGroup parts as they are, and easy to compare and print.

/** Load-balancing rule protocols Sluice uses (Azure's TransportProtocol without All). */
export type AzureProtocol = 'Tcp' | 'Udp';
export type ProbeProtocol = 'Tcp' | 'Http' | 'Https';
export type LoadDistribution = 'Default' | 'SourceIP';
/** What an ETP Cluster Service's probe checks: each port's NodePort, or kube-proxy's /healthz on every node. */
export type ProbeMode = 'nodeport' | 'kube-proxy';

/** Where the frontend of a public Service gets its address. */
export type PublicAddressSource =
  /** A Standard static public IP Sluice creates, owns (tags) and deletes with the Service. */
  | { kind: 'managed'; dnsLabel?: string }
  /** azure-pip-name: the user's public IP, by name; never deleted. With loadBalancerIP too, it must hold that address. */
  | { kind: 'named'; name: string; resourceGroup?: string; address?: string }
  /** loadBalancerIP / azure-load-balancer-ipv4 / sluice.dev/addresses: the user's public IP holding that address. */
  | { kind: 'address'; address: string; resourceGroup?: string };

/** azure-load-balancer-health-probe-*: the user's probe preferences (ETP Local overrides them, as upstream). */
export interface ProbeSettings {
  /** Absent: Tcp for ETP Cluster (per NodePort), Http for ETP Local. */
  protocol?: ProbeProtocol;
  /** HTTP(S) request path; default "/" (ETP Local always uses /healthz). */
  requestPath: string;
  /** Seconds between probes; Azure: at least 5, default 5. */
  intervalSeconds: number;
  /** Consecutive failures before a backend is out (Azure's probeThreshold); default 2. */
  numberOfProbes: number;
}

/** Who may reach the frontend: the NSG allow rules Sluice writes for the Service. */
export interface AccessSettings {
  /** false with azure-disable-load-balancer-nsg-rule: Sluice leaves the NSG alone for this Service. */
  manage: boolean;
  /** CIDRs (spec.loadBalancerSourceRanges, the source-ranges annotations or azure-allowed-ip-ranges). */
  ipRanges: string[];
  /** Azure service tags (azure-allowed-service-tags; "Internet" for a public Service that names no source). */
  serviceTags: string[];
  /** azure-deny-all-except-load-balancer-source-ranges: a deny rule for every other source. */
  denyAllOthers: boolean;
}

/** Everything the Service's annotations (azure-* and portable sluice.dev/* keys) ask for, validated, defaults filled in. */
export interface AzureSettings {
  internal: boolean;
  /** Internal only: the subnet of the private frontend (azure-load-balancer-internal-subnet; absent: the configured one). */
  subnet?: string;
  /** Internal only: a static private address (loadBalancerIP / azure-load-balancer-ipv4 / sluice.dev/addresses). */
  privateAddress?: string;
  /** Public only. */
  publicAddress?: PublicAddressSource;
  probe: ProbeSettings;
  /** Rule idle timeout in minutes (4–100, default 4). */
  idleTimeoutMinutes: number;
  /** TCP reset on idle (default on; azure-load-balancer-disable-tcp-reset turns it off). UDP rules never have it. */
  tcpReset: boolean;
  /** Floating IP (default on: backend port = service port); off: backend port = NodePort. */
  floatingIp: boolean;
  loadDistribution: LoadDistribution;
  access: AccessSettings;
}

// ---- Bodies (subsets of @azure/arm-network models) -----------------------------------------------------------

export interface SubResourceRef {
  id: string;
}

export interface FrontendBody {
  name: string;
  /** Public frontends. */
  publicIPAddress?: SubResourceRef;
  /** Internal frontends. */
  subnet?: SubResourceRef;
  privateIPAllocationMethod?: 'Static' | 'Dynamic';
  privateIPAddress?: string;
}

export interface RuleBody {
  name: string;
  frontendIPConfiguration: SubResourceRef;
  backendAddressPool: SubResourceRef;
  probe?: SubResourceRef;
  protocol: AzureProtocol;
  frontendPort: number;
  backendPort: number;
  enableFloatingIP: boolean;
  idleTimeoutInMinutes: number;
  enableTcpReset: boolean;
  loadDistribution: LoadDistribution;
  /** Outbound SNAT belongs to outbound rules (Standard LB): the inbound rule never provides it. */
  disableOutboundSnat: boolean;
}

export interface ProbeBody {
  name: string;
  protocol: ProbeProtocol;
  port: number;
  requestPath?: string;
  intervalInSeconds: number;
  /** Both spellings: ARM reads probeThreshold on new API versions and numberOfProbes on old ones. */
  numberOfProbes: number;
  probeThreshold: number;
}

export interface BackendAddressBody {
  name: string;
  ipAddress: string;
  virtualNetwork: SubResourceRef;
}

export interface BackendPoolBody {
  name: string;
  loadBalancerBackendAddresses: BackendAddressBody[];
}

/**
 * A load balancer as Sluice reads and writes it. Entries Sluice does not own (another tool's frontends, rules,
 * probes, outbound rules…) ride along untouched: they are kept as the opaque objects ARM returned.
 */
export interface LoadBalancerBody {
  name: string;
  location: string;
  etag?: string;
  sku: { name: 'Standard'; tier?: string };
  tags: Record<string, string>;
  frontendIPConfigurations: Array<FrontendBody | ForeignEntry>;
  backendAddressPools: Array<BackendPoolBody | ForeignEntry>;
  loadBalancingRules: Array<RuleBody | ForeignEntry>;
  probes: Array<ProbeBody | ForeignEntry>;
  /** Other top-level properties (outboundRules, inboundNatRules…) as read, never changed by Sluice. */
  other?: Record<string, unknown>;
}

/** An entry of a list Sluice does not own: only its name matters to Sluice. */
export interface ForeignEntry {
  name: string;
  [property: string]: unknown;
}

export interface SecurityRuleBody {
  name: string;
  description: string;
  protocol: 'Tcp' | 'Udp';
  access: 'Allow' | 'Deny';
  direction: 'Inbound';
  priority: number;
  sourcePortRange: '*';
  /** Exactly one of sourceAddressPrefix (a service tag or "*") and sourceAddressPrefixes (CIDRs). */
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
  destinationAddressPrefixes: string[];
  destinationPortRanges: string[];
}

export interface SecurityGroupBody {
  name: string;
  location: string;
  etag?: string;
  securityRules: Array<SecurityRuleBody | ForeignEntry>;
  other?: Record<string, unknown>;
}

// ---- As read from ARM -------------------------------------------------------------------------------------------

/** A load balancer as read: the body Sluice merges into, and its provisioning state. */
export interface ObservedLoadBalancer {
  body: LoadBalancerBody;
  /** Succeeded, Updating, Deleting, Failed. */
  provisioningState: string | undefined;
}

export interface ObservedSecurityGroup {
  resourceGroup: string;
  body: SecurityGroupBody;
  provisioningState: string | undefined;
}

export interface ObservedPublicIp {
  id: string;
  name: string;
  resourceGroup: string;
  location: string | undefined;
  ipAddress: string | undefined;
  provisioningState: string | undefined;
  sku: string | undefined;
  allocation: string | undefined;
  version: string | undefined;
  tags: Record<string, string>;
  dnsLabel: string | undefined;
  /** The IP configuration (a load balancer frontend, a NIC) that uses it. */
  usedBy: string | undefined;
}

/** What Sluice PUTs for a public IP it creates. */
export interface PublicIpBody {
  location: string;
  sku: { name: 'Standard'; tier: 'Regional' };
  publicIPAllocationMethod: 'Static';
  publicIPAddressVersion: 'IPv4';
  tags: Record<string, string>;
  dnsSettings?: { domainNameLabel: string };
}

// ---- Slices -------------------------------------------------------------------------------------------------

/** One Service's part of the shared load balancer: its frontend, its rules and probes. */
export interface LoadBalancerSlice {
  /** The frontend name; every rule and probe of the slice is named `<owner>-…` (names.ts ownsEntry). */
  owner: string;
  frontend: FrontendBody;
  rules: RuleBody[];
  probes: ProbeBody[];
}

/** A security rule of a slice before it has a priority (the merge gives one from the managed range). */
export type SecurityRuleWish = Omit<SecurityRuleBody, 'priority'>;

/** One Service's part of the NSG: allow rules (and an optional deny rule) for its frontend. */
export interface SecurityGroupSlice {
  owner: string;
  rules: SecurityRuleWish[];
}

/** A change one Service submits to a shared resource: its new slice, or its removal (null). */
export interface SliceChange<S> {
  owner: string;
  slice: S | null;
}

/** Azure's limits Sluice checks before writing (the simulator's defaults are the same figures). */
export interface AzureLimits {
  frontendsPerLoadBalancer: number;
  rulesPerLoadBalancer: number;
  probesPerLoadBalancer: number;
  /** Load-balancing rules one backend address (NIC) may be part of: every rule on the LB uses the shared pool. */
  rulesPerBackendAddress: number;
  securityRulesPerGroup: number;
  /** Source and, separately, destination address prefixes over all rules of an NSG. */
  addressPrefixesPerSecurityGroup: number;
}

export const AZURE_LIMITS: Readonly<AzureLimits> = Object.freeze({
  frontendsPerLoadBalancer: 600,
  rulesPerLoadBalancer: 1500,
  probesPerLoadBalancer: 1500,
  rulesPerBackendAddress: 300,
  securityRulesPerGroup: 1000,
  addressPrefixesPerSecurityGroup: 4000,
});

/** The priorities of the NSG rules Sluice manages (as the Azure cloud provider: 500–4096). */
export const MANAGED_PRIORITIES = Object.freeze({ first: 500, last: 4096 });

/** Where the shared resources live: what ARM IDs are built from. */
export interface AzureScope {
  subscriptionId: string;
  /** The load balancers', NSG's and Sluice's public IPs' resource group. */
  resourceGroup: string;
  location: string;
  vnetName: string;
  /** The VNet's resource group (default: resourceGroup). */
  vnetResourceGroup?: string;
  /** The default subnet of internal frontends. */
  subnetName: string;
  cluster: string;
}

/** Tags on the public IPs Sluice creates (read back to recognise its own after a restart). */
export const TAG = {
  cluster: 'sluice.dev-cluster',
  service: 'sluice.dev-service',
  serviceUid: 'sluice.dev-service-uid',
} as const;

// ---- Observation and plan -------------------------------------------------------------------------------------

/** Where one Service's submission to a shared resource's writer stands (writer.ts). */
export type OwnerState =
  | { phase: 'queued' | 'writing'; key: string }
  /** Written, and ARM reported the write's operation Succeeded (or nothing needed writing). */
  | { phase: 'written'; key: string }
  | { phase: 'failed'; key: string; reason: string; message: string };

export type Visibility = 'public' | 'internal';

/** The NSG whose rules Sluice manages, and how it was found. */
export interface SecurityGroupView {
  /** configured: the securityGroupName option; subnet: the NSG of the internal frontends' default subnet. */
  source: 'configured' | 'subnet';
  observed: ObservedSecurityGroup | undefined;
}

/** What observe read for one Service (plan's only input besides the intent). */
export interface AzureObservation {
  settings: AzureSettings;
  /** The subscription is throttled: nothing could be read now. */
  throttled?: { retryAfterMs: number; message: string };
  /** Writes are throttled for this long (ms): a Service waiting for a write waits for that, not a usual requeue. */
  writesThrottledMs?: number;
  loadBalancers: Record<Visibility, ObservedLoadBalancer | undefined>;
  /** The public IP Sluice creates for this Service (by its deterministic name), if it exists. */
  managedPublicIp: ObservedPublicIp | undefined;
  /** The user's public IP the frontend must use (azure-pip-name / loadBalancerIP), or why there is none. */
  userPublicIp?: { found: ObservedPublicIp } | { missing: string };
  /** Absent: Sluice manages no NSG (none configured, none on the subnet), or the Service opted out. */
  securityGroup?: SecurityGroupView;
  /** True when no NSG was configured or found (the Service is told so). */
  noSecurityGroup: boolean;
  writers: {
    loadBalancer: Record<Visibility, OwnerState | undefined>;
    securityGroup: OwnerState | undefined;
    /** A write of the shared backend pool that ARM refused, for a notice. */
    sharedFailure?: string;
  };
}

/** One thing apply does. Writes to the shared resources are submissions to their writers, never direct. */
export type AzureStep =
  | { kind: 'putPublicIp'; resourceGroup: string; name: string; body: PublicIpBody }
  | { kind: 'deletePublicIp'; resourceGroup: string; name: string }
  | {
      kind: 'submitLoadBalancer';
      visibility: Visibility;
      owner: string;
      /** null: remove everything the owner has on that load balancer. */
      slice: LoadBalancerSlice | null;
      key: string;
    }
  /**
   * The shared backend pool differs from the nodes: merge it in again (one write for every Service). `force`: write
   * even if nothing differs (a load balancer whose provisioning failed needs a new PUT).
   */
  | { kind: 'refreshBackendPool'; visibility: Visibility; force?: boolean }
  | { kind: 'submitSecurityGroup'; owner: string; slice: SecurityGroupSlice | null; key: string }
  /** A failure was reported: the next reconcile submits again. */
  | { kind: 'forgetFailure'; writer: Visibility | 'securityGroup'; owner: string; key: string };

export interface Notice {
  reason: string;
  message: string;
}

export type PlanOutcome =
  | { kind: 'ready'; address: string; notices: Notice[]; changed: Notice[] }
  /** `retryAfterMs`: when to look again, if not the provider's usual requeue (e.g. the throttle gate's wait). */
  | { kind: 'pending'; reason: string; message: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string; message: string };

export interface AzurePlan {
  steps: AzureStep[];
  outcome: PlanOutcome;
  /** The node addresses of the shared backend pool this reconcile saw (undefined: no nodes, leave the pool). */
  backendPool?: BackendPoolBody;
}

/** What a removal plan decides: steps, and whether everything Sluice made for the Service is gone. */
export interface AzureRemovalPlan {
  steps: AzureStep[];
  gone: boolean;
  /** What is still being removed, for the pending message. */
  waitingFor: string[];
}
