// Flags and environment → one validated SpeakerConfig for `sluice speaker`. Flags win over environment
// variables (SLUICE_<FLAG_IN_CAPS>), which win over defaults. Every problem is reported at once.
import { readFileSync } from 'node:fs';
import { LEASE_PREFIX } from '../speaker/heartbeat-view.ts';
import {
  ConfigError,
  DEFAULT_CLASS,
  type LogLevel,
  parseBool,
  parseHostPort,
  parseLoadBalancerClass,
  parseLogLevel,
  readFlags,
} from './config.ts';

export interface SpeakerConfig {
  /** The Node this speaker runs on (its heartbeat Lease is `sluice-speaker-<nodeName>`). */
  nodeName: string;
  /** Where the heartbeat Leases live. */
  namespace: string;
  kubeconfig?: string;
  loadBalancerClass: string;
  manageUnclassed: boolean;
  /** `host` undefined: every address of both families. */
  healthAddress: { host?: string; port: number };
  logLevel: LogLevel;
  heartbeat: {
    /** leaseDurationSeconds of the heartbeat Lease: how long others wait before taking over. */
    durationMs: number;
    /** How often the Lease is renewed. */
    intervalMs: number;
  };
}

/** The in-cluster namespace file, read when neither --namespace nor SLUICE_NAMESPACE is given. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const FLAGS = {
  'node-name': { type: 'string' },
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  'load-balancer-class': { type: 'string', default: DEFAULT_CLASS },
  'manage-unclassed': { type: 'string', default: 'false' },
  'health-address': { type: 'string', default: ':7473' },
  'log-level': { type: 'string', default: 'info' },
  'heartbeat-duration': { type: 'string', default: '6' },
  'heartbeat-interval': { type: 'string', default: '2' },
} as const;

type FlagName = keyof typeof FLAGS;

const HELP: Record<FlagName, string> = {
  'node-name': 'the Node this speaker runs on (required; the chart passes spec.nodeName)',
  namespace: 'namespace of the heartbeat Leases (default: the pod namespace from the service account)',
  kubeconfig: 'kubeconfig file (default: in-cluster configuration, then ~/.kube/config)',
  'load-balancer-class': 'the loadBalancerClass whose Services are announced',
  'manage-unclassed': 'also announce Services that name no loadBalancerClass (true|false)',
  'health-address': '[HOST]:PORT for /healthz, /readyz and /metrics (port 0 picks a free one)',
  'log-level': 'trace, debug, info, warn or error',
  'heartbeat-duration':
    'seconds without a heartbeat before other speakers take this node’s addresses (whole seconds, ≥ 3)',
  'heartbeat-interval':
    'seconds between heartbeat renewals (≥ 0.5; ⌊duration − interval⌋ ≥ interval + 1 and duration ≥ interval + 3)',
};

/** Flags with their defaults, for `sluice speaker --help`. */
export function speakerFlagHelp(): string {
  return Object.entries(FLAGS)
    .map(
      ([name, f]) =>
        `  --${name}${'default' in f ? ` (default ${f.default})` : ''}\n      ${HELP[name as FlagName]}`,
    )
    .join('\n');
}

// A DNS subdomain, short enough that `sluice-speaker-` + it is still a valid object name.
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * `readNamespaceFile` returns the in-cluster namespace, or undefined when there is none (tests pass their
 * own). Throws ConfigError listing every problem; parseArgs errors (unknown flag) carry a `code`.
 */
export function loadSpeakerConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  readNamespaceFile: () => string | undefined = readServiceAccountNamespace,
): SpeakerConfig {
  const get = readFlags(argv, env, FLAGS);
  const problems: string[] = [];

  const nodeName = get('node-name') ?? '';
  if (nodeName === '') {
    problems.push('--node-name (or SLUICE_NODE_NAME) is required: the name of the Node this speaker runs on');
  } else if (!NODE_NAME.test(nodeName) || LEASE_PREFIX.length + nodeName.length > 253) {
    problems.push(
      `--node-name: "${nodeName}" is not a valid Node name (a lower-case DNS subdomain of at most ${253 - LEASE_PREFIX.length} characters)`,
    );
  }

  let namespace = get('namespace');
  if (namespace === undefined || namespace === '') namespace = readNamespaceFile()?.trim();
  if (namespace === undefined || namespace === '') {
    problems.push(
      `--namespace (or SLUICE_NAMESPACE) is required outside a pod: no ${SERVICE_ACCOUNT_NAMESPACE_FILE} to read it from`,
    );
    namespace = '';
  } else if (!NAMESPACE.test(namespace) || namespace.length > 63) {
    problems.push(`--namespace: "${namespace}" is not a valid namespace name`);
  }

  const loadBalancerClass = parseLoadBalancerClass(get('load-balancer-class'), problems);
  const manageUnclassed = parseBool('manage-unclassed', get('manage-unclassed'), problems);
  const logLevel = parseLogLevel(get('log-level'), problems);
  const healthAddress = parseHostPort(get('health-address') ?? '', problems, 7473);

  // The Lease stores whole seconds; the interval may be fractional.
  const durationText = get('heartbeat-duration') ?? '';
  const duration = Number(durationText);
  const durationOk =
    durationText.trim() !== '' && Number.isInteger(duration) && duration >= 3 && duration <= 300;
  if (!durationOk) {
    problems.push(`--heartbeat-duration: "${durationText}" must be a whole number of seconds from 3 to 300`);
  }
  const intervalText = get('heartbeat-interval') ?? '';
  const interval = Number(intervalText);
  const intervalOk = intervalText.trim() !== '' && Number.isFinite(interval) && interval >= 0.5;
  if (!intervalOk) problems.push(`--heartbeat-interval: "${intervalText}" must be a number of seconds ≥ 0.5`);
  // An announced address lives in the kernel for min(⌊D − R⌋, D − 2) whole seconds after a renewal (see
  // fence.ts); that must outlast the next renewal, even one that comes a second late.
  if (
    durationOk &&
    intervalOk &&
    (Math.floor(duration - interval) < interval + 1 || duration < interval + 3)
  ) {
    problems.push(
      `--heartbeat-duration ${duration} and --heartbeat-interval ${interval} give an announced address too short a life: it must outlive the next renewal by a second (⌊duration − interval⌋ ≥ interval + 1 and duration ≥ interval + 3); for example 6 and 2 (the defaults), or 4 and 1`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeName,
    namespace,
    ...(get('kubeconfig') ? { kubeconfig: get('kubeconfig') } : {}),
    loadBalancerClass,
    manageUnclassed,
    healthAddress,
    logLevel,
    heartbeat: { durationMs: duration * 1000, intervalMs: Math.round(interval * 1000) },
  };
}

function readServiceAccountNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8');
  } catch {
    return undefined;
  }
}
