// Commit and applied indexes never go backwards on a node.
//
// While a node runs, its in-memory commit index (Ready.hardState.commit) and its applied index (the
// state machine's) may only grow. A crash loses the in-memory values, so across a restart we compare
// with what was durable instead: the commit index in the last synced hard state may only grow from
// one synced write to the next, a restarted core must start from at least the synced commit index,
// and the state machine (volatile here) restarts from the synced snapshot, whose index may only grow.

import type { NodeId } from '../../core/types.js';
import { Violation } from '../violation.js';

interface NodeIndexes {
  commit: number;
  applied: number;
  durableCommit: number;
  durableSnapshot: number;
}

export class MonotonicChecker {
  private readonly nodes = new Map<NodeId, NodeIndexes>();

  private of(node: NodeId): NodeIndexes {
    let s = this.nodes.get(node);
    if (s === undefined) {
      s = { commit: 0, applied: 0, durableCommit: 0, durableSnapshot: 0 };
      this.nodes.set(node, s);
    }
    return s;
  }

  onCommit(node: NodeId, commit: number): void {
    const s = this.of(node);
    if (commit < s.commit) throw new Violation('monotonic', `${node}: commit went back from ${s.commit} to ${commit}`);
    s.commit = commit;
  }

  onApplied(node: NodeId, applied: number): void {
    const s = this.of(node);
    if (applied < s.applied) throw new Violation('monotonic', `${node}: applied went back from ${s.applied} to ${applied}`);
    s.applied = applied;
  }

  /** A write reached the disk: its hard state commit and snapshot index are now durable. */
  onDurable(node: NodeId, commit: number, snapshotIndex: number): void {
    const s = this.of(node);
    if (commit < s.durableCommit) {
      throw new Violation('monotonic', `${node}: durable commit went back from ${s.durableCommit} to ${commit}`);
    }
    if (snapshotIndex < s.durableSnapshot) {
      throw new Violation('monotonic', `${node}: durable snapshot went back from ${s.durableSnapshot} to ${snapshotIndex}`);
    }
    s.durableCommit = commit;
    s.durableSnapshot = snapshotIndex;
  }

  /** A restarted core reports `commit` and `applied`; the volatile floors restart from what was durable. */
  onRestart(node: NodeId, commit: number, applied: number): void {
    const s = this.of(node);
    if (commit < s.durableCommit) {
      throw new Violation('monotonic', `${node}: restarted with commit ${commit} below its durable commit ${s.durableCommit}`);
    }
    if (applied < s.durableSnapshot) {
      throw new Violation('monotonic', `${node}: restarted with applied ${applied} below its durable snapshot ${s.durableSnapshot}`);
    }
    s.commit = commit;
    s.applied = applied;
  }
}
