// Seeded model test of the zone index and responder together: random setRRset / deleteRRset /
// deleteName / setNameExists operations over a small universe of names, and after each one the
// answers (rcode per RFC 2308/8020, records, SRV glue, under the origin and its alias) must match a
// plain model. Replay: DNS_MODEL_SEED=<n>.
import t from 'tap';
import { respond } from '../../dns/respond.js';
import { createZoneIndex } from '../../dns/zone-index.js';
import { formatIpv6, parseIpv6 } from '../../dns/wire/ip.js';
import { buildQuery, decodeReply } from './helpers.js';
import { mulberry32 as prng } from '../util/prng.js';

const seed = Number(process.env['DNS_MODEL_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
t.comment(`DNS model seed ${seed} (replay: DNS_MODEL_SEED=${seed})`);
const operations = 3000;

const rand = prng(seed);
const int = (n: number): number => Math.floor(rand() * n);
const pickOne = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const names = ['a.f.agentip.dcos.', 'b.f.agentip.dcos.', 'a.g.f.agentip.dcos.', 'a.f.containerip.dcos.', '_a._tcp.f.agentip.dcos.', 'leader.dcos.', 'x.y.z.dcos.', '1.0.0.9.in-addr.arpa.', '2.0.0.9.in-addr.arpa.'];
const probes = [...names, 'f.agentip.dcos.', 'agentip.dcos.', 'g.f.agentip.dcos.', 'y.z.dcos.', 'z.dcos.', 'nope.dcos.', '0.0.9.in-addr.arpa.', '3.0.0.9.in-addr.arpa.'];
const types = ['A', 'AAAA', 'SRV', 'PTR'] as const;
type T = (typeof types)[number];

function randomRecords(type: T): unknown[] {
  const n = int(4);
  return Array.from({ length: n }, () => {
    switch (type) {
      case 'A':
        return `10.0.0.${int(6)}`;
      case 'AAAA':
        return `fd00::${int(6)}`;
      case 'SRV':
        return { priority: 0, weight: 0, port: 1 + int(3), target: pickOne(['a.f.agentip.dcos.', 'b.f.agentip.dcos.']) };
      case 'PTR':
        return pickOne(['a.f.containerip.dcos.', 'b.f.containerip.dcos.']);
    }
  });
}

function canon(type: T, r: unknown): string {
  if (type === 'SRV') {
    const s = r as { priority: number; weight: number; port: number; target: string };
    return `${s.priority} ${s.weight} ${s.port} ${s.target}`;
  }
  return type === 'AAAA' ? formatIpv6(parseIpv6(String(r))!) : String(r);
}

t.test(`${operations} random zone changes; answers always match the model`, async (t) => {
  const zone = createZoneIndex({ origin: 'dcos.', aliases: ['alias.example.'] });
  zone.setReady(true);
  const model = new Map<string, Map<T, Set<string>>>();
  const marked = new Set<string>();
  const holds = (n: string): boolean => marked.has(n) || (model.get(n)?.size ?? 0) > 0;
  const exists = (n: string): boolean => n === 'dcos.' || n === 'in-addr.arpa.' || [...names].some((m) => (m === n || m.endsWith('.' + n)) && holds(m));
  let failures = 0;

  for (let op = 0; op < operations && failures < 3; op++) {
    const name = pickOne(names);
    const type = pickOne(types);
    const what = int(10);
    if (what < 6) {
      const records = randomRecords(type);
      zone.setRRset(name, type, records as never);
      const set = new Set(records.map((r) => canon(type, r)));
      const m = model.get(name) ?? new Map<T, Set<string>>();
      if (set.size === 0) m.delete(type);
      else m.set(type, set);
      model.set(name, m);
    } else if (what < 8) {
      zone.deleteRRset(name, type);
      model.get(name)?.delete(type);
    } else if (what < 9) {
      zone.deleteName(name);
      model.delete(name);
      marked.delete(name);
    } else {
      const on = rand() < 0.5;
      zone.setNameExists(name, on);
      if (on) marked.add(name);
      else marked.delete(name);
    }
    // Check a few probes after each operation, all of them now and then.
    const sample = op % 100 === 0 ? probes : [pickOne(probes), pickOne(probes)];
    for (const probe of sample) {
      for (const qt of types) {
        const viaAlias = probe.endsWith('.dcos.') && rand() < 0.3;
        const asked = viaAlias ? probe.replace(/dcos\.$/, 'alias.example.') : probe;
        const o = respond(buildQuery(asked, qt), zone, { transport: 'tcp', client: '127.0.0.1' });
        if (o.kind !== 'answer') throw new Error(`no answer for ${asked}`);
        const r = decodeReply(o.bytes);
        const expectRcode = exists(probe) ? 'NOERROR' : 'NXDOMAIN';
        const expected = [...(model.get(probe)?.get(qt) ?? [])].sort();
        const rewrite = (s: string): string => (viaAlias ? s.replace(/dcos\.$/, 'alias.example.') : s);
        const got = r.answers.map((a) => a.data).sort();
        const want = expected.map((e) => (qt === 'SRV' ? rewrite(e) : e)).sort();
        let glueOk = true;
        if (qt === 'SRV' && expected.length > 0) {
          const targets = new Set(expected.map((e) => e.split(' ')[3]!));
          const glue = [...targets].flatMap((tg) => ['A', 'AAAA'].flatMap((gt) => [...(model.get(tg)?.get(gt as T) ?? [])].map((d) => `${rewrite(tg)} ${d}`))).sort();
          glueOk = JSON.stringify(r.additionals.map((a) => `${a.name} ${a.data}`).sort()) === JSON.stringify(glue);
        }
        if (r.rcode !== expectRcode || JSON.stringify(got) !== JSON.stringify(want) || !glueOk || (r.answers.length === 0 && r.authorities[0]?.type !== 'SOA')) {
          failures++;
          t.fail(`seed ${seed} op ${op}: ${asked} ${qt}: got ${r.rcode} ${JSON.stringify(got)} ${JSON.stringify(r.additionals)}, want ${expectRcode} ${JSON.stringify(want)}`);
        }
      }
    }
  }
  t.equal(failures, 0, `seed ${seed}`);
  // Tear everything down: the index must be empty again (no leaked empty non-terminals).
  for (const name of names) zone.deleteName(name);
  t.same(zone.stats(), { names: 0, rrsets: 0, encodedBytes: 0 });
  t.notOk(zone.exists('f.agentip.dcos.'));
  t.equal(zone.answerFor('\x01a\x01f\x07agentip\x04dcos\x00\x00\x01'), undefined, 'answer table empty');
});
