// Pure: what the intent asks for that this provider's load balancer cannot do.
import { SLUICE } from '../intent/annotations.ts';
import type { LoadBalancerIntent, Problem } from '../intent/types.ts';
import type { Capabilities } from '../providers/provider.ts';

export function capabilityProblems(
  intent: LoadBalancerIntent,
  caps: Capabilities,
  provider: string,
): Problem[] {
  const problems: Problem[] = [];
  const unsupported = (field: string, what: string, severity: Problem['severity']): void => {
    problems.push({
      reason: 'Unsupported',
      field,
      severity,
      message: `${what} is not supported by the ${provider} provider`,
    });
  };
  if (intent.ports.some((p) => p.tls) && !caps.tls)
    unsupported(SLUICE.tlsCertificate, 'TLS termination', 'error');
  if (intent.proxyProtocol && !caps.proxyProtocol)
    unsupported(SLUICE.proxyProtocol, 'PROXY protocol', 'error');
  // An internal-only request is honoured by where the address comes from; the provider cannot
  // enforce it, so it is a warning rather than a refusal.
  if (intent.internal && !caps.internal)
    unsupported(SLUICE.internal, 'an internal-only load balancer', 'warning');
  // Source ranges are a security boundary: refuse rather than publish an address open to all.
  if (intent.sourceRanges.length > 0 && caps.sourceRanges === 'none') {
    unsupported('spec.loadBalancerSourceRanges', 'restricting client source ranges', 'error');
  }
  const field = intent.sourceRangesField ?? 'spec.loadBalancerSourceRanges';
  if (
    intent.sourceRanges.length > 0 &&
    caps.sourceRanges === 'spec-only' &&
    field !== 'spec.loadBalancerSourceRanges'
  ) {
    problems.push({
      reason: 'Unsupported',
      field,
      severity: 'error',
      message: `source ranges from this annotation are not enforced by the ${provider} provider (kube-proxy reads only spec.loadBalancerSourceRanges); move them there`,
    });
  }
  // intent.ports is spec.ports in order, so the index names the field.
  intent.ports.forEach((p, i) => {
    if (!caps.protocols.includes(p.protocol)) {
      unsupported(`spec.ports[${i}]`, `protocol ${p.protocol} (port ${p.port})`, 'error');
    }
  });
  return problems;
}
