// The HTTP API server (no framework): URL and query parsing, routing, bearer-token checks, schema
// checks of path, query and body, the JSON error envelope, metrics per route, and a graceful stop
// that lets in-flight requests finish. Plain requests are read and answered by the lean path
// (lean-connection.ts); node:http takes every connection from its first request that is not plain.
// Both run the same respond(): only the framing differs.

import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ApiContext } from './context.js';
import { ApiError, toApiError } from './errors.js';
import { apiLimits } from './limits.js';
import { Router } from './router.js';
import type { Method, RawRequest, Reply, Request, Route } from './router.js';
import { checkBody, checkParams, checkQuery } from './schemas.js';
import { clusterRoutes } from './routes/cluster.js';
import { networkRoutes } from './routes/networks.js';
import { agentRoutes } from './routes/agents.js';
import { taskRoutes } from './routes/tasks.js';
import { appliedHeader, readBarrier } from './writes.js';
import { openApiDocument } from './openapi.js';
import { LeanConnection } from './lean-connection.js';
import type { LeanAnswer, LeanHost } from './lean-connection.js';
import { assert } from '../../raft/core/assert.js';
import { parseFlatObject } from './flat-json.js';

export interface ApiServer {
  readonly server: http.Server;
  /** Starts serving the API; until then every request answers 503 (the node is still opening). */
  attach(ctx: ApiContext): void;
  /** Binds; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, lets in-flight requests finish (up to drainMs), then closes every connection. */
  close(): Promise<void>;
}

const methods: ReadonlySet<string> = new Set<Method>(['GET', 'PUT', 'POST', 'PATCH', 'DELETE']);

export function buildRouter(ctx: ApiContext): Router {
  const router = new Router();
  const metricsRoute: Route = {
    method: 'GET', pattern: '/metrics', access: 'read', params: 'none', query: 'none',
    handle: async () => ({ status: 200, raw: { contentType: ctx.metrics.registry.contentType, data: await ctx.metrics.registry.metrics() } }),
  };
  // A backup: the state machine's snapshot bytes as of the applied index in the header.
  const snapshotRoute: Route = {
    method: 'GET', pattern: '/v1/snapshot', access: 'read', params: 'none', query: 'read',
    handle: async (req) => {
      if (req.query['consistent'] === 'true') await readBarrier(ctx);
      const index = ctx.ipam.appliedIndex;
      return { status: 200, raw: { contentType: 'application/octet-stream', data: Buffer.from(ctx.ipam.snapshot()) }, headers: { [appliedHeader]: String(index) } };
    },
  };
  const routes: Route[] = [...clusterRoutes(ctx), snapshotRoute, ...networkRoutes(ctx), ...agentRoutes(ctx), ...taskRoutes(ctx), metricsRoute];
  const openApi: Route = { method: 'GET', pattern: '/v1/openapi.json', access: 'open', params: 'none', query: 'none', handle: () => ({ status: 200, body: document }) };
  const document = openApiDocument([...routes, openApi]);
  for (const r of [...routes, openApi]) router.add(r);
  return router;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function checkToken(ctx: ApiContext, route: Route, raw: RawRequest): void {
  if (ctx.token === null || route.access === 'open' || (route.access === 'read' && !ctx.tokenReads)) return;
  const header = raw.headers['authorization'];
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  // Compare digests: equal lengths for timingSafeEqual, and no timing hint about the token.
  if (m === null || !timingSafeEqual(digest(m[1]!), digest(ctx.token))) {
    throw new ApiError('unauthorized', m === null ? 'this endpoint needs "Authorization: Bearer TOKEN"' : 'wrong bearer token');
  }
}

const emptyQuery: Readonly<Record<string, string>> = Object.freeze({});

function parseQuery(search: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of search) {
    if (k in out) throw new ApiError('invalid', `?${k} is given more than once`, { field: `?${k}` });
    out[k] = v;
  }
  return { ...out };
}

function readBody(raw: IncomingMessage): Promise<Buffer> {
  const declared = Number(raw.headers['content-length'] ?? 0);
  if (declared > apiLimits.bodyBytesMax) {
    return Promise.reject(new ApiError('too_large', `the body is ${declared} bytes; at most ${apiLimits.bodyBytesMax}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    raw.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > apiLimits.bodyBytesMax) {
        reject(new ApiError('too_large', `the body exceeds ${apiLimits.bodyBytesMax} bytes`));
        raw.pause();
        return;
      }
      chunks.push(c);
    });
    // A body in one chunk (the usual case) is used as is: Buffer.concat would copy it.
    raw.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    raw.on('error', reject);
  });
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function parseBody(route: Route, rawBody: Buffer): unknown {
  if (route.body === undefined) {
    if (rawBody.length > 0) throw new ApiError('invalid', `${route.method} ${route.pattern} takes no body`, { field: '' });
    return undefined;
  }
  let text: string;
  try {
    text = utf8Strict.decode(rawBody);
  } catch {
    // RFC 8259 §8.1: JSON text is UTF-8. Decoding leniently would store U+FFFD in names that the
    // client never sent (found by the chaos fuzzer), so invalid bytes are refused instead.
    throw new ApiError('invalid', 'the body is not valid UTF-8', { field: '' });
  }
  let body: unknown;
  try {
    body = parseFlatObject(text) ?? JSON.parse(text);
  } catch (err) {
    throw new ApiError('invalid', rawBody.length === 0 ? 'a JSON body is required' : `the body is not valid JSON: ${(err as Error).message}`, { field: '' });
  }
  checkBody(route.body, body);
  return body;
}

/**
 * A request target the WHATWG URL parser would leave exactly as it is: printable ASCII that needs
 * no percent-encoding in a path, no backslash, no fragment, no `.` or `..` segment (also as %2e),
 * and not `//` first (which it reads as a host).
 */
const plainTarget = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$/;
const dotSegment = /\/(\.|%2e){1,2}(\/|\?|$)/i;
const noQuery = new URLSearchParams();

/**
 * The path and query of a request target. `new URL()` costs about 10 us per request (profiled on
 * the write path), so targets it would not change are split by hand; anything else (dot segments,
 * backslashes, characters it would encode) still goes through it, so both give the same answer.
 */
export function splitTarget(url: string): { pathname: string; searchParams: URLSearchParams } {
  if (plainTarget.test(url) && !dotSegment.test(url)) {
    const q = url.indexOf('?');
    return q < 0 ? { pathname: url, searchParams: noQuery } : { pathname: url.slice(0, q), searchParams: new URLSearchParams(url.slice(q)) }; // it drops one leading '?', as URL does
  }
  return new URL(url, 'http://vnetd.invalid');
}

interface Prepared {
  readonly route: Route;
  readonly req: Request;
}

/**
 * Turns a raw request into a checked Request for its route (every failure is an ApiError). The
 * body is node:http's stream, or the bytes the lean path already read.
 */
function prepare(ctx: ApiContext, router: Router, raw: RawRequest, body: IncomingMessage | Buffer, routeOut: { route: string }): Prepared | Promise<Prepared> {
  const url = raw.url ?? '/';
  if (url.length > apiLimits.urlCharsMax) throw new ApiError('invalid', `the URL is longer than ${apiLimits.urlCharsMax} characters`, { field: '' });
  const parsed = splitTarget(url);
  const method = raw.method ?? 'GET';
  if (!methods.has(method)) throw new ApiError('method_not_allowed', `method ${method} is not supported`);
  const { route, params } = router.match(method, parsed.pathname);
  routeOut.route = route.pattern;
  checkToken(ctx, route, raw);
  checkParams(route.params, params);
  const query = parsed.searchParams === noQuery ? emptyQuery : parseQuery(parsed.searchParams);
  checkQuery(route.query, query);
  const withBody = (rawBody: Buffer): Prepared => ({ route, req: { method: method as Method, route: route.pattern, path: parsed.pathname, params, query, body: parseBody(route, rawBody), rawBody, raw } });
  // The lean path's body is already read: no promise for it (one fewer per request).
  return Buffer.isBuffer(body) ? withBody(body) : readBody(body).then(withBody);
}

/** The headers (applied index, content type, the reply's own) and body bytes of a reply, for either path. */
function wireReply(reply: Reply, appliedIndex: number): { headers: Record<string, string>; body: string | Buffer | null } {
  const headers: Record<string, string> = { [appliedHeader]: String(appliedIndex), ...reply.headers };
  if (reply.raw !== undefined) {
    headers['content-type'] = reply.raw.contentType;
    return { headers, body: reply.raw.data };
  }
  if (reply.body === undefined || reply.status === 204) return { headers, body: null };
  headers['content-type'] = 'application/json';
  return { headers, body: JSON.stringify(reply.body) + '\n' };
}

const byteLength = (body: string | Buffer | null): number => (body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length);

function send(res: ServerResponse, reply: Reply, appliedIndex: number): void {
  const { headers, body } = wireReply(reply, appliedIndex);
  // A length, as the lean path sends: writeHead before end would otherwise make node:http chunk
  // the body (RFC 9112 §6.3 allows both; the length is fewer bytes and one parse less).
  if (reply.status !== 204) headers['content-length'] = String(byteLength(body));
  res.writeHead(reply.status, headers).end(body ?? undefined);
}

/** The reply to one request, whatever went wrong, and the route pattern it matched (the metrics label). */
async function respond(ctx: ApiContext, router: Router, raw: RawRequest, body: IncomingMessage | Buffer): Promise<{ reply: Reply; route: string }> {
  const label = { route: 'unmatched' };
  try {
    const prepared = prepare(ctx, router, raw, body, label);
    const { route, req } = prepared instanceof Promise ? await prepared : prepared;
    return { reply: await route.handle(req), route: label.route };
  } catch (err) {
    const e = toApiError(err);
    if (e.code === 'internal') ctx.log.error('request failed', { method: raw.method, url: raw.url, err: err instanceof Error ? err.stack ?? err.message : String(err) });
    return { reply: { status: e.status, body: e.body(), ...(e.code === 'too_large' ? { headers: { connection: 'close' } } : {}) }, route: label.route };
  }
}

function record(ctx: ApiContext, rawMethod: string | undefined, route: string, status: number, startedMs: number): void {
  // Bounded label values: the methods the API knows, anything else is "other".
  const method = methods.has(rawMethod ?? '') ? (rawMethod as string) : 'other';
  ctx.metrics.httpRequests.inc([method, route, String(status)]);
  ctx.metrics.httpSeconds.observe([method, route], (performance.now() - startedMs) / 1000);
}

async function handle(ctx: ApiContext, router: Router, raw: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const { reply, route } = await respond(ctx, router, raw, raw);
  if (!res.headersSent) send(res, reply, ctx.ipam.appliedIndex);
  record(ctx, raw.method, route, reply.status, started);
}

/** A reply as the lean path writes it: the headers send() would give node:http, and the body bytes. */
function leanAnswer(reply: Reply, appliedIndex: number, written: () => void): LeanAnswer {
  const { headers, body } = wireReply(reply, appliedIndex);
  // The lean path writes Connection itself; a reply can only ask for close (413).
  const connection = headers['connection'];
  if (connection !== undefined) delete headers['connection'];
  return { status: reply.status, headers, body, close: connection?.toLowerCase() === 'close', written };
}

/** The 503 body both paths send before attach(). */
const startingJson = (): string => JSON.stringify(new ApiError('unavailable', 'the node is starting').body()) + '\n';

/**
 * The HTTP server. It can listen before the node exists (so a port-0 address is known for the
 * node's member context); requests before `attach` get 503 "unavailable".
 */
export function createApiServer(): ApiServer {
  let state: { ctx: ApiContext; router: Router } | null = null;
  let inFlight = 0;
  let drained: (() => void) | null = null;
  let stopping = false;
  const finished = (): void => {
    inFlight--;
    if (inFlight === 0 && drained !== null) drained();
  };
  const server = http.createServer((raw, res) => {
    inFlight++;
    // A response queued behind one that closed the connection (pipelining) never closes itself:
    // the socket's close ends it too, or a stop would wait drainMs for it.
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      raw.socket.off('close', finish);
      finished();
    };
    res.once('close', finish);
    raw.socket.once('close', finish);
    if (state === null) {
      raw.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end(startingJson());
      return;
    }
    void handle(state.ctx, state.router, raw, res);
  });
  server.keepAliveTimeout = apiLimits.keepAliveMs;
  server.headersTimeout = apiLimits.headersMsMax;
  server.requestTimeout = apiLimits.requestMsMax;
  const lean = leanPath(server, {
    serve: async (head, body) => {
      const started = performance.now();
      inFlight++;
      if (state === null) return { status: 503, headers: { 'content-type': 'application/json' }, body: startingJson(), close: false, written: finished };
      const { ctx } = state;
      const { reply, route } = await respond(ctx, state.router, head, body);
      return leanAnswer(reply, ctx.ipam.appliedIndex, () => {
        finished();
        record(ctx, head.method, route, reply.status, started);
      });
    },
    isStopping: () => stopping,
  });
  return {
    server,
    attach: (ctx) => {
      state = { ctx, router: buildRouter(ctx) };
    },
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address();
          resolve(a !== null && typeof a === 'object' ? a.port : port);
        });
      }),
    close: async () => {
      stopping = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      lean.closeIdle();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise((r) => setTimeout(r, apiLimits.drainMs).unref())]);
      }
      server.closeAllConnections();
      lean.closeAll();
      await closed;
    },
  };
}

/**
 * Puts the lean path in front of node:http: every accepted connection starts lean, and node:http's
 * own connection listener (taken off the server here) gets the connections the lean path gives up.
 */
function leanPath(server: http.Server, o: { serve: LeanHost['serve']; isStopping: () => boolean }): { closeIdle(): void; closeAll(): void } {
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  assert(listeners.length === 1, () => `http.Server has ${listeners.length} connection listeners, expected node:http's one`);
  const httpConnection = listeners[0]!;
  server.removeListener('connection', httpConnection);
  const connections = new Set<LeanConnection>();
  const host: LeanHost = {
    serve: o.serve,
    handOver: (socket) => httpConnection.call(server, socket),
    get stopping() {
      return o.isStopping();
    },
    released: (c) => connections.delete(c),
  };
  let sweep: NodeJS.Timeout | null = null;
  server.on('connection', (socket: Socket) => {
    connections.add(new LeanConnection(socket, host));
    sweep ??= setInterval(() => {
      const now = Date.now();
      for (const c of connections) c.sweep(now);
    }, apiLimits.timeoutSweepMs).unref();
  });
  server.on('close', () => {
    if (sweep !== null) clearInterval(sweep);
    sweep = null;
  });
  return {
    closeIdle: () => {
      for (const c of [...connections]) c.closeIdle();
    },
    closeAll: () => {
      for (const c of [...connections]) c.destroy();
    },
  };
}
