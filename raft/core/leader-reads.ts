// ReadIndex on the leader (dissertation §6.4): a read is held until the leader has committed an
// entry of its term, then registered at the commit index in a new round, confirmed by a majority
// acknowledging that round's heartbeats, and answered (locally, or to the follower that forwarded
// it). The round bookkeeping is in read-only.ts.

import { voters } from './membership.js';
import type { LeaderState, RaftCore } from './raft.js';
import { bcastHeartbeat } from './replication.js';
import type { NodeId } from './types.js';

type Leader = LeaderState;

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

export function releaseReads(r: RaftCore, role: Leader): void {
  for (const read of role.reads.release(voters(r.log.membership()))) {
    if (read.from === r.id) {
      r.readStates.push({ index: read.index, context: read.context });
    } else {
      r.send({ type: 'readIndexResp', from: r.id, to: read.from, term: r.term, context: read.context, index: read.index, reject: false });
    }
  }
}

/** The leader just committed its first entry of the term: start the reads that waited for it. */
export function releaseAwaitingReads(r: RaftCore, role: Leader): void {
  if (role.reads.awaitingCommit.length === 0) return;
  const waiting = role.reads.awaitingCommit;
  role.reads.awaitingCommit = [];
  for (const w of waiting) startRead(r, role, w.context, w.from);
}
