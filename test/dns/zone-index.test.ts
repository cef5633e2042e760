// The zone index contract (dns/zone.ts) that src/records relies on: validation that changes
// nothing on bad input, empty non-terminals by reference count, incremental re-encoding, serial,
// and derived names (a DerivedSource computing records on demand, cached by its version).
import t, { type Test } from 'tap';
import { DnsError } from '../../dns/errors.js';
import { createZoneIndex, derivedCacheNamesMax, resolveZoneConfig, type MemoryZoneIndex } from '../../dns/zone-index.js';
import { nameToKey } from '../../dns/wire/name.js';
import type { DerivedName, DerivedSource } from '../../dns/zone.js';
import { respond } from '../../dns/respond.js';
import { buildQuery, decodeReply } from './helpers.js';

function throwsDns(t: Test, f: () => void, code: string, message: RegExp, what: string): void {
  try {
    f();
    t.fail(`${what}: did not throw`);
  } catch (e) {
    t.ok(e instanceof DnsError && e.code === code && message.test(e.message), `${what}: ${String(e)}`);
  }
}

function zone() {
  const z = createZoneIndex({ origin: 'dcos', aliases: ['dcos.thisdcos.directory.'] });
  z.setReady(true);
  return z;
}

t.test('config: defaults filled in, names normalised, bad values named', async (t) => {
  const c = resolveZoneConfig({ origin: 'DCOS' });
  t.same(c, {
    origin: 'dcos.',
    aliases: [],
    reverseZones: ['in-addr.arpa.', 'ip6.arpa.'],
    ttlSeconds: 5,
    soa: { mnameLabel: 'ns', rnameLabel: 'hostmaster', ttlSeconds: 5, refreshSeconds: 60, retrySeconds: 30, expireSeconds: 86400, minimumSeconds: 5 },
  });
  const bad: [object, RegExp][] = [
    [{ origin: 'dcos', ttlSeconds: -1 }, /ttlSeconds must be an integer/],
    [{ origin: 'dcos', ttlSeconds: 1.5 }, /ttlSeconds/],
    [{ origin: 'dcos', aliases: ['x.dcos'] }, /lies under zone dcos/],
    [{ origin: 'dcos', reverseZones: ['example.'] }, /not under in-addr.arpa/],
    [{ origin: '.' }, /root/],
    [{ origin: 'dcos', soa: { mnameLabel: 'a.b' } }, /soa.mnameLabel/],
    [{ origin: 'dcos', aliases: ['dcos'] }, /dcos/],
  ];
  for (const [config, message] of bad) {
    throwsDns(t, () => createZoneIndex(config as never), 'bad-config', message, JSON.stringify(config));
  }
});

t.test('bad names and records throw DnsError naming the problem and change nothing', async (t) => {
  const z = zone();
  z.setRRset('web.dcos', 'A', ['9.0.0.1']);
  const before = z.stats();
  const cases: [() => void, string, RegExp][] = [
    [() => z.setRRset('web.dcos', 'A', ['9.0.0.1', '9.0.0.256']), 'bad-record', /IPv4/],
    [() => z.setRRset('web.dcos', 'AAAA', ['9.0.0.1']), 'bad-record', /IPv6/],
    [() => z.setRRset('x.' + 'a'.repeat(64) + '.dcos', 'A', ['9.0.0.1']), 'bad-name', /at most 63/],
    [() => z.setRRset(Array.from({ length: 60 }, () => 'abcd').join('.') + '.dcos', 'A', ['9.0.0.1']), 'bad-name', /at most 255/],
    [() => z.setRRset('we b.dcos', 'A', ['9.0.0.1']), 'bad-name', /printable ASCII/],
    [() => z.setRRset('a..dcos', 'A', ['9.0.0.1']), 'bad-name', /empty label/],
    [() => z.setRRset('web.example', 'A', ['9.0.0.1']), 'outside-zone', /not under dcos/],
    [() => z.setRRset('web.dcos.thisdcos.directory', 'A', ['9.0.0.1']), 'outside-zone', /aliases hold no data/],
    [() => z.setRRset('_x._tcp.dcos', 'SRV', [{ priority: 0, weight: 0, port: 70000, target: 'web.dcos' }]), 'bad-record', /port/],
    [() => z.setRRset('_x._tcp.dcos', 'SRV', [{ priority: 0, weight: 0, port: 1, target: 'a..b' }]), 'bad-name', /empty label/],
    [() => z.setRRset('web.dcos', 'MX' as 'A', ['x']), 'bad-record', /not one of/],
    [() => z.setSerial(-1), 'bad-serial', /must be a safe integer/],
  ];
  for (const [f, code, message] of cases) {
    throwsDns(t, f, code, message, `${code} ${message}`);
  }
  t.same(z.stats(), before);
  t.same(z.get('web.dcos', 'A'), ['9.0.0.1']);
  t.notOk(z.exists('_x._tcp.dcos'));
});

t.test('RFC 2181 §5: an RRset is a set; duplicates are kept once', async (t) => {
  const z = zone();
  z.setRRset('web.dcos', 'A', ['9.0.0.1', '9.0.0.1', '9.0.0.2']);
  t.same(z.get('web.dcos', 'A'), ['9.0.0.1', '9.0.0.2']);
  z.setRRset('web.dcos', 'AAAA', ['fd00::1', 'FD00:0:0::1']);
  t.equal(z.get('web.dcos', 'AAAA')?.length, 1, 'same address in two spellings');
});

t.test('RFC 8020: empty non-terminals exist exactly while a descendant has data (reference counts)', async (t) => {
  const z = zone();
  z.setRRset('a.b.c.dcos', 'A', ['9.0.0.1']);
  z.setRRset('x.b.c.dcos', 'A', ['9.0.0.2']);
  t.ok(z.exists('b.c.dcos') && z.exists('c.dcos') && z.exists('dcos'));
  t.same(z.stats().names, 2);
  z.deleteRRset('a.b.c.dcos', 'A');
  t.notOk(z.exists('a.b.c.dcos'));
  t.ok(z.exists('b.c.dcos'), 'still above x.b.c');
  z.setRRset('b.c.dcos', 'A', ['9.0.0.3']);
  z.deleteName('x.b.c.dcos');
  t.ok(z.exists('b.c.dcos'), 'has data of its own');
  z.setRRset('b.c.dcos', 'A', []);
  t.notOk(z.exists('b.c.dcos'), 'empty records delete');
  t.notOk(z.exists('c.dcos'));
  t.ok(z.exists('dcos'), 'the apex always exists');
  t.same(z.stats(), { names: 0, rrsets: 0, encodedBytes: 0 });
  // Deleting what is not there is a no-op.
  z.deleteRRset('nothing.dcos', 'A');
  z.deleteName('nothing.dcos');
  t.same(z.stats().names, 0);
});

t.test('issue 5: a change re-encodes only its own name, whatever the zone size', async (t) => {
  const z = zone();
  for (let i = 0; i < 3000; i++) z.setRRset(`task-${i}.marathon.containerip.dcos`, 'A', [`9.0.${i >> 8}.${i & 0xff}`]);
  const bytes = z.stats().encodedBytes;
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) z.setRRset('task-7.marathon.containerip.dcos', 'A', [`9.1.0.${i & 0xff}`]);
  const perChangeUs = Number(process.hrtime.bigint() - started) / 1000 / 1000;
  t.equal(z.stats().encodedBytes, bytes, 'same size after replacing one RRset by one of equal size');
  t.ok(perChangeUs < 500, `one change costs ${perChangeUs.toFixed(1)} µs with 3000 names`);
  const r = decodeReply((respond(buildQuery('task-7.marathon.containerip.dcos', 'A'), z, { transport: 'udp', client: '::1' }) as { bytes: Buffer }).bytes);
  t.same(r.answers.map((a) => a.data), [`9.1.0.${999 & 0xff}`]);
});

t.test('SRV answers follow their targets: A/AAAA changes re-encode the SRV RRsets that point at them', async (t) => {
  const z = zone();
  z.setRRset('_a._tcp.f.agentip.dcos', 'SRV', [
    { priority: 0, weight: 0, port: 1, target: 't1.f.agentip.dcos' },
    { priority: 0, weight: 0, port: 2, target: 't2.f.agentip.dcos' },
  ]);
  const glue = () => {
    const o = respond(buildQuery('_a._tcp.f.agentip.dcos', 'SRV'), z, { transport: 'tcp', client: '::1' });
    return decodeReply((o as { bytes: Buffer }).bytes).additionals.map((a) => `${a.name} ${a.data}`).sort();
  };
  t.same(glue(), [], 'targets without addresses: no glue');
  z.setRRset('t1.f.agentip.dcos', 'A', ['10.0.0.1']);
  t.same(glue(), ['t1.f.agentip.dcos. 10.0.0.1']);
  z.setRRset('t2.f.agentip.dcos', 'AAAA', ['fd00::2']);
  t.same(glue(), ['t1.f.agentip.dcos. 10.0.0.1', 't2.f.agentip.dcos. fd00::2']);
  z.setRRset('_a._tcp.f.agentip.dcos', 'SRV', [{ priority: 0, weight: 0, port: 2, target: 't2.f.agentip.dcos' }]);
  z.setRRset('t1.f.agentip.dcos', 'A', ['10.0.0.9']);
  t.same(glue(), ['t2.f.agentip.dcos. fd00::2'], 'a dropped target no longer counts');
  z.deleteRRset('t2.f.agentip.dcos', 'AAAA');
  t.same(glue(), []);
});

t.test('serial: monotonic, exposed as set', async (t) => {
  const z = zone();
  z.setSerial(5);
  z.setSerial(5);
  t.equal(z.serial, 5);
  t.throws(() => z.setSerial(4), /current 5/);
  t.equal(z.serial, 5);
  t.notOk(createZoneIndex({ origin: 'dcos' }).ready, 'a new index is not ready');
});

t.test('RFC 8020, DESIGN.md §1 ("NODATA if none"): setNameExists makes a data-less name NODATA, not NXDOMAIN', async (t) => {
  const z = zone();
  const ask = (name: string) => decodeReply((respond(buildQuery(name, 'A'), z, { transport: 'udp', client: '::1' }) as { bytes: Buffer }).bytes).rcode;
  const name = 'host-task.marathon.containerip.dcos';
  t.equal(ask(name), 'NXDOMAIN');
  z.setNameExists(name, true);
  z.setNameExists(name, true);
  t.equal(ask(name), 'NOERROR');
  t.equal(ask('marathon.containerip.dcos'), 'NOERROR', 'its ancestors are empty non-terminals');
  t.equal(ask('host-task.marathon.containerip.dcos.thisdcos.directory'), 'NOERROR', 'under the alias too');
  z.setRRset(name, 'A', ['9.0.0.1']);
  z.deleteRRset(name, 'A');
  t.equal(ask(name), 'NOERROR', 'still marked after its data went');
  z.setNameExists(name, false);
  t.equal(ask(name), 'NXDOMAIN');
  t.equal(ask('marathon.containerip.dcos'), 'NXDOMAIN');
  z.setNameExists(name, true);
  z.deleteName(name);
  t.equal(ask(name), 'NXDOMAIN', 'deleteName removes the mark too');
  t.same(z.stats(), { names: 0, rrsets: 0, encodedBytes: 0 });
  t.throws(() => z.setNameExists('x.example', true), { code: 'outside-zone' });
});

t.test('clear() empties the index but keeps serial and readiness', async (t) => {
  const z = zone();
  z.setSerial(9);
  z.setRRset('a.dcos', 'A', ['9.0.0.1']);
  z.setRRset('_s._tcp.dcos', 'SRV', [{ priority: 0, weight: 0, port: 1, target: 'a.dcos' }]);
  z.clear();
  t.same(z.stats(), { names: 0, rrsets: 0, encodedBytes: 0 });
  t.notOk(z.exists('a.dcos'));
  t.equal(z.serial, 9);
  t.ok(z.ready);
  z.setRRset('a.dcos', 'A', ['9.0.0.2']);
  t.same(z.get('a.dcos', 'A'), ['9.0.0.2'], 'usable after clear (no stale SRV dependents)');
});

t.test('updateRRset: adds and removes single records of a large RRset, as setRRset would leave it', async (t) => {
  const z = zone();
  const all = Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 0xff}`);
  z.setRRset('big.f.containerip.dcos', 'A', all);
  z.setRRset('_big._tcp.f.containerip.dcos', 'SRV', [{ priority: 0, weight: 0, port: 80, target: 'big.f.containerip.dcos' }]);
  const glue = () => decodeReply((respond(buildQuery('_big._tcp.f.containerip.dcos', 'SRV'), z, { transport: 'tcp', client: '::1' }) as { bytes: Buffer }).bytes).additionals.length;
  t.equal(glue(), 1000);
  z.updateRRset('big.f.containerip.dcos', 'A', ['10.9.9.9', '10.1.0.0'], ['10.1.0.1', '10.8.8.8']);
  const want = new Set(all);
  want.add('10.9.9.9');
  want.delete('10.1.0.1');
  t.same(new Set(z.get('big.f.containerip.dcos', 'A')), want, 'added once, removed, absent removal ignored');
  t.equal(glue(), 1000, 'the SRV answer that carries it as glue follows');
  const asked = decodeReply((respond(buildQuery('big.f.containerip.dcos.thisdcos.directory', 'A'), z, { transport: 'tcp', client: '::1' }) as { bytes: Buffer }).bytes);
  t.same(new Set(asked.answers.map((a) => a.data)), want, 'answered (under the alias too) as updated');
  const before = z.stats();
  t.throws(() => z.updateRRset('big.f.containerip.dcos', 'A', ['10.1.1.300'], []), { code: 'bad-record' });
  t.throws(() => z.updateRRset('big.f.containerip.dcos', 'A', [], ['nope']), { code: 'bad-record' });
  t.same(new Set(z.get('big.f.containerip.dcos', 'A')), want, 'bad input changes nothing');
  t.same(z.stats().rrsets, before.rrsets);
  z.updateRRset('new.f.containerip.dcos', 'AAAA', ['fd00::1'], []);
  t.same(z.get('new.f.containerip.dcos', 'AAAA'), ['fd00::1'], 'creates a missing RRset');
  z.updateRRset('new.f.containerip.dcos', 'AAAA', [], ['FD00:0::1']);
  t.notOk(z.exists('new.f.containerip.dcos'), 'an RRset left empty is deleted, and its name with it');
  z.updateRRset('big.f.containerip.dcos', 'A', [], [...want]);
  t.notOk(z.exists('big.f.containerip.dcos'));
  t.equal(glue(), 0, 'no glue once the target is gone');
});

t.test('answers are built once per change, on the first query, and shared by every alias', async (t) => {
  const z = zone();
  const ask = (name: string) => decodeReply((respond(buildQuery(name, 'A'), z, { transport: 'udp', client: '::1' }) as { bytes: Buffer }).bytes);
  for (let i = 0; i < 50; i++) z.setRRset('web.f.agentip.dcos', 'A', [`10.0.0.${i}`, '10.0.1.1']);
  t.equal(z.stats().encodedBytes, 0, 'a burst of changes nobody asked about encodes nothing');
  t.same(ask('web.f.agentip.dcos').answers.map((a) => a.data).sort(), ['10.0.0.49', '10.0.1.1']);
  const one = z.stats().encodedBytes;
  t.ok(one > 0, 'the first query encodes');
  ask('WEB.f.agentip.dcos.thisdcos.directory');
  ask('web.f.agentip.dcos');
  t.equal(z.stats().encodedBytes, one, 'later queries, under the alias too, reuse that encoding');
  z.setRRset('web.f.agentip.dcos', 'A', ['10.0.0.7']);
  t.equal(z.stats().encodedBytes, 0, 'a change drops it');
});

// ----- derived names (zone.ts DerivedSource): computed on demand, cached by the source's version -----


function respondTo(z: MemoryZoneIndex, name: string, type: string): Buffer {
  const o = respond(buildQuery(name, type), z, { transport: 'tcp', client: '::1' });
  if (o.kind !== 'answer') throw new Error(`no answer for ${name}: ${o.kind}`);
  return o.bytes;
}

/** A source backed by a plain table of presentation name → data, counting its lookups. */
function tableSource(): DerivedSource & { table: Map<string, Omit<DerivedName, 'stamp' | 'version'>>; stamp: { version: number }; lookups: number } {
  const byKey = (): Map<string, Omit<DerivedName, 'stamp' | 'version'>> => new Map([...s.table].map(([n, d]) => [nameToKey(n), d]));
  const s = {
    table: new Map<string, Omit<DerivedName, 'stamp' | 'version'>>(),
    stamp: { version: 0 },
    lookups: 0,
    lookup(key: string): DerivedName | undefined {
      s.lookups++;
      const d = byKey().get(key);
      return d === undefined ? undefined : { ...d, stamp: s.stamp, version: s.stamp.version };
    },
  };
  return s;
}

t.test('derived names: answered from the source, with the SOA/NODATA/NXDOMAIN rules of stored names', async (t) => {
  const z = zone();
  const src = tableSource();
  z.setDerivedSource(src);
  src.table.set('web.marathon.agentip.dcos.', { A: ['10.0.0.1', '10.0.0.2'] });
  src.table.set('web.marathon.containerip.dcos.', {}); // exists without data
  src.table.set('_web._tcp.marathon.agentip.dcos.', { SRV: [{ priority: 0, weight: 0, port: 31000, target: 'web.marathon.agentip.dcos.' }] });
  src.table.set('2.0.0.10.in-addr.arpa.', { PTR: ['web.marathon.containerip.dcos.'] });
  for (const n of src.table.keys()) z.addDerivedName(n);
  t.equal(z.stats().names, 4, 'counted as names');
  const a = decodeReply(respondTo(z, 'web.marathon.agentip.dcos', 'A'));
  t.same(a.answers.map((r) => r.data).sort(), ['10.0.0.1', '10.0.0.2']);
  const alias = decodeReply(respondTo(z, 'WEB.marathon.agentip.dcos.thisdcos.directory', 'A'));
  t.same(alias.answers.map((r) => r.data).sort(), ['10.0.0.1', '10.0.0.2'], 'and under the alias');
  const srv = decodeReply(respondTo(z, '_web._tcp.marathon.agentip.dcos.thisdcos.directory', 'SRV'));
  t.same(srv.answers.map((r) => r.data), ['0 0 31000 web.marathon.agentip.dcos.thisdcos.directory.'], 'SRV target under the alias asked');
  t.equal(srv.additionals.filter((r) => r.type === 'A').length, 2, 'with the derived target\'s addresses as glue');
  t.equal(decodeReply(respondTo(z, 'web.marathon.containerip.dcos', 'A')).rcode, 'NOERROR', 'data-less derived name: NODATA');
  t.equal(decodeReply(respondTo(z, 'marathon.agentip.dcos', 'A')).rcode, 'NOERROR', 'its ancestors exist (empty non-terminals)');
  t.equal(decodeReply(respondTo(z, '_tcp.marathon.agentip.dcos', 'A')).rcode, 'NOERROR');
  t.equal(decodeReply(respondTo(z, 'api.marathon.agentip.dcos', 'A')).rcode, 'NXDOMAIN', 'a name the source lacks');
  t.same(decodeReply(respondTo(z, '2.0.0.10.in-addr.arpa', 'PTR')).answers.map((r) => r.data), ['web.marathon.containerip.dcos.']);
  t.same(z.get('web.marathon.agentip.dcos.', 'A')?.slice().sort(), ['10.0.0.1', '10.0.0.2'], 'get() reads derived names');
  t.ok(z.exists('web.marathon.containerip.dcos.') && z.exists('0.10.in-addr.arpa.'));
  for (const n of src.table.keys()) z.removeDerivedName(n);
  src.table.clear();
  t.equal(z.stats().names, 0);
  t.notOk(z.exists('marathon.agentip.dcos.'), 'empty non-terminals go with the last name below them');
  t.notOk(z.exists('in-addr.arpa.') && z.exists('10.in-addr.arpa.'));
  throwsDns(t, () => z.addDerivedName('web.example.'), 'outside-zone', /not under/, 'derived names lie in our zones too');
});

t.test('derived names given as keys count and create empty non-terminals exactly as names do', async (t) => {
  const byName = zone();
  const byKey = zone();
  const names = ['web.marathon.agentip.dcos.', 'api.marathon.agentip.dcos.', 'web.marathon.autoip.dcos.', 'db.group.marathon.agentip.dcos.', '2.0.0.10.in-addr.arpa.'];
  const ancestors = ['marathon.agentip.dcos.', 'group.marathon.agentip.dcos.', 'marathon.autoip.dcos.', '0.0.10.in-addr.arpa.', 'agentip.dcos.'];
  const same = (what: string): void => {
    t.equal(byKey.stats().names, byName.stats().names, `${what}: same count`);
    for (const n of [...names, ...ancestors]) t.equal(byKey.exists(n), byName.exists(n), `${what}: ${n} exists in both or neither`);
  };
  for (const n of names) {
    byName.addDerivedName(n);
    byKey.addDerivedKey(nameToKey(n));
  }
  same('after adding');
  t.ok(byKey.exists('group.marathon.agentip.dcos.'), 'an empty non-terminal two labels up');
  for (const n of names.slice(0, 3)) {
    byName.removeDerivedName(n);
    byKey.removeDerivedKey(nameToKey(n));
  }
  same('after removing some');
  t.notOk(byKey.exists('marathon.autoip.dcos.'), 'the last name below it went');
  throwsDns(t, () => byKey.addDerivedKey(nameToKey('web.example.')), 'outside-zone', /"web\.example\."/, 'a key outside the zone: the error names it as a name');
  const unterminated = nameToKey(names[3]!).slice(0, -1) as ReturnType<typeof nameToKey>;
  t.throws(() => byKey.addDerivedKey(unterminated), { name: 'AssertionError' }, 'a key without its root label is a caller bug (add)');
  t.throws(() => byKey.removeDerivedKey(unterminated), { name: 'AssertionError' }, 'and (remove)');
  t.equal(byKey.stats().names, 2, 'the refused keys changed nothing');
});

t.test('derived names: built once per source version, rebuilt after it moves, stored names win', async (t) => {
  const z = zone();
  const src = tableSource();
  z.setDerivedSource(src);
  src.table.set('a.f.agentip.dcos.', { A: ['10.0.0.1'] });
  z.addDerivedName('a.f.agentip.dcos.');
  respondTo(z, 'a.f.agentip.dcos', 'A');
  const first = src.lookups;
  for (let i = 0; i < 5; i++) respondTo(z, 'a.f.agentip.dcos', 'A');
  t.equal(src.lookups, first, 'cached: no lookup while the version stands');
  src.table.set('a.f.agentip.dcos.', { A: ['10.0.0.9'] });
  t.same(decodeReply(respondTo(z, 'a.f.agentip.dcos', 'A')).answers.map((r) => r.data), ['10.0.0.1'], 'a change the source did not version is not seen (the contract)');
  src.stamp.version++;
  t.same(decodeReply(respondTo(z, 'a.f.agentip.dcos', 'A')).answers.map((r) => r.data), ['10.0.0.9'], 'the version moved: rebuilt');
  t.equal(src.lookups, first + 1, 'once');
  z.setRRset('a.f.agentip.dcos.', 'A', ['10.0.0.7']);
  t.same(decodeReply(respondTo(z, 'a.f.agentip.dcos', 'A')).answers.map((r) => r.data), ['10.0.0.7'], 'a stored RRset wins');
});

t.test(`derived names: the cache keeps at most ${derivedCacheNamesMax} names`, async (t) => {
  const z = zone();
  let lookups = 0;
  const stamp = { version: 0 };
  z.setDerivedSource({
    lookup(key) {
      lookups++;
      return key.endsWith('\x04dcos\0') ? { stamp, version: 0, A: ['10.0.0.1'] } : undefined;
    },
  });
  const n = derivedCacheNamesMax + 10;
  for (let i = 0; i < n; i++) z.node(nameToKey(`t${i}.f.agentip.dcos.`));
  t.equal(lookups, n);
  z.node(nameToKey(`t${n - 1}.f.agentip.dcos.`));
  t.equal(lookups, n, 'the newest is cached');
  z.node(nameToKey('t0.f.agentip.dcos.'));
  t.equal(lookups, n + 1, 'the oldest was dropped, and is rebuilt when asked again');
});

t.test('derived names: refreshDerived rebuilds and encodes again the cached names of a stamp that moved', async (t) => {
  const z = zone();
  const src = tableSource();
  z.setDerivedSource(src);
  src.table.set('a.f.agentip.dcos.', { A: ['10.0.0.1'] });
  src.table.set('_a._tcp.f.agentip.dcos.', { SRV: [{ priority: 0, weight: 0, port: 80, target: 'a.f.agentip.dcos.' }] });
  for (const n of src.table.keys()) z.addDerivedName(n);
  const other = { version: 0 };
  t.notOk(z.derivedCached(src.stamp), 'nothing cached yet');
  respondTo(z, 'a.f.agentip.dcos', 'A');
  respondTo(z, '_a._tcp.f.agentip.dcos.thisdcos.directory', 'SRV');
  t.ok(z.derivedCached(src.stamp) && !z.derivedCached(other));
  const lookups = src.lookups;
  z.refreshDerived(src.stamp);
  t.equal(src.lookups, lookups, 'version unchanged: nothing to rebuild');
  src.table.set('a.f.agentip.dcos.', { A: ['10.0.0.2'] });
  src.stamp.version++;
  z.refreshDerived(src.stamp);
  t.equal(src.lookups, lookups + 2, 'both cached names rebuilt');
  const a = z.node(nameToKey('a.f.agentip.dcos.'))!.a!;
  const srv = z.node(nameToKey('_a._tcp.f.agentip.dcos.'))!.srv!;
  t.ok(a.encoded !== undefined, 'the A answer encoded again');
  t.ok(srv.variants?.[1] !== undefined && srv.variants[0] === undefined, 'the SRV answer encoded again for the variant that had been asked only');
  t.same(decodeReply(respondTo(z, 'a.f.agentip.dcos', 'A')).answers.map((r) => r.data), ['10.0.0.2']);
  t.equal(decodeReply(respondTo(z, '_a._tcp.f.agentip.dcos.thisdcos.directory', 'SRV')).additionals.find((r) => r.type === 'A')?.data, '10.0.0.2', 'glue follows');
  t.equal(src.lookups, lookups + 2, 'and queries copy them');
  src.table.delete('a.f.agentip.dcos.');
  z.removeDerivedName('a.f.agentip.dcos.');
  src.stamp.version++;
  z.refreshDerived(src.stamp);
  t.equal(decodeReply(respondTo(z, 'a.f.agentip.dcos', 'A')).rcode, 'NXDOMAIN', 'a name gone is dropped');
});
