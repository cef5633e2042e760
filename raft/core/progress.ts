// The leader's view of one follower (etcd's tracker.Progress). In `probe` the leader sends one
// append at a time and waits for the answer, searching for the point where the logs agree; in
// `replicate` it pipelines appends optimistically, bounded by `Inflights`; in `snapshot` it sends
// the snapshot chunk by chunk, each acknowledged, and sends no appends until it is installed.

import { assert, assertNever } from './assert.js';
import type { LogIndex } from './types.js';
import { logIndex } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A bounded window of append messages in flight, by last index and bytes. */
export class Inflights {
  private items: { index: number; bytes: number }[] = [];
  private head = 0;
  private bytesInFlight = 0;

  constructor(
    private readonly countMax: number,
    private readonly bytesMax: number,
  ) {}

  get count(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.bytesInFlight;
  }

  full(): boolean {
    return this.count >= this.countMax || this.bytesInFlight >= this.bytesMax;
  }

  add(index: number, bytes: number): void {
    assert(!this.full(), () => `inflights full: ${this.count}/${this.countMax} messages, ${this.bytesInFlight}/${this.bytesMax} bytes`);
    const last = this.items.at(-1);
    assert(this.count === 0 || last === undefined || index > last.index, () => `inflight index ${index} <= ${last?.index}`);
    this.items.push({ index, bytes });
    this.bytesInFlight += bytes;
  }

  /** Frees every message whose last index is <= `index` (they are acknowledged). */
  freeTo(index: number): void {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      if (item === undefined || item.index > index) break;
      this.bytesInFlight -= item.bytes;
      this.head++;
    }
    // Compact once the dead prefix dominates, so the array stays O(countMax).
    if (this.head > this.countMax) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  reset(): void {
    this.items = [];
    this.head = 0;
    this.bytesInFlight = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe: an append is outstanding; wait for its answer (or a heartbeat response). */
  probeSent = false;
  /** Heard from since the last check-quorum round (Raft §6.2 / dissertation §6.2 check-quorum). */
  recentActive = true;
  /** Snapshot state: the snapshot being sent and the bytes the follower acknowledged. */
  snapshotIndex = 0;
  snapshotOffset = 0;
  /** Snapshot state: a chunk was acknowledged since the last heartbeat (else the chunk is resent). */
  snapshotAcked = false;
  readonly inflights: Inflights;

  constructor(next: number, inflightMessagesMax: number, inflightBytesMax: number) {
    assert(next >= 1, `progress next ${next} < 1`);
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  becomeProbe(): void {
    // After a snapshot the follower has everything up to the snapshot at least.
    const floor = this.state === 'snapshot' ? Math.max(this.match, this.snapshotIndex) : this.match;
    this.reset('probe');
    this.next = floor + 1;
  }

  becomeReplicate(): void {
    this.reset('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.reset('snapshot');
    this.snapshotIndex = snapshotIndex;
    this.snapshotOffset = 0;
    this.snapshotAcked = false;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** An append was acknowledged up to `index`; returns whether match moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      this.probeSent = false;
      updated = true;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * An append with prevLogIndex `rejected` was refused; `matchHint` is the highest index the logs
   * may agree at. Returns false when the rejection is stale (it answers an older append).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
      default:
        return assertNever(this.state);
    }
  }

  /** An append carrying entries up to `lastIndex` (`bytes` in all) left for this follower. */
  sentEntries(lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex, bytes);
    } else {
      this.probeSent = true;
    }
  }

  matchIndex(): LogIndex {
    return logIndex(this.match);
  }
}
