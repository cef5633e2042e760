// Forwarding (dns/forward/) against a tiny upstream DNS server this test runs on 127.0.0.1 — never
// a real outside resolver. The upstream's behaviour depends on the first label of the name.
import t from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { Forwarder } from '../../dns/forward/upstream.js';
import { parseQuery, type ParsedQuery } from '../../dns/wire/query.js';
import { startDnsServer } from '../../dns/server/dns-server.js';
import { askUdp, buildQuery, decodeReply, dig, frame, sampleZone, tcpExchange, udpExchange } from './helpers.js';

interface Upstream {
  port: number;
  seen: { udp: number; tcp: number; options: number };
  close(): Promise<void>;
}

/** Answers `name` A queries: `big.*` is truncated over UDP; `slow.*` never answers; `spoof.*` replies from another port. */
function upstreamAnswer(query: Buffer, transport: 'udp' | 'tcp', seen?: { options: number }): Buffer | undefined | 'spoof' {
  const q = dnsPacket.decode(query);
  const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  if (seen) seen.options += opt?.options.length ?? 0;
  const question = q.questions![0]!;
  const first = question.name.split('.')[0]!.toLowerCase();
  if (first === 'slow') return undefined;
  const count = first === 'big' ? 100 : 2;
  const truncated = first === 'big' && transport === 'udp';
  const nx = first === 'missing';
  const answers = nx || truncated ? [] : Array.from({ length: count }, (_, i) => ({ type: 'A' as const, name: question.name, ttl: 60, data: `192.0.2.${i + 1}` }));
  const reply = dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: (nx ? 3 : 0) | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | dnsPacket.RECURSION_AVAILABLE | (q.flags ?? 0 & dnsPacket.RECURSION_DESIRED),
    questions: [question],
    answers,
    // Like a cookie-aware server, echo the query's OPT with its options (RFC 7873 §5.2).
    additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [...opt.options, { code: 10, data: Buffer.from('0011223344556677aabbccddeeff0011', 'hex') }] } as unknown as dnsPacket.Answer] : [],
    authorities: nx ? [{ type: 'SOA', name: 'example.', ttl: 30, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 10 } }] : [],
  });
  return first === 'spoof' ? 'spoof' : reply;
}

async function startUpstream(): Promise<Upstream> {
  const seen = { udp: 0, tcp: 0, options: 0 };
  const udp = dgram.createSocket('udp4');
  const other = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  udp.on('message', (msg, rinfo) => {
    seen.udp++;
    const reply = upstreamAnswer(msg, 'udp', seen);
    if (reply === 'spoof') {
      const q = dnsPacket.decode(msg);
      other.send(dnsPacket.encode({ type: 'response', id: q.id ?? 0, questions: q.questions ?? [], answers: [{ type: 'A', name: q.questions![0]!.name, data: '6.6.6.6' }] }), rinfo.port, rinfo.address);
    } else if (reply !== undefined) udp.send(reply, rinfo.port, rinfo.address);
  });
  const tcp = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        seen.tcp++;
        const reply = upstreamAnswer(msg, 'tcp', seen);
        if (reply instanceof Buffer) s.write(frame(reply));
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  return {
    port,
    seen,
    close: async () => {
      udp.close();
      other.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const zone = sampleZone();
const server = await startDnsServer({ zone, upstreams: [`127.0.0.1:${upstream.port}`], forwardAttemptMs: 300, forwardInFlightMax: 3 });
t.teardown(() => server.close());
const port = server.port;

t.test('RFC 1035 §4.3.1: names outside our zones are forwarded for loopback clients, RA set', async (t) => {
  const before = upstream.seen.udp;
  const r = await askUdp(port, 'Www.Example.', 'A', { id: 555 });
  t.equal(r.rcode, 'NOERROR');
  t.equal(r.id, 555, 'client ID restored');
  t.equal(r.question?.name, 'Www.Example.', 'client case restored');
  t.ok(r.flags.ra);
  t.notOk(r.flags.aa, 'not authoritative for forwarded names');
  t.same(r.answers.map((a) => a.data), ['192.0.2.1', '192.0.2.2']);
  t.equal(upstream.seen.udp, before + 1);
  const d = await dig(port, ['other.example.']);
  t.equal(d.rcode, 'NOERROR');
  t.ok(d.flags.ra);
  t.equal(d.answers.length, 2);
  // Our own zone is still answered authoritatively, with RA now on offer.
  const own = await askUdp(port, 'leader.dcos.', 'A');
  t.ok(own.flags.aa && own.flags.ra);
});

t.test('RFC 1035 §7.4, RFC 2308 §5: upstream answers are cached for their TTL (negative for the SOA minimum)', async (t) => {
  const before = upstream.seen.udp;
  await askUdp(port, 'cached.example.', 'A');
  const again = await askUdp(port, 'CACHED.example.', 'A', { id: 9 });
  t.equal(upstream.seen.udp, before + 1, 'second query served from the cache');
  t.equal(again.id, 9);
  t.equal(again.question?.name, 'CACHED.example.');
  t.equal(again.answers.length, 2);
  const nx1 = await askUdp(port, 'missing.example.', 'A');
  const nx2 = await askUdp(port, 'missing.example.', 'A');
  t.equal(nx1.rcode, 'NXDOMAIN');
  t.equal(nx2.rcode, 'NXDOMAIN');
  t.equal(upstream.seen.udp, before + 2, 'NXDOMAIN cached too');
});

t.test('RFC 1035 §7.4: cached TTLs age and entries expire (injected clock)', async (t) => {
  let now = 1_000_000;
  const f = new Forwarder({ upstreams: [`127.0.0.1:${upstream.port}`], attemptMs: 300, now: () => now });
  t.teardown(() => f.close());
  const query = buildQuery('aging.example.', 'A', { id: 1 });
  const q = parseQuery(query) as ParsedQuery;
  const before = upstream.seen.udp;
  const first = await f.resolve(query, q, 512);
  t.equal(decodeReply(first.bytes).answers[0]?.ttl, 60);
  t.notOk(first.cached);
  now += 25_000;
  const second = await f.resolve(query, q, 512);
  t.ok(second.cached);
  t.equal(decodeReply(second.bytes).answers[0]?.ttl, 35, 'TTL aged by 25 s');
  now += 35_000;
  const third = await f.resolve(query, q, 512);
  t.notOk(third.cached, 'expired after 60 s');
  t.equal(upstream.seen.udp, before + 2);
});

t.test('RFC 7766 §5: a truncated upstream reply is retried over TCP; the client gets TC if it does not fit its transport', async (t) => {
  const tcpBefore = upstream.seen.tcp;
  const overTcp = decodeReply((await tcpExchange(port, [frame(buildQuery('big.example.', 'A'))], 1))[0]!);
  t.equal(overTcp.answers.length, 100);
  t.equal(upstream.seen.tcp, tcpBefore + 1, 'retried over TCP upstream');
  const overUdp = await askUdp(port, 'big.example.', 'A');
  t.ok(overUdp.flags.tc, '1600-byte answer does not fit 512: TC');
  t.equal(overUdp.answers.length, 0);
  const viaDig = await dig(port, ['big.example.']);
  t.equal(viaDig.answers.length, 100, 'dig retries over TCP and gets it all');
});

t.test('RFC 5452 §9.1: replies from another address/port are ignored; a silent upstream gives SERVFAIL after the timeout', async (t) => {
  const started = Date.now();
  const spoofed = await askUdp(port, 'spoof.example.', 'A');
  t.equal(spoofed.rcode, 'SERVFAIL');
  t.notOk(spoofed.answers.some((a) => a.data === '6.6.6.6'));
  const slow = await askUdp(port, 'slow.example.', 'A');
  t.equal(slow.rcode, 'SERVFAIL');
  const elapsed = Date.now() - started;
  t.ok(elapsed < 3000, `bounded by the per-attempt timeout: ${elapsed} ms`);
});

t.test('limits: queries in flight upstream are bounded; beyond the bound SERVFAIL at once', async (t) => {
  const started = Date.now();
  const timed = await Promise.all(
    [1, 2, 3, 4, 5].map(async (i) => {
      const r = await udpExchange(port, buildQuery(`slow${i}.example.`.replace(/^slow\d/, 'slow'), 'A', { id: i }), 3000);
      return { rcode: r === undefined ? 'none' : decodeReply(r).rcode, ms: Date.now() - started };
    }),
  );
  t.ok(timed.every((x) => x.rcode === 'SERVFAIL'), JSON.stringify(timed));
  // Over the bound: answered before a single attempt (300 ms) could time out. Within it: after two
  // attempts (2 × 300 ms).
  const quick = timed.filter((x) => x.ms < 300).length;
  const waited = timed.filter((x) => x.ms >= 550).length;
  t.equal(quick, 2, `two over the bound of 3 answered at once: ${JSON.stringify(timed)}`);
  t.equal(waited, 3, 'three waited for their upstream timeouts');
  t.ok(server.forwarder!.inFlight <= 3);
});

t.test('RFC 5452 / DESIGN.md §6: clients outside allowRecursion get REFUSED (no open resolver)', async (t) => {
  const closedServer = await startDnsServer({ zone, upstreams: [`127.0.0.1:${upstream.port}`], allowRecursion: ['10.0.0.0/8', 'fd00::/8'] });
  t.teardown(() => closedServer.close());
  const before = upstream.seen.udp;
  const r = await askUdp(closedServer.port, 'www.example.', 'A');
  t.equal(r.rcode, 'REFUSED');
  t.notOk(r.flags.ra);
  t.equal(upstream.seen.udp, before, 'nothing sent upstream');
  t.equal((await dig(closedServer.port, ['www.example.'])).rcode, 'REFUSED');
  t.equal((await askUdp(closedServer.port, 'leader.dcos.', 'A')).rcode, 'NOERROR', 'our zone still answered');
  t.equal((await askUdp(closedServer.port, '9.9.9.9.in-addr.arpa.', 'PTR')).rcode, 'NXDOMAIN', 'no reverse fallthrough without recursion');
});

t.test('reverse names we do not hold fall through to the upstream for allowed clients', async (t) => {
  const before = upstream.seen.udp;
  const r = await dig(port, ['-x', '192.0.2.55', 'A']);
  t.equal(r.rcode, 'NOERROR');
  t.equal(upstream.seen.udp, before + 1);
  t.same((await dig(port, ['-x', '9.0.1.2'])).answers.map((a) => a.data), ['web.marathon.containerip.dcos.'], 'names we hold stay ours');
});

t.test('RFC 6891 §6.1.2, RFC 7873 §5: EDNS options (cookies) are hop-by-hop: not sent upstream, not passed down from it', async (t) => {
  const optionsBefore = upstream.seen.options;
  const first = await dig(port, ['+cookie', 'cookie.example.']);
  const second = await dig(port, ['+cookie', 'cookie.example.']);
  t.equal(upstream.seen.options, optionsBefore, "dig's client cookie is not forwarded");
  for (const r of [first, second]) {
    t.equal(r.rcode, 'NOERROR');
    t.equal(r.answers.length, 2);
    t.notMatch(r.raw, /mismatch|COOKIE:/i, 'no cookie in our answer, so dig sees no mismatch');
  }
  const own = await askUdp(port, 'cookie2.example.', 'A', { edns: { options: [{ code: 10, data: Buffer.alloc(8, 7) } as unknown as dnsPacket.PacketOpt] } });
  t.equal(own.opt?.options, 0);
  t.equal(own.answers.length, 2);
});
