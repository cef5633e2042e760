// A directory fsync, on its own so that code which only writes small files durably (the vnetd
// CLI's node file) does not load LevelDB to get it.
import { closeSync, fsyncSync, openSync } from 'node:fs';

/** Makes a rename or a new name in `dir` durable (POSIX: the entry lives in the directory). */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const dirSyncLimits = {
  /**
   * How long after a directory's mtime a change may still leave that mtime as it is. Linux stamps
   * files from its coarse clock (current_time(): one jiffy, 1-10 ms with HZ 1000-100), so two
   * changes within one tick can have the same mtime (kernels with multigrain timestamps, 6.13 on,
   * give a change after an fstat a finer one); twice the coarsest tick, to be safe.
   */
  mtimeGranularityMs: 20,
} as const;

/**
 * Decides when a directory must be fsynced again. A moved mtime means a change: sync. An equal
 * mtime proves nothing while it is within its clock tick of the last look: a change later in the
 * same tick leaves it as it was, and a save that trusted it would count a new LevelDB log as
 * durable while its name is not. Until a look after the tick, the directory's names are compared
 * with those the last sync covered instead (a few syscalls, no disk wait, unlike an fsync): any
 * difference means a sync. After that look an equal mtime means no change again.
 */
export class DirChangeTracker {
  /** The mtime the last sync's fstat saw (NaN: none yet), and the names it covered. */
  private syncedMtimeMs = Number.NaN;
  private syncedNames = '';
  /** A look after the synced mtime's tick: nothing in that tick can have followed unseen. */
  private settled = false;

  /**
   * Whether a directory whose fstat shows `mtimeMs`, at clock `nowMs` (read after the fstat),
   * needs an fsync; `names` lists it (sorted, joined), called only while the mtime is unsettled.
   */
  needsSync(mtimeMs: number, nowMs: number, names: () => string): boolean {
    if (mtimeMs !== this.syncedMtimeMs) return true;
    if (this.settled) return false;
    if (names() !== this.syncedNames) return true;
    // A clock stepped back keeps it unsettled: more looks, never fewer syncs.
    if (nowMs - mtimeMs >= dirSyncLimits.mtimeGranularityMs) this.settled = true;
    return false;
  }

  /** An fsync after an fstat that saw `mtimeMs` at clock `nowMs`, covering the directory's `names`. */
  synced(mtimeMs: number, nowMs: number, names: string): void {
    this.syncedMtimeMs = mtimeMs;
    this.syncedNames = names;
    this.settled = nowMs - mtimeMs >= dirSyncLimits.mtimeGranularityMs;
  }
}
