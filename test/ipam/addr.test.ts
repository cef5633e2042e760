// IPv4/IPv6 text forms and prefix arithmetic (src/ipam/addr.ts).
import t from 'tap';
import fc from 'fast-check';
import {
  formatIpv4,
  formatIpv6,
  parseCidr4,
  parseCidr6,
  parseIpv4,
  parseIpv6,
} from '../../src/ipam/addr.js';
import { overlap4, overlap6, Ipv6Texts, type Ipv6 } from '../../src/ipam/addr.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);

t.test('IPv4 dotted quads', async (t) => {
  t.equal(parseIpv4('0.0.0.0'), 0);
  t.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  t.equal(parseIpv4('9.0.1.128'), 0x09000180);
  t.equal(formatIpv4(0x09000180), '9.0.1.128');
  // Leading zeros are rejected: inet_aton would read them as octal.
  for (const bad of ['01.2.3.4', '1.2.3', '1.2.3.4.5', '256.0.0.1', ' 1.2.3.4', '1.2.3.4 ', '1..3.4', '0x1.2.3.4', '', '-1.2.3.4']) {
    t.equal(parseIpv4(bad), undefined, `rejects "${bad}"`);
  }
});

t.test('IPv6 textual forms (RFC 4291 §2.2)', async (t) => {
  const same = (a: string, b: string) => t.equal(parseIpv6(a), parseIpv6(b), `${a} == ${b}`);
  same('FF01:0:0:0:0:0:0:101', 'FF01::101');
  same('0:0:0:0:0:0:0:1', '::1');
  same('0:0:0:0:0:0:0:0', '::');
  same('0:0:0:0:0:0:13.1.68.3', '::13.1.68.3');
  same('0:0:0:0:0:FFFF:129.144.52.38', '::ffff:129.144.52.38');
  same('2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a');
  t.equal(parseIpv6('::1'), 1n);
  t.equal(parseIpv6('1::'), 1n << 112n);
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '::g', '1:2:3:4:5:6:7::8', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '1.2.3.4', '', 'fe80::1%eth0', '::1.2.3', '1:2:3:4:5:6:1.2.3.4:7', ':::']) {
    t.equal(parseIpv6(bad), undefined, `rejects "${bad}"`);
  }
});

t.test('IPv6 canonical text (RFC 5952 §4 and §5)', async (t) => {
  const canon = (input: string, expected: string, rule: string) => {
    const v = parseIpv6(input);
    t.not(v, undefined, `parses ${input}`);
    if (v !== undefined) t.equal(formatIpv6(v), expected, rule);
  };
  canon('2001:0db8::0001', '2001:db8::1', '§4.1 leading zeros suppressed');
  canon('2001:db8:0:0:0:0:2:1', '2001:db8::2:1', '§4.2.1 :: used to its maximum');
  canon('2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', '§4.2.2 a single 16-bit 0 is not shortened');
  canon('2001:0:0:1:0:0:0:1', '2001:0:0:1::1', '§4.2.3 the longest run is shortened');
  canon('2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '§4.2.3 the first of equal runs is shortened');
  canon('2001:DB8::1', '2001:db8::1', '§4.3 lowercase');
  canon('::ffff:192.0.2.1', '::ffff:192.0.2.1', '§5 IPv4-mapped keeps the dotted quad');
  canon('0:0:0:0:0:0:0:0', '::', 'unspecified');
  canon('::1', '::1', 'loopback');
  canon('fd01:b:0:0:1::', 'fd01:b:0:0:1::', 'a later longer run wins');
});

t.test('IPv6 format/parse round trip agrees with the WHATWG URL serializer', async (t) => {
  // URL serialises IPv6 hosts with the same compression rule as RFC 5952 (but never mixed IPv4).
  const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
  const result = fc.check(
    fc.property(groups, (gs) => {
      const value = gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
      const text = formatIpv6(value);
      if (parseIpv6(text) !== value) return false;
      if (value >> 32n === 0xffffn) return true;
      return new URL(`http://[${text}]/`).hostname === `[${text}]`;
    }),
    { seed, numRuns: 2000 },
  );
  t.notOk(result.failed, `seed ${seed}: ${result.counterexample ? JSON.stringify(result.counterexample) : ''}`);
});

// Issue 4: task views format pool base + offset without BigInt arithmetic (addr.ts Ipv6Texts);
// it must write what formatIpv6 writes, also across 32-bit and 64-bit carries.
t.test('property: Ipv6Texts.at(offset) equals formatIpv6(base + offset) (seeded)', async (t) => {
  const max = (1n << 128n) - 1n;
  const base = fc.oneof(
    fc.bigInt({ min: 0n, max }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((high) => high << 64n),
    fc.bigInt({ min: 0n, max: 0xffffn }).map((low) => (0xfd00n << 112n) | (0xffffffffn << 32n) | (0xffff0000n + low)),
    fc.bigInt({ min: 0n, max: 0xffffn }).map((low) => ((1n << 64n) - 0x10000n + low) | (0xfd00n << 112n)),
    fc.constantFrom(0n, 0xffffn << 32n, ((0xffffn << 32n) | 0xffff_fff0n), 1n << 64n),
  );
  const offset = fc.oneof(fc.nat({ max: 100_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1));
  const result = fc.check(
    fc.property(base, offset, (b, o) => b + BigInt(o) > max || new Ipv6Texts(b as Ipv6).at(o) === formatIpv6(b + BigInt(o))),
    { seed, numRuns: 5000 },
  );
  t.notOk(result.failed, `seed ${seed}: ${result.counterexample ? String(result.counterexample) : ''}`);
});

t.test('CIDRs: host bits, lengths, overlap', async (t) => {
  const h = parseCidr4('10.0.0.1/8');
  t.notOk(h.ok, 'host bits set are rejected');
  if (!h.ok) t.match(h.message, /host bits set: did you mean 10\.0\.0\.0\/8/);
  t.notOk(parseCidr4('10.0.0.0/33').ok, 'length above 32');
  t.notOk(parseCidr4('10.0.0.0/08').ok, 'length with a leading zero');
  t.notOk(parseCidr4('10.0.0.0').ok, 'missing length');
  t.ok(parseCidr4('0.0.0.0/0').ok);
  const h6 = parseCidr6('fd00::1/64');
  t.notOk(h6.ok, 'IPv6 host bits set are rejected');
  if (!h6.ok) t.match(h6.message, /did you mean fd00::\/64/);
  t.notOk(parseCidr6('fd00::/129').ok);
  const c = (s: string) => {
    const r = parseCidr4(s);
    if (!r.ok) throw new Error(r.message);
    return r.value;
  };
  const c6 = (s: string) => {
    const r = parseCidr6(s);
    if (!r.ok) throw new Error(r.message);
    return r.value;
  };
  t.ok(overlap4(c('9.0.0.0/8'), c('9.1.0.0/16')), 'contained');
  t.ok(overlap4(c('9.1.0.0/16'), c('9.0.0.0/8')), 'containing');
  t.notOk(overlap4(c('9.0.0.0/8'), c('10.0.0.0/8')), 'adjacent');
  t.ok(overlap4(c('0.0.0.0/0'), c('44.128.0.0/20')), 'everything');
  t.ok(overlap6(c6('fd01:b::/64'), c6('fd01:b::8000:0:0/81')));
  t.notOk(overlap6(c6('fd01:b::/64'), c6('fd01:a::/64')));
});
