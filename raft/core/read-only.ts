// ReadIndex bookkeeping on the leader (dissertation §6.4). Every read gets its own round number,
// and the leader's heartbeats carry the round as their context. A heartbeat response for round r
// proves that its sender still followed this leader after every read of round <= r was
// registered, so it confirms exactly those reads and never a later one. Rounds, not the caller's
// context, are what the heartbeats carry: a caller that repeats a context, or a heartbeat response
// delayed from an older round, therefore can never confirm a newer read (the stale-read bug from
// duplicated ReadIndex requests plus delayed heartbeats, shared/REFERENCE.md §6).

import { quorumIndex } from './membership.js';
import type { LogIndex, NodeId } from './types.js';

export interface PendingRead {
  readonly context: string;
  /** Who asked: the leader itself or a follower that forwarded the read. */
  readonly from: NodeId;
  /** The commit index when the read arrived: serving at it is linearizable once confirmed. */
  readonly index: LogIndex;
  readonly round: number;
}

const roundPattern = /^[1-9][0-9]{0,14}$/;

export class ReadOnly {
  private round = 0;
  private queue: PendingRead[] = [];
  private acked = new Map<NodeId, number>();
  /** Reads that arrived before the leader committed an entry of its term (not yet indexable). */
  awaitingCommit: { readonly context: string; readonly from: NodeId }[] = [];

  constructor(private readonly self: NodeId) {}

  get pending(): number {
    return this.queue.length + this.awaitingCommit.length;
  }

  /** The latest round, as a heartbeat context; '' when no read waits. */
  context(): string {
    return this.queue.length > 0 ? String(this.round) : '';
  }

  /** Registers a read at commit index `index`; returns the heartbeat context of its round. */
  add(context: string, from: NodeId, index: LogIndex): string {
    this.round++;
    this.queue.push({ context, from, index, round: this.round });
    return String(this.round);
  }

  /** A heartbeat response carrying `context` came from `from`. Unknown contexts are ignored. */
  ack(from: NodeId, context: string): void {
    if (!roundPattern.test(context)) return;
    const round = Number(context);
    if (round > this.round) return;
    if (round > (this.acked.get(from) ?? 0)) this.acked.set(from, round);
  }

  /** Removes and returns, in arrival order, every read a majority of `voters` has confirmed. */
  release(voters: readonly NodeId[]): PendingRead[] {
    if (this.queue.length === 0) return [];
    const confirmed = quorumIndex(voters, (id) => (id === this.self ? this.round : (this.acked.get(id) ?? 0)));
    let n = 0;
    while (n < this.queue.length && (this.queue[n]?.round ?? Infinity) <= confirmed) n++;
    return this.queue.splice(0, n);
  }
}
