// Records every outbound connection attempt of this process (host lookups, TCP connection
// attempts, fetch/undici and node:http requests), so a test can prove the SDK talked to loopback
// only: no Google endpoint, no metadata server (metadata.google.internal, 169.254.169.254).
import diagnostics from 'node:diagnostics_channel';
import { isIP, type Socket } from 'node:net';

export interface OutboundAttempt {
  kind: 'lookup' | 'connect' | 'request';
  /** Host name, IP, or origin URL. */
  target: string;
}

export interface OutboundRecorder {
  attempts(): OutboundAttempt[];
  /** Attempts whose target is not loopback. */
  nonLoopback(): OutboundAttempt[];
  stop(): void;
}

function isLoopback(target: string): boolean {
  let host = target;
  if (/^[a-z]+:\/\//.test(target)) {
    const url = new URL(target);
    host = url.hostname.replace(/^\[|\]$/g, '');
  }
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '::ffff:127.0.0.1';
  return false;
}

export function recordOutbound(): OutboundRecorder {
  const attempts: OutboundAttempt[] = [];
  const onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    if (!socket) return;
    socket.on('lookup', (_error: unknown, _address: unknown, _family: unknown, host: unknown) => {
      attempts.push({ kind: 'lookup', target: String(host) });
    });
    socket.on('connectionAttempt', (ip: unknown) => attempts.push({ kind: 'connect', target: String(ip) }));
  };
  const onUndici = (message: unknown): void => {
    const request = (message as { request?: { origin?: unknown } }).request;
    if (request?.origin !== undefined) attempts.push({ kind: 'request', target: String(request.origin) });
  };
  const onHttp = (message: unknown): void => {
    const request = (message as { request?: { host?: unknown; protocol?: unknown } }).request;
    if (request?.host !== undefined) attempts.push({ kind: 'request', target: String(request.host) });
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  diagnostics.subscribe('undici:request:create', onUndici);
  diagnostics.subscribe('http.client.request.start', onHttp);
  return {
    attempts: () => [...attempts],
    nonLoopback: () => attempts.filter((attempt) => !isLoopback(attempt.target)),
    stop: () => {
      diagnostics.unsubscribe('net.client.socket', onSocket);
      diagnostics.unsubscribe('undici:request:create', onUndici);
      diagnostics.unsubscribe('http.client.request.start', onHttp);
    },
  };
}
