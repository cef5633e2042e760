// State Machine Safety (Raft §5.4.3, Figure 3): if a server has applied a log entry at a given
// index to its state machine, no other server will ever apply a different log entry for the same
// index.
//
// Each simulated state machine keeps a rolling hash over every entry it applied (index, term and
// content), so its state hash at index i identifies the whole applied prefix 1..i. The checker
// remembers the first state hash seen at each index and compares every later application — and
// every snapshot restore — with it: O(1) per applied entry, and a snapshot that carries a different
// history is caught the moment it is restored.

import type { NodeId } from '../../core/types.js';
import { hashEqual, hashHex, type Hash64 } from '../hash.js';
import { Violation } from '../violation.js';

export class StateMachineSafetyChecker {
  private readonly stateAt: Hash64[] = [];
  private readonly firstNode: NodeId[] = [];

  /** `node` applied index `index` and its state hash is now `state`. */
  onApply(node: NodeId, index: number, state: Hash64): void {
    this.compare(node, index, state, 'applied');
  }

  /** `node` restored a snapshot of index `index` whose state hash is `state`. */
  onRestore(node: NodeId, index: number, state: Hash64): void {
    if (index === 0) return; // the bootstrap state: nothing applied yet
    this.compare(node, index, state, 'restored a snapshot of');
  }

  private compare(node: NodeId, index: number, state: Hash64, what: string): void {
    const known = this.stateAt[index];
    if (known === undefined) {
      this.stateAt[index] = state;
      this.firstNode[index] = node;
      return;
    }
    if (!hashEqual(known, state)) {
      throw new Violation(
        'state-machine-safety',
        `${node} ${what} index ${index} with a different history than ${this.firstNode[index]} ` +
          `(state ${hashHex(state)} vs ${hashHex(known)})`,
      );
    }
  }
}
