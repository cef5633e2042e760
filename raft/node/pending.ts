// Callers waiting on the Ready loop: proposals keyed by log index, linearizable reads keyed by the
// read-index context and then by the index they wait for. Bounded (NodeLimits); every waiter
// settles exactly once: applied, rejected, timed out, or stopped — none is ever left hanging.

import type { Entry, LogIndex, Term } from '../core/types.js';
import { assert } from '../core/assert.js';
import { RaftError } from './api.js';

interface Waiter<T> {
  readonly resolve: (v: T) => void;
  readonly reject: (e: RaftError) => void;
  readonly deadlineMs: number;
}

export interface PendingProposal extends Waiter<unknown> {
  readonly term: Term;
}

/** Proposals whose entries are in the log but not yet applied here. */
export class PendingProposals {
  private readonly byIndex = new Map<number, PendingProposal>();

  get size(): number {
    return this.byIndex.size;
  }

  add(index: LogIndex, p: PendingProposal): void {
    const old = this.byIndex.get(index);
    // A second proposal at the same index means the first one's entry was overwritten without us
    // seeing it (e.g. a truncation that came with a snapshot): it can never be applied.
    if (old !== undefined) old.reject(new RaftError('not_leader', `entry ${index} was overwritten by a later term`));
    this.byIndex.set(index, p);
  }

  /** The entry at `e.index` was applied with `result`: settle whoever proposed that index. */
  applied(e: Entry, result: unknown): void {
    const p = this.byIndex.get(e.index);
    if (p === undefined) return;
    this.byIndex.delete(e.index);
    if (p.term === e.term) p.resolve(result);
    else p.reject(new RaftError('not_leader', `entry ${e.index} of term ${p.term} was replaced by term ${e.term}: not applied`));
  }

  /**
   * `entries` are about to replace this node's log from `entries[0].index` on (a follower taking a
   * new leader's log, Raft §5.3): a pending proposal at an index they cover with another term, or
   * above their end (the truncated suffix), can never be applied.
   */
  overwritten(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined || this.byIndex.size === 0) return;
    const last = entries[entries.length - 1]!;
    for (const [index, p] of this.byIndex) {
      if (index < first.index) continue;
      const replacing = index <= last.index ? entries[index - first.index] : undefined;
      assert(replacing === undefined || replacing.index === index, `entries not contiguous at ${index}`);
      if (replacing !== undefined && replacing.term === p.term) continue;
      this.byIndex.delete(index);
      p.reject(new RaftError('not_leader', `entry ${index} of term ${p.term} was overwritten by a new leader's log`));
    }
  }

  /** A snapshot from the leader covers indexes <= `index`: we cannot know whether ours were in it. */
  coveredBySnapshot(index: LogIndex): void {
    for (const [i, p] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      p.reject(new RaftError('timeout', `entry ${i} was compacted into a snapshot from the leader before it was applied here: outcome unknown`));
    }
  }

  expire(nowMs: number): void {
    for (const [i, p] of this.byIndex) {
      if (p.deadlineMs > nowMs) continue;
      this.byIndex.delete(i);
      p.reject(new RaftError('timeout', `entry ${i} not applied within its deadline: it may still be applied later`));
    }
  }

  rejectAll(err: RaftError): void {
    const all = [...this.byIndex.values()];
    this.byIndex.clear();
    for (const p of all) p.reject(err);
  }
}

/** Linearizable reads (ReadIndex, Raft dissertation §6.4). */
export class PendingReads {
  /** Reads not yet handed to the core: they share one read-index request. */
  private batch: Waiter<LogIndex>[] = [];
  /** Reads waiting for the core's answer to their context. */
  private readonly byContext = new Map<string, Waiter<LogIndex>[]>();
  /** Reads that have a read index and wait for the applied index to reach it. */
  private waitingApply: { readonly index: LogIndex; readonly w: Waiter<LogIndex> }[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(w: Waiter<LogIndex>): void {
    this.batch.push(w);
    this.count++;
  }

  /** Moves the batch under `context` (the caller then asks the core for a read index); false if empty. */
  takeBatch(context: string): boolean {
    if (this.batch.length === 0) return false;
    this.byContext.set(context, this.batch);
    this.batch = [];
    return true;
  }

  /** The core answered `context` with `index`. */
  answered(context: string, index: LogIndex, applied: LogIndex): void {
    const ws = this.byContext.get(context);
    if (ws === undefined) return; // timed out already, or another node's context
    this.byContext.delete(context);
    for (const w of ws) this.waitingApply.push({ index, w });
    this.applied(applied);
  }

  applied(applied: LogIndex): void {
    if (this.waitingApply.length === 0) return;
    const still: typeof this.waitingApply = [];
    for (const r of this.waitingApply) {
      if (r.index <= applied) {
        this.count--;
        r.w.resolve(applied);
      } else still.push(r);
    }
    this.waitingApply = still;
  }

  expire(nowMs: number): void {
    const err = () => new RaftError('timeout', 'no read index within the deadline (no leader, or leadership not confirmed)');
    this.batch = this.expireList(this.batch, nowMs, err);
    for (const [ctx, ws] of this.byContext) {
      const left = this.expireList(ws, nowMs, err);
      if (left.length === 0) this.byContext.delete(ctx);
      else this.byContext.set(ctx, left);
    }
    const still: typeof this.waitingApply = [];
    for (const r of this.waitingApply) {
      if (r.w.deadlineMs > nowMs) still.push(r);
      else {
        this.count--;
        r.w.reject(new RaftError('timeout', `applied index did not reach read index ${r.index} within the deadline`));
      }
    }
    this.waitingApply = still;
  }

  rejectAll(e: RaftError): void {
    const all = [...this.batch, ...[...this.byContext.values()].flat(), ...this.waitingApply.map((r) => r.w)];
    this.batch = [];
    this.byContext.clear();
    this.waitingApply = [];
    this.count = 0;
    for (const w of all) w.reject(e);
  }

  private expireList(ws: Waiter<LogIndex>[], nowMs: number, err: () => RaftError): Waiter<LogIndex>[] {
    const left: Waiter<LogIndex>[] = [];
    for (const w of ws) {
      if (w.deadlineMs > nowMs) left.push(w);
      else {
        this.count--;
        w.reject(err());
      }
    }
    return left;
  }
}
