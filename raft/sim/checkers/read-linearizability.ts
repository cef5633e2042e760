// Linearizable reads (Raft §6.4, ReadIndex): a read must return a state at least as new as every
// write acknowledged to a client before the read started. A write is acknowledged when the node it
// was proposed on applies it; we keep the highest such index. A read records that index when it
// starts and, when served, must reflect a state that includes it. That the entries up to there are
// the right ones is State Machine Safety's job, so an index comparison suffices: O(1) per read.

import type { NodeId } from '../../core/types.js';
import { Violation } from '../violation.js';

export class ReadLinearizabilityChecker {
  private maxAcked = 0;
  acknowledged = 0;
  served = 0;

  /** A client heard success for the write at `index`. */
  onAck(index: number): void {
    this.acknowledged++;
    if (index > this.maxAcked) this.maxAcked = index;
  }

  /** A read starts now; returns what it must at least see. */
  start(): number {
    return this.maxAcked;
  }

  /**
   * The core answered the read that started with `floor` with read index `index`. The read index
   * is a leader's commit index after it committed an entry of its own term, so it already covers
   * every acknowledged write: a lower one is stale even if the node happens to have applied more
   * by the time it serves the read.
   */
  onReadIndex(node: NodeId, context: string, floor: number, index: number): void {
    if (index < floor) {
      throw new Violation(
        'read-linearizability',
        `read ${context} on ${node} got read index ${index}, but the write at ${floor} was acknowledged before the read started`,
      );
    }
  }

  /** The read that started with `floor` was answered with the state at `applied`. */
  onServed(node: NodeId, context: string, floor: number, applied: number): void {
    this.served++;
    if (applied < floor) {
      throw new Violation(
        'read-linearizability',
        `read ${context} on ${node} returned the state at index ${applied}, but the write at ${floor} ` +
          `was acknowledged before the read started`,
      );
    }
  }
}
