// What a save or a compaction does to the log, computed once and shared by LevelStorage and
// MemoryStorage so that both implement exactly the same rules (storage.ts, StorageUpdate).

import { assert } from '../core/assert.js';
import type { Entry } from '../core/types.js';
import type { StorageUpdate } from './storage.js';

/** The stored log is always the entries (snapshotIndex, lastIndex]; firstIndex = snapshotIndex + 1. */
export interface LogBounds {
  readonly snapshotIndex: number;
  readonly lastIndex: number;
}

export interface LogPlan {
  /** Delete stored entries in [deleteFrom, deleteTo] (empty when deleteFrom > deleteTo) first... */
  readonly deleteFrom: number;
  readonly deleteTo: number;
  /** ...then write these. */
  readonly puts: readonly Entry[];
  readonly next: LogBounds;
}

function assertContiguous(entries: readonly Entry[]): void {
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1]!;
    const e = entries[i]!;
    assert(e.index === prev.index + 1, () => `entries not contiguous: ${prev.index} then ${e.index}`);
    assert(e.term >= prev.term, () => `entry terms decrease: ${prev.term} at ${prev.index}, ${e.term} at ${e.index}`);
  }
}

export function planSave(bounds: LogBounds, update: StorageUpdate): LogPlan {
  let { snapshotIndex, lastIndex } = bounds;
  let deleteFrom = Number.POSITIVE_INFINITY;
  let deleteTo = Number.NEGATIVE_INFINITY;
  if (update.snapshot !== null) {
    // An installed snapshot replaces the whole log (see StorageUpdate.snapshot).
    deleteFrom = snapshotIndex + 1;
    deleteTo = lastIndex;
    snapshotIndex = update.snapshot.meta.index;
    lastIndex = snapshotIndex;
  }
  const entries = update.entries;
  if (entries.length > 0) {
    assertContiguous(entries);
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!.index;
    assert(first > snapshotIndex, () => `entry ${first} is at or below the snapshot index ${snapshotIndex}`);
    assert(first <= lastIndex + 1, () => `entry ${first} would leave a gap after last index ${lastIndex}`);
    if (last < lastIndex) {
      // The conflicting suffix beyond the new entries (Raft §5.3); overwritten keys need no delete.
      deleteFrom = Math.min(deleteFrom, last + 1);
      deleteTo = Math.max(deleteTo, lastIndex);
    }
    lastIndex = last;
  }
  return { deleteFrom, deleteTo, puts: entries, next: { snapshotIndex, lastIndex } };
}

/** A compaction to `index`, or null when the stored snapshot is already at or beyond it. */
export function planCompact(bounds: LogBounds, index: number): LogPlan | null {
  if (index <= bounds.snapshotIndex) return null;
  return {
    deleteFrom: bounds.snapshotIndex + 1,
    deleteTo: Math.min(index, bounds.lastIndex),
    puts: [],
    next: { snapshotIndex: index, lastIndex: Math.max(index, bounds.lastIndex) },
  };
}
