// startAzureSimulator(): an HTTPS server on loopback speaking Azure Resource Manager for Microsoft.Network
// load balancers, public IPs, network security groups and (seeded) virtual networks, so that the real
// @azure/arm-network client talks to it with only its endpoint, credential and TLS trust changed. Returns a
// handle to inspect and steer it: state snapshots, seeding, faults, settings, counters, reset, stop. The
// same controls are served over HTTPS under /_sim/ for a simulator run as its own process (main.ts).

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type AddressRange, type Family, parsePrefix } from './addresses.ts';
import { errorBody } from './arm-errors.ts';
import { handleArm } from './arm-handler.ts';
import { resourceId, type TopLevelType } from './arm-ids.ts';
import { handleControl } from './control-api.ts';
import { CallCounters, type CounterSnapshot, type LoggedRequest } from './counters.ts';
import { type SimulatorCredential, simulatorCredential } from './credential.ts';
import { entraRoute, handleEntra } from './entra.ts';
import {
  checkFaultRule,
  checkOperationFailure,
  checkThrottling,
  type FaultRule,
  Faults,
  type FaultView,
  type OperationFailureRule,
  type ThrottlingConfig,
} from './faults.ts';
import { sendJson } from './http.ts';
import type { JsonObject } from './json.ts';
import { NetworkService } from './network-service.ts';
import { OperationBook } from './operations.ts';
import type { WriteContext } from './resource-common.ts';
import {
  applySeed,
  type PublicIpSeed,
  type ResourceGroupSeed,
  type SecurityGroupSeed,
  type SeedTarget,
  type SimulatorSeed,
  seedPublicIp,
  seedResourceGroup,
  seedSecurityGroup,
  seedVirtualNetwork,
  type VirtualNetworkSeed,
} from './seed.ts';
import {
  AZURE_LIMITS,
  DEFAULT_SETTINGS,
  patchSettings,
  type Settings,
  type SettingsPatch,
} from './settings.ts';
import { SimStore } from './store.ts';
import { createServerCertificate } from './tls.ts';

export interface StartAzureSimulatorOptions {
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The subscription the handle and clients use by default. */
  subscriptionId?: string;
  seed?: SimulatorSeed;
  settings?: SettingsPatch;
  /** CIDRs public IPv4 addresses come from. Default 198.18.0.0/15 (RFC 2544's benchmarking range). */
  publicIPv4Ranges?: string[];
  /** CIDRs public IPv6 addresses come from. Default 2001:db8:5a1c::/64 (documentation range). */
  publicIPv6Ranges?: string[];
  /** The bearer token ARM requests must carry. Default: a random one, given to the handle's credential. */
  accessToken?: string;
}

export interface OperationView {
  id: string;
  kind: string;
  method: 'PUT' | 'DELETE';
  resourceId: string;
  targetId: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  error?: { code: string; message: string };
}

export interface SimulatorSnapshot {
  subscriptions: Array<{
    id: string;
    resourceGroups: Array<{ name: string; location: string } & Record<TopLevelType, JsonObject[]>>;
  }>;
  operations: OperationView[];
}

export interface AzureSimulator {
  /** https://127.0.0.1:PORT: the client's `endpoint`. */
  readonly endpoint: string;
  readonly subscriptionId: string;
  /** PEM of the CA that signed the server certificate: give it to the client's https.Agent as `ca`. */
  readonly caCertificate: string;
  readonly accessToken: string;
  /** A TokenCredential for this simulator (no Azure account, no network). */
  readonly credential: SimulatorCredential;
  readonly seed: {
    apply(seed: SimulatorSeed): void;
    resourceGroup(seed: ResourceGroupSeed): void;
    virtualNetwork(seed: VirtualNetworkSeed): JsonObject;
    publicIPAddress(seed: PublicIpSeed): JsonObject;
    networkSecurityGroup(seed: SecurityGroupSeed): JsonObject;
  };
  readonly faults: {
    add(rule: FaultRule): FaultView;
    list(): FaultView[];
    remove(id: number): boolean;
    /** The next `count` operations that match fail to provision (status Failed, resource Failed). */
    failOperations(rule: OperationFailureRule): void;
    /** ARM's token buckets for a subscription (undefined: every subscription); undefined config removes. */
    throttle(subscriptionId: string | undefined, config: ThrottlingConfig | undefined): void;
    clear(): void;
  };
  readonly operations: {
    list(): OperationView[];
    /** Finishes every operation in progress now (also when settings hold them). */
    completeAll(): void;
  };
  settings(): Settings;
  updateSettings(patch: SettingsPatch): Settings;
  /** Every resource as GET returns it, by subscription and resource group, and every operation. */
  snapshot(): SimulatorSnapshot;
  /** One resource as GET returns it, by ID. */
  resource(id: string): JsonObject | undefined;
  counters(): CounterSnapshot;
  resetCounters(): void;
  requestLog(): LoggedRequest[];
  /** Back to the starting seed and settings: resources, operations, faults and counters forgotten. */
  reset(): void;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const DEFAULT_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

function parseRanges(texts: string[], family: Family): AddressRange[] {
  return texts.map((text) => {
    const prefix = parsePrefix(text);
    if ('error' in prefix) throw new Error(`public IP range: ${prefix.error}`);
    if (prefix.family !== family) throw new Error(`public IP range ${text} is not ${family}`);
    return prefix;
  });
}

function initialSettings(patch: SettingsPatch | undefined): Settings {
  const base: Settings = { ...DEFAULT_SETTINGS, limits: { ...AZURE_LIMITS } };
  if (!patch) return base;
  const patched = patchSettings(base, patch);
  if ('error' in patched) throw new Error(`simulator settings: ${patched.error}`);
  return patched;
}

export async function startAzureSimulator(options: StartAzureSimulatorOptions = {}): Promise<AzureSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the ARM simulator listens on loopback only, not ${host}`);
  const subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION;
  const accessToken = options.accessToken ?? `sluice-arm-simulator.${randomUUID()}`;
  const publicRanges: Record<Family, AddressRange[]> = {
    IPv4: parseRanges(options.publicIPv4Ranges ?? ['198.18.0.0/15'], 'IPv4'),
    IPv6: parseRanges(options.publicIPv6Ranges ?? ['2001:db8:5a1c::/64'], 'IPv6'),
  };
  const startSettings = initialSettings(options.settings);
  const certificate = await createServerCertificate();
  let settings = structuredClone(startSettings);
  let endpoint = '';

  const store = new SimStore();
  const operations = new OperationBook();
  const faults = new Faults();
  const counters = new CallCounters();
  const service = new NetworkService({
    store,
    operations,
    faults,
    settings: () => settings,
    endpoint: () => endpoint,
    publicRanges,
  });
  const seedTarget: SeedTarget = {
    store,
    defaultSubscriptionId: subscriptionId,
    context(type, sub, resourceGroup, name): WriteContext {
      const id = resourceId(sub, resourceGroup, type, name);
      const existing = store.get(id);
      return {
        store,
        limits: settings.limits,
        subscriptionId: sub,
        resourceGroup,
        name,
        id,
        existing,
        publicRanges,
      };
    },
  };
  const initialSeed = options.seed ?? {};
  const settle = () => service.settle(Date.now());
  const startFresh = () => {
    store.clear();
    operations.clear();
    faults.clear();
    counters.reset();
    settings = structuredClone(startSettings);
    applySeed(seedTarget, initialSeed);
  };
  startFresh();

  const operationView = (): OperationView[] =>
    operations.list().map((op) => {
      const view: OperationView = {
        id: op.id,
        kind: op.kind,
        method: op.method,
        resourceId: op.resourceId,
        targetId: op.targetId,
        status: op.status,
        startedAt: new Date(op.startedAt).toISOString(),
      };
      if (op.endedAt !== undefined) view.endedAt = new Date(op.endedAt).toISOString();
      if (op.error) view.error = { code: op.error.code, message: op.error.message };
      return view;
    });

  const handle: AzureSimulator = {
    get endpoint() {
      return endpoint;
    },
    subscriptionId,
    caCertificate: certificate.caCertificate,
    accessToken,
    credential: simulatorCredential(accessToken),
    seed: {
      apply: (seed) => applySeed(seedTarget, seed),
      resourceGroup: (seed) => seedResourceGroup(seedTarget, seed),
      virtualNetwork: (seed) => service.render(seedVirtualNetwork(seedTarget, seed)),
      publicIPAddress: (seed) => service.render(seedPublicIp(seedTarget, seed)),
      networkSecurityGroup: (seed) => service.render(seedSecurityGroup(seedTarget, seed)),
    },
    faults: {
      add(rule) {
        const problem = checkFaultRule(rule);
        if (problem) throw new Error(`fault rule: ${problem}`);
        return faults.add(rule);
      },
      list: () => faults.list(),
      remove: (id) => faults.remove(id),
      failOperations(rule) {
        const problem = checkOperationFailure(rule);
        if (problem) throw new Error(`operation failure rule: ${problem}`);
        faults.failOperations(rule);
      },
      throttle(sub, config) {
        const problem = config ? checkThrottling(config) : undefined;
        if (problem) throw new Error(`throttling: ${problem}`);
        faults.setThrottling(sub, config);
      },
      clear: () => faults.clear(),
    },
    operations: {
      list() {
        settle();
        return operationView();
      },
      completeAll: () => service.settle(Date.now(), true),
    },
    settings: () => structuredClone(settings),
    updateSettings(patch) {
      const next = patchSettings(settings, patch);
      if ('error' in next) throw new Error(`simulator settings: ${next.error}`);
      settings = next;
      settle();
      return structuredClone(settings);
    },
    snapshot() {
      settle();
      const subscriptions: SimulatorSnapshot['subscriptions'] = [];
      for (const sub of store.subscriptions.values()) {
        const groups = [...sub.resourceGroups.values()].map((group) => {
          const byType = (type: TopLevelType) =>
            store
              .list({ subscriptionId: sub.id, resourceGroup: group.name, type })
              .map((r) => service.render(r));
          return {
            name: group.name,
            location: group.location,
            loadBalancers: byType('loadBalancers'),
            publicIPAddresses: byType('publicIPAddresses'),
            networkSecurityGroups: byType('networkSecurityGroups'),
            virtualNetworks: byType('virtualNetworks'),
          };
        });
        subscriptions.push({ id: sub.id, resourceGroups: groups });
      }
      return { subscriptions, operations: operationView() };
    },
    resource(id) {
      settle();
      const record = store.get(id);
      return record ? service.render(record) : undefined;
    },
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    requestLog: () => counters.log(),
    reset: startFresh,
    stop: async () => {
      await closeServer(server);
    },
  };

  const armDeps = {
    service,
    faults,
    counters,
    settings: () => settings,
    accessToken,
    endpoint: () => endpoint,
  };
  const entraDeps = { endpoint: () => endpoint, accessToken, counters };
  const server = createServer({ key: certificate.privateKey, cert: certificate.certificate }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const entra = entraRoute(path);
    const work =
      path === '/_sim' || path.startsWith('/_sim/')
        ? handleControl(req, res, handle)
        : entra
          ? handleEntra(req, res, entra, entraDeps)
          : handleArm(req, res, armDeps);
    work.catch((error: unknown) => {
      // A bug in the simulator, not the client's fault: say so in ARM's error shape.
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      if (!res.headersSent) sendJson(res, 500, errorBody({ code: 'SimulatorError', message, details: [] }));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  endpoint = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return handle;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
