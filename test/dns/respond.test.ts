// The pure responder, in process, read back with dns-packet: every protocol point of issue 5 and
// DESIGN.md §1 "DNS names", each test naming its RFC section. (The same points go over real
// sockets with dig in server-dig.test.ts.)
import t from 'tap';
import dnsPacket from 'dns-packet';
import { respond } from '../../dns/respond.js';
import type { Outcome, RespondOptions } from '../../dns/handler.js';
import type { MemoryZoneIndex } from '../../dns/zone-index.js';
import { buildQuery, decodeReply, sampleZone, type AskOptions, type Reply } from './helpers.js';

const udp: RespondOptions = { transport: 'udp', client: '127.0.0.1' };
const tcp: RespondOptions = { transport: 'tcp', client: '127.0.0.1' };

function answerOf(o: Outcome): Buffer {
  if (o.kind !== 'answer') throw new Error(`expected an answer, got ${o.kind}`);
  return o.bytes;
}

function ask(zone: MemoryZoneIndex, name: string, type: string, o: AskOptions = {}, options = udp): Reply {
  return decodeReply(answerOf(respond(buildQuery(name, type, o), zone, options)));
}

t.test('RFC 1035 §4.1.1: ID echoed, QR and AA set, RD copied, RA clear without recursion', async (t) => {
  const zone = sampleZone();
  const r = ask(zone, 'web.marathon.agentip.dcos.', 'A', { id: 0xbeef });
  t.equal(r.id, 0xbeef);
  t.ok(r.flags.qr);
  t.ok(r.flags.aa);
  t.ok(r.flags.rd);
  t.notOk(r.flags.ra);
  t.equal(r.rcode, 'NOERROR');
  t.same(r.answers.map((a) => a.data).sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  const norec = ask(zone, 'web.marathon.agentip.dcos.', 'A', { rd: false });
  t.notOk(norec.flags.rd, 'RD not set when not asked');
  const cd = ask(zone, 'web.marathon.agentip.dcos.', 'A', { cd: true });
  t.ok(cd.flags.cd, 'CD copied (RFC 4035 §3.2.2)');
});

t.test('RFC 4343 / draft-vixie-dnsext-dns0x20: the question is echoed byte for byte, matching ignores case', async (t) => {
  const zone = sampleZone();
  const query = buildQuery('wEb.MaRaThOn.AgEnTiP.DcOs.', 'A');
  const bytes = answerOf(respond(query, zone, udp));
  const qEnd = 12 + 'wEb.MaRaThOn.AgEnTiP.DcOs.'.length + 1 + 4;
  t.same(bytes.subarray(12, qEnd), query.subarray(12, qEnd), 'question bytes identical');
  const r = decodeReply(bytes);
  t.equal(r.answers.length, 3);
  t.ok(r.answers.every((a) => a.name === 'wEb.MaRaThOn.AgEnTiP.DcOs.'), 'owner names point at the question');
  const nx = ask(zone, 'NoPe.DCOS.', 'A');
  t.equal(nx.question?.name, 'NoPe.DCOS.');
  t.equal(nx.authorities[0]?.name, 'DCOS.', 'SOA owner is the apex as asked');
});

t.test('RFC 2308 §2.1, RFC 8020: NXDOMAIN for missing names, NODATA for existing names and empty non-terminals, SOA in authority', async (t) => {
  const zone = sampleZone();
  const nx = ask(zone, 'nope.marathon.agentip.dcos.', 'A');
  t.equal(nx.rcode, 'NXDOMAIN');
  t.ok(nx.flags.aa);
  t.equal(nx.answers.length, 0);
  t.equal(nx.authorities.length, 1);
  t.equal(nx.authorities[0]?.type, 'SOA');
  t.equal(nx.authorities[0]?.name, 'dcos.');
  for (const [name, type, why] of [
    ['web.marathon.agentip.dcos.', 'AAAA', 'AAAA of an A-only name (REFERENCE.md §5: glibc breaks on NXDOMAIN here)'],
    ['web.marathon.agentip.dcos.', 'TXT', 'a type we never hold'],
    ['marathon.agentip.dcos.', 'A', 'empty non-terminal'],
    ['agentip.dcos.', 'A', 'empty non-terminal two levels up'],
    ['dcos.', 'A', 'the apex'],
    ['0.9.in-addr.arpa.', 'PTR', 'empty non-terminal in a reverse zone'],
  ] as const) {
    const r = ask(zone, name, type);
    t.equal(r.rcode, 'NOERROR', `${why}: NOERROR`);
    t.equal(r.answers.length, 0, `${why}: no answers`);
    t.equal(r.authorities[0]?.type, 'SOA', `${why}: SOA in authority`);
  }
});

t.test('RFC 2308 §5: negative TTL = min(SOA TTL, SOA minimum); TTL configurable (default 5)', async (t) => {
  const def = sampleZone();
  t.equal(ask(def, 'nope.dcos.', 'A').authorities[0]?.ttl, 5);
  t.equal(ask(def, 'leader.dcos.', 'A').answers[0]?.ttl, 5, 'default TTL 5 s');
  t.match(ask(def, 'nope.dcos.', 'A').authorities[0]?.data, / 5$/, 'SOA minimum 5');
  const longSoa = sampleZone({ ttlSeconds: 7, soa: { ttlSeconds: 30, minimumSeconds: 5 } });
  t.equal(ask(longSoa, 'nope.dcos.', 'A').authorities[0]?.ttl, 5, 'minimum below SOA TTL');
  t.equal(ask(longSoa, 'leader.dcos.', 'A').answers[0]?.ttl, 7, 'configured answer TTL');
  t.equal(ask(longSoa, 'dcos.', 'SOA').answers[0]?.ttl, 30, 'SOA itself carries its own TTL');
  const shortSoa = sampleZone({ soa: { ttlSeconds: 3, minimumSeconds: 5 } });
  t.equal(ask(shortSoa, 'nope.dcos.', 'A').authorities[0]?.ttl, 3, 'SOA TTL below minimum');
});

t.test('RFC 1035 §3.3.13: SOA serial is the zone serial and follows setSerial; NS at the apex', async (t) => {
  const zone = sampleZone();
  const soa = ask(zone, 'dcos.', 'SOA');
  t.equal(soa.rcode, 'NOERROR');
  t.equal(soa.answers[0]?.data, 'ns.dcos. hostmaster.dcos. 17 60 30 86400 5');
  zone.setSerial(123456);
  t.match(ask(zone, 'nope.dcos.', 'A').authorities[0]?.data, / 123456 /);
  zone.setSerial(2 ** 32 + 5);
  t.match(ask(zone, 'dcos.', 'SOA').answers[0]?.data, / 5 60 /, 'RFC 1982: serial taken mod 2^32');
  const ns = ask(zone, 'dcos.', 'NS');
  t.same(ns.answers.map((a) => a.data), ['ns.dcos.']);
  const aliasNs = ask(zone, 'DCOS.thisdcos.directory.', 'NS');
  t.same(aliasNs.answers.map((a) => [a.name, a.data]), [['DCOS.thisdcos.directory.', 'ns.DCOS.thisdcos.directory.']]);
});

t.test('RFC 1794 / DESIGN.md §1: RRsets are shuffled per answer, every record leads in turn', async (t) => {
  const zone = sampleZone();
  const leaders = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const r = ask(zone, 'web.marathon.agentip.dcos.', 'A');
    t.same(r.answers.map((a) => a.data).sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    leaders.set(r.answers[0]!.data, (leaders.get(r.answers[0]!.data) ?? 0) + 1);
  }
  t.equal(leaders.size, 3, `each record first at some point: ${JSON.stringify([...leaders])}`);
  for (const n of leaders.values()) t.ok(n >= 5, `balanced: ${JSON.stringify([...leaders])}`);
});

t.test('RFC 2782, RFC 2181 §9: SRV with target addresses in the additional section; aliases rewrite targets', async (t) => {
  const zone = sampleZone();
  const r = ask(zone, '_web._tcp.marathon.containerip.dcos.', 'SRV');
  t.same(r.answers.map((a) => a.data), ['0 0 8080 web.marathon.containerip.dcos.']);
  t.same(r.additionals.map((a) => `${a.name} ${a.type} ${a.data}`).sort(), [
    'web.marathon.containerip.dcos. A 9.0.1.2',
    'web.marathon.containerip.dcos. A 9.0.1.3',
    'web.marathon.containerip.dcos. AAAA fd01:b::2',
  ]);
  const alias = ask(zone, '_web._tcp.marathon.containerip.dcos.thisdcos.directory.', 'SRV');
  t.equal(alias.rcode, 'NOERROR');
  t.ok(alias.flags.aa);
  t.same(alias.answers.map((a) => a.data), ['0 0 8080 web.marathon.containerip.dcos.thisdcos.directory.']);
  t.equal(alias.additionals.length, 3);
  t.ok(alias.additionals.every((a) => a.name === 'web.marathon.containerip.dcos.thisdcos.directory.'));
  // The glue follows the target's addresses (the SRV answer is re-encoded when they change).
  zone.setRRset('web.marathon.containerip.dcos.', 'A', ['9.0.1.9']);
  const after = ask(zone, '_web._tcp.marathon.containerip.dcos.', 'SRV');
  t.same(after.additionals.filter((a) => a.type === 'A').map((a) => a.data), ['9.0.1.9']);
  zone.deleteRRset('web.marathon.containerip.dcos.', 'AAAA');
  t.equal(ask(zone, '_web._tcp.marathon.containerip.dcos.', 'SRV').additionals.length, 1);
});

t.test('DESIGN.md §1: zone aliases answer the same data with the asked owner name', async (t) => {
  const zone = sampleZone();
  const r = ask(zone, 'Web.Marathon.AgentIP.dcos.ThisDCOS.directory.', 'A');
  t.equal(r.rcode, 'NOERROR');
  t.ok(r.flags.aa);
  t.same(r.answers.map((a) => a.data).sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  t.ok(r.answers.every((a) => a.name === 'Web.Marathon.AgentIP.dcos.ThisDCOS.directory.'));
  const nx = ask(zone, 'nope.dcos.thisdcos.directory.', 'A');
  t.equal(nx.rcode, 'NXDOMAIN');
  t.equal(nx.authorities[0]?.name, 'dcos.thisdcos.directory.');
  t.equal(ask(zone, 'marathon.agentip.dcos.thisdcos.directory.', 'A').rcode, 'NOERROR', 'empty non-terminal under the alias');
});

t.test('RFC 1035 §4.2.1, RFC 2181 §9: UDP truncation sets TC only when the answer RRset does not fit', async (t) => {
  const zone = sampleZone();
  // A 52-byte name: 12 + 52 + 4 + 27 × 16 = 500 bytes fit in 512; 28 records (516) do not.
  const name = 'abcdefghijklmnopqrstuvwxyz-01234567.framework.dcos.';
  t.equal(name.length + 1, 52, 'the name is 52 bytes on the wire');
  zone.setRRset(name, 'A', Array.from({ length: 27 }, (_, i) => `10.2.0.${i}`));
  const fits = ask(zone, name, 'A', {});
  t.notOk(fits.flags.tc, '27 compressed A records fit in 512 bytes');
  t.equal(fits.answers.length, 27);
  t.ok(answerOf(respond(buildQuery(name, 'A'), zone, udp)).length <= 512);
  zone.setRRset(name, 'A', Array.from({ length: 28 }, (_, i) => `10.2.0.${i}`));
  const tc = ask(zone, name, 'A', {});
  t.ok(tc.flags.tc, '28 do not: TC');
  t.equal(tc.answers.length, 0, 'never a silently partial RRset');
  t.equal(tc.question?.name, name);
  const overTcp = ask(zone, name, 'A', {}, tcp);
  t.notOk(overTcp.flags.tc);
  t.equal(overTcp.answers.length, 28, 'the same query over TCP gets everything (RFC 7766 §5)');
});

t.test('RFC 6891 §6.2.5: EDNS payload size honoured up to 1232, sizes under 512 count as 512', async (t) => {
  const zone = sampleZone();
  const big = 'a-rather-long-task-name-here.some-framework.agentip.dcos.'; // 60 records, ~1045 bytes
  t.ok(ask(zone, big, 'A').flags.tc, 'no EDNS: 512');
  const edns = ask(zone, big, 'A', { edns: { udp: 1232 } });
  t.notOk(edns.flags.tc);
  t.equal(edns.answers.length, 60);
  t.ok(ask(zone, big, 'A', { edns: { udp: 1000 } }).flags.tc, 'client size 1000 honoured');
  zone.setRRset(big, 'A', Array.from({ length: 100 }, (_, i) => `10.3.0.${i}`)); // ~1685 bytes
  t.ok(ask(zone, big, 'A', { edns: { udp: 4096 } }).flags.tc, '4096 is capped at 1232');
  const name = 'abcdefghijklmnopqrstuvwxyz-01234567.framework.dcos.';
  zone.setRRset(name, 'A', Array.from({ length: 27 }, (_, i) => `10.2.0.${i}`));
  const small = ask(zone, name, 'A', { edns: { udp: 100 } });
  t.notOk(small.flags.tc, 'a size of 100 is treated as 512: 500 + 11 (OPT) bytes fit');
  t.equal(small.answers.length, 27);
});

t.test('RFC 2181 §9: additional records that do not fit are dropped without TC', async (t) => {
  const zone = sampleZone();
  const target = 'many.marathon.containerip.dcos.';
  zone.setRRset(target, 'A', Array.from({ length: 40 }, (_, i) => `9.0.2.${i}`));
  zone.setRRset(target, 'AAAA', ['fd01:b::9']);
  zone.setRRset('_many._tcp.marathon.containerip.dcos.', 'SRV', [{ priority: 0, weight: 0, port: 80, target }]);
  const r = ask(zone, '_many._tcp.marathon.containerip.dcos.', 'SRV');
  t.notOk(r.flags.tc, 'no TC for dropped glue');
  t.equal(r.answers.length, 1);
  t.ok(r.additionals.length < 41, `glue cut: ${r.additionals.length}`);
  for (const type of ['A', 'AAAA']) {
    const n = r.additionals.filter((a) => a.type === type).length;
    t.ok(n === 0 || n === (type === 'A' ? 40 : 1), `whole RRsets only (${type}: ${n})`);
  }
  const full = ask(zone, '_many._tcp.marathon.containerip.dcos.', 'SRV', {}, tcp);
  t.equal(full.additionals.length, 41, 'all glue over TCP');
});

t.test('RFC 6891 §6.1.1, §7: OPT only when asked, advertising 1232, DO copied (RFC 3225), no unknown options echoed', async (t) => {
  const zone = sampleZone();
  t.equal(ask(zone, 'leader.dcos.', 'A').opt, undefined, 'no OPT without one in the query');
  const r = ask(zone, 'leader.dcos.', 'A', { edns: { udp: 4096, do: true, options: [{ code: 65001, data: Buffer.from('hello') } as unknown as dnsPacket.PacketOpt] } });
  t.same(r.opt, { udp: 1232, version: 0, do: true, extendedRcode: 0, options: 0 });
  t.equal(ask(zone, 'leader.dcos.', 'A', { edns: {} }).opt?.do, false, 'DO clear when not asked');
  t.ok(ask(zone, 'nope.dcos.', 'A', { edns: {} }).opt, 'negative answers carry the OPT too');
});

t.test('RFC 6891 §6.1.3: EDNS version > 0 gets BADVERS with an OPT of version 0', async (t) => {
  const zone = sampleZone();
  const r = ask(zone, 'leader.dcos.', 'A', { edns: { version: 1 } });
  t.equal(r.rcode, 'BADVERS');
  t.equal(r.opt?.extendedRcode, 1, 'upper bits of rcode 16');
  t.equal(r.opt?.version, 0);
  t.equal(r.answers.length, 0);
});

function patch(buf: Buffer, f: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(buf);
  f(copy);
  return copy;
}

t.test('RFC 1035 §4.1.1: opcodes other than QUERY get NOTIMP', async (t) => {
  const zone = sampleZone();
  for (const op of [1, 2, 4, 5, 15]) {
    const query = patch(buildQuery('leader.dcos.', 'A', { id: 77 }), (b) => (b[2] = (b[2]! & 0x87) | (op << 3)));
    const bytes = answerOf(respond(query, zone, udp));
    t.equal(bytes[3]! & 0xf, 4, `opcode ${op}: NOTIMP`);
    t.equal(bytes.readUInt16BE(0), 77, 'ID echoed');
    t.equal((bytes[2]! >> 3) & 0xf, op, 'opcode echoed');
    t.ok(bytes[2]! & 0x80, 'QR set');
  }
});

t.test('RFC 9619, RFC 1035 §4.1: zero or several questions and malformed packets get FORMERR', async (t) => {
  const zone = sampleZone();
  const base = buildQuery('leader.dcos.', 'A', { id: 99 });
  const cases: [string, Buffer][] = [
    ['zero questions', patch(base, (b) => b.writeUInt16BE(0, 4))],
    ['two questions', dnsPacket.encode({ type: 'query', id: 99, questions: [{ name: 'a.dcos', type: 'A' }, { name: 'b.dcos', type: 'A' }] })],
    ['name cut short', base.subarray(0, 20)],
    ['qtype missing', base.subarray(0, base.length - 3)],
    ['label longer than 63', patch(base, (b) => (b[12] = 64))],
    ['compression pointer in the question', patch(base, (b) => (b[12] = 0xc0))],
    ['answer count without records', patch(base, (b) => b.writeUInt16BE(1, 6))],
    ['OPT option longer than its record', patch(buildQuery('leader.dcos.', 'A', { id: 99, edns: { options: [{ code: 10, data: Buffer.alloc(8) } as unknown as dnsPacket.PacketOpt] } }), (b) => b.writeUInt16BE(200, b.length - 10))],
    ['two OPT records', dnsPacket.encode({ type: 'query', id: 99, questions: [{ name: 'leader.dcos', type: 'A' }], additionals: [{ type: 'OPT', name: '.' } as unknown as dnsPacket.Answer, { type: 'OPT', name: '.' } as unknown as dnsPacket.Answer] })],
  ];
  for (const [why, query] of cases) {
    const bytes = answerOf(respond(query, zone, udp));
    t.equal(bytes[3]! & 0xf, 1, `${why}: FORMERR`);
    t.equal(bytes.readUInt16BE(0), 99, `${why}: ID echoed`);
  }
});

t.test('RFC 1035 §4.1.1: a packet with QR set is dropped, and so is one too short for a header', async (t) => {
  const zone = sampleZone();
  const response = patch(buildQuery('leader.dcos.', 'A'), (b) => (b[2] = b[2]! | 0x80));
  t.same(respond(response, zone, udp), { kind: 'drop', reason: 'response' });
  t.same(respond(Buffer.alloc(11), zone, udp), { kind: 'drop', reason: 'short' });
});

t.test('DESIGN.md §1: REFUSED outside our zones when forwarding is off or the client is not allowed', async (t) => {
  const zone = sampleZone();
  const off = ask(zone, 'example.com.', 'A');
  t.equal(off.rcode, 'REFUSED');
  t.notOk(off.flags.aa);
  t.notOk(off.flags.ra);
  const notAllowed = ask(zone, 'example.com.', 'A', {}, { ...udp, client: '192.0.2.1', recursionAllowed: (c) => c === '127.0.0.1' });
  t.equal(notAllowed.rcode, 'REFUSED');
  const allowed = respond(buildQuery('example.com.', 'A'), zone, { ...udp, recursionAllowed: () => true });
  t.equal(allowed.kind, 'forward', 'allowed clients are forwarded');
  t.ok(ask(zone, 'leader.dcos.', 'A', {}, { ...udp, recursionAllowed: () => true }).flags.ra, 'RA set when recursion is offered');
});

t.test('RFC 8482 §4.2: ANY gets one synthesised HINFO "RFC8482"', async (t) => {
  const zone = sampleZone();
  for (const options of [udp, tcp]) {
    const r = ask(zone, 'web.marathon.agentip.dcos.', 'ANY', {}, options);
    t.equal(r.rcode, 'NOERROR');
    t.same(r.answers.map((a) => `${a.type} ${a.data}`), ['HINFO "RFC8482" ""']);
  }
  t.equal(ask(zone, 'nope.dcos.', 'ANY').rcode, 'NXDOMAIN', 'ANY of a missing name is still NXDOMAIN');
});

t.test('DESIGN.md §4: SERVFAIL, never NXDOMAIN, until the zone is ready', async (t) => {
  const zone = sampleZone();
  zone.setReady(false);
  for (const name of ['web.marathon.agentip.dcos.', 'nope.dcos.', 'dcos.', '2.1.0.9.in-addr.arpa.', 'x.dcos.thisdcos.directory.']) {
    const r = ask(zone, name, 'A');
    t.equal(r.rcode, 'SERVFAIL', `${name}: SERVFAIL`);
    t.notOk(r.flags.aa);
  }
  zone.setReady(true);
  t.equal(ask(zone, 'nope.dcos.', 'A').rcode, 'NXDOMAIN');
});

t.test('DESIGN.md §1: PTR for container IPs; unknown reverse names fall through to forwarding when allowed', async (t) => {
  const zone = sampleZone();
  zone.setRRset('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.0.0.0.1.0.d.f.ip6.arpa.', 'PTR', ['web.marathon.containerip.dcos.']);
  const r = ask(zone, '2.1.0.9.in-addr.arpa.', 'PTR');
  t.same(r.answers.map((a) => a.data), ['web.marathon.containerip.dcos.']);
  t.ok(r.flags.aa);
  t.same(ask(zone, '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.0.0.0.1.0.d.f.ip6.arpa.', 'PTR').answers.map((a) => a.data), ['web.marathon.containerip.dcos.']);
  t.equal(ask(zone, '9.9.9.9.in-addr.arpa.', 'PTR').rcode, 'NXDOMAIN', 'no recursion: authoritative NXDOMAIN');
  const fall = respond(buildQuery('9.9.9.9.in-addr.arpa.', 'PTR'), zone, { ...udp, recursionAllowed: () => true });
  t.equal(fall.kind, 'forward', 'recursion: falls through to forwarding');
  const held = respond(buildQuery('2.1.0.9.in-addr.arpa.', 'PTR'), zone, { ...udp, recursionAllowed: () => true });
  t.equal(held.kind, 'answer', 'names we hold are answered even for recursive clients');
});

t.test('RFC 5936 §2.2.1 / RFC 6895: AXFR is REFUSED; non-IN classes are REFUSED', async (t) => {
  const zone = sampleZone();
  t.equal(ask(zone, 'dcos.', 'AXFR', {}, tcp).rcode, 'REFUSED');
  t.equal(ask(zone, 'version.bind.', 'TXT', { klass: 'CH' }).rcode, 'REFUSED');
});

t.test('records appear and disappear as the zone index changes (issue 5)', async (t) => {
  const zone = sampleZone();
  const name = 'new.marathon.containerip.dcos.';
  t.equal(ask(zone, name, 'A').rcode, 'NXDOMAIN');
  zone.setRRset(name, 'A', ['9.0.3.1']);
  t.same(ask(zone, name, 'A').answers.map((a) => a.data), ['9.0.3.1']);
  zone.setRRset(name, 'A', ['9.0.3.1', '9.0.3.2']);
  t.equal(ask(zone, name, 'A').answers.length, 2);
  zone.deleteRRset(name, 'A');
  t.equal(ask(zone, name, 'A').rcode, 'NXDOMAIN');
  // An empty non-terminal disappears with its last descendant.
  zone.setRRset('deep.x.y.z.dcos.', 'A', ['9.0.3.3']);
  t.equal(ask(zone, 'y.z.dcos.', 'A').rcode, 'NOERROR');
  zone.deleteName('deep.x.y.z.dcos.');
  t.equal(ask(zone, 'y.z.dcos.', 'A').rcode, 'NXDOMAIN');
  t.equal(ask(zone, 'z.dcos.', 'A').rcode, 'NXDOMAIN');
});
