// RaftStorage on LevelDB (`level` / classic-level). Every save is one WriteBatch written with
// sync: true, so a Ready's entries, truncation, snapshot and hard state become durable together or
// not at all (LevelDB's own log makes a batch atomic across crashes). A snapshot's data is a file
// written and synced before the batch whose header record names it (snapshot-file.ts). Recovery
// is in recover.ts.

import { closeSync, fstatSync, fsync, fsyncSync, openSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { Level } from 'level';
import { assert } from '../core/assert.js';
import { DirChangeTracker, syncDirectory } from './sync-dir.js';
import type { LogIndex, RestoredState, Snapshot } from '../core/types.js';
import {
  KEY_HARD_STATE,
  KEY_SNAPSHOT,
  chunkKey,
  encodeEntry,
  encodeHardState,
  encodeSnapshotHeader,
  entryKey,
  metaKey,
  seal,
  unseal,
} from './codec.js';
import { crc32c } from './crc32c.js';
import { type LogBounds, type LogPlan, planCompact, planSave } from './plan.js';
import { recover } from './recover.js';
import { deleteSnapshotFile, deleteSnapshotFiles, snapshotFileName, writeSnapshotFile } from './snapshot-file.js';
import {
  type LevelStorageOptions,
  type RaftStorage,
  type StorageStats,
  type StorageUpdate,
  StorageCorruptionError,
  StorageError,
  storageLimits,
} from './storage.js';

type Db = Level<Uint8Array, Uint8Array>;

const fsyncAsync = promisify(fsync);
type Op = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

interface MutableStats {
  batches: number;
  entriesWritten: number;
  bytesWritten: number;
  batchMsTotal: number;
  truncatedOnLoad: number;
  dirSyncs: number;
}

const defaultLog = (event: string, fields: Record<string, unknown>): void => {
  console.warn(`raft/storage: ${event}`, fields);
};

export class LevelStorage implements RaftStorage {
  private bounds: LogBounds | null = null;
  /** Chunks of a snapshot stored the old way (in LevelDB), deleted by the next snapshot's batch. */
  private snapshotChunks = 0;
  /** The snapshot file the durable header names, or null. */
  private snapshotFile: string | null = null;
  /** saveSnapshot() file writes under way (outside the write queue): close() waits for them. */
  private readonly fileWrites = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;
  /** Writes run one at a time in call order; each sees the bounds the previous one left. */
  private tail: Promise<void> = Promise.resolve();
  /** Range deletes of compacted entries, in order, off the write queue (see dropCompacted). */
  private clearing: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private closed = false;
  private readonly sync: boolean;
  private readonly log: (event: string, fields: Record<string, unknown>) => void;
  private readonly counters: MutableStats = {
    batches: 0,
    entriesWritten: 0,
    bytesWritten: 0,
    batchMsTotal: 0,
    truncatedOnLoad: 0,
    dirSyncs: 0,
  };
  /** When the data directory needs an fsync again: see syncDirIfChanged. */
  private readonly dirChanges = new DirChangeTracker();
  /** The data directory, open for fstat and fsync (no path lookup or open per save); -1 with unsafeNoFsync. */
  private dirFd = -1;

  private constructor(
    private readonly db: Db,
    readonly dataDir: string,
    options: LevelStorageOptions,
  ) {
    this.sync = options.unsafeNoFsync !== true;
    this.log = options.log ?? defaultLog;
  }

  /** Opens (creating if missing) the LevelDB directory; rejects with StorageError 'io' if locked. */
  static async open(options: LevelStorageOptions): Promise<LevelStorage> {
    const db: Db = new Level<Uint8Array, Uint8Array>(options.dataDir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new StorageError('io', `cannot open LevelDB in ${options.dataDir}: ${cause}`);
    }
    const storage = new LevelStorage(db, options.dataDir, options);
    if (options.unsafeNoFsync === true) storage.log('unsafe_no_fsync', { dataDir: options.dataDir });
    else {
      // LevelDB may just have created the directory and its files: make their names durable too.
      try {
        syncDirectory(path.dirname(path.resolve(options.dataDir)));
        storage.dirFd = openSync(options.dataDir, 'r');
        storage.syncDirIfChanged();
      } catch (e) {
        if (storage.dirFd >= 0) closeSync(storage.dirFd);
        await db.close().catch(() => undefined);
        throw new StorageError('io', `cannot sync the directory of ${options.dataDir}: ${(e as Error).message}`);
      }
    }
    return storage;
  }

  async load(): Promise<RestoredState | null> {
    this.assertOpen();
    assert(this.bounds === null, 'load() called twice');
    const result = await recover(this.db, this.dataDir, this.log);
    if (result.deletes.length > 0) {
      const ops: Op[] = result.deletes.map((i) => ({ type: 'del', key: entryKey(i) }));
      // Synced even with unsafeNoFsync: recovery must not be redone differently after a crash.
      await this.db.batch(ops, { sync: true });
      this.counters.truncatedOnLoad += result.deletes.length;
    }
    // Files no header names: a snapshot written before a crash stopped its batch, or one replaced
    // by a newer snapshot whose delete had not happened yet.
    const stray = await deleteSnapshotFiles(this.dataDir, result.snapshotFile);
    if (stray.length > 0) this.log('deleted_stray_snapshot_files', { dataDir: this.dataDir, files: stray });
    if (result.state === null) return null;
    const s = result.state;
    this.snapshotChunks = result.snapshotChunks;
    this.snapshotFile = result.snapshotFile;
    const last = s.entries.length > 0 ? s.entries[s.entries.length - 1]!.index : s.snapshot.meta.index;
    this.bounds = { snapshotIndex: s.snapshot.meta.index, lastIndex: last };
    return s;
  }

  save(update: StorageUpdate): Promise<void> {
    return this.enqueue(async () => {
      const bounds = this.boundsForSave(update);
      const plan = planSave(bounds, update);
      const ops: Op[] = [];
      let file: string | null = null;
      if (update.snapshot !== null) {
        file = await this.writeSnapshotFile(update.snapshot);
        this.snapshotOps(update.snapshot, file, ops);
      }
      this.planOps(plan, ops);
      if (update.hardState !== null) ops.push(this.put(KEY_HARD_STATE, encodeHardState(update.hardState)));
      if (ops.length === 0) return; // nothing to persist: no fsync
      await this.write(ops);
      if (file !== null) this.replaceSnapshotFile(file);
      this.counters.entriesWritten += plan.puts.length;
      this.bounds = plan.next;
    });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('closed', `storage ${this.dataDir} is closed`));
    // The file is written first, outside the write queue, and only then is its small header batch
    // queued: saves made meanwhile do not wait for tens of MB to reach the disk.
    const written = this.writeSnapshotFile(snapshot);
    const forget = (): void => void this.fileWrites.delete(written);
    this.fileWrites.add(written);
    written.then(forget, forget);
    return written.then((file) => this.enqueue(async () => {
      assert(this.bounds !== null, 'saveSnapshot() before load() or before the first save()');
      const plan = planCompact(this.bounds, snapshot.meta.index);
      if (plan === null) {
        // Not newer than the stored snapshot (one installed meanwhile): its file is not needed.
        if (file !== this.snapshotFile) this.deleteLater(file);
        return;
      }
      const ops: Op[] = [];
      this.snapshotOps(snapshot, file, ops);
      await this.write(ops);
      this.replaceSnapshotFile(file);
      this.bounds = plan.next;
      this.dropCompacted(plan.deleteFrom, plan.deleteTo);
    }));
  }

  firstIndex(): LogIndex {
    assert(this.bounds !== null, 'firstIndex() before load()');
    return (this.bounds.snapshotIndex + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    assert(this.bounds !== null, 'lastIndex() before load()');
    return this.bounds.lastIndex as LogIndex;
  }

  async getMeta(key: string): Promise<Uint8Array | null> {
    this.assertOpen();
    const k = this.checkedMetaKey(key);
    const record = await this.db.get(k);
    if (record === undefined) return null;
    const payload = unseal(record);
    if (typeof payload === 'string') {
      throw new StorageCorruptionError(`metadata "${key}" in ${this.dataDir}: ${payload}`, this.dataDir, null);
    }
    return payload;
  }

  async putMeta(key: string, value: Uint8Array): Promise<void> {
    const k = this.checkedMetaKey(key);
    if (value.length > storageLimits.metaValueBytesMax) {
      return Promise.reject(
        new StorageError('invalid_argument', `metadata value of ${value.length} bytes, at most ${storageLimits.metaValueBytesMax}`),
      );
    }
    return this.enqueue(() => this.write([this.put(k, seal(value))]));
  }

  stats(): StorageStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  // ---- internals ------------------------------------------------------------------------------

  private async closeNow(): Promise<void> {
    // A snapshot file being written still gets its header batch: close() finishes what was asked.
    // (Its batch is queued when the write settles, before allSettled's own callbacks run.)
    while (this.fileWrites.size > 0) await Promise.allSettled([...this.fileWrites]);
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.clearing;
    await this.db.close();
    if (this.dirFd >= 0) closeSync(this.dirFd);
    this.dirFd = -1;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('closed', `storage ${this.dataDir} is closed`));
    const run = async (): Promise<void> => {
      // After a failed batch the bounds may not match the disk: refuse everything (fail-stop).
      if (this.failed !== null) throw this.failed;
      try {
        await work();
      } catch (e) {
        if (!(e instanceof StorageError) && !(e instanceof Error && e.name === 'AssertionError')) {
          this.failed = new StorageError('io', `write to ${this.dataDir} failed: ${(e as Error).message}`);
          throw this.failed;
        }
        throw e;
      }
    };
    const p = this.tail.then(run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private boundsForSave(update: StorageUpdate): LogBounds {
    if (this.bounds !== null) return this.bounds;
    // The first save on an empty store bootstraps it: it must carry a snapshot and a hard state.
    assert(update.snapshot !== null && update.hardState !== null, 'the first save() needs a snapshot and a hard state');
    return { snapshotIndex: update.snapshot.meta.index, lastIndex: update.snapshot.meta.index };
  }

  private planOps(plan: LogPlan, ops: Op[]): void {
    for (let i = plan.deleteFrom; i <= plan.deleteTo; i++) ops.push({ type: 'del', key: entryKey(i) });
    for (const e of plan.puts) ops.push(this.put(entryKey(e.index), encodeEntry(e)));
  }

  /**
   * Writes the snapshot's file (synced, and its name made durable by a directory fsync) and returns
   * its name: it must be on disk before any header names it.
   */
  private async writeSnapshotFile(snapshot: Snapshot): Promise<string> {
    const file = snapshotFileName(snapshot.meta);
    await writeSnapshotFile(this.dataDir, file, snapshot.data, this.sync);
    if (this.sync) {
      // Unconditionally, not syncDirIfChanged: the directory's mtime has a coarse clock, and a
      // rename in the same tick as the last recorded fsync would look like no change.
      await fsyncAsync(this.dirFd);
      this.counters.dirSyncs += 1;
    }
    this.counters.bytesWritten += snapshot.data.length;
    return file;
  }

  /** The header naming `file` (written), and deletes of chunks a store of the old format held. */
  private snapshotOps(snapshot: Snapshot, file: string, ops: Op[]): void {
    const data = snapshot.data;
    for (let c = 0; c < this.snapshotChunks; c++) ops.push({ type: 'del', key: chunkKey(c) });
    const header = { meta: snapshot.meta, totalBytes: data.length, chunks: 0, file, dataCrc: crc32c(data) };
    ops.push(this.put(KEY_SNAPSHOT, encodeSnapshotHeader(header)));
    // Assumes the batch succeeds; if it fails, `failed` stops every later write anyway.
    this.snapshotChunks = 0;
  }

  /** After the batch naming `file` is durable: the previous file is no longer needed. */
  private replaceSnapshotFile(file: string): void {
    const old = this.snapshotFile;
    this.snapshotFile = file;
    if (old !== null && old !== file) this.deleteLater(old);
  }

  /** Deletes a snapshot file behind the queued range deletes (close() waits for both); a failure is logged: load() retries. */
  private deleteLater(file: string): void {
    this.clearing = this.clearing
      .then(() => deleteSnapshotFile(this.dataDir, file))
      .catch((e: unknown) => this.log('snapshot_file_delete_failed', { dataDir: this.dataDir, file, err: String(e) }));
  }

  private put(key: Uint8Array, value: Uint8Array): Op {
    this.counters.bytesWritten += value.length;
    return { type: 'put', key, value };
  }

  /**
   * Deletes the compacted entries [from, to] with one native range delete, outside the write queue
   * and unsynced. Why not in the snapshot's batch: a batch costs main-thread time per operation
   * (10 000 deletes every `snapshotEntries` stalled the Ready loop for 50-100 ms, the 256-proposer
   * p99), and nothing depends on these deletes being atomic or durable: the snapshot header was
   * synced first, LevelDB's log keeps the deletes after it, no later save writes at or below a
   * snapshot index, and load() deletes any entry <= the snapshot index a crash left behind.
   */
  private dropCompacted(from: number, to: number): void {
    if (from > to) return;
    this.clearing = this.clearing
      .then(() => this.db.clear({ gte: entryKey(from), lte: entryKey(to) }))
      .catch((e: unknown) => this.log('compaction_delete_failed', { dataDir: this.dataDir, from, to, err: String(e) }));
  }

  /**
   * One synced batch. Built as a chained batch: abstract-level's array form clones and re-validates
   * every operation in JavaScript (about 10x the main-thread time per entry, measured: 5.5 ms vs
   * 0.6 ms for 256 entries), which the Ready loop pays on every save.
   */
  private async write(ops: Op[]): Promise<void> {
    const started = performance.now();
    const batch = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
    } catch (e) {
      await batch.close();
      throw e;
    }
    await batch.write({ sync: this.sync });
    if (this.sync) this.syncDirIfChanged();
    this.counters.batches += 1;
    this.counters.batchMsTotal += performance.now() - started;
  }

  /**
   * LevelDB fsyncs its log file but not the directory that names it. When it starts a new .log
   * (the memtable filled up) inside one of our synced writes, a power cut could lose the file's
   * name and every entry acknowledged since: on a file system that does not order the two (ext4
   * without a journal, as on this project's VMs) the file's own fdatasync says nothing about its
   * directory entry. So after a synced write, a directory whose mtime moved since its last fsync
   * is fsynced before the write counts as durable: one fstat per save, an fsync only when LevelDB
   * added or removed a file (a new log every few MB, compactions). Within the mtime's clock tick
   * of a sync, an equal mtime proves nothing, so the names are compared (DirChangeTracker).
   * Synchronous: it is rare, and it must complete before the save resolves.
   */
  private syncDirIfChanged(): void {
    const mtimeMs = fstatSync(this.dirFd).mtimeMs;
    const nowMs = Date.now();
    // Listed at most once per save, and before the fsync, which covers them: a change made while
    // it runs moves the mtime or the names, and is synced next time.
    let names: string | undefined;
    const list = (): string => (names ??= this.dirNames());
    if (!this.dirChanges.needsSync(mtimeMs, nowMs, list)) return;
    const covered = list();
    fsyncSync(this.dirFd);
    this.dirChanges.synced(mtimeMs, nowMs, covered);
    this.counters.dirSyncs += 1;
  }

  private dirNames(): string {
    return readdirSync(this.dataDir).sort().join('\n');
  }

  private checkedMetaKey(key: string): Uint8Array {
    const k = metaKey(key);
    if (k.length < 2 || k.length - 1 > storageLimits.metaKeyBytesMax) {
      throw new StorageError('invalid_argument', `metadata key must be 1..${storageLimits.metaKeyBytesMax} bytes`);
    }
    return k;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('closed', `storage ${this.dataDir} is closed`);
  }
}
