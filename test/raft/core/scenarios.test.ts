// Multi-node scenarios beyond the paper's §5: pre-vote with check-quorum, leader step-down,
// ReadIndex safety, leadership transfer, learners, removal of the leader, snapshots in chunks,
// and fsync-before-commit on a single node.
import t from 'tap';
import type { Message } from '../../../raft/core/types.js';
import { nodeId } from '../../../raft/core/types.js';
import { Network, bytes } from './network.js';

const opts = { voters: ['a', 'b', 'c'], preVote: true, checkQuorum: true, electionTicks: 10 } as const;

// Dissertation §9.6 (pre-vote) and §6.2 / §4.2.3 (check-quorum, leases): a node that was cut off
// and comes back does not bump the term or depose a healthy leader.
t.test('pre-vote with check-quorum: a rejoining node does not disrupt a healthy leader', async (t) => {
  const net = new Network({ ...opts, seed: 21 });
  net.elect('a');
  const term = net.core('a').status().term;
  net.isolate('c');
  net.tickAll(100);
  t.equal(net.core('c').status().term, term, 'the isolated node pre-campaigns without raising its term');
  t.not(net.core('c').status().role, 'leader');
  net.heal();
  net.tickAll(30);
  t.same(net.leaders(), ['a'], 'the leader survives the rejoin');
  t.equal(net.core('a').status().term, term, 'no term change anywhere');
  t.equal(net.core('c').status().leader, 'a', 'the rejoined node follows the leader');
});

// Dissertation §4.2.3: without pre-vote but with check-quorum, a voter in its lease ignores a vote
// request from a higher term, unless it is a leadership transfer.
t.test('check-quorum: a follower that heard from the leader refuses (pre-)votes, except a transfer', async (t) => {
  const net = new Network({ ...opts, preVote: false, seed: 5 });
  net.elect('a');
  const b = net.core('b');
  const term = b.status().term;
  const vote = (transfer: boolean): Message => ({ type: 'vote', from: nodeId('c'), to: nodeId('b'), term: (term + 1) as never, lastLogIndex: b.status().lastIndex, lastLogTerm: b.log.lastTerm(), transfer });
  b.step(vote(false));
  t.equal(b.status().term, term, 'in lease: the request is ignored');
  t.equal(b.status().vote, 'a');
  b.step({ type: 'preVote', from: nodeId('c'), to: nodeId('b'), term: (term + 1) as never, lastLogIndex: b.status().lastIndex, lastLogTerm: b.log.lastTerm() });
  const rd = b.ready();
  t.same(rd.messages.map((m) => (m.type === 'preVoteResp' ? `${m.type} ${m.term} ${m.reject}` : m.type)), [`preVoteResp ${term} true`], 'a pre-vote is refused');
  b.advance(rd);
  b.step(vote(true));
  t.equal(b.status().term, term + 1, 'a transfer vote is heard');
  t.equal(b.status().vote, 'c');
});

// Check-quorum (dissertation §6.2): a leader that cannot hear a majority for an election timeout
// steps down, and the majority side elects a new leader.
t.test('an isolated leader steps down after an election timeout', async (t) => {
  const net = new Network({ ...opts, seed: 9 });
  net.elect('a');
  net.isolate('a');
  for (let k = 0; k < 10; k++) net.tick('a');
  net.stabilize();
  t.equal(net.core('a').status().role, 'leader', 'still leader within the timeout');
  for (let k = 0; k < 11; k++) net.tick('a');
  net.stabilize();
  t.equal(net.core('a').status().role, 'follower', 'stepped down');
  t.ok(net.events.some((e) => e.startsWith('stepDown') && e.includes('check quorum')), 'and logged why');
  net.tickAll(40);
  const leaders = net.leaders();
  t.equal(leaders.length, 1);
  t.not(leaders[0], 'a', 'the majority elected another leader');
});

// Dissertation §6.4: a deposed leader that has not noticed must not serve a read: without a
// heartbeat round acknowledged by a majority the read never returns.
t.test('ReadIndex on a deposed leader never returns', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 13 });
  net.elect('a');
  net.isolate('a');
  net.elect('b');
  net.core('b').propose(bytes('new'));
  net.stabilize();
  t.equal(net.core('a').status().role, 'leader', 'a still believes it leads (no check-quorum)');
  net.core('a').readIndex('stale?');
  net.tickAll(5);
  t.same(net.readStates.get(nodeId('a')), [], 'no read state while cut off');
  net.heal();
  net.tickAll(5);
  t.same(net.readStates.get(nodeId('a')), [], 'none after rejoining either: it learns it was deposed');
  t.equal(net.core('a').status().role, 'follower');
});

// Dissertation §6.4: a read waits for the leader to commit an entry of its term.
t.test('ReadIndex waits until the leader committed an entry of its term', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 3 });
  net.hold = (m) => m.type === 'appendResp';
  net.elect('a');
  net.core('a').readIndex('early');
  net.stabilize();
  t.same(net.readStates.get(nodeId('a')), [], 'no answer before the empty entry commits');
  net.hold = () => false;
  net.release();
  net.stabilize();
  t.same(net.readStates.get(nodeId('a')), [{ index: 1, context: 'early' }], 'answered at the new commit index');
});

// ReadIndex rounds: a delayed (or duplicated) heartbeat response from an older round confirms
// only the reads of that round, never a newer one (the stale-read bug from duplicated ReadIndex
// requests plus delayed heartbeats).
t.test('delayed and duplicated heartbeat responses do not confirm a newer read', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 17 });
  net.elect('a');
  const a = net.core('a');
  net.hold = (m) => m.type === 'heartbeatResp';
  a.readIndex('r1');
  net.stabilize();
  const round1 = [...net.held];
  t.equal(round1.length, 2, 'both followers answered round 1 (held back)');
  a.propose(bytes('w'));
  net.stabilize();
  const wIndex = a.status().commit;
  t.equal(wIndex, 2, 'the write committed');
  a.readIndex('r1'); // the same context again, after the write
  net.stabilize();
  net.held = net.held.filter((m) => !round1.includes(m));
  // Deliver round 1's responses late, each twice.
  for (const m of [...round1, ...round1]) a.step(m);
  net.drainReady();
  t.same(net.readStates.get(nodeId('a')), [{ index: 1, context: 'r1' }], 'round 1 confirms only the first read');
  net.hold = () => false;
  net.release();
  net.stabilize();
  t.same(net.readStates.get(nodeId('a')), [{ index: 1, context: 'r1' }, { index: wIndex, context: 'r1' }], 'the second read is answered at the write');
});

// A follower forwards ReadIndex to the leader and serves the read once it applied the index.
t.test('a follower read is forwarded to the leader and answered', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], learners: ['d'], seed: 2 });
  net.elect('a');
  net.core('a').propose(bytes('x'));
  net.stabilize();
  net.core('b').readIndex('fb');
  net.core('d').readIndex('fd');
  net.stabilize();
  t.same(net.readStates.get(nodeId('b')), [{ index: 2, context: 'fb' }]);
  t.same(net.readStates.get(nodeId('d')), [{ index: 2, context: 'fd' }], 'a learner reads the same way');
});

// Dissertation §3.10: the target is first brought up to date, then told to campaign at once;
// proposals meanwhile are refused, never lost.
t.test('leadership transfer to a lagging node', async (t) => {
  const net = new Network({ ...opts, seed: 31 });
  net.elect('a');
  net.isolate('c');
  for (let k = 0; k < 20; k++) net.core('a').propose(bytes(`v${k}`));
  net.stabilize();
  net.heal();
  t.equal(net.core('c').status().lastIndex, 1, 'c lags behind');
  t.same(net.core('a').transferLeadership(nodeId('c')), { ok: true });
  const refused = net.core('a').propose(bytes('during'));
  t.equal(refused.ok ? '' : refused.code, 'transferring', 'a proposal during the transfer is refused');
  net.tickAll(3);
  t.same(net.leaders(), ['c'], 'c leads');
  t.equal(net.core('c').status().term, net.core('a').status().term);
  t.same(net.appliedOf('c'), Array.from({ length: 20 }, (_, k) => `v${k}`), 'c holds every entry');
  t.ok(net.core('c').propose(bytes('after')).ok, 'the new leader accepts proposals');
});

t.test('a leadership transfer is abandoned after an election timeout', async (t) => {
  const net = new Network({ ...opts, seed: 33 });
  net.elect('a');
  net.isolate('c');
  net.core('a').propose(bytes('x'));
  net.stabilize();
  net.core('a').transferLeadership(nodeId('c'));
  t.equal(net.core('a').status().transferringTo, 'c');
  for (let k = 0; k < 10; k++) net.tick('a');
  net.stabilize();
  t.equal(net.core('a').status().transferringTo, null, 'abandoned');
  t.ok(net.core('a').propose(bytes('y')).ok, 'proposals accepted again');
  t.same(net.core('a').transferLeadership(nodeId('zz')), { ok: false, code: 'unknown_member', message: 'zz is not a voter; only a voter can lead' });
});

// Learners (dissertation §4.2.1): they receive the log but never vote, never campaign and never
// count for commit; a caught-up learner can be promoted to voter.
t.test('learner: added, catches up, never counts, then promoted', async (t) => {
  const net = new Network({ ...opts, joiners: ['d'], seed: 41 });
  net.elect('a');
  net.core('a').propose(bytes('before'));
  net.stabilize();
  for (let k = 0; k < 50; k++) net.tick('d');
  t.equal(net.core('d').status().term, 0, 'a node outside the membership never campaigns');
  const add = net.core('a').proposeConfChange({ type: 'addLearner', id: nodeId('d'), context: '{"raft":"d:1"}' });
  t.ok(add.ok);
  const again = net.core('a').proposeConfChange({ type: 'promote', id: nodeId('d') });
  t.equal(again.ok ? '' : again.code, 'change_pending', 'one change at a time');
  net.stabilize();
  t.same(net.appliedOf('d'), ['before'], 'the learner received the log');
  t.equal(net.core('d').status().isLearner, true);
  t.same(net.core('d').status().membership, net.core('a').status().membership, 'the joiner learned the whole membership');
  for (let k = 0; k < 50; k++) net.tick('d');
  net.stabilize();
  t.equal(net.core('d').status().role, 'follower', 'a learner never campaigns');
  net.isolate('b', 'c');
  net.core('a').propose(bytes('needs-a-voter'));
  net.stabilize();
  t.equal(net.appliedOf('a').length, 1, 'leader + learner is not a majority: nothing commits');
  net.heal();
  net.stabilize();
  t.ok(net.core('a').proposeConfChange({ type: 'promote', id: nodeId('d') }).ok);
  net.stabilize();
  t.equal(net.core('d').status().isLearner, false, 'promoted');
  net.isolate('b');
  net.core('a').propose(bytes('with-d'));
  net.stabilize();
  t.same(net.appliedOf('a').slice(-1), ['with-d'], 'a, c, d are a majority of four voters');
  const s = net.core('a').status();
  t.same(s.membership.members.map((m) => `${m.id}:${m.role}`), ['a:voter', 'b:voter', 'c:voter', 'd:voter']);
});

// Dissertation §4.2.2: a leader removed from the membership manages the cluster until the change
// commits, then steps down; the rest elect a new leader and the removed node never campaigns.
t.test('removing the leader: it steps down once the change commits', async (t) => {
  const net = new Network({ ...opts, seed: 51 });
  net.elect('a');
  const res = net.core('a').proposeConfChange({ type: 'remove', id: nodeId('a') });
  t.ok(res.ok);
  net.stabilize();
  t.equal(net.core('a').status().role, 'follower', 'stepped down after the commit');
  t.ok(net.events.some((e) => e.startsWith('stepDown') && e.includes('removed')));
  net.tickAll(60);
  const leaders = net.leaders();
  t.equal(leaders.length, 1);
  t.not(leaders[0], 'a');
  t.equal(net.core('a').status().role, 'follower', 'the removed node never campaigns');
  t.same(net.core(leaders[0]!).status().membership.members.map((m) => m.id), ['b', 'c']);
  t.ok(net.core(leaders[0]!).propose(bytes('two-node cluster')).ok);
  net.stabilize();
  t.same(net.appliedOf('b').slice(-1), ['two-node cluster']);
});

t.test('membership changes wait for an entry of the leader term and refuse the impossible', async (t) => {
  const net = new Network({ voters: ['a'], seed: 1 });
  net.core('a').tick();
  for (let k = 0; k < 30 && net.core('a').status().role !== 'candidate'; k++) net.core('a').tick();
  net.drainReady();
  const a = net.core('a');
  t.equal(a.status().role, 'leader');
  const early = a.proposeConfChange({ type: 'addLearner', id: nodeId('b'), context: '' });
  t.same(early.ok ? '' : early.code, '', 'the empty entry committed at advance, so changes are accepted');
  net.stabilize();
  const bad = [
    a.proposeConfChange({ type: 'promote', id: nodeId('zz') }),
    a.proposeConfChange({ type: 'remove', id: nodeId('zz') }),
    a.proposeConfChange({ type: 'remove', id: nodeId('a') }),
    a.proposeConfChange({ type: 'addLearner', id: nodeId('a'), context: '' }),
  ];
  t.same(bad.map((r) => (r.ok ? 'ok' : r.code)), ['unknown_member', 'unknown_member', 'unknown_member', 'unknown_member']);
});

// Snapshots (Raft §7): a follower behind the leader's first index receives the snapshot in
// chunks, each acknowledged, then resumes from it with appends.
t.test('a slow follower after compaction receives the snapshot in several chunks', async (t) => {
  const net = new Network({ ...opts, seed: 61, limits: { snapshotChunkBytes: 16 } });
  net.elect('a');
  net.isolate('c');
  for (let k = 0; k < 12; k++) net.core('a').propose(bytes(`value-${k}`));
  net.stabilize();
  net.compact('a');
  t.ok(net.core('a').status().firstIndex > 2, 'the leader compacted its log');
  net.heal();
  let chunks = 0;
  let acks = 0;
  net.drop = (m) => {
    if (m.type === 'snapshot') chunks++;
    if (m.type === 'snapshotResp') acks++;
    return false;
  };
  net.tickAll(3);
  net.core('a').propose(bytes('after'));
  net.stabilize();
  const want = [...Array.from({ length: 12 }, (_, k) => `value-${k}`), 'after'];
  t.same(net.appliedOf('c'), want, 'the follower restored the snapshot and resumed');
  t.ok(chunks >= 5, `sent in ${chunks} chunks`);
  t.ok(acks >= chunks, `each acknowledged (${acks} acks)`);
  t.equal(net.core('c').status().firstIndex, net.core('a').status().firstIndex, 'its log starts where the snapshot ends');
  t.equal(net.core('c').snapshotReceiver.bufferedBytes, 0, 'nothing left buffered');
});

t.test('snapshot chunks lost or duplicated are resent and the transfer completes', async (t) => {
  const net = new Network({ ...opts, seed: 62, limits: { snapshotChunkBytes: 8 } });
  net.elect('a');
  net.isolate('c');
  for (let k = 0; k < 8; k++) net.core('a').propose(bytes(`v${k}`));
  net.stabilize();
  net.compact('a');
  net.heal();
  let n = 0;
  net.drop = (m) => (m.type === 'snapshot' || m.type === 'snapshotResp') && ++n % 3 === 0;
  const dup = (m: Message) => m.type === 'snapshot' && n % 4 === 0;
  net.hold = dup;
  for (let k = 0; k < 60; k++) {
    net.tickAll(1);
    net.release();
  }
  net.heal();
  net.tickAll(3);
  t.same(net.appliedOf('c'), Array.from({ length: 8 }, (_, k) => `v${k}`));
});

t.test('a follower refuses a snapshot larger than snapshotBytesMax', async (t) => {
  const net = new Network({ ...opts, seed: 63, limits: { snapshotChunkBytes: 8, snapshotBytesMax: 16 } });
  net.elect('a');
  net.isolate('c');
  for (let k = 0; k < 8; k++) net.core('a').propose(bytes(`v${k}`));
  net.stabilize();
  net.compact('a');
  net.heal();
  net.tickAll(5);
  t.ok(net.events.some((e) => e.startsWith('snapshotRejected')), 'rejected');
  t.equal(net.core('c').snapshotReceiver.bufferedBytes, 0, 'nothing buffered');
  t.same(net.appliedOf('c'), []);
});

// The single-node fsync bug (REFERENCE §6): the leader counts itself toward commit only once its
// own entries are durable, so nothing is applied (or acknowledged) before advance().
t.test('a single-node cluster does not commit before advance()', async (t) => {
  const net = new Network({ voters: ['a'], seed: 1 });
  const a = net.core('a');
  for (let k = 0; k < 30 && a.status().role !== 'leader'; k++) {
    a.tick();
    net.drainReady();
  }
  t.equal(a.status().role, 'leader');
  const res = a.propose(bytes('durable-first'));
  t.ok(res.ok);
  const rd = a.ready();
  t.same(rd.entries.map((e) => e.index), [2], 'the entry is to be persisted');
  t.same(rd.committed, [], 'but not yet committed');
  t.equal(a.status().commit, 1);
  a.advance(rd);
  t.equal(a.status().commit, 2, 'committed once durable');
  const rd2 = a.ready();
  t.same(rd2.committed.map((e) => e.index), [2]);
  a.advance(rd2);
  a.readIndex('r');
  t.same(a.ready().readStates, [{ index: 2, context: 'r' }], 'a single voter answers reads at once');
});

// A timeoutNow bypasses the voters' lease, so only the current leader may send one.
t.test('timeoutNow from anyone but the leader is ignored', async (t) => {
  const net = new Network({ ...opts, seed: 71 });
  net.elect('a');
  const c = net.core('c');
  const term = c.status().term;
  c.step({ type: 'timeoutNow', from: nodeId('b'), to: nodeId('c'), term });
  t.equal(c.status().role, 'follower');
  t.equal(c.status().term, term);
  c.step({ type: 'timeoutNow', from: nodeId('a'), to: nodeId('c'), term });
  t.equal(c.status().role, 'candidate', 'from the leader it starts a campaign at once');
});
