// A plain, valid LoadBalancerIntent for tests: one Service (shop/web) with one TCP port, the Cluster
// policy, IPv4 only, no annotations, no targets. Tests override what they are about.
import type { LoadBalancerIntent } from '../../src/intent/types.ts';

export function plainIntent(overrides: Partial<LoadBalancerIntent> = {}): LoadBalancerIntent {
  return {
    service: { namespace: 'shop', name: 'web', uid: 'uid-1' },
    internal: false,
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    proxyProtocol: false,
    trafficPolicy: 'Cluster',
    sourceRanges: [],
    requestedAddresses: [],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    labels: {},
    sessionAffinity: 'None',
    annotations: {},
    nodes: [],
    endpoints: [],
    ...overrides,
  };
}
