// Snapshot data as a file beside LevelDB's own, named by the snapshot header record (etcd keeps
// its `.snap` files the same way). Why not chunks in LevelDB, as before: a 36 MB snapshot (a
// million tasks) went through LevelDB's write batch, its log, a memtable that filled at once
// ("memtable full; waiting"), a level-0 table and compactions that rewrote it again: about a
// second of persist time per snapshot, with every entry save queued behind it, and 100+ MB of
// native memory in LevelDB's buffers. A file is written once, from libuv's threads.
//
// Durability: the data is written to a temporary name, fsynced, renamed to its final name and the
// directory fsynced, all BEFORE the header record that names it is written (synced) in LevelDB.
// A crash before the header leaves an unnamed file, which load() deletes; a crash after it leaves
// a complete, named file. Old files are deleted after the new header is durable.

import { constants } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

const namePattern = /^snapshot-[0-9a-f]{16}-[0-9a-f]{16}\.snap$/;
/** Temporary files: the final name, a writer number and `.tmp` (several writers may race for one name). */
const tmpPattern = /^snapshot-[0-9a-f]{16}-[0-9a-f]{16}\.snap\.[0-9]+\.tmp$/;

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

/**
 * The file for a snapshot: index and term, so that names sort by index and two snapshots share a
 * name only when they cover the same log prefix (Raft's log matching), hence hold the same state.
 */
export function snapshotFileName(meta: { readonly index: number; readonly term: number }): string {
  return `snapshot-${hex16(meta.index)}-${hex16(meta.term)}.snap`;
}

/** Whether `name` is a snapshot file's name (the header's field is checked with it: no path may sneak in). */
export function isSnapshotFileName(name: string): boolean {
  return namePattern.test(name);
}

let writers = 0;

/**
 * Writes `data` to `dir/name` durably (with `sync`): temporary file, fsync, rename. The caller
 * fsyncs the directory (it keeps a descriptor open for that) before naming the file anywhere.
 */
export async function writeSnapshotFile(dir: string, name: string, data: Uint8Array, sync: boolean): Promise<void> {
  const tmp = path.join(dir, `${name}.${++writers}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    await fh.writeFile(data);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path.join(dir, name));
}

/** The file's bytes, or null when it does not exist. */
export async function readSnapshotFile(dir: string, name: string): Promise<Uint8Array | null> {
  try {
    return await readFile(path.join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Deletes every snapshot file and temporary file in `dir` but `keep`; returns the names deleted. */
export async function deleteSnapshotFiles(dir: string, keep: string | null): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name === keep || !(namePattern.test(name) || tmpPattern.test(name))) continue;
    await deleteSnapshotFile(dir, name);
    deleted.push(name);
  }
  return deleted;
}

/** Deletes one file; one already gone is fine. */
export async function deleteSnapshotFile(dir: string, name: string): Promise<void> {
  try {
    await unlink(path.join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
