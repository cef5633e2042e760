// Length-prefixed framing: every frame is a 4-byte big-endian body length followed by the body (a
// msgpack value). The decoder enforces the size limit from the length prefix alone, before it
// buffers or allocates anything for the body, so a peer cannot make us hold more than one frame.

export const FRAME_HEADER_BYTES = 4;

export function frameHeader(bodyBytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(bodyBytes, 0);
  return header;
}

export interface FrameTooLarge {
  readonly tooLarge: number;
}

/**
 * Reassembles frames from socket chunks. Chunks are kept in a list and each body is copied out
 * once, when complete: concatenating on every chunk would be quadratic for a large frame, and a
 * body that pointed into a 64 KiB socket chunk would pin that chunk for as long as the core keeps
 * any entry decoded from it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private bodyBytes = -1;

  constructor(private bodyBytesMax: number) {}

  /** Changes the limit for frames not yet started (after authentication it grows). */
  setBodyBytesMax(n: number): void {
    this.bodyBytesMax = n;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes received but not yet returned as a frame (non-zero at close means a truncated frame). */
  pendingBytes(): number {
    return this.buffered;
  }

  /** The next complete body, null when more bytes are needed, or the size of an oversized frame. */
  next(): Buffer | null | FrameTooLarge {
    if (this.bodyBytes < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
      if (length > this.bodyBytesMax) return { tooLarge: length };
      this.bodyBytes = length;
    }
    if (this.buffered < this.bodyBytes) return null;
    const body = this.take(this.bodyBytes);
    this.bodyBytes = -1;
    return body;
  }

  /** Removes and returns the first `n` buffered bytes as a new buffer (n <= buffered). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0]!;
      const want = n - filled;
      if (head.length <= want) {
        head.copy(out, filled);
        filled += head.length;
        this.chunks.shift();
      } else {
        head.copy(out, filled, 0, want);
        this.chunks[0] = head.subarray(want);
        filled += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}
