// Elections (Raft §5.2) with pre-vote (dissertation §9.6): campaigning, answering vote requests,
// and counting votes as a (pre-)candidate.

import { assertNever } from './assert.js';
import { stepFollower } from './follower.js';
import { voteOutcome, voters } from './membership.js';
import type { RaftCore, RoleState } from './raft.js';
import type { Message, NodeId } from './types.js';
import { term as asTerm } from './types.js';

type Candidacy = Extract<RoleState, { kind: 'candidate' | 'precandidate' }>;
export type CampaignKind = 'pre' | 'normal' | 'transfer';

export function campaign(r: RaftCore, kind: CampaignKind): void {
  if (kind === 'pre') r.becomePreCandidate();
  else r.becomeCandidate();
  const role = r.role as Candidacy;
  // A pre-vote asks about the term we would campaign in; our own term does not move yet.
  const voteTerm = asTerm(kind === 'pre' ? r.term + 1 : r.term);
  const others = voters(r.log.membership()).filter((id) => id !== r.id);
  r.emit('campaign', { kind, term: voteTerm, voters: others.length + 1 });
  for (const to of others) {
    const base = { from: r.id, to, term: voteTerm, lastLogIndex: r.log.lastIndex(), lastLogTerm: r.log.lastTerm() };
    if (kind === 'pre') r.send({ type: 'preVote', ...base });
    else r.send({ type: 'vote', ...base, transfer: kind === 'transfer' });
  }
  // Our own pre-vote needs no persistence; our own vote counts only once the term and vote are
  // durable (see pollSelfAfterPersist), or a crash could let this node vote twice in the term.
  if (kind === 'pre') poll(r, role, r.id, true);
}

/** After advance(): the candidate's term and self-vote are durable, so its own vote now counts. */
export function pollSelfAfterPersist(r: RaftCore, role: Candidacy): void {
  if (r.durable.term === r.term && r.durable.vote === r.id && !role.votes.has(r.id)) poll(r, role, r.id, true);
}

function poll(r: RaftCore, role: Candidacy, from: NodeId, granted: boolean): void {
  if (!role.votes.has(from)) role.votes.set(from, granted);
  const outcome = voteOutcome(voters(r.log.membership()), role.votes);
  switch (outcome) {
    case 'won':
      if (role.kind === 'precandidate') campaign(r, 'normal');
      else r.becomeLeader();
      return;
    case 'lost':
      r.becomeFollower(r.term, null);
      return;
    case 'pending':
      return;
    default:
      assertNever(outcome);
  }
}

/** Raft §5.2 and §5.4.1: grant at most one vote per term, only to an up-to-date log. */
export function handleVoteRequest(r: RaftCore, m: Extract<Message, { type: 'vote' | 'preVote' }>): void {
  const canVote =
    r.vote === m.from ||
    (r.vote === null && r.leader() === null) ||
    (m.type === 'preVote' && m.term > r.term);
  const grant = canVote && r.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  if (m.type === 'preVote') {
    // A granted pre-vote answers in the requested term; a rejection carries ours.
    r.send({ type: 'preVoteResp', from: r.id, to: m.from, term: grant ? m.term : r.term, reject: !grant });
    return;
  }
  if (grant) {
    r.electionElapsed = 0;
    r.vote = m.from;
  }
  r.emit('vote', { to: m.from, term: r.term, granted: grant });
  r.sendAfterPersist({ type: 'voteResp', from: r.id, to: m.from, term: r.term, reject: !grant });
}

export function stepCandidate(r: RaftCore, role: Candidacy, m: Message): void {
  switch (m.type) {
    case 'append':
    case 'heartbeat':
    case 'snapshot': {
      // Raft §5.2: a candidate that hears from a leader of its term returns to follower.
      r.becomeFollower(m.term, m.from);
      const follower = r.role;
      if (follower.kind === 'follower') stepFollower(r, follower, m);
      return;
    }
    case 'preVoteResp':
      if (role.kind !== 'precandidate') return;
      if (m.reject ? m.term === r.term : m.term === r.term + 1) poll(r, role, m.from, !m.reject);
      return;
    case 'voteResp':
      if (role.kind === 'candidate') poll(r, role, m.from, !m.reject);
      return;
    case 'readIndex':
      r.send({ type: 'readIndexResp', from: r.id, to: m.from, term: r.term, context: m.context, index: r.log.committed, reject: true });
      return;
    case 'preVote':
    case 'vote':
    case 'appendResp':
    case 'heartbeatResp':
    case 'snapshotResp':
    case 'readIndexResp':
    case 'timeoutNow':
      return;
    default:
      assertNever(m);
  }
}
