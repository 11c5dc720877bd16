// /healthz (the process and its loops are alive), /readyz (caches synced; a standby replica
// is ready too, so that a rolling update can proceed), /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  live: () => string | undefined;
  ready: () => string | undefined;
}

export async function startHealthServer(
  host: string | undefined,
  port: number,
  checks: HealthChecks,
  registry: Registry,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/readyz') {
      const problem = path === '/healthz' ? checks.live() : checks.ready();
      res.writeHead(problem ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(problem ?? 'ok');
      return;
    }
    if (path === '/metrics') {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        });
      return;
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (host === undefined) server.listen(port, resolve);
    else server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
