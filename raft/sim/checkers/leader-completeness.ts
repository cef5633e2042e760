// Leader Completeness (Raft §5.4, Figure 3): if an entry is committed in a term, it is present in
// the logs of the leaders of all higher terms. Checked with two incremental records:
//
//  - committedTerm[i]: the term of the entry at index i when some node first counted i as committed.
//    Any node that later counts i as committed must hold an entry of the same term there (a
//    committed entry never changes), which costs O(1) per newly committed index per node.
//  - observedAt[i]: the lowest current term of a node when it counted i as committed. The entry was
//    committed in that term or earlier, so every leader of a HIGHER term must hold it. A new leader
//    is checked at the highest such index only: by Log Matching (checked separately) holding the
//    entry there means holding the identical prefix.

import type { NodeId } from '../../core/types.js';
import type { ShadowLog } from '../shadow-log.js';
import { Violation } from '../violation.js';

export class LeaderCompletenessChecker {
  private readonly committedTerm: number[] = [0];
  private readonly observedAt: number[] = [0];
  private readonly firstNode: NodeId[] = [];
  /** The highest index any node has counted as committed. */
  private top = 0;

  get highestCommitted(): number {
    return this.top;
  }

  /** `node` (current term `nodeTerm`) moved its commit index from `from` to `to`. */
  onCommit(node: NodeId, log: ShadowLog, from: number, to: number, nodeTerm: number): void {
    if (to > log.lastIndex) {
      throw new Violation('contract', `${node}: commit ${to} beyond its last index ${log.lastIndex}`);
    }
    for (let i = Math.max(from + 1, log.snapIndex); i <= to; i++) {
      const t = log.termAt(i);
      if (t === undefined) continue;
      this.record(node, i, t, nodeTerm);
    }
    if (to > this.top) this.top = to;
  }

  /** A snapshot installed on `node` covers only committed entries. */
  onSnapshot(node: NodeId, index: number, term: number, nodeTerm: number): void {
    this.record(node, index, term, nodeTerm);
    if (index > this.top) this.top = index;
  }

  /** `node` became leader of `term` holding `log`. */
  onLeader(node: NodeId, term: number, log: ShadowLog): void {
    for (let i = this.top; i > 0; i--) {
      const observed = this.observedAt[i];
      const t = this.committedTerm[i];
      if (observed === undefined || t === undefined || observed >= term) continue;
      if (i < log.snapIndex) return; // inside the leader's snapshot, which holds only committed state
      const have = log.termAt(i);
      if (have !== t) {
        throw new Violation(
          'leader-completeness',
          `${node} leads term ${term} without the entry committed at index ${i} (term ${t}, ` +
            `committed by term ${observed}, first seen on ${this.firstNode[i]}); it has ` +
            (have === undefined ? `log up to ${log.lastIndex}` : `term ${have} there`),
        );
      }
      return;
    }
  }

  private record(node: NodeId, i: number, t: number, nodeTerm: number): void {
    const known = this.committedTerm[i];
    if (known === undefined) {
      this.committedTerm[i] = t;
      this.observedAt[i] = nodeTerm;
      this.firstNode[i] = node;
      return;
    }
    if (known !== t) {
      throw new Violation(
        'leader-completeness',
        `committed entry at index ${i} changed: ${this.firstNode[i]} committed term ${known}, ${node} commits term ${t}`,
      );
    }
    if (nodeTerm < (this.observedAt[i] as number)) this.observedAt[i] = nodeTerm;
  }
}
