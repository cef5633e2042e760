// The leader: proposals, replication with per-follower flow control (Raft §5.3), the commit rule
// of §5.4.2 / Figure 8, heartbeats and check-quorum, snapshots sent in chunks, ReadIndex
// (dissertation §6.4), leadership transfer (§3.10) and single-server membership changes (§4.1).

import { assertNever } from './assert.js';
import { isIndex } from './follower.js';
import { entryBytes } from './limits.js';
import { checkChange, isVoter, majority, quorumIndex, roleOf, voters } from './membership.js';
import { Progress } from './progress.js';
import type { LeaderState, ProposeErrorCode, ProposeResult, RaftCore, TransferResult } from './raft.js';
import type { ConfChange, Entry, Message, NodeId } from './types.js';
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
  // A configuration takes effect on append (dissertation §4.1), on the leader too.
  if (entries.some((e) => e.kind === 'conf')) syncProgress(r, role);
  bcastAppend(r, role);
  // A removal may shrink the quorum enough to commit what is already replicated.
  maybeCommit(r, role);
}

// ---- replication ----------------------------------------------------------------------------

/**
 * Sends `to` one append (or starts a snapshot when its next entry is compacted away). Returns
 * whether entries were sent. `allowEmpty` sends an append without entries, which carries the
 * commit index or probes where the follower's log ends.
 */
function sendAppend(r: RaftCore, to: NodeId, pr: Progress, allowEmpty: boolean): boolean {
  if (pr.state === 'snapshot' || pr.isPaused()) return false;
  const prevLogIndex = pr.next - 1;
  const prevLogTerm = r.log.term(prevLogIndex);
  if (prevLogTerm === undefined) {
    startSnapshot(r, to, pr);
    return false;
  }
  const entries = r.log.slice(pr.next, r.limits.entriesPerAppendMax, r.limits.appendBytesMax);
  if (entries.length === 0 && !allowEmpty) return false;
  r.send({ type: 'append', from: r.id, to, term: r.term, prevLogIndex: logIndex(prevLogIndex), prevLogTerm, entries, commit: r.log.committed });
  const last = entries.at(-1);
  if (last === undefined) {
    if (pr.state === 'probe') pr.probeSent = true;
    return false;
  }
  pr.sentEntries(last.index, entries.reduce((n, e) => n + entryBytes(e), 0));
  return true;
}

/** An empty append at next-1, outside flow control: detects appends lost in replicate state. */
function sendProbe(r: RaftCore, to: NodeId, pr: Progress): void {
  const prevLogTerm = r.log.term(pr.next - 1);
  if (prevLogTerm === undefined) {
    startSnapshot(r, to, pr); // compacted away meanwhile: only the snapshot can repair it
    return;
  }
  r.send({ type: 'append', from: r.id, to, term: r.term, prevLogIndex: logIndex(pr.next - 1), prevLogTerm, entries: [], commit: r.log.committed });
}

/** Pipelines as many appends as flow control allows; returns how many carried entries. */
function sendAppends(r: RaftCore, to: NodeId, pr: Progress): number {
  let sent = 0;
  // Bounded: each send fills one inflight slot, so at most inflightMessagesMax iterations.
  while (sent <= r.limits.inflightMessagesMax && sendAppend(r, to, pr, false)) {
    sent++;
    if (pr.state !== 'replicate') break;
  }
  return sent;
}

function bcastAppend(r: RaftCore, role: Leader): void {
  for (const [id, pr] of role.progress) sendAppends(r, id, pr);
}

/** After commit moved: every follower not paused hears the new commit index at once. */
function bcastCommit(r: RaftCore, role: Leader): void {
  for (const [id, pr] of role.progress) {
    if (sendAppends(r, id, pr) === 0) sendAppend(r, id, pr, true);
  }
}

function bcastHeartbeat(r: RaftCore, role: Leader, context: string): void {
  for (const [to, pr] of role.progress) {
    // Never more than the follower is known to hold: its log may differ beyond its match index.
    const commit = logIndex(Math.min(pr.match, r.log.committed));
    r.send({ type: 'heartbeat', from: r.id, to, term: r.term, commit, context });
    if (pr.state === 'snapshot' && !pr.snapshotAcked) sendSnapshotChunk(r, to, pr);
    pr.snapshotAcked = false;
  }
}

function startSnapshot(r: RaftCore, to: NodeId, pr: Progress): void {
  pr.becomeSnapshot(r.log.snapshot.meta.index);
  r.emit('snapshotSend', { to, index: pr.snapshotIndex, bytes: r.log.snapshot.data.byteLength });
  sendSnapshotChunk(r, to, pr);
}

function sendSnapshotChunk(r: RaftCore, to: NodeId, pr: Progress): void {
  const snap = r.log.snapshot;
  // The log was compacted again meanwhile: send the newer snapshot from its start.
  if (snap.meta.index !== pr.snapshotIndex) pr.becomeSnapshot(snap.meta.index);
  const end = Math.min(pr.snapshotOffset + r.limits.snapshotChunkBytes, snap.data.byteLength);
  r.send({
    type: 'snapshot',
    from: r.id,
    to,
    term: r.term,
    meta: snap.meta,
    offset: pr.snapshotOffset,
    data: snap.data.subarray(pr.snapshotOffset, end),
    totalBytes: snap.data.byteLength,
  });
}

// ---- commit ---------------------------------------------------------------------------------

/** Raft §5.4.2: commit the highest index a majority holds, if it is of the current term. */
function maybeCommit(r: RaftCore, role: Leader): boolean {
  const vs = voters(r.log.membership());
  // Our own entries count only once durable (advance), so one node never commits before fsync.
  const index = quorumIndex(vs, (id) => (id === r.id ? r.log.stableLastIndex() : (role.progress.get(id)?.match ?? 0)));
  if (index <= r.log.committed) return false;
  if (r.log.term(index) !== r.term && r.config.unsafe?.commitOldTermByCount !== true) return false;
  r.log.commitTo(index);
  afterCommit(r, role);
  return true;
}

function afterCommit(r: RaftCore, role: Leader): void {
  if (r.log.term(r.log.committed) === r.term && role.reads.awaitingCommit.length > 0) {
    const waiting = role.reads.awaitingCommit;
    role.reads.awaitingCommit = [];
    for (const w of waiting) startRead(r, role, w.context, w.from);
  }
  bcastCommit(r, role);
  // Dissertation §4.2.2: a leader removed from the membership steps down once that change commits.
  if (!isVoter(r.log.membership(), r.id) && r.log.lastConfIndex() <= r.log.committed) {
    r.emit('stepDown', { reason: 'removed from the membership', commit: r.log.committed });
    r.becomeFollower(r.term, null);
  }
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

function handleAppendResp(r: RaftCore, role: Leader, m: Extract<Message, { type: 'appendResp' }>): void {
  const pr = role.progress.get(m.from);
  if (pr === undefined || !isIndex(m.index) || m.index > r.log.lastIndex()) return;
  pr.recentActive = true;
  if (m.reject && m.index === 0) {
    // Only a node that lacks the cluster's initial membership refuses index 0: send it our
    // snapshot, even the bootstrap one at index 0 (RaftLog.isUninitialized).
    if (pr.state !== 'snapshot') startSnapshot(r, m.from, pr);
    return;
  }
  if (m.reject) {
    // Raft §5.3 optimisation: skip back over the whole conflicting term in one step.
    let hint = isIndex(m.hintIndex) ? m.hintIndex : 0;
    if (m.hintTerm > 0) hint = r.log.findConflictByTerm(hint, m.hintTerm).index;
    if (pr.maybeDecrTo(m.index, hint)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      sendAppend(r, m.from, pr, true);
    }
    return;
  }
  // A probe answered at the index we already know (e.g. the empty append after a snapshot) still
  // proves where the follower's log ends: switch to replicate rather than stay paused.
  const probeConfirmed = pr.state === 'probe' && pr.match === m.index;
  if (!pr.maybeUpdate(m.index) && !probeConfirmed) return;
  if (pr.state === 'probe') pr.becomeReplicate();
  else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) pr.becomeReplicate();
  else if (pr.state === 'replicate') pr.inflights.freeTo(m.index);
  if (!maybeCommit(r, role)) sendAppends(r, m.from, pr);
  if (r.role !== role) return;
  if (role.transferee === m.from && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

function handleHeartbeatResp(r: RaftCore, role: Leader, m: Extract<Message, { type: 'heartbeatResp' }>): void {
  const pr = role.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (pr.state === 'probe') pr.probeSent = false;
  if (pr.match < r.log.lastIndex()) {
    if (pr.state === 'replicate' && pr.inflights.full()) sendProbe(r, m.from, pr);
    else sendAppend(r, m.from, pr, true);
  }
  role.reads.ack(m.from, m.context);
  releaseReads(r, role);
}

function handleSnapshotResp(r: RaftCore, role: Leader, m: Extract<Message, { type: 'snapshotResp' }>): void {
  const pr = role.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (pr.state !== 'snapshot' || m.snapshotIndex !== pr.snapshotIndex || !isIndex(m.offset)) return;
  pr.snapshotAcked = true;
  const snap = r.log.snapshot;
  if (m.reject) {
    r.emit('snapshotRefused', { to: m.from, index: pr.snapshotIndex });
    pr.snapshotIndex = 0;
    pr.becomeProbe();
    pr.probeSent = true; // wait for a heartbeat response before trying again
    return;
  }
  if (snap.meta.index === pr.snapshotIndex && m.offset === snap.data.byteLength) {
    pr.maybeUpdate(pr.snapshotIndex);
    pr.becomeProbe();
    r.emit('snapshotDone', { to: m.from, index: pr.snapshotIndex });
    sendAppend(r, m.from, pr, true);
    return;
  }
  // Only a new offset moves the transfer: a duplicated acknowledgement must not fork a second
  // stream of chunks. A smaller offset means the follower lost its buffer (it restarted).
  if (m.offset !== pr.snapshotOffset && m.offset <= snap.data.byteLength) {
    pr.snapshotOffset = m.offset;
    sendSnapshotChunk(r, m.from, pr);
  }
}

// ---- ReadIndex ------------------------------------------------------------------------------

export function leaderReadIndex(r: RaftCore, role: Leader, context: string, from: NodeId): void {
  if (role.reads.pending >= r.limits.readsPendingMax) {
    r.emit('readDropped', { from, reason: `readsPendingMax ${r.limits.readsPendingMax} reached` });
    return;
  }
  // Dissertation §6.4 step 1: until an entry of this term commits, the leader's commit index may
  // lag the true one, so the read waits for it.
  if (r.log.term(r.log.committed) !== r.term) {
    role.reads.awaitingCommit.push({ context, from });
    return;
  }
  startRead(r, role, context, from);
}

function startRead(r: RaftCore, role: Leader, context: string, from: NodeId): void {
  const round = role.reads.add(context, from, r.log.committed);
  // Step 3: a heartbeat round acknowledged by a majority proves we still lead.
  if (role.progress.size > 0) bcastHeartbeat(r, role, round);
  releaseReads(r, role);
}

function releaseReads(r: RaftCore, role: Leader): void {
  for (const read of role.reads.release(voters(r.log.membership()))) {
    if (read.from === r.id) {
      r.readStates.push({ index: read.index, context: read.context });
    } else {
      r.send({ type: 'readIndexResp', from: r.id, to: read.from, term: r.term, context: read.context, index: read.index, reject: false });
    }
  }
}

// ---- leadership transfer ----------------------------------------------------------------------

export function leaderTransfer(r: RaftCore, role: Leader, to: NodeId): TransferResult {
  if (to === r.id) return { ok: true };
  if (!isVoter(r.log.membership(), to)) {
    return { ok: false, code: 'unknown_member', message: `${to} is not a voter; only a voter can lead` };
  }
  if (role.transferee === to) return { ok: true };
  role.transferee = to;
  // The transfer is abandoned if it has not completed within an election timeout from now.
  r.electionElapsed = 0;
  r.emit('transferStart', { to });
  const pr = role.progress.get(to);
  if (pr === undefined) return { ok: true };
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
  else sendAppends(r, to, pr);
  return { ok: true };
}

function sendTimeoutNow(r: RaftCore, to: NodeId): void {
  r.emit('timeoutNow', { to, lastIndex: r.log.lastIndex() });
  r.send({ type: 'timeoutNow', from: r.id, to, term: r.term });
}

function abortTransfer(r: RaftCore, role: Leader, reason: string): void {
  r.emit('transferAborted', { to: role.transferee, reason });
  role.transferee = null;
}
