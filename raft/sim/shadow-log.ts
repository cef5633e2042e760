// The simulator's copy of one core's log, rebuilt only from what the core tells its driver: the
// snapshot and entries of each Ready (the log as the core holds it in memory) and, after a crash,
// what the simulated disk kept. The checkers read it; it is never handed back to the core.
// Compaction does not shrink it while the node runs: compaction removes no information from the
// log's meaning, and keeping the entries makes every check stronger.

import type { Entry, Membership, SnapshotMeta } from '../core/types.js';
import { applyChange } from './kv.js';
import { Violation } from './violation.js';

export class ShadowLog {
  /** Index and term of the snapshot the log starts after. */
  snapIndex = 0;
  snapTerm = 0;
  /** entries[k] has index snapIndex + 1 + k. */
  entries: Entry[] = [];
  /** Membership as of snapIndex, and the indexes of the conf entries after it, ascending. */
  private baseMembership: Membership = { members: [] };
  private confIndexes: number[] = [];

  get lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  /** The term at `index`, or undefined when the index is compacted away or beyond the log. */
  termAt(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    return this.entries[index - this.snapIndex - 1]?.term;
  }

  entryAt(index: number): Entry | undefined {
    return this.entries[index - this.snapIndex - 1];
  }

  /** A snapshot replaces the whole log (the contract: "the log is replaced"). */
  installSnapshot(meta: SnapshotMeta): void {
    this.snapIndex = meta.index;
    this.snapTerm = meta.term;
    this.entries = [];
    this.baseMembership = meta.membership;
    this.confIndexes = [];
  }

  /** The membership as of `index` (snapshot membership plus the conf entries up to it). */
  membershipAt(index: number): Membership {
    let m = this.baseMembership;
    for (const i of this.confIndexes) {
      if (i > index) break;
      const e = this.entryAt(i);
      if (e?.kind === 'conf') m = applyChange(m, e.change);
    }
    return m;
  }

  /**
   * Appends entries, truncating the conflicting suffix first. The core must never leave a gap or
   * write below its snapshot; either is a contract violation the driver would trip over.
   */
  write(node: string, entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.snapIndex || first.index > this.lastIndex + 1) {
      throw new Violation(
        'contract',
        `${node}: Ready.entries starts at ${first.index}, outside (${this.snapIndex}, ${this.lastIndex + 1}]`,
      );
    }
    this.entries.length = first.index - this.snapIndex - 1;
    while ((this.confIndexes.at(-1) ?? 0) >= first.index) this.confIndexes.pop();
    let expected = first.index;
    for (const e of entries) {
      if (e.index !== expected) {
        throw new Violation('contract', `${node}: Ready.entries not contiguous: ${e.index} after ${expected - 1}`);
      }
      this.entries.push(e);
      if (e.kind === 'conf') this.confIndexes.push(e.index);
      expected++;
    }
  }

  /** Replaces the whole content, e.g. with what a disk kept across a crash. */
  reset(meta: SnapshotMeta, entries: readonly Entry[]): void {
    this.installSnapshot(meta);
    for (const e of entries) {
      this.entries.push(e);
      if (e.kind === 'conf') this.confIndexes.push(e.index);
    }
  }
}
