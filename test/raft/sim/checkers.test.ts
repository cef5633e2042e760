// Each checker must accept a valid history and flag the invariant break it exists for; a checker
// that never fires proves nothing. Histories are built by hand, citing the rule each one breaks.
import t from 'tap';
import type { Entry } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import { Checkers } from '../../../raft/sim/checkers/index.js';
import { KvStateMachine, encodeWrite } from '../../../raft/sim/kv.js';
import { ShadowLog } from '../../../raft/sim/shadow-log.js';
import { Violation, type ViolationKind } from '../../../raft/sim/violation.js';

const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');

function entry(index: number, t: number, writeId = index * 100 + t): Entry {
  return { kind: 'normal', index: logIndex(index), term: term(t), data: encodeWrite({ key: index % 8, writeId }) };
}

function logOf(...entries: Entry[]): ShadowLog {
  const log = new ShadowLog();
  log.write('test', entries);
  return log;
}

/** The kind of Violation `fn` throws, or 'none'. */
function kindOf(fn: () => void): ViolationKind | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof Violation) return e.kind;
    throw e;
  }
}

t.test('Election Safety (Raft §5.2): at most one leader per term', async (t) => {
  const c = new Checkers();
  c.election.onLeader(n1, 1);
  c.election.onLeader(n1, 1); // the same leader reported twice is fine
  c.election.onLeader(n2, 2);
  t.equal(kindOf(() => c.election.onLeader(n3, 2)), 'election-safety', 'second leader of term 2');
});

t.test('one vote per term (Raft §5.2), across crashes', async (t) => {
  const c = new Checkers();
  c.votes.onVoteGranted(n1, n2, 3);
  c.votes.onVoteGranted(n1, n2, 3); // a duplicated request answered again: same candidate
  c.votes.onVoteGranted(n1, n3, 4);
  t.equal(kindOf(() => c.votes.onVoteGranted(n1, n3, 3)), 'double-vote', 'second candidate in term 3');
});

t.test('Log Matching (Raft §5.3): same (index, term) means same entry and same prefix', async (t) => {
  const c = new Checkers();
  c.logMatching.onAppend(n1, 0, [entry(1, 1), entry(2, 1), entry(3, 2)]);
  c.logMatching.onAppend(n2, 0, [entry(1, 1), entry(2, 1)]);
  c.logMatching.onAppend(n2, 1, [entry(3, 2)]);
  t.equal(kindOf(() => c.logMatching.onAppend(n3, 1, [{ kind: 'normal', index: logIndex(2), term: term(1), data: new Uint8Array([9]) }])), 'log-matching', 'different content at (2,1)');
  t.equal(kindOf(() => c.logMatching.onAppend(n3, 2, [entry(3, 2)])), 'log-matching', 'same (3,2) after a different term at 2');
  t.equal(kindOf(() => c.logMatching.onAppend(n3, 3, [entry(4, 2)])), 'log-matching', 'term going down along a log');
});

t.test('Leader Completeness (Raft §5.4): committed entries are in every later leader', async (t) => {
  const c = new Checkers();
  const full = logOf(entry(1, 1), entry(2, 1), entry(3, 2));
  c.completeness.onCommit(n1, full, 0, 3, 2);
  c.completeness.onLeader(n1, 3, full);
  c.completeness.onLeader(n2, 3, logOf(entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 3)));
  t.equal(kindOf(() => c.completeness.onLeader(n3, 4, logOf(entry(1, 1), entry(2, 1)))), 'leader-completeness', 'leader missing index 3');
  t.equal(kindOf(() => c.completeness.onCommit(n2, logOf(entry(1, 1), entry(2, 1), entry(3, 3)), 0, 3, 3)), 'leader-completeness', 'committed entry changed');
  t.equal(kindOf(() => c.completeness.onCommit(n2, logOf(entry(1, 1)), 1, 2, 3)), 'contract', 'commit beyond the log');
});

t.test('a leader of an older term than the commit is not held to it', async (t) => {
  const c = new Checkers();
  c.completeness.onCommit(n1, logOf(entry(1, 1), entry(2, 5)), 0, 2, 5);
  // Leader of term 4 elected late (its votes were granted before term 5 began): allowed to lack it.
  c.completeness.onLeader(n2, 4, logOf(entry(1, 1)));
  t.pass();
});

t.test('the commit rule (Raft §5.4.2, Figure 8): a leader commits only entries of its term', async (t) => {
  const c = new Checkers();
  const log = logOf(entry(1, 1), entry(2, 2), entry(3, 4));
  c.commitRule.onLeaderCommit(n1, 4, log, 3);
  t.equal(kindOf(() => c.commitRule.onLeaderCommit(n1, 4, log, 2)), 'commit-rule', 'commit on a term-2 entry in term 4');
});

t.test('durability (Raft §5.3, DESIGN §4): a committed entry is on a majority of synced disks', async (t) => {
  const c = new Checkers();
  const voters = (...ids: string[]) => ({ members: ids.map((id) => ({ id: nodeId(id), role: 'voter' as const, context: '' })) });
  const disks: Record<string, number | undefined> = { n1: 2, n2: 2, n3: undefined, n4: undefined, n5: undefined };
  const at = (id: string) => disks[id];
  c.durability.onLeaderCommit(n1, 5, 2, [voters('n1', 'n2', 'n3')], at);
  // Under {n1..n5} two copies are not enough, but the configuration as of the entry may be {n1,n2,n3}.
  c.durability.onLeaderCommit(n1, 5, 2, [voters('n1', 'n2', 'n3'), voters('n1', 'n2', 'n3', 'n4', 'n5')], at);
  t.equal(kindOf(() => c.durability.onLeaderCommit(n1, 5, 2, [voters('n1', 'n2', 'n3', 'n4', 'n5')], at)), 'durability', '2 of 5');
  disks['n2'] = 1; // a different (older) entry on n2's disk does not count
  t.equal(kindOf(() => c.durability.onLeaderCommit(n1, 5, 2, [voters('n1', 'n2', 'n3')], at)), 'durability', 'wrong term on disk');
  disks['n2'] = -1; // covered by n2's durable snapshot
  c.durability.onLeaderCommit(n1, 5, 2, [voters('n1', 'n2', 'n3')], at);
});

t.test('ShadowLog follows membership through conf entries', async (t) => {
  const log = new ShadowLog();
  log.reset({ index: logIndex(0), term: term(0), membership: { members: [{ id: n1, role: 'voter', context: '' }] } }, []);
  log.write('n1', [
    entry(1, 1),
    { kind: 'conf', index: logIndex(2), term: term(1), change: { type: 'addLearner', id: n2, context: '' } },
    { kind: 'conf', index: logIndex(3), term: term(1), change: { type: 'promote', id: n2 } },
  ]);
  t.same(log.membershipAt(1).members.map((m) => `${m.id}:${m.role}`), ['n1:voter']);
  t.same(log.membershipAt(2).members.map((m) => `${m.id}:${m.role}`), ['n1:voter', 'n2:learner']);
  t.same(log.membershipAt(9).members.map((m) => `${m.id}:${m.role}`), ['n1:voter', 'n2:voter']);
  log.write('n1', [entry(3, 2)]); // truncating the promotion forgets it
  t.same(log.membershipAt(9).members.map((m) => `${m.id}:${m.role}`), ['n1:voter', 'n2:learner']);
});

t.test('State Machine Safety (Raft §5.4.3): one entry per index, also through snapshots', async (t) => {
  const c = new Checkers();
  const a = new KvStateMachine();
  const b = new KvStateMachine();
  c.stateMachine.onApply(n1, 1, a.apply(entry(1, 1)));
  c.stateMachine.onApply(n1, 2, a.apply(entry(2, 1)));
  c.stateMachine.onApply(n2, 1, b.apply(entry(1, 1)));
  const snap = a.snapshot();
  const restored = new KvStateMachine();
  restored.restore(snap, 2, { members: [] });
  c.stateMachine.onRestore(n3, 2, restored.hash);
  t.equal(kindOf(() => c.stateMachine.onApply(n2, 2, b.apply(entry(2, 2)))), 'state-machine-safety', 'different entry at 2');
  const other = new KvStateMachine();
  other.apply(entry(1, 1));
  other.apply(entry(2, 1, 777));
  t.equal(kindOf(() => c.stateMachine.onRestore(n3, 2, other.hash)), 'state-machine-safety', 'snapshot of another history');
});

t.test('commit and applied never go back; across a crash, compared with what was durable', async (t) => {
  const c = new Checkers();
  c.monotonic.onCommit(n1, 5);
  c.monotonic.onApplied(n1, 4);
  c.monotonic.onDurable(n1, 3, 0);
  t.equal(kindOf(() => c.monotonic.onCommit(n1, 4)), 'monotonic', 'commit 5 -> 4');
  t.equal(kindOf(() => c.monotonic.onApplied(n1, 3)), 'monotonic', 'applied 4 -> 3');
  // After a crash the in-memory 5 is gone; restarting at the durable 3 is fine, below it is not.
  c.monotonic.onRestart(n1, 3, 0);
  c.monotonic.onCommit(n1, 3);
  t.equal(kindOf(() => c.monotonic.onRestart(n1, 2, 0)), 'monotonic', 'restart below the durable commit');
  t.equal(kindOf(() => c.monotonic.onDurable(n1, 2, 0)), 'monotonic', 'durable commit going back');
});

t.test('read linearizability: a read sees every write acknowledged before it started', async (t) => {
  const c = new Checkers();
  c.reads.onAck(4);
  const floor = c.reads.start();
  c.reads.onAck(9); // acknowledged after the read started: the read may or may not see it
  c.reads.onReadIndex(n1, 'r1', floor, 4);
  c.reads.onServed(n1, 'r1', floor, 4);
  // A stale read index is caught even when the node has applied more by the time it serves.
  t.equal(kindOf(() => c.reads.onReadIndex(n2, 'r3', floor, 2)), 'read-linearizability', 'stale read index');
  t.equal(kindOf(() => c.reads.onServed(n2, 'r2', floor, 3)), 'read-linearizability', 'stale read');
});

t.test('ShadowLog refuses gaps and writes below the snapshot (Ready contract)', async (t) => {
  const log = logOf(entry(1, 1), entry(2, 1));
  t.equal(kindOf(() => log.write('n1', [entry(4, 1)])), 'contract', 'gap');
  log.write('n1', [entry(2, 2), entry(3, 2)]); // truncates the conflicting suffix
  t.equal(log.termAt(2), 2);
  t.equal(log.lastIndex, 3);
  log.installSnapshot({ index: logIndex(3), term: term(2), membership: { members: [] } });
  t.equal(kindOf(() => log.write('n1', [entry(3, 2)])), 'contract', 'below the snapshot');
});

