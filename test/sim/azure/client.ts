// How a real @azure/arm-network client is pointed at the simulator: its endpoint, the simulator's
// credential, and an https.Agent that trusts the simulator's CA. A custom agent also makes the pipeline skip
// HTTPS_PROXY/HTTP_PROXY, so requests stay on loopback whatever the environment says.

import { Agent } from 'node:https';
import { NetworkManagementClient, type NetworkManagementClientOptionalParams } from '@azure/arm-network';
import type { TokenCredential } from '@azure/identity';

export interface SimulatorConnection {
  endpoint: string;
  caCertificate: string;
  subscriptionId: string;
  credential: TokenCredential;
}

/** Client options that talk to the simulator; add your own (retryOptions, ...) on top. */
export function simulatorClientOptions(
  sim: Pick<SimulatorConnection, 'endpoint' | 'caCertificate'>,
): NetworkManagementClientOptionalParams {
  return { endpoint: sim.endpoint, agent: new Agent({ ca: sim.caCertificate, keepAlive: true }) };
}

export function simulatorNetworkClient(
  sim: SimulatorConnection,
  options: NetworkManagementClientOptionalParams = {},
  subscriptionId = sim.subscriptionId,
): NetworkManagementClient {
  return new NetworkManagementClient(sim.credential, subscriptionId, {
    ...simulatorClientOptions(sim),
    ...options,
  });
}
