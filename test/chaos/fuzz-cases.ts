// Bad input for the fuzzer (DESIGN.md §6: every input from outside is validated; bad input gets
// a clear error and changes nothing). Every HTTP case here is invalid by construction — a wrong
// type, an unknown property, a value out of its schema, a length over its limit, bytes that are
// not UTF-8 or not JSON, a broken HTTP message — so a 2xx for any of them is a finding. Task ids
// of bad requests start with "fz-", which no valid operation uses: one that shows up in the state
// was wrongly accepted. Peer and DNS cases are random or mutated bytes.

import dnsPacket from 'dns-packet';
import { pack } from 'msgpackr';
import type { Prng } from '../../raft/sim/prng.js';
import { ipamLimits } from '../../src/ipam/index.js';

/** One raw HTTP request and what must come back. */
export interface HttpCase {
  readonly what: string;
  readonly bytes: Buffer;
  /** '4xx': a 4xx status; 'closed-ok': a 4xx, or the server closing without an answer (an incomplete message). */
  readonly expect: '4xx' | 'closed-ok';
}

export const fuzzLimits = {
  /** Bodies above the API's 1 MiB limit. */
  hugeBodyBytes: 2 * 1024 * 1024,
  /** Nesting depth of the deep JSON case (a recursive parser or validator would overflow). */
  deepNesting: 100_000,
  /** Longest random peer frame / DNS packet. */
  randomBytesMax: 4096,
  dnsBytesMax: 600,
} as const;

const validTask = { name: 'web', framework: 'marathon', agent: 'a0', network: 'dcos' };

function request(method: string, path: string, body: Buffer | string | null, headers: Record<string, string> = {}): Buffer {
  const b = body === null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  if (body !== null) lines.push('content-type: application/json', `content-length: ${b.length}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), b]);
}

const json = (v: unknown): string => JSON.stringify(v);

/** Schema mutations of an allocation body: each one breaks exactly one rule of the schema. */
function badTaskBodies(p: Prng): { what: string; body: Buffer | string }[] {
  const deep = '{"a":'.repeat(fuzzLimits.deepNesting) + '1' + '}'.repeat(fuzzLimits.deepNesting);
  const invalidUtf8 = Buffer.concat([Buffer.from('{"name":"we'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`b","framework":"m","agent":"a0","network":"dcos"}`)]);
  // A value of another JSON type than the field's schema allows.
  const field = p.pick(['name', 'framework', 'agent', 'network', 'containerizer', 'ports', 'labels'] as const);
  const wrongFor = field === 'ports' ? [123, true, null, {}, 'x'] : field === 'labels' ? [123, true, null, [], 'x'] : [123, true, null, [], {}, 1.5];
  const missing = p.pick(['name', 'framework', 'agent'] as const);
  const withoutMissing: Record<string, string> = { ...validTask };
  delete withoutMissing[missing];
  return [
    { what: `missing ${missing}`, body: json(withoutMissing) },
    { what: `wrong type of ${field}`, body: json({ ...validTask, [field]: p.pick(wrongFor) }) },
    { what: 'unknown property', body: json({ ...validTask, [`x${p.int(1000)}`]: 1 }) },
    { what: 'name over its length limit', body: json({ ...validTask, name: 'n'.repeat(ipamLimits.nameCharsMax + 1 + p.int(5000)) }) },
    { what: 'huge body', body: json({ ...validTask, name: 'h'.repeat(fuzzLimits.hugeBodyBytes) }) },
    { what: 'deeply nested labels', body: deep },
    { what: 'truncated JSON', body: json(validTask).slice(0, 1 + p.int(json(validTask).length - 2)) },
    { what: 'not JSON', body: p.pick(['undefined', 'NaN', "{'a':1}", '<xml/>', '\u0000\u0001', '{"name":"a",}']) },
    { what: 'a JSON array, number or string instead of an object', body: p.pick(['[]', '42', '"task"', 'null', 'true']) },
    { what: 'invalid UTF-8 inside a string', body: invalidUtf8 },
    { what: 'control character in name', body: json({ ...validTask, name: 'a\u0007b' }) },
    { what: 'bad containerizer', body: json({ ...validTask, containerizer: 'rkt' }) },
    { what: 'bad port', body: json({ ...validTask, ports: [{ protocol: p.pick(['sctp', 'TCP', '']), containerPort: 80 }] }) },
    { what: 'port out of range', body: json({ ...validTask, ports: [{ protocol: 'tcp', containerPort: 65536 + p.int(100000) }] }) },
    { what: 'too many labels', body: json({ ...validTask, labels: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'v'])) }) },
    { what: 'bad network name', body: json({ ...validTask, network: p.pick(['BAD', 'a b', '-x', 'n'.repeat(40), '']) }) },
    { what: 'empty agent', body: json({ ...validTask, agent: '' }) },
    { what: 'proto pollution key', body: '{"__proto__":{"x":1},"name":"a","framework":"b","agent":"a0"}' },
  ];
}

function badPaths(p: Prng): { what: string; method: string; path: string; body: string | null }[] {
  const task = json(validTask);
  return [
    { what: 'task id over its limit', method: 'PUT', path: `/v1/tasks/fz-${'i'.repeat(ipamLimits.idCharsMax + p.int(400))}`, body: task },
    { what: 'task id with a space', method: 'PUT', path: '/v1/tasks/fz-a%20b', body: task },
    // Task ids may hold '/' (CNI keys tasks by CNI_CONTAINERID/CNI_IFNAME); agent ids may not.
    { what: 'agent id with a slash', method: 'PUT', path: '/v1/agents/fz-a%2Fb', body: json({ ip: '10.0.0.99' }) },
    { what: 'task id with a NUL', method: 'PUT', path: '/v1/tasks/fz-a%00b', body: task },
    { what: 'task id of invalid UTF-8', method: 'PUT', path: '/v1/tasks/fz-%ff%fe', body: task },
    { what: 'task id with non-ASCII', method: 'PUT', path: '/v1/tasks/fz-%C3%A9t%C3%A9', body: task },
    { what: 'bad percent escape', method: 'GET', path: '/v1/tasks/fz-%zz', body: null },
    { what: 'unknown query parameter', method: 'GET', path: `/v1/tasks?x${p.int(100)}=1`, body: null },
    { what: 'bad consistent value', method: 'GET', path: `/v1/tasks/t000?consistent=${p.pick(['yes', '1', '', 'TRUE'])}`, body: null },
    { what: 'bad limit', method: 'GET', path: `/v1/tasks?limit=${p.pick(['-1', '0', 'ten', '9999999', '1e3'])}`, body: null },
    { what: 'query over its limit', method: 'GET', path: `/v1/tasks?agent=${'q'.repeat(5000)}`, body: null },
    { what: 'unknown route', method: 'GET', path: `/v1/${p.pick(['taskz', 'tasks/a/b', 'admin', '../etc/passwd'])}`, body: null },
    { what: 'method not allowed', method: p.pick(['PATCH', 'POST']), path: '/v1/tasks/fz-m', body: task },
    { what: 'bad agent IP', method: 'PUT', path: '/v1/agents/fz-agent', body: json({ ip: p.pick(['999.1.1.1', '1.2.3', 'abc', '', '::1']) }) },
    { what: 'bad agent IPv6', method: 'PUT', path: '/v1/agents/fz-agent', body: json({ ip: '10.9.9.9', ip6: p.pick(['zz::1', '1.2.3.4', ':::']) }) },
    { what: 'agent body with an extra field', method: 'PUT', path: '/v1/agents/fz-agent', body: json({ ip: '10.9.9.9', vtep: 'x' }) },
    { what: 'bad network CIDR', method: 'POST', path: '/v1/networks', body: json({ name: 'fz', subnet: p.pick(['1.2.3.4/99', '10.0.0.0', 'x/8']), prefix: 24 }) },
    { what: 'network prefix of the wrong type', method: 'POST', path: '/v1/networks', body: json({ name: 'fz', subnet: '10.200.0.0/16', prefix: '24' }) },
    { what: 'network subnet without prefix', method: 'POST', path: '/v1/networks', body: json({ name: 'fz', subnet: '10.200.0.0/16' }) },
    { what: 'bad network name in path', method: 'DELETE', path: '/v1/networks/BAD%20NAME', body: null },
    { what: 'bad PATCH of a network', method: 'PATCH', path: '/v1/networks/dcos', body: json({ enabled: 'no' }) },
    { what: 'bad member body', method: 'POST', path: '/v1/cluster/members', body: json({ id: 'fz', raft: p.pick(['nohost', '1.2.3.4:99999', '']), http: '127.0.0.1:1', dns: '127.0.0.1:2' }) },
    { what: 'bad member id', method: 'DELETE', path: '/v1/cluster/members/fz%20bad!', body: null },
    { what: 'bad leadership body', method: 'POST', path: '/v1/cluster/leadership', body: json({ to: p.pick([1, null, '', 'bad id!']) }) },
  ];
}

/** Broken HTTP messages, below the router: the parser must answer 4xx or hang up. */
function brokenMessages(p: Prng): HttpCase[] {
  const task = json(validTask);
  return [
    { what: 'garbage request line', bytes: Buffer.from(`${randomAscii(p, 40)}\r\n\r\n`, 'latin1'), expect: 'closed-ok' },
    { what: 'header over 64 KiB', bytes: request('GET', '/v1/tasks', null, { 'x-big': 'b'.repeat(70_000) }), expect: 'closed-ok' },
    { what: 'invalid chunked encoding', bytes: Buffer.from(`PUT /v1/tasks/fz-chunk HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n${task}\r\n0\r\n\r\n`, 'latin1'), expect: 'closed-ok' },
    { what: 'content-length and chunked together', bytes: Buffer.from(`PUT /v1/tasks/fz-smuggle HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`, 'latin1'), expect: 'closed-ok' },
    { what: 'body shorter than its content-length', bytes: Buffer.concat([request('PUT', '/v1/tasks/fz-short', task).subarray(0, -5)]), expect: 'closed-ok' },
    { what: 'negative content-length', bytes: Buffer.from(`PUT /v1/tasks/fz-neg HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n`, 'latin1'), expect: 'closed-ok' },
    { what: 'invalid bytes in a header name', bytes: Buffer.concat([Buffer.from('GET /v1/tasks HTTP/1.1\r\nhost: x\r\nx'), Buffer.from([0xff, 0x00]), Buffer.from(': 1\r\n\r\n')]), expect: 'closed-ok' },
    { what: 'wrong content-type with a bad body', bytes: request('PUT', '/v1/tasks/fz-ct', 'name=web', { 'content-type': 'application/x-www-form-urlencoded' }), expect: '4xx' },
  ];
}

function randomAscii(p: Prng, n: number): string {
  return Array.from({ length: n }, () => String.fromCharCode(33 + p.int(94))).join('');
}

export function randomBytes(p: Prng, max: number): Buffer {
  const b = Buffer.alloc(p.int(max) + 1);
  for (let i = 0; i < b.length; i++) b[i] = p.int(256);
  return b;
}

/** A seeded mix of every kind of bad HTTP request. */
export function httpCases(p: Prng, n: number): HttpCase[] {
  const out: HttpCase[] = [];
  while (out.length < n) {
    const r = p.int(10);
    if (r < 5) {
      const b = p.pick(badTaskBodies(p));
      // A body over the limit may be answered 413 and reset while the rest is still being sent.
      const expect = b.what === 'huge body' ? 'closed-ok' : '4xx';
      out.push({ what: `PUT task: ${b.what}`, bytes: request('PUT', `/v1/tasks/fz-${p.int(1_000_000)}`, b.body), expect });
    } else if (r < 8) {
      const c = p.pick(badPaths(p));
      out.push({ what: c.what, bytes: request(c.method, c.path, c.body), expect: '4xx' });
    } else {
      out.push(p.pick(brokenMessages(p)));
    }
  }
  return out;
}

function frame(body: Buffer, declared = body.length): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(declared >>> 0, 0);
  return Buffer.concat([h, body]);
}

/** Bytes for a peer (Raft) port: random, wrongly framed, truncated, or a hello that cannot authenticate. */
export function peerCase(p: Prng): { what: string; bytes: Buffer } {
  switch (p.int(6)) {
    case 0:
      return { what: 'random bytes', bytes: randomBytes(p, fuzzLimits.randomBytesMax) };
    case 1:
      return { what: 'frame of random msgpack-ish bytes', bytes: frame(randomBytes(p, 512)) };
    case 2:
      return { what: 'frame length 4 GiB', bytes: frame(randomBytes(p, 64), 0xffffffff) };
    case 3: {
      const body = randomBytes(p, 800);
      return { what: 'truncated frame', bytes: frame(body).subarray(0, 4 + p.int(body.length)) };
    }
    case 4:
      return { what: 'hello with a made-up proof', bytes: Buffer.concat([frame(pack({ t: 'hello', v: 1, from: 'n9', to: 'n1', nonce: randomBytes(p, 31) })), frame(pack({ t: 'proof', proof: Buffer.alloc(32) }))]) };
    default:
      return { what: 'hello of the wrong shape', bytes: frame(pack(p.pick([{ t: 'hello', v: 99 }, { t: 'hello', v: 1, from: 5, to: [] }, [1, 2, 3], 'hello', { t: 'append', entries: [] }]))) };
  }
}

const sampleQuery = (p: Prng): Buffer =>
  dnsPacket.encode({ type: 'query', id: p.int(65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: p.pick(['probe.probe.containerip.dcos', 'dcos', 'leader.dcos', 'x.y.autoip.dcos']), type: p.pick(['A', 'AAAA', 'SOA', 'SRV', 'ANY']) as dnsPacket.RecordType }] });

/** A DNS packet: random bytes, or a real query with bytes flipped, cut or appended. */
export function dnsCase(p: Prng): { what: string; bytes: Buffer } {
  const q = sampleQuery(p);
  switch (p.int(4)) {
    case 0:
      return { what: 'random bytes', bytes: randomBytes(p, fuzzLimits.dnsBytesMax) };
    case 1: {
      const b = Buffer.from(q);
      for (let i = 0, n = 1 + p.int(4); i < n; i++) b[p.int(b.length)] = p.int(256);
      return { what: 'query with flipped bytes', bytes: b };
    }
    case 2:
      return { what: 'truncated query', bytes: q.subarray(0, p.int(q.length)) };
    default:
      return { what: 'query with trailing garbage', bytes: Buffer.concat([q, randomBytes(p, 200)]) };
  }
}
