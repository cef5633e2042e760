// Leadership transfer (dissertation §3.10): bring the target up to date, then tell it to campaign
// at once with `timeoutNow`. Proposals are refused meanwhile (leader.ts); the transfer is
// abandoned after an election timeout (tickLeader).

import { isVoter } from './membership.js';
import type { LeaderState, RaftCore, TransferResult } from './raft.js';
import { sendAppends } from './replication.js';
import type { NodeId } from './types.js';

type Leader = LeaderState;

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

export function sendTimeoutNow(r: RaftCore, to: NodeId): void {
  r.emit('timeoutNow', { to, lastIndex: r.log.lastIndex() });
  r.send({ type: 'timeoutNow', from: r.id, to, term: r.term });
}

export function abortTransfer(r: RaftCore, role: Leader, reason: string): void {
  r.emit('transferAborted', { to: role.transferee, reason });
  role.transferee = null;
}
