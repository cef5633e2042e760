// Hand-written msgpack for the two hot encoders (append frames in append-codec.ts, entry records in
// raft/storage/codec.ts): the shortest unsigned-integer and bin forms, as msgpackr writes them, so
// the bytes stay exactly msgpackr's (each encoder's test compares them).

export const MSGPACK_UINT8 = 0xcc;
export const MSGPACK_UINT16 = 0xcd;
export const MSGPACK_UINT32 = 0xce;
export const MSGPACK_BIN8 = 0xc4;
export const MSGPACK_BIN16 = 0xc5;
export const MSGPACK_BIN32 = 0xc6;
/** Unsigned integers below this are one positive-fixint byte. */
export const MSGPACK_FIXINT_END = 0x80;

/** Bytes of a msgpack unsigned integer n < 2^32 in the shortest form. */
export function uintBytes(n: number): number {
  return n < MSGPACK_FIXINT_END ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes n < 2^32 at `at`; returns the position after it. */
export function writeUint(buf: Buffer, at: number, n: number): number {
  if (n < MSGPACK_FIXINT_END) {
    buf[at] = n;
    return at + 1;
  }
  if (n < 0x100) {
    buf[at] = MSGPACK_UINT8;
    buf[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    buf[at] = MSGPACK_UINT16;
    return buf.writeUInt16BE(n, at + 1);
  }
  buf[at] = MSGPACK_UINT32;
  return buf.writeUInt32BE(n, at + 1);
}

/** Bytes of the header of a bin of `length` bytes (< 2^32). */
export function binHeaderBytes(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Writes the header of a bin of `length` bytes at `at`; returns the position after it. */
export function writeBinHeader(buf: Buffer, at: number, length: number): number {
  if (length < 0x100) {
    buf[at] = MSGPACK_BIN8;
    buf[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    buf[at] = MSGPACK_BIN16;
    return buf.writeUInt16BE(length, at + 1);
  }
  buf[at] = MSGPACK_BIN32;
  return buf.writeUInt32BE(length, at + 1);
}
