// A small DNS message writer with name compression (RFC 1035 §4.1.4). dns-packet never compresses
// (REFERENCE.md §5): with a 52-byte name only about 6 A records fit in 512 bytes uncompressed and
// about 27 compressed, so answers are encoded here. Used when records change (pre-encoding) and for
// the few answers synthesised per query; never on input from the network.
import { assert } from '../assert.js';
import { limits } from '../limits.js';

const initialBytes = 512;

export class WireWriter {
  private buf: Buffer = Buffer.alloc(initialBytes);
  private off = 0;
  /** Suffix key → offset of its first occurrence, for compression pointers. */
  private readonly names = new Map<string, number>();

  get offset(): number {
    return this.off;
  }

  /** Starts a new message, keeping the buffer: one writer serves every encoding, no garbage. */
  reset(): this {
    this.off = 0;
    this.names.clear();
    return this;
  }

  private reserve(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.off++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16BE(v, this.off);
    this.off += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** Writes the bytes of a latin1 string (one char per byte). */
  latin1(s: string): void {
    this.reserve(s.length);
    this.off += this.buf.write(s, this.off, 'latin1');
  }

  /** Overwrites a 16-bit value already written (rdlength, counts). */
  patch16(at: number, v: number): void {
    assert(at + 2 <= this.off, `patch at ${at} beyond written ${this.off}`);
    this.buf.writeUInt16BE(v, at);
  }

  /** Writes a name uncompressed (as in the question) and remembers its suffixes for later pointers. */
  nameUncompressed(key: string): void {
    this.name(key, false);
  }

  /**
   * Writes a name uncompressed and does not remember it: for names whose position in the final
   * message is not fixed (answer records are rotated per query), so nothing may point at them.
   */
  nameUnanchored(key: string): void {
    this.reserve(key.length);
    this.off += this.buf.write(key, this.off, 'latin1');
  }

  /** Writes a name, replacing its longest already-written suffix by a pointer. */
  name(key: string, compress = true): void {
    let p = 0;
    for (;;) {
      const len = key.charCodeAt(p);
      if (len === 0) {
        this.u8(0);
        return;
      }
      const suffix = key.slice(p);
      const at = compress ? this.names.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.off <= limits.compressionOffsetMax && !this.names.has(suffix)) this.names.set(suffix, this.off);
      this.reserve(len + 1);
      this.buf.write(key.slice(p, p + len + 1), this.off, 'latin1');
      this.off += len + 1;
      p += len + 1;
    }
  }

  /** Starts a resource record; returns the offset of its rdlength for `endRecord`. */
  beginRecord(ownerKey: string, type: number, klass: number, ttl: number): number {
    this.name(ownerKey);
    this.u16(type);
    this.u16(klass);
    this.u32(ttl);
    const at = this.off;
    this.u16(0);
    return at;
  }

  endRecord(rdlengthAt: number): void {
    this.patch16(rdlengthAt, this.off - rdlengthAt - 2);
  }

  /** Bytes [from, offset) as a latin1 string. */
  latin1Slice(from: number): string {
    return this.buf.toString('latin1', from, this.off);
  }

  /** A copy of bytes [from, offset). */
  slice(from = 0): Buffer {
    return Buffer.from(this.buf.subarray(from, this.off));
  }
}
