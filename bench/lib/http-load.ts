// The closed-loop HTTP load generator every write benchmark uses, whatever the server (vnetd,
// etcd): `concurrency` workers on keep-alive connections, each sending its next request as soon as
// the previous answer is read, for a fixed time. Same code for every server, so ratios compare
// servers, not clients.
import http from 'node:http';
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

/** Runs the load and summarises it; latencies are of successful requests only. */
export async function httpLoad(o: HttpLoadOptions): Promise<HttpLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
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
    while (performance.now() < endAt && issued < count) {
      const i = issued++;
      const spec = o.request(nextSeq++, i);
      const t0 = performance.now();
      try {
        const r = await once(agent, o, spec);
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
  agent.destroy();
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
