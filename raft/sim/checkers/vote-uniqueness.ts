// One vote per term (Raft §5.2, Figure 2 "votedFor"): each server votes for at most one candidate
// in a given term, and that must hold across its crashes, which is why the vote is part of the hard
// state that is durable before the vote is sent. Checked on the granted votes that actually leave
// a node (pre-votes excluded: they promise nothing): O(1) per vote.

import type { NodeId } from '../../core/types.js';
import { Violation } from '../violation.js';

export class VoteUniquenessChecker {
  private readonly votes = new Map<string, NodeId>();

  /** `voter` sent a granted vote for `candidate` in `term`. */
  onVoteGranted(voter: NodeId, candidate: NodeId, term: number): void {
    const key = `${voter}@${term}`;
    const earlier = this.votes.get(key);
    if (earlier !== undefined && earlier !== candidate) {
      throw new Violation('double-vote', `${voter} voted twice in term ${term}: for ${earlier} and for ${candidate}`);
    }
    this.votes.set(key, candidate);
  }
}
