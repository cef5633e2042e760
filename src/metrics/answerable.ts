// Change-to-answerable latency on this node (vnetd_dns_change_to_answerable_seconds): from the
// moment this node learns that the log is committed up to index C (the driver starts persisting
// the Ready whose hard state carries C: TimedStorage.onCommitKnown) to the moment the DNS zone of
// this node answers from a state that includes C (the 'applied' event for an index >= C, after
// src/records has flushed its records and raised the SOA serial).
//
// It therefore covers, on every member including learners: the fsync of that Ready, applying the
// committed entries to the IPAM state machine, and building and publishing their DNS records. It
// does not cover the replication before this node learned of the commit (on a follower, one
// heartbeat or append round after the leader's commit; there is no common clock across nodes to
// measure that). Batches that changed no IPAM state (Raft no-ops, membership entries) are not
// observed.

import { performance } from 'node:perf_hooks';

export const answerableLimits = {
  /**
   * Commit advances waiting for their apply. The driver applies in the Ready that announced the
   * commit, so this holds one or two; the bound only guards against a stalled apply.
   */
  pendingCommitsMax: 1024,
} as const;

interface Mark {
  readonly commit: number;
  readonly atMs: number;
}

export class AnswerableClock {
  private marks: Mark[] = [];
  private lastApplied = 0;

  constructor(
    /** Commands applied so far by the state machine (TimedStateMachine.applied). */
    private readonly appliedCommands: () => number,
    private readonly observe: (seconds: number) => void,
  ) {}

  /** TimedStorage.onCommitKnown. */
  commitKnown(commit: number, atMs: number): void {
    if (this.marks.length >= answerableLimits.pendingCommitsMax) this.marks.shift();
    this.marks.push({ commit, atMs });
  }

  /** Call after the zone was updated for `index` (records.onApplied(index) returned). */
  answerable(index: number): void {
    const now = performance.now();
    const applied = this.appliedCommands();
    const changed = applied !== this.lastApplied;
    this.lastApplied = applied;
    let done = 0;
    while (done < this.marks.length && this.marks[done]!.commit <= index) {
      if (changed) this.observe((now - this.marks[done]!.atMs) / 1000);
      done++;
    }
    if (done > 0) this.marks = this.marks.slice(done);
  }
}
