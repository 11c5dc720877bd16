// Test helpers for code that talks to the ARM simulator: a standard seed (one resource group, a VNet with a
// node subnet and an internal-frontend subnet, a cluster NSG), ID builders, small parameter builders for the
// SDK's LoadBalancer model, and a watcher of outgoing connections (to prove nothing leaves loopback).

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type {
  LoadBalancer,
  LoadBalancingRule,
  NetworkManagementClient,
  NetworkManagementClientOptionalParams,
  Probe,
} from '@azure/arm-network';
import { simulatorNetworkClient } from './client.ts';
import type { SimulatorSeed } from './seed.ts';
import { type AzureSimulator, type StartAzureSimulatorOptions, startAzureSimulator } from './simulator.ts';

export const LOCATION = 'eastus';
export const RG = 'sluice-rg';
/** The node subnet; its first node addresses are marked occupied. */
export const NODE_SUBNET = '10.10.0.0/24';
export const NODES = ['10.10.0.4', '10.10.0.5', '10.10.0.6'];
export const INTERNAL_SUBNET = '10.10.1.0/24';

export function standardSeed(): SimulatorSeed {
  return {
    resourceGroups: [{ name: RG, location: LOCATION }],
    networkSecurityGroups: [{ resourceGroup: RG, name: 'cluster-nsg' }],
    virtualNetworks: [
      {
        resourceGroup: RG,
        name: 'vnet',
        addressPrefixes: ['10.10.0.0/16'],
        subnets: [
          {
            name: 'nodes',
            addressPrefix: NODE_SUBNET,
            networkSecurityGroup: 'cluster-nsg',
            occupiedAddresses: NODES,
          },
          { name: 'internal', addressPrefix: INTERNAL_SUBNET },
        ],
      },
    ],
  };
}

/** Poll fast: the SDK's default interval is 2 s. */
export const FAST = { updateIntervalInMs: 10 } as const;

/** Retries without the SDK's default 0.8 s+ exponential waits (Retry-After still rules 429s). */
export const FAST_RETRIES: NetworkManagementClientOptionalParams = {
  retryOptions: { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 100 },
};

export interface TestSimulator {
  sim: AzureSimulator;
  client: NetworkManagementClient;
  ids: Ids;
}

export async function startTestSimulator(
  options: StartAzureSimulatorOptions = {},
  clientOptions: NetworkManagementClientOptionalParams = FAST_RETRIES,
): Promise<TestSimulator> {
  const sim = await startAzureSimulator({
    seed: standardSeed(),
    ...options,
    settings: { provisioningDelayMs: 30, ...(options.settings ?? {}) },
  });
  return { sim, client: simulatorNetworkClient(sim, clientOptions), ids: ids(sim.subscriptionId) };
}

export interface Ids {
  group: string;
  lb(name: string): string;
  frontend(lb: string, name: string): string;
  pool(lb: string, name: string): string;
  probe(lb: string, name: string): string;
  rule(lb: string, name: string): string;
  pip(name: string): string;
  nsg(name: string): string;
  vnet: string;
  subnet(name: string): string;
}

export function ids(subscriptionId: string, group = RG): Ids {
  const base = `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.Network`;
  const lb = (name: string) => `${base}/loadBalancers/${name}`;
  return {
    group: base,
    lb,
    frontend: (l, n) => `${lb(l)}/frontendIPConfigurations/${n}`,
    pool: (l, n) => `${lb(l)}/backendAddressPools/${n}`,
    probe: (l, n) => `${lb(l)}/probes/${n}`,
    rule: (l, n) => `${lb(l)}/loadBalancingRules/${n}`,
    pip: (n) => `${base}/publicIPAddresses/${n}`,
    nsg: (n) => `${base}/networkSecurityGroups/${n}`,
    vnet: `${base}/virtualNetworks/vnet`,
    subnet: (n) => `${base}/virtualNetworks/vnet/subnets/${n}`,
  };
}

/** A Standard public IP PUT body. */
export function publicIp(extra: Record<string, unknown> = {}) {
  return {
    location: LOCATION,
    sku: { name: 'Standard' },
    publicIPAllocationMethod: 'Static',
    ...extra,
  } as const;
}

/** The same public IP as it goes over the wire (ARM JSON nests properties), for raw requests. */
export function publicIpWire(properties: Record<string, unknown> = {}) {
  return {
    location: LOCATION,
    sku: { name: 'Standard' },
    properties: { publicIPAllocationMethod: 'Static', ...properties },
  };
}

export interface FrontendSpec {
  name: string;
  pip?: string;
  subnet?: string;
  ip?: string;
}

export interface LoadBalancerSpec {
  name: string;
  frontends: FrontendSpec[];
  /** One IP-based pool named "nodes" with these addresses (the seeded nodes by default). */
  nodes?: string[];
  /** One TCP rule and probe per entry: rule `<frontend>-TCP-<port>`, probe on the node port. */
  ports?: Array<{ frontend: string; port: number; nodePort?: number }>;
}

/** The SDK model of a Standard load balancer built the way Sluice's provider shapes one. */
export function loadBalancer(id: Ids, spec: LoadBalancerSpec): LoadBalancer {
  const probes: Probe[] = [];
  const rules: LoadBalancingRule[] = [];
  for (const { frontend, port, nodePort } of spec.ports ?? []) {
    const name = `${frontend}-TCP-${port}`;
    probes.push({
      name,
      protocol: 'Tcp',
      port: nodePort ?? 30000 + port,
      intervalInSeconds: 5,
      numberOfProbes: 2,
    });
    rules.push({
      name,
      frontendIPConfiguration: { id: id.frontend(spec.name, frontend) },
      backendAddressPool: { id: id.pool(spec.name, 'nodes') },
      probe: { id: id.probe(spec.name, name) },
      protocol: 'Tcp',
      frontendPort: port,
      backendPort: port,
      enableFloatingIP: true,
      enableTcpReset: true,
      idleTimeoutInMinutes: 4,
    });
  }
  return {
    location: LOCATION,
    sku: { name: 'Standard', tier: 'Regional' },
    frontendIPConfigurations: spec.frontends.map((fe) => ({
      name: fe.name,
      ...(fe.pip ? { publicIPAddress: { id: fe.pip } } : {}),
      ...(fe.subnet ? { subnet: { id: fe.subnet } } : {}),
      ...(fe.ip ? { privateIPAddress: fe.ip, privateIPAllocationMethod: 'Static' as const } : {}),
    })),
    backendAddressPools: [
      {
        name: 'nodes',
        loadBalancerBackendAddresses: (spec.nodes ?? NODES).map((ip, i) => ({
          name: `node-${i}`,
          ipAddress: ip,
          virtualNetwork: { id: id.vnet },
        })),
      },
    ],
    probes,
    loadBalancingRules: rules,
  };
}

/** What a failed SDK call carries (a RestError): HTTP status and ARM error code. */
export function restError(error: unknown): { statusCode?: number; code?: string; message: string } {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  return {
    ...(typeof e.statusCode === 'number' ? { statusCode: e.statusCode } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}

export interface OutboundConnection {
  /** The host name looked up, when the socket resolved one. */
  host?: string;
  /** The address a connection was attempted to. */
  address?: string;
  port?: number;
}

/**
 * Records every client socket this process opens (node's `net.client.socket` diagnostics channel): the names
 * it resolves and the addresses it tries. stop() returns what was seen.
 */
export function watchOutboundConnections(): { stop(): OutboundConnection[] } {
  const seen: OutboundConnection[] = [];
  const onSocket = (message: unknown) => {
    const socket = (message as { socket?: Socket }).socket;
    if (!socket) return;
    socket.on('lookup', (_error: Error | null, address: string, _family: number | string, host: string) => {
      seen.push({ host, address });
    });
    socket.on('connectionAttempt', (address: string, port: number) => {
      seen.push({ address, port });
    });
  };
  subscribe('net.client.socket', onSocket);
  return {
    stop() {
      unsubscribe('net.client.socket', onSocket);
      return seen;
    },
  };
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === 'localhost';
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * One HTTPS request to the simulator outside the SDK (for what the SDK hides: status codes, headers, raw
 * async-operation bodies). `path` may be a full URL from a header. Sends the simulator's token unless
 * `token` is given (null sends none).
 */
export async function armRequest(
  sim: Pick<AzureSimulator, 'endpoint' | 'caCertificate' | 'accessToken'>,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
): Promise<RawResponse> {
  const url = new URL(path, sim.endpoint);
  const token = options.token === undefined ? sim.accessToken : options.token;
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return await new Promise<RawResponse>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: sim.caCertificate,
        headers: {
          ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(options.headers ?? {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `error.code` of an ARM error body. */
export function errorCode(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}
