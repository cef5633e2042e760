// The hot-path query parser: header, the one question, and a walk over the other sections only to
// find an OPT record (RFC 6891). It never throws and never allocates per input byte: every read is
// bounds-checked first, loops are bounded by the packet length and `limits.queryRecordsMax`, and the
// only allocations are the folded name key and the result object. dns-packet's full decode is not
// used here: it throws (Error and RangeError, REFERENCE.md §5) and costs ~10 µs per packet.
import { limits } from '../limits.js';
import { ednsDoBit, flag, opcode, qtype as T, rcode } from './constants.js';
import type { NameKey } from './name.js';

export const headerBytes = 12;

export interface ParsedQuery {
  readonly id: number;
  /** The query's 16-bit flags word (RD and CD are copied into the answer). */
  readonly flags: number;
  /** The question name, ASCII-lowercased, in wire form (see name.ts). */
  readonly key: NameKey;
  /** Offset just past QTYPE/QCLASS: bytes [12, questionEnd) are the question exactly as asked. */
  readonly questionEnd: number;
  readonly qtype: number;
  readonly qclass: number;
  /** Whether the query carried an OPT record, and its fields (RFC 6891 §6.1.3). */
  readonly edns: boolean;
  /** The client's UDP payload size (raw, not yet clamped). */
  readonly ednsUdpBytes: number;
  readonly ednsVersion: number;
  readonly ednsDo: boolean;
}

/** Why a packet gets no normal answer. */
export type ParseFailure =
  /** Too short to hold a header (no ID to answer with), or QR set (never answer a response). */
  | { readonly kind: 'drop'; readonly reason: 'short' | 'response' }
  /** Answer with only a header: FORMERR or NOTIMP, ID and opcode echoed. */
  | { readonly kind: 'error'; readonly rcode: number; readonly id: number; readonly flags: number; readonly reason: string };

export type ParseResult = ({ readonly kind: 'query' } & ParsedQuery) | ParseFailure;

const scratch = Buffer.alloc(limits.nameBytesMax + 2) as Buffer & { latin1Slice(start: number, end: number): string };

function formerr(id: number, flags: number, reason: string): ParseFailure {
  return { kind: 'error', rcode: rcode.FORMERR, id, flags, reason };
}

/** Folds the question name at 12 into `scratch`; returns its wire length, or -1 if malformed. */
function foldQname(msg: Uint8Array): number {
  let off = headerBytes;
  let n = 0;
  for (;;) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) {
      scratch[n++] = 0;
      return n;
    }
    // Pointers and extended label types have no place in a question (nothing precedes it).
    if (len > limits.labelBytesMax) return -1;
    if (off + 1 + len > msg.length || n + 1 + len + 1 > limits.nameBytesMax) return -1;
    scratch[n++] = len;
    for (let i = off + 1; i <= off + len; i++) {
      const c = msg[i]!;
      scratch[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    off += len + 1;
  }
}

/** Skips a possibly compressed name; returns the offset after it, or -1 if malformed. */
export function skipName(msg: Uint8Array, start: number): number {
  let off = start;
  for (let labels = 0; labels <= 128; labels++) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if (len > limits.labelBytesMax) return -1;
    off += len + 1;
  }
  return -1;
}

interface Edns {
  edns: boolean;
  ednsUdpBytes: number;
  ednsVersion: number;
  ednsDo: boolean;
}

/** Walks answer, authority and additional records; returns the OPT fields or a reason string. */
/** Whether [start, end) is a sequence of whole {code, length, data} options. Loop bounded by end. */
function optionsWellFormed(msg: Uint8Array, start: number, end: number): boolean {
  let off = start;
  while (off < end) {
    if (off + 4 > end) return false;
    off += 4 + ((msg[off + 2]! << 8) | msg[off + 3]!);
  }
  return off === end;
}

const noEdns: Edns = Object.freeze({ edns: false, ednsUdpBytes: 0, ednsVersion: 0, ednsDo: false });

function walkRecords(msg: Uint8Array, start: number, an: number, ns: number, ar: number): Edns | string {
  const total = an + ns + ar;
  if (total === 0) return noEdns;
  const out: Edns = { edns: false, ednsUdpBytes: 0, ednsVersion: 0, ednsDo: false };
  const view = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  let off = start;
  for (let i = 0; i < total; i++) {
    const nameStart = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return 'truncated resource record';
    const type = view.readUInt16BE(off);
    const rdlength = view.readUInt16BE(off + 8);
    if (off + 10 + rdlength > msg.length) return 'rdata runs past the end of the packet';
    if (type === T.OPT) {
      if (i < an + ns) return 'OPT outside the additional section (RFC 6891 §6.1.1)';
      if (out.edns) return 'more than one OPT record (RFC 6891 §6.1.1)';
      if (off !== nameStart + 1) return 'OPT owner name is not the root (RFC 6891 §6.1.2)';
      if (!optionsWellFormed(msg, off + 10, off + 10 + rdlength)) return 'OPT options overrun the record (RFC 6891 §6.1.2)';
      out.edns = true;
      out.ednsUdpBytes = view.readUInt16BE(off + 2);
      out.ednsVersion = msg[off + 5]!;
      out.ednsDo = (view.readUInt16BE(off + 6) & ednsDoBit) !== 0;
    }
    off += 10 + rdlength;
  }
  return out;
}

/** Parses a query packet. Never throws, whatever the bytes. */
export function parseQuery(msg: Uint8Array): ParseResult {
  if (msg.length < headerBytes) return { kind: 'drop', reason: 'short' };
  const id = (msg[0]! << 8) | msg[1]!;
  const flags = (msg[2]! << 8) | msg[3]!;
  if ((flags & flag.QR) !== 0) return { kind: 'drop', reason: 'response' };
  if (((flags >> 11) & 0xf) !== opcode.QUERY) {
    return { kind: 'error', rcode: rcode.NOTIMP, id, flags, reason: `opcode ${(flags >> 11) & 0xf}` };
  }
  const qd = (msg[4]! << 8) | msg[5]!;
  if (qd !== 1) return formerr(id, flags, `${qd} questions, exactly one allowed (RFC 9619)`);
  const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!;
  const ar = (msg[10]! << 8) | msg[11]!;
  if (an + ns + ar > limits.queryRecordsMax) return formerr(id, flags, `${an + ns + ar} records in a query`);
  const qnameBytes = foldQname(msg);
  if (qnameBytes < 0) return formerr(id, flags, 'malformed question name');
  const typeAt = headerBytes + qnameBytes;
  if (typeAt + 4 > msg.length) return formerr(id, flags, 'question cut short');
  const edns = walkRecords(msg, typeAt + 4, an, ns, ar);
  if (typeof edns === 'string') return formerr(id, flags, edns);
  // One object literal of a fixed shape (no spread): the hot path stays monomorphic.
  return {
    kind: 'query',
    id,
    flags,
    // A flat string of its own (not a slice): it is hashed once, for the lookup of the name.
    key: scratch.latin1Slice(0, qnameBytes) as NameKey,
    questionEnd: typeAt + 4,
    qtype: (msg[typeAt]! << 8) | msg[typeAt + 1]!,
    qclass: (msg[typeAt + 2]! << 8) | msg[typeAt + 3]!,
    edns: edns.edns,
    ednsUdpBytes: edns.ednsUdpBytes,
    ednsVersion: edns.ednsVersion,
    ednsDo: edns.ednsDo,
  };
}

/** The most bytes a UDP answer to `q` may have (RFC 6891 §6.2.5: sizes under 512 mean 512). */
export function udpLimitBytes(q: ParsedQuery): number {
  if (!q.edns) return limits.udpPayloadBytesPlain;
  return Math.max(limits.udpPayloadBytesPlain, Math.min(q.ednsUdpBytes, limits.udpPayloadBytesEdns));
}
