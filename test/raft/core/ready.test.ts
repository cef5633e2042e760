// The Ready contract (raft/README.md): what goes in which field, when, and what advance() means.
import t from 'tap';
import { AssertionError } from '../../../raft/core/assert.js';
import { nodeId } from '../../../raft/core/types.js';
import { entries, makeCore, msg } from './helpers.js';
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
