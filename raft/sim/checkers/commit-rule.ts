// The leader's commit rule (Raft §5.4.2, Figure 2 "Rules for Servers", and Figure 8): a leader
// advances its commit index only to an index N whose entry is of its current term; entries of
// earlier terms are committed only indirectly, through such an N. Counting replicas of an older
// entry is exactly what Figure 8 shows to be unsafe, and a leader doing it is caught the moment its
// commit index lands on an older entry — before the consequence (a committed entry later
// overwritten) needs a lucky sequence of crashes to show. O(1) per commit advance.

import type { NodeId } from '../../core/types.js';
import type { ShadowLog } from '../shadow-log.js';
import { Violation } from '../violation.js';

export class CommitRuleChecker {
  /** `leader`, leading `term` since before its previous Ready, advanced its commit to `commit`. */
  onLeaderCommit(leader: NodeId, term: number, log: ShadowLog, commit: number): void {
    const t = log.termAt(commit);
    if (t !== undefined && t !== term) {
      throw new Violation(
        'commit-rule',
        `leader ${leader} of term ${term} advanced its commit index to ${commit}, an entry of term ${t} (Figure 8)`,
      );
    }
  }
}
