// Reading a LevelStorage back on start, trusting nothing: every record's checksum and shape is
// verified, the log must be contiguous after the snapshot with non-decreasing terms (Raft §5.3,
// log matching), and the hard state's commit index must be covered by the log. A bad tail above the
// commit index was never acknowledged as committed, so it is safe to drop (the leader resends it);
// anything bad at or below it is committed data we can no longer vouch for, so we stop.

import type { Level } from 'level';
import type { Entry, HardState, RestoredState, Snapshot } from '../core/types.js';
import {
  ENTRY_KEY_END,
  ENTRY_KEY_START,
  KEY_HARD_STATE,
  KEY_SNAPSHOT,
  type StoredSnapshotHeader,
  chunkKey,
  decodeEntry,
  decodeHardState,
  decodeSnapshotHeader,
  entryKeyIndex,
  unseal,
} from './codec.js';
import { crc32c } from './crc32c.js';
import { readSnapshotFile } from './snapshot-file.js';
import { StorageCorruptionError } from './storage.js';

type Db = Level<Uint8Array, Uint8Array>;
type Log = (event: string, fields: Record<string, unknown>) => void;

export interface Recovered {
  /** Null for an empty store. */
  readonly state: RestoredState | null;
  readonly snapshotChunks: number;
  /** The snapshot file the header names (null: none, or the data is in chunks). */
  readonly snapshotFile: string | null;
  /** Entry indexes to delete (synced) before the state is used: a bad tail, stale leftovers. */
  readonly deletes: readonly number[];
}

function corrupt(dataDir: string, what: string, index: number | null): never {
  const where = index === null ? '' : ` at log index ${index}`;
  throw new StorageCorruptionError(
    `raft storage in ${dataDir} is corrupt${where}: ${what}. Committed data cannot be trusted; ` +
      'restore this node from a peer (move the data directory away and rejoin the cluster).',
    dataDir,
    index === null ? null : (index as Entry['index']),
  );
}

/** Entries read per native call: one round trip per entry would dominate start-up time. */
const READ_BATCH_ENTRIES = 4096;

async function readEntryRecords(db: Db): Promise<Array<[number, Uint8Array]>> {
  const records: Array<[number, Uint8Array]> = [];
  const it = db.iterator({ gte: ENTRY_KEY_START, lt: ENTRY_KEY_END });
  try {
    for (;;) {
      const batch = await it.nextv(READ_BATCH_ENTRIES);
      if (batch.length === 0) break;
      for (const [key, value] of batch) {
        const index = entryKeyIndex(key);
        if (index !== null) records.push([index, value]);
      }
    }
  } finally {
    await it.close();
  }
  return records;
}

async function readSnapshot(db: Db, dataDir: string, header: StoredSnapshotHeader): Promise<Snapshot> {
  if (header.file !== undefined) return readSnapshotFrom(dataDir, header, header.file);
  const data = new Uint8Array(header.totalBytes);
  let offset = 0;
  for (let c = 0; c < header.chunks; c++) {
    const record = await db.get(chunkKey(c));
    if (record === undefined) corrupt(dataDir, `snapshot chunk ${c} of ${header.chunks} is missing`, null);
    const payload = unseal(record);
    if (typeof payload === 'string') corrupt(dataDir, `snapshot chunk ${c}: ${payload}`, null);
    if (offset + payload.length > data.length) corrupt(dataDir, `snapshot chunks exceed ${header.totalBytes} bytes`, null);
    data.set(payload, offset);
    offset += payload.length;
  }
  if (offset !== header.totalBytes) corrupt(dataDir, `snapshot has ${offset} bytes, header says ${header.totalBytes}`, null);
  if (crc32c(data) !== header.dataCrc) corrupt(dataDir, 'snapshot data checksum mismatch', null);
  return { meta: header.meta, data };
}

async function readSnapshotFrom(dataDir: string, header: StoredSnapshotHeader, file: string): Promise<Snapshot> {
  const data = await readSnapshotFile(dataDir, file);
  if (data === null) corrupt(dataDir, `snapshot file ${file} is missing`, null);
  if (data.length !== header.totalBytes) corrupt(dataDir, `snapshot file ${file} has ${data.length} bytes, header says ${header.totalBytes}`, null);
  if (crc32c(data) !== header.dataCrc) corrupt(dataDir, `snapshot file ${file}: checksum mismatch`, null);
  return { meta: header.meta, data };
}

interface ScanResult {
  readonly entries: Entry[];
  readonly deletes: number[];
}

/** Verifies the entry records in key order; see the file comment for what is dropped or fatal. */
function scanEntries(
  records: ReadonlyArray<[number, Uint8Array]>,
  snapshot: Snapshot,
  hardState: HardState,
  dataDir: string,
  log: Log,
): ScanResult {
  const snapIndex = snapshot.meta.index;
  const protectedIndex = Math.max(hardState.commit, snapIndex);
  const entries: Entry[] = [];
  const deletes: number[] = [];
  let prevTerm: number = snapshot.meta.term;
  for (let r = 0; r < records.length; r++) {
    const [index, record] = records[r]!;
    if (index <= snapIndex) {
      deletes.push(index); // compacted, but the crash came before saveSnapshot's range delete: harmless
      continue;
    }
    const expected = snapIndex + 1 + entries.length;
    let problem: string | null = null;
    let bad = index;
    if (index !== expected) {
      problem = `entry ${expected} is missing (the next stored entry is ${index})`;
      bad = expected;
    } else {
      const e = decodeEntry(record, index);
      if (typeof e === 'string') problem = e;
      else if (e.term < prevTerm) problem = `term ${e.term} is below the previous entry's term ${prevTerm}`;
      else {
        entries.push(e);
        prevTerm = e.term;
      }
    }
    if (problem === null) continue;
    if (bad <= protectedIndex) corrupt(dataDir, `${problem} (commit index ${hardState.commit})`, bad);
    const dropped = records.slice(r).map(([i]) => i);
    deletes.push(...dropped);
    log('truncated_corrupt_tail', { dataDir, fromIndex: bad, entries: dropped.length, commit: hardState.commit, problem });
    break;
  }
  const last = snapIndex + entries.length;
  if (last < hardState.commit) corrupt(dataDir, `the log ends at ${last} but the commit index is ${hardState.commit}`, last + 1);
  return { entries, deletes };
}

export async function recover(db: Db, dataDir: string, log: Log): Promise<Recovered> {
  const hardRecord = await db.get(KEY_HARD_STATE);
  const snapRecord = await db.get(KEY_SNAPSHOT);
  const records = await readEntryRecords(db);
  if (hardRecord === undefined && snapRecord === undefined && records.length === 0) {
    return { state: null, snapshotChunks: 0, snapshotFile: null, deletes: [] };
  }
  if (snapRecord === undefined) corrupt(dataDir, 'the snapshot record is missing', null);
  if (hardRecord === undefined) corrupt(dataDir, 'the hard state record is missing', null);
  const hardState = decodeHardState(hardRecord);
  if (typeof hardState === 'string') corrupt(dataDir, `hard state: ${hardState}`, null);
  const header = decodeSnapshotHeader(snapRecord);
  if (typeof header === 'string') corrupt(dataDir, `snapshot header: ${header}`, null);
  const snapshot = await readSnapshot(db, dataDir, header);
  const { entries, deletes } = scanEntries(records, snapshot, hardState, dataDir, log);
  // Everything a snapshot covers is committed; the core requires commit >= the snapshot index.
  const commit = Math.max(hardState.commit, snapshot.meta.index) as HardState['commit'];
  return { state: { hardState: { ...hardState, commit }, snapshot, entries }, snapshotChunks: header.chunks, snapshotFile: header.file ?? null, deletes };
}
