// The simulator's own controls over HTTPS under /_sim/, for a simulator run as its own process (the demo):
// the same operations as the in-process handle. JSON in, JSON out; bad input is a 400 saying what is wrong.
//
//   GET    /_sim/health                      {"ok":true}
//   GET    /_sim/info                        endpoint, subscriptionId, caCertificate, accessToken
//   GET    /_sim/state                       snapshot of every resource and operation
//   GET    /_sim/resource?id=<ARM ID>        one resource as GET returns it
//   POST   /_sim/reset                       back to the starting seed and settings
//   POST   /_sim/seed                        {resourceGroups, networkSecurityGroups, virtualNetworks, publicIPAddresses}
//   GET    /_sim/counters    DELETE /_sim/counters    GET /_sim/requests
//   GET    /_sim/faults      POST /_sim/faults (rule)  DELETE /_sim/faults  DELETE /_sim/faults/<id>
//   POST   /_sim/operation-failures          {count, code, message, methods, resourceTypes, subscriptionId}
//   PUT    /_sim/throttling                  {subscriptionId?, reads?, writes?, deletes?}   DELETE clears
//   GET    /_sim/settings    PATCH /_sim/settings
//   GET    /_sim/operations  POST /_sim/operations/complete

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isArmError } from './arm-errors.ts';
import type { FaultRule, OperationFailureRule, ThrottlingConfig, TokenBucket } from './faults.ts';
import { readBody, sendJson } from './http.ts';
import { isJsonObject, type JsonObject, type JsonValue, parseJson } from './json.ts';
import type { SimulatorSeed } from './seed.ts';
import type { SettingsPatch } from './settings.ts';
import type { AzureSimulator } from './simulator.ts';

class BadRequest extends Error {}

function bad(message: string): never {
  throw new BadRequest(message);
}

function object(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) bad(`${what} must be a JSON object`);
  return value;
}

function optionalString(o: JsonObject, key: string, what: string): string | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') bad(`${what}.${key} must be a string`);
  return value;
}

function requiredString(o: JsonObject, key: string, what: string): string {
  const value = optionalString(o, key, what);
  if (value === undefined || value === '') bad(`${what}.${key} is required`);
  return value;
}

function optionalNumber(o: JsonObject, key: string, what: string): number | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') bad(`${what}.${key} must be a number`);
  return value;
}

function optionalStrings(o: JsonObject, key: string, what: string): string[] | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    bad(`${what}.${key} must be a list of strings`);
  return value as string[];
}

function optionalStringMap(o: JsonObject, key: string, what: string): Record<string, string> | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    bad(`${what}.${key} must be an object of strings`);
  }
  return value as Record<string, string>;
}

function list(o: JsonObject, key: string, what: string): JsonObject[] {
  const value = o[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) bad(`${what}.${key} must be a list`);
  return value.map((item, i) => object(item, `${what}.${key}[${i}]`));
}

/** Drops undefined fields, so optional properties stay absent. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function parseSeed(value: JsonValue | undefined): SimulatorSeed {
  const seed = object(value, 'seed');
  const out: SimulatorSeed = {};
  const subscriptions = optionalStrings(seed, 'subscriptions', 'seed');
  if (subscriptions) out.subscriptions = subscriptions;
  out.resourceGroups = list(seed, 'resourceGroups', 'seed').map((g, i) => {
    const what = `seed.resourceGroups[${i}]`;
    return defined({
      subscriptionId: optionalString(g, 'subscriptionId', what),
      name: requiredString(g, 'name', what),
      location: requiredString(g, 'location', what),
    });
  });
  out.networkSecurityGroups = list(seed, 'networkSecurityGroups', 'seed').map((n, i) => {
    const what = `seed.networkSecurityGroups[${i}]`;
    return defined({
      subscriptionId: optionalString(n, 'subscriptionId', what),
      resourceGroup: requiredString(n, 'resourceGroup', what),
      name: requiredString(n, 'name', what),
      location: optionalString(n, 'location', what),
      securityRules: list(n, 'securityRules', what),
      tags: optionalStringMap(n, 'tags', what),
    });
  });
  out.virtualNetworks = list(seed, 'virtualNetworks', 'seed').map((v, i) => {
    const what = `seed.virtualNetworks[${i}]`;
    return defined({
      subscriptionId: optionalString(v, 'subscriptionId', what),
      resourceGroup: requiredString(v, 'resourceGroup', what),
      name: requiredString(v, 'name', what),
      location: optionalString(v, 'location', what),
      addressPrefixes:
        optionalStrings(v, 'addressPrefixes', what) ?? bad(`${what}.addressPrefixes is required`),
      tags: optionalStringMap(v, 'tags', what),
      subnets: list(v, 'subnets', what).map((s, j) => {
        const at = `${what}.subnets[${j}]`;
        return defined({
          name: requiredString(s, 'name', at),
          addressPrefix: optionalString(s, 'addressPrefix', at),
          addressPrefixes: optionalStrings(s, 'addressPrefixes', at),
          networkSecurityGroup: optionalString(s, 'networkSecurityGroup', at),
          occupiedAddresses: optionalStrings(s, 'occupiedAddresses', at),
        });
      }),
    });
  });
  out.publicIPAddresses = list(seed, 'publicIPAddresses', 'seed').map((p, i) => {
    const what = `seed.publicIPAddresses[${i}]`;
    const version = optionalString(p, 'version', what);
    if (version !== undefined && version !== 'IPv4' && version !== 'IPv6')
      bad(`${what}.version must be IPv4 or IPv6`);
    return defined({
      subscriptionId: optionalString(p, 'subscriptionId', what),
      resourceGroup: requiredString(p, 'resourceGroup', what),
      name: requiredString(p, 'name', what),
      location: optionalString(p, 'location', what),
      ipAddress: optionalString(p, 'ipAddress', what),
      version,
      domainNameLabel: optionalString(p, 'domainNameLabel', what),
      tags: optionalStringMap(p, 'tags', what),
    });
  });
  return out;
}

function parseFaultRule(value: JsonValue | undefined): FaultRule {
  const o = object(value, 'fault');
  const status = optionalNumber(o, 'status', 'fault');
  if (status === undefined) bad('fault.status is required');
  const when = optionalString(o, 'when', 'fault');
  if (when !== undefined && when !== 'before' && when !== 'after')
    bad("fault.when must be 'before' or 'after'");
  return defined({
    status,
    code: optionalString(o, 'code', 'fault'),
    message: optionalString(o, 'message', 'fault'),
    retryAfterSeconds: optionalNumber(o, 'retryAfterSeconds', 'fault'),
    nextCalls: optionalNumber(o, 'nextCalls', 'fault'),
    rate: optionalNumber(o, 'rate', 'fault'),
    when,
    subscriptionId: optionalString(o, 'subscriptionId', 'fault'),
    methods: optionalStrings(o, 'methods', 'fault'),
    resourceTypes: optionalStrings(o, 'resourceTypes', 'fault'),
  });
}

function parseOperationFailure(value: JsonValue | undefined): OperationFailureRule {
  const o = object(value, 'operation failure');
  return defined({
    count: optionalNumber(o, 'count', 'failure'),
    code: optionalString(o, 'code', 'failure'),
    message: optionalString(o, 'message', 'failure'),
    subscriptionId: optionalString(o, 'subscriptionId', 'failure'),
    methods: optionalStrings(o, 'methods', 'failure'),
    resourceTypes: optionalStrings(o, 'resourceTypes', 'failure'),
  });
}

function parseThrottling(value: JsonValue | undefined): {
  subscriptionId?: string;
  config: ThrottlingConfig;
} {
  const o = object(value, 'throttling');
  const bucket = (key: string): TokenBucket | undefined => {
    if (o[key] === undefined || o[key] === null) return undefined;
    const b = object(o[key], `throttling.${key}`);
    const capacity = optionalNumber(b, 'capacity', `throttling.${key}`);
    const refillPerSecond = optionalNumber(b, 'refillPerSecond', `throttling.${key}`);
    if (capacity === undefined || refillPerSecond === undefined)
      bad(`throttling.${key} needs capacity and refillPerSecond`);
    return { capacity, refillPerSecond };
  };
  for (const key of Object.keys(o)) {
    if (!['subscriptionId', 'reads', 'writes', 'deletes'].includes(key)) bad(`throttling.${key} is unknown`);
  }
  return defined({
    subscriptionId: optionalString(o, 'subscriptionId', 'throttling'),
    config: defined({ reads: bucket('reads'), writes: bucket('writes'), deletes: bucket('deletes') }),
  });
}

function parseSettingsPatch(value: JsonValue | undefined): SettingsPatch {
  const o = object(value, 'settings');
  const known = [
    'provisioningDelayMs',
    'holdOperations',
    'pollRetryAfterSeconds',
    'latencyMs',
    'listPageSize',
    'limits',
  ];
  for (const key of Object.keys(o))
    if (!known.includes(key)) bad(`settings.${key} is unknown; known: ${known.join(', ')}`);
  if (o.limits !== undefined && !isJsonObject(o.limits)) bad('settings.limits must be an object');
  return o as SettingsPatch;
}

async function jsonBody(req: IncomingMessage): Promise<JsonValue | undefined> {
  const text = await readBody(req);
  if (isArmError(text)) bad(text.message);
  if (text.trim() === '') return undefined;
  const value = parseJson(text);
  if (value === undefined) bad('the body is not valid JSON');
  return value;
}

export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  sim: AzureSimulator,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://simulator.invalid');
  const path = url.pathname.replace(/\/+$/, '');
  const method = (req.method ?? 'GET').toUpperCase();
  const ok = (body: unknown, status = 200) => sendJson(res, status, body);
  try {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /_sim/health':
        return ok({ ok: true });
      case 'GET /_sim/info':
        return ok({
          endpoint: sim.endpoint,
          subscriptionId: sim.subscriptionId,
          caCertificate: sim.caCertificate,
          accessToken: sim.accessToken,
        });
      case 'GET /_sim/state':
        return ok(sim.snapshot());
      case 'GET /_sim/resource': {
        const id = url.searchParams.get('id') ?? bad('give ?id=<ARM resource ID>');
        const resource = sim.resource(id);
        return resource
          ? ok(resource)
          : ok({ error: { code: 'NotFound', message: `${id} does not exist` } }, 404);
      }
      case 'POST /_sim/reset':
        sim.reset();
        return ok({ reset: true });
      case 'POST /_sim/seed':
        sim.seed.apply(parseSeed(await jsonBody(req)));
        return ok({ seeded: true });
      case 'GET /_sim/counters':
        return ok(sim.counters());
      case 'DELETE /_sim/counters':
        sim.resetCounters();
        return ok({ reset: true });
      case 'GET /_sim/requests':
        return ok(sim.requestLog());
      case 'GET /_sim/faults':
        return ok(sim.faults.list());
      case 'POST /_sim/faults':
        return ok(sim.faults.add(parseFaultRule(await jsonBody(req))), 201);
      case 'DELETE /_sim/faults':
        sim.faults.clear();
        return ok({ cleared: true });
      case 'POST /_sim/operation-failures':
        sim.faults.failOperations(parseOperationFailure(await jsonBody(req)));
        return ok({ queued: true }, 201);
      case 'PUT /_sim/throttling': {
        const { subscriptionId, config } = parseThrottling(await jsonBody(req));
        sim.faults.throttle(subscriptionId, config);
        return ok({ throttling: config });
      }
      case 'DELETE /_sim/throttling':
        sim.faults.throttle(url.searchParams.get('subscriptionId') ?? undefined, undefined);
        return ok({ throttling: null });
      case 'GET /_sim/settings':
        return ok(sim.settings());
      case 'PATCH /_sim/settings':
        return ok(sim.updateSettings(parseSettingsPatch(await jsonBody(req))));
      case 'GET /_sim/operations':
        return ok(sim.operations.list());
      case 'POST /_sim/operations/complete':
        sim.operations.completeAll();
        return ok({ completed: true });
    }
    const faultId = /^DELETE \/_sim\/faults\/(\d+)$/.exec(route)?.[1];
    if (faultId) {
      return sim.faults.remove(Number(faultId))
        ? ok({ removed: Number(faultId) })
        : ok({ error: { code: 'NotFound', message: `no fault ${faultId}` } }, 404);
    }
    return ok({ error: { code: 'NotFound', message: `no simulator control at ${method} ${path}` } }, 404);
  } catch (error) {
    // Bad input (and the handle's own checks, which throw Error with a message for the caller) is a 400;
    // a TypeError or the like is a simulator bug and goes to the server's 500 handler.
    if (
      error instanceof BadRequest ||
      (error instanceof Error && !(error instanceof TypeError) && !(error instanceof ReferenceError))
    ) {
      return ok({ error: { code: 'InvalidSimulatorRequest', message: error.message } }, 400);
    }
    throw error;
  }
}
