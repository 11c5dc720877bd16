// Flags and environment → one validated Config. Flags win over environment variables
// (SLUICE_<FLAG_IN_CAPS>), which win over defaults. Invalid input is reported, all at once.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { LeaderElectionOptions } from '../kube/leader-election.ts';

export const PROVIDERS = ['pool', 'aws', 'gcp', 'azure'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Where the AWS provider works; credentials come from the standard AWS chain (IRSA, Pod Identity, env). */
export interface AwsConfig {
  region: string;
  /** Overrides the ELBv2 and EC2 endpoints (tests: moto). */
  endpoint?: string;
  /** The cluster's VPC; when unset, the VPC of the subnets found. */
  vpcId?: string;
}

/** Where the GCP provider works; credentials are Application Default Credentials (Workload Identity). */
export interface GcpConfig {
  project: string;
  region: string;
  /** The cluster's VPC network (name or URL). */
  network: string;
  /** Default subnetwork of internal load balancers. */
  subnetwork?: string;
  /** Overrides the Compute endpoint; an http:// endpoint is an emulator and gets no credentials. */
  endpoint?: string;
  /** The nodes' network tags, which Sluice's firewalls target; empty: every instance in the network. */
  nodeTags: string[];
}

/** Where the Azure provider works; credentials come from DefaultAzureCredential (Workload Identity). */
export interface AzureConfig {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  vnetName: string;
  subnetName: string;
  vnetResourceGroup?: string;
  securityGroupName?: string;
  /** Overrides the ARM endpoint (an emulator in tests). */
  endpoint?: string;
  /** A PEM file of the CA to trust for that endpoint. */
  caFile?: string;
  probeMode: 'nodeport' | 'kube-proxy';
}

export interface Config {
  provider: ProviderName;
  /** Set when provider is aws. */
  aws?: AwsConfig;
  /** Set when provider is gcp. */
  gcp?: GcpConfig;
  /** Set when provider is azure. */
  azure?: AzureConfig;
  loadBalancerClass: string;
  /** Also manage Services that name no loadBalancerClass. */
  manageUnclassed: boolean;
  clusterName: string;
  workers: number;
  resyncPeriodMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  kubeconfig?: string;
  /** `host` undefined: every address of both families. */
  healthAddress: { host?: string; port: number };
  logLevel: LogLevel;
  leaderElection: LeaderElectionOptions & { enabled: boolean };
}

export const DEFAULT_CLASS = 'sluice.dev/lb';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// A label-style name with a prefix, as Kubernetes requires of spec.loadBalancerClass.
const LOAD_BALANCER_CLASS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const FLAGS = {
  provider: { type: 'string', default: 'pool' },
  'load-balancer-class': { type: 'string', default: DEFAULT_CLASS },
  'manage-unclassed': { type: 'string', default: 'false' },
  'cluster-name': { type: 'string', default: 'sluice' },
  workers: { type: 'string', default: '4' },
  'resync-period': { type: 'string', default: '300' },
  'backoff-base': { type: 'string', default: '5' },
  'backoff-max': { type: 'string', default: '300' },
  kubeconfig: { type: 'string' },
  'health-address': { type: 'string', default: ':8080' },
  'log-level': { type: 'string', default: 'info' },
  'leader-elect': { type: 'string', default: 'true' },
  'leader-election-namespace': { type: 'string' },
  'leader-election-lease': { type: 'string', default: 'sluice-controller' },
  'leader-election-identity': { type: 'string' },
  'lease-duration': { type: 'string', default: '15' },
  'renew-deadline': { type: 'string', default: '10' },
  'retry-period': { type: 'string', default: '2' },
  'aws-region': { type: 'string' },
  'aws-endpoint': { type: 'string' },
  'aws-vpc-id': { type: 'string' },
  'gcp-project': { type: 'string' },
  'gcp-region': { type: 'string' },
  'gcp-network': { type: 'string', default: 'default' },
  'gcp-subnetwork': { type: 'string' },
  'gcp-endpoint': { type: 'string' },
  'gcp-node-tags': { type: 'string', default: '' },
  'azure-subscription-id': { type: 'string' },
  'azure-resource-group': { type: 'string' },
  'azure-location': { type: 'string' },
  'azure-vnet': { type: 'string' },
  'azure-subnet': { type: 'string' },
  'azure-vnet-resource-group': { type: 'string' },
  'azure-security-group': { type: 'string' },
  'azure-endpoint': { type: 'string' },
  'azure-ca-file': { type: 'string' },
  'azure-probe-mode': { type: 'string', default: 'nodeport' },
} as const;

export type FlagName = keyof typeof FLAGS;

/** Flags with their defaults, for `--help`. */
export function flagHelp(): string {
  return Object.entries(FLAGS)
    .map(([name, f]) => `  --${name}${'default' in f ? ` (default ${f.default})` : ''}`)
    .join('\n');
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const get = readFlags(argv, env, FLAGS);
  const problems: string[] = [];
  const bool = (name: FlagName): boolean => parseBool(name, get(name), problems);
  const seconds = (name: FlagName, min: number): number => {
    const v = Number(get(name));
    if (!Number.isFinite(v) || v < min)
      problems.push(`--${name}: "${get(name)}" must be a number of seconds ≥ ${min}`);
    return v * 1000;
  };
  const provider = get('provider') as ProviderName;
  if (!PROVIDERS.includes(provider)) {
    problems.push(`--provider: "${provider}" is not one of: ${PROVIDERS.join(', ')}`);
  }
  const aws = provider === 'aws' ? awsConfig(get, env, problems) : undefined;
  const gcp = provider === 'gcp' ? gcpConfig(get, env, problems) : undefined;
  const azure = provider === 'azure' ? azureConfig(get, env, problems) : undefined;
  const workers = Number(get('workers'));
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    problems.push(`--workers: "${get('workers')}" must be an integer from 1 to 256`);
  }
  const logLevel = parseLogLevel(get('log-level'), problems);
  const healthAddress = parseHostPort(get('health-address') ?? '', problems);
  const loadBalancerClass = parseLoadBalancerClass(get('load-balancer-class'), problems);
  const config: Config = {
    provider,
    ...(aws ? { aws } : {}),
    ...(gcp ? { gcp } : {}),
    ...(azure ? { azure } : {}),
    loadBalancerClass,
    manageUnclassed: bool('manage-unclassed'),
    clusterName: get('cluster-name') ?? 'sluice',
    workers,
    resyncPeriodMs: seconds('resync-period', 10),
    backoffBaseMs: seconds('backoff-base', 0.001),
    backoffMaxMs: seconds('backoff-max', 0.001),
    ...(get('kubeconfig') ? { kubeconfig: get('kubeconfig') } : {}),
    healthAddress,
    logLevel,
    leaderElection: {
      enabled: bool('leader-elect'),
      namespace: get('leader-election-namespace') ?? env.POD_NAMESPACE ?? 'default',
      leaseName: get('leader-election-lease') ?? 'sluice-controller',
      identity: get('leader-election-identity') ?? env.POD_NAME ?? `${hostname()}_${process.pid}`,
      leaseDurationMs: seconds('lease-duration', 1),
      renewDeadlineMs: seconds('renew-deadline', 1),
      retryPeriodMs: seconds('retry-period', 0.1),
    },
  };
  const le = config.leaderElection;
  if (le.renewDeadlineMs >= le.leaseDurationMs)
    problems.push('--renew-deadline must be shorter than --lease-duration');
  if (le.retryPeriodMs >= le.renewDeadlineMs)
    problems.push('--retry-period must be shorter than --renew-deadline');
  if (config.backoffBaseMs > config.backoffMaxMs)
    problems.push('--backoff-base must not exceed --backoff-max');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function awsConfig(
  get: (name: FlagName) => string | undefined,
  env: NodeJS.ProcessEnv,
  problems: string[],
): AwsConfig {
  // The SDK's own variables work too, so a Pod spec written for other AWS tools needs nothing new.
  const region = get('aws-region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    problems.push(
      `--aws-region: "${region ?? ''}" must be an AWS region such as us-east-1 (or set AWS_REGION)`,
    );
  }
  const endpoint = get('aws-endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
    problems.push(`--aws-endpoint: "${endpoint}" must be a URL like https://host:port`);
  }
  const vpcId = get('aws-vpc-id');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) {
    problems.push(`--aws-vpc-id: "${vpcId}" is not a VPC ID (vpc-…)`);
  }
  return {
    region: region ?? '',
    ...(endpoint ? { endpoint } : {}),
    ...(vpcId ? { vpcId } : {}),
  };
}

const URL_PATTERN = /^https?:\/\/[^/\s]+\/?$/;

function gcpConfig(
  get: (name: FlagName) => string | undefined,
  env: NodeJS.ProcessEnv,
  problems: string[],
): GcpConfig {
  const project = get('gcp-project') ?? env.GOOGLE_CLOUD_PROJECT ?? env.CLOUDSDK_CORE_PROJECT;
  if (!project || !/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(project)) {
    problems.push(`--gcp-project: "${project ?? ''}" must be a project ID (or set GOOGLE_CLOUD_PROJECT)`);
  }
  const region = get('gcp-region');
  if (!region || !/^[a-z]+-[a-z]+[0-9]+$/.test(region)) {
    problems.push(`--gcp-region: "${region ?? ''}" must be a region such as us-central1`);
  }
  const network = get('gcp-network') ?? 'default';
  const subnetwork = get('gcp-subnetwork');
  const endpoint = get('gcp-endpoint');
  if (endpoint !== undefined && !URL_PATTERN.test(endpoint)) {
    problems.push(`--gcp-endpoint: "${endpoint}" must be a URL like https://host:port`);
  }
  const nodeTags = (get('gcp-node-tags') ?? '')
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  for (const tag of nodeTags) {
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(tag)) {
      problems.push(
        `--gcp-node-tags: "${tag}" is not a network tag (lowercase letters, digits and "-", at most 63)`,
      );
    }
  }
  return {
    project: project ?? '',
    region: region ?? '',
    network,
    ...(subnetwork ? { subnetwork } : {}),
    ...(endpoint ? { endpoint } : {}),
    nodeTags,
  };
}

function azureConfig(
  get: (name: FlagName) => string | undefined,
  env: NodeJS.ProcessEnv,
  problems: string[],
): AzureConfig {
  const required = (flag: FlagName, value: string | undefined, what: string): string => {
    if (!value) problems.push(`--${flag}: ${what} is required with --provider=azure`);
    return value ?? '';
  };
  const subscriptionId = get('azure-subscription-id') ?? env.AZURE_SUBSCRIPTION_ID;
  if (subscriptionId && !/^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/.test(subscriptionId)) {
    problems.push(`--azure-subscription-id: "${subscriptionId}" is not a subscription ID (a GUID)`);
  }
  const endpoint = get('azure-endpoint');
  if (endpoint !== undefined && !URL_PATTERN.test(endpoint)) {
    problems.push(`--azure-endpoint: "${endpoint}" must be a URL like https://host:port`);
  }
  const probeMode = get('azure-probe-mode') ?? 'nodeport';
  if (probeMode !== 'nodeport' && probeMode !== 'kube-proxy') {
    problems.push(`--azure-probe-mode: "${probeMode}" is not nodeport or kube-proxy`);
  }
  const optional = (flag: FlagName): string | undefined => get(flag) || undefined;
  const vnetResourceGroup = optional('azure-vnet-resource-group');
  const securityGroupName = optional('azure-security-group');
  const caFile = optional('azure-ca-file');
  return {
    subscriptionId: required(
      'azure-subscription-id',
      subscriptionId,
      'the subscription ID (or AZURE_SUBSCRIPTION_ID)',
    ),
    resourceGroup: required('azure-resource-group', get('azure-resource-group'), 'the resource group'),
    location: required('azure-location', get('azure-location'), 'the location (region)'),
    vnetName: required('azure-vnet', get('azure-vnet'), "the cluster's virtual network"),
    subnetName: required('azure-subnet', get('azure-subnet'), "the nodes' subnet"),
    ...(vnetResourceGroup ? { vnetResourceGroup } : {}),
    ...(securityGroupName ? { securityGroupName } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(caFile ? { caFile } : {}),
    probeMode: probeMode === 'kube-proxy' ? 'kube-proxy' : 'nodeport',
  };
}

/**
 * Parses `argv` against string-valued `flags` and returns a reader for one flag: given on the command line,
 * else SLUICE_<FLAG_IN_CAPS> from `env`, else the flag's default. Unknown flags throw (parseArgs errors
 * carry a `code`).
 */
export function readFlags<Name extends string>(
  argv: string[],
  env: NodeJS.ProcessEnv,
  flags: Readonly<Record<Name, { readonly type: 'string'; readonly default?: string }>>,
): (name: Name) => string | undefined {
  // Every flag is a string, so the parsed values are strings (or absent).
  const parsed = parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false });
  const values = parsed.values as Partial<Record<Name, string>>;
  return (name) => {
    const explicit = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    const fromEnv = env[`SLUICE_${name.toUpperCase().replaceAll('-', '_')}`];
    if (!explicit && fromEnv !== undefined) return fromEnv;
    return values[name];
  };
}

/** `true` or `false`; anything else is a problem (and false). */
export function parseBool(flag: string, text: string | undefined, problems: string[]): boolean {
  if (text === 'true') return true;
  if (text !== 'false') problems.push(`--${flag}: "${text}" is not true or false`);
  return false;
}

/** --log-level; unset means info. */
export function parseLogLevel(text: string | undefined, problems: string[]): LogLevel {
  const level = text ?? 'info';
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  problems.push(`--log-level: "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  return 'info';
}

/** --load-balancer-class; a problem when it is not a prefixed label-style name. */
export function parseLoadBalancerClass(text: string | undefined, problems: string[]): string {
  const loadBalancerClass = text ?? '';
  if (!LOAD_BALANCER_CLASS.test(loadBalancerClass)) {
    problems.push(
      `--load-balancer-class: "${loadBalancerClass}" must be a label-style name with a prefix, like ${DEFAULT_CLASS}`,
    );
  }
  return loadBalancerClass;
}

/** `[HOST]:PORT` of a listen flag; a problem (and `fallbackPort`) when it is not one. */
export function parseHostPort(
  text: string,
  problems: string[],
  fallbackPort = 8080,
): { host?: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    problems.push(`--health-address: "${text}" must be [HOST]:PORT (port 0 picks a free one)`);
    return { port: fallbackPort };
  }
  // No host: listen on every address of both families (IPv6-only clusters probe over IPv6).
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
  return host ? { host, port } : { port };
}
