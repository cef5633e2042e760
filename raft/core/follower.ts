// The follower's side of replication (Raft §5.3): appending the leader's entries and repairing
// conflicts, advancing commit from appends and heartbeats, assembling snapshots from chunks, and
// starting an election at once when a leadership transfer names this node.

import { assert, assertNever } from './assert.js';
import { campaign } from './election.js';
import { isIndex } from './limits.js';
import type { RaftCore, RoleState } from './raft.js';
import type { Entry, LogIndex, Message, NodeId, Snapshot } from './types.js';
import { logIndex, term } from './types.js';

type Follower = Extract<RoleState, { kind: 'follower' }>;
type AppendMsg = Extract<Message, { type: 'append' }>;
type SnapshotMsg = Extract<Message, { type: 'snapshot' }>;

export function stepFollower(r: RaftCore, role: Follower, m: Message): void {
  switch (m.type) {
    case 'append':
      heardFromLeader(r, role, m.from);
      return handleAppend(r, m);
    case 'heartbeat':
      heardFromLeader(r, role, m.from);
      if (!isIndex(m.commit)) return;
      r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
      r.send({ type: 'heartbeatResp', from: r.id, to: m.from, term: r.term, context: m.context });
      return;
    case 'snapshot':
      heardFromLeader(r, role, m.from);
      return handleSnapshot(r, m);
    case 'timeoutNow':
      // Dissertation §3.10: the leader brought us up to date and asks us to campaign at once,
      // skipping pre-vote and the lease check of the voters (the vote carries `transfer`).
      // Only our leader may hand over: anyone else could otherwise push us past the lease check.
      r.emit('timeoutNow', { from: m.from, promotable: r.promotable(), fromLeader: m.from === role.leader });
      if (r.promotable() && m.from === role.leader) campaign(r, 'transfer');
      return;
    case 'readIndex':
      // Not the leader (any more): say so at once, so the asker can retry elsewhere.
      r.send({ type: 'readIndexResp', from: r.id, to: m.from, term: r.term, context: m.context, index: r.log.committed, reject: true });
      return;
    case 'readIndexResp':
      if (!m.reject && isIndex(m.index)) r.readStates.push({ index: m.index, context: m.context });
      return;
    case 'preVote':
    case 'vote':
    case 'preVoteResp':
    case 'voteResp':
    case 'appendResp':
    case 'heartbeatResp':
    case 'snapshotResp':
      return;
    default:
      assertNever(m);
  }
}

function heardFromLeader(r: RaftCore, role: Follower, from: NodeId): void {
  r.electionElapsed = 0;
  role.leader = from;
}

/** Entries numbered prevLogIndex+1.. in order, with terms from prevLogTerm up to the sender's term. */
function wellFormed(m: AppendMsg): boolean {
  if (!isIndex(m.prevLogIndex) || !isIndex(m.prevLogTerm) || !isIndex(m.commit)) return false;
  let prevTerm: number = m.prevLogTerm;
  for (let k = 0; k < m.entries.length; k++) {
    const e = m.entries[k] as Entry;
    if (e.index !== m.prevLogIndex + 1 + k || !isIndex(e.term) || e.term < prevTerm || e.term > m.term) return false;
    prevTerm = e.term;
  }
  return true;
}

function appendResp(r: RaftCore, to: NodeId, index: LogIndex, reject: boolean, hint = { index: logIndex(0), term: term(0) }): Message {
  return { type: 'appendResp', from: r.id, to, term: r.term, reject, index, hintIndex: hint.index, hintTerm: hint.term };
}

function handleAppend(r: RaftCore, m: AppendMsg): void {
  const committed = r.log.committed;
  if (!wellFormed(m)) {
    r.emit('appendIgnored', { from: m.from, reason: 'malformed entries or indexes' });
    return;
  }
  if (m.prevLogIndex === 0 && r.log.isUninitialized()) {
    // We lack the cluster's initial membership (RaftLog.isUninitialized): refusing index 0, which
    // an initialised node never does, asks the leader for its snapshot.
    r.sendAfterPersist(appendResp(r, m.from, logIndex(0), true));
    return;
  }
  if (m.prevLogIndex < committed) {
    // Everything up to our commit index already matches the leader's log (Log Matching).
    r.sendAfterPersist(appendResp(r, m.from, committed, false));
    return;
  }
  if (!r.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
    // Raft §5.3: reject, with a hint that lets the leader skip back a whole term at once.
    const hint = r.log.findConflictByTerm(Math.min(m.prevLogIndex, r.log.lastIndex()), m.prevLogTerm);
    r.sendAfterPersist(appendResp(r, m.from, m.prevLogIndex, true, hint));
    return;
  }
  const lastNew = m.prevLogIndex + m.entries.length;
  const conflict = r.log.findConflict(m.entries);
  if (conflict !== 0) {
    if (conflict <= committed) {
      r.emit('appendIgnored', { from: m.from, reason: `conflict at ${conflict} <= commit ${committed}` });
      return;
    }
    r.log.truncateAndAppend(m.entries.slice(conflict - m.prevLogIndex - 1));
  }
  assert(r.log.matchTerm(lastNew, m.entries.at(-1)?.term ?? m.prevLogTerm), () => `after append: entry ${lastNew} does not match the leader's`);
  r.log.commitTo(Math.min(m.commit, lastNew));
  r.sendAfterPersist(appendResp(r, m.from, logIndex(lastNew), false));
}

function handleSnapshot(r: RaftCore, m: SnapshotMsg): void {
  if (!isIndex(m.meta.index) || !isIndex(m.meta.term)) return;
  const done = { type: 'snapshotResp', from: r.id, to: m.from, term: r.term, snapshotIndex: m.meta.index, reject: false } as const;
  const wanted = m.meta.index > r.log.committed || (r.log.isUninitialized() && m.meta.membership.members.length > 0);
  if (!wanted) {
    // We already have everything it covers: tell the leader to resume from it.
    r.snapshotReceiver.reset();
    r.sendAfterPersist({ ...done, offset: m.totalBytes });
    return;
  }
  const outcome = r.snapshotReceiver.receive(m);
  switch (outcome.kind) {
    case 'ack':
      r.send({ ...done, offset: outcome.offset });
      return;
    case 'reject':
      r.emit('snapshotRejected', { from: m.from, reason: outcome.reason });
      r.send({ ...done, offset: 0, reject: true });
      return;
    case 'complete':
      install(r, outcome.snapshot);
      // Acknowledges a durable snapshot: only after the Ready that carries it is persisted.
      r.sendAfterPersist({ ...done, offset: m.totalBytes });
      return;
    default:
      assertNever(outcome);
  }
}

function install(r: RaftCore, s: Snapshot): void {
  if (r.log.matchTerm(s.meta.index, s.meta.term) && !r.log.isUninitialized()) {
    // Our log already holds the snapshot's last entry, hence everything before it: keep the log.
    r.log.commitTo(s.meta.index);
    r.emit('snapshotFastForward', { index: s.meta.index });
    return;
  }
  r.log.restore(s);
  r.emit('snapshotRestored', { index: s.meta.index, term: s.meta.term, bytes: s.data.byteLength });
}
