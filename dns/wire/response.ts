// Assembling answers on the hot path: a buffer of the final size, the question copied byte for
// byte from the query (RFC 4343 / 0x20: the case as asked), the pre-encoded sections, an OPT when
// the query had one (RFC 6891 §6.1.1), then the header.
import { limits } from '../limits.js';
import { ednsDoBit, flag, qtype } from './constants.js';
import { headerBytes, type ParsedQuery } from './query.js';

/** Bytes of the OPT record we add: root name, type, class, TTL, empty rdata. */
export const optRecordBytes = 11;

/** Response bits a handler may set: a union of flag.AA, flag.TC and flag.RA (0 for none). */
export type ReplyBits = number;

/** RA when recursion is offered to this client (RFC 1035 §4.1.1). */
export function raBit(recursion: boolean): number {
  return recursion ? flag.RA : 0;
}

/** Bytes before the sections plus the OPT we will add: what every answer to `q` costs. */
export function baseBytes(q: ParsedQuery): number {
  return q.questionEnd + (q.edns ? optRecordBytes : 0);
}

/** A buffer of `size` bytes with the question already copied in at offset 12. */
export function begin(query: Uint8Array, q: ParsedQuery, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  // A plain loop: the question is tens of bytes, and subarray()+set() would allocate a view.
  for (let i = headerBytes; i < q.questionEnd; i++) out[i] = query[i]!;
  return out;
}

/**
 * Writes the OPT (if the query had one) at `at`, then the header; returns the message. The OPT
 * carries our payload size, extended rcode bits, version 0, DO copied (RFC 3225 §3) and no options
 * (unknown options are never echoed, RFC 6891 §6.1.2).
 */
export function finish(out: Buffer, q: ParsedQuery, at: number, code: number, bits: ReplyBits, an: number, ns: number, ar: number): Buffer {
  let end = at;
  let arcount = ar;
  if (q.edns) {
    out[end] = 0;
    out.writeUInt16BE(qtype.OPT, end + 1);
    out.writeUInt16BE(limits.udpPayloadBytesEdns, end + 3);
    out[end + 5] = code >> 4;
    out[end + 6] = 0;
    out.writeUInt16BE(q.ednsDo ? ednsDoBit : 0, end + 7);
    out.writeUInt16BE(0, end + 9);
    end += optRecordBytes;
    arcount++;
  }
  const flags = flag.QR | (q.flags & (flag.RD | flag.CD)) | (bits & (flag.AA | flag.TC | flag.RA)) | (code & 0xf);
  // Byte stores rather than writeUInt16BE: every value is a 16-bit field already (id, flags, counts
  // bounded by queryRecordsMax and rrsetRecordsMax), so writeUInt16BE's range checks buy nothing here.
  out[0] = q.id >> 8;
  out[1] = q.id & 0xff;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = ns >> 8;
  out[9] = ns & 0xff;
  out[10] = arcount >> 8;
  out[11] = arcount & 0xff;
  return end === out.length ? out : out.subarray(0, end);
}

/** An answer with the question (and OPT) but no records: errors, truncation, REFUSED. */
export function emptyReply(query: Uint8Array, q: ParsedQuery, code: number, bits: ReplyBits): Buffer {
  const out = begin(query, q, baseBytes(q));
  return finish(out, q, q.questionEnd, code, bits, 0, 0, 0);
}

/**
 * A header-only answer for packets whose question we could not use (FORMERR, NOTIMP): ID, opcode
 * and RD echoed, no sections (RFC 1035 §4.1.1; the question may be what is malformed).
 */
export function headerOnly(id: number, queryFlags: number, rcode: number): Buffer {
  const out = Buffer.alloc(headerBytes);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(flag.QR | (queryFlags & (0x7800 | flag.RD)) | (rcode & 0xf), 2);
  return out;
}
