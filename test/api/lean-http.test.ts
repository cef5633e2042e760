// The lean HTTP/1.1 path (src/api/lean-connection.ts, http-wire.ts): which heads it takes, and
// that a client cannot tell it from node:http: keep-alive, pipelining with answers in request
// order (RFC 9112 §9.3.2), Connection: close (§9.6), heads and bodies split anywhere, and every
// request it does not take (HEAD, chunked, Expect: 100-continue, malformed) answered by node:http
// on the same connection after the earlier answers, as before the lean path existed.

import t from 'tap';
import type { Test } from 'tap';
import net from 'node:net';
import { incomplete, other, parseHead } from '../../src/api/http-wire.js';
import type { LeanHead } from '../../src/api/http-wire.js';
import { LeanConnection } from '../../src/api/lean-connection.js';
import type { LeanHost } from '../../src/api/lean-connection.js';
import { apiLimits } from '../../src/api/limits.js';
import { mulberry32 } from '../util/prng.js';
import { FakeNode, serveFake } from './fake-node.js';

const head = (s: string): ReturnType<typeof parseHead> => parseHead(Buffer.from(s, 'latin1'));

t.test('parseHead takes plain requests and leaves everything else to node:http', async (t) => {
  const put = 'PUT /v1/tasks/t1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"name":"a"}';
  const h = head(put) as LeanHead;
  t.equal(h.method, 'PUT');
  t.equal(h.url, '/v1/tasks/t1');
  t.same(h.headers, { host: 'x', 'content-type': 'application/json', 'content-length': '12' }, 'lower-case names');
  t.equal(h.headBytes, put.length - 12);
  t.equal(h.bodyBytes, 12);
  t.equal(h.close, false);
  t.same((head('GET /v1/health HTTP/1.1\r\nHost: x\r\nAuthorization:   Bearer  t \t\r\nConnection: Close\r\n\r\n') as LeanHead).headers.authorization, 'Bearer  t', 'RFC 9110 §5.5: surrounding whitespace is not part of the value');
  t.equal((head('GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n') as LeanHead).close, true);
  t.equal((head('DELETE /v1/tasks/a%2Fb?x=1 HTTP/1.1\r\nHost: x\r\n\r\n') as LeanHead).bodyBytes, 0);
  t.equal(head('PUT /v1/tasks/t1 HTTP/1.1\r\nHost: x\r\n'), incomplete, 'no blank line yet');
  t.equal(head('PU'), incomplete, 'a method prefix');
  const others: Record<string, string> = {
    'HEAD (no body in the answer)': 'HEAD /v1/health HTTP/1.1\r\nHost: x\r\n\r\n',
    'OPTIONS': 'OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n',
    'a partial head of another method': 'OPTI',
    'HTTP/1.0 (keep-alive rules differ)': 'GET / HTTP/1.0\r\nHost: x\r\n\r\n',
    'chunked': 'PUT /v1/tasks/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    'Expect: 100-continue': 'PUT /v1/tasks/t HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n',
    'Upgrade': 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    'no Host (node:http answers 400)': 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n',
    'a repeated header': 'PUT /v1/tasks/t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n',
    'a body above the limit (413 comes from the usual path)': `PUT /v1/tasks/t HTTP/1.1\r\nHost: x\r\nContent-Length: ${apiLimits.bodyBytesMax + 1}\r\n\r\n`,
    'a signed length': 'PUT /v1/tasks/t HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n',
    'obs-fold (RFC 9112 §5.2)': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
    'a space before the colon (RFC 9112 §5.1)': 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
    'a bare LF': 'GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n',
    'obs-text in a value': 'GET / HTTP/1.1\r\nHost: x\r\nX: \xe9\r\n\r\n',
    'a space in the target': 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
    'a fragment': 'GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n',
    'absolute form': 'GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n',
    'a leading empty line': '\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'Connection: upgrade-ish tokens': 'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, TE\r\n\r\n',
    'a head above the limit': `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(apiLimits.headBytesMax)}\r\n\r\n`,
    'an unterminated head above the limit': `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(apiLimits.headBytesMax)}`,
  };
  for (const [why, text] of Object.entries(others)) t.equal(head(text), other, why);
});

/**
 * The first version of parseHead, on regular expressions (slower, simpler to read): the scanner
 * must take and refuse exactly the heads this takes and refuses, with the same fields.
 */
function referenceHead(buf: Buffer): ReturnType<typeof parseHead> {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) return head(buf.toString('latin1')); // partial heads: the same couldBeLean
  if (end + 4 > apiLimits.headBytesMax) return other;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  if (lines.length - 1 > apiLimits.headerLinesMax) return other;
  const m0 = /^(GET|PUT|POST|PATCH|DELETE) (\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*) HTTP\/1\.1$/.exec(lines[0]!);
  if (m0 === null || m0[2]!.length > apiLimits.urlCharsMax) return other;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*$/.exec(line);
    if (m === null || m[1]!.toLowerCase() in headers) return other;
    headers[m[1]!.toLowerCase()] = m[2]!;
  }
  if (headers['host'] === undefined || 'transfer-encoding' in headers || 'expect' in headers || 'upgrade' in headers) return other;
  const length = headers['content-length'];
  if (length !== undefined && (!/^[0-9]{1,9}$/.test(length) || Number(length) > apiLimits.bodyBytesMax)) return other;
  const connection = headers['connection']?.toLowerCase();
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') return other;
  return { method: m0[1]!, url: m0[2]!, headers, headBytes: end + 4, bodyBytes: length === undefined ? 0 : Number(length), close: connection === 'close' };
}

t.test('parseHead agrees with the regular-expression reference on damaged heads', async (t) => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed}`);
  const rand = mulberry32(seed);
  const bases = [
    'PUT /v1/tasks/t1 HTTP/1.1\r\nHost: x:1\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n',
    'GET /v1/tasks?agent=a&limit=3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\nConnection: close\r\n\r\n',
    'DELETE /v1/tasks/a%2Fb HTTP/1.1\r\nhost:x\r\nX-Vnetd-Forwarded:\t1 \r\n\r\n',
  ];
  // Bytes that matter to the grammar: separators, whitespace, controls, obs-text, case.
  const alphabet = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x23, 0x2c, 0x2f, 0x3a, 0x3f, 0x41, 0x48, 0x5c, 0x61, 0x7f, 0x80, 0xe9, 0xff, 0x30, 0x2b];
  let lean = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(bases[i % bases.length]!, 'latin1');
    const edits = Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) b[Math.floor(rand() * b.length)] = alphabet[Math.floor(rand() * alphabet.length)]!;
    const got = parseHead(b);
    const want = referenceHead(b);
    if (typeof got === 'object') lean++;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.fail(`seed ${seed}, case ${i}: ${JSON.stringify(b.toString('latin1'))}: ${JSON.stringify(got)} but the reference says ${JSON.stringify(want)}`);
      return;
    }
  }
  t.ok(lean > 5_000, `both took ${lean} heads, so fields were compared`);
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `chunks` on one connection (each a separate write, `gapMs` apart) and reads answers until
 * the server closes or `expect` answers arrived; `heads` marks the answers to HEAD requests.
 */
async function exchange(port: number, chunks: readonly (string | Buffer)[], o: { expect: number; heads?: readonly number[]; gapMs?: number }): Promise<{ answers: Answer[]; closed: boolean; interim: string[] }> {
  const socket = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  const answers: Answer[] = [];
  const interim: string[] = [];
  let closed = false;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${answers.length} of ${o.expect} answers within 5 s`)), 5_000);
    const finish = (): void => {
      clearTimeout(timer);
      resolve();
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.toString('latin1', 0, end).split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        if (status === 100) {
          interim.push(lines[0]!);
          buf = buf.subarray(end + 4);
          continue;
        }
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        const length = o.heads?.includes(answers.length) === true ? 0 : Number(headers['content-length'] ?? 0);
        if (buf.length < end + 4 + length) return;
        answers.push({ status, headers, body: buf.toString('utf8', end + 4, end + 4 + length) });
        buf = buf.subarray(end + 4 + length);
        if (answers.length === o.expect) {
          // Give a close that should follow the last answer a moment to arrive.
          setTimeout(finish, 50);
        }
      }
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => undefined);
  });
  for (const c of chunks) {
    if (socket.destroyed) break;
    socket.write(c);
    if (o.gapMs !== undefined) await new Promise((r) => setTimeout(r, o.gapMs));
  }
  await done;
  socket.destroy();
  return { answers, closed, interim };
}

const json = (method: string, path: string, body?: unknown, extra = ''): string => {
  const text = body === undefined ? '' : JSON.stringify(body);
  return `${method} ${path} HTTP/1.1\r\nHost: vnetd\r\n${extra}${body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n`}\r\n${text}`;
};

async function served(t: Test): Promise<number> {
  const node = new FakeNode('a');
  node.leader = node.id;
  const { api, url } = await serveFake(node);
  t.teardown(() => api.close());
  return Number(new URL(url).port);
}

const network = { name: 'blue', subnet: '10.1.0.0/16', prefix: 24 };
const task = { name: 'web', framework: 'marathon', agent: 'ag', network: 'blue' };
const setup = [json('POST', '/v1/networks', network), json('PUT', '/v1/agents/ag', { ip: '192.168.0.1' })];

t.test('pipelined requests are answered in order; node:http takes over at a HEAD (405: the API has no HEAD) and answers the rest', async (t) => {
  const port = await served(t);
  const all = [...setup, json('PUT', '/v1/tasks/t1', task), json('GET', '/v1/tasks/t1'), 'HEAD /v1/health HTTP/1.1\r\nHost: vnetd\r\n\r\n', json('PUT', '/v1/tasks/t2', task), json('GET', '/v1/tasks/t2')].join('');
  const { answers, closed } = await exchange(port, [all], { expect: 7, heads: [4] });
  t.same(answers.map((a) => a.status), [201, 201, 201, 200, 405, 201, 200]);
  t.equal(answers[3]!.body, answers[2]!.body, 'the GET sees the PUT before it');
  t.same(JSON.parse(answers[6]!.body).ips, ['10.1.0.3'], 'after the hand-over, the next address');
  t.equal(answers[4]!.body, '', 'HEAD: no body');
  t.equal(answers[4]!.headers['content-length'], String(Buffer.byteLength(JSON.stringify({ error: 'method_not_allowed', message: 'method HEAD is not supported' }) + '\n')), 'HEAD: the length of the body a GET-like answer would have');
  for (const a of answers) {
    t.equal(a.headers['connection'], 'keep-alive');
    t.match(a.headers['date'], /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  }
  t.equal(answers[2]!.headers['x-vnetd-applied-index'], '3');
  t.equal(answers[2]!.headers['content-length'], String(Buffer.byteLength(answers[2]!.body)));
  t.notOk(closed, 'the connection stays open');
});

t.test('more pipelined requests than pipelinedRequestsMax: reading pauses and resumes, every answer comes in order', async (t) => {
  const port = await served(t);
  const n = apiLimits.pipelinedRequestsMax * 6 + 3; // below the 126 addresses of the agent's half
  const requests = [setup[0]!, setup[1]!];
  for (let i = 0; i < n; i++) requests.push(json('PUT', `/v1/tasks/p${i}`, task));
  const { answers, closed } = await exchange(port, [requests.join('')], { expect: n + 2 });
  t.equal(answers.length, n + 2);
  t.ok(answers.every((a) => a.status === 201), 'all created');
  t.same(answers.slice(2).map((a) => JSON.parse(a.body).id), Array.from({ length: n }, (_, i) => `p${i}`), 'in request order');
  t.notOk(closed);
});

t.test('heads and bodies split anywhere, then a malformed request: node:http answers 400 after the earlier answers', async (t) => {
  const port = await served(t);
  const text = [...setup, json('PUT', '/v1/tasks/t1', task), json('DELETE', '/v1/tasks/t1')].join('');
  // One byte per write for the first requests, then the rest in odd-sized pieces.
  const pieces: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = i < 200 ? 1 : 7 + (i % 13);
    pieces.push(text.slice(i, i + n));
    i += n;
  }
  const { answers } = await exchange(port, [...pieces, 'GARBAGE\r\n\r\n'], { expect: 5, gapMs: 0 });
  t.same(answers.map((a) => a.status), [201, 201, 201, 204, 400]);
  t.equal(answers[3]!.headers['content-length'], undefined, 'RFC 9110 §8.6: no Content-Length with 204');
  t.equal(answers[3]!.body, '');
});

t.test('Connection: close is answered with close, and nothing sent after it is answered', async (t) => {
  const port = await served(t);
  const { answers, closed } = await exchange(port, [setup[0] + json('GET', '/v1/health', undefined, 'Connection: close\r\n') + json('GET', '/v1/health')], { expect: 2 });
  t.same(answers.map((a) => a.status), [201, 200]);
  t.equal(answers[1]!.headers['connection'], 'close');
  t.ok(closed, 'the server closed the connection');
});

t.test('chunked bodies and Expect: 100-continue go to node:http and get the answers a plain request gets', async (t) => {
  const port = await served(t);
  const body = JSON.stringify(task);
  const chunked = `PUT /v1/tasks/c1 HTTP/1.1\r\nHost: vnetd\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(5).toString(16)}\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`;
  const viaNode = await exchange(port, [setup.join('') + chunked], { expect: 3 });
  const plain = await exchange(port, [json('PUT', '/v1/tasks/c2', task)], { expect: 1 });
  t.same(viaNode.answers.map((a) => a.status), [201, 201, 201]);
  const a = JSON.parse(viaNode.answers[2]!.body);
  const b = JSON.parse(plain.answers[0]!.body);
  t.same(Object.keys(b), Object.keys(a), 'the same fields');
  t.equal(a.id, 'c1');
  t.equal(b.id, 'c2');
  t.same(Object.keys(plain.answers[0]!.headers).sort(), Object.keys(viaNode.answers[2]!.headers).sort(), 'the same header names');
  const headPart = `PUT /v1/tasks/c3 HTTP/1.1\r\nHost: vnetd\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const sock = await exchange(port, [headPart, body], { expect: 1, gapMs: 100 });
  t.same(sock.interim, ['HTTP/1.1 100 Continue'], 'node:http sent 100 Continue');
  t.equal(sock.answers[0]!.status, 201);
});

t.test('errors of the lean path are the API\'s errors, with the connection kept', async (t) => {
  const port = await served(t);
  const { answers, closed } = await exchange(port, [json('PUT', '/v1/tasks/t1', { name: 'x' }) + json('GET', '/v1/nowhere') + json('PUT', '/v1/tasks/%zz', task) + 'PUT /v1/tasks/t2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{"a' + json('GET', '/v1/health')], { expect: 5 });
  t.same(answers.map((a) => a.status), [400, 404, 400, 400, 200]);
  t.same(answers.map((a) => JSON.parse(a.body).error), ['invalid', 'route_not_found', 'invalid', 'invalid', undefined]);
  t.match(JSON.parse(answers[2]!.body).message, /not valid percent-encoding/);
  t.notOk(closed);
});

t.test('random damage to requests never crashes the server; every connection is answered or closed', async (t) => {
  const port = await served(t);
  const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed}`);
  const rand = mulberry32(seed);
  const base = Buffer.from(setup.join('') + json('PUT', '/v1/tasks/t1', task) + json('GET', '/v1/tasks/t1'), 'latin1');
  const bytes = [0x00, 0x0a, 0x0d, 0x20, 0x3a, 0x7f, 0xe9, 0x30, 0x39, 0x2f];
  for (let i = 0; i < 60; i++) {
    const b = Buffer.from(base);
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) b[Math.floor(rand() * b.length)] = bytes[Math.floor(rand() * bytes.length)]!;
    const cut = rand() < 0.3 ? Math.floor(rand() * b.length) : b.length;
    const socket = net.connect(port, '127.0.0.1');
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('silent'), 3_000);
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(got === '' || /^HTTP\/1\.1 \d{3} /.test(got) ? 'ok' : `not HTTP: ${JSON.stringify(got.slice(0, 60))}`);
      });
      socket.on('error', () => undefined);
      socket.end(b.subarray(0, cut));
    });
    socket.destroy();
    if (outcome !== 'ok') {
      t.fail(`seed ${seed}, case ${i}: ${outcome} for ${JSON.stringify(b.subarray(0, cut).toString('latin1'))}`);
      return;
    }
  }
  const after = await exchange(port, [json('GET', '/v1/health')], { expect: 1 });
  t.equal(after.answers[0]!.status, 200, 'still serving');
});

/** A LeanConnection on a real socket pair, with a host that answers 200 to everything. */
async function leanPair(t: Test, clientHalfOpen = false): Promise<{ conn: LeanConnection; client: net.Socket; received: () => string; closed: Promise<void>; released: Promise<void>; isReleased: () => boolean }> {
  let conn: LeanConnection | null = null;
  let onReleased = (): void => undefined;
  let wasReleased = false;
  const released = new Promise<void>((r) => (onReleased = r)).then(() => {
    wasReleased = true;
  });
  const host: LeanHost = {
    serve: async () => ({ status: 200, headers: {}, body: 'ok', close: false, written: () => undefined }),
    handOver: (s) => s.destroy(),
    stopping: false,
    released: () => onReleased(),
  };
  // Half-open allowed, as http.Server does (a client's end does not end our side).
  const server = net.createServer({ allowHalfOpen: true }, (s) => (conn = new LeanConnection(s, host)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: clientHalfOpen });
  let got = '';
  client.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  await new Promise((r) => client.on('connect', r));
  while (conn === null) await new Promise((r) => setTimeout(r, 5));
  t.teardown(() => client.destroy());
  return { conn, client, received: () => got, closed, released, isReleased: () => wasReleased };
}

t.test('timeouts as node:http keeps them: idle keep-alive, a slow head, a slow body', async (t) => {
  const now = Date.now();
  const idle = await leanPair(t);
  idle.client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  while (!idle.received().includes('ok')) await new Promise((r) => setTimeout(r, 5));
  idle.conn.sweep(Date.now() + apiLimits.keepAliveMs - 500);
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(idle.client.destroyed, 'not yet idle for keepAliveMs');
  idle.conn.sweep(Date.now() + apiLimits.keepAliveMs + 100);
  await idle.closed;
  t.pass('closed after keepAliveMs idle');

  const slowHead = await leanPair(t);
  slowHead.client.write('GET / HTTP/1.1\r\nHo');
  await new Promise((r) => setTimeout(r, 50));
  slowHead.conn.sweep(now + apiLimits.headersMsMax + 1_000);
  await slowHead.closed;
  t.match(slowHead.received(), /^HTTP\/1\.1 408 Request Timeout\r\nConnection: close\r\n/);

  const slowBody = await leanPair(t, true);
  slowBody.client.write('PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
  await new Promise((r) => setTimeout(r, 50));
  slowBody.conn.sweep(Date.now() + apiLimits.headersMsMax + 1_000);
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(slowBody.client.destroyed, 'a body may take up to requestMsMax');
  const timedOutAt = Date.now() + apiLimits.requestMsMax + 1_000;
  slowBody.conn.sweep(timedOutAt);
  await new Promise((r) => setTimeout(r, 50));
  t.match(slowBody.received(), /^HTTP\/1\.1 408 /);
  // The client keeps its side open after our 408 and end: the socket goes after keepAliveMs.
  t.notOk(slowBody.client.destroyed, 'half-open: the client has not closed');
  slowBody.conn.sweep(timedOutAt + apiLimits.keepAliveMs - 500);
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(slowBody.isReleased(), 'kept until keepAliveMs after our end');
  slowBody.conn.sweep(timedOutAt + apiLimits.keepAliveMs + 1_000);
  await slowBody.released;
  t.pass('our socket closed after keepAliveMs half-open');
});
