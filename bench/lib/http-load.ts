// The closed-loop HTTP load generator every write benchmark uses, whatever the server (vnetd,
// etcd): `concurrency` workers, each on its own keep-alive connection, sending its next request as
// soon as the previous answer is read, for a fixed time. Same code for every server, so ratios
// compare servers, not clients.
//
// The workers speak HTTP/1.1 on raw sockets (a request is one write of a prebuilt head and the
// body; the answer is read by a minimal parser for Content-Length and chunked bodies) instead of
// node:http's client: the generator shares the machine's 2 cores with the servers it measures, and
// node:http's agent, request and response objects cost it about three times the CPU per request
// (profiled: 3.0 s of CPU for 14,000 requests at 64 in flight), CPU taken from the servers.
import http from 'node:http';
import net from 'node:net';
import { Latencies } from '../harness.js';

export interface HttpRequestSpec {
  readonly method: 'PUT' | 'POST' | 'GET' | 'DELETE';
  readonly path: string;
  readonly body?: Buffer;
}

export interface HttpLoadOptions {
  readonly host: string;
  readonly port: number;
  readonly concurrency: number;
  readonly seconds: number;
  /** Stop after this many requests even before `seconds` (a setup batch). */
  readonly count?: number;
  /**
   * Request number `seq` (unique over the whole process, so ids never repeat across runs) and `i`
   * (0-based within this run).
   */
  readonly request: (seq: number, i: number) => HttpRequestSpec;
  /** Whether an answer counts as a success. */
  readonly ok: (status: number, body: string, i: number) => boolean;
}

export interface HttpLoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly firstFailure: string | null;
  readonly elapsedMs: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export const httpLoadLimits = {
  /** One request that takes longer than this counts as failed (and is abandoned). */
  requestTimeoutMs: 30_000,
  /** After a failure a worker waits this long, so a refusing server is not hammered in a busy loop. */
  failureBackoffMs: 5,
  /** An answer's head (status line and headers) larger than this is refused as malformed. */
  headBytesMax: 16 * 1024,
  /** An answer's body larger than this is refused (the benchmarked answers are under 1 KiB). */
  bodyBytesMax: 16 * 1024 * 1024,
} as const;

let nextSeq = 0;

function once(agent: http.Agent, o: HttpLoadOptions, spec: HttpRequestSpec): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { connection: 'keep-alive' };
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = spec.body.length;
    }
    const req = http.request({ host: o.host, port: o.port, method: spec.method, path: spec.path, agent, headers, timeout: httpLoadLimits.requestTimeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${httpLoadLimits.requestTimeoutMs} ms`)));
    req.on('error', reject);
    req.end(spec.body);
  });
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** Parses one complete answer at the start of `buf`: the answer and its length, or null if incomplete. */
export function parseAnswer(buf: Buffer): { answer: Answer; bytes: number; close: boolean } | null {
  const headEnd = buf.indexOf(CRLF2);
  if (headEnd < 0) {
    if (buf.length > httpLoadLimits.headBytesMax) throw new Error(`answer head longer than ${httpLoadLimits.headBytesMax} bytes`);
    return null;
  }
  const head = buf.toString('latin1', 0, headEnd);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (m === null) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(head.slice(0, 40))}`);
  const status = Number(m[1]);
  const lower = head.toLowerCase();
  const close = /\r\nconnection:\s*close/.test(lower);
  const bodyStart = headEnd + 4;
  const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  if (lengthMatch !== null) {
    const length = Number(lengthMatch[1]);
    if (length > httpLoadLimits.bodyBytesMax) throw new Error(`answer body of ${length} bytes`);
    if (buf.length < bodyStart + length) return null;
    return { answer: { status, body: buf.toString('utf8', bodyStart, bodyStart + length) }, bytes: bodyStart + length, close };
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) return parseChunked(buf, status, bodyStart, close);
  // No length and not chunked: only bodiless answers are expected here (RFC 9112 §6.3).
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { answer: { status, body: '' }, bytes: bodyStart, close };
  throw new Error(`answer ${status} has neither Content-Length nor chunked encoding`);
}

/** RFC 9112 §7.1: size line, data, CRLF, ... a zero-size chunk, then (no trailers expected) CRLF. */
function parseChunked(buf: Buffer, status: number, from: number, close: boolean): { answer: Answer; bytes: number; close: boolean } | null {
  const parts: Buffer[] = [];
  let at = from;
  let total = 0;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error('bad chunk size line');
    total += size;
    if (total > httpLoadLimits.bodyBytesMax) throw new Error(`chunked body above ${httpLoadLimits.bodyBytesMax} bytes`);
    const dataEnd = lineEnd + 2 + size;
    if (buf.length < dataEnd + 2) return null;
    if (size === 0) return { answer: { status, body: Buffer.concat(parts).toString('utf8') }, bytes: dataEnd + 2, close };
    parts.push(buf.subarray(lineEnd + 2, dataEnd));
    at = dataEnd + 2;
  }
}

/** One keep-alive connection carrying one request at a time. */
class RawConnection {
  private socket: net.Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | null = null;
  private readonly hostHeader: string;

  constructor(private readonly host: string, private readonly port: number) {
    this.hostHeader = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  request(spec: HttpRequestSpec): Promise<Answer> {
    const socket = this.socket ?? this.connect();
    const body = spec.body;
    const head = `${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n` +
      (body === undefined ? '\r\n' : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      // One write per request: a head and body written apart could leave as two segments.
      socket.write(body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    // Events of a socket already dropped (its 'close' comes later) must not touch its successor.
    const current = (): boolean => this.socket === socket;
    socket.setTimeout(httpLoadLimits.requestTimeoutMs, () => current() && this.fail(new Error(`no answer within ${httpLoadLimits.requestTimeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => current() && this.onData(chunk));
    socket.on('error', (err) => current() && this.fail(err));
    socket.on('close', () => current() && this.fail(new Error('the server closed the connection')));
    this.socket = socket;
    this.buffered = Buffer.alloc(0);
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let parsed: ReturnType<typeof parseAnswer>;
    try {
      parsed = parseAnswer(this.buffered);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (parsed === null) return;
    const waiting = this.waiting;
    this.waiting = null;
    this.buffered = this.buffered.subarray(parsed.bytes);
    if (waiting === null || this.buffered.length > 0) {
      this.fail(new Error('an answer nobody asked for'));
      return;
    }
    if (parsed.close) this.drop();
    waiting.resolve(parsed.answer);
  }

  /** Rejects the request in flight (if any) and forgets the socket; the next request reconnects. */
  private fail(err: Error): void {
    this.drop();
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(err);
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }

  close(): void {
    this.drop();
  }
}

/** Runs the load and summarises it; latencies are of successful requests only. */
export async function httpLoad(o: HttpLoadOptions): Promise<HttpLoadResult> {
  const connections: RawConnection[] = [];
  const latencies = new Latencies();
  let ok = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  const started = performance.now();
  const endAt = started + o.seconds * 1000;
  const fail = async (why: string): Promise<void> => {
    failed++;
    firstFailure ??= why;
    await new Promise((r) => setTimeout(r, httpLoadLimits.failureBackoffMs));
  };
  const count = o.count ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  const worker = async (): Promise<void> => {
    const connection = new RawConnection(o.host, o.port);
    connections.push(connection);
    while (performance.now() < endAt && issued < count) {
      const i = issued++;
      const spec = o.request(nextSeq++, i);
      const t0 = performance.now();
      try {
        const r = await connection.request(spec);
        if (o.ok(r.status, r.body, i)) {
          latencies.record(performance.now() - t0);
          ok++;
        } else {
          await fail(`${spec.method} ${spec.path}: ${r.status} ${r.body.slice(0, 300)}`);
        }
      } catch (err) {
        await fail(`${spec.method} ${spec.path}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  for (const c of connections) c.close();
  return { ok, failed, firstFailure, elapsedMs, opsPerSec: Math.round((ok / elapsedMs) * 1000), ...latencies.summary() };
}

/** One request outside a load run (setup calls); throws unless the status is in `expect`. */
export async function httpCall(host: string, port: number, method: HttpRequestSpec['method'], path: string, body: unknown, expect: readonly number[]): Promise<unknown> {
  const agent = new http.Agent({ keepAlive: false });
  const spec: HttpRequestSpec = body === undefined ? { method, path } : { method, path, body: Buffer.from(JSON.stringify(body)) };
  const r = await once(agent, { host, port, concurrency: 1, seconds: 0, request: () => spec, ok: () => true }, spec);
  agent.destroy();
  if (!expect.includes(r.status)) throw new Error(`${method} http://${host}:${port}${path}: ${r.status} ${r.body.slice(0, 500)}`);
  return r.body === '' ? null : (JSON.parse(r.body) as unknown);
}

/** Splits "host:port". */
export function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}
