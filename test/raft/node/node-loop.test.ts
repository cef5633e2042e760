// The driver's Ready loop against a scripted core (test/raft/node/fakes.ts): ordering duties of
// the Ready contract (raft/core/types.ts), group commit, proposal settlement, snapshots, stop.

import t from 'tap';
import type { LogIndex, Member, NodeId } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import { RaftError } from '../../../raft/node/api.js';
import type { StateMachine } from '../../../raft/node/api.js';
import { RaftNode } from '../../../raft/node/node.js';
import type { RaftNodeOptions } from '../../../raft/node/options.js';
import { FakeCore, RecordingStorage, RecordingTransport, waitFor } from './fakes.js';

const self = nodeId('n1');
const members: Member[] = [{ id: self, role: 'voter', context: '{"raft":"127.0.0.1:1"}' }];
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Appends commands to a list; snapshot is the list as JSON. */
class ListMachine implements StateMachine<{ index: number; value: string }> {
  items: string[] = [];
  throwOn: string | null = null;
  apply(command: Uint8Array, index: LogIndex) {
    const v = dec(command);
    if (v === this.throwOn) throw new Error(`boom at ${index}`);
    this.items.push(v);
    return { index, value: v };
  }
  snapshot(): Uint8Array { return enc(JSON.stringify(this.items)); }
  restore(data: Uint8Array): void { this.items = JSON.parse(dec(data)) as string[]; }
}

// Every node a test opens is stopped afterwards, even when an assertion throws mid-test.
const opened = new Set<RaftNode>();
t.afterEach(async () => {
  for (const n of opened) await n.stop();
  opened.clear();
});

async function setup(over: Partial<RaftNodeOptions> = {}) {
  const storage = new RecordingStorage();
  const transport = new RecordingTransport(storage);
  const sm = new ListMachine();
  let core: FakeCore | null = null;
  const fatal: unknown[] = [];
  const node = await RaftNode.open({
    id: self, storage, transport, stateMachine: sm, bootstrap: { members }, tickMs: 10,
    logger: () => {}, onFatal: (e) => fatal.push(e),
    createCore: (c, r) => (core = new FakeCore(c, r)),
    ...over,
  });
  opened.add(node);
  await waitFor(() => node.status().leader === self);
  return { node, storage, transport, sm, core: core! as FakeCore, fatal };
}

t.test('bootstrap saves a snapshot at index 0 with the initial voters before anything else', async (t) => {
  const { node, storage } = await setup();
  const first = storage.saves[0]!;
  t.equal(first.snapshot?.meta.index, 0);
  t.same(first.snapshot?.meta.membership.members.map((m) => m.id), ['n1']);
  t.equal(first.hardState?.term, 0);
  await node.stop();
});

t.test('a bootstrap that leaves this node out is refused with a RangeError', async (t) => {
  await t.rejects(setup({ bootstrap: { members: [{ id: nodeId('x'), role: 'voter', context: '' }] } }), RangeError);
});

t.test('proposals resolve with the apply result, in order, and share fsyncs (group commit)', async (t) => {
  const { node, storage, sm } = await setup();
  const savesBefore = storage.saves.length;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => node.propose(enc(`v${i}`))));
  t.same(results.map((r) => (r as { value: string }).value), Array.from({ length: 200 }, (_, i) => `v${i}`));
  t.same(sm.items, Array.from({ length: 200 }, (_, i) => `v${i}`));
  const indexes = results.map((r) => (r as { index: number }).index);
  t.ok(indexes.every((x, i) => i === 0 || x === indexes[i - 1]! + 1), 'consecutive indexes');
  // 200 proposals in one event-loop turn: one save carries them all, one more commits them.
  t.ok(storage.saves.length - savesBefore <= 3, `saves: ${storage.saves.length - savesBefore}`);
  t.notOk(storage.overlapped, 'never two saves at once');
  await node.stop();
});

t.test('proposals arriving while a save is in flight go together into the next save', async (t) => {
  const { node, storage } = await setup();
  storage.saveDelayMs = 30;
  const first = node.propose(enc('a'));
  await waitFor(() => storage.inFlight === 1);
  const during = Array.from({ length: 50 }, (_, i) => node.propose(enc(`b${i}`)));
  await Promise.all([first, ...during]);
  const sizes = storage.saves.map((s) => s.entries.length).filter((n) => n > 0);
  t.ok(sizes.includes(50), `one save held all 50 proposals made during the first save: ${sizes}`);
  t.notOk(storage.overlapped);
  await node.stop();
});

t.test('messages leave before the save, messagesAfterPersist only after it (Ready duties 0 and 2)', async (t) => {
  const { node, storage } = await setup();
  storage.saveDelayMs = 10;
  storage.events = [];
  const { index } = (await node.propose(enc('x'))) as { index: number };
  const ev = storage.events;
  const idx = (s: string) => ev.indexOf(s);
  const save = ev.findIndex((e) => e.startsWith('save:1'));
  t.ok(save >= 0 && idx(`send:e${index}`) >= 0 && idx(`send:e${index}`) < save, `append sent before its save: ${ev.join(' ')}`);
  t.ok(idx(`send:ack${index}`) > ev.indexOf('saved', save), `ack sent after save completed: ${ev.join(' ')}`);
  await node.stop();
});

t.test('not_leader carries the leader id and context', async (t) => {
  const { node, core } = await setup();
  core.leader = false;
  core.leaderId = self;
  const err = await node.propose(enc('x')).catch((e: unknown) => e);
  t.ok(err instanceof RaftError);
  t.equal((err as RaftError).code, 'not_leader');
  t.same((err as RaftError).leader, { id: self, context: members[0]!.context });
  await node.stop();
});

t.test('a proposal whose entry is overwritten by a new leader is rejected, not left hanging (Raft §5.3)', async (t) => {
  const { node, core, storage } = await setup();
  storage.saveDelayMs = 20;
  const p = node.propose(enc('lost'));
  const q = node.propose(enc('lost2'));
  // Overwrite before they commit: the new leader's term-2 entry takes index 1, index 2 is truncated.
  await waitFor(() => storage.inFlight === 1);
  core.overwrite([{ kind: 'normal', term: term(2), index: logIndex(1), data: enc('theirs') }], term(2));
  const [ep, eq] = await Promise.all([p.catch((e: unknown) => e), q.catch((e: unknown) => e)]);
  // Either the overwrite was seen in Ready.entries, or at apply time by its term: both reject.
  t.equal((ep as RaftError).code, 'not_leader');
  t.equal((eq as RaftError).code, 'not_leader');
  await node.stop();
});

t.test('a proposal not applied in time rejects with timeout', async (t) => {
  const { node, core } = await setup();
  core.leader = true;
  // A core that never commits: freeze the commit by marking the node a non-leader after propose.
  const p = node.propose(enc('slow'), { timeoutMs: 30 });
  core.leader = false;
  const e = await p.catch((x: unknown) => x);
  // It might have committed before we froze; either it applied or it timed out, never hangs.
  t.ok(e === undefined || (e as { value?: string }).value === 'slow' || (e as RaftError).code === 'timeout');
  await node.stop();
});

t.test('timeout fires when the entry never commits', async (t) => {
  const { node, storage } = await setup();
  storage.saveDelayMs = 2000;
  const started = Date.now();
  const e = await node.propose(enc('slow'), { timeoutMs: 40 }).catch((x: unknown) => x);
  t.equal((e as RaftError).code, 'timeout');
  // Generous bound: timers run late on a loaded machine, but well before the 2 s save ends.
  t.ok(Date.now() - started < 1500, 'rejected at its deadline, not after the save');
  await node.stop();
});

t.test('overloaded beyond pendingProposalsMax', async (t) => {
  const { node } = await setup({ limits: { pendingProposalsMax: 4 } });
  const ps = Array.from({ length: 6 }, (_, i) => node.propose(enc(`o${i}`)).then(() => 'ok', (e: RaftError) => e.code));
  const out = await Promise.all(ps);
  t.same(out, ['ok', 'ok', 'ok', 'ok', 'overloaded', 'overloaded']);
  await node.stop();
});

t.test('empty command is refused (empty data is the leader no-op entry)', async (t) => {
  const { node } = await setup();
  await t.rejects(node.propose(new Uint8Array(0)), TypeError);
  await node.stop();
});

t.test('read resolves once applied >= the read index', async (t) => {
  const { node } = await setup();
  const { index } = (await node.propose(enc('a'))) as { index: number };
  const idx = await node.read();
  t.ok(idx >= index, `read barrier ${idx} covers the acknowledged write ${index}`);
  t.ok(idx <= node.status().appliedIndex, 'resolved with an applied index');
  await node.stop();
});

t.test('snapshot every N applied entries: saved, then the core compacts', async (t) => {
  const { node, storage, core } = await setup({ snapshotEntries: 10 });
  const events: { index: number; kind: string }[] = [];
  node.on('snapshot', (e) => events.push(e));
  for (let i = 0; i < 25; i++) await node.propose(enc(`s${i}`));
  t.ok(storage.snapshots.length >= 2, `snapshots: ${storage.snapshots.length}`);
  const last = storage.snapshots[storage.snapshots.length - 1]!;
  t.same(JSON.parse(dec(last.data)).length, last.meta.index, 'snapshot holds every command up to its index');
  t.same(last.meta.membership.members.map((m) => m.id), ['n1']);
  await waitFor(() => core.compacted.length === storage.snapshots.length);
  t.same(core.compacted.map((c) => c.index), storage.snapshots.map((s) => s.meta.index), 'compact after each save');
  t.equal(node.stats().snapshotsTaken, storage.snapshots.length);
  t.same(events, core.compacted.map((c) => ({ index: c.index, kind: 'local' })), "a 'snapshot' event for each, once compacted");
  await node.stop();
});

t.test('a snapshot being stored does not hold up the loop: writes commit meanwhile, the log is compacted once it is durable', async (t) => {
  const { node, storage, core } = await setup({ snapshotEntries: 10 });
  let release = (): void => undefined;
  storage.snapshotGate = new Promise<void>((r) => (release = r));
  for (let i = 0; i < 10; i++) await node.propose(enc(`s${i}`));
  await waitFor(() => storage.snapshots.length === 1);
  const savesBefore = storage.saves.length;
  for (let i = 10; i < 40; i++) await node.propose(enc(`s${i}`));
  t.ok(storage.saves.length >= savesBefore + 30, 'thirty writes saved and applied while the snapshot was being stored');
  t.equal(storage.snapshots.length, 1, 'one snapshot at a time, though 30 more entries are due');
  t.same(core.compacted, [], 'the log is not compacted before the snapshot is durable');
  t.equal(node.stats().snapshotsTaken, 0);
  const event = new Promise((resolve) => node.on('snapshot', resolve));
  release();
  await waitFor(() => core.compacted.length >= 1);
  t.equal(core.compacted[0]!.index, storage.snapshots[0]!.meta.index, 'compacted at the stored snapshot');
  t.same(await event, { index: storage.snapshots[0]!.meta.index, kind: 'local' }, "'snapshot' once it is durable");
  await waitFor(() => storage.snapshots.length >= 2);
  t.ok(storage.snapshots[1]!.meta.index >= 40, 'the next snapshot, once the first is done, covers what came meanwhile');
  await node.stop();
});

t.test('a snapshot that storage fails to store is fatal', async (t) => {
  const { node, storage, core, fatal } = await setup({ snapshotEntries: 5 });
  storage.snapshotError = new Error('disk full');
  const writes = Array.from({ length: 5 }, (_, i) => node.propose(enc(`s${i}`)));
  await Promise.all(writes);
  await waitFor(() => fatal.length === 1);
  t.match(String(fatal[0]), /disk full/);
  t.same(core.compacted, []);
  await t.rejects(node.propose(enc('after')), { code: 'stopped' });
});

t.test('stop waits for a snapshot being written before closing storage; its failure then is logged, not fatal', async (t) => {
  const logs: Array<Record<string, unknown>> = [];
  const { node, storage, fatal } = await setup({ snapshotEntries: 5, logger: (l) => logs.push(l) });
  let release = (): void => undefined;
  storage.snapshotGate = new Promise<void>((r) => (release = r));
  storage.snapshotError = new Error('disk gone');
  for (let i = 0; i < 5; i++) await node.propose(enc(`s${i}`));
  await waitFor(() => storage.snapshots.length === 1);
  const stopping = node.stop();
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  t.notOk(storage.closed, 'storage stays open while the snapshot is written');
  release();
  await stopping;
  t.ok(storage.closed);
  t.same(fatal, [], 'not fatal during stop');
  t.ok(logs.some((l) => l['msg'] === 'snapshot write failed while stopping' && /disk gone/.test(String(l['err']))), 'logged');
});

t.test('snapshotIdleMs: a due snapshot waits while entries keep being applied, and is taken once they stop', async (t) => {
  const { node, storage } = await setup({ snapshotEntries: 10, snapshotIdleMs: 500 });
  // 15 entries, one about every 5 ms: due after 10, never 500 ms quiet, under the 2x bound.
  for (let i = 0; i < 15; i++) {
    await node.propose(enc(`s${i}`));
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(storage.snapshots.length, 0, 'deferred while busy');
  const stopped = Date.now();
  await waitFor(() => storage.snapshots.length === 1, 5_000);
  t.ok(Date.now() - stopped >= 400, `taken after a quiet moment (${Date.now() - stopped} ms)`);
  t.equal(storage.snapshots[0]!.meta.index, node.status().appliedIndex, 'at the applied index of the quiet moment');
  await node.stop();
});

t.test('snapshotIdleMs: under continuous load the snapshot is taken at 2 x snapshotEntries', async (t) => {
  const { node, storage } = await setup({ snapshotEntries: 10, snapshotIdleMs: 1_000 });
  for (let i = 0; i < 25; i++) await node.propose(enc(`s${i}`));
  t.equal(storage.snapshots.length, 1, 'one snapshot, forced by the bound');
  // The bootstrap snapshot is at index 0: the first taken one comes when 20 entries are due.
  t.equal(storage.snapshots[0]!.meta.index, 20, 'when 2 x snapshotEntries were due');
  await node.stop();
});

t.test('snapshotIdleMs: the forced bound is staggered by rank in id order, so replicas do not all encode at once', async (t) => {
  // This node is the second of three voters: 2 - 1/3 of snapshotEntries (30 x 5/3 = 50). Learners
  // are ranked apart: however many there are, the voters' bounds stay a third apart.
  const voter = (id: string): Member => ({ id: nodeId(id), role: 'voter', context: '{"raft":"127.0.0.1:1"}' });
  const learner = (id: string): Member => ({ id: nodeId(id), role: 'learner', context: '{"raft":"127.0.0.1:1"}' });
  const mixed: Member[] = [voter('n0'), learner('a0'), voter('n1'), learner('a1'), voter('n2'), learner('a2')];
  const { node, storage } = await setup({ snapshotEntries: 30, snapshotIdleMs: 1_000, bootstrap: { members: mixed } });
  for (let i = 0; i < 55; i++) await node.propose(enc(`s${i}`));
  t.equal(storage.snapshots.length, 1, 'one snapshot, forced by the bound');
  t.equal(storage.snapshots[0]!.meta.index, 50, 'when 5/3 x snapshotEntries were due, not 2 x (the lowest id\'s bound)');
  await node.stop();
});

t.test('snapshotIdleMs out of range is a RangeError naming it', async (t) => {
  await t.rejects(setup({ snapshotIdleMs: -1 }), { name: 'RangeError', message: /^snapshotIdleMs/ });
});

t.test('restart restores the state machine from the stored snapshot', async (t) => {
  const storage = new RecordingStorage();
  const items = ['p', 'q'];
  storage.state = {
    hardState: { term: term(1), vote: self, commit: logIndex(3) },
    snapshot: { meta: { index: logIndex(3), term: term(1), membership: { members } }, data: enc(JSON.stringify(items)) },
    entries: [],
  };
  const sm = new ListMachine();
  const node = await RaftNode.open({
    id: self, storage, transport: new RecordingTransport(), stateMachine: sm, bootstrap: 'join', tickMs: 10,
    logger: () => {}, createCore: (c, r) => new FakeCore(c, r),
  });
  t.same(sm.items, items);
  const r = (await node.propose(enc('r'))) as { index: number };
  t.equal(r.index, 4);
  t.same(sm.items, ['p', 'q', 'r']);
  t.equal(storage.saves.every((s) => s.snapshot === null), true, 'no bootstrap over existing state');
  await node.stop();
});

t.test('a snapshot from the leader restores the state machine and settles covered proposals', async (t) => {
  const { node, core, sm, storage } = await setup();
  storage.saveDelayMs = 20;
  const p = node.propose(enc('mine')).catch((e: RaftError) => e.code);
  await waitFor(() => storage.inFlight === 1);
  const event = new Promise((resolve) => node.on('snapshot', resolve));
  core.leader = false;
  core.installSnapshot({ meta: { index: logIndex(10), term: term(3), membership: { members } }, data: enc('["x","y"]') });
  t.equal(await p, 'timeout', 'outcome unknown');
  await waitFor(() => node.status().appliedIndex === 10);
  t.same(sm.items, ['x', 'y']);
  t.same(await event, { index: 10, kind: 'installed' }, "a 'snapshot' event");
  await node.stop();
});

t.test('a state machine throw is fatal: onFatal, pending rejected, nothing more applied', async (t) => {
  const { node, sm, fatal } = await setup();
  sm.throwOn = 'bad';
  const a = node.propose(enc('bad')).catch((e: RaftError) => e.code);
  const b = node.propose(enc('after')).catch((e: RaftError) => e.code);
  t.same(await Promise.all([a, b]), ['stopped', 'stopped']);
  t.equal(fatal.length, 1);
  t.match(String(fatal[0]), /boom/);
  t.notOk(sm.items.includes('after'));
  await t.rejects(node.propose(enc('later')), { code: 'stopped' });
  await node.stop();
});

t.test('stop: rejects pending with stopped, finishes the in-flight save, then closes transport and storage', async (t) => {
  const { node, storage, transport } = await setup();
  storage.saveDelayMs = 40;
  const p = node.propose(enc('x')).catch((e: RaftError) => e.code);
  await waitFor(() => storage.inFlight === 1);
  await node.stop();
  t.equal(await p, 'stopped');
  t.equal(storage.inFlight, 0);
  const ev = storage.events;
  t.ok(ev.lastIndexOf('saved') < ev.indexOf('transport-close') && ev.indexOf('transport-close') < ev.indexOf('close'), ev.join(' '));
  t.ok(transport.closed && storage.closed);
  await t.rejects(node.read(), { code: 'stopped' });
});

t.test('the transport peer table follows membership (member context JSON)', async (t) => {
  const { node, transport } = await setup();
  t.equal(transport.peers.size, 0, 'no peer for self');
  await node.addLearner(nodeId('n2'), '{"raft":"127.0.0.1:4242","http":"127.0.0.1:1"}');
  t.same(transport.peers.get(nodeId('n2')), { host: '127.0.0.1', port: 4242 });
  const seen: NodeId[][] = [];
  node.on('membership', (ms) => seen.push(ms.map((m) => m.id)));
  await node.removeMember(nodeId('n2'));
  t.notOk(transport.peers.has(nodeId('n2')));
  t.same(seen, [['n1']]);
  t.same(node.status().members.map((m) => m.id), ['n1']);
  await node.stop();
});

t.test('a joining node installs the leader\'s bootstrap snapshot (index 0, membership only) without restoring', async (t) => {
  const { node, core, sm, transport, fatal } = await setup();
  const n2: Member = { id: nodeId('n2'), role: 'voter', context: '{"raft":"127.0.0.1:4243"}' };
  core.leader = false;
  core.installSnapshot({ meta: { index: logIndex(0), term: term(0), membership: { members: [...members, n2] } }, data: new Uint8Array(0) });
  await waitFor(() => transport.peers.has(n2.id));
  t.same(fatal, [], 'no assertion, no restore of empty bytes');
  t.same(sm.items, []);
  t.same(node.status().members.map((m) => m.id), ['n1', 'n2']);
});

t.test('a commit-only hard state is not synced on its own: it rides with the next save, or the last one at stop', async (t) => {
  const { node, storage } = await setup();
  const { index } = (await node.propose(enc('c1'))) as { index: number };
  // The entry was saved in one Ready; the Ready that committed it changed only the commit index.
  const withEntry = storage.saves.filter((s) => s.entries.some((e) => e.index === index));
  t.equal(withEntry.length, 1);
  t.notOk(storage.saves.some((s) => s.entries.length === 0 && s.snapshot === null && (s.hardState?.commit ?? 0) >= index),
    'no save just for the commit index');
  const savesBefore = storage.saves.length;
  await node.propose(enc('c2'));
  const next = storage.saves[savesBefore]!;
  t.ok((next.hardState?.commit ?? 0) >= index, `the next synced save carries commit ${index}: ${next.hardState?.commit}`);
  await node.stop();
  const last = storage.saves[storage.saves.length - 1]!;
  t.equal(last.hardState?.commit, node.status().commitIndex, 'stop() writes the final commit index');
});

t.test('entries made durable by an earlier Ready are applied while the next Ready is being saved', async (t) => {
  const { node, storage } = await setup();
  await node.propose(enc('warm'));
  storage.saveDelayMs = 500; // long enough that c surely arrives during b's save
  const b = node.propose(enc('b')).then(() => storage.inFlight);
  await waitFor(() => storage.inFlight === 1); // b's own save
  // c arrives during b's save, so the next Ready both saves c and commits b (durable already).
  const c = node.propose(enc('c'));
  storage.events = [];
  t.equal(await b, 1, `b resolved while the save holding c was still in flight: ${storage.events.join(' ')}`);
  await c;
  t.notOk(storage.overlapped);
});

t.test('promote waits until the learner is caught up (dissertation §4.2.1), and refuses unknown members', async (t) => {
  const { node, core } = await setup({ limits: { promoteLagEntriesMax: 2 } });
  const n2 = nodeId('n2');
  await node.addLearner(n2, '{"raft":"127.0.0.1:4244"}');
  for (let i = 0; i < 10; i++) await node.propose(enc(`x${i}`));
  const progress = (match: number) => [{ id: n2, role: 'learner' as const, match: logIndex(match), next: logIndex(match + 1), state: 'replicate' as const, recentActive: true }];
  core.progress = progress(1);
  let settled = false;
  const p = node.promote(n2).then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(settled, 'not promoted while 10 entries behind');
  t.equal(node.status().members.find((m) => m.id === n2)?.role, 'learner');
  core.progress = progress(core.lastIndex());
  await p;
  t.equal(node.status().members.find((m) => m.id === n2)?.role, 'voter', 'promoted once caught up');
  await t.rejects(node.promote(nodeId('nobody')), { code: 'unknown_member' });
  await t.rejects(node.promote(n2), { code: 'unknown_member' }, 'already a voter');
});

t.test('promote and transferLeadership off the leader fail with not_leader', async (t) => {
  const { node, core } = await setup({ proposalTimeoutMs: 300 });
  core.leader = false;
  await t.rejects(node.promote(nodeId('n2')), { code: 'not_leader' });
  await t.rejects(node.transferLeadership(nodeId('n2')), { code: 'not_leader' });
  await t.rejects(node.addLearner(nodeId('n3'), '{}'), { code: 'not_leader' });
});

/** The fake core, plus: a stepped message leaves work for a Ready (a read state), and ready() calls are counted. */
class AckCore extends FakeCore {
  readies = 0;
  override step(msg: Parameters<FakeCore['step']>[0]): void {
    super.step(msg);
    this.readIndex(`after-${msg.type}`);
  }
  override ready(): ReturnType<FakeCore['ready']> {
    this.readies++;
    return super.ready();
  }
}

/** Waits until the core has nothing for a Ready and the loop has had turns to finish and stop. */
async function settled(core: FakeCore): Promise<void> {
  await waitFor(() => !core.hasReady());
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

t.test('an acknowledgement that leaves work runs an idle loop at once; other messages wait for the next turn', async (t) => {
  let core: AckCore | null = null;
  // No ticks (they schedule the loop too): the loop must be idle when each message arrives.
  const { transport } = await setup({ tickMs: 60_000, createCore: (c, r) => (core = new AckCore(c, r)) });
  const ack = core! as AckCore;
  await settled(ack);
  const peer = nodeId('p2');
  const before = ack.readies;
  transport.handler!({ type: 'heartbeatResp', from: peer, to: self, term: term(1), context: 'c' });
  t.equal(ack.readies, before, 'a heartbeat response is handled in a later turn (schedule)');
  await waitFor(() => ack.readies > before);
  await settled(ack);
  const mid = ack.readies;
  transport.handler!({ type: 'appendResp', from: peer, to: self, term: term(1), reject: false, index: logIndex(1), hintIndex: logIndex(0), hintTerm: term(0) });
  t.equal(ack.readies, mid + 1, 'an append response got its Ready before the handler returned');
});

t.test('with more than one write waiting, an acknowledgement waits for the next turn too (proposals read meanwhile share its Ready)', async (t) => {
  let core: AckCore | null = null;
  const { node, transport } = await setup({ tickMs: 60_000, createCore: (c, r) => (core = new AckCore(c, r)) });
  const ack = core! as AckCore;
  ack.autoCommit = false;
  const writes = [node.propose(enc('a')), node.propose(enc('b'))];
  await waitFor(() => ack.stableIndex >= ack.lastIndex());
  await settled(ack);
  const before = ack.readies;
  transport.handler!({ type: 'appendResp', from: nodeId('p2'), to: self, term: term(1), reject: false, index: logIndex(1), hintIndex: logIndex(0), hintTerm: term(0) });
  t.equal(ack.readies, before, 'no Ready before the handler returned');
  await waitFor(() => ack.readies > before);
  ack.autoCommit = true;
  transport.handler!({ type: 'heartbeatResp', from: nodeId('p2'), to: self, term: term(1), context: 'c' });
  const results = await Promise.all(writes);
  t.equal(results.length, 2, 'both writes were applied once commits resumed');
});

/**
 * The fake core with a follower's acknowledgement: autoCommit off, and an appendResp commits what
 * is durable. takeCommitted follows the core's contract (raft/core/raft.ts): durable committed
 * entries after everything handed out, once the driver applied those.
 */
class TakeCore extends FakeCore {
  private handedTo = 0;
  private out = false;
  taken: number[] = [];
  override step(msg: Parameters<FakeCore['step']>[0]): void {
    super.step(msg);
    if (msg.type === 'appendResp') this.commit = Math.max(this.commit, this.stableIndex);
  }
  override ready(): ReturnType<FakeCore['ready']> {
    const rd = super.ready();
    this.out = true;
    this.handedTo = rd.committed.at(-1)?.index ?? this.applied;
    return rd;
  }
  override advance(rd: Parameters<FakeCore['advance']>[0]): void {
    this.out = false;
    super.advance(rd);
    this.applied = Math.max(this.applied, this.handedTo);
  }
  override takeCommitted(applied: LogIndex): ReturnType<FakeCore['takeCommitted']> {
    const to = Math.min(this.commit, this.stableIndex);
    if (!this.out || applied < this.handedTo || to <= this.handedTo) return [];
    const entries = this.log.filter((e) => e.index > this.handedTo && e.index <= to);
    this.handedTo = to;
    this.taken.push(...entries.map((e) => e.index));
    return entries;
  }
}

t.test('an acknowledgement during a save applies the entries it commits at once, not after that save', async (t) => {
  let core: TakeCore | null = null;
  const { node, storage, transport, sm } = await setup({ tickMs: 60_000, createCore: (c, r) => (core = new TakeCore(c, r)) });
  const take = core! as TakeCore;
  take.autoCommit = false;
  await settled(take);
  const applied: number[] = [];
  node.on('applied', (i) => applied.push(i));
  const a = node.propose(enc('a'));
  await waitFor(() => storage.saves.some((s) => s.entries.some((e) => e.kind === 'normal' && dec(e.data) === 'a')));
  await settled(take);
  t.same(sm.items, [], 'a is durable here but not committed: no follower acknowledged it');
  storage.saveDelayMs = 300;
  const b = node.propose(enc('b'));
  await waitFor(() => storage.inFlight === 1);
  const ack = (index: number) => transport.handler!({ type: 'appendResp', from: nodeId('p2'), to: self, term: term(1), reject: false, index: logIndex(index), hintIndex: logIndex(0), hintTerm: term(0) });
  ack(take.lastIndex() - 1);
  t.same(sm.items, ['a'], 'applied within the acknowledgement, while the save holding b runs');
  t.equal(storage.inFlight, 1, 'that save is still in flight');
  const ra = (await a) as { value: string; index: number };
  t.equal(ra.value, 'a');
  t.equal(storage.inFlight, 1, 'a\'s caller was answered before the save holding b finished');
  t.same(applied, [ra.index], "an 'applied' event for it");
  t.same(take.taken, [ra.index]);
  storage.saveDelayMs = 0;
  await waitFor(() => storage.inFlight === 0);
  await settled(take);
  t.same(sm.items, ['a'], 'b is durable, not committed');
  ack(take.lastIndex());
  t.equal(((await b) as { value: string }).value, 'b', 'b commits with the next acknowledgement, through a Ready');
  t.same(sm.items, ['a', 'b']);
  t.notOk(storage.overlapped);
});
