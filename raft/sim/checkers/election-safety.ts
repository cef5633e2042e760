// Election Safety (Raft §5.2, Figure 3): at most one leader can be elected in a given term.
// O(1) per observation: a map from term to the node seen leading it.

import type { NodeId } from '../../core/types.js';
import { Violation } from '../violation.js';

export class ElectionSafetyChecker {
  private readonly leaderOf = new Map<number, NodeId>();

  /** `node` became (or is reported as) leader of `term`. */
  onLeader(node: NodeId, term: number): void {
    const previous = this.leaderOf.get(term);
    if (previous !== undefined && previous !== node) {
      throw new Violation('election-safety', `term ${term} has two leaders: ${previous} and ${node}`);
    }
    this.leaderOf.set(term, node);
  }

  get termsWithLeader(): number {
    return this.leaderOf.size;
  }
}
