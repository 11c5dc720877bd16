// A TCP proxy on 127.0.0.1 for end-to-end tests: forwards every connection to one target, bytes
// untouched (TLS passes through), and can cut every open connection at once to simulate a network
// failure between a client and the apiserver.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

interface Pair {
  client: Socket;
  upstream: Socket;
}

export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
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
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
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
    return this.#pairs.size;
  }

  /** Connections accepted since start. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Destroys every open connection pair, both sides; returns how many there were. */
  resetAll(): number {
    const pairs = [...this.#pairs];
    for (const pair of pairs) this.#drop(pair);
    return pairs.length;
  }

  /** Stops accepting and destroys every open connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.resetAll();
    await closed;
  }

  #forward(client: Socket): void {
    this.#accepted++;
    const upstream = connect({ host: this.#target.host, port: this.#target.port });
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Either side failing or closing takes the other down with it.
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.#drop(pair));
      socket.on('close', () => this.#drop(pair));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
