// The simulator as an HTTP server (node:http) on a loopback port:
//   /compute/v1/...  the Compute Engine REST API (what @google-cloud/compute calls),
//   /_sim/...        the simulator's own controls (control-api.ts).
// startGcpSimulator() returns the endpoint and the same controls as plain methods.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl } from './control-api.ts';
import { httpErrorBody, parseError } from './errors.ts';
import type { FaultsConfig } from './faults.ts';
import type { Json } from './json.ts';
import type { OperationTiming } from './operations.ts';
import type { QuotaSettings } from './quotas.ts';
import type { InstanceSeed, InstanceStatus } from './resources/instances.ts';
import type { NetworkSeed, SubnetworkSeed } from './resources/networks.ts';
import {
  type CallRecord,
  ComputeSimulator,
  type GcpSimulatorOptions,
  type SimResponse,
  type SimSnapshot,
} from './simulator.ts';

export interface StartOptions extends GcpSimulatorOptions {
  /** Default 0: a free port. */
  port?: number;
  /** A loopback address only. Default 127.0.0.1. */
  host?: '127.0.0.1' | '::1';
}

export interface GcpSimulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** What the SDK calls apiEndpoint: the host, without scheme or port. */
  readonly apiEndpoint: string;
  readonly port: number;
  readonly protocol: 'http';
  snapshot(project?: string): SimSnapshot;
  readonly seed: {
    network(project: string, seed: NetworkSeed): Json;
    subnetwork(project: string, seed: SubnetworkSeed): Json;
    /** All or nothing. */
    instances(project: string, seeds: readonly InstanceSeed[]): Json[];
    /** Deletes an instance (and takes it out of its instance groups). False when there was none. */
    removeInstance(project: string, zone: string, name: string): boolean;
    setInstanceStatus(project: string, zone: string, name: string, status: InstanceStatus): void;
  };
  readonly faults: {
    get(): FaultsConfig;
    /** Replaces the configuration. */
    set(config: FaultsConfig): void;
    clear(): void;
    /** How often each kind has fired since the start or the last reset. */
    fired(): Record<string, number>;
  };
  readonly quotas: {
    get(): QuotaSettings;
    set(settings: QuotaSettings): void;
  };
  readonly operations: {
    timing(): OperationTiming & { held: boolean };
    setTiming(timing: Partial<OperationTiming>): void;
    /** Unfinished and new operations stay RUNNING until release(). */
    hold(): void;
    release(): void;
  };
  /** Calls per method id, e.g. {"forwardingRules.insert": 2, "regionOperations.wait": 5}. */
  counters(): Record<string, number>;
  calls(): CallRecord[];
  /** Forgets every resource, operation, request id and counter; faults, quotas and timing back to the options. */
  reset(): void;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

type ParsedBody = { ok: true; value: unknown } | { ok: false; problem: string };

function parseJson(text: string): ParsedBody {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

export async function startGcpSimulator(options: StartOptions = {}): Promise<GcpSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1')
    throw new Error(`gcp-sim listens on loopback only, not ${String(host)}`);
  const sim = new ComputeSimulator(options);
  const stopping = new AbortController();
  let endpoint = { url: '', apiEndpoint: host, port: 0, protocol: 'http' as const };

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://simulator');
      const text = await readBody(request);
      if (text === undefined) {
        send(response, 413, httpErrorBody(parseError('The request body is larger than 8 MiB.')));
        return;
      }
      const parsed = parseJson(text);
      if (url.pathname.startsWith('/_sim/')) {
        if (!parsed.ok) {
          send(response, 400, { error: { message: `body is not JSON: ${parsed.problem}` } });
          return;
        }
        const segments = url.pathname
          .slice('/_sim/'.length)
          .split('/')
          .filter(Boolean)
          .map(decodeURIComponent);
        const answer = handleControl(
          sim,
          endpoint,
          request.method ?? 'GET',
          segments,
          url.searchParams,
          parsed.value,
        );
        send(response, answer.status, answer.body);
        return;
      }
      if (!url.pathname.startsWith('/compute/v1/')) {
        send(response, 404, {
          error: { code: 404, message: `gcp-sim serves /compute/v1/ and /_sim/, not ${url.pathname}` },
        });
        return;
      }
      if (!parsed.ok) {
        send(response, 400, httpErrorBody(parseError(parsed.problem)));
        return;
      }
      const gone = new AbortController();
      response.on('close', () => gone.abort());
      let answer: SimResponse;
      try {
        answer = await sim.handle(
          {
            method: request.method ?? 'GET',
            path: url.pathname.slice('/compute/v1/'.length),
            query: url.searchParams,
            body: parsed.value,
          },
          AbortSignal.any([stopping.signal, gone.signal]),
        );
      } catch (error) {
        // A bug of the simulator: say so plainly instead of pretending to be Compute.
        const message = `gcp-sim internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
        send(response, 500, {
          error: { code: 500, message, errors: [{ message, domain: 'gcp-sim', reason: 'simulatorBug' }] },
        });
        return;
      }
      if (!response.destroyed) send(response, answer.status, answer.body);
    })().catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: { code: 500, message: String(error) } });
      else response.destroy();
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
  const urlHost = host === '::1' ? '[::1]' : host;
  endpoint = { url: `http://${urlHost}:${port}`, apiEndpoint: host, port, protocol: 'http' };

  return {
    url: endpoint.url,
    apiEndpoint: endpoint.apiEndpoint,
    port,
    protocol: 'http',
    snapshot: (project) => sim.snapshot(project),
    seed: {
      network: (project, seed) => sim.seedNetwork(project, seed),
      subnetwork: (project, seed) => sim.seedSubnetwork(project, seed),
      instances: (project, seeds) => sim.seedInstances(project, seeds),
      removeInstance: (project, zone, name) => sim.removeInstance(project, zone, name),
      setInstanceStatus: (project, zone, name, status) => sim.setInstanceStatus(project, zone, name, status),
    },
    faults: {
      get: () => sim.faults(),
      set: (config) => sim.setFaults(config),
      clear: () => sim.setFaults({}),
      fired: () => sim.faultsFired(),
    },
    quotas: {
      get: () => sim.quotas(),
      set: (settings) => sim.setQuotas(settings),
    },
    operations: {
      timing: () => sim.operationTiming(),
      setTiming: (timing) => sim.setOperationTiming(timing),
      hold: () => sim.holdOperations(),
      release: () => sim.releaseOperations(),
    },
    counters: () => sim.counters(),
    calls: () => sim.calls(),
    reset: () => sim.reset(),
    stop: async () => {
      stopping.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
