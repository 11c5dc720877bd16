// moto's server (the AWS simulator) for tests: one process per caller on a free loopback port,
// installed once into ~/.cache/sluice by scripts/ensure-moto.sh. Every AWS API of the account
// (ELBv2, EC2, ACM, ...) answers on the one endpoint.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Only loopback, ever. */
const HOST = '127.0.0.1';
export const MOTO_VERSION = '5.2.5';

export interface Moto {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Forgets every resource of every service (moto's /moto-api/reset). */
  reset(): Promise<void>;
  /** moto's own output, last lines (for failure messages). */
  tail(): string;
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** How long to wait for the server to answer. Default 60 s (the first start imports a lot of Python). */
  readyTimeoutMs?: number;
}

function motoServerPath(): string {
  const cache =
    process.env.SLUICE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice');
  return join(cache, `moto-${MOTO_VERSION}`, 'bin', 'moto_server');
}

/** Installs moto the first time (quiet when it is there already). */
async function ensureMoto(): Promise<string> {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'ensure-moto.sh');
  try {
    await execFileAsync('bash', [script], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`scripts/ensure-moto.sh failed: ${stderr.trim() || String(error)}`);
  }
  return motoServerPath();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startMoto(options: StartMotoOptions = {}): Promise<Moto> {
  const binary = await ensureMoto();
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  // Another process may take the free port between our probe and moto's bind: try a few ports.
  let lastProblem = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://${HOST}:${port}`;
    const output: string[] = [];
    const child = spawn(binary, ['-H', HOST, '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    const keep = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
      if (output.length > 200) output.splice(0, output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const tail = (): string => output.join('').split('\n').slice(-40).join('\n');
    // A test that forgets stop() must not leave moto behind.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if (await answers(endpoint)) {
        return {
          endpoint,
          tail,
          async reset() {
            const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`moto reset: HTTP ${response.status}`);
          },
          async stop() {
            process.removeListener('exit', killOnExit);
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited(child);
            clearTimeout(killed);
          },
        };
      }
      await sleep(100);
    }
    process.removeListener('exit', killOnExit);
    const gaveUp = child.exitCode === null && child.signalCode === null;
    child.kill('SIGKILL');
    await exited(child);
    lastProblem = gaveUp
      ? `moto_server on ${endpoint} did not answer within ${timeoutMs} ms:\n${tail()}`
      : `moto_server on ${endpoint} exited (${child.exitCode ?? child.signalCode}):\n${tail()}`;
    // Only an early exit (most likely the port was taken meanwhile) is worth another port.
    if (gaveUp) break;
  }
  throw new Error(lastProblem);
}
