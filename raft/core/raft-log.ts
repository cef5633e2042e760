// The in-memory log: the latest snapshot, then every entry after it. Entries from `unstableFrom` on
// have not yet been handed to the driver for persistence (or were replaced since); everything
// before is durable. The log also tracks the membership each conf entry produces, because a
// configuration takes effect as soon as its entry is appended (dissertation §4.1), and a truncated
// conf entry must take its configuration with it.

import { assert } from './assert.js';
import { entryBytes } from './limits.js';
import { applyChange } from './membership.js';
import type { Entry, LogIndex, Membership, Snapshot, Term } from './types.js';
import { logIndex, term as asTerm } from './types.js';

interface ConfPoint {
  readonly index: LogIndex;
  readonly membership: Membership;
}

export class RaftLog {
  private snap: Snapshot;
  private ents: Entry[];
  private unstableFrom: number;
  private confs: ConfPoint[] = [];
  /** A snapshot received from a leader and installed, not yet handed out in a Ready. */
  pendingSnapshot: Snapshot | null = null;
  private commitIndex: number;

  constructor(snapshot: Snapshot, entries: readonly Entry[], commit: LogIndex) {
    this.snap = snapshot;
    this.ents = [];
    this.unstableFrom = snapshot.meta.index + 1;
    this.appendUnchecked(entries);
    this.unstableFrom = this.lastIndex() + 1;
    assert(
      commit >= snapshot.meta.index && commit <= this.lastIndex(),
      () => `restored commit ${commit} outside [snapshot ${snapshot.meta.index}, last ${this.lastIndex()}]`,
    );
    this.commitIndex = commit;
  }

  get committed(): LogIndex {
    return logIndex(this.commitIndex);
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): LogIndex {
    return logIndex(this.snap.meta.index + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.snap.meta.index + this.ents.length);
  }

  lastTerm(): Term {
    return this.ents.at(-1)?.term ?? this.snap.meta.term;
  }

  /** The last index known durable (handed out in a Ready that was advanced). */
  stableLastIndex(): LogIndex {
    return logIndex(this.unstableFrom - 1);
  }

  /** The term of entry `i`, or undefined when it is compacted away or beyond the end. */
  term(i: number): Term | undefined {
    if (i === this.snap.meta.index) return this.snap.meta.term;
    if (i < this.snap.meta.index || i > this.lastIndex()) return undefined;
    return this.ents[i - this.snap.meta.index - 1]?.term;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  entry(i: number): Entry | undefined {
    return i > this.snap.meta.index ? this.ents[i - this.snap.meta.index - 1] : undefined;
  }

  /** Raft §5.4.1: is a log ending at (index, term) at least as up to date as this one? */
  isUpToDate(index: number, t: number): boolean {
    const lastTerm = this.lastTerm();
    return t > lastTerm || (t === lastTerm && index >= this.lastIndex());
  }

  /** The effective membership: that of the last conf entry, else the snapshot's. */
  membership(): Membership {
    return this.confs.at(-1)?.membership ?? this.snap.meta.membership;
  }

  /** The membership in force at index `i` (i >= the snapshot index). */
  membershipAt(i: number): Membership {
    let m = this.snap.meta.membership;
    for (const c of this.confs) {
      if (c.index > i) break;
      m = c.membership;
    }
    return m;
  }

  /** The index of the last conf entry, or the snapshot index when none is in the log. */
  lastConfIndex(): LogIndex {
    return this.confs.at(-1)?.index ?? this.snap.meta.index;
  }

  /** Entries from `lo`, at most `countMax` of them and `bytesMax` bytes, but at least one. */
  slice(lo: number, countMax: number, bytesMax: number): Entry[] {
    assert(lo > this.snap.meta.index, () => `slice from ${lo} <= snapshot index ${this.snap.meta.index}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.lastIndex() && out.length < countMax; i++) {
      const e = this.entry(i);
      assert(e !== undefined, () => `no entry ${i} in [${this.firstIndex()}, ${this.lastIndex()}]`);
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(e);
    }
    return out;
  }

  /** Entries in [lo, hi], all present. */
  between(lo: number, hi: number): Entry[] {
    if (hi < lo) return [];
    assert(lo > this.snap.meta.index && hi <= this.lastIndex(), () => `range [${lo}, ${hi}] outside the log`);
    const base = this.snap.meta.index + 1;
    return this.ents.slice(lo - base, hi - base + 1);
  }

  unstableEntries(): Entry[] {
    return this.between(this.unstableFrom, this.lastIndex());
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  /** The leader's append: `entries` continue the log exactly. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index === this.lastIndex() + 1, () => `append at ${first.index}, last index ${this.lastIndex()}`);
    this.appendUnchecked(entries);
  }

  /**
   * The follower's append: the first entry of `entries` replaces that index and everything after.
   * Committed entries are never replaced (Raft §5.3 and the Log Matching Property).
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(
      first.index > this.commitIndex && first.index <= this.lastIndex() + 1,
      () => `truncate at ${first.index} outside (commit ${this.commitIndex}, last+1 ${this.lastIndex() + 1}]`,
    );
    this.ents.length = first.index - this.snap.meta.index - 1;
    while ((this.confs.at(-1)?.index ?? 0) >= first.index) this.confs.pop();
    this.unstableFrom = Math.min(this.unstableFrom, first.index);
    this.appendUnchecked(entries);
  }

  private appendUnchecked(entries: readonly Entry[]): void {
    for (const e of entries) {
      const expected = this.lastIndex() + 1;
      assert(e.index === expected, () => `entry index ${e.index}, expected ${expected}`);
      assert(e.term >= this.lastTerm(), () => `entry ${e.index} term ${e.term} < previous term ${this.lastTerm()}`);
      this.ents.push(e);
      if (e.kind === 'conf') {
        this.confs.push({ index: e.index, membership: applyChange(this.membership(), e.change) });
      }
    }
  }

  /** Index of the first entry of `entries` whose term differs from ours or that we lack; 0 if none. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `t` (or the snapshot index, below which nothing
   * is known). Used both by a follower building a rejection hint and by the leader reading one, so
   * that a whole term of mismatching entries is skipped in one round trip (Raft §5.3, the
   * optimisation at the end of the section).
   */
  findConflictByTerm(index: number, t: number): { index: LogIndex; term: Term } {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snap.meta.index) {
      const ti = this.term(i);
      if (ti !== undefined && ti <= t) break;
      i--;
    }
    i = Math.max(i, this.snap.meta.index);
    return { index: logIndex(i), term: this.term(i) ?? asTerm(0) };
  }

  commitTo(i: number): boolean {
    if (i <= this.commitIndex) return false;
    assert(i <= this.lastIndex(), () => `commit ${i} > last index ${this.lastIndex()}`);
    this.commitIndex = i;
    return true;
  }

  /** The driver made entries up to (i, t) durable; ignore if they were replaced meanwhile. */
  stableTo(i: number, t: number): void {
    if (this.matchTerm(i, t) && i >= this.unstableFrom) this.unstableFrom = i + 1;
  }

  stableSnapshot(s: Snapshot): void {
    if (this.pendingSnapshot === s) this.pendingSnapshot = null;
  }

  /**
   * A node that is to join a cluster starts from a bootstrap snapshot at index 0 with no members
   * and an empty log. It knows nothing of the cluster's initial membership, which lives in the
   * cluster's own bootstrap snapshot, not in any entry: replaying entries from index 1 would give
   * it a wrong configuration. Such a node must first receive a snapshot (see follower.ts).
   */
  isUninitialized(): boolean {
    return this.snap.meta.index === 0 && this.ents.length === 0 && this.snap.meta.membership.members.length === 0;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(s: Snapshot): void {
    assert(
      s.meta.index > this.commitIndex || this.isUninitialized(),
      () => `restore snapshot ${s.meta.index} <= commit ${this.commitIndex}`,
    );
    this.snap = s;
    this.ents = [];
    this.confs = [];
    this.unstableFrom = s.meta.index + 1;
    this.commitIndex = s.meta.index;
    this.pendingSnapshot = s;
  }

  /** Drops entries <= `i`; `data` is the application's snapshot at `i`, kept to send to followers. */
  compact(i: number, data: Uint8Array): void {
    if (i <= this.snap.meta.index) return;
    const t = this.term(i);
    assert(t !== undefined && i < this.unstableFrom, () => `compact ${i}: not a durable entry (stable last ${this.unstableFrom - 1})`);
    const membership = this.membershipAt(i);
    this.ents = this.ents.slice(i - this.snap.meta.index);
    this.confs = this.confs.filter((c) => c.index > i);
    this.snap = { meta: { index: logIndex(i), term: t, membership }, data };
  }
}
