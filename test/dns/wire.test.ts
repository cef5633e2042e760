// Wire helpers: name keys, the hot-path query parser, the compressing writer, IP text, CIDRs.
import t from 'tap';
import dnsPacket from 'dns-packet';
import { isIPv4, isIPv6 } from 'node:net';
import { cidrMatcher, parseCidr } from '../../dns/forward/cidr.js';
import { scanTtls } from '../../dns/forward/cache.js';
import { parseUpstream } from '../../dns/forward/upstream.js';
import { formatIpv6, parseIpv4, parseIpv6 } from '../../dns/wire/ip.js';
import { isUnder, keyToName, nameToKey, slowNameToKey } from '../../dns/wire/name.js';
import { parseQuery, udpLimitBytes, type ParsedQuery } from '../../dns/wire/query.js';
import { WireWriter } from '../../dns/wire/writer.js';
import { buildQuery } from './helpers.js';

t.test('RFC 1035 §3.1: name keys are lowercased wire form; label boundaries respected', async (t) => {
  t.equal(nameToKey('Web.DCOS.'), '\x03web\x04dcos\x00');
  t.equal(nameToKey('web.dcos'), nameToKey('WEB.dcos.'));
  t.equal(nameToKey('.'), '\x00');
  t.equal(keyToName(nameToKey('a.b.c')), 'a.b.c.');
  t.ok(isUnder(nameToKey('x.dcos'), nameToKey('dcos')));
  t.ok(isUnder(nameToKey('dcos'), nameToKey('dcos')));
  t.notOk(isUnder(nameToKey('xdcos'), nameToKey('dcos')));
  // A label containing the bytes of "\x04dcos\x00" must not match by suffix alone.
  t.notOk(isUnder('\x06a\x04dcos\x00', nameToKey('dcos')));
});

t.test('parser: a normal query, EDNS fields, 0x20 folding (ASCII only, RFC 4343 §3)', async (t) => {
  const q = parseQuery(buildQuery('WeB.dcos.', 'AAAA', { id: 9, edns: { udp: 4096, do: true } }));
  t.equal(q.kind, 'query');
  const p = q as ParsedQuery;
  t.equal(p.id, 9);
  t.equal(p.key, nameToKey('web.dcos'));
  t.equal(p.qtype, 28);
  t.equal(p.qclass, 1);
  t.ok(p.edns && p.ednsDo);
  t.equal(p.ednsUdpBytes, 4096);
  t.equal(udpLimitBytes(p), 1232);
  t.equal(p.questionEnd, 12 + 10 + 4);
  // Non-ASCII bytes are not case-folded (only A-Z are).
  const raw = Buffer.from(buildQuery('xx.dcos.', 'A'));
  raw[13] = 0xc4; // Latin capital A with diaeresis in latin1
  const folded = parseQuery(raw) as ParsedQuery;
  t.equal(folded.key.charCodeAt(1), 0xc4);
  t.equal(udpLimitBytes(parseQuery(buildQuery('x.', 'A', { edns: { udp: 1 } })) as ParsedQuery), 512);
  t.equal(udpLimitBytes(parseQuery(buildQuery('x.', 'A')) as ParsedQuery), 512);
});

t.test('parser: never throws on truncations of a valid query at every length', async (t) => {
  const full = buildQuery('web.marathon.agentip.dcos.', 'SRV', { edns: { udp: 1232 } });
  for (let n = 0; n <= full.length; n++) {
    const r = parseQuery(full.subarray(0, n));
    if (n < 12) t.same(r, { kind: 'drop', reason: 'short' });
    else if (n < full.length) t.equal(r.kind, 'error', `length ${n}`);
    else t.equal(r.kind, 'query');
  }
});

t.test('RFC 1035 §4.1.4: the writer compresses names against earlier suffixes (dns-packet decodes them)', async (t) => {
  const w = new WireWriter();
  w.bytes(Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]));
  const q = nameToKey('web.marathon.agentip.dcos');
  w.nameUncompressed(q);
  w.u16(1);
  w.u16(1);
  for (const ip of [[9, 0, 0, 1], [9, 0, 0, 2]]) {
    const at = w.beginRecord(q, 1, 1, 5);
    w.bytes(Uint8Array.from(ip));
    w.endRecord(at);
  }
  const bytes = w.slice();
  t.equal(bytes.length, 12 + 27 + 4 + 2 * 16, 'owners are 2-byte pointers');
  const p = dnsPacket.decode(bytes);
  t.same(p.answers?.map((a) => [a.name, (a as { data: string }).data]), [
    ['web.marathon.agentip.dcos', '9.0.0.1'],
    ['web.marathon.agentip.dcos', '9.0.0.2'],
  ]);
  const w2 = new WireWriter();
  w2.bytes(new Uint8Array(12));
  w2.nameUncompressed(nameToKey('a.example'));
  w2.name(nameToKey('b.example'));
  t.equal(w2.offset, 12 + 11 + 2 + 2, 'shared suffix becomes a pointer');
});

t.test('IP text: IPv4 and IPv6 (with ::, embedded IPv4), canonical IPv6 form (RFC 5952)', async (t) => {
  t.same(parseIpv4('9.0.1.2'), Uint8Array.from([9, 0, 1, 2]));
  t.equal(parseIpv4('9.0.1'), undefined);
  t.equal(parseIpv4('256.0.0.1'), undefined);
  t.same(parseIpv6('::1'), Uint8Array.from([...new Array(15).fill(0), 1]));
  t.same(parseIpv6('fd00::'), Uint8Array.from([0xfd, ...new Array(15).fill(0)]));
  t.same(parseIpv6('::ffff:1.2.3.4'), Uint8Array.from([...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]));
  t.equal(parseIpv6('fe80::1%eth0'), undefined);
  t.equal(parseIpv6('1::2::3'), undefined);
  t.equal(parseIpv6('9.0.0.1'), undefined);
  for (const text of ['fd01:b::2', '::', '::1', '1:2:3:4:5:6:7:8', 'fd00:0:0:1::']) t.equal(formatIpv6(parseIpv6(text)!), text);
  t.equal(formatIpv6(parseIpv6('FD01:000B:0:0:0:0:0:0002')!), 'fd01:b::2');
});

t.test('allowRecursion CIDRs: IPv4, IPv6, IPv4-mapped clients, bad entries named', async (t) => {
  const m = cidrMatcher(['127.0.0.0/8', '::1/128', '10.1.0.0/17', 'fd00::/8']);
  for (const a of ['127.0.0.1', '127.255.0.3', '::1', '::ffff:127.0.0.1', '10.1.127.255', 'fd12::3']) t.ok(m(a), a);
  for (const a of ['128.0.0.1', '10.1.128.0', '::2', 'fe00::1', 'garbage', '']) t.notOk(m(a), a);
  t.ok(cidrMatcher(['0.0.0.0/0'])('8.8.8.8'));
  t.notOk(cidrMatcher([])('127.0.0.1'));
  for (const bad of ['10.0.0.0/33', '10.0.0/8', '::/129', 'x/1', '10.0.0.0/8/1', '10.0.0.0/ 8']) {
    t.throws(() => parseCidr(bad), { code: 'bad-config' }, bad);
  }
});

t.test('forward cache: TTL scan finds every TTL and the negative TTL from the SOA (RFC 2308 §5)', async (t) => {
  const pos = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'a.example', type: 'A' }], answers: [{ type: 'A', name: 'a.example', ttl: 30, data: '1.2.3.4' }, { type: 'A', name: 'a.example', ttl: 20, data: '1.2.3.5' }] });
  t.same(scanTtls(pos)?.ttlSeconds, 20);
  t.equal(scanTtls(pos)?.offsets.length, 2);
  const neg = dnsPacket.encode({ type: 'response', id: 1, flags: 3, questions: [{ name: 'a.example', type: 'A' }], authorities: [{ type: 'SOA', name: 'example', ttl: 300, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }] });
  t.same(scanTtls(neg)?.ttlSeconds, 60);
  t.equal(scanTtls(pos.subarray(0, pos.length - 1)), undefined, 'malformed: not cached');
});

t.test('upstream addresses: IPv4/IPv6 with optional port (default 53), bad ones named', async (t) => {
  t.same(parseUpstream('127.0.0.1:5300'), { host: '127.0.0.1', port: 5300 });
  t.same(parseUpstream('127.0.0.1'), { host: '127.0.0.1', port: 53 });
  t.same(parseUpstream('[::1]:5353'), { host: '::1', port: 5353 });
  t.same(parseUpstream('::1'), { host: '::1', port: 53 });
  for (const bad of ['dns.google:53', '127.0.0.1:0', '127.0.0.1:70000', '[::1', '1.2.3:53', '']) {
    t.throws(() => parseUpstream(bad), { code: 'bad-config' }, bad);
  }
});

// The zone parses every address it is given (and nameToKey every name) without regular
// expressions; these compare the fast paths with the references they replace, on random texts.
t.test('IP text and name keys: the fast parsers agree with net.isIP / URL and the label-by-label parse', async (t) => {
  const seed = Number(process.env['WIRE_SEED'] ?? Date.now() % 1_000_000);
  let state = seed;
  const rnd = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const pick = (s: string): string => s[Math.floor(rnd() * s.length)]!;
  const canonical6 = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : formatIpv6(b));
  const reference6 = (text: string): string | undefined => {
    if (!isIPv6(text) || text.includes('%')) return undefined;
    return canonical6(parseIpv6(new URL(`http://[${text}]/`).hostname.slice(1, -1)));
  };
  let mismatches = 0;
  for (let k = 0; k < 20_000 && mismatches < 5; k++) {
    let v6 = '';
    if (rnd() < 0.5) {
      for (let j = 1 + Math.floor(rnd() * 20); j > 0; j--) v6 += pick('0123456789abcdefABCDEF::::.g%');
    } else {
      const g = Array.from({ length: 8 }, () => Math.floor(rnd() * 65536).toString(16));
      const a = Math.floor(rnd() * 8);
      const b = a + Math.floor(rnd() * (8 - a));
      v6 = rnd() < 0.3 ? g.join(':') : `${g.slice(0, a).join(':')}::${g.slice(b + 1).join(':')}`;
    }
    const v4 = Array.from({ length: 3 + Math.floor(rnd() * 3) }, () => (rnd() < 0.1 ? '0' : '') + String(Math.floor(rnd() * 300))).join('.');
    const want4 = isIPv4(v4) ? v4.split('.').map(Number).join('.') : undefined;
    const got4 = parseIpv4(v4);
    const name = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => Array.from({ length: Math.floor(rnd() * 6) }, () => pick('aZ-9_. \\')).join('')).join('.');
    let want: string;
    let got: string;
    try {
      want = slowNameToKey(name);
    } catch (e) {
      want = `error ${String(e)}`;
    }
    try {
      got = nameToKey(name);
    } catch (e) {
      got = `error ${String(e)}`;
    }
    for (const [what, g, w] of [
      [`IPv6 ${JSON.stringify(v6)}`, canonical6(parseIpv6(v6)), reference6(v6)],
      [`IPv4 ${JSON.stringify(v4)}`, got4 === undefined ? undefined : [...got4].join('.'), want4],
      [`name ${JSON.stringify(name)}`, got, want],
    ] as const) {
      if (g !== w) {
        mismatches++;
        t.fail(`seed ${seed} (WIRE_SEED replays): ${what}: got ${String(g)}, want ${String(w)}`);
      }
    }
  }
  t.equal(mismatches, 0, `seed ${seed}`);
});
