// LevelStorage makes LevelDB's new files durable by name (raft/storage/level-storage.ts,
// syncDirIfChanged): LevelDB fsyncs a new .log but not the directory entry that names it, so a
// save whose batch LevelDB wrote into a fresh log file must fsync the data directory before it
// resolves. Saves that add no file must not pay for a directory fsync, once a sync has settled the
// directory's mtime (raft/storage/sync-dir.ts, DirChangeTracker).
import { closeSync, fstatSync, openSync, readdirSync } from 'node:fs';
import t from 'tap';
import type { Entry } from '../../../raft/core/types.js';
import { logIndex, term } from '../../../raft/core/types.js';
import { LevelStorage } from '../../../raft/storage/level-storage.js';
import { DirChangeTracker, dirSyncLimits } from '../../../raft/storage/sync-dir.js';
import { bootstrap, hard, tempDir } from './helpers.js';

const logFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.log')).sort();

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
  const g = dirSyncLimits.mtimeGranularityMs;
  const fd = openSync(dir, 'r');
  t.teardown(() => closeSync(fd));
  let next = 1;
  let rotations = 0;
  let settled = 0;
  let prev = { startMs: Number.NEGATIVE_INFINITY, mtimeMs: Number.NaN };
  // LevelDB's memtable is 4 MiB by default: 64 saves of 256 KiB start at least two new log files.
  for (let i = 0; i < 64; i++) {
    const files = logFiles(dir);
    const syncs = s.stats().dirSyncs;
    const mtimeMs = fstatSync(fd).mtimeMs;
    const startMs = Date.now();
    await s.save({ hardState: hard(1, next), entries: bigEntries(next, 4, 64 * 1024), snapshot: null });
    next += 4;
    // A new log is created inside the save's own write (LevelDB switches logs before writing the
    // batch): its name must be durable when the save resolves. An old log's deletion is not (it
    // comes from LevelDB's background thread, at any moment, and needs no sync).
    const created = logFiles(dir).filter((f) => !files.includes(f));
    if (created.length > 0) {
      rotations++;
      t.ok(s.stats().dirSyncs > syncs, `save ${i} moved LevelDB to a new log (${created.join(', ')}; before: ${files.join(', ')}) and synced the directory before resolving`);
    } else if (mtimeMs === prev.mtimeMs && fstatSync(fd).mtimeMs === mtimeMs && prev.startMs - mtimeMs >= g) {
      // No change since before the previous save, which began after the mtime's clock tick: that
      // save settled the directory (DirChangeTracker), so this one has nothing to sync.
      settled++;
      t.equal(s.stats().dirSyncs, syncs, `save ${i}: the directory is unchanged since a settled sync, no fsync`);
    }
    prev = { startMs, mtimeMs };
  }
  t.ok(rotations >= 1, `LevelDB started a new log file (${rotations} times)`);
  t.ok(settled >= 5, `saves with an unchanged, settled directory were checked (${settled} of 64)`);
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

// File timestamps come from a coarse clock: two changes within one tick can leave the same mtime.
// Within the tick of a sync an equal mtime proves nothing, so the names are compared instead.
t.test('a new name in the same clock tick as the last directory sync is not missed', async (t) => {
  const g = dirSyncLimits.mtimeGranularityMs;
  const d = new DirChangeTracker();
  let looks = 0;
  const names = (list: string) => (): string => {
    looks++;
    return list;
  };
  t.ok(d.needsSync(1000, 1000, names('a')), 'never synced');
  d.synced(1000, 1001, 'a');
  t.notOk(d.needsSync(1000, 1002, names('a')), 'same mtime and names: nothing new');
  t.ok(d.needsSync(1000, 1003, names('a\nb')), 'same mtime, a new name (a change later in the same tick): sync');
  t.equal(looks, 2, 'the names were looked at while the mtime was within its tick');
  d.synced(1000, 1003, 'a\nb');
  t.notOk(d.needsSync(1000, 1000 + g, names('a\nb')), 'a look after the tick finds nothing new: settled');
  looks = 0;
  t.notOk(d.needsSync(1000, 1000 + g + 50, names('a\nb\nc')), 'settled: an equal mtime means no change, without a look');
  t.equal(looks, 0);
  t.ok(d.needsSync(1000 + g + 60, 1000 + g + 61, names('a\nb')), 'a new mtime: sync');
  d.synced(1000 + g + 60, 1000 + g + 61, 'a\nb');
  t.notOk(d.needsSync(1000 + g + 60, 1000 + g + 40, names('a\nb')), 'a clock stepped back: nothing new by name...');
  t.ok(d.needsSync(1000 + g + 60, 1000 + g + 41, names('a\nb\nd')), '...and it stays unsettled, so a new name is still seen');
});
