// The forwarding core shared by the test proxies (tcp-proxy.ts, unix-forwarder.ts): each accepted connection
// is joined to its own upstream connection, bytes pass untouched both ways, and every open pair can be cut
// at once to simulate a network failure.
import type { Server, Socket } from 'node:net';

type Pair = { accepted: Socket; upstream: Socket };

export class SocketPairs {
  readonly #pairs = new Set<Pair>();

  /** Pairs open now. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Pipes `accepted` and `upstream` into each other; either side failing or closing takes the other down. */
  join(accepted: Socket, upstream: Socket): void {
    const pair: Pair = { accepted, upstream };
    this.#pairs.add(pair);
    for (const socket of [accepted, upstream]) {
      socket.on('error', () => this.#drop(pair));
      socket.on('close', () => this.#drop(pair));
    }
    accepted.pipe(upstream);
    upstream.pipe(accepted);
  }

  /** Destroys every open pair, both sides; returns how many there were. */
  resetAll(): number {
    const pairs = [...this.#pairs];
    for (const pair of pairs) this.#drop(pair);
    return pairs.length;
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.accepted.destroy();
    pair.upstream.destroy();
  }
}

/** Starts `server` with `start` (a `listen` call given the ready callback); rejects if listening fails. */
export function listening(server: Server, start: (ready: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    start(() => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops `server` accepting and cuts every open pair; resolves once the server has closed. */
export async function closeForwarding(server: Server, pairs: SocketPairs): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  pairs.resetAll();
  await closed;
}
