// The simulator without HTTP: answers one Compute request at a time, and offers the controls tests
// use (seeds, faults, quotas, operation timing, counters, snapshots, reset).
import { matchRoute, type Outcome } from './compute-api.ts';
import {
  alreadyExists,
  type GcpError,
  httpErrorBody,
  invalidField,
  noSuchMethod,
  notReady,
  Rejection,
  rateLimited,
  reject,
  serverError,
} from './errors.ts';
import { FaultInjector, type FaultsConfig, readFaults } from './faults.ts';
import { type Ipv4Range, parseIpv4Cidr } from './ip.ts';
import type { Json } from './json.ts';
import { type Collection, resourcePath, selfLink } from './links.ts';
import { type Operation, OperationEngine, type OperationTiming } from './operations.ts';
import { type QuotaSettings, Quotas, readQuotaLimits } from './quotas.ts';
import {
  type InstanceSeed,
  type InstanceStatus,
  removeInstance,
  seedInstance,
  setInstanceStatus,
} from './resources/instances.ts';
import {
  type NetworkSeed,
  type SubnetworkSeed,
  seedDefaultNetwork,
  seedNetwork,
  seedSubnetwork,
} from './resources/networks.ts';
import { IdSource, ResourceStore } from './store.ts';
import { DEFAULT_REGIONS, type RegionMap, Topology } from './topology.ts';
import type { Change, World } from './world.ts';

export interface GcpSimulatorOptions {
  /** Regions and their zones. Default us-central1 (a, b, c) and europe-west1 (b, c, d). */
  regions?: RegionMap;
  /** Operation timing. Default PENDING 10 ms, RUNNING 40 ms, wait answers after at most 2 s. */
  operations?: Partial<OperationTiming>;
  /** Quota limits (see quotas.ts for the metrics and defaults). */
  quotas?: QuotaSettings;
  /** "request" (default): a call over quota fails with HTTP 403; "operation": its operation fails. */
  quotaErrorsIn?: 'request' | 'operation';
  /** IPv4 CIDRs external addresses come from. Default 203.0.113.0/24 and 198.51.100.0/24. */
  externalAddressRanges?: string[];
  /** Give every project a "default" network with a "default" subnet per region. Default true. */
  defaultNetwork?: boolean;
  faults?: FaultsConfig;
  /** Seed of the generator behind fault rates. Default 1. */
  faultSeed?: number;
  /**
   * Milliseconds since the epoch; default Date.now. Tests that step time by hand pass their own
   * (then `wait` must only be called on operations whose time has come).
   */
  clock?: () => number;
}

export const DEFAULT_OPERATION_TIMING: OperationTiming = {
  pendingMs: 10,
  runningMs: 40,
  waitTimeoutMs: 2000,
};
export const DEFAULT_EXTERNAL_RANGES = ['203.0.113.0/24', '198.51.100.0/24'];

export interface SimRequest {
  method: string;
  /** Path below /compute/v1/, still URL-encoded, e.g. "projects/p/regions/r/forwardingRules". */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body, or undefined when the request had none. */
  body: unknown;
}

export interface SimResponse {
  status: number;
  body: Json;
}

export interface CallRecord {
  /** Method id, e.g. forwardingRules.insert ("unknown GET" for paths the simulator lacks). */
  method: string;
  status: number;
  project?: string;
  requestId?: string;
  at: string;
}

export interface ProjectSnapshot {
  forwardingRules: Json[];
  backendServices: Json[];
  healthChecks: Json[];
  instanceGroups: Json[];
  instances: Json[];
  addresses: Json[];
  firewalls: Json[];
  networks: Json[];
  subnetworks: Json[];
  /** Instance group selfLink → member instance selfLinks (Compute shows members only via listInstances). */
  instanceGroupMembers: Record<string, string[]>;
  /**
   * Paths of what the API created (forwarding rules, backend services, health checks, instance
   * groups, addresses, firewalls): empty after a clean teardown.
   */
  created: string[];
  operations: Json[];
}

export interface SimSnapshot {
  projects: Record<string, ProjectSnapshot>;
  operations: { pending: number; done: number; failed: number; held: boolean };
}

const CREATED_BY_API: readonly Collection[] = [
  'forwardingRules',
  'backendServices',
  'healthChecks',
  'instanceGroups',
  'addresses',
  'firewalls',
];
const MAX_CALL_LOG = 20_000;
const PROJECT = /^[a-z0-9](?:[-a-z0-9.:]{0,61}[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function readRanges(ranges: readonly string[]): Ipv4Range[] {
  return ranges.map((text) => {
    const range = parseIpv4Cidr(text);
    if (!range || range.size < 4)
      throw new Error(
        `gcp-sim: external address range '${text}' is not an IPv4 network CIDR of /30 or larger`,
      );
    return range;
  });
}

function readTiming(timing: Partial<OperationTiming>, base: OperationTiming): OperationTiming {
  const result = { ...base };
  for (const key of ['pendingMs', 'runningMs', 'waitTimeoutMs'] as const) {
    const value = timing[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`gcp-sim: operations.${key} must be a number of milliseconds ≥ 0`);
    }
    result[key] = value;
  }
  return result;
}

export class ComputeSimulator {
  private readonly world: World;
  private readonly faultInjector: FaultInjector;
  private readonly seededProjects = new Set<string>();
  private readonly requestIds = new Map<string, Operation>();
  private readonly callCounts = new Map<string, number>();
  private callLog: CallRecord[] = [];
  private readonly defaultNetwork: boolean;
  private readonly initial: { timing: OperationTiming; quotas: QuotaSettings; faults: FaultsConfig };

  /** Throws an Error naming the problem when an option is unusable. */
  constructor(options: GcpSimulatorOptions = {}) {
    const timing = readTiming(options.operations ?? {}, DEFAULT_OPERATION_TIMING);
    const quotas = options.quotas ?? {};
    if (quotas.limits) readQuotaLimits(quotas.limits, 'limits');
    for (const [region, limits] of Object.entries(quotas.regions ?? {}))
      readQuotaLimits(limits, `regions.${region}`);
    const faults = readFaults(options.faults ?? {});
    const ids = new IdSource();
    const clock = options.clock ?? Date.now;
    this.world = {
      store: new ResourceStore(),
      topology: new Topology(options.regions ?? DEFAULT_REGIONS),
      operations: new OperationEngine(timing, ids, clock),
      ids,
      quotas: new Quotas(quotas),
      quotaErrorsIn: options.quotaErrorsIn ?? 'request',
      externalRanges: readRanges(options.externalAddressRanges ?? DEFAULT_EXTERNAL_RANGES),
      now: () => new Date(clock()).toISOString(),
    };
    this.defaultNetwork = options.defaultNetwork ?? true;
    this.faultInjector = new FaultInjector(options.faultSeed ?? 1);
    this.faultInjector.set(faults);
    this.initial = { timing, quotas: structuredClone(quotas), faults };
  }

  /** Answers one Compute request. `signal` ends a blocking `wait` early (client gone, server stopping). */
  async handle(request: SimRequest, signal: AbortSignal): Promise<SimResponse> {
    let segments: string[];
    try {
      segments = request.path.split('/').map(decodeURIComponent);
    } catch {
      segments = [];
    }
    const match = matchRoute(request.method, segments);
    const method = match?.route.id ?? `unknown ${request.method}`;
    const project = match?.params.project;
    const requestId = request.query.get('requestId') ?? undefined;
    this.callCounts.set(method, (this.callCounts.get(method) ?? 0) + 1);
    const answer = (status: number, body: Json): SimResponse => {
      this.record({ method, status, project, requestId, at: new Date().toISOString() });
      return { status, body };
    };
    const fail = (problem: GcpError): SimResponse => answer(problem.httpStatus, httpErrorBody(problem));
    if (!match) return fail(noSuchMethod(request.method, `/compute/v1/${request.path}`));
    const { route } = match;
    try {
      this.world.operations.settle();
      if (!project || !PROJECT.test(project))
        reject(invalidField('project', project ?? '', 'Invalid project ID.'));
      const rateLimit = this.faultInjector.fires('rateLimit', method);
      if (rateLimit) return fail(rateLimited(rateLimit.status ?? 403, route.write));
      const fault = this.faultInjector.fires('serverError', method);
      const failAfter = fault?.afterApplying === true && route.write;
      if (fault && !failAfter) return fail(serverError(fault.status ?? 503));
      this.ensureProject(project);

      let repeated: Operation | undefined;
      if (route.write && requestId !== undefined) {
        if (!UUID.test(requestId) || /^[0-]+$/.test(requestId)) {
          reject(
            invalidField('requestId', requestId, 'The request ID must be a valid UUID (not the zero UUID).'),
          );
        }
        repeated = this.requestIds.get(`${project}\u0000${requestId.toLowerCase()}`);
      }
      let operation = repeated;
      if (!operation) {
        const outcome: Outcome = route.handle(this.world, {
          params: match.params,
          query: request.query,
          body: request.body,
        });
        if (outcome.kind === 'read') return answer(200, outcome.body);
        if (outcome.kind === 'wait') {
          await this.world.operations.wait(outcome.operation, signal);
          return answer(200, this.world.operations.toJson(outcome.operation));
        }
        operation = this.start(outcome.change, method, requestId);
        if (requestId !== undefined)
          this.requestIds.set(`${project}\u0000${requestId.toLowerCase()}`, operation);
      }
      if (fault && failAfter) return fail(serverError(fault.status ?? 503));
      return answer(200, this.world.operations.toJson(operation));
    } catch (error) {
      if (error instanceof Rejection) return fail(error.error);
      throw error;
    }
  }

  /**
   * Accepts a change as an operation: an insert of a name that exists or is being inserted is a
   * conflict; any other change to a resource with an unfinished operation is "not ready".
   */
  private start(change: Change, method: string, requestId: string | undefined): Operation {
    const path = resourcePath(change.target);
    const pending = this.world.operations.pendingOn(path);
    if (change.isInsert) {
      if (this.world.store.get(path) || pending) reject(alreadyExists(path));
    } else if (pending) {
      reject(notReady(path));
    }
    change.run('request');
    const injected = this.faultInjector.fires('operationError', method);
    const forcedError: GcpError | undefined = injected && {
      httpStatus: injected.httpStatus ?? 500,
      reason: 'backendError',
      domain: 'global',
      message:
        injected.message ??
        "Internal error. Please try again or contact Google Support. (Code: 'gcp-sim-injected')",
      operationCode: injected.code ?? 'INTERNAL_ERROR',
    };
    const scope = change.target.scope;
    return this.world.operations.create({
      project: change.target.project,
      scope,
      operationType: change.operationType,
      targetLink: selfLink(change.target),
      targetId: change.targetId,
      targetPath: path,
      method,
      ...(requestId !== undefined ? { requestId } : {}),
      ...(change.quota ? { quota: change.quota } : {}),
      isInsert: change.isInsert,
      commit: () => {
        change.run('commit');
        return undefined;
      },
      ...(forcedError ? { forcedError } : {}),
    });
  }

  private record(call: CallRecord): void {
    this.callLog.push(call);
    if (this.callLog.length > MAX_CALL_LOG) this.callLog = this.callLog.slice(-MAX_CALL_LOG / 2);
  }

  private ensureProject(project: string): void {
    if (this.seededProjects.has(project)) return;
    this.seededProjects.add(project);
    if (this.defaultNetwork) seedDefaultNetwork(this.world, project);
  }

  // ---- controls -------------------------------------------------------------------------------

  regions(): Record<string, readonly string[]> {
    return this.world.topology.toJSON();
  }

  seedNetwork(project: string, seed: NetworkSeed): Json {
    this.ensureProject(project);
    return structuredClone(seedNetwork(this.world, project, seed).body);
  }

  seedSubnetwork(project: string, seed: SubnetworkSeed): Json {
    this.ensureProject(project);
    return structuredClone(seedSubnetwork(this.world, project, seed).body);
  }

  /** All or nothing: a bad seed leaves no instance of the batch behind. */
  seedInstances(project: string, seeds: readonly InstanceSeed[]): Json[] {
    this.ensureProject(project);
    const created: Json[] = [];
    try {
      for (const seed of seeds) created.push(seedInstance(this.world, project, seed).body);
    } catch (error) {
      for (const body of created) {
        removeInstance(this.world, project, String(body.zone).split('/').pop() ?? '', String(body.name));
      }
      throw error;
    }
    return structuredClone(created);
  }

  removeInstance(project: string, zone: string, name: string): boolean {
    return removeInstance(this.world, project, zone, name);
  }

  setInstanceStatus(project: string, zone: string, name: string, status: InstanceStatus): void {
    setInstanceStatus(this.world, project, zone, name, status);
  }

  faults(): FaultsConfig {
    return this.faultInjector.get();
  }

  /** Replaces the fault configuration (an empty object clears it). Throws on a bad one. */
  setFaults(config: FaultsConfig): void {
    this.faultInjector.set(readFaults(config));
  }

  faultsFired(): Record<string, number> {
    return this.faultInjector.firedCounts();
  }

  quotas(): QuotaSettings {
    return this.world.quotas.get();
  }

  /** Replaces the quota limits. Throws on a bad one. */
  setQuotas(settings: QuotaSettings): void {
    if (settings.limits) readQuotaLimits(settings.limits, 'limits');
    for (const [region, limits] of Object.entries(settings.regions ?? {})) {
      if (!this.world.topology.hasRegion(region))
        throw new Error(`gcp-sim quotas: region ${region} is not served`);
      readQuotaLimits(limits, `regions.${region}`);
    }
    this.world.quotas.set(settings);
  }

  operationTiming(): OperationTiming & { held: boolean } {
    return { ...this.world.operations.timing, held: this.world.operations.isHeld() };
  }

  setOperationTiming(timing: Partial<OperationTiming>): void {
    this.world.operations.timing = readTiming(timing, this.world.operations.timing);
  }

  /** New and unfinished operations stay RUNNING until releaseOperations(). */
  holdOperations(): void {
    this.world.operations.hold();
  }

  releaseOperations(): void {
    this.world.operations.release();
  }

  /** Calls per method id (every call, failed ones included). */
  counters(): Record<string, number> {
    return Object.fromEntries([...this.callCounts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  calls(): CallRecord[] {
    return this.callLog.map((call) => ({ ...call }));
  }

  snapshot(project?: string): SimSnapshot {
    this.world.operations.settle();
    const projects = new Set<string>([...this.seededProjects]);
    for (const resource of this.world.store.all()) projects.add(resource.ref.project);
    const result: SimSnapshot = {
      projects: {},
      operations: { pending: 0, done: 0, failed: 0, held: this.world.operations.isHeld() },
    };
    for (const operation of this.world.operations.all()) {
      if (operation.committedAt === undefined) result.operations.pending += 1;
      else if (operation.error) result.operations.failed += 1;
      else result.operations.done += 1;
    }
    for (const name of [...projects].sort()) {
      if (project !== undefined && name !== project) continue;
      const bodies = (collection: Collection): Json[] =>
        this.world.store
          .list(name, collection)
          .sort((a, b) => a.path.localeCompare(b.path))
          .map((resource) => structuredClone(resource.body));
      const members: Record<string, string[]> = {};
      for (const group of this.world.store.list(name, 'instanceGroups')) {
        members[String(group.body.selfLink)] = [...(group.members ?? [])];
      }
      result.projects[name] = {
        forwardingRules: bodies('forwardingRules'),
        backendServices: bodies('backendServices'),
        healthChecks: bodies('healthChecks'),
        instanceGroups: bodies('instanceGroups'),
        instances: bodies('instances'),
        addresses: bodies('addresses'),
        firewalls: bodies('firewalls'),
        networks: bodies('networks'),
        subnetworks: bodies('subnetworks'),
        instanceGroupMembers: members,
        created: this.world.store
          .all()
          .filter(
            (resource) => resource.ref.project === name && CREATED_BY_API.includes(resource.ref.collection),
          )
          .map((resource) => resource.path)
          .sort(),
        operations: this.world.operations
          .list(name)
          .sort((a, b) => a.seq - b.seq)
          .map((operation) => this.world.operations.toJson(operation)),
      };
    }
    return result;
  }

  /** Back to a fresh start: no resources, operations, request ids, counters; the options' faults, quotas and timing. */
  reset(): void {
    this.world.store.clear();
    this.world.operations.reset();
    this.world.operations.timing = { ...this.initial.timing };
    this.world.quotas.set(this.initial.quotas);
    this.faultInjector.reset();
    this.faultInjector.set(this.initial.faults);
    this.seededProjects.clear();
    this.requestIds.clear();
    this.callCounts.clear();
    this.callLog = [];
  }
}
