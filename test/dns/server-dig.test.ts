// The protocol points of issue 5 against a real server on loopback, asked with dig (bind9-dnsutils)
// and with our own client; plus a separate server process (dns/server/main.js) whose zone changes
// arrive on stdin. Each test names its RFC section.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startDnsServer } from '../../dns/server/dns-server.js';
import type { QueryEvent } from '../../dns/server/metrics.js';
import { askUdp, buildQuery, decodeReply, dig, parseDig, sampleZone, udpExchange } from './helpers.js';

const zone = sampleZone();
const server = await startDnsServer({ zone });
t.teardown(() => server.close());
const port = server.port;

t.test('RFC 7766 §5: the server binds UDP and TCP on the same (ephemeral) port', async (t) => {
  t.ok(port > 0);
  t.equal((await dig(port, ['leader.dcos.'])).rcode, 'NOERROR');
  t.equal((await dig(port, ['+tcp', 'leader.dcos.'])).rcode, 'NOERROR');
});

t.test('RFC 1035 §4.1.1: dig sees ID, QR, AA and RD echoed; RA not offered', async (t) => {
  const r = await dig(port, ['web.marathon.agentip.dcos.', 'A']);
  t.equal(r.rcode, 'NOERROR');
  t.ok(r.flags.qr && r.flags.aa && r.flags.rd);
  t.notOk(r.flags.ra);
  t.same(r.answers.map((a) => a.data).sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  t.notOk(r.raw.includes('ID mismatch'));
  const norec = await dig(port, ['+norec', 'web.marathon.agentip.dcos.']);
  t.notOk(norec.flags.rd);
  t.ok(norec.flags.aa);
});

t.test('RFC 4343 (0x20): mixed case is echoed as asked in the question and the owner names', async (t) => {
  const r = await dig(port, ['WeB.mArAtHoN.aGeNtIp.DcOs.', 'A']);
  t.equal(r.question?.name, 'WeB.mArAtHoN.aGeNtIp.DcOs.');
  t.ok(r.answers.length === 3 && r.answers.every((a) => a.name === 'WeB.mArAtHoN.aGeNtIp.DcOs.'));
  t.notOk(r.raw.includes('WARNING'.concat(': question')), 'dig accepts the question section');
});

t.test('RFC 2308 §2.1, RFC 8020: dig sees NXDOMAIN vs NODATA, SOA in authority with TTL min(SOA TTL, minimum)', async (t) => {
  const nx = await dig(port, ['nope.marathon.agentip.dcos.', 'A']);
  t.equal(nx.rcode, 'NXDOMAIN');
  t.equal(nx.authorities[0]?.type, 'SOA');
  t.equal(nx.authorities[0]?.ttl, 5);
  for (const [name, type] of [['web.marathon.agentip.dcos.', 'AAAA'], ['marathon.agentip.dcos.', 'A']] as const) {
    const r = await dig(port, [name, type]);
    t.equal(r.rcode, 'NOERROR', `${name} ${type}`);
    t.equal(r.answers.length, 0);
    t.equal(r.authorities[0]?.type, 'SOA');
    t.ok(r.flags.aa);
  }
});

t.test('RFC 1035 §3.3.13: SOA serial = the zone serial; NS at the apex; TTL 5', async (t) => {
  zone.setSerial(4711);
  const soa = await dig(port, ['dcos.', 'SOA']);
  t.equal(soa.answers[0]?.data, 'ns.dcos. hostmaster.dcos. 4711 60 30 86400 5');
  const ns = await dig(port, ['dcos.', 'NS']);
  t.same(ns.answers.map((a) => a.data), ['ns.dcos.']);
  t.equal((await dig(port, ['leader.dcos.'])).answers[0]?.ttl, 5);
});

t.test('RFC 1035 §4.2.1, RFC 7766 §5: UDP answers that do not fit set TC; the same query over TCP returns everything', async (t) => {
  const big = 'a-rather-long-task-name-here.some-framework.agentip.dcos.';
  const tc = await dig(port, ['+noedns', '+ignore', big]);
  t.ok(tc.flags.tc, 'TC over UDP without EDNS');
  t.equal(tc.answers.length, 0);
  const retried = await dig(port, ['+noedns', big]);
  t.match(retried.raw, /Truncated, retrying in TCP mode/);
  t.equal(retried.answers.length, 60, 'dig retries over TCP and gets all 60');
  const tcp = await dig(port, ['+tcp', '+noedns', big]);
  t.notOk(tcp.flags.tc);
  t.equal(tcp.answers.length, 60);
  const edns = await dig(port, ['+bufsize=1232', '+ignore', big]);
  t.notOk(edns.flags.tc, 'fits in 1232 with EDNS');
  t.equal(edns.answers.length, 60);
  const small = await dig(port, ['+bufsize=600', '+ignore', big]);
  t.ok(small.flags.tc, 'bufsize 600 honoured');
  const tiny = await dig(port, ['+bufsize=100', '+ignore', 'web.marathon.agentip.dcos.']);
  t.notOk(tiny.flags.tc, 'bufsize 100 counts as 512 (RFC 6891 §6.2.5)');
});

t.test('RFC 6891 §6.1.1: OPT only when asked, advertising 1232', async (t) => {
  const withOpt = await dig(port, ['leader.dcos.']);
  t.same(withOpt.opt && { udp: withOpt.opt.udp, version: withOpt.opt.version }, { udp: 1232, version: 0 });
  const withDo = await dig(port, ['+dnssec', 'leader.dcos.']);
  t.ok(withDo.opt?.do, 'DO copied (RFC 3225 §3)');
  const none = await dig(port, ['+noedns', 'leader.dcos.']);
  t.equal(none.opt, undefined);
  t.notOk(none.raw.includes('OPT PSEUDOSECTION'));
});

t.test('RFC 6891 §6.1.3: EDNS version 1 gets BADVERS', async (t) => {
  const r = await dig(port, ['+edns=1', '+noednsneg', 'leader.dcos.']);
  t.equal(r.rcode, 'BADVERS');
  t.equal(r.opt?.version, 0);
  const negotiated = await dig(port, ['+edns=1', 'leader.dcos.']);
  t.match(negotiated.raw, /BADVERS, retrying with EDNS version 0/);
  t.equal(negotiated.rcode, 'NOERROR');
});

t.test('RFC 1035 §4.1.1: dig +opcode=status gets NOTIMP; +header-only (no question) gets FORMERR (RFC 9619)', async (t) => {
  t.equal((await dig(port, ['+opcode=status', 'dcos.'])).rcode, 'NOTIMP');
  t.equal((await dig(port, ['+opcode=notify', 'dcos.'])).rcode, 'NOTIMP');
  t.equal((await dig(port, ['+header-only'])).rcode, 'FORMERR');
  t.equal((await dig(port, ['+tcp', '+header-only'])).rcode, 'FORMERR');
});

t.test('RFC 1035 §4.1: own client: malformed packets get FORMERR over UDP', async (t) => {
  const q = buildQuery('leader.dcos.', 'A', { id: 321 });
  const cut = await udpExchange(port, q.subarray(0, 16));
  t.ok(cut);
  t.equal(cut![3]! & 0xf, 1);
  t.equal(cut!.readUInt16BE(0), 321);
});

t.test('RFC 1035 §4.1.1: a packet with QR set gets no answer; the server keeps answering', async (t) => {
  const q = buildQuery('leader.dcos.', 'A');
  q[2] = q[2]! | 0x80;
  const dropsBefore = server.metrics.snapshot().dropped;
  t.equal(await udpExchange(port, q, 300), undefined, 'no answer to a response');
  t.equal(server.metrics.snapshot().dropped, dropsBefore + 1);
  t.equal((await askUdp(port, 'leader.dcos.', 'A')).rcode, 'NOERROR');
});

t.test('DESIGN.md §1: REFUSED outside our zones (forwarding off)', async (t) => {
  const r = await dig(port, ['example.com.', 'A']);
  t.equal(r.rcode, 'REFUSED');
  t.notOk(r.flags.aa);
});

t.test('RFC 8482 §4.2: ANY over UDP and TCP gets one HINFO', async (t) => {
  for (const tcp of [[], ['+tcp']]) {
    const r = await dig(port, [...tcp, 'web.marathon.agentip.dcos.', 'ANY']);
    t.same(r.answers.map((a) => `${a.type} ${a.data}`), ['HINFO "RFC8482" ""']);
  }
});

t.test('DESIGN.md §4: SERVFAIL (never NXDOMAIN) while the zone is not ready', async (t) => {
  zone.setReady(false);
  t.teardown(() => zone.setReady(true));
  t.equal((await dig(port, ['nope.dcos.'])).rcode, 'SERVFAIL');
  t.equal((await dig(port, ['+tcp', 'leader.dcos.'])).rcode, 'SERVFAIL');
  zone.setReady(true);
  t.equal((await dig(port, ['nope.dcos.'])).rcode, 'NXDOMAIN');
});

t.test('RFC 2782: SRV with the targets in the additional section; zone alias; PTR', async (t) => {
  const srv = await dig(port, ['_web._tcp.marathon.containerip.dcos.', 'SRV']);
  t.same(srv.answers.map((a) => a.data), ['0 0 8080 web.marathon.containerip.dcos.']);
  t.same(srv.additionals.map((a) => `${a.type} ${a.data}`).sort(), ['A 9.0.1.2', 'A 9.0.1.3', 'AAAA fd01:b::2']);
  const alias = await dig(port, ['web.marathon.agentip.dcos.thisdcos.directory.']);
  t.equal(alias.answers.length, 3);
  t.ok(alias.flags.aa);
  const ptr = await dig(port, ['-x', '9.0.1.2']);
  t.same(ptr.answers.map((a) => a.data), ['web.marathon.containerip.dcos.']);
});

t.test('issue 5: records appear and disappear over the wire as the zone index changes', async (t) => {
  const name = 'fresh.marathon.containerip.dcos.';
  t.equal((await dig(port, [name])).rcode, 'NXDOMAIN');
  zone.setRRset(name, 'A', ['9.0.4.1']);
  t.same((await dig(port, [name])).answers.map((a) => a.data), ['9.0.4.1']);
  zone.deleteRRset(name, 'A');
  t.equal((await dig(port, [name])).rcode, 'NXDOMAIN');
});

t.test('issue 5 (/metrics): counts of queries by type, rcode and transport, with latency', async (t) => {
  const m = server.metrics.snapshot();
  t.ok(m.queries['udp']! > 10 && m.queries['tcp']! > 3, JSON.stringify(m.queries));
  t.ok(m.byType['A']! > 5 && m.byType['SRV']! >= 1 && m.byType['ANY']! >= 2, JSON.stringify(m.byType));
  t.ok(m.byRcode['NXDOMAIN']! >= 1 && m.byRcode['REFUSED']! >= 1 && m.byRcode['FORMERR']! >= 1 && m.byRcode['NOTIMP']! >= 1, JSON.stringify(m.byRcode));
  t.equal(m.latency.count, m.queries['udp']! + m.queries['tcp']!);
  t.equal(m.latency.counts.reduce((a, b) => a + b, 0), m.latency.count);
});

t.test('issue 5 (a real server process): dns/server/main.js answers dig and takes zone changes on stdin', async (t) => {
  const main = fileURLToPath(new URL('../../dns/server/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, '--origin', 'dcos.', '--ttl', '9'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => JSON.parse(String((await lines.next()).value)) as Record<string, unknown>;
  const childPort = Number((await next())['port']);
  const send = async (c: object): Promise<Record<string, unknown>> => {
    child.stdin!.write(JSON.stringify(c) + '\n');
    return next();
  };
  t.equal((await dig(childPort, ['leader.dcos.'])).rcode, 'SERVFAIL', 'not ready after start');
  t.same(await send({ op: 'ready', ready: true }), { ok: true });
  t.equal((await dig(childPort, ['leader.dcos.'])).rcode, 'NXDOMAIN');
  t.same(await send({ op: 'set', name: 'leader.dcos.', type: 'A', records: ['127.0.0.9'] }), { ok: true });
  const r = await dig(childPort, ['leader.dcos.']);
  t.same(r.answers.map((a) => `${a.ttl} ${a.data}`), ['9 127.0.0.9']);
  t.match(await send({ op: 'set', name: 'leader.example.', type: 'A', records: ['1.2.3.4'] }), { error: /not under dcos/ });
  t.match(await send({ op: 'set', name: 'x.dcos.', type: 'A', records: ['1.2.3'] }), { error: /IPv4/ });
  t.same(await send({ op: 'serial', serial: 12 }), { ok: true });
  t.match((await dig(childPort, ['dcos.', 'SOA'])).answers[0]?.data, / 12 60 /);
  t.same(await send({ op: 'delete', name: 'leader.dcos.', type: 'A' }), { ok: true });
  t.equal((await dig(childPort, ['+tcp', 'leader.dcos.'])).rcode, 'NXDOMAIN');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit on SIGTERM');
  t.equal(decodeReply(buildQuery('x.', 'A')).question?.name, 'x.', 'helpers round-trip');
});

t.test('RFC 3596: a server on ::1 answers IPv6 clients (IPv6 loopback is in the default allowRecursion)', async (t) => {
  const v6 = await startDnsServer({ zone, host: '::1' }).catch(() => undefined);
  if (v6 === undefined) {
    t.comment('no IPv6 loopback on this machine: skipped');
    return;
  }
  t.teardown(() => v6.close());
  const raw = await new Promise<string>((resolve) => {
    execFile('dig', ['@::1', '-p', String(v6.port), '+tries=1', '+time=2', 'web.marathon.containerip.dcos.', 'AAAA'], (_err, stdout) => resolve(stdout));
  });
  const r = parseDig(raw);
  t.equal(r.rcode, 'NOERROR');
  t.same(r.answers.map((a) => a.data), ['fd01:b::2']);
  t.equal(parseDig(await new Promise<string>((resolve) => execFile('dig', ['@::1', '-p', String(v6.port), '+tcp', '+tries=1', '+time=2', 'leader.dcos.'], (_e, out) => resolve(out)))).answers.length, 1);
});

t.test('issue 5 (/metrics): onQuery reports transport, type, rcode and latency of every answered query', async (t) => {
  const events: QueryEvent[] = [];
  const s = await startDnsServer({ zone, onQuery: (e) => events.push(e) });
  t.teardown(() => s.close());
  await dig(s.port, ['leader.dcos.', 'A']);
  await dig(s.port, ['+tcp', 'nope.dcos.', 'AAAA']);
  await dig(s.port, ['+header-only']);
  t.same(
    events.map((e) => [e.transport, e.qtype, e.rcode, e.forwarded]),
    [
      ['udp', 1, 0, false],
      ['tcp', 28, 3, false],
      ['udp', -1, 1, false],
    ],
  );
  t.ok(events.every((e) => e.seconds >= 0 && e.seconds < 1));
  t.same(s.metrics.snapshot().byType, { A: 1, AAAA: 1, unreadable: 1 });
});
