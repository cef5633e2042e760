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
   * changes within one tick have the same mtime; twice the coarsest tick, to be safe.
   */
  mtimeGranularityMs: 20,
} as const;

/**
 * Decides when a directory must be fsynced again, from its mtime: after a change, and, because an
 * mtime is only as fine as the clock's tick, once more after that tick has passed. Why the second
 * condition: a sync whose fstat saw mtime T while the clock was still in T's tick cannot tell a
 * change made later in the same tick (it leaves the mtime at T) from no change, and a save that
 * trusted the equal mtime would count a new LevelDB log as durable while its name is not.
 */
export class DirChangeTracker {
  /** The mtime seen by the last sync's fstat (NaN: none yet). */
  private syncedMtimeMs = Number.NaN;
  /** That sync's fstat came when the clock was past the mtime's tick: nothing in it can follow. */
  private settled = false;

  /** Whether a directory whose fstat shows mtime `mtimeMs` needs an fsync. */
  needsSync(mtimeMs: number): boolean {
    return mtimeMs !== this.syncedMtimeMs || !this.settled;
  }

  /** An fsync that follows an fstat that saw `mtimeMs` when the clock read `nowMs`. */
  synced(mtimeMs: number, nowMs: number): void {
    this.syncedMtimeMs = mtimeMs;
    // A clock stepped back makes this false: more syncs, never fewer.
    this.settled = nowMs - mtimeMs >= dirSyncLimits.mtimeGranularityMs;
  }
}
