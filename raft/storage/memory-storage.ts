// RaftStorage in memory, for tests and the node's unit tests. It follows exactly the same rules as
// LevelStorage (the shared plan.ts), copies what it stores so later mutation by the caller cannot
// change "durable" state, and can be reopened to model a process restart (`reopen()`).

import { assert } from '../core/assert.js';
import type { Entry, HardState, LogIndex, RestoredState, Snapshot } from '../core/types.js';
import { type LogBounds, type LogPlan, planCompact, planSave } from './plan.js';
import { type RaftStorage, type StorageStats, type StorageUpdate, StorageError, storageLimits } from './storage.js';

/** What survives a restart; shared between a MemoryStorage and the ones reopen() makes. */
interface Durable {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: Map<number, Entry>;
  meta: Map<string, Uint8Array>;
}

const copyBytes = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const copyEntry = (e: Entry): Entry => (e.kind === 'normal' ? { ...e, data: copyBytes(e.data) } : { ...e });
const copySnapshot = (s: Snapshot): Snapshot => ({ meta: structuredClone(s.meta), data: copyBytes(s.data) });

export class MemoryStorage implements RaftStorage {
  private bounds: LogBounds | null = null;
  private closed = false;
  private readonly counters = { batches: 0, entriesWritten: 0, bytesWritten: 0, batchMsTotal: 0, truncatedOnLoad: 0, dirSyncs: 0 };

  constructor(private readonly durable: Durable = { hardState: null, snapshot: null, entries: new Map(), meta: new Map() }) {}

  /** A new instance over the same durable state, as if the process restarted (call load() on it). */
  reopen(): MemoryStorage {
    this.closed = true;
    return new MemoryStorage(this.durable);
  }

  async load(): Promise<RestoredState | null> {
    this.assertOpen();
    const { hardState, snapshot } = this.durable;
    if (hardState === null || snapshot === null) return Promise.resolve(null);
    const entries: Entry[] = [];
    for (let i = snapshot.meta.index + 1; this.durable.entries.has(i); i++) entries.push(copyEntry(this.durable.entries.get(i)!));
    assert(entries.length === this.durable.entries.size, 'memory storage holds entries outside its log');
    this.bounds = { snapshotIndex: snapshot.meta.index, lastIndex: snapshot.meta.index + entries.length };
    // As in LevelStorage: everything a snapshot covers is committed.
    const commit = Math.max(hardState.commit, snapshot.meta.index) as HardState['commit'];
    return Promise.resolve({ hardState: { ...hardState, commit }, snapshot: copySnapshot(snapshot), entries });
  }

  async save(update: StorageUpdate): Promise<void> {
    this.assertOpen();
    let bounds = this.bounds;
    if (bounds === null) {
      assert(update.snapshot !== null && update.hardState !== null, 'the first save() needs a snapshot and a hard state');
      bounds = { snapshotIndex: update.snapshot.meta.index, lastIndex: update.snapshot.meta.index };
    }
    const plan = planSave(bounds, update);
    if (update.snapshot === null && update.hardState === null && plan.puts.length === 0) return Promise.resolve();
    if (update.snapshot !== null) this.durable.snapshot = copySnapshot(update.snapshot);
    this.apply(plan);
    if (update.hardState !== null) this.durable.hardState = { ...update.hardState };
    this.counters.batches += 1;
    this.counters.entriesWritten += plan.puts.length;
    return Promise.resolve();
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.assertOpen();
    assert(this.bounds !== null, 'saveSnapshot() before load() or before the first save()');
    const plan = planCompact(this.bounds, snapshot.meta.index);
    if (plan === null) return Promise.resolve();
    this.durable.snapshot = copySnapshot(snapshot);
    this.apply(plan);
    this.counters.batches += 1;
    return Promise.resolve();
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
    const v = this.durable.meta.get(key);
    return Promise.resolve(v === undefined ? null : copyBytes(v));
  }

  async putMeta(key: string, value: Uint8Array): Promise<void> {
    this.assertOpen();
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes < 1 || keyBytes > storageLimits.metaKeyBytesMax || value.length > storageLimits.metaValueBytesMax) {
      return Promise.reject(new StorageError('invalid_argument', `metadata key or value out of bounds (key ${keyBytes} bytes, value ${value.length})`));
    }
    this.durable.meta.set(key, copyBytes(value));
    return Promise.resolve();
  }

  stats(): StorageStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private apply(plan: LogPlan): void {
    for (let i = plan.deleteFrom; i <= plan.deleteTo; i++) this.durable.entries.delete(i);
    for (const e of plan.puts) this.durable.entries.set(e.index, copyEntry(e));
    this.bounds = plan.next;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('closed', 'memory storage is closed');
  }
}
