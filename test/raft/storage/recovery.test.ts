// LevelStorage recovery (raft/storage/recover.ts): bytes are flipped directly in LevelDB, then the
// store is reopened. A bad tail above the commit index is dropped (it was never acknowledged as
// committed, Raft §5.3 lets the leader resend it); anything bad at or below it stops the node.
import { Level } from 'level';
import t from 'tap';
import { StorageCorruptionError } from '../../../raft/storage/index.js';
import { LevelStorage } from '../../../raft/storage/level-storage.js';
import { readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr, unpack } from 'msgpackr';
import {
  ENTRY_KEY_END,
  ENTRY_KEY_START,
  KEY_HARD_STATE,
  KEY_SNAPSHOT,
  chunkKey,
  decodeSnapshotHeader,
  encodeEntry,
  encodeSnapshotHeader,
  entryKey,
  entryKeyIndex,
  seal,
  unseal,
} from '../../../raft/storage/codec.js';
import { crc32c } from '../../../raft/storage/crc32c.js';
import { snapshotFileName } from '../../../raft/storage/snapshot-file.js';
import { bootstrap, entries, hard, plain, tempDir } from './helpers.js';

type Db = Level<Uint8Array, Uint8Array>;

const packr = new Packr({ useRecords: false });

async function withRawDb(dataDir: string, f: (db: Db) => Promise<void>): Promise<void> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dataDir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    await f(db);
  } finally {
    await db.close();
  }
}

async function flipByte(db: Db, key: Uint8Array, at = -1): Promise<void> {
  const value = await db.get(key);
  if (value === undefined) throw new Error('no such key');
  const copy = Buffer.from(value);
  const i = at < 0 ? copy.length + at : at;
  copy[i] = copy[i]! ^ 0x5a;
  await db.put(key, copy);
}

/** A store with entries 1..10 in term 2, commit 6. */
async function seeded(dataDir: string): Promise<void> {
  const s = await LevelStorage.open({ dataDir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(2, 6), entries: entries(1, 10, 2), snapshot: bootstrap() });
  await s.close();
}

async function reopen(dataDir: string, events: Array<[string, Record<string, unknown>]> = []): Promise<LevelStorage> {
  return LevelStorage.open({ dataDir, log: (e, f) => events.push([e, f]) });
}

t.test('a corrupt entry above the commit index is truncated with everything after it', async (t) => {
  const dir = tempDir(t, 'recovery');
  await seeded(dir);
  await withRawDb(dir, (db) => flipByte(db, entryKey(8)));
  const events: Array<[string, Record<string, unknown>]> = [];
  const s = await reopen(dir, events);
  const state = await s.load();
  t.same(plain(state!.entries), plain(entries(1, 7, 2)));
  t.equal(s.lastIndex(), 7);
  t.equal(s.stats().truncatedOnLoad, 3);
  t.equal(events.length, 1);
  t.equal(events[0]![0], 'truncated_corrupt_tail');
  t.match(events[0]![1], { dataDir: dir, fromIndex: 8, entries: 3, commit: 6 });
  t.match(String(events[0]![1]['problem']), /checksum mismatch/);
  // The truncation is durable and the store keeps working from index 8.
  await s.save({ hardState: hard(3, 6), entries: entries(8, 9, 3), snapshot: null });
  await s.close();
  const s2 = await reopen(dir);
  t.same(plain((await s2.load())!.entries), plain([...entries(1, 7, 2), ...entries(8, 9, 3)]));
  await s2.close();
});

t.test('a torn (shortened) last entry above commit is truncated', async (t) => {
  const dir = tempDir(t, 'recovery');
  await seeded(dir);
  await withRawDb(dir, async (db) => {
    const v = (await db.get(entryKey(10)))!;
    await db.put(entryKey(10), v.subarray(0, 3));
  });
  const s = await reopen(dir);
  t.equal((await s.load())!.entries.length, 9);
  await s.close();
});

t.test('a missing entry above commit (a gap) truncates from the gap', async (t) => {
  const dir = tempDir(t, 'recovery');
  await seeded(dir);
  await withRawDb(dir, (db) => db.del(entryKey(8)));
  const s = await reopen(dir);
  t.same(plain((await s.load())!.entries), plain(entries(1, 7, 2)));
  await s.close();
  await withRawDb(dir, async (db) => {
    t.equal(await db.get(entryKey(9)), undefined, 'entries after the gap were deleted');
  });
});

t.test('corruption at or below the commit index throws StorageCorruptionError', async (t) => {
  for (const index of [1, 6]) {
    const dir = tempDir(t, 'recovery');
    await seeded(dir);
    await withRawDb(dir, (db) => flipByte(db, entryKey(index), 6));
    const s = await reopen(dir);
    const err = await s.load().then(
      () => null,
      (e: unknown) => e,
    );
    t.type(err, StorageCorruptionError, `index ${index}`);
    const c = err as StorageCorruptionError;
    t.equal(c.index, index);
    t.equal(c.dataDir, dir);
    t.match(c.message, new RegExp(`at log index ${index}:.*commit index 6`));
    t.match(c.message, dir);
    await s.close();
    // Nothing was deleted: the operator gets the evidence intact.
    await withRawDb(dir, async (db) => {
      t.not(await db.get(entryKey(10)), undefined);
    });
  }
});

t.test('a gap at or below commit, or a log shorter than commit, is corruption', async (t) => {
  const dir = tempDir(t, 'recovery');
  await seeded(dir);
  await withRawDb(dir, (db) => db.del(entryKey(3)));
  const s = await reopen(dir);
  await t.rejects(s.load(), { name: 'StorageCorruptionError', index: 3, message: /entry 3 is missing/ });
  await s.close();

  const dir2 = tempDir(t, 'recovery');
  await seeded(dir2);
  await withRawDb(dir2, async (db) => {
    for (let i = 5; i <= 10; i++) await db.del(entryKey(i));
  });
  const s2 = await reopen(dir2);
  await t.rejects(s2.load(), { name: 'StorageCorruptionError', index: 5, message: /log ends at 4 but the commit index is 6/ });
  await s2.close();
});

t.test('a term that goes backwards is corruption (log matching, Raft §5.3)', async (t) => {
  const dir = tempDir(t, 'recovery');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(3, 2), entries: entries(1, 4, 3), snapshot: bootstrap() });
  await s.close();
  // Write a well-formed, correctly checksummed entry with a lower term under index 4 (above commit).
  const tmp = tempDir(t, 'recovery-src');
  const src = await LevelStorage.open({ dataDir: tmp, log: () => undefined });
  await src.load();
  await src.save({ hardState: hard(1, 0), entries: entries(1, 4, 1), snapshot: bootstrap() });
  await src.close();
  let lowTerm: Uint8Array | undefined;
  await withRawDb(tmp, async (db) => {
    lowTerm = await db.get(entryKey(4));
  });
  await withRawDb(dir, (db) => db.put(entryKey(4), lowTerm!));
  const again = await reopen(dir);
  t.equal((await again.load())!.entries.length, 3, 'dropped above commit');
  await again.close();
  await withRawDb(dir, (db) => db.put(entryKey(2), lowTerm!));
  const third = await reopen(dir);
  await t.rejects(third.load(), { name: 'StorageCorruptionError', index: 2 });
  await third.close();
});

/** The snapshot files in a data directory (LevelDB's own files are not). */
function snapshotFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('snapshot-')).sort();
}

function flipFileByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0x5a;
  writeFileSync(path, bytes);
}

t.test('corrupt hard state or snapshot throws with index null', async (t) => {
  const file = snapshotFileName({ index: 2, term: 1 });
  const cases: Array<[string, (db: Db, dir: string) => Promise<void> | void, RegExp]> = [
    ['hard state', (db) => flipByte(db, KEY_HARD_STATE), /hard state: checksum mismatch/],
    ['snapshot header', (db) => flipByte(db, KEY_SNAPSHOT, 5), /snapshot header: checksum mismatch/],
    ['snapshot file', (_db, dir) => flipFileByte(join(dir, file), 3), /snapshot file snapshot-0+2-0+1\.snap: checksum mismatch/],
    ['short snapshot file', (_db, dir) => truncateSync(join(dir, file), 5), /has 5 bytes, header says 14/],
    ['missing snapshot file', (_db, dir) => unlinkSync(join(dir, file)), /snapshot file snapshot-0+2-0+1\.snap is missing/],
    ['missing hard state', (db) => db.del(KEY_HARD_STATE), /hard state record is missing/],
  ];
  for (const [name, damage, message] of cases) {
    const dir = tempDir(t, 'recovery');
    const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
    await s.load();
    await s.save({ hardState: hard(1, 2), entries: entries(3, 4, 1), snapshot: bootstrap(2, 1, Buffer.from('snapshot bytes')) });
    await s.close();
    t.same(snapshotFiles(dir), [file], `${name}: the data is in the snapshot's file`);
    await withRawDb(dir, async (db) => damage(db, dir));
    const again = await reopen(dir);
    await t.rejects(again.load(), { name: 'StorageCorruptionError', index: null, message }, name);
    await again.close();
  }
});

t.test('a header naming another file, or chunks and a file, is corrupt', async (t) => {
  const meta = bootstrap(2, 1).meta;
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a path', { file: '../x.snap' }, /file: not a snapshot file name: "\.\.\/x\.snap"/],
    ['another snapshot\'s file', { file: snapshotFileName({ index: 3, term: 1 }) }, /is not the file of snapshot 2 \(term 1\)/],
    ['chunks too', { file: snapshotFileName(meta), chunks: 2 }, /the data is in one place/],
  ];
  for (const [name, fields, message] of cases) {
    const header = unseal(encodeSnapshotHeader({ meta, totalBytes: 14, chunks: 0, dataCrc: 0 }));
    const record = seal(packr.pack({ ...(unpack(header as Uint8Array) as object), ...fields }));
    t.match(decodeSnapshotHeader(record), message, name);
  }
});

t.test('big snapshots are files; a new one replaces the old file, and stray files are deleted on load', async (t) => {
  const dir = tempDir(t, 'recovery');
  const big = Buffer.alloc(9 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(1, 5), entries: entries(1, 10, 1), snapshot: bootstrap() });
  await s.saveSnapshot(bootstrap(5, 1, big));
  await s.close();
  t.same(snapshotFiles(dir), [snapshotFileName({ index: 5, term: 1 })], 'the bootstrap\'s file was deleted once 5 was durable');
  t.ok(readFileSync(join(dir, snapshotFileName({ index: 5, term: 1 }))).equals(big), 'the file holds the data as is');
  // A crash between a file's write and its header's batch leaves files nobody names.
  writeFileSync(join(dir, snapshotFileName({ index: 9, term: 2 })), 'unnamed');
  writeFileSync(join(dir, `${snapshotFileName({ index: 9, term: 2 })}.7.tmp`), 'half written');
  writeFileSync(join(dir, 'snapshot-notes.txt'), 'not ours to delete');
  const events: Array<[string, Record<string, unknown>]> = [];
  const s2 = await reopen(dir, events);
  const state = await s2.load();
  t.ok(Buffer.from(state!.snapshot.data).equals(big), 'big snapshot round-trips');
  t.same(snapshotFiles(dir), [snapshotFileName({ index: 5, term: 1 }), 'snapshot-notes.txt']);
  t.match(events, [['deleted_stray_snapshot_files', { dataDir: dir, files: [snapshotFileName({ index: 9, term: 2 }), `${snapshotFileName({ index: 9, term: 2 })}.7.tmp`].sort() }]]);
  await s2.saveSnapshot(bootstrap(8, 1, Buffer.from('small')));
  await s2.saveSnapshot(bootstrap(6, 1, Buffer.from('older')));
  await s2.close();
  t.same(snapshotFiles(dir), [snapshotFileName({ index: 8, term: 1 }), 'snapshot-notes.txt'], 'the replaced and the ignored older snapshot left no file');
  const s3 = await reopen(dir);
  const state3 = await s3.load();
  t.equal(Buffer.from(state3!.snapshot.data).toString(), 'small');
  t.same(plain(state3!.entries), plain(entries(9, 10, 1)));
  await s3.close();
});

t.test('close() right after saveSnapshot() waits for its file and stores it', async (t) => {
  const dir = tempDir(t, 'recovery');
  const big = Buffer.alloc(8 * 1024 * 1024, 7);
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(1, 5), entries: entries(1, 10, 1), snapshot: bootstrap() });
  const saved = s.saveSnapshot(bootstrap(5, 1, big));
  await s.close();
  await saved;
  t.same(snapshotFiles(dir), [snapshotFileName({ index: 5, term: 1 })], 'no temporary file left, the old one deleted');
  const again = await reopen(dir);
  const state = await again.load();
  t.equal(state!.snapshot.meta.index, 5);
  t.ok(Buffer.from(state!.snapshot.data).equals(big));
  await again.close();
  await t.rejects(again.saveSnapshot(bootstrap(9, 1, big)), { name: 'StorageError', code: 'closed' }, 'and after close() it refuses');
});

/**
 * A store in the layout before snapshot files, written by hand: entries 1..10, and a snapshot at
 * index 4 whose data is in 'd' + chunk number records and whose header names no file.
 */
async function chunkedStore(t: Parameters<typeof tempDir>[0], data: Buffer, damage?: (db: Db) => Promise<void>): Promise<string> {
  const dir = tempDir(t, 'recovery');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(1, 5), entries: entries(1, 10, 1), snapshot: bootstrap() });
  await s.close();
  const chunks = [data.subarray(0, 8), data.subarray(8, 16), data.subarray(16)];
  await withRawDb(dir, async (db) => {
    for (const [c, chunk] of chunks.entries()) await db.put(chunkKey(c), seal(chunk));
    await db.put(KEY_SNAPSHOT, encodeSnapshotHeader({ meta: bootstrap(4, 1).meta, totalBytes: data.length, chunks: chunks.length, dataCrc: crc32c(data) }));
    await damage?.(db);
  });
  for (const f of snapshotFiles(dir)) unlinkSync(join(dir, f));
  return dir;
}

t.test('a store that kept its snapshot in chunks (before snapshot files) loads; the next snapshot deletes the chunks', async (t) => {
  const data = Buffer.from('0123456789abcdefghij');
  const dir = await chunkedStore(t, data);
  const s2 = await reopen(dir);
  const state = await s2.load();
  t.equal(Buffer.from(state!.snapshot.data).toString(), data.toString(), 'the chunks are read back in order');
  t.equal(state!.snapshot.meta.index, 4);
  await s2.saveSnapshot(bootstrap(8, 1, Buffer.from('small')));
  await s2.close();
  await withRawDb(dir, async (db) => {
    for (let c = 0; c < 3; c++) t.equal(await db.get(chunkKey(c)), undefined, `chunk ${c} deleted`);
  });
  t.same(snapshotFiles(dir), [snapshotFileName({ index: 8, term: 1 })]);
  const s3 = await reopen(dir);
  t.equal(Buffer.from((await s3.load())!.snapshot.data).toString(), 'small');
  await s3.close();
  // A damaged chunk of the old layout is still caught.
  const damaged = await chunkedStore(t, data, (db) => flipByte(db, chunkKey(1)));
  const s5 = await reopen(damaged);
  await t.rejects(s5.load(), { name: 'StorageCorruptionError', index: null, message: /snapshot chunk 1: checksum mismatch/ });
  await s5.close();
});

async function storedEntryIndexes(db: Db): Promise<number[]> {
  const out: number[] = [];
  for await (const key of db.keys({ gte: ENTRY_KEY_START, lt: ENTRY_KEY_END })) out.push(entryKeyIndex(key)!);
  return out;
}

// level-storage.ts, dropCompacted: saveSnapshot deletes the compacted entries with a range delete
// outside its synced batch, so the deletes must be gone by close() and a crash before them must
// leave nothing load() cannot clean up.
t.test('saveSnapshot removes the compacted entries from LevelDB by the time the store is closed', async (t) => {
  const dir = tempDir(t, 'recovery');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(2, 40), entries: entries(1, 50, 2), snapshot: bootstrap() });
  await s.saveSnapshot(bootstrap(30, 2, Buffer.from('state at 30')));
  await s.saveSnapshot(bootstrap(40, 2, Buffer.from('state at 40')));
  await s.close();
  await withRawDb(dir, async (db) => {
    t.same(await storedEntryIndexes(db), Array.from({ length: 10 }, (_, i) => 41 + i));
  });
  const state = await (await reopen(dir)).load();
  t.same(plain(state!.entries), plain(entries(41, 50, 2)));
});

t.test('entries left at or below the snapshot index (a crash before the range delete) are dropped on load', async (t) => {
  const dir = tempDir(t, 'recovery');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await s.load();
  await s.save({ hardState: hard(2, 20), entries: entries(1, 25, 2), snapshot: bootstrap() });
  await s.saveSnapshot(bootstrap(20, 2, Buffer.from('state at 20')));
  await s.close();
  // Put the compacted entries back, as if the process died before the range delete reached disk.
  await withRawDb(dir, async (db) => {
    for (const e of entries(1, 20, 2)) await db.put(entryKey(e.index), encodeEntry(e));
  });
  const events: Array<[string, Record<string, unknown>]> = [];
  const s2 = await reopen(dir, events);
  const state = await s2.load();
  t.same(plain(state!.entries), plain(entries(21, 25, 2)));
  t.equal(s2.firstIndex(), 21);
  t.same(events, [], 'leftovers below the snapshot are not corruption');
  await s2.close();
  await withRawDb(dir, async (db) => {
    t.same(await storedEntryIndexes(db), [21, 22, 23, 24, 25]);
  });
});

t.test('a second process cannot open a store that is in use', async (t) => {
  const dir = tempDir(t, 'recovery');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  await t.rejects(LevelStorage.open({ dataDir: dir }), { name: 'StorageError', code: 'io', message: /LEVEL_LOCKED/ });
  await s.close();
});
