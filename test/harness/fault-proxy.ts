// A fault-injecting HTTP proxy on loopback, in front of any HTTP endpoint (moto now; the GCP and
// Azure simulators later). Per request it may answer "slow down" (throttling) or a server error
// without forwarding, forward after added latency, or forward and then never answer (the socket is
// destroyed after the upstream acted: the ambiguous case that makes creates duplicate). The rates
// are set per run; with a seed the same run draws the same faults, so a test is repeatable.
// Counters say what it did, per action.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Only loopback, ever. */
const HOST = '127.0.0.1';

export interface FaultResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** What the proxy knows about a request when it decides and when it builds a fault answer. */
export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** AWS query APIs: the Action (e.g. CreateLoadBalancer); otherwise `METHOD /path`. */
  action: string;
  /** AWS: not Describe*, Get*, List*; others: not GET or HEAD. */
  mutating: boolean;
  /** AWS: the signing service name from the Authorization header (ec2, elasticloadbalancing, acm), else ''. */
  service: string;
}

export interface Faults {
  /** Fractions of requests in [0, 1]; drawn in this order, at most one fault per request. */
  throttleRate?: number;
  serverErrorRate?: number;
  dropRate?: number;
  /** Added before forwarding, to `latencyRate` of the requests (default all when latencyMs is set). */
  latencyMs?: number;
  latencyRate?: number;
  /** Server errors are answered after forwarding (the upstream acted) instead of instead of it. */
  serverErrorAfterForward?: boolean;
  /** Only requests this accepts get faults (default: all). */
  applies?: (request: ProxiedRequest) => boolean;
}

export interface FaultProxyOptions {
  /** The endpoint to forward to, e.g. http://127.0.0.1:5000. Must be loopback. */
  target: string;
  faults?: Faults;
  /** Seeds the fault draws; default: a fixed seed (runs are repeatable unless told otherwise). */
  seed?: number;
  /** The throttling answer; default AWS's for the request's API (query XML, HTTP 400, "Rate exceeded"). */
  throttleResponse?: (request: ProxiedRequest) => FaultResponse;
  /** The server-error answer; default AWS's InternalFailure (HTTP 500). */
  serverErrorResponse?: (request: ProxiedRequest) => FaultResponse;
}

export interface FaultCounters {
  requests: number;
  forwarded: number;
  throttled: number;
  serverErrors: number;
  dropped: number;
  delayed: number;
  /** Forwarded requests that may change something upstream. */
  mutating: number;
  /** Forwarded requests by action. */
  byAction: Record<string, number>;
  /** Faults by `<action> <fault>`. */
  faultsByAction: Record<string, number>;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  readonly counters: FaultCounters;
  resetCounters(): void;
  /** Changes the faults from the next request on; the seed's sequence continues. */
  setFaults(faults: Faults): void;
  stop(): Promise<void>;
}

/** mulberry32: small, fast, good enough to spread faults; deterministic for a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

let faultRequestCounter = 0;
function fakeRequestId(): string {
  faultRequestCounter++;
  return `fault-proxy-${process.pid}-${faultRequestCounter}`;
}

/** An AWS query-protocol error: EC2's envelope differs from the other query APIs (ELBv2, IAM, ...). */
export function awsQueryError(
  request: ProxiedRequest,
  status: number,
  code: string,
  message: string,
): FaultResponse {
  const id = fakeRequestId();
  const body =
    request.service === 'ec2'
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`
      : `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`;
  return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id }, body };
}

export const awsThrottle = (request: ProxiedRequest): FaultResponse =>
  request.service === 'ec2'
    ? awsQueryError(request, 503, 'RequestLimitExceeded', 'Request limit exceeded.')
    : awsQueryError(request, 400, 'Throttling', 'Rate exceeded');

export const awsServerError = (request: ProxiedRequest): FaultResponse =>
  awsQueryError(
    request,
    500,
    'InternalFailure',
    'The request processing has failed because of an unknown error.',
  );

function describeRequest(incoming: IncomingMessage, body: string): ProxiedRequest {
  const method = incoming.method ?? 'GET';
  const url = new URL(incoming.url ?? '/', 'http://proxy');
  const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(
    String(incoming.headers.authorization ?? ''),
  );
  const service = scope?.[1] ?? '';
  let awsAction = url.searchParams.get('Action') ?? undefined;
  if (!awsAction && String(incoming.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
    awsAction = new URLSearchParams(body).get('Action') ?? undefined;
  }
  const target = incoming.headers['x-amz-target'];
  if (!awsAction && typeof target === 'string') awsAction = target.split('.').pop();
  const action = awsAction ?? `${method} ${url.pathname}`;
  const mutating = awsAction ? !/^(Describe|Get|List)/.test(awsAction) : !['GET', 'HEAD'].includes(method);
  return {
    method,
    path: `${url.pathname}${url.search}`,
    headers: incoming.headers,
    body,
    action,
    mutating,
    service,
  };
}

function emptyCounters(): FaultCounters {
  return {
    requests: 0,
    forwarded: 0,
    throttled: 0,
    serverErrors: 0,
    dropped: 0,
    delayed: 0,
    mutating: 0,
    byAction: {},
    faultsByAction: {},
  };
}

function readBody(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });
}

interface UpstreamAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function forward(target: URL, incoming: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, 'content-length': String(body.length) },
      },
      (response) => {
        readBody(response).then(
          (data) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: data }),
          reject,
        );
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function send(response: ServerResponse, answer: FaultResponse): void {
  const body = Buffer.from(answer.body);
  response.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) });
  response.end(body);
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new Error(`fault proxy: target ${options.target} is not on loopback`);
  }
  let faults: Faults = options.faults ?? {};
  const random = seededRandom(options.seed ?? 20260522);
  const throttleResponse = options.throttleResponse ?? awsThrottle;
  const serverErrorResponse = options.serverErrorResponse ?? awsServerError;
  let counters = emptyCounters();
  const sockets = new Set<Socket>();
  const bump = (map: Record<string, number>, key: string): void => {
    map[key] = (map[key] ?? 0) + 1;
  };

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(incoming);
    const request = describeRequest(incoming, body.toString('utf8'));
    counters.requests++;
    const eligible = faults.applies ? faults.applies(request) : true;
    // Every request draws the same number of values, so one request's fault never shifts the next one's.
    const [throttleDraw, errorDraw, dropDraw, latencyDraw] = [random(), random(), random(), random()];
    const fault = !eligible
      ? undefined
      : throttleDraw < (faults.throttleRate ?? 0)
        ? 'throttle'
        : errorDraw < (faults.serverErrorRate ?? 0)
          ? 'server-error'
          : dropDraw < (faults.dropRate ?? 0)
            ? 'drop'
            : undefined;
    if (fault) bump(counters.faultsByAction, `${request.action} ${fault}`);
    if (fault === 'throttle') {
      counters.throttled++;
      send(response, throttleResponse(request));
      return;
    }
    if (fault === 'server-error' && !faults.serverErrorAfterForward) {
      counters.serverErrors++;
      send(response, serverErrorResponse(request));
      return;
    }
    if (eligible && faults.latencyMs && latencyDraw < (faults.latencyRate ?? 1)) {
      counters.delayed++;
      await sleep(faults.latencyMs);
    }
    const answer = await forward(target, incoming, body);
    counters.forwarded++;
    if (request.mutating) counters.mutating++;
    bump(counters.byAction, request.action);
    if (fault === 'drop') {
      counters.dropped++;
      incoming.socket.destroy();
      return;
    }
    if (fault === 'server-error') {
      counters.serverErrors++;
      send(response, serverErrorResponse(request));
      return;
    }
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(answer.body.length);
    response.writeHead(answer.status, headers);
    response.end(answer.body);
  };

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      if (!response.headersSent) {
        send(response, { status: 502, body: `fault proxy: upstream failed: ${String(error)}` });
      } else {
        response.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${HOST}:${port}`,
    get counters() {
      return counters;
    },
    resetCounters() {
      counters = emptyCounters();
    },
    setFaults(next) {
      faults = next;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
