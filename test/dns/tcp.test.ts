// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): 2-byte framing, several queries per connection,
// pipelining, frames split across reads and coalesced in one, idle timeout, connection limit.
import t from 'tap';
import net from 'node:net';
import { startDnsServer } from '../../dns/server/dns-server.js';
import { buildQuery, decodeReply, frame, sampleZone, tcpExchange } from './helpers.js';

const zone = sampleZone();
const server = await startDnsServer({ zone, tcpIdleMs: 1000, tcpConnectionsMax: 3 });
t.teardown(() => server.close());
const port = server.port;

t.test('RFC 7766 §6.2.1: several pipelined queries on one connection, all answered with their IDs', async (t) => {
  const names = ['web.marathon.agentip.dcos.', 'leader.dcos.', 'nope.dcos.', 'master.dcos.'];
  const queries = names.map((n, i) => buildQuery(n, 'A', { id: 1000 + i }));
  const answers = (await tcpExchange(port, [frame(...queries)], names.length)).map(decodeReply);
  t.same(answers.map((a) => a.id).sort(), [1000, 1001, 1002, 1003]);
  const byId = new Map(answers.map((a) => [a.id, a]));
  t.equal(byId.get(1002)?.rcode, 'NXDOMAIN');
  t.equal(byId.get(1003)?.answers.length, 3);
  t.equal(byId.get(1000)?.question?.name, names[0]);
});

t.test('RFC 7766 §8: a frame split across many reads (byte by byte) is reassembled', async (t) => {
  const framed = frame(buildQuery('web.marathon.agentip.dcos.', 'A', { id: 7 }), buildQuery('leader.dcos.', 'A', { id: 8 }));
  const chunks = [...framed].map((b) => Buffer.from([b]));
  const answers = (await tcpExchange(port, chunks, 2, 1, 10_000)).map(decodeReply);
  t.same(answers.map((a) => a.id), [7, 8]);
  t.equal(answers[0]?.answers.length, 3);
});

t.test('RFC 7766 §6.2.1: sequential queries on one connection with pauses between them', async (t) => {
  const chunks = [1, 2, 3].map((i) => frame(buildQuery('leader.dcos.', 'A', { id: i })));
  const answers = (await tcpExchange(port, chunks, 3, 50)).map(decodeReply);
  t.same(answers.map((a) => a.id), [1, 2, 3]);
});

t.test('RFC 7766 §5: large answers arrive whole over TCP', async (t) => {
  const [a] = await tcpExchange(port, [frame(buildQuery('a-rather-long-task-name-here.some-framework.agentip.dcos.', 'A'))], 1);
  const r = decodeReply(a!);
  t.equal(r.answers.length, 60);
  t.notOk(r.flags.tc);
});

t.test('RFC 1035 §4.1.1: a response packet (QR set) inside a TCP stream is skipped; later queries still answered', async (t) => {
  const response = buildQuery('leader.dcos.', 'A', { id: 50 });
  response[2] = response[2]! | 0x80;
  const answers = (await tcpExchange(port, [frame(response, Buffer.alloc(0), buildQuery('leader.dcos.', 'A', { id: 51 }))], 1)).map(decodeReply);
  t.same(answers.map((a) => a.id), [51]);
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function closed(s: net.Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    s.on('error', () => undefined);
    s.once('close', () => resolve(Date.now() - started));
  });
}

t.test('RFC 7766 §6.2.3: idle connections are closed after the idle timeout', async (t) => {
  const s = await connect();
  const ms = await closed(s);
  t.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms (timeout 1000)`);
});

t.test('RFC 7766 §6.2.2: connections beyond the limit are refused, the others keep working', async (t) => {
  const held = await Promise.all([connect(), connect(), connect()]);
  t.teardown(() => held.forEach((s) => s.destroy()));
  const refusedBefore = server.metrics.snapshot().tcpConnectionsRefused;
  const extra = await connect();
  await closed(extra);
  t.equal(server.metrics.snapshot().tcpConnectionsRefused, refusedBefore + 1);
  // A held connection still answers.
  const answer = await new Promise<Buffer>((resolve) => {
    const s = held[0]!;
    s.once('data', (d: Buffer) => resolve(d));
    s.write(frame(buildQuery('leader.dcos.', 'A', { id: 9 })));
  });
  t.equal(decodeReply(answer.subarray(2)).id, 9);
  held.forEach((s) => s.destroy());
  await new Promise((r) => setTimeout(r, 50));
  const after = await tcpExchange(port, [frame(buildQuery('leader.dcos.', 'A', { id: 10 }))], 1);
  t.equal(decodeReply(after[0]!).id, 10, 'slots free again once connections close');
});

t.test('RFC 7766 §6.2.4: a client that half-closes after its queries still gets every answer', async (t) => {
  const answers = await new Promise<Buffer[]>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    s.on('end', () => {
      const out: Buffer[] = [];
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      s.destroy();
      resolve(out);
    });
    s.on('connect', () => s.end(frame(buildQuery('leader.dcos.', 'A', { id: 61 }), buildQuery('nope.dcos.', 'A', { id: 62 }))));
  });
  t.same(answers.map((a) => decodeReply(a).id), [61, 62]);
  t.equal(decodeReply(answers[1]!).rcode, 'NXDOMAIN');
});
