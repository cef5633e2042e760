// The durable half of a Raft node: log entries, hard state and the latest snapshot. The driver
// (raft/node) calls `load()` once on start and hands the result to RaftCore, then calls `save()`
// once per Ready with everything that Ready asks to persist, and waits for it before sending
// `messagesAfterPersist` (Raft §5.1, Figure 2: state must be durable before a node votes or
// acknowledges). Two implementations: LevelStorage (LevelDB, fsync) and MemoryStorage (tests).

import type { Entry, HardState, LogIndex, RestoredState, Snapshot } from '../core/types.js';

/** Everything one Ready asks to persist; `save()` writes it in one atomic, synced batch. */
export interface StorageUpdate {
  /** The new hard state (term, vote, commit), or null when unchanged. */
  readonly hardState: HardState | null;
  /**
   * Entries to append, contiguous and ascending. The first may be at or below the stored last
   * index: it replaces that index, and every stored entry after it is deleted in the same batch
   * (the conflicting-suffix truncation of Raft §5.3). It must not be above lastIndex + 1 (that
   * would leave a gap) nor at or below the snapshot index (that part of the log is compacted).
   */
  readonly entries: readonly Entry[];
  /**
   * A snapshot received from the leader and installed by the core, or null. It REPLACES the whole
   * log: every stored entry is deleted (a follower's entries above the snapshot may belong to a
   * different history, and the core forgets them too), then `entries` (if any, starting at
   * snapshot.meta.index + 1) are written. It is applied before `entries` and `hardState`.
   */
  readonly snapshot: Snapshot | null;
}

export interface StorageStats {
  /** Synced batches written by save()/saveSnapshot() (fsyncs, unless unsafeNoFsync). */
  readonly batches: number;
  readonly entriesWritten: number;
  /** Bytes of encoded values written (entries, hard state, snapshots). */
  readonly bytesWritten: number;
  /** Sum of the wall time of all batches, for the entries-per-fsync and fsync latency figures. */
  readonly batchMsTotal: number;
  /** Entries deleted by load() because they were corrupt above the commit index. */
  readonly truncatedOnLoad: number;
  /** fsyncs of the data directory after a synced write that LevelDB made in a new file (0 in memory). */
  readonly dirSyncs: number;
}

export interface RaftStorage {
  /**
   * Reads and verifies everything. Returns null for a new (empty) store: the node then makes a
   * bootstrap snapshot and saves it with a hard state (the first save() on an empty store MUST
   * carry both). A corrupt or missing tail above the stored commit index is deleted (synced) and
   * logged; corruption at or below the commit index, or in the hard state or snapshot, rejects with
   * a StorageCorruptionError. The returned commit index is at least the snapshot index (all a
   * snapshot covers is committed). Call once, before any other method except getMeta/putMeta.
   */
  load(): Promise<RestoredState | null>;
  /** Persists one Ready's worth of state in one synced batch; see StorageUpdate for the rules. */
  save(update: StorageUpdate): Promise<void>;
  /**
   * The application compacted its state at `snapshot.meta.index` (<= applied): store the snapshot
   * in one synced batch and delete entries <= its index (the deletes need not be atomic with it or
   * synced: load() drops entries at or below the snapshot index); entries above it are kept. A snapshot
   * not newer than the stored one is ignored (a leader's snapshot may have overtaken it). save()
   * calls made while it runs need not wait for its data to be written (LevelStorage does not).
   */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** First stored entry index (snapshot index + 1 when the log is empty). Valid after load(). */
  firstIndex(): LogIndex;
  /** Last stored entry index (the snapshot index when the log is empty). Valid after load(). */
  lastIndex(): LogIndex;
  /** Small application metadata (e.g. the cluster id), not part of Raft state; null if absent. */
  getMeta(key: string): Promise<Uint8Array | null>;
  /** Writes one metadata value, synced. Keys are 1..metaKeyBytesMax bytes of UTF-8. */
  putMeta(key: string, value: Uint8Array): Promise<void>;
  stats(): StorageStats;
  /** Waits for writes in progress, then releases the store. Idempotent. */
  close(): Promise<void>;
}

export const storageLimits = {
  /** Keys of getMeta/putMeta. */
  metaKeyBytesMax: 200,
  /** Values of putMeta. */
  metaValueBytesMax: 64 * 1024,
} as const;

export type StorageErrorCode = 'corruption' | 'closed' | 'invalid_argument' | 'io';

/** The one error type of this layer; `code` is a closed set. */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/**
 * The data on disk cannot be trusted at or below the commit index (or in the hard state or the
 * snapshot): the node must stop rather than serve or replicate wrong data. The operator restores
 * the data directory from a peer (delete it and rejoin as a new member) after reading `message`.
 */
export class StorageCorruptionError extends StorageError {
  constructor(
    message: string,
    /** The data directory (or "memory"). */
    readonly dataDir: string,
    /** The first bad log index, or null when the hard state or snapshot is bad. */
    readonly index: LogIndex | null,
  ) {
    super('corruption', message);
    this.name = 'StorageCorruptionError';
  }
}

export interface LevelStorageOptions {
  /** The LevelDB directory (created if missing). One process at a time: LevelDB locks it. */
  readonly dataDir: string;
  /**
   * BENCHMARKS ONLY: write batches without fsync. A crash then loses acknowledged writes, which
   * breaks Raft's safety (DESIGN §6); the fault tests must catch it. Default false.
   */
  readonly unsafeNoFsync?: boolean;
  /** Structured log sink for recovery events (truncation on load); default console.warn. */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}
// Construct with `await LevelStorage.open(options)` (raft/storage/level-storage.ts) or
// `new MemoryStorage()` (raft/storage/memory-storage.ts); both are exported from ./index.js.
