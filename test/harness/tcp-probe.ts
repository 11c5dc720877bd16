// A client that keeps connecting to one address and reports, per attempt, who answered: the data-plane view
// of a failover. Each attempt opens a new connection (a fresh SYN, so a lost one is not retransmitted for a
// second), reads the one-line answer of name-server.ts, and gives up after a short timeout.
//
//   node test/harness/tcp-probe.ts HOST PORT [TIMEOUT_MS] [INTERVAL_MS]
//
// Prints one JSON line per attempt: {"startedAt":ms,"at":ms,"ok":true,"answer":"node-a"} or
// {"startedAt":ms,"at":ms,"ok":false,"error":"ETIMEDOUT"}; times are epoch milliseconds.
import { connect, isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type ProbeResult =
  | { startedAt: number; at: number; ok: true; answer: string }
  | { startedAt: number; at: number; ok: false; error: string };

/** One attempt: connect, read until the server closes, or fail after `timeoutMs` in all. */
export function probeOnce(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    let answer = '';
    let settled = false;
    const socket = connect({ host, port });
    const settle = (result: { ok: true; answer: string } | { ok: false; error: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ startedAt, at: Date.now(), ...result });
    };
    const timer = setTimeout(() => settle({ ok: false, error: 'ETIMEDOUT' }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () =>
      answer.trim() === ''
        ? settle({ ok: false, error: 'EMPTY' })
        : settle({ ok: true, answer: answer.trim() }),
    );
    socket.on('error', (error: NodeJS.ErrnoException) =>
      settle({ ok: false, error: error.code ?? error.message }),
    );
  });
}

async function main(argv: string[]): Promise<void> {
  const [host, portText, timeoutText = '250', intervalText = '100'] = argv;
  const port = Number(portText);
  const timeoutMs = Number(timeoutText);
  const intervalMs = Number(intervalText);
  if (!host || isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    process.stderr.write('usage: node test/harness/tcp-probe.ts HOST PORT [TIMEOUT_MS] [INTERVAL_MS]\n');
    process.exit(2);
  }
  if (!(timeoutMs > 0) || !(intervalMs >= 0)) {
    process.stderr.write('tcp-probe: TIMEOUT_MS must be > 0 and INTERVAL_MS >= 0\n');
    process.exit(2);
  }
  let running = true;
  process.on('SIGTERM', () => {
    running = false;
  });
  while (running) {
    const result = await probeOnce(host, port, timeoutMs);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await sleep(intervalMs);
  }
}

if (import.meta.main) await main(process.argv.slice(2));
