// How the real @google-cloud/compute clients talk to the simulator: the REST transport (the
// clients' default, "fallback"), the simulator's host and port over plain http, and an auth client
// that adds no credentials and never looks for any (no Application Default Credentials, no
// metadata server): google-auth-library's PassThroughClient, the one the SDK itself depends on.
import {
  AddressesClient,
  FirewallsClient,
  ForwardingRulesClient,
  GlobalOperationsClient,
  InstanceGroupsClient,
  InstancesClient,
  NetworksClient,
  RegionBackendServicesClient,
  RegionHealthChecksClient,
  RegionOperationsClient,
  SubnetworksClient,
  ZoneOperationsClient,
} from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';

export interface SimulatorEndpoint {
  apiEndpoint: string;
  port: number;
  protocol: 'http';
}

/** Constructor options for any @google-cloud/compute v1 client. */
export function simulatorClientOptions(endpoint: SimulatorEndpoint): {
  apiEndpoint: string;
  port: number;
  protocol: 'http';
  fallback: true;
  authClient: PassThroughClient;
} {
  return {
    apiEndpoint: endpoint.apiEndpoint,
    port: endpoint.port,
    protocol: endpoint.protocol,
    fallback: true,
    authClient: new PassThroughClient(),
  };
}

export interface ComputeClients {
  forwardingRules: ForwardingRulesClient;
  backendServices: RegionBackendServicesClient;
  healthChecks: RegionHealthChecksClient;
  instanceGroups: InstanceGroupsClient;
  instances: InstancesClient;
  addresses: AddressesClient;
  firewalls: FirewallsClient;
  networks: NetworksClient;
  subnetworks: SubnetworksClient;
  regionOperations: RegionOperationsClient;
  zoneOperations: ZoneOperationsClient;
  globalOperations: GlobalOperationsClient;
  close(): Promise<void>;
}

/** Every client the L4 passthrough load balancer needs, pointed at the simulator. */
export function computeClients(endpoint: SimulatorEndpoint): ComputeClients {
  const options = () => simulatorClientOptions(endpoint);
  const clients = {
    forwardingRules: new ForwardingRulesClient(options()),
    backendServices: new RegionBackendServicesClient(options()),
    healthChecks: new RegionHealthChecksClient(options()),
    instanceGroups: new InstanceGroupsClient(options()),
    instances: new InstancesClient(options()),
    addresses: new AddressesClient(options()),
    firewalls: new FirewallsClient(options()),
    networks: new NetworksClient(options()),
    subnetworks: new SubnetworksClient(options()),
    regionOperations: new RegionOperationsClient(options()),
    zoneOperations: new ZoneOperationsClient(options()),
    globalOperations: new GlobalOperationsClient(options()),
  };
  return {
    ...clients,
    close: async () => {
      await Promise.all(Object.values(clients).map((client) => client.close()));
    },
  };
}
