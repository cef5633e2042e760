// The Ready contract (raft/README.md): what goes in which field, when, and what advance() means.
import t from 'tap';
import { AssertionError } from '../../../raft/core/assert.js';
import { logIndex, nodeId } from '../../../raft/core/types.js';
import { drain, entries, makeCore, msg, tickUntil } from './helpers.js';
import { Network, bytes } from './network.js';

t.test('acknowledgements wait for persistence; everything else may leave at once', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 1 });
  c.step(msg.append('a', 'b', 1, 0, 0, entries([1, 1]), 0));
  c.step(msg.heartbeat('a', 'b', 1, 0, '7'));
  const rd = c.ready();
  t.same(rd.entries.map((e) => e.index), [1, 2], 'entries to persist');
  t.same(rd.messagesAfterPersist.map((m) => m.type), ['appendResp'], 'the append is acknowledged only after the write');
  t.same(rd.messages.map((m) => m.type), ['heartbeatResp'], 'a heartbeat response promises nothing durable');
  t.equal(rd.hardState, null, 'term, vote and commit unchanged: no hard state to write');
  c.advance(rd);
  t.equal(c.hasReady(), false, 'nothing left');
});

t.test('the unsafe ackBeforeSync switch moves acknowledgements into messages', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 1, unsafe: { ackBeforeSync: true } });
  c.step(msg.append('a', 'b', 1, 0, 0, entries([1]), 0));
  c.step(msg.vote('c', 'b', 2, 1, 1));
  const rd = c.ready();
  t.same(rd.messagesAfterPersist, []);
  t.same(rd.messages.map((m) => m.type), ['appendResp', 'voteResp']);
});

t.test('the unsafe forgetVote switch keeps the vote out of the hard state', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 1, unsafe: { forgetVote: true } });
  c.step(msg.vote('c', 'b', 2, 0, 0));
  const rd = c.ready();
  t.same(rd.hardState, { term: 2, vote: null, commit: 0 });
  t.equal(c.status().vote, 'c', 'the vote is still held in memory');
});

t.test('the hard state appears only when it changed', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 3, vote: 'a' });
  c.step(msg.heartbeat('a', 'b', 3, 0));
  const rd = c.ready();
  t.equal(rd.hardState, null, 'term, vote and commit as restored');
  t.same(rd.softState, { role: 'follower', leader: 'a' }, 'the soft state changed: a leader is known');
  c.advance(rd);
});

t.test('committed entries are only ever durable ones', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 1 });
  c.step(msg.append('a', 'b', 1, 0, 0, entries([1, 1, 1]), 3));
  const rd = c.ready();
  t.same(rd.committed.map((e) => e.index), [1, 2, 3], 'committed in the same Ready as their entries: persisted first (duty 2)');
  t.same(rd.entries.map((e) => e.index), [1, 2, 3]);
  c.advance(rd);
  t.equal(c.status().applied, 3);
});

t.test('ready() twice without advance() is a driver bug; hasReady() is false meanwhile', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 1 });
  c.step(msg.append('a', 'b', 1, 0, 0, entries([1]), 0));
  const rd = c.ready();
  c.step(msg.append('a', 'b', 1, 1, 1, entries([1], 2), 1));
  t.equal(c.hasReady(), false);
  t.throws(() => c.ready(), AssertionError);
  c.advance(rd);
  const rd2 = c.ready();
  t.same(rd2.entries.map((e) => e.index), [2], 'steps taken while a Ready was out come in the next one');
  t.same(rd2.committed.map((e) => e.index), [1]);
  c.advance(rd2);
});

t.test('a restarted node re-applies committed entries from its snapshot on', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 5 });
  net.elect('a');
  for (const v of ['x', 'y', 'z']) net.core('a').propose(bytes(v));
  net.stabilize();
  net.tickAll(2);
  net.compact('b');
  net.core('a').propose(bytes('after'));
  net.stabilize();
  net.tickAll(2);
  const b = net.start(nodeId('b'));
  t.equal(b.status().applied, b.status().firstIndex - 1, 'applied restarts at the snapshot index');
  net.drainReady();
  t.same(net.appliedOf('b'), ['x', 'y', 'z', 'after'], 'snapshot state plus the re-applied committed entries');
  t.equal(b.status().role, 'follower');
});

t.test('a core rejects configurations that break the relations between limits', async (t) => {
  t.throws(() => makeCore('a', { voters: ['a'], electionTicks: 1 }), AssertionError);
  t.throws(() => makeCore('a', { voters: ['a'], electionTicks: 5, heartbeatTicks: 5 }), AssertionError);
  t.throws(() => makeCore('a', { voters: ['a'], limits: { appendBytesMax: 100, inflightBytesMax: 10 } }), AssertionError);
  t.throws(() => makeCore('a', { voters: ['a'], limits: { entriesPerAppendMax: 0 } }), AssertionError);
});

// takeCommitted: while a Ready's save is in flight, committed entries that earlier Readies made
// durable may be applied at once, after everything handed out before them and nothing else.
const indexes = (es: readonly { index: number }[]): number[] => es.map((e) => e.index);

t.test('takeCommitted: a leader applies a batch its follower acknowledged while the next batch is being saved', async (t) => {
  const c = makeCore('a', { voters: ['a', 'b', 'c'] });
  tickUntil(c, 'candidate');
  c.step(msg.voteResp('b', 'a', 1, false));
  drain(c);
  c.step(msg.appendResp('b', 'a', 1, 1));
  drain(c);
  t.equal(c.status().applied, 1, 'the no-op is applied');
  c.propose(bytes('x'));
  c.advance(c.ready()); // batch 2 durable on the leader
  c.propose(bytes('y'));
  const rd = c.ready(); // batch 3: its save is in flight
  t.same(indexes(rd.entries), [3]);
  t.same(c.takeCommitted(logIndex(1)), [], 'nothing committed beyond what was handed out');
  c.step(msg.appendResp('b', 'a', 1, 3));
  t.equal(c.status().commit, 2, 'entry 3 is not durable on the leader yet: only 2 commits');
  t.same(indexes(c.takeCommitted(logIndex(1))), [2], 'entry 2 is durable here and committed: taken during the save');
  t.equal(c.status().applied, 2);
  t.same(c.takeCommitted(logIndex(2)), [], 'taken once');
  c.advance(rd);
  const next = c.ready();
  t.same(indexes(next.committed), [3], 'the next Ready hands out only what was not taken');
  c.advance(next);
  t.equal(c.status().applied, 3);
  t.same(c.takeCommitted(logIndex(3)), [], 'no Ready out: nothing to take');
});

t.test('takeCommitted: a follower takes only durable entries, and only once the Ready\'s own are applied', async (t) => {
  const c = makeCore('b', { voters: ['a', 'b', 'c'], term: 1 });
  c.step(msg.append('a', 'b', 1, 0, 0, entries([1, 1]), 0));
  c.advance(c.ready()); // 1 and 2 durable, none committed
  c.step(msg.append('a', 'b', 1, 2, 1, entries([1], 3), 1));
  const rd = c.ready();
  t.same(indexes(rd.committed), [1], 'entry 1 committed with this Ready');
  t.same(indexes(rd.entries), [3]);
  c.step(msg.heartbeat('a', 'b', 1, 3));
  t.equal(c.status().commit, 3);
  t.same(c.takeCommitted(logIndex(0)), [], 'the driver has not applied the Ready\'s entry 1: nothing may jump ahead of it');
  t.same(indexes(c.takeCommitted(logIndex(1))), [2], 'entry 2 is durable; entry 3 is still being saved');
  c.advance(rd);
  const next = c.ready();
  t.same(indexes(next.committed), [3]);
  c.advance(next);
  t.equal(c.status().applied, 3);
});

t.test('takeCommitted: nothing while a snapshot from the leader is pending', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 9 });
  net.elect('a');
  for (const v of ['x', 'y']) net.core('a').propose(bytes(v));
  net.stabilize();
  net.compact('a');
  const c = makeCore('d', { voters: ['a', 'b', 'c'], term: 1 });
  c.step(msg.append('a', 'd', 1, 0, 0, entries([1]), 0));
  const rd = c.ready(); // entry 1 being saved
  const snap = net.core('a').log.snapshot;
  c.step({ type: 'snapshot', from: nodeId('a'), to: nodeId('d'), term: snap.meta.term, meta: snap.meta, offset: 0, data: snap.data, totalBytes: snap.data.length });
  t.not(c.log.pendingSnapshot, null, 'the snapshot is installed in the log, pending');
  t.same(c.takeCommitted(logIndex(0)), [], 'a pending snapshot is restored after the save; nothing is taken before it');
  c.advance(rd);
});
