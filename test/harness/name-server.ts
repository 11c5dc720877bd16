// A TCP server that answers every connection with one line, its name, then closes: run one in each node's
// network namespace and a client can tell which node it reached.
//
//   node test/harness/name-server.ts NAME PORT
//
// Listens on every address of the namespace (IPv6 and IPv4 where the namespace has IPv6, IPv4 otherwise) and
// prints one JSON line {"msg":"listening",...} once it does.
import { createServer, type Server } from 'node:net';

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const [name, portText] = argv;
  const port = Number(portText);
  if (!name || !Number.isInteger(port) || port < 1 || port > 65_535) {
    process.stderr.write('usage: node test/harness/name-server.ts NAME PORT\n');
    process.exit(2);
  }
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${name}\n`);
  });
  let host = '::';
  try {
    await listen(server, port, host);
  } catch {
    // No IPv6 in this namespace: the IPv4 wildcard alone.
    host = '0.0.0.0';
    await listen(server, port, host);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'listening', name, host, port })}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (import.meta.main) await main(process.argv.slice(2));
