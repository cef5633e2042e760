// Membership and quorum arithmetic. The core uses the single-server change rule of Ongaro's
// dissertation §4.1 (one voter added or removed at a time, so any two majorities of consecutive
// configurations overlap), with the fix from the raft-dev post of 2015 ("bug in single-server
// membership changes"): a leader accepts a change only after it has committed an entry of its own
// term. A configuration takes effect as soon as its entry is appended to a log (§4.1), so the
// effective membership is always that of the last conf entry in the log.

import type { ConfChange, Membership, NodeId, Role } from './types.js';
import { assertNever } from './assert.js';

export const emptyMembership: Membership = { members: [] };

export function voters(m: Membership): NodeId[] {
  return m.members.filter((x) => x.role === 'voter').map((x) => x.id);
}

export function roleOf(m: Membership, id: NodeId): Role | null {
  return m.members.find((x) => x.id === id)?.role ?? null;
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return roleOf(m, id) === 'voter';
}

/** The number of votes (or acknowledgements) that make a majority of `count` voters. */
export function majority(count: number): number {
  return Math.floor(count / 2) + 1;
}

export type ChangeRefusal = { readonly code: 'unknown_member'; readonly message: string };

/** Why `change` cannot apply to `m`, or null when it can. */
export function checkChange(m: Membership, change: ConfChange): ChangeRefusal | null {
  const role = roleOf(m, change.id);
  switch (change.type) {
    case 'addLearner':
      // Re-adding a learner is allowed (it updates its context), so a retried join is harmless.
      return role === 'voter' ? refuse(`${change.id} is already a voter; remove it first to re-add it`) : null;
    case 'promote':
      return role === 'learner' ? null : refuse(`${change.id} is ${role ?? 'not a member'}; only a learner can be promoted`);
    case 'remove':
      if (role === null) return refuse(`${change.id} is not a member`);
      if (role === 'voter' && voters(m).length === 1) {
        return refuse(`${change.id} is the last voter; removing it would leave no quorum`);
      }
      return null;
    default:
      return assertNever(change);
  }
}

function refuse(message: string): ChangeRefusal {
  return { code: 'unknown_member', message };
}

/**
 * The membership after `change`. Total: a change that does not apply leaves the membership as it
 * is, so every replica computes the same result even from a log entry a buggy leader wrote.
 */
export function applyChange(m: Membership, change: ConfChange): Membership {
  if (checkChange(m, change) !== null) return m;
  switch (change.type) {
    case 'addLearner': {
      const others = m.members.filter((x) => x.id !== change.id);
      return { members: [...others, { id: change.id, role: 'learner', context: change.context }] };
    }
    case 'promote':
      return { members: m.members.map((x) => (x.id === change.id ? { ...x, role: 'voter' } : x)) };
    case 'remove':
      return { members: m.members.filter((x) => x.id !== change.id) };
    default:
      return assertNever(change);
  }
}

/**
 * The highest index that a majority of `ids` has reached, given each one's index; 0 when `ids` is
 * empty. Linear in the number of voters (a handful), sorted copy.
 */
export function quorumIndex(ids: readonly NodeId[], indexOf: (id: NodeId) => number): number {
  if (ids.length === 0) return 0;
  const values = ids.map(indexOf).sort((a, b) => b - a);
  return values[majority(ids.length) - 1] ?? 0;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies the votes of `ids` only: votes from non-voters never count (learners never vote). */
export function voteOutcome(ids: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of ids) {
    const v = votes.get(id);
    if (v === true) granted++;
    if (v === false) rejected++;
  }
  const need = majority(ids.length);
  if (granted >= need) return 'won';
  if (rejected > ids.length - need) return 'lost';
  return 'pending';
}
