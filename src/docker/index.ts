// The Docker remote IPAM driver served on a unix socket (src/docker/README.md). dockerd finds it
// as /run/docker/plugins/<name>.sock (or a .spec file naming the socket) and POSTs JSON to the
// libnetwork endpoints; every answer is JSON, errors are a non-200 status with `{"Err": "..."}`.

import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { VnetdClient } from '../cni/vnetd-client.js';
import { DockerIpamDriver } from './driver.js';
import { dockerLimits } from './limits.js';
import { DockerIpamError, isEndpoint, pluginContentType } from './protocol.js';

export { DockerIpamDriver, addressSpaces, networkOption, poolIdOf, poolLabel } from './driver.js';
export { DockerIpamError, endpoints } from './protocol.js';

export interface DockerIpamDriverOptions {
  /** Unix socket to listen on, e.g. /run/docker/plugins/vnetd.sock (its directory is created). */
  readonly socketPath: string;
  /** vnetd's HTTP API, e.g. `http://127.0.0.1:62080` (any member: writes are forwarded). */
  readonly url: string;
  /** Bearer token when vnetd runs with --api-token. */
  readonly token?: string;
  /** The vnetd agent id of this host. */
  readonly agent: string;
  /** Network for pools whose options name none (default: none, the option is then required). */
  readonly defaultNetwork?: string;
  /** Called for each failed call (the answer dockerd got), for the server's log. */
  readonly onError?: (endpoint: string, err: DockerIpamError) => void;
}

export interface RunningDockerIpamDriver {
  readonly socketPath: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= dockerLimits.requestBytesMax) {
        chunks.push(c);
        return;
      }
      // Stop buffering but keep the socket, so the 400 can still be sent (then it is closed).
      req.off('data', onData);
      req.pause();
      reject(new DockerIpamError('invalid', `request body larger than ${dockerLimits.requestBytesMax} bytes`));
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(new DockerIpamError('invalid', 'the request body is not JSON'));
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': pluginContentType, 'content-length': Buffer.byteLength(data), ...(close ? { connection: 'close' } : {}) });
  res.end(data);
}

async function serve(driver: DockerIpamDriver, o: DockerIpamDriverOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0] ?? '';
  try {
    if (!isEndpoint(path)) throw new DockerIpamError('not_found', `unknown endpoint ${path}: this is a libnetwork IPAM driver`);
    if (req.method !== 'POST') throw new DockerIpamError('invalid', `${req.method} ${path}: plugin calls are POST`);
    send(res, 200, await driver.handle(path, await readBody(req)));
  } catch (err) {
    const e = err instanceof DockerIpamError ? err : new DockerIpamError('internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
    o.onError?.(path, e);
    // After a failed call the rest of the request may be unread: close rather than reuse the connection.
    if (!res.headersSent) send(res, e.status, { Err: e.message }, !req.complete);
  }
}

/** Removes a stale socket left by a previous run (only a socket: never a regular file). */
function clearStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function startDockerIpamDriver(o: DockerIpamDriverOptions): Promise<RunningDockerIpamDriver> {
  const client = new VnetdClient({ url: o.url, ...(o.token === undefined ? {} : { token: o.token }) });
  const driver = new DockerIpamDriver({ client, agent: o.agent, ...(o.defaultNetwork === undefined ? {} : { defaultNetwork: o.defaultNetwork }) });
  mkdirSync(dirname(o.socketPath), { recursive: true });
  clearStaleSocket(o.socketPath);
  const server = http.createServer((req, res) => void serve(driver, o, req, res));
  server.keepAliveTimeout = dockerLimits.keepAliveMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    socketPath: o.socketPath,
    // Idempotent: a second close must not unlink a socket a newer driver has bound since.
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          clearStaleSocket(o.socketPath);
          resolve();
        });
        server.closeAllConnections();
      })),
  };
}
