// Helpers for end-to-end tests: Sluice as a real separate process, polling, and API clients.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  type V1Service,
} from '@kubernetes/client-node';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  events: EventsV1Api;
  custom: CustomObjectsApi;
}

export function clients(kubeconfigPath: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    events: kc.makeApiClient(EventsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

export type ProcessRun = { code: number | null; stdout: string; stderr: string };

/** Runs `command` to completion with `stdin` as its input; resolves with its exit code and whole output. */
export function runProcess(
  command: string,
  args: string[],
  stdin: string,
  options: { cwd?: string } = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Runs the real kubectl against the test cluster; rejects with its stderr on failure. */
export async function kubectl(
  cluster: { kubeconfigPath: string; binDir: string },
  args: string[],
  input?: string,
): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run(
      `${cluster.binDir}/kubectl`,
      ['--kubeconfig', cluster.kubeconfigPath, ...args],
      {
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    return stdout;
  }
  const result = await runProcess(
    `${cluster.binDir}/kubectl`,
    ['--kubeconfig', cluster.kubeconfigPath, ...args],
    input,
  );
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** `kubectl apply` of one object given as a plain value. */
export async function applyObject(
  cluster: { kubeconfigPath: string; binDir: string },
  object: unknown,
): Promise<void> {
  await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));
}

/** `kubectl create` of one object given as a plain value (fails if it exists already). */
export async function createObject(
  cluster: { kubeconfigPath: string; binDir: string },
  object: unknown,
): Promise<void> {
  await kubectl(cluster, ['create', '-f', '-'], JSON.stringify(object));
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export class SluiceProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  #stderr = '';

  /** `entry` is the CLI to run: the TypeScript source by default, or the built `dist/main.js`. */
  constructor(kubeconfigPath: string, args: string[], entry = MAIN, nodeFlags: string[] = []) {
    this.child = spawn(
      process.execPath,
      [
        ...nodeFlags,
        entry,
        'controller',
        `--kubeconfig=${kubeconfigPath}`,
        '--health-address=127.0.0.1:0',
        ...args,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 'raw', msg: line });
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get stderr(): string {
    return this.#stderr;
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(
      async () => {
        found = this.lines.find(predicate);
        return found !== undefined;
      },
      timeoutMs,
      () => `log line not seen; last lines:\n${this.tail()}`,
    );
    return found!;
  }

  /** The health/metrics port, from the start-up log line. */
  async healthPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'serving /healthz, /readyz and /metrics');
    return line.port as number;
  }

  async metric(name: string, labels = ''): Promise<number> {
    const port = await this.healthPort();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
        if (labels && !line.includes(labels)) continue;
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  tail(n = 15): string {
    return [
      ...this.lines.slice(-n).map((l) => JSON.stringify(l)),
      this.#stderr ? `stderr: ${this.#stderr.slice(-2000)}` : '',
    ].join('\n');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  describe: () => string = () => 'condition not met',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function readService(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<V1Service | undefined> {
  try {
    return await core.readNamespacedService({ name, namespace });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Waits until the Service publishes an address and returns it. */
export async function waitForAddress(
  core: CoreV1Api,
  namespace: string,
  name: string,
  timeoutMs = 20_000,
): Promise<string> {
  let ip: string | undefined;
  let last: V1Service | undefined;
  await waitFor(
    async () => {
      last = await readService(core, namespace, name);
      ip = last?.status?.loadBalancer?.ingress?.[0]?.ip;
      return ip !== undefined;
    },
    timeoutMs,
    () => `no address on ${namespace}/${name}; status: ${JSON.stringify(last?.status)}`,
  );
  return ip!;
}

/** Waits until the Service publishes an IP and returns it with the Service; `context` adds to the timeout message. */
export async function waitForIngressIp(
  core: CoreV1Api,
  namespace: string,
  name: string,
  timeoutMs = 60_000,
  context: () => string = () => '',
): Promise<{ ip: string; service: V1Service }> {
  let latest: V1Service | undefined;
  await waitFor(
    async () => {
      latest = await readService(core, namespace, name);
      return latest?.status?.loadBalancer?.ingress?.[0]?.ip !== undefined;
    },
    timeoutMs,
    () => `no IP on ${namespace}/${name}: ${JSON.stringify(latest?.status)}\n${context()}`,
  );
  return { ip: latest!.status!.loadBalancer!.ingress![0]!.ip!, service: latest! };
}

export async function eventsFor(
  clientsOf: Clients,
  namespace: string,
  name: string,
): Promise<Array<{ reason?: string; type?: string; note?: string }>> {
  const list = await clientsOf.events.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.name === name && e.regarding.kind === 'Service');
}

const CRDS = fileURLToPath(new URL('../../crds/', import.meta.url));

/** Applies Sluice's CRDs (idempotent) and waits until the apiserver serves them. */
export async function installCrds(cluster: { kubeconfigPath: string; binDir: string }): Promise<void> {
  await kubectl(cluster, ['apply', '-f', CRDS]);
  await kubectl(cluster, ['wait', '--for=condition=Established', '-f', CRDS, '--timeout=30s']);
}

/** Creates an AddressPool; `autoAssign: false` makes it serve only Services that ask for it. */
export async function createPool(
  cluster: { kubeconfigPath: string; binDir: string },
  name: string,
  addresses: string[],
  autoAssign = true,
): Promise<void> {
  const spec = { addresses, ...(autoAssign ? {} : { autoAssign: false }) };
  await applyObject(cluster, {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AddressPool',
    metadata: { name },
    spec,
  });
}
