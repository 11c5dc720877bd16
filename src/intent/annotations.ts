// Annotation keys Sluice reads. Provider-neutral keys live under sluice.dev/; MetalLB's keys
// are honoured so manifests written for MetalLB work unchanged.

export const SLUICE = {
  addresses: 'sluice.dev/addresses',
  pool: 'sluice.dev/pool',
  internal: 'sluice.dev/internal',
  proxyProtocol: 'sluice.dev/proxy-protocol',
  tlsPorts: 'sluice.dev/tls-ports',
  tlsCertificate: 'sluice.dev/tls-certificate',
  tlsPolicy: 'sluice.dev/tls-policy',
  sourceRanges: 'sluice.dev/source-ranges',
  sharingKey: 'sluice.dev/sharing-key',
  sharingCrossNamespace: 'sluice.dev/sharing-cross-namespace',
} as const;

export const METALLB = {
  loadBalancerIPs: 'metallb.io/loadBalancerIPs',
  addressPool: 'metallb.io/address-pool',
  allowSharedIP: 'metallb.io/allow-shared-ip',
} as const;

/** MetalLB's old prefix: still read, with a DeprecatedAnnotation warning, as MetalLB does. */
export const METALLB_DEPRECATED_PREFIX = 'metallb.universe.tf/';
export const METALLB_PREFIX = 'metallb.io/';

/** The upstream annotation that predates spec.loadBalancerSourceRanges. */
export const SOURCE_RANGES_LEGACY = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** Splits a comma-separated annotation value, dropping blanks. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** Parses a boolean annotation; undefined when the value is not a boolean. */
export function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/**
 * The annotation key a Service used to ask for an address pool or a shared address (bare-metal
 * ideas that cloud providers refuse), so their errors name the key the user wrote.
 */
export function bareMetalRequestKey(
  annotations: Readonly<Record<string, string>>,
  kind: 'pool' | 'sharing',
): string {
  const sluiceKey = kind === 'pool' ? SLUICE.pool : SLUICE.sharingKey;
  const metallbKey = kind === 'pool' ? METALLB.addressPool : METALLB.allowSharedIP;
  const deprecatedKey = METALLB_DEPRECATED_PREFIX + metallbKey.slice(METALLB_PREFIX.length);
  const given = [sluiceKey, metallbKey, deprecatedKey].find((key) => (annotations[key]?.trim() ?? '') !== '');
  return given ?? sluiceKey;
}
