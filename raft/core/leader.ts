// The leader (Raft §5): proposals, membership changes (dissertation §4.1), the commit rule of
// §5.4.2 / Figure 8, ticks with heartbeats and check-quorum, and dispatch of the responses it
// receives. Replication itself is in replication.ts, ReadIndex in leader-reads.ts and leadership
// transfer in transfer.ts.

import { assert, assertNever } from './assert.js';
import { leaderReadIndex, releaseAwaitingReads } from './leader-reads.js';
import { checkChange, isVoter, majority, quorumIndex, roleOf, voters } from './membership.js';
import { Progress } from './progress.js';
import type { LeaderState, ProposeErrorCode, ProposeResult, RaftCore } from './raft.js';
import { bcastAppend, bcastCommit, bcastHeartbeat, handleAppendResp, handleHeartbeatResp, handleSnapshotResp } from './replication.js';
import { abortTransfer } from './transfer.js';
import type { ConfChange, Entry, Message } from './types.js';
import { logIndex } from './types.js';

type Leader = LeaderState;

export function initLeader(r: RaftCore, role: Leader): void {
  syncProgress(r, role);
  // Raft §5.4.2 / Figure 8: entries of earlier terms commit only through one of ours, so a new
  // leader appends an empty entry at once (and ReadIndex waits for it, dissertation §6.4).
  appendEntries(r, role, [{ kind: 'normal', term: r.term, index: logIndex(r.log.lastIndex() + 1), data: new Uint8Array(0) }]);
}

/** Brings the progress map in line with the effective membership (every member but us). */
function syncProgress(r: RaftCore, role: Leader): void {
  const m = r.log.membership();
  for (const member of m.members) {
    if (member.id === r.id || role.progress.has(member.id)) continue;
    role.progress.set(member.id, new Progress(r.log.lastIndex() + 1, r.limits.inflightMessagesMax, r.limits.inflightBytesMax));
  }
  for (const id of [...role.progress.keys()]) {
    if (roleOf(m, id) !== null) continue;
    role.progress.delete(id);
    if (role.transferee === id) abortTransfer(r, role, 'target removed');
  }
}

function refuse(r: RaftCore, code: ProposeErrorCode, message: string): ProposeResult {
  return { ok: false, code, leader: r.id, message };
}

function checkAccepting(r: RaftCore, role: Leader, bytes: number): ProposeResult | null {
  if (role.transferee !== null) {
    return refuse(r, 'transferring', `leadership is being transferred to ${role.transferee}; retry shortly`);
  }
  if (bytes > r.limits.entryBytesMax) {
    return refuse(r, 'too_large', `entry of ${bytes} bytes exceeds entryBytesMax ${r.limits.entryBytesMax}`);
  }
  const uncommitted = r.log.lastIndex() - r.log.committed;
  if (uncommitted >= r.limits.uncommittedEntriesMax) {
    return refuse(r, 'overloaded', `${uncommitted} entries uncommitted, limit ${r.limits.uncommittedEntriesMax}`);
  }
  return null;
}

export function leaderPropose(r: RaftCore, role: Leader, data: Uint8Array): ProposeResult {
  const refused = checkAccepting(r, role, data.byteLength);
  if (refused !== null) return refused;
  const e: Entry = { kind: 'normal', term: r.term, index: logIndex(r.log.lastIndex() + 1), data };
  appendEntries(r, role, [e]);
  return { ok: true, index: e.index, term: e.term };
}

export function leaderProposeConf(r: RaftCore, role: Leader, change: ConfChange): ProposeResult {
  const refused = checkAccepting(r, role, 0);
  if (refused !== null) return refused;
  // The fix to the single-server rule (raft-dev, 2015): a leader that has not yet committed an
  // entry of its own term may not hold the latest configuration, so it accepts no change.
  if (r.log.term(r.log.committed) !== r.term) {
    return refuse(r, 'change_pending', `leader ${r.id} has not yet committed an entry of term ${r.term}; retry shortly`);
  }
  if (r.log.lastConfIndex() > r.log.committed) {
    return refuse(r, 'change_pending', `membership change at index ${r.log.lastConfIndex()} is not committed yet`);
  }
  const bad = checkChange(r.log.membership(), change);
  if (bad !== null) return refuse(r, bad.code, bad.message);
  const e: Entry = { kind: 'conf', term: r.term, index: logIndex(r.log.lastIndex() + 1), change };
  r.emit('confChange', { index: e.index, change });
  appendEntries(r, role, [e]);
  return { ok: true, index: e.index, term: e.term };
}

function appendEntries(r: RaftCore, role: Leader, entries: Entry[]): void {
  r.log.append(entries);
  // Messages leave only through the next Ready anyway, so every proposal until then travels in
  // one append per follower (the batching half of group commit).
  role.bcastPending = true;
  // A configuration takes effect on append (dissertation §4.1), on the leader too.
  if (!entries.some((e) => e.kind === 'conf')) return;
  syncProgress(r, role);
  // A removal may shrink the quorum enough to commit what is already replicated. A normal entry
  // changes no match index and no membership, so it cannot commit anything: the quorum count
  // (arrays and a sort) is skipped for it; it was a quarter of the leader's allocations per
  // proposal at 256 proposers (measured with the sampling heap profiler).
  maybeCommit(r, role);
}

// ---- commit ---------------------------------------------------------------------------------

/** Raft §5.4.2: commit the highest index a majority holds, if it is of the current term. */
export function maybeCommit(r: RaftCore, role: Leader): boolean {
  const vs = voters(r.log.membership());
  // Our own entries count only once durable (advance), so one node never commits before fsync.
  const index = quorumIndex(vs, (id) => (id === r.id ? r.log.stableLastIndex() : (role.progress.get(id)?.match ?? 0)));
  if (index <= r.log.committed) return false;
  assert(index <= r.log.lastIndex(), () => `quorum index ${index} > last index ${r.log.lastIndex()}`);
  if (r.log.term(index) !== r.term && r.config.unsafe?.commitOldTermByCount !== true) return false;
  r.log.commitTo(index);
  afterCommit(r, role);
  return true;
}

function afterCommit(r: RaftCore, role: Leader): void {
  if (r.log.term(r.log.committed) === r.term) releaseAwaitingReads(r, role);
  bcastCommit(r, role);
  // Dissertation §4.2.2: a leader removed from the membership steps down once that change commits.
  if (!isVoter(r.log.membership(), r.id) && r.log.lastConfIndex() <= r.log.committed) {
    r.emit('stepDown', { reason: 'removed from the membership', commit: r.log.committed });
    r.becomeFollower(r.term, null);
  }
}

/** Called when a Ready is taken: sends what was proposed since the last one. */
export function flushAppends(r: RaftCore, role: Leader): void {
  if (!role.bcastPending) return;
  role.bcastPending = false;
  bcastAppend(r, role);
}

export function advanceLeader(r: RaftCore, role: Leader): void {
  maybeCommit(r, role);
}

// ---- ticks, check-quorum ----------------------------------------------------------------------

export function tickLeader(r: RaftCore, role: Leader): void {
  role.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.config.electionTicks) {
    r.electionElapsed = 0;
    if (r.config.checkQuorum && !quorumActive(r, role)) {
      // Check-quorum (dissertation §6.2): a leader that has not heard from a majority for an
      // election timeout steps down, so it stops serving and clients look elsewhere.
      r.emit('stepDown', { reason: 'check quorum: a majority was not heard from' });
      r.becomeFollower(r.term, null);
      return;
    }
    for (const pr of role.progress.values()) pr.recentActive = false;
    if (role.transferee !== null) abortTransfer(r, role, 'timed out after an election timeout');
  }
  if (role.heartbeatElapsed >= r.config.heartbeatTicks) {
    role.heartbeatElapsed = 0;
    bcastHeartbeat(r, role, role.reads.context());
  }
}

function quorumActive(r: RaftCore, role: Leader): boolean {
  const vs = voters(r.log.membership());
  const active = vs.filter((id) => id === r.id || role.progress.get(id)?.recentActive === true).length;
  return active >= majority(vs.length);
}

// ---- responses ------------------------------------------------------------------------------

export function stepLeader(r: RaftCore, role: Leader, m: Message): void {
  switch (m.type) {
    case 'appendResp':
      return handleAppendResp(r, role, m);
    case 'heartbeatResp':
      return handleHeartbeatResp(r, role, m);
    case 'snapshotResp':
      return handleSnapshotResp(r, role, m);
    case 'readIndex':
      return leaderReadIndex(r, role, m.context, m.from);
    case 'append':
    case 'heartbeat':
    case 'snapshot':
      // Election safety says no other leader exists in our term; a peer claiming so is broken.
      r.emit('ignored', { type: m.type, from: m.from, reason: 'another leader in our term' });
      return;
    case 'preVote':
    case 'vote':
    case 'preVoteResp':
    case 'voteResp':
    case 'readIndexResp':
    case 'timeoutNow':
      return;
    default:
      assertNever(m);
  }
}
