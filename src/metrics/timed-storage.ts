// A RaftStorage decorator that times what raft/node asks the disk to do, so that the fsync latency,
// the group-commit factor and the snapshot write time can be exported without touching raft/.
// raft/node calls save() once per Ready and saveSnapshot() after compacting (raft/storage
// storage.ts), and waits for each: the wall time of one call is the time of one synced batch.
//
// It also reports the moment a new commit index becomes known on this node: the core puts a
// changed commit into the Ready's hard state, and the driver hands that Ready to save() before it
// applies the newly committed entries. src/metrics/answerable.ts measures from there.

import { performance } from 'node:perf_hooks';
import type { LogIndex, RestoredState, Snapshot } from '../../raft/core/types.js';
import type { RaftStorage, StorageStats, StorageUpdate } from '../../raft/storage/index.js';

export interface StorageTimingHooks {
  /** One save() finished: its wall time, the entries it appended, and a leader's snapshot it installed (bytes) if any. */
  onSave(seconds: number, entries: number, installedSnapshotBytes: number | null): void;
  /** One saveSnapshot() finished (a local snapshot stored and the log compacted). */
  onSaveSnapshot(seconds: number, bytes: number): void;
  /** A Ready carrying a higher commit index is being persisted (performance.now() milliseconds). */
  onCommitKnown(commit: LogIndex, atMs: number): void;
}

export class TimedStorage implements RaftStorage {
  private lastCommit = 0;

  constructor(
    private readonly inner: RaftStorage,
    private readonly hooks: StorageTimingHooks,
  ) {}

  async load(): Promise<RestoredState | null> {
    const state = await this.inner.load();
    // A commit index recovered from disk is not news: only later advances are measured.
    if (state !== null) this.lastCommit = state.hardState.commit;
    return state;
  }

  async save(update: StorageUpdate): Promise<void> {
    const started = performance.now();
    const commit = update.hardState?.commit;
    if (commit !== undefined && commit > this.lastCommit) {
      this.lastCommit = commit;
      this.hooks.onCommitKnown(commit, started);
    }
    await this.inner.save(update);
    this.hooks.onSave((performance.now() - started) / 1000, update.entries.length, update.snapshot === null ? null : update.snapshot.data.length);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const started = performance.now();
    await this.inner.saveSnapshot(snapshot);
    this.hooks.onSaveSnapshot((performance.now() - started) / 1000, snapshot.data.length);
  }

  firstIndex(): LogIndex {
    return this.inner.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.inner.lastIndex();
  }

  getMeta(key: string): Promise<Uint8Array | null> {
    return this.inner.getMeta(key);
  }

  putMeta(key: string, value: Uint8Array): Promise<void> {
    return this.inner.putMeta(key, value);
  }

  stats(): StorageStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
