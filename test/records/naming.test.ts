// Label mangling and name builders. Expected values: Mesos-DNS labels/labels_test.go (TestRFC1123,
// testFunc, testDomainFrag tables, copied as data), DESIGN.md §1 examples, RFC 1035 §3.5 and
// RFC 3596 §2.5 for reverse names.
import t from 'tap';
import fc from 'fast-check';
import {
  hostName,
  mangleFramework,
  mangleLabel,
  reverseKey,
  reverseName,
  srvName,
  taskDnsNames,
  taskLabels,
  validLabels,
  wireLength,
} from '../../src/records/naming.js';
import { formatIpv4, formatIpv6, parseIpv6 } from '../../src/ipam/addr.js';
import { nameToKey } from '../../dns/wire/name.js';

// Mesos-DNS labels_test.go: testFunc's base cases plus TestRFC1123's special cases.
const rfc1123Cases: Record<string, string> = {
  '': '',
  a: 'a',
  '-': '',
  'a---': 'a',
  '---a---': 'a',
  '---a---b': 'a---b',
  'a.b.c.d.e': 'a-b-c-d-e',
  'a.c.d_de.': 'a-c-d-de',
  abc123: 'abc123',
  '-abc123': 'abc123',
  'abc123-': 'abc123',
  'abc-123': 'abc-123',
  'abc--123': 'abc--123',
  'r29f.dev.angrypigs': 'r29f-dev-angrypigs',
  '4abc123': '4abc123',
  '-4abc123': '4abc123',
  '89fdgsf---gs7-fgs--d7fddg-123': '89fdgsf---gs7-fgs--d7fddg-123',
  '89fdgsf---gs7-fgs--d7fddg---123': '89fdgsf---gs7-fgs--d7fddg---123',
  '89fdgsf---gs7-fgs--d7fddg-': '89fdgsf---gs7-fgs--d7fddg',
  'fd%gsf---gs7-f$gs--d7fddg-123': 'fdgsf---gs7-fgs--d7fddg-123',
  'fd%gsf---gs7-f$gs--d7fddg123456789012345678901234567890123456789-123': 'fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891',
  '$$fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-123': 'fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891',
  '%%fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789---123': 'fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891',
  '##fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-': 'fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789',
};

// Mesos-DNS labels_test.go testDomainFrag (RFC1123 variant).
const domainFragCases: Record<string, string> = {
  '': '',
  '.': '',
  '..': '',
  '...': '',
  a: 'a',
  abc: 'abc',
  'abc.': 'abc',
  '.abc': 'abc',
  'a.c': 'a.c',
  '.a.c': 'a.c',
  'a.c.': 'a.c',
  'a..c': 'a.c',
  'ab.cd.efg': 'ab.cd.efg',
  'a..c.e': 'a.c.e',
  'a.c..e': 'a.c.e',
  'host.com': 'host.com',
  'space space.com': 'spacespace.com',
  'blah-dash.com': 'blah-dash.com',
  'not$1234.com': 'not1234.com',
  '(@ host . com': 'host.com',
  'MiXeDcase.CoM': 'mixedcase.com',
  'pod_123$abc.marathon-0.6.0-dev.mesos': 'pod-123abc.marathon-0.6.0-dev.mesos',
};

t.test('Mesos-DNS labels.RFC1123 table (labels_test.go)', async (t) => {
  for (const [input, want] of Object.entries(rfc1123Cases)) t.equal(mangleLabel(input), want, JSON.stringify(input));
});

t.test('Mesos-DNS labels.DomainFrag table (labels_test.go)', async (t) => {
  for (const [input, want] of Object.entries(domainFragCases)) t.equal(mangleFramework(input).join('.'), want, JSON.stringify(input));
});

t.test('DESIGN.md §1 examples: the task name is one label, the framework keeps its dots', async (t) => {
  t.equal(mangleLabel('myapp.mygroup'), 'myapp-mygroup');
  t.equal(mangleLabel('My_App'), 'my-app');
  t.equal(mangleLabel('naïve café'), 'navecaf', 'non-ASCII letters are dropped, not transliterated');
  t.same(mangleFramework('Marathon'), ['marathon']);
  t.same(mangleFramework('kafka.prod_1'), ['kafka', 'prod-1']);
  t.same(taskDnsNames({ name: 'myapp.mygroup', framework: 'marathon' }, 'dcos'), {
    agentip: 'myapp-mygroup.marathon.agentip.dcos',
    containerip: 'myapp-mygroup.marathon.containerip.dcos',
    autoip: 'myapp-mygroup.marathon.autoip.dcos',
  });
  t.same(taskDnsNames({ name: 'Web', framework: 'Kafka.Prod' }, 'dcos.thisdcos.directory.')?.autoip, 'web.kafka.prod.autoip.dcos.thisdcos.directory');
});

t.test('deviation from Mesos-DNS: a refill after the 63-char cut never leaves a trailing hyphen', async (t) => {
  // 61 letters, "--", then "b-c": Mesos-DNS returns 61 letters + "b-" (invalid RFC 1123 label).
  const input = 'a'.repeat(61) + '--b-c';
  t.equal(mangleLabel(input), 'a'.repeat(61) + 'b');
});

t.test('empty parts: a task whose name or framework mangles to nothing has no names', async (t) => {
  t.equal(taskLabels({ name: '!!!', framework: 'marathon' }), undefined);
  t.equal(taskLabels({ name: 'web', framework: '...' }), undefined);
  t.equal(taskDnsNames({ name: '---', framework: 'marathon' }, 'dcos'), undefined);
  t.same(taskLabels({ name: 'web', framework: '.$.marathon..' }), { task: 'web', framework: ['marathon'] });
});

t.test('RFC 1035 §2.3.4: names over 255 bytes are not built; SRV of a 63-char label is skipped', async (t) => {
  const longFramework = Array.from({ length: 5 }, () => 'f'.repeat(50)).join('.'); // 5 × 51 bytes
  const l = taskLabels({ name: 'web', framework: longFramework })!;
  t.ok(l, 'labels exist');
  t.equal(hostName(l, 'agentip', ['dcos']), undefined, 'too long');
  t.equal(taskDnsNames({ name: 'web', framework: longFramework }, 'dcos'), undefined);
  const l63 = taskLabels({ name: 'x'.repeat(70), framework: 'marathon' })!;
  t.equal(l63.task.length, 63);
  t.equal(hostName(l63, 'autoip', ['dcos']), `${'x'.repeat(63)}.marathon.autoip.dcos.`);
  t.equal(srvName(l63, 'tcp', 'autoip', ['dcos']), undefined, '_ + 63 chars is a 64-byte label');
  t.equal(srvName(taskLabels({ name: 'web', framework: 'marathon' })!, 'udp', 'containerip', ['dcos']), '_web._udp.marathon.containerip.dcos.');
});

t.test('RFC 1035 §3.5 / RFC 3596 §2.5: reverse names', async (t) => {
  t.equal(reverseName('9.0.1.2'), '2.1.0.9.in-addr.arpa.');
  t.equal(reverseName('fd01:b::2'), '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.0.0.0.1.0.d.f.ip6.arpa.');
  t.equal(reverseName('2001:db8::567:89ab'), 'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.', 'RFC 3596 §2.5 example');
  t.equal(reverseName('300.1.1.1'), undefined);
  t.equal(reverseName('web'), undefined);
});

t.test('property: every mangled label is a valid RFC 1123 label or empty (seeded)', async (t) => {
  const seed = Number(process.env['RECORDS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with RECORDS_SEED=${seed})`);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      const l = mangleLabel(s);
      if (l === '') return true;
      return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l) && validLabels([l]) && wireLength([l]) === l.length + 2;
    }),
    { seed, numRuns: 2000 },
  );
});

// The oracles below are the plain versions the hand-written fast paths replaced (issue 4: one
// reverse name and one mangled label per allocation): split/regex reverse names, BigInt parsing,
// and mangling every label character by character. The fast paths must agree on any text.
function reverseOracle(ip: string): string | undefined {
  if (!ip.includes(':')) {
    const parts = ip.split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return `${parts.reverse().join('.')}.in-addr.arpa.`;
  }
  const value = parseIpv6(ip);
  if (value === undefined) return undefined;
  return [...value.toString(16).padStart(32, '0')].reverse().join('.') + '.ip6.arpa.';
}

function mangleOracle(text: string): string {
  let mapped = '';
  for (const ch of text.slice(0, 253)) {
    const c = ch.charCodeAt(0);
    if (c >= 0x41 && c <= 0x5a) mapped += String.fromCharCode(c + 0x20);
    else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) mapped += ch;
    else if (c === 0x2d || c === 0x2e || c === 0x5f) mapped += '-';
  }
  const trimmed = mapped.replace(/^-+/, '');
  const head = trimmed.slice(0, 63).replace(/-+$/, '');
  if (head.length === Math.min(trimmed.length, 63)) return head;
  return (head + trimmed.slice(63).replace(/^-+/, '').slice(0, 63 - head.length)).replace(/-+$/, '');
}

t.test('property: fast reverse names equal the split/BigInt oracle on any text (seeded)', async (t) => {
  const seed = Number(process.env['RECORDS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with RECORDS_SEED=${seed})`);
  const v4 = fc.oneof(
    fc.nat({ max: 0xffffffff }).map(formatIpv4),
    fc.string({ unit: fc.constantFrom(...'0123456789.'.split('')), maxLength: 20 }),
    fc.constantFrom('1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..2.3', '.1.2.3', '1.2.3.4.', '1.2.3.0004', '0.0.0.0', '255.255.255.255'),
  );
  const v6 = fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(formatIpv6),
    fc.bigInt({ min: 0n, max: 0xffffn }).map((low) => formatIpv6((0xfd00n << 112n) | low)),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg:.\x10'.split('')), maxLength: 45 }),
    fc.constantFrom('::', '::1', '1::', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8::', ':::', '1:::2', '::ffff:1.2.3.4', '12345::', 'fd00::1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8'),
  );
  fc.assert(fc.property(fc.oneof(v4, v6), (ip) => reverseName(ip) === reverseOracle(ip)), { seed, numRuns: 5000 });
  // The key the builder hands the zone is the key of that name.
  fc.assert(fc.property(fc.oneof(v4, v6), (ip) => {
    const name = reverseOracle(ip);
    return reverseKey(ip) === (name === undefined ? undefined : nameToKey(name));
  }), { seed, numRuns: 5000 });
});

t.test('property: mangleLabel\'s shortcut for ready labels equals the full mangling (seeded)', async (t) => {
  const seed = Number(process.env['RECORDS_SEED'] ?? Date.now() % 2 ** 31);
  const text = fc.oneof(
    fc.string({ unit: fc.constantFrom(...'ab09-._A%'.split('')), maxLength: 80 }),
    fc.string({ unit: fc.constantFrom(...'abz09-'.split('')), minLength: 60, maxLength: 66 }),
  );
  fc.assert(fc.property(text, (s) => mangleLabel(s) === mangleOracle(s)), { seed, numRuns: 5000 });
});

t.test('property: the API\'s task names equal hostName over taskLabels for any name, framework and zone (seeded)', async (t) => {
  const seed = Number(process.env['RECORDS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with RECORDS_SEED=${seed})`);
  // The oracle: the label arrays the zone's own names are built from.
  const oracle = (task: { name: string; framework: string }, zone: string): Record<string, string> | undefined => {
    const l = taskLabels(task);
    if (l === undefined) return undefined;
    const z = zone.endsWith('.') ? zone.slice(0, -1) : zone;
    const names = ['agentip', 'containerip', 'autoip'].map((k) => hostName(l, k as 'agentip', z === '' ? [] : z.toLowerCase().split('.'))?.slice(0, -1));
    if (names.some((n) => n === undefined)) return undefined;
    return { agentip: names[0]!, containerip: names[1]!, autoip: names[2]! };
  };
  const text = fc.string({ unit: fc.constantFrom('a', 'B', '-', '.', '_', 'é', '9', ' '), maxLength: 140 });
  const zone = fc.constantFrom('dcos', 'dcos.', 'dcos.thisdcos.directory.', 'A.Long-Zone.example', 'x'.repeat(60) + '.' + 'y'.repeat(60) + '.' + 'z'.repeat(60));
  // Names repeat frameworks and zones, as writes do: the last (framework, zone) is reused.
  fc.assert(fc.property(fc.array(fc.tuple(text, fc.constantFrom('marathon', 'kafka.prod', '..', 'a'.repeat(70) + '.b'), zone)), (cases) => {
    for (const [name, framework, z] of cases) {
      const got = taskDnsNames({ name, framework }, z);
      const want = oracle({ name, framework }, z);
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${JSON.stringify({ name, framework, z })}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }
  }), { seed, numRuns: 500 });
});
