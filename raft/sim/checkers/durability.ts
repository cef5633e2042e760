// Commitment means durability (DESIGN.md §4: "an acknowledged write is on a majority of disks
// (synced) before the caller hears success"; Raft §5.3, §5.6: servers persist before responding).
// When a leader advances its commit index to N, the entry at N must already be on the synced disks
// of a majority of the voters. Which voters: the configuration the leader committed under, which is
// either the one as of N or that one plus the single uncommitted change appended after N (a
// configuration takes effect when appended, and at most one change is pending); the check passes if
// either has its majority. A follower that acknowledges before its fsync, or a leader that counts
// itself before its own, is caught at once, without waiting for the crash that would lose the entry.
// O(voters) per commit advance of a leader.

import type { Membership, NodeId } from '../../core/types.js';
import { Violation } from '../violation.js';

/** The term of the entry at `index` on `id`'s synced disk; -1 when its snapshot covers the index. */
export type DurableTermAt = (id: NodeId, index: number) => number | undefined;

export class DurabilityChecker {
  /** `leader` advanced its commit index to `index`, whose entry has `term`. */
  onLeaderCommit(leader: NodeId, index: number, term: number, configs: readonly Membership[], durableTermAt: DurableTermAt): void {
    let best = '';
    for (const config of configs) {
      const voters = config.members.filter((m) => m.role === 'voter');
      const onDisk = voters.filter((m) => {
        const t = durableTermAt(m.id, index);
        return t === term || t === -1;
      });
      const majority = Math.floor(voters.length / 2) + 1;
      if (onDisk.length >= majority) return;
      const what = ` ${onDisk.length} of voters [${voters.map((v) => v.id).join(',')}]`;
      if (!best.includes(what)) best += what;
    }
    throw new Violation(
      'durability',
      `leader ${leader} committed index ${index} (term ${term}) while it was durable on only${best}: acknowledged before the fsync`,
    );
  }
}
