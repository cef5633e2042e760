// LevelStorage makes LevelDB's new files durable by name (raft/storage/level-storage.ts,
// syncDirIfChanged): LevelDB fsyncs a new .log but not the directory entry that names it, so a
// save whose batch LevelDB wrote into a fresh log file must fsync the data directory before it
// resolves. Saves that add no file must not pay for a directory fsync.
import { readdirSync } from 'node:fs';
import t from 'tap';
import type { Entry } from '../../../raft/core/types.js';
import { logIndex, term } from '../../../raft/core/types.js';
import { LevelStorage } from '../../../raft/storage/level-storage.js';
import { bootstrap, hard, tempDir } from './helpers.js';

const logFiles = (dir: string): string => readdirSync(dir).filter((f) => f.endsWith('.log')).sort().join(',');

function bigEntries(from: number, count: number, bytes: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ kind: 'normal' as const, term: term(1), index: logIndex(from + i), data: Buffer.alloc(bytes, i & 0xff) }));
}

t.test('a save that LevelDB wrote into a new log file syncs the directory; others do not', async (t) => {
  const dir = tempDir(t, 'dirsync');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  t.teardown(() => s.close());
  t.ok(s.stats().dirSyncs >= 1, 'the directory LevelDB just created is synced on open');
  await s.load();
  await s.save({ hardState: hard(1, 0), entries: [], snapshot: bootstrap() });
  let next = 1;
  let rotations = 0;
  let quiet = 0;
  // LevelDB's memtable is 4 MiB by default: 48 saves of 256 KiB start at least two new log files.
  for (let i = 0; i < 48; i++) {
    const files = logFiles(dir);
    const syncs = s.stats().dirSyncs;
    await s.save({ hardState: hard(1, next), entries: bigEntries(next, 4, 64 * 1024), snapshot: null });
    next += 4;
    if (logFiles(dir) !== files) {
      rotations++;
      t.ok(s.stats().dirSyncs > syncs, `save ${i} moved LevelDB to a new log (${logFiles(dir)}) and synced the directory before resolving`);
    } else if (s.stats().dirSyncs === syncs) quiet++;
  }
  t.ok(rotations >= 1, `LevelDB started a new log file (${rotations} times)`);
  t.ok(quiet >= 30, `most saves added no file and synced no directory (${quiet} of 48)`);
});

t.test('unsafeNoFsync syncs no directory either', async (t) => {
  const dir = tempDir(t, 'dirsync-unsafe');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined, unsafeNoFsync: true });
  t.teardown(() => s.close());
  await s.load();
  await s.save({ hardState: hard(1, 0), entries: [], snapshot: bootstrap() });
  await s.save({ hardState: hard(1, 4), entries: bigEntries(1, 4, 1024), snapshot: null });
  t.equal(s.stats().dirSyncs, 0);
});
