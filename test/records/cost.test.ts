// Issue 5: "one task's allocation touches only that task's names", never the whole zone. A spy
// counts every zone index write (names stored, and derived names appearing or going); a change to
// one task among hundreds must write only that task's own names (its agentip/containerip/autoip
// names, its SRV names, its PTR names), the number of writes must not grow with the zone, and the
// cached answers of every other name must survive the change (src/records builder.ts: answers
// derive from (task, framework) groups, cached by the group's version).
import t from 'tap';
import { harness, net4, ok, writtenName, zoneWriteMethods } from './helpers.js';
import type { TaskAllocation } from '../../src/ipam/types.js';
import type { RecordsZoneIndex } from '../../src/records/index.js';
import { hostKinds, reverseName, taskDnsNames } from '../../src/records/naming.js';
import { nameToKey } from '../../dns/wire/name.js';

interface Spy {
  readonly writes: string[];
  reset(): void;
}

function spy(zone: RecordsZoneIndex): Spy {
  const writes: string[] = [];
  const z = zone as unknown as Record<string, (name: string, ...rest: unknown[]) => unknown>;
  // Only calls from src/records count, not the index's calls to itself (setRRset with no
  // records deletes through deleteRRset).
  let depth = 0;
  for (const m of zoneWriteMethods) {
    const original = z[m]!.bind(zone);
    z[m] = (name: string, ...rest: unknown[]) => {
      if (depth === 0) writes.push(writtenName(m, name));
      depth++;
      try {
        return original(name, ...rest);
      } finally {
        depth--;
      }
    };
  }
  return { writes, reset: () => void writes.splice(0) };
}

/** Every name a task may own: its three host names, their SRV names, its reverse names. */
function ownNames(task: { name: string; framework: string; ips: readonly string[] }): Set<string> {
  const names = taskDnsNames(task, 'dcos')!;
  const out = new Set<string>();
  for (const kind of hostKinds) {
    const host = names[kind];
    out.add(host + '.');
    const [label, ...rest] = host.split('.');
    for (const proto of ['tcp', 'udp']) out.add(`_${label}._${proto}.${rest.join('.')}.`);
  }
  for (const ip of task.ips) out.add(reverseName(ip)!);
  return out;
}

const ports = [{ protocol: 'tcp' as const, containerPort: 80, hostPort: 31000 }];

/** Agents for the populated zones: 16 × a mesos /25 half holds the 1,000-task zone. */
const agents = 16;

function populate(n: number) {
  const h = harness();
  h.apply(net4);
  for (let a = 0; a < agents; a++) h.apply({ type: 'registerAgent', id: `a${a}`, ip: `10.0.0.${a + 1}` });
  for (let i = 0; i < n; i++) {
    // 50 distinct names, 2 frameworks: most names are shared by several tasks.
    h.applyOnly({ type: 'allocateTask', id: `t${i}`, name: `app${i % 50}`, framework: i % 2 ? 'marathon' : 'kafka', agent: `a${i % agents}`, network: 'dcos', ports });
  }
  h.records.onApplied(h.sm.appliedIndex);
  return h;
}

t.test('allocating, then releasing, one task writes only that task\'s names', async (t) => {
  const h = populate(400);
  const s = spy(h.zone);
  const alloc = ok<TaskAllocation>(h.apply({ type: 'allocateTask', id: 'new', name: 'app7', framework: 'marathon', agent: 'a3', network: 'dcos', ports }));
  const own = ownNames(alloc.task);
  t.ok(s.writes.length > 0, 'something was written');
  t.same(s.writes.filter((n) => !own.has(n)), [], 'no write outside the task\'s own names');
  const firstCount = s.writes.length;
  s.reset();
  h.apply({ type: 'releaseTask', id: 'new' });
  t.same(s.writes.filter((n) => !own.has(n)), [], 'release: no write outside the task\'s own names');
  t.ok(s.writes.length <= firstCount, 'release costs no more writes than the allocation');
});

t.test('a task joining a name changes that name\'s answers and no other\'s', async (t) => {
  const h = populate(400);
  const names = ['app17', 'app18'].flatMap((app) => hostKinds.map((k) => `${app}.marathon.${k}.dcos.`));
  for (const n of names) h.data(n, 'A');
  const before = new Map(names.map((n) => [n, h.zone.node(nameToKey(n))]));
  const s = spy(h.zone);
  const alloc = ok<TaskAllocation>(h.apply({ type: 'allocateTask', id: 'again', name: 'app17', framework: 'marathon', agent: 'a1', network: 'dcos', ports }));
  t.same(s.writes, [reverseName(alloc.task.ips[0]!)], 'only the new address\'s PTR name appeared');
  for (const n of names.filter((n) => n.startsWith('app18'))) t.equal(h.zone.node(nameToKey(n)), before.get(n), `${n}: cached answer kept`);
  t.ok(h.data('app17.marathon.containerip.dcos.', 'A')?.includes(alloc.task.ips[0]!), 'containerip gained the address');
  t.not(h.zone.node(nameToKey('app17.marathon.containerip.dcos.')), before.get('app17.marathon.containerip.dcos.'), 'and was rebuilt');
  const derived = h.records.stats().derived;
  h.data('app17.marathon.containerip.dcos.', 'A');
  t.equal(h.records.stats().derived, derived, 'at the flush: the query after the change copies a ready answer');
});

t.test('the writes of one allocation do not grow with the zone', async (t) => {
  const counts: number[] = [];
  for (const n of [100, 1000]) {
    const h = populate(n);
    const s = spy(h.zone);
    h.apply({ type: 'allocateTask', id: 'new', name: 'fresh', framework: 'marathon', agent: 'a3', network: 'dcos', ports });
    counts.push(s.writes.length);
    t.equal(h.records.stats().tasks, n + 1);
  }
  t.equal(counts[0], counts[1], `writes for one allocation: ${counts.join(' vs ')}`);
});

t.test('an agent address change rebuilds only the names of that agent\'s tasks', async (t) => {
  const h = populate(400);
  const groupsOn = (agent: string): Set<string> => new Set(h.sm.listTasks({ agent }).map((task) => taskDnsNames(task, 'dcos')!.agentip + '.'));
  const onA5 = groupsOn('a5');
  const elsewhere = [...groupsOn('a6')].filter((n) => !onA5.has(n));
  t.ok(elsewhere.length > 0 && onA5.size > 0, 'both kinds of names exist');
  for (const n of [...onA5, ...elsewhere]) h.data(n, 'A');
  const before = new Map([...onA5, ...elsewhere].map((n) => [n, h.zone.node(nameToKey(n))]));
  const s = spy(h.zone);
  h.apply({ type: 'registerAgent', id: 'a5', ip: '10.0.9.9' });
  t.same(s.writes, [], 'no name appears or goes');
  for (const n of elsewhere) t.equal(h.zone.node(nameToKey(n)), before.get(n), `${n}: cached answer kept`);
  for (const n of onA5) t.ok(h.data(n, 'A')?.includes('10.0.9.9'), `${n}: the new address`);
  for (const n of onA5) t.notOk(h.data(n, 'A')?.includes('10.0.0.6'), `${n}: not the old one`);
});

t.test('a batch that changes many tasks rebuilds each cached name once, at the flush, encoded; other names wait', async (t) => {
  const h = populate(400);
  const name = 'app1.marathon.agentip.dcos.'; // 8 tasks, one of them on a1
  h.data(name, 'A');
  const before = h.records.stats().derived;
  h.applyOnly({ type: 'deleteAgent', id: 'a1', force: true }); // 25 tasks of 25 task names
  t.equal(h.records.stats().derived, before, 'the changes themselves derive nothing');
  h.records.onApplied(h.sm.appliedIndex);
  t.equal(h.records.stats().derived, before + 1, 'the flush rebuilds the one cached name, once; the 24 others wait for a query');
  t.not(h.zone.node(nameToKey(name))?.a?.encoded, undefined, 'its answer is encoded already');
  const after = h.data(name, 'A');
  t.equal(h.records.stats().derived, before + 1, 'so the next query is a copy');
  t.notOk(after?.includes('10.0.0.2'), 'without the deleted agent\'s address');
  t.equal(after?.length, 7);
  h.data('app17.marathon.agentip.dcos.', 'A');
  t.equal(h.records.stats().derived, before + 2, 'a name not cached is derived on its first query');
});
