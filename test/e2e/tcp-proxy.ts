// A TCP proxy on 127.0.0.1 for end-to-end tests: forwards every connection to one target, bytes
// untouched (TLS passes through), and can cut every open connection at once to simulate a network
// failure between a client and the apiserver.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { closeForwarding, listening, SocketPairs } from '../harness/socket-pairs.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new SocketPairs();
  readonly #target: { host: string; port: number };
  #accepted = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#forward(client));
  }

  /** Starts a proxy on 127.0.0.1 (a free port) to `target`, which must be a loopback address. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    if (!LOOPBACK.has(target.host)) throw new Error(`refusing to proxy to ${target.host}: loopback only`);
    const proxy = new TcpProxy(target);
    await listening(proxy.#server, (ready) => proxy.#server.listen(0, '127.0.0.1', ready));
    return proxy;
  }

  /** Parses `https://host:port` (as in a kubeconfig) into a proxy target. */
  static targetOf(serverUrl: string): { host: string; port: number } {
    const url = new URL(serverUrl);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { host: url.hostname, port };
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Connections open now. */
  get open(): number {
    return this.#pairs.open;
  }

  /** Connections accepted since start. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Destroys every open connection pair, both sides; returns how many there were. */
  resetAll(): number {
    return this.#pairs.resetAll();
  }

  /** Stops accepting and destroys every open connection. */
  close(): Promise<void> {
    return closeForwarding(this.#server, this.#pairs);
  }

  #forward(client: Socket): void {
    this.#accepted++;
    const upstream = connect({ host: this.#target.host, port: this.#target.port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#pairs.join(client, upstream);
  }
}
