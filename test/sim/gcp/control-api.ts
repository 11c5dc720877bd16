// The simulator's own HTTP API under /_sim/, for a simulator running as its own process (the demo,
// tests that start main.ts). Same controls as the in-process handle. Answers {"error": {"message"}}
// with 400 on bad input and 404 on unknown paths.
import type { FaultsConfig } from './faults.ts';
import { isRecord, type Json } from './json.ts';
import type { OperationTiming } from './operations.ts';
import type { QuotaSettings } from './quotas.ts';
import { INSTANCE_STATUSES, type InstanceSeed, type InstanceStatus } from './resources/instances.ts';
import type { NetworkSeed, SubnetworkSeed } from './resources/networks.ts';
import type { ComputeSimulator } from './simulator.ts';

export interface ControlResponse {
  status: number;
  body: unknown;
}

export interface Endpoint {
  url: string;
  apiEndpoint: string;
  port: number;
  protocol: 'http';
}

class BadInput extends Error {}

function text(value: Json, key: string, where: string, required = true): string | undefined {
  const field = value[key];
  if (field === undefined && !required) return undefined;
  if (typeof field !== 'string' || field === '')
    throw new BadInput(`${where}.${key} must be a non-empty string`);
  return field;
}

function texts(value: Json, key: string, where: string): string[] | undefined {
  const field = value[key];
  if (field === undefined) return undefined;
  if (!Array.isArray(field) || !field.every((entry) => typeof entry === 'string')) {
    throw new BadInput(`${where}.${key} must be a list of strings`);
  }
  return field;
}

function object(value: unknown, where: string): Json {
  if (!isRecord(value)) throw new BadInput(`${where} must be a JSON object`);
  return value;
}

function readNetworkSeed(value: unknown): NetworkSeed {
  const body = object(value, 'network');
  const seed: NetworkSeed = { name: text(body, 'name', 'network') ?? '' };
  if (body.autoCreateSubnetworks !== undefined) {
    if (typeof body.autoCreateSubnetworks !== 'boolean')
      throw new BadInput('network.autoCreateSubnetworks must be a boolean');
    seed.autoCreateSubnetworks = body.autoCreateSubnetworks;
  }
  if (body.mtu !== undefined) {
    if (typeof body.mtu !== 'number') throw new BadInput('network.mtu must be a number');
    seed.mtu = body.mtu;
  }
  const description = text(body, 'description', 'network', false);
  if (description) seed.description = description;
  return seed;
}

function readSubnetworkSeed(value: unknown): SubnetworkSeed {
  const body = object(value, 'subnetwork');
  const seed: SubnetworkSeed = {
    name: text(body, 'name', 'subnetwork') ?? '',
    region: text(body, 'region', 'subnetwork') ?? '',
    network: text(body, 'network', 'subnetwork') ?? '',
    ipCidrRange: text(body, 'ipCidrRange', 'subnetwork') ?? '',
  };
  const description = text(body, 'description', 'subnetwork', false);
  if (description) seed.description = description;
  return seed;
}

function readStatus(value: unknown, where: string): InstanceStatus {
  if (typeof value !== 'string' || !(INSTANCE_STATUSES as readonly string[]).includes(value)) {
    throw new BadInput(`${where} must be one of ${INSTANCE_STATUSES.join(', ')}`);
  }
  return value as InstanceStatus;
}

function readInstanceSeed(value: unknown, where: string): InstanceSeed {
  const body = object(value, where);
  const seed: InstanceSeed = { zone: text(body, 'zone', where) ?? '', name: text(body, 'name', where) ?? '' };
  for (const key of ['network', 'subnetwork', 'networkIP'] as const) {
    const field = text(body, key, where, false);
    if (field !== undefined) seed[key] = field;
  }
  const tags = texts(body, 'tags', where);
  if (tags) seed.tags = tags;
  const accounts = texts(body, 'serviceAccounts', where);
  if (accounts) seed.serviceAccounts = accounts;
  if (body.labels !== undefined) {
    const labels = object(body.labels, `${where}.labels`);
    if (!Object.values(labels).every((label) => typeof label === 'string')) {
      throw new BadInput(`${where}.labels values must be strings`);
    }
    seed.labels = labels as Record<string, string>;
  }
  if (body.status !== undefined) seed.status = readStatus(body.status, `${where}.status`);
  return seed;
}

function readTiming(value: unknown): Partial<OperationTiming> {
  const body = object(value, 'operations');
  const timing: Partial<OperationTiming> = {};
  for (const key of ['pendingMs', 'runningMs', 'waitTimeoutMs'] as const) {
    if (body[key] === undefined) continue;
    if (typeof body[key] !== 'number') throw new BadInput(`operations.${key} must be a number`);
    timing[key] = body[key];
  }
  return timing;
}

function ok(body: unknown = { ok: true }): ControlResponse {
  return { status: 200, body };
}

/** `segments`: the path below /_sim/, URL-decoded. */
export function handleControl(
  sim: ComputeSimulator,
  endpoint: Endpoint,
  method: string,
  segments: readonly string[],
  query: URLSearchParams,
  body: unknown,
): ControlResponse {
  const route = `${method} ${segments.join('/')}`;
  try {
    const [first, project, third, zone, fifth, name, seventh] = segments;
    if (route === 'GET endpoint') return ok(endpoint);
    if (route === 'GET state') return ok(sim.snapshot(query.get('project') ?? undefined));
    if (route === 'GET counters') return ok({ counters: sim.counters(), faultsFired: sim.faultsFired() });
    if (route === 'GET calls') return ok(sim.calls());
    if (route === 'POST reset') {
      sim.reset();
      return ok();
    }
    if (route === 'GET faults') return ok(sim.faults());
    if (route === 'PUT faults') {
      sim.setFaults(object(body ?? {}, 'faults') as FaultsConfig);
      return ok(sim.faults());
    }
    if (route === 'GET quotas') return ok(sim.quotas());
    if (route === 'PUT quotas') {
      sim.setQuotas(object(body ?? {}, 'quotas') as QuotaSettings);
      return ok(sim.quotas());
    }
    if (route === 'GET operations') return ok(sim.operationTiming());
    if (route === 'PUT operations') {
      sim.setOperationTiming(readTiming(body ?? {}));
      return ok(sim.operationTiming());
    }
    if (route === 'POST operations/hold') {
      sim.holdOperations();
      return ok(sim.operationTiming());
    }
    if (route === 'POST operations/release') {
      sim.releaseOperations();
      return ok(sim.operationTiming());
    }
    if (first === 'projects' && project) {
      if (method === 'POST' && third === 'networks' && segments.length === 3) {
        return ok(sim.seedNetwork(project, readNetworkSeed(body)));
      }
      if (method === 'POST' && third === 'subnetworks' && segments.length === 3) {
        return ok(sim.seedSubnetwork(project, readSubnetworkSeed(body)));
      }
      if (method === 'POST' && third === 'instances' && segments.length === 3) {
        const list = isRecord(body) && Array.isArray(body.instances) ? body.instances : [body];
        return ok(
          sim.seedInstances(
            project,
            list.map((entry, index) => readInstanceSeed(entry, `instances[${index}]`)),
          ),
        );
      }
      if (third === 'zones' && zone && fifth === 'instances' && name) {
        if (method === 'DELETE' && segments.length === 6) {
          if (!sim.removeInstance(project, zone, name)) {
            return { status: 404, body: { error: { message: `no instance ${name} in ${project}/${zone}` } } };
          }
          return ok();
        }
        if (method === 'PUT' && seventh === 'status' && segments.length === 7) {
          sim.setInstanceStatus(project, zone, name, readStatus(object(body, 'body').status, 'status'));
          return ok();
        }
      }
    }
    return {
      status: 404,
      body: { error: { message: `gcp-sim has no control method ${method} /_sim/${segments.join('/')}` } },
    };
  } catch (error) {
    if (error instanceof Error) return { status: 400, body: { error: { message: error.message } } };
    throw error;
  }
}
