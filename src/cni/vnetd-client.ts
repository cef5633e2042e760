// A minimal JSON client of the vnetd HTTP API on node:http (no dependencies, so `vnetd-cni`
// starts fast). It knows nothing about IPAM: it sends one request and hands back the status and
// the parsed body. Used by the CNI plugin and by the Docker IPAM driver.

import http from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { cniLimits } from './limits.js';

/** vnetd could not be reached, or did not answer in time or in JSON: a caller may retry later. */
export class VnetdUnreachable extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`vnetd at ${url} is unreachable: ${reason}`);
    this.name = 'VnetdUnreachable';
  }
}

export interface VnetdAnswer {
  readonly status: number;
  /** Parsed JSON, or undefined for an empty body (204). */
  readonly body: unknown;
}

export interface VnetdClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:62080` (http or https). */
  readonly url: string;
  /** Bearer token for vnetd's `--api-token`, when it has one. */
  readonly token?: string;
  readonly timeoutMs?: number;
}

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/**
 * A fresh connection per request. Node 20's global agent keeps connections alive, and a request
 * sent on one the server is closing at that moment (vnetd drops idle ones after 5 s) fails with
 * ECONNRESET; the long-running Docker driver would report that to dockerd as an outage.
 */
const oneShot = new http.Agent({ keepAlive: false });

/** The error body vnetd answers with: `{"error": CODE, "message": TEXT, ...details}`. */
export interface VnetdErrorBody {
  readonly error: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

export function isErrorBody(x: unknown): x is VnetdErrorBody {
  return typeof x === 'object' && x !== null && typeof (x as { error?: unknown }).error === 'string' && typeof (x as { message?: unknown }).message === 'string';
}

export class VnetdClient {
  readonly url: string;
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: VnetdClientOptions) {
    this.base = new URL(options.url);
    this.url = options.url;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? cniLimits.requestTimeoutMs;
  }

  async request(method: Method, path: string, body?: unknown): Promise<VnetdAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const target = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    const options: RequestOptions = { method, headers, timeout: this.timeoutMs, ...(target.protocol === 'http:' ? { agent: oneShot } : {}) };
    // https is loaded only when asked for: most plugin runs talk to loopback over http.
    const lib: typeof http = target.protocol === 'https:' ? ((await import('node:https')).default as unknown as typeof http) : http;
    return new Promise<VnetdAnswer>((resolve, reject) => {
      const fail = (reason: string): void => reject(new VnetdUnreachable(this.url, reason));
      const req = lib.request(target, options, (res) => readAnswer(res, this.url).then(resolve, reject));
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => fail(err.code === undefined ? err.message : `${err.code} ${err.message}`));
      req.end(payload);
    });
  }
}

function readAnswer(res: IncomingMessage, url: string): Promise<VnetdAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cniLimits.responseBytesMax) {
        res.destroy();
        reject(new VnetdUnreachable(url, `answer larger than ${cniLimits.responseBytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', (err) => reject(new VnetdUnreachable(url, err.message)));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') {
        resolve({ status: res.statusCode ?? 0, body: undefined });
        return;
      }
      try {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
      } catch {
        reject(new VnetdUnreachable(url, `HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 120)}`));
      }
    });
  });
}
