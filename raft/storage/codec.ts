// The on-disk format: keys and checksummed records (see README.md for the layout). Pure functions
// over bytes, shared by LevelStorage and its tests; decoding returns a typed error instead of
// throwing, because a bad record is an expected condition that recovery must classify.

import { Packr } from 'msgpackr';
import type { Entry, HardState, LogIndex, NodeId, SnapshotMeta, Term } from '../core/types.js';
import { isSnapshotFileName, snapshotFileName } from './snapshot-file.js';
import { isParseError, parseConfChange, parseNodeId, parseSnapshotMeta, parseUint } from '../transport/parse-message.js';
import { crc32c } from './crc32c.js';
import { binHeaderBytes, uintBytes, writeBinHeader, writeUint } from '../transport/msgpack-write.js';

// Plain msgpack maps and arrays (no record extension): the format must stay readable by any later
// version of this code without a shared structure table.
const packr = new Packr({ useRecords: false });

const PREFIX_ENTRY = 0x65; // 'e' + 8-byte big-endian index
const PREFIX_CHUNK = 0x64; // 'd' + 4-byte big-endian chunk number
const PREFIX_META = 0x6d; // 'm' + UTF-8 key
export const KEY_HARD_STATE = Uint8Array.of(0x68); // 'h'
export const KEY_SNAPSHOT = Uint8Array.of(0x73); // 's'

const TWO_32 = 2 ** 32;
const CRC_BYTES = 4;
const KIND_NORMAL = 0;
const KIND_CONF = 1;

export function entryKey(index: number): Uint8Array {
  // Buffer.allocUnsafe draws from Node's pool: keys are many and tiny, and LevelDB copies them.
  const key = Buffer.allocUnsafe(9);
  key[0] = PREFIX_ENTRY;
  key.writeUInt32BE(Math.floor(index / TWO_32), 1);
  key.writeUInt32BE(index >>> 0, 5);
  return key;
}

/** The first key after every entry key, for range scans. */
export const ENTRY_KEY_END = Uint8Array.of(PREFIX_ENTRY + 1);
export const ENTRY_KEY_START = entryKey(0);

/** The index in an entry key, or null when `key` is not an entry key. */
export function entryKeyIndex(key: Uint8Array): number | null {
  if (key.length !== 9 || key[0] !== PREFIX_ENTRY) return null;
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return view.getUint32(1) * TWO_32 + view.getUint32(5);
}

export function chunkKey(chunk: number): Uint8Array {
  const key = new Uint8Array(5);
  key[0] = PREFIX_CHUNK;
  new DataView(key.buffer).setUint32(1, chunk);
  return key;
}

export function metaKey(name: string): Uint8Array {
  const utf8 = Buffer.from(name, 'utf8');
  const key = new Uint8Array(utf8.length + 1);
  key[0] = PREFIX_META;
  key.set(utf8, 1);
  return key;
}

/** A record is the CRC-32C of the payload (4 bytes, big-endian) followed by the payload. */
export function seal(payload: Uint8Array): Uint8Array {
  const record = Buffer.allocUnsafe(CRC_BYTES + payload.length);
  record.writeUInt32BE(crc32c(payload), 0);
  record.set(payload, CRC_BYTES);
  return record;
}

/** The payload of a record, or an error string when it is too short or its checksum fails. */
export function unseal(record: Uint8Array): Uint8Array | string {
  if (record.length < CRC_BYTES) return `record of ${record.length} bytes is shorter than its checksum`;
  const stored = new DataView(record.buffer, record.byteOffset, record.byteLength).getUint32(0);
  const payload = record.subarray(CRC_BYTES);
  const actual = crc32c(payload);
  if (stored !== actual) return `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`;
  return payload;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

function unpack(payload: Uint8Array): unknown {
  try {
    return packr.unpack(payload);
  } catch (e) {
    return new DecodeFailure(e instanceof Error ? e.message : String(e));
  }
}

class DecodeFailure {
  constructor(readonly message: string) {}
}

export function encodeEntry(e: Entry): Uint8Array {
  if (e.kind === 'normal' && e.term < TWO_32 && e.index < TWO_32 && e.data.length < TWO_32) return encodeNormalEntry(e.term, e.index, e.data);
  const body = e.kind === 'normal' ? [KIND_NORMAL, e.term, e.index, e.data] : [KIND_CONF, e.term, e.index, e.change];
  return seal(packr.pack(body));
}

// The record of a normal entry, written directly: the same bytes as `seal(packr.pack([0, term,
// index, data]))` (a test compares them), in one allocation instead of four (array, packed body,
// its view, the sealed copy). Every entry of every Ready passes here on every node.
const MSGPACK_FIXARRAY_4 = 0x94;

function encodeNormalEntry(term: number, index: number, data: Uint8Array): Uint8Array {
  const payloadBytes = 2 + uintBytes(term) + uintBytes(index) + binHeaderBytes(data.length) + data.length;
  const record = Buffer.allocUnsafe(CRC_BYTES + payloadBytes);
  let at = CRC_BYTES;
  record[at++] = MSGPACK_FIXARRAY_4;
  record[at++] = KIND_NORMAL;
  at = writeUint(record, at, term);
  at = writeUint(record, at, index);
  at = writeBinHeader(record, at, data.length);
  record.set(data, at);
  record.writeUInt32BE(crc32c(record.subarray(CRC_BYTES)), 0);
  return record;
}

/** Decodes and verifies one entry record stored under `index`. */
export function decodeEntry(record: Uint8Array, index: number): Entry | string {
  const payload = unseal(record);
  if (typeof payload === 'string') return payload;
  const body = unpack(payload);
  if (body instanceof DecodeFailure) return `undecodable: ${body.message}`;
  if (!Array.isArray(body) || body.length !== 4) return 'not an entry tuple';
  const [kind, t, i, x] = body as [unknown, unknown, unknown, unknown];
  const term = parseUint(t, 'term');
  if (isParseError(term)) return term.error;
  if (i !== index) return `entry claims index ${String(i)} but is stored under ${index}`;
  if (kind === KIND_NORMAL) {
    if (!(x instanceof Uint8Array)) return 'normal entry without bytes';
    return { kind: 'normal', term: term as Term, index: index as LogIndex, data: x };
  }
  if (kind !== KIND_CONF) return `unknown entry kind ${String(kind)}`;
  const change = parseConfChange(x);
  if (isParseError(change)) return change.error;
  return { kind: 'conf', term: term as Term, index: index as LogIndex, change };
}

export function encodeHardState(h: HardState): Uint8Array {
  return seal(packr.pack([h.term, h.vote, h.commit]));
}

export function decodeHardState(record: Uint8Array): HardState | string {
  const payload = unseal(record);
  if (typeof payload === 'string') return payload;
  const body = unpack(payload);
  if (!Array.isArray(body) || body.length !== 3) return 'not a hard state tuple';
  const term = parseUint(body[0], 'term');
  if (isParseError(term)) return term.error;
  const commit = parseUint(body[2], 'commit');
  if (isParseError(commit)) return commit.error;
  let vote: NodeId | null = null;
  if (body[1] !== null) {
    const v = parseNodeId(body[1], 'vote');
    if (isParseError(v)) return v.error;
    vote = v;
  }
  return { term: term as Term, vote, commit: commit as LogIndex };
}

/**
 * The snapshot record: its metadata plus where its data is. Written now: `file` (a snapshot file
 * in the data directory, snapshot-file.ts) and `chunks` 0. Stores written before kept the data in
 * `chunks` records of the key space (no `file`); load() still reads them.
 */
export interface StoredSnapshotHeader {
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly chunks: number;
  readonly file?: string;
  /** CRC-32C of the whole data, so a chunk or file from another snapshot cannot pass unnoticed. */
  readonly dataCrc: number;
}

export function encodeSnapshotHeader(h: StoredSnapshotHeader): Uint8Array {
  const file = h.file === undefined ? {} : { file: h.file };
  return seal(packr.pack({ meta: h.meta, totalBytes: h.totalBytes, chunks: h.chunks, dataCrc: h.dataCrc, ...file }));
}

export function decodeSnapshotHeader(record: Uint8Array): StoredSnapshotHeader | string {
  const payload = unseal(record);
  if (typeof payload === 'string') return payload;
  const body = unpack(payload);
  if (typeof body !== 'object' || body === null) return 'not a snapshot header';
  const o = body as Record<string, unknown>;
  const meta = parseSnapshotMeta(o['meta']);
  if (isParseError(meta)) return meta.error;
  const totalBytes = parseUint(o['totalBytes'], 'totalBytes');
  if (isParseError(totalBytes)) return totalBytes.error;
  const chunks = parseUint(o['chunks'], 'chunks');
  if (isParseError(chunks)) return chunks.error;
  const dataCrc = parseUint(o['dataCrc'], 'dataCrc');
  if (isParseError(dataCrc)) return dataCrc.error;
  const file = o['file'];
  if (file === undefined) return { meta, totalBytes, chunks, dataCrc };
  if (typeof file !== 'string' || !isSnapshotFileName(file)) return `file: not a snapshot file name: ${JSON.stringify(file)}`;
  if (file !== snapshotFileName(meta)) return `file ${file} is not the file of snapshot ${meta.index} (term ${meta.term})`;
  if (chunks !== 0) return `file ${file} and ${chunks} chunks: the data is in one place`;
  return { meta, totalBytes, chunks, dataCrc, file };
}
