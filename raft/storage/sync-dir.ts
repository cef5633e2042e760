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
