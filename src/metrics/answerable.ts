// Change-to-answerable latency on this node (vnetd_dns_change_to_answerable_seconds): from the
// moment this node learns that the log is committed up to index C to the moment its DNS zone
// answers from a state that includes C (the 'applied' event for an index >= C, after src/records
// has flushed its records and raised the SOA serial). One observation per applied batch that
// changed the IPAM state; Raft no-ops and membership entries never reach the state machine and
// are not observed.
//
// raft/ exposes no "commit learned" event, so the moment is taken as the earliest of:
//   - a follower or learner receiving an append or heartbeat whose commit index covers new entries
//     (TimedTransport: the leader's commit travels in those messages);
//   - the driver starting to persist a Ready whose hard state carries a higher commit index
//     (TimedStorage; raft/node defers a commit-only hard state to the next synced save, so this
//     source only fires when the commit rides with entries; stale ones are ignored);
//   - the first command of the batch reaching the state machine (TimedStateMachine; on the leader
//     the driver applies in the Ready that learned the commit, so this is when the leader knew).
// It covers, on every member including learners, the fsync of the Ready that applies (if any),
// applying to the IPAM state machine, and building and publishing the DNS records. It does not
// cover replication before this node learned of the commit (no common clock across nodes): the
// end-to-end figure, leader write to learner answer, is `npm run bench -- propagation`.

import { performance } from 'node:perf_hooks';

export const answerableLimits = {
  /**
   * Commit advances waiting for their apply. The driver applies within a Ready or two of learning
   * a commit, so this holds a few; the bound only guards against a stalled apply.
   */
  pendingCommitsMax: 1024,
} as const;

interface Mark {
  readonly commit: number;
  readonly atMs: number;
}

export class AnswerableClock {
  private marks: Mark[] = [];
  /** Highest commit index marked, and the highest index the zone answers for. */
  private markedCommit = 0;
  private answerableIndex = 0;
  /** When the first command of the batch being applied reached the state machine, if any. */
  private batchStartMs: number | null = null;

  constructor(private readonly observe: (seconds: number) => void) {}

  /** This node learned that the log is committed up to `commit` (at performance.now() `atMs`). */
  commitKnown(commit: number, atMs: number): void {
    if (commit <= this.markedCommit || commit <= this.answerableIndex) return; // old news
    this.markedCommit = commit;
    if (this.marks.length >= answerableLimits.pendingCommitsMax) this.marks.shift();
    this.marks.push({ commit, atMs });
  }

  /** A command of the current batch reached the state machine (TimedStateMachine.apply/restore). */
  commandApplied(atMs: number): void {
    this.batchStartMs ??= atMs;
  }

  /** Call after the zone was updated for `index` (records.onApplied(index) returned). */
  answerable(index: number): void {
    const now = performance.now();
    let start = this.batchStartMs;
    let covered = 0;
    while (covered < this.marks.length && this.marks[covered]!.commit <= index) {
      const at = this.marks[covered]!.atMs;
      if (start === null || at < start) start = at;
      covered++;
    }
    if (covered > 0) this.marks = this.marks.slice(covered);
    // Only a batch that changed IPAM state is a change to answer for.
    if (this.batchStartMs !== null && start !== null) this.observe(Math.max(0, now - start) / 1000);
    this.batchStartMs = null;
    this.answerableIndex = Math.max(this.answerableIndex, index);
  }
}
