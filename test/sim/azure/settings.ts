// What can be tuned on a running simulator: Azure's limits, provisioning timing, and the address ranges it
// hands public IPs out of. Defaults are Azure's published figures for a Standard load balancer and an NSG.

export interface Limits {
  /** Frontend IP configurations per load balancer (Azure: 600). */
  frontendIPConfigurationsPerLoadBalancer: number;
  /** Load-balancing plus inbound NAT rules per load balancer (Azure: 1500). */
  rulesPerLoadBalancer: number;
  /** Health probes per load balancer (no published figure; the rule limit by default). */
  probesPerLoadBalancer: number;
  /** Outbound rules per load balancer (Azure: 600). */
  outboundRulesPerLoadBalancer: number;
  /** Backend addresses per backend pool (Azure: 5000). */
  backendAddressesPerPool: number;
  /** Load-balancing rules one backend address (a NIC) may be part of, over all load balancers (Azure: 300). */
  rulesPerBackendAddress: number;
  /** Security rules per network security group (Azure: 1000). */
  securityRulesPerGroup: number;
  /** Source and, separately, destination address prefixes over all rules of an NSG (Azure: 4000). */
  addressPrefixesPerSecurityGroup: number;
  /** Public IP addresses per subscription and region (Azure's default quota: 1000). */
  publicIpAddressesPerRegion: number;
}

export const AZURE_LIMITS: Readonly<Limits> = Object.freeze({
  frontendIPConfigurationsPerLoadBalancer: 600,
  rulesPerLoadBalancer: 1500,
  probesPerLoadBalancer: 1500,
  outboundRulesPerLoadBalancer: 600,
  backendAddressesPerPool: 5000,
  rulesPerBackendAddress: 300,
  securityRulesPerGroup: 1000,
  addressPrefixesPerSecurityGroup: 4000,
  publicIpAddressesPerRegion: 1000,
});

export interface Settings {
  /** How long a PUT or DELETE stays Updating/Deleting (InProgress) before it succeeds. */
  provisioningDelayMs: number;
  /** While true, no operation completes until released (sim.operations.release()). */
  holdOperations: boolean;
  /** Retry-After (seconds) on async-operation responses; real ARM sends 10. 0 leaves the header out. */
  pollRetryAfterSeconds: number;
  /** Added before every ARM response (not /_sim/). */
  latencyMs: number;
  /** Entries per page of list responses; more entries come through nextLink. */
  listPageSize: number;
  limits: Limits;
}

export const DEFAULT_SETTINGS: Readonly<Omit<Settings, 'limits'>> = Object.freeze({
  provisioningDelayMs: 100,
  holdOperations: false,
  pollRetryAfterSeconds: 0,
  latencyMs: 0,
  listPageSize: 100,
});

export type SettingsPatch = Partial<Omit<Settings, 'limits'>> & { limits?: Partial<Limits> };

/** Applies a patch after checking every value; returns a message when something is out of range. */
export function patchSettings(current: Settings, patch: SettingsPatch): Settings | { error: string } {
  const next: Settings = { ...current, limits: { ...current.limits } };
  const nonNegative = (key: string, value: unknown): string | undefined =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0
      ? undefined
      : `${key} must be a number >= 0`;
  for (const key of ['provisioningDelayMs', 'pollRetryAfterSeconds', 'latencyMs'] as const) {
    const value = patch[key];
    if (value === undefined) continue;
    const problem = nonNegative(key, value);
    if (problem) return { error: problem };
    next[key] = value;
  }
  if (patch.pollRetryAfterSeconds !== undefined && !Number.isInteger(patch.pollRetryAfterSeconds)) {
    return { error: 'pollRetryAfterSeconds must be a whole number of seconds' };
  }
  if (patch.listPageSize !== undefined) {
    if (!Number.isInteger(patch.listPageSize) || patch.listPageSize < 1)
      return { error: 'listPageSize must be >= 1' };
    next.listPageSize = patch.listPageSize;
  }
  if (patch.holdOperations !== undefined) {
    if (typeof patch.holdOperations !== 'boolean') return { error: 'holdOperations must be true or false' };
    next.holdOperations = patch.holdOperations;
  }
  for (const [key, value] of Object.entries(patch.limits ?? {})) {
    if (!(key in AZURE_LIMITS))
      return { error: `unknown limit ${key}; known: ${Object.keys(AZURE_LIMITS).join(', ')}` };
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      return { error: `limits.${key} must be a whole number >= 0` };
    }
    next.limits[key as keyof Limits] = value;
  }
  return next;
}
