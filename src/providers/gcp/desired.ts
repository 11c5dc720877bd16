// The load balancer a Service should have, as Compute resource specs. Pure: intent + settings +
// config, and from the observed state only what exists before the rest can be named (the address's
// IP once Compute has reserved it, the user's own address).
import type { LoadBalancerIntent } from '../../intent/types.ts';
import {
  type BackendServiceSpec,
  type FirewallSpec,
  type ForwardingRuleSpec,
  type GcpConfig,
  type GcpDesired,
  type GcpObserved,
  type GcpSettings,
  HEALTH_CHECK_SOURCE_RANGES,
  type HealthCheckSpec,
  type InstanceGroupSpec,
  KUBE_PROXY_HEALTH_PORT,
  type L4Protocol,
  MAX_FORWARDING_RULE_PORTS,
} from './model.ts';
import {
  addressName,
  backendName,
  clientFirewallName,
  instanceGroupName,
  serviceHealthCheckName,
  serviceHealthFirewallName,
  sharedHealthCheckName,
  sharedHealthFirewallName,
  urls,
} from './names.ts';
import { nodeInstances } from './nodes.ts';
import { firewallPorts } from './ports.ts';

/** Health-check timings: ingress-gce's L4 defaults (shared: interval 8 s, unhealthy 3; Local: 3 s, 2). */
const SHARED_CHECK = { checkIntervalSec: 8, timeoutSec: 1, healthyThreshold: 1, unhealthyThreshold: 3 };
const SERVICE_CHECK = { checkIntervalSec: 3, timeoutSec: 1, healthyThreshold: 1, unhealthyThreshold: 2 };
const FIREWALL_PRIORITY = 1000;

const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP'];

export function desiredLoadBalancer(
  intent: LoadBalancerIntent,
  settings: GcpSettings,
  config: GcpConfig,
  observed: GcpObserved,
): GcpDesired {
  const { project, region, cluster } = config;
  const service = intent.service;
  const network = urls.network(project, config.network);
  const internal = settings.scheme === 'INTERNAL';
  const subnetwork =
    internal && settings.subnetwork !== undefined
      ? urls.subnetwork(project, region, settings.subnetwork)
      : undefined;

  const requested = observed.requestedAddress;
  const userAddress =
    settings.requestedIp !== undefined && typeof requested === 'object' && !requested.owned
      ? { name: requested.name, ip: requested.ip }
      : undefined;
  const address =
    userAddress === undefined
      ? {
          name: addressName(cluster, service, settings.scheme),
          addressType: settings.scheme,
          // Internal: shareable, so a TCP and a UDP rule can both use the IP (now or after a port change).
          ...(internal
            ? { subnetwork, purpose: 'SHARED_LOADBALANCER_VIP' as const }
            : { networkTier: settings.networkTier }),
          ...(settings.requestedIp !== undefined ? { address: settings.requestedIp } : {}),
        }
      : undefined;
  const ip = userAddress?.ip ?? observed.addresses.find((a) => a.name === address?.name)?.address ?? '';

  const healthCheck: HealthCheckSpec & { shared: boolean } =
    settings.healthCheck.kind === 'shared'
      ? {
          name: sharedHealthCheckName(cluster),
          port: KUBE_PROXY_HEALTH_PORT,
          requestPath: '/healthz',
          ...SHARED_CHECK,
          shared: true,
        }
      : {
          name: serviceHealthCheckName(cluster, service),
          port: settings.healthCheck.port,
          requestPath: '/healthz',
          ...SERVICE_CHECK,
          shared: false,
        };

  const zones = nodeInstances(intent.nodes, project, region).byZone;
  const instanceGroups: InstanceGroupSpec[] = Object.keys(zones)
    .sort()
    .map((zone) => ({ name: instanceGroupName(cluster), zone, network, instances: zones[zone] ?? [] }));
  const groups = instanceGroups.map((g) => urls.instanceGroup(project, g.zone, g.name));

  const used = PROTOCOLS.filter((p) => settings.ports[p].length > 0);
  const backendServices: BackendServiceSpec[] = used.map((protocol) => ({
    name: backendName(cluster, service, settings.scheme, protocol),
    scheme: settings.scheme,
    protocol,
    sessionAffinity: settings.sessionAffinity,
    healthCheck: urls.healthCheck(project, region, healthCheck.name),
    groups,
    ...(internal ? { network } : {}),
  }));
  const forwardingRules: ForwardingRuleSpec[] = used.map((protocol) => {
    const ports = settings.ports[protocol];
    const name = backendName(cluster, service, settings.scheme, protocol);
    return {
      name,
      scheme: settings.scheme,
      protocol,
      ip,
      ports: ports.length <= MAX_FORWARDING_RULE_PORTS ? ports : 'all',
      backendService: urls.backendService(project, region, name),
      ...(internal
        ? { network, subnetwork, allowGlobalAccess: settings.allowGlobalAccess }
        : { networkTier: settings.networkTier }),
    };
  });

  const healthFirewall: FirewallSpec = {
    name: healthCheck.shared
      ? sharedHealthFirewallName(cluster)
      : serviceHealthFirewallName(cluster, service),
    network,
    sourceRanges: [...HEALTH_CHECK_SOURCE_RANGES],
    allowed: [{ protocol: 'tcp', ports: [String(healthCheck.port)] }],
    targetTags: [...config.nodeTags],
    priority: FIREWALL_PRIORITY,
  };
  const clientPorts = firewallPorts(settings.ports).allowed;
  const clientFirewall: FirewallSpec = {
    name: clientFirewallName(cluster, service),
    network,
    sourceRanges: [...settings.sourceRanges],
    destinationRanges: [ip],
    allowed: used.map((protocol) => ({
      protocol: protocol === 'TCP' ? 'tcp' : 'udp',
      ports: clientPorts[protocol],
    })),
    targetTags: [...config.nodeTags],
    priority: FIREWALL_PRIORITY,
  };

  return {
    ...(address ? { address } : {}),
    ...(userAddress ? { userAddress } : {}),
    healthCheck,
    backendServices,
    forwardingRules,
    firewalls: [clientFirewall, healthFirewall],
    instanceGroups,
  };
}
