// Pure: what the intent asks for that this provider's load balancer cannot do.
import { SLUICE } from '../intent/annotations.ts';
import type { LoadBalancerIntent, Problem } from '../intent/types.ts';
import type { Capabilities } from '../providers/provider.ts';

export function capabilityProblems(intent: LoadBalancerIntent, caps: Capabilities, provider: string): Problem[] {
  const problems: Problem[] = [];
  const unsupported = (field: string, what: string, severity: Problem['severity']): void => {
    problems.push({ reason: 'Unsupported', field, severity, message: `${what} is not supported by the ${provider} provider` });
  };
  if (intent.ports.some((p) => p.tls) && !caps.tls) unsupported(SLUICE.tlsCertificate, 'TLS termination', 'error');
  if (intent.proxyProtocol && !caps.proxyProtocol) unsupported(SLUICE.proxyProtocol, 'PROXY protocol', 'error');
  // An internal-only request is honoured by where the address comes from; the provider cannot
  // enforce it, so it is a warning rather than a refusal.
  if (intent.internal && !caps.internal) unsupported(SLUICE.internal, 'an internal-only load balancer', 'warning');
  for (const p of intent.ports) {
    if (!caps.protocols.includes(p.protocol)) unsupported(`spec.ports[${p.port}]`, `protocol ${p.protocol}`, 'error');
  }
  return problems;
}
