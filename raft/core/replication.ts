// Replication from the leader (Raft §5.3) with per-follower flow control in the manner of etcd:
// probe one append at a time until the logs agree, then pipeline within the inflight window;
// followers behind the first index get the snapshot chunk by chunk. Also the leader's handling
// of append, heartbeat and snapshot responses.

import { maybeCommit } from './leader.js';
import { releaseReads } from './leader-reads.js';
import { entryBytes, isIndex } from './limits.js';
import type { Progress } from './progress.js';
import type { LeaderState, RaftCore } from './raft.js';
import { sendTimeoutNow } from './transfer.js';
import type { Message, NodeId } from './types.js';
import { logIndex } from './types.js';

type Leader = LeaderState;


/**
 * Sends `to` one append (or starts a snapshot when its next entry is compacted away). Returns
 * whether entries were sent. `allowEmpty` sends an append without entries, which carries the
 * commit index or probes where the follower's log ends.
 */
export function sendAppend(r: RaftCore, to: NodeId, pr: Progress, allowEmpty: boolean): boolean {
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
export function sendAppends(r: RaftCore, to: NodeId, pr: Progress): number {
  let sent = 0;
  // Bounded: each send fills one inflight slot, so at most inflightMessagesMax iterations.
  while (sent <= r.limits.inflightMessagesMax && sendAppend(r, to, pr, false)) {
    sent++;
    if (pr.state !== 'replicate') break;
  }
  return sent;
}

export function bcastAppend(r: RaftCore, role: Leader): void {
  for (const [id, pr] of role.progress) sendAppends(r, id, pr);
}

/** After commit moved: every follower not paused hears the new commit index at once. */
export function bcastCommit(r: RaftCore, role: Leader): void {
  for (const [id, pr] of role.progress) {
    if (sendAppends(r, id, pr) === 0) sendAppend(r, id, pr, true);
  }
}

export function bcastHeartbeat(r: RaftCore, role: Leader, context: string): void {
  for (const [to, pr] of role.progress) {
    // Never more than the follower is known to hold: its log may differ beyond its match index.
    const commit = logIndex(Math.min(pr.match, r.log.committed));
    r.send({ type: 'heartbeat', from: r.id, to, term: r.term, commit, context });
    if (pr.state === 'snapshot' && !pr.snapshotAcked) sendSnapshotChunk(r, to, pr);
    pr.snapshotAcked = false;
  }
}

export function startSnapshot(r: RaftCore, to: NodeId, pr: Progress): void {
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

export function handleAppendResp(r: RaftCore, role: Leader, m: Extract<Message, { type: 'appendResp' }>): void {
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

export function handleHeartbeatResp(r: RaftCore, role: Leader, m: Extract<Message, { type: 'heartbeatResp' }>): void {
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

export function handleSnapshotResp(r: RaftCore, role: Leader, m: Extract<Message, { type: 'snapshotResp' }>): void {
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
