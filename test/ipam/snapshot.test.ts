// Snapshot and restore (issue 4: deterministic, byte-identical across replicas; a million tasks
// restore in seconds).
import t from 'tap';
import { Harness, agent, dcos, dcos6, task } from './harness.js';
import { IpamStateMachine, encodeCommand as encode } from '../../src/ipam/index.js';
import type { IpamCommand } from '../../src/ipam/index.js';
import { logIndex } from '../../raft/core/types.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function fresh(cmds: readonly IpamCommand[]): Harness {
  const h = new Harness();
  for (const c of cmds) h.apply(c);
  return h;
}

t.test('replicas applying the same log write byte-identical snapshots, also one that restored mid-way', async (t) => {
  // Tasks are written in link order (IpamState.order), not sorted by id: a replica that restored a
  // snapshot must hold the same order as one that applied the whole log, or their next snapshots
  // differ. Releases in the middle of the order and re-allocations at its end are included.
  const agents = [agent('a', '10.0.0.1'), agent('b', '10.0.0.2')];
  const netB = { type: 'createNetwork', name: 'b-net', subnet: '10.9.0.0/16', prefix: 24 } as const;
  const cmds: IpamCommand[] = [dcos, netB, dcos6, ...agents, task('t5', 'a'), task('t1', 'a', 'dcos'), task('t4', 'b', 'dcos6'), task('t3', 'a', 'b-net', 'docker'), task('t2', 'b', 'dcos')];
  const later: IpamCommand[] = [{ type: 'releaseTask', id: 't1' }, task('t0', 'b', 'dcos'), task('t1', 'a', 'dcos'), { type: 'releaseTask', id: 't4' }, task('t9', 'a', 'b-net')];
  const whole = fresh([...cmds, ...later]);
  const again = fresh([...cmds, ...later]);
  t.equal(hex(whole.sm.snapshot()), hex(again.sm.snapshot()), 'the same log, the same bytes');
  const first = fresh(cmds);
  const restored = new Harness();
  restored.sm.restore(first.sm.snapshot(), logIndex(first.index));
  restored.index = first.index;
  for (const c of later) restored.apply(c);
  t.equal(hex(restored.sm.snapshot()), hex(whole.sm.snapshot()), 'restored mid-way, then the rest of the log: the same bytes');
});

t.test('the task-name dictionary: names equal to their id, shared names, and a name equal to another task\'s id', async (t) => {
  // Codes follow the first appearance of each name in link order (the format's rule). The encoder
  // finds shared names through the interned records instead of a Map of every name; this checks it
  // against a plain first-appearance dictionary read back from the snapshot's own columns.
  const named = (id: string, name: string): IpamCommand => ({ ...task(id, 'a', 'dcos'), name });
  const cmds: IpamCommand[] = [dcos, agent('a', '10.0.0.1'), named('x', 'x'), named('y', 'x'), named('z', 'y'), named('w', 'w'), named('v', 'web'), named('u', 'web'), named('s', 'z')];
  const h = fresh(cmds);
  const first = h.sm.snapshot();
  t.equal(hex(h.sm.snapshot()), hex(first), 'a second snapshot of the same state: the same bytes (no stale scratch codes)');
  const { unpack } = await import('msgpackr');
  const root = unpack(Buffer.from(first)) as unknown[];
  const columns = root[6] as { ids: string[]; nameDict: string[]; names: Uint8Array };
  const codes = new DataView(columns.names.buffer, columns.names.byteOffset, columns.names.byteLength);
  const want: string[] = [];
  const names = ['x', 'x', 'y', 'w', 'web', 'web', 'z'];
  for (const n of names) if (!want.includes(n)) want.push(n);
  t.same(columns.ids, ['x', 'y', 'z', 'w', 'v', 'u', 's']);
  t.same(columns.nameDict, want, 'first-appearance order, each name once');
  t.same(names.map((_, i) => columns.nameDict[codes.getUint32(4 * i)]), names, 'every task points at its own name');
  const restored = new Harness();
  restored.sm.restore(first, logIndex(h.index));
  t.equal(hex(restored.sm.snapshot()), hex(first), 'restored, then snapshotted: the same bytes');
});

t.test('the same state reached by different interleavings reads the same', async (t) => {
  const agents = [agent('a', '10.0.0.1'), agent('b', '10.0.0.2')];
  const netB = { type: 'createNetwork', name: 'b-net', subnet: '10.9.0.0/16', prefix: 24 } as const;
  const onA = [task('t1', 'a', 'dcos'), task('t3', 'a', 'b-net', 'docker'), task('t5', 'a')];
  const onB = [task('t2', 'b', 'dcos'), task('t4', 'b', 'dcos6')];
  const one = fresh([dcos, netB, dcos6, ...agents, ...onA, ...onB]);
  const two = fresh([dcos6, netB, dcos, ...agents, ...onB, ...onA]);
  t.same(one.sm.listTasks(), two.sm.listTasks(), 'tasks');
  t.same(one.sm.listAgents(), two.sm.listAgents(), 'agents');
  t.same(one.sm.listNetworks(), two.sm.listNetworks(), 'networks');
  // And each restores to the same views.
  const r = new Harness();
  r.sm.restore(two.sm.snapshot(), logIndex(two.index));
  t.same(r.sm.listTasks(), one.sm.listTasks(), 'tasks after a restore');
});

t.test('snapshot -> restore keeps every view, cursor and allocator', async (t) => {
  const h = new Harness();
  h.ok({ type: 'configure', vtepSubnet: '44.129.0.0/24', vtepMacOui: '00:11:22' });
  h.ok(dcos);
  h.ok(dcos6);
  h.ok({ type: 'createNetwork', name: 'shared', subnet: '10.7.0.0/24', prefix: 26, split: 'shared', subnet6: 'fd07::/64', prefix6: 96 });
  h.ok({ type: 'createNetwork', name: 'tiny', subnet: '10.8.0.0/28', prefix: 28 });
  for (const id of ['c', 'a', 'b']) h.ok({ type: 'registerAgent', id, ip: `10.0.0.${id.charCodeAt(0)}`, ip6: 'fd00::1' });
  h.ok({ type: 'allocateTask', id: 'p', name: 'web.app', framework: 'marathon.dc1', agent: 'a', network: 'shared', containerizer: 'docker', ports: [{ name: 'http', protocol: 'tcp', containerPort: 80, hostPort: 31000 }, { protocol: 'udp', containerPort: 53 }], labels: { env: 'prod', tier: 'web' } });
  for (let i = 0; i < 20; i++) h.apply(task(`t${i}`, ['a', 'b', 'c'][i % 3] ?? 'a', ['dcos', 'dcos6', 'tiny', 'shared'][i % 4], i % 2 ? 'docker' : 'mesos'));
  h.ok(task('host', 'b'));
  for (const id of ['t0', 't5', 't6']) h.ok({ type: 'releaseTask', id });
  t.ok(h.sm.taskCount() > 12, 'most tasks allocated');
  h.ok({ type: 'deleteAgent', id: 'c', force: true });
  h.ok({ type: 'patchNetwork', name: 'tiny', enabled: false });
  const snap = h.sm.snapshot();
  const r = new Harness();
  r.sm.restore(snap, logIndex(h.index));
  r.index = h.index;
  t.equal(hex(r.sm.snapshot()), hex(snap), 'snapshot -> restore -> snapshot is identical');
  t.same(r.sm.listTasks(), h.sm.listTasks());
  t.same(r.sm.listAgents(), h.sm.listAgents());
  t.same(r.sm.listNetworks(), h.sm.listNetworks());
  t.same(r.sm.overlayMasterState(), h.sm.overlayMasterState());
  t.same(r.sm.config(), h.sm.config());
  for (const n of h.sm.listNetworks()) t.same(r.sm.networkUsage(n.name), h.sm.networkUsage(n.name), `usage of ${n.name}`);
  t.same(r.sm.getTask('p')?.labels, { env: 'prod', tier: 'web' });
  // The next decisions (round-robin cursors, lowest free block and VTEP) are the same.
  const next: IpamCommand[] = [task('n1', 'a', 'dcos'), task('n2', 'b', 'dcos6', 'docker'), task('n3', 'a', 'shared'), agent('d', '10.0.0.100'), task('n4', 'd', 'dcos')];
  for (const c of next) t.same(r.apply(c), h.apply(c), `${c.type} ${'id' in c ? c.id : ''} decides the same`);
  t.equal(hex(r.sm.snapshot()), hex(h.sm.snapshot()));
});

t.test('restore at a later Raft index keeps the snapshot bytes (membership entries skip apply)', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  const snap = h.sm.snapshot();
  const r = new IpamStateMachine();
  r.restore(snap, logIndex(h.index + 3));
  t.equal(hex(r.snapshot()), hex(snap));
  t.equal(r.appliedIndex, h.index);
  t.ok(r.apply(encode({ type: 'releaseTask', id: 'x' }), logIndex(h.index + 4)).ok);
});

t.test('a corrupt snapshot is refused and leaves the state alone', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  h.ok(agent('a', '10.0.0.1'));
  const before = hex(h.sm.snapshot());
  t.throws(() => h.sm.restore(new Uint8Array([1, 2, 3]), logIndex(5)));
  const later = new Harness();
  later.ok(dcos);
  later.ok(dcos6);
  t.throws(() => h.sm.restore(later.sm.snapshot(), logIndex(1)), /snapshot is at index 2, beyond the restore index 1/);
  t.equal(hex(h.sm.snapshot()), before);
});

t.test('snapshot and restore of 100,000 tasks, extrapolated to 1,000,000', async (t) => {
  const count = Number(process.env['IPAM_SNAPSHOT_TASKS'] ?? 100_000);
  const sm = new IpamStateMachine();
  let index = 0;
  const h = { apply: (c: IpamCommand) => sm.apply(encode(c), logIndex(++index)) };
  h.apply({ type: 'createNetwork', name: 'dcos', subnet: '9.0.0.0/8', prefix: 21 });
  h.apply({ type: 'createNetwork', name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80 });
  for (let a = 0; a < 1000; a++) h.apply({ type: 'registerAgent', id: `agent-${a}`, ip: `10.0.${a >> 8}.${a & 255}` });
  for (let k = 0; k < count; k++) {
    const r = h.apply({
      type: 'allocateTask',
      id: `task-${k}`,
      name: `app-${k % 5000}`,
      framework: 'marathon',
      agent: `agent-${k % 1000}`,
      network: k % 10 === 0 ? 'dcos6' : 'dcos',
      containerizer: Math.floor(k / 1000) % 2 ? 'docker' : 'mesos',
      ...(k % 3 === 0 && { ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 }] }),
    });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
  }
  // CPU time, not wall time: the test machine is shared with other test runs.
  const cpu = (f: () => void) => {
    const start = process.cpuUsage();
    f();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
  let snap: Uint8Array = new Uint8Array();
  const snapshotS = cpu(() => (snap = sm.snapshot()));
  const restored = new IpamStateMachine();
  const restoreS = cpu(() => restored.restore(snap, logIndex(index)));
  const scale = 1_000_000 / count;
  t.comment(`${count} tasks: snapshot ${snapshotS.toFixed(2)} s CPU, ${(snap.length / 1e6).toFixed(1)} MB; restore ${restoreS.toFixed(2)} s CPU`);
  t.comment(`extrapolated to 1,000,000 tasks: snapshot ~${(snapshotS * scale).toFixed(1)} s, restore ~${(restoreS * scale).toFixed(1)} s, ~${((snap.length * scale) / 1e6).toFixed(0)} MB`);
  t.equal(restored.taskCount(), count);
  t.equal(hex(restored.snapshot()), hex(snap), 'identical after restore');
  // "Seconds, not minutes" for a million tasks, with a wide margin for a loaded machine.
  t.ok(restoreS * scale < 30, `restore of 1M tasks extrapolates to ${(restoreS * scale).toFixed(1)} s CPU (< 30)`);
  t.ok(snapshotS * scale < 30, `snapshot of 1M tasks extrapolates to ${(snapshotS * scale).toFixed(1)} s CPU (< 30)`);
  t.ok(snap.length / count < 64, `${(snap.length / count).toFixed(1)} bytes per task`);
});

t.test('a snapshot owns its bytes, and commands packed after it do not land in the buffer it grew', async (t) => {
  // msgpackr packs into one shared buffer, grows it for a large value and keeps it; a snapshot
  // returned as a view into it pinned all of it, and later commands (log entries) landed in it.
  const commandBufferMax = 64 * 1024;
  const h = fresh([dcos, agent('a', '10.0.0.1')]);
  for (let i = 0; i < 30_000; i++) h.apply(task(`t${i}`, 'a')); // host networking: no pool to run out of
  const data = h.sm.snapshot();
  t.ok(data.length > 16 * commandBufferMax, `the snapshot is large (${data.length} bytes)`);
  t.equal(data.byteOffset, 0, 'the snapshot starts its buffer');
  t.ok(data.buffer.byteLength <= data.length * 1.125, `and the buffer is about its size (${data.buffer.byteLength} bytes for ${data.length})`);
  // The next snapshot is packed into a buffer presized from this one: no copy, little slack.
  for (let i = 0; i < 1_000; i++) h.apply(task(`u${i}`, 'a'));
  const next = h.sm.snapshot();
  t.equal(next.byteOffset, 0);
  t.ok(next.buffer.byteLength <= next.length * 1.125, `the next snapshot's buffer is about its size (${next.buffer.byteLength} bytes for ${next.length})`);
  t.not(next.buffer, data.buffer, 'each snapshot has a buffer of its own');
  const after = encode(task('after', 'a', 'dcos'));
  t.ok(after.buffer.byteLength <= commandBufferMax, `a command after the snapshot is packed in a ${after.buffer.byteLength}-byte buffer, not the grown one`);
  const restored = new Harness();
  restored.sm.restore(data, logIndex(h.index));
  t.equal(hex(restored.sm.snapshot()), hex(data), 'the copied bytes restore to the same state');
});
