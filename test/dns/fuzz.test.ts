// Fuzz (issue 5, DESIGN.md §6: "decoding a hostile packet never throws past the server; a malformed
// packet costs no more than a valid one"): 100,000 random and mutated packets — most straight into
// respond(), a few thousand over UDP and TCP to a running server — then the server must still
// answer correctly. Seeded and replayable: DNS_FUZZ_SEED=<n> reruns one case exactly.
import t from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { respond } from '../../dns/respond.js';
import { startDnsServer } from '../../dns/server/dns-server.js';
import { parseQuery } from '../../dns/wire/query.js';
import { askUdp, buildQuery, dig, frame, sampleZone } from './helpers.js';
import { mulberry32 as prng } from '../util/prng.js';

const seed = Number(process.env['DNS_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
t.comment(`DNS fuzz seed ${seed} (replay: DNS_FUZZ_SEED=${seed})`);
const packetsInProcess = 96_000;
const packetsUdp = 3_500;
const packetsTcp = 500;


const rand = prng(seed);
const int = (n: number): number => Math.floor(rand() * n);

const names = ['web.marathon.agentip.dcos.', 'WEB.marathon.containerip.dcos.', 'nope.dcos.', 'dcos.', '_web._tcp.marathon.containerip.dcos.', '2.1.0.9.in-addr.arpa.', 'x.dcos.thisdcos.directory.', 'example.com.', 'a-rather-long-task-name-here.some-framework.agentip.dcos.'];
const types = ['A', 'AAAA', 'SRV', 'PTR', 'SOA', 'NS', 'ANY', 'TXT', 'MX', 'AXFR'];
const corpus: Buffer[] = [];
for (const name of names) {
  for (const type of types) {
    corpus.push(buildQuery(name, type, { id: int(65536) }));
    corpus.push(buildQuery(name, type, { id: int(65536), edns: { udp: 512 + int(4000), do: rand() < 0.5 } }));
  }
}

/** One hostile packet: pure noise, or a valid query mutated in one of several ways. */
function hostile(): Buffer {
  const kind = int(10);
  if (kind === 0) {
    const b = Buffer.alloc(int(600));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    return b;
  }
  const p = Buffer.from(corpus[int(corpus.length)]!);
  const edits = 1 + int(4);
  let out = p;
  for (let e = 0; e < edits; e++) {
    switch (int(8)) {
      case 0: // flip a bit
        out[int(out.length)]! ^= 1 << int(8);
        break;
      case 1: // random byte
        out[int(out.length)] = int(256);
        break;
      case 2: // truncate
        out = out.subarray(0, int(out.length + 1));
        break;
      case 3: // append garbage
        out = Buffer.concat([out, Buffer.from(Array.from({ length: int(40) }, () => int(256)))]);
        break;
      case 4: // counts
        if (out.length >= 12) out.writeUInt16BE(int(5) === 0 ? int(65536) : int(4), 4 + 2 * int(4));
        break;
      case 5: // a compression pointer or a huge label somewhere
        if (out.length > 13) out[12 + int(out.length - 12)] = [0xc0, 0x3f, 0x40, 0xff][int(4)]!;
        break;
      case 6: // header flags: QR, opcodes, Z bits
        if (out.length >= 4) out[2] = int(256);
        break;
      default: // self-referencing pointer loop in an additional record
        out = Buffer.concat([out, Buffer.from([0xc0, out.length & 0xff, 0, 41, 0, 0, 0, 0, 0, 0, 0, 0])]);
        if (out.length >= 12) out.writeUInt16BE(1, 10);
    }
  }
  return out;
}

/** What must hold for any packet: no throw; an answer only when there is a header, with its ID and QR. */
function check(packet: Buffer, zone: ReturnType<typeof sampleZone>): string | undefined {
  let o;
  try {
    o = respond(packet, zone, { transport: 'udp', client: '127.0.0.1' });
  } catch (err) {
    return `threw ${String(err)}`;
  }
  if (o.kind === 'drop') return packet.length < 12 || (packet[2]! & 0x80) !== 0 ? undefined : 'dropped a packet with a header and QR clear';
  if (o.kind === 'forward') return 'forwarded without recursion';
  const b = o.bytes;
  if (b.length < 12 || b.readUInt16BE(0) !== packet.readUInt16BE(0)) return 'answer lacks the ID';
  if ((b[2]! & 0x80) === 0) return 'answer without QR';
  if (b.length > 512 && parseQuery(packet).kind !== 'query') return 'error answer above 512 bytes';
  const parsed = parseQuery(packet);
  if (parsed.kind === 'query' && b.length > (parsed.edns ? Math.max(512, Math.min(parsed.ednsUdpBytes, 1232)) : 512)) return `answer of ${b.length} bytes over the UDP limit`;
  if (parsed.kind === 'query' && (parsed.qtype === 1 || parsed.qtype === 28)) {
    try {
      dnsPacket.decode(b);
    } catch (err) {
      return `our answer does not decode: ${String(err)}`;
    }
  }
  return undefined;
}

t.test(`${packetsInProcess} hostile packets into respond(): nothing throws, every answer well-formed`, async (t) => {
  const zone = sampleZone();
  const statsBefore = zone.stats();
  let failures = 0;
  for (let i = 0; i < packetsInProcess && failures < 5; i++) {
    const packet = hostile();
    const problem = check(packet, zone);
    if (problem !== undefined) {
      failures++;
      t.fail(`seed ${seed}, packet ${i}: ${problem}: ${packet.toString('hex')}`);
    }
  }
  t.equal(failures, 0, `seed ${seed}`);
  // encodedBytes may grow: answers are encoded on the first query that needs them (a cache).
  const { names, rrsets } = zone.stats();
  t.same({ names, rrsets }, { names: statsBefore.names, rrsets: statsBefore.rrsets }, 'the zone is untouched');
});

t.test('DESIGN.md §6: a malformed packet costs no more than a valid one', async (t) => {
  const zone = sampleZone();
  const valid = Array.from({ length: 2000 }, () => corpus[int(corpus.length)]!);
  const bad = Array.from({ length: 2000 }, hostile);
  const time = (packets: Buffer[]): number => {
    const started = process.hrtime.bigint();
    for (let round = 0; round < 5; round++) for (const p of packets) respond(p, zone, { transport: 'udp', client: '127.0.0.1' });
    return Number(process.hrtime.bigint() - started) / (5 * packets.length);
  };
  time(valid);
  time(bad);
  const validNs = Math.min(time(valid), time(valid));
  const badNs = Math.min(time(bad), time(bad));
  t.comment(`valid ${validNs.toFixed(0)} ns/packet, hostile ${badNs.toFixed(0)} ns/packet`);
  t.ok(badNs <= validNs * 1.5, `hostile ${badNs.toFixed(0)} ns vs valid ${validNs.toFixed(0)} ns per packet`);
});

t.test(`${packetsUdp} over UDP and ${packetsTcp} over TCP to a running server, which still answers correctly`, async (t) => {
  const zone = sampleZone();
  const server = await startDnsServer({ zone });
  t.teardown(() => server.close());
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  let replies = 0;
  socket.on('message', () => replies++);
  for (let i = 0; i < packetsUdp; i++) {
    socket.send(hostile(), server.port, '127.0.0.1');
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
  }
  const conn = net.connect(server.port, '127.0.0.1');
  conn.on('error', () => undefined);
  conn.on('data', () => undefined);
  await new Promise((r) => conn.once('connect', r));
  for (let i = 0; i < packetsTcp; i++) conn.write(frame(hostile()));
  conn.end();
  await new Promise((r) => setTimeout(r, 200));
  t.ok(replies > 0, `${replies} UDP replies`);
  t.equal(server.metrics.snapshot().internalErrors, 0, 'no internal errors');
  const r = await askUdp(server.port, 'web.marathon.agentip.dcos.', 'A');
  t.same(r.answers.map((a) => a.data).sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  t.equal((await dig(server.port, ['nope.dcos.'])).rcode, 'NXDOMAIN');
  t.equal((await dig(server.port, ['+tcp', '_web._tcp.marathon.containerip.dcos.', 'SRV'])).answers.length, 1);
});
