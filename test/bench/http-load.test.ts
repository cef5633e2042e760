// The benchmarks' raw-socket HTTP/1.1 load generator (bench/lib/http-load.ts): its answer parser
// (RFC 9112 §6.3 message length: Content-Length, chunked, bodiless statuses) and whole runs
// against node:http servers that answer in each of those ways, including ones that close the
// connection after every answer.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { httpLoad, parseAnswer } from '../../bench/lib/http-load.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('parseAnswer: Content-Length, chunked, bodiless, incomplete, malformed', async (t) => {
  const full = b('HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}');
  t.same(parseAnswer(full), { answer: { status: 201, body: '{"a":1}' }, bytes: full.length, close: false });
  for (let cut = 0; cut < full.length; cut++) t.equal(parseAnswer(full.subarray(0, cut)), null, `incomplete at ${cut} bytes`);
  const chunked = b('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n');
  t.same(parseAnswer(chunked), { answer: { status: 200, body: 'abc0123456789' }, bytes: chunked.length, close: true });
  for (let cut = 0; cut < chunked.length; cut++) t.equal(parseAnswer(chunked.subarray(0, cut)), null, `chunked incomplete at ${cut}`);
  const twoInARow = Buffer.concat([full, full]);
  t.equal(parseAnswer(twoInARow)?.bytes, full.length, 'only the first answer is consumed');
  t.same(parseAnswer(b('HTTP/1.1 204 No Content\r\nX: y\r\n\r\n'))?.answer, { status: 204, body: '' });
  t.throws(() => parseAnswer(b('SSH-2.0-OpenSSH\r\n\r\n')), /not an HTTP\/1.x status line/);
  t.throws(() => parseAnswer(b('HTTP/1.1 200 OK\r\n\r\n')), /neither Content-Length nor chunked/);
  t.throws(() => parseAnswer(b('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n')), /bad chunk size/);
  t.throws(() => parseAnswer(Buffer.alloc(20_000, 0x41)), /answer head longer than/);
});

async function serve(t: Test, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

t.test('httpLoad counts every answer, whatever the framing, and reconnects after close', async (t) => {
  let seen = 0;
  const port = await serve(t, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen++;
      const body = Buffer.concat(chunks).toString();
      const n = Number(/\/(\d+)$/.exec(req.url ?? '')?.[1]);
      // Rotate framings: Content-Length, chunked, bodiless 204, and Connection: close.
      if (n % 4 === 0) res.writeHead(201, { 'content-length': Buffer.byteLength(body) }).end(body);
      else if (n % 4 === 1) {
        res.writeHead(201, { 'content-type': 'text/plain' });
        res.write(body.slice(0, 3));
        res.end(body.slice(3));
      } else if (n % 4 === 2) res.writeHead(204).end();
      else res.writeHead(201, { connection: 'close', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  const count = 400;
  const r = await httpLoad({
    host: '127.0.0.1', port, concurrency: 8, seconds: 30, count,
    request: (_seq, i) => ({ method: 'PUT', path: `/x/${i}`, body: Buffer.from(`{"i":${i}}`) }),
    ok: (status, body, i) => (i % 4 === 2 ? status === 204 && body === '' : status === 201 && body === `{"i":${i}}`),
  });
  t.equal(r.failed, 0, r.firstFailure ?? 'no failures');
  t.equal(r.ok, count);
  t.equal(seen, count, 'one request per answer');
});

t.test('httpLoad reports a server that stops answering as failures, not a hang', async (t) => {
  const port = await serve(t, (req) => req.socket.destroy());
  const r = await httpLoad({ host: '127.0.0.1', port, concurrency: 2, seconds: 0.3, request: () => ({ method: 'GET', path: '/' }), ok: () => true });
  t.equal(r.ok, 0);
  t.ok(r.failed > 0);
  t.match(r.firstFailure, /closed the connection/);
});
