// Carries TCP connections across network namespaces through the filesystem: a unix socket is reachable from
// every network namespace that shares the mount namespace, while 127.0.0.1 is not. Bytes pass untouched, so
// TLS to the apiserver works end to end.
//
// In the root namespace (in the test process): `UnixForwarder.toTcp(socketPath, apiserver)`.
// Inside a node namespace (a process, since Node.js cannot enter a namespace itself):
//   node test/harness/unix-forwarder.ts tcp-to-unix 127.0.0.1:PORT /path/to.sock
// prints one JSON line {"msg":"forwarding",...} once it listens. Killing that process cuts the namespace off
// the apiserver: every connection through it dies and no new one can be made.
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { closeForwarding, listening, SocketPairs } from './socket-pairs.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export type TcpEndpoint = { host: string; port: number };

/** Parses `HOST:PORT` or `[V6]:PORT`; loopback hosts only. */
export function parseLoopbackEndpoint(text: string): TcpEndpoint | { problem: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65_535)
    return { problem: `${JSON.stringify(text)} is not HOST:PORT` };
  if (!LOOPBACK.has(host)) return { problem: `${host} is not a loopback address (loopback only)` };
  return { host, port };
}

export class UnixForwarder {
  readonly #server: Server;
  readonly #pairs = new SocketPairs();
  readonly #unlinkOnClose: string | undefined;

  private constructor(connectUpstream: () => Socket, unlinkOnClose?: string) {
    this.#unlinkOnClose = unlinkOnClose;
    this.#server = createServer((accepted) => this.#pairs.join(accepted, connectUpstream()));
  }

  /** Listens on the unix socket `socketPath` and forwards each connection to `target` (loopback TCP). */
  static async toTcp(socketPath: string, target: TcpEndpoint): Promise<UnixForwarder> {
    if (!LOOPBACK.has(target.host)) throw new Error(`refusing to forward to ${target.host}: loopback only`);
    if (existsSync(socketPath)) unlinkSync(socketPath);
    const forwarder = new UnixForwarder(() => connect(target), socketPath);
    await listening(forwarder.#server, (ready) => forwarder.#server.listen(socketPath, ready));
    return forwarder;
  }

  /** Listens on `listen` (loopback TCP) and forwards each connection to the unix socket `socketPath`. */
  static async toUnix(listen: TcpEndpoint, socketPath: string): Promise<UnixForwarder> {
    if (!LOOPBACK.has(listen.host)) throw new Error(`refusing to listen on ${listen.host}: loopback only`);
    const forwarder = new UnixForwarder(() => connect(socketPath));
    await listening(forwarder.#server, (ready) => forwarder.#server.listen(listen.port, listen.host, ready));
    return forwarder;
  }

  /** Stops listening and destroys every open connection. */
  async close(): Promise<void> {
    await closeForwarding(this.#server, this.#pairs);
    if (this.#unlinkOnClose && existsSync(this.#unlinkOnClose)) unlinkSync(this.#unlinkOnClose);
  }
}

async function main(argv: string[]): Promise<void> {
  const [mode, endpointText, socketPath] = argv;
  if (mode !== 'tcp-to-unix' || !endpointText || !socketPath) {
    process.stderr.write('usage: node test/harness/unix-forwarder.ts tcp-to-unix HOST:PORT SOCKET\n');
    process.exit(2);
  }
  const endpoint = parseLoopbackEndpoint(endpointText);
  if ('problem' in endpoint) {
    process.stderr.write(`unix-forwarder: ${endpoint.problem}\n`);
    process.exit(2);
  }
  const forwarder = await UnixForwarder.toUnix(endpoint, socketPath).catch((error: Error) => {
    process.stderr.write(`unix-forwarder: cannot listen on ${endpointText}: ${error.message}\n`);
    process.exit(1);
  });
  process.stdout.write(
    `${JSON.stringify({ msg: 'forwarding', listen: endpointText, socket: socketPath })}\n`,
  );
  const stop = (): void => {
    void forwarder.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.main) await main(process.argv.slice(2));
