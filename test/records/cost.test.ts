// Issue 5: "one task's allocation touches only that task's names", never the whole zone. A spy
// counts every zone index write; a change to one task among hundreds must write only that task's
// own names (its agentip/containerip/autoip names, its SRV names, its PTR names), and the number
// of writes must not grow with the zone.
import t from 'tap';
import { harness, net4, ok } from './helpers.js';
import type { TaskAllocation } from '../../src/ipam/types.js';
import type { RecordsZoneIndex } from '../../src/records/index.js';
import { hostKinds, reverseName, taskDnsNames } from '../../src/records/naming.js';

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
  for (const m of ['setRRset', 'updateRRset', 'deleteRRset', 'deleteName', 'setNameExists']) {
    const original = z[m]!.bind(zone);
    z[m] = (name: string, ...rest: unknown[]) => {
      if (depth === 0) writes.push(name.toLowerCase().replace(/\.?$/, '.'));
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

t.test('a task joining a name on an agent already listed leaves the agentip RRset alone', async (t) => {
  const h = populate(400);
  // t17 runs app17 (marathon) on a1; another app17/marathon task on a1 adds a container IP only.
  const s = spy(h.zone);
  h.apply({ type: 'allocateTask', id: 'again', name: 'app17', framework: 'marathon', agent: 'a1', network: 'dcos', ports });
  t.notOk(s.writes.includes('app17.marathon.agentip.dcos.'), 'agentip unchanged: not written');
  t.notOk(s.writes.includes('_app17._tcp.marathon.agentip.dcos.'), 'same host port: SRV not written');
  t.ok(s.writes.includes('app17.marathon.containerip.dcos.'), 'containerip gained an address');
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

t.test('an agent address change writes only agentip/autoip names of that agent\'s tasks', async (t) => {
  const h = populate(400);
  const onAgent = h.sm.listTasks({ agent: 'a5' });
  const allowed = new Set<string>();
  for (const task of onAgent) {
    const names = taskDnsNames(task, 'dcos')!;
    allowed.add(names.agentip + '.');
    allowed.add(names.autoip + '.');
  }
  const s = spy(h.zone);
  h.apply({ type: 'registerAgent', id: 'a5', ip: '10.0.9.9' });
  t.ok(s.writes.length > 0);
  t.same(s.writes.filter((n) => !allowed.has(n)), [], 'only agentip/autoip names of a5\'s tasks');
  const perName = new Map<string, number>();
  for (const n of s.writes) perName.set(n, (perName.get(n) ?? 0) + 1);
  // Only the A RRset changed (no IPv6, still data): one write per name, however many of its tasks
  // run on a5, and nothing for what did not change.
  t.same([...new Set(perName.values())], [1], 'each name written once, not once per task');
  const a = h.zone.get(taskDnsNames(onAgent[0]!, 'dcos')!.agentip, 'A');
  t.ok(a?.includes('10.0.9.9'), 'and the new address is there');
});

t.test('a batch that removes many tasks sharing a name recomputes the name once', async (t) => {
  const h = populate(400);
  const before = h.records.stats().recomputed;
  h.apply({ type: 'deleteAgent', id: 'a1', force: true }); // 50 tasks
  const recomputed = h.records.stats().recomputed - before;
  // The tasks on a1 (i % 16 == 1) share names; each task name has 3 host and 3 SRV owners (tcp,
  // host-mapped), and each task one PTR: every owner is recomputed exactly once.
  const names = new Set<string>();
  let tasks = 0;
  for (let i = 1; i < 400; i += agents, tasks++) names.add(`app${i % 50}/${i % 2}`);
  t.equal(recomputed, names.size * 6 + tasks, `recomputed ${recomputed} names for ${tasks} tasks sharing ${names.size} task names`);
});
