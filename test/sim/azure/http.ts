// Small HTTP helpers shared by the ARM and control handlers: bounded body reading and JSON answers.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ArmError, errorBody, requestTooLarge } from './arm-errors.ts';

/** ARM refuses request bodies over 4 MiB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string | ArmError> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  return tooLarge ? requestTooLarge(limit) : Buffer.concat(chunks).toString('utf8');
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function sendArmError(
  res: ServerResponse,
  error: ArmError,
  headers: Record<string, string> = {},
): void {
  const extra: Record<string, string> = { ...headers };
  if (error.retryAfterSeconds !== undefined) extra['Retry-After'] = String(error.retryAfterSeconds);
  sendJson(res, error.status, errorBody(error), extra);
}
