// Small files that must survive a power cut once written (the node file, the cluster secret, a
// saved snapshot): write a temporary file, fsync it, rename it over the target, fsync the
// directory. A crash at any point leaves either the old file or the new one, never an empty or
// torn one (test/powerloss/data-dir.test.ts cuts power right after a start to check it).
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { syncDirectory } from '../raft/storage/sync-dir.js';

export { syncDirectory };

export function writeFileDurably(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDirectory(dirname(path));
}
