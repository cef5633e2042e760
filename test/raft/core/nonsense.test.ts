// The core never throws on a well-typed but nonsensical message (wrong terms, indexes beyond the
// log, unknown senders, messages for someone else, malformed entry runs, absurd snapshot sizes):
// it ignores or rejects them, and its own invariants still hold afterwards. Property-based with
// fast-check; a failure prints the seed and the shrunk message list to replay.
import t from 'tap';
import fc from 'fast-check';
import type { RaftCore } from '../../../raft/core/raft.js';
import type { ConfChange, Entry, Message, SnapshotMeta } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import { drain, makeCore, msg } from './helpers.js';

const ids = fc.constantFrom('a', 'b', 'c', 'x', '');
const num = fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom(2 ** 31, Number.MAX_SAFE_INTEGER, -1, 0.5));
const change: fc.Arbitrary<ConfChange> = fc.oneof(
  fc.record({ type: fc.constant('addLearner' as const), id: ids.map(nodeId), context: fc.string() }),
  fc.record({ type: fc.constant('promote' as const), id: ids.map(nodeId) }),
  fc.record({ type: fc.constant('remove' as const), id: ids.map(nodeId) }),
);
const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ kind: fc.constant('normal' as const), term: num.map(term), index: num.map(logIndex), data: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('conf' as const), term: num.map(term), index: num.map(logIndex), change }),
);
const meta: fc.Arbitrary<SnapshotMeta> = fc.record({
  index: num.map(logIndex),
  term: num.map(term),
  membership: fc.record({ members: fc.array(fc.record({ id: ids.map(nodeId), role: fc.constantFrom('voter' as const, 'learner' as const), context: fc.string() }), { maxLength: 3 }) }),
});

const message: fc.Arbitrary<Message> = fc
  .record({ from: ids, to: fc.constantFrom('a', 'a', 'a', 'b'), term: num, idx: num, idx2: num, t2: num, flag: fc.boolean(), ctx: fc.string({ maxLength: 6 }), ents: fc.array(entry, { maxLength: 4 }), meta, data: fc.uint8Array({ maxLength: 16 }), kind: fc.integer({ min: 0, max: 13 }) })
  .map((r): Message => {
    const base = { from: nodeId(r.from), to: nodeId(r.to), term: term(r.term) };
    const kinds: Message[] = [
      { ...base, type: 'preVote', lastLogIndex: logIndex(r.idx), lastLogTerm: term(r.t2) },
      { ...base, type: 'preVoteResp', reject: r.flag },
      { ...base, type: 'vote', lastLogIndex: logIndex(r.idx), lastLogTerm: term(r.t2), transfer: r.flag },
      { ...base, type: 'voteResp', reject: r.flag },
      { ...base, type: 'append', prevLogIndex: logIndex(r.idx), prevLogTerm: term(r.t2), entries: r.ents, commit: logIndex(r.idx2) },
      { ...base, type: 'appendResp', reject: r.flag, index: logIndex(r.idx), hintIndex: logIndex(r.idx2), hintTerm: term(r.t2) },
      { ...base, type: 'heartbeat', commit: logIndex(r.idx), context: r.ctx },
      { ...base, type: 'heartbeatResp', context: r.ctx },
      { ...base, type: 'snapshot', meta: r.meta, offset: r.idx, data: r.data, totalBytes: r.idx2 },
      { ...base, type: 'snapshotResp', snapshotIndex: logIndex(r.idx), offset: r.idx2, reject: r.flag },
      { ...base, type: 'readIndex', context: r.ctx },
      { ...base, type: 'readIndexResp', context: r.ctx, index: logIndex(r.idx), reject: r.flag },
      { ...base, type: 'timeoutNow' },
      { ...base, type: 'heartbeatResp', context: String(r.idx) },
    ];
    return kinds[r.kind] ?? kinds[0]!;
  });

/** A core in one of several starting states: follower with a log, candidate, leader. */
function start(state: number): RaftCore {
  const c = makeCore('a', { voters: ['a', 'b', 'c'], terms: [1, 1, 2, 3], term: 3, commit: 2, preVote: state % 2 === 0, checkQuorum: true });
  if (state >= 1) {
    for (let k = 0; k < 40 && c.status().role === 'follower'; k++) c.tick();
    drain(c);
  }
  if (state >= 2) {
    const pre: Message = { type: 'preVoteResp', from: nodeId('b'), to: nodeId('a'), term: term(4), reject: false };
    c.step(c.status().role === 'precandidate' ? pre : msg.voteResp('b', 'a', c.status().term, false));
    drain(c);
    c.step(msg.voteResp('b', 'a', c.status().term, false));
    drain(c);
  }
  return c;
}

function invariants(c: RaftCore): string | null {
  const s = c.status();
  if (!(s.commit <= s.lastIndex)) return `commit ${s.commit} > lastIndex ${s.lastIndex}`;
  if (!(s.applied <= s.commit)) return `applied ${s.applied} > commit ${s.commit}`;
  if (!(s.firstIndex <= s.lastIndex + 1)) return `firstIndex ${s.firstIndex} > lastIndex+1`;
  for (let i = s.firstIndex + 1; i <= s.lastIndex; i++) {
    if ((c.log.term(i) ?? 0) < (c.log.term(i - 1) ?? 0)) return `terms decrease at ${i}`;
  }
  return null;
}

t.test('nonsense messages never throw and leave the core consistent', async (t) => {
  const seed = Number(process.env['NONSENSE_SEED'] ?? 20261127);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 }), fc.array(message, { maxLength: 25 }), (state, ms) => {
      const c = start(state);
      const commitBefore = c.status().commit;
      for (const m of ms) {
        c.step(m);
        if (c.hasReady()) c.advance(c.ready());
        c.tick();
      }
      drain(c);
      const bad = invariants(c);
      if (bad !== null) throw new Error(bad);
      if (c.status().commit < commitBefore) throw new Error('commit went back');
      return state < 2 || c.status().role !== 'leader' || c.status().leader === c.id;
    }),
    { seed, numRuns: 400 },
  );
  t.pass(`400 runs from seed ${seed}`);
});

t.test('messages addressed to someone else or from ourselves are ignored', async (t) => {
  const c = makeCore('a', { voters: ['a', 'b', 'c'], terms: [1], term: 1 });
  drain(c);
  c.step(msg.append('b', 'x', 9, 1, 1, [], 1));
  c.step(msg.vote('a', 'a', 9, 5, 5));
  t.equal(c.status().term, 1);
  t.equal(c.hasReady(), false);
});
