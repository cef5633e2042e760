// The append message read straight from the bytes append-codec.ts writes. A follower receives every
// entry the leader replicates, and msgpackr's generic walk (an object and four keys per entry) and
// then parse-message.ts's checks were a sixth of a follower's main thread outside apply at 64
// writes in flight (issue 4). This reader takes exactly the encoder's layout (the fields in its
// order, ASCII node ids, normal entries) and applies every check parseMessage applies to an
// append, building the same message. Anything else returns undefined and takes the generic path,
// which also names what is wrong; a test holds both paths to the same result.

import type { Entry, LogIndex, Message, NodeId, Term } from '../core/types.js';
import {
  ENTRY_FIELDS, FIXARRAY_END, K_COMMIT, K_DATA, K_ENTRIES, K_FROM, K_INDEX, K_KIND_NORMAL, K_PREV_LOG_INDEX, K_PREV_LOG_TERM,
  K_TERM, K_TO, K_TYPE_APPEND, MESSAGE_FIELDS, MSGPACK_ARRAY16, MSGPACK_FIXARRAY, MSGPACK_FIXSTR, MSGPACK_MAP16,
} from './append-codec.js';
import { MSGPACK_BIN16, MSGPACK_BIN32, MSGPACK_BIN8, MSGPACK_FIXINT_END, MSGPACK_UINT16, MSGPACK_UINT32, MSGPACK_UINT8 } from './msgpack-write.js';
import { parseLimits } from './parse-message.js';

type AppendMessage = Extract<Message, { type: 'append' }>;

const FIXSTR_END = 0xc0;
const LOW5 = 0x1f;
// Node ids: visible ASCII (parse-message.ts NODE_ID).
const VISIBLE_LO = 0x21;
const VISIBLE_HI = 0x7e;

/** The unsigned big-endian integer of `size` bytes at `at` (bounds checked by the caller). */
function bigEndian(b: Buffer, at: number, size: number): number {
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 0x100 + b[at + i]!;
  return n;
}

/** A position in one frame body; every read returns a failure value instead of throwing. */
class Reader {
  at = 0;
  constructor(readonly b: Buffer) {}

  /** Consumes `expected` when the next bytes are exactly it. */
  match(expected: Uint8Array): boolean {
    const b = this.b;
    const at = this.at;
    if (at + expected.length > b.length) return false;
    for (let i = 0; i < expected.length; i++) if (b[at + i] !== expected[i]) return false;
    this.at = at + expected.length;
    return true;
  }

  /** A 16-bit count after a map16 or array16 header byte, or -1. */
  count16(header: number): number {
    const b = this.b;
    if (this.at + 3 > b.length || b[this.at] !== header) return -1;
    const n = (b[this.at + 1]! << 8) | b[this.at + 2]!;
    this.at += 3;
    return n;
  }

  /** An unsigned integer below 2^32 in any of its msgpack forms, or -1. */
  uint(): number {
    const b = this.b;
    const at = this.at;
    const h = b[at];
    if (h === undefined) return -1;
    if (h < MSGPACK_FIXINT_END) {
      this.at = at + 1;
      return h;
    }
    const size = h === MSGPACK_UINT8 ? 1 : h === MSGPACK_UINT16 ? 2 : h === MSGPACK_UINT32 ? 4 : 0;
    if (size === 0 || at + 1 + size > b.length) return -1;
    this.at = at + 1 + size;
    return bigEndian(b, at + 1, size);
  }

  /** The bytes of a bin (a view of the body, as msgpackr gives), or undefined. */
  bin(): Buffer | undefined {
    const b = this.b;
    const at = this.at;
    const h = b[at];
    const size = h === MSGPACK_BIN8 ? 1 : h === MSGPACK_BIN16 ? 2 : h === MSGPACK_BIN32 ? 4 : 0;
    if (size === 0 || at + 1 + size > b.length) return undefined;
    const n = bigEndian(b, at + 1, size);
    const from = at + 1 + size;
    if (from + n > b.length) return undefined;
    this.at = from + n;
    return b.subarray(from, from + n);
  }

  /** A node id as a fixstr of visible ASCII, or undefined. */
  nodeId(): NodeId | undefined {
    const b = this.b;
    const h = b[this.at];
    // 1..31 characters, within parseLimits.nodeIdCharsMax; longer ids are not fixstrs (generic path).
    if (h === undefined || h <= MSGPACK_FIXSTR || h >= FIXSTR_END) return undefined;
    const n = h & LOW5;
    const from = this.at + 1;
    if (from + n > b.length) return undefined;
    for (let i = from; i < from + n; i++) if (b[i]! < VISIBLE_LO || b[i]! > VISIBLE_HI) return undefined;
    this.at = from + n;
    return knownId(b, from, n) as NodeId;
  }
}

/** The two ids of a connection repeat in every frame: the last ones read, kept with their bytes. */
const recentIds: { bytes: Buffer; id: string }[] = [];
const RECENT_IDS_MAX = 4;

function knownId(b: Buffer, from: number, n: number): string {
  for (const r of recentIds) if (r.bytes.length === n && r.bytes.equals(b.subarray(from, from + n))) return r.id;
  const id = b.toString('latin1', from, from + n);
  if (recentIds.length >= RECENT_IDS_MAX) recentIds.shift();
  recentIds.push({ bytes: Buffer.from(id, 'latin1'), id });
  return id;
}

/**
 * The append in `body`, exactly as `parseMessage(unpack(body))` returns it, or undefined when the
 * body is not in append-codec.ts's layout or breaks a rule (the generic path names it).
 */
export function readAppendBody(body: Buffer): AppendMessage | undefined {
  const r = new Reader(body);
  if (r.count16(MSGPACK_MAP16) !== MESSAGE_FIELDS || !r.match(K_TYPE_APPEND)) return undefined;
  const from = r.match(K_FROM) ? r.nodeId() : undefined;
  const to = from !== undefined && r.match(K_TO) ? r.nodeId() : undefined;
  if (from === undefined || to === undefined || !r.match(K_TERM)) return undefined;
  const term = r.uint();
  const prevLogIndex = term >= 0 && r.match(K_PREV_LOG_INDEX) ? r.uint() : -1;
  const prevLogTerm = prevLogIndex >= 0 && r.match(K_PREV_LOG_TERM) ? r.uint() : -1;
  if (prevLogTerm < 0 || !r.match(K_ENTRIES)) return undefined;
  const head = body[r.at];
  let count: number;
  if (head !== undefined && head >= MSGPACK_FIXARRAY && head < MSGPACK_FIXARRAY + FIXARRAY_END) {
    count = head - MSGPACK_FIXARRAY;
    r.at++;
  } else {
    count = r.count16(MSGPACK_ARRAY16);
    if (count < 0) return undefined;
  }
  const entries = readEntries(r, count, prevLogIndex, prevLogTerm, term);
  if (entries === undefined || !r.match(K_COMMIT)) return undefined;
  const commit = r.uint();
  if (commit < 0 || r.at !== body.length) return undefined;
  return { from, to, term: term as Term, type: 'append', prevLogIndex: prevLogIndex as LogIndex, prevLogTerm: prevLogTerm as Term, entries, commit: commit as LogIndex };
}

/**
 * parse-message.ts's rules for an append's entries: the contiguous run after prevLogIndex, terms
 * never decreasing, never above the message's term, the first not below prevLogTerm.
 */
function readEntries(r: Reader, count: number, prevLogIndex: number, prevLogTerm: number, msgTerm: number): Entry[] | undefined {
  if (count > parseLimits.entriesPerMessageMax) return undefined;
  const entries: Entry[] = [];
  let lastTerm = prevLogTerm;
  for (let i = 0; i < count; i++) {
    if (r.count16(MSGPACK_MAP16) !== ENTRY_FIELDS || !r.match(K_KIND_NORMAL) || !r.match(K_TERM)) return undefined;
    const term = r.uint();
    const index = term >= 0 && r.match(K_INDEX) ? r.uint() : -1;
    const data = index >= 0 && r.match(K_DATA) ? r.bin() : undefined;
    if (data === undefined || index !== prevLogIndex + 1 + i || term < lastTerm || term > msgTerm) return undefined;
    lastTerm = term;
    entries.push({ kind: 'normal', term: term as Term, index: index as LogIndex, data });
  }
  return entries;
}
