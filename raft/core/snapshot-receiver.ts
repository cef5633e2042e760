// A follower's assembly of a snapshot that arrives in chunks. Each chunk is acknowledged with the
// number of bytes received so far, which is also the next offset wanted: a lost, duplicated or
// reordered chunk is simply answered with that offset and the leader resends from there. The
// buffer is allocated once, after `totalBytes` is checked against `snapshotBytesMax`.

import type { Snapshot, SnapshotMeta } from './types.js';

export interface SnapshotChunk {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly totalBytes: number;
}

export type ChunkOutcome =
  | { readonly kind: 'ack'; readonly offset: number }
  | { readonly kind: 'reject'; readonly reason: string }
  | { readonly kind: 'complete'; readonly snapshot: Snapshot };

export class SnapshotReceiver {
  private meta: SnapshotMeta | null = null;
  private buffer: Uint8Array | null = null;
  private received = 0;

  constructor(private readonly snapshotBytesMax: number) {}

  /** Bytes currently buffered (for status and tests). */
  get bufferedBytes(): number {
    return this.buffer?.byteLength ?? 0;
  }

  reset(): void {
    this.meta = null;
    this.buffer = null;
    this.received = 0;
  }

  receive(c: SnapshotChunk): ChunkOutcome {
    if (!Number.isSafeInteger(c.totalBytes) || c.totalBytes < 0 || c.totalBytes > this.snapshotBytesMax) {
      this.reset();
      return { kind: 'reject', reason: `snapshot of ${c.totalBytes} bytes, limit ${this.snapshotBytesMax}` };
    }
    if (!Number.isSafeInteger(c.offset) || c.offset < 0 || c.offset + c.data.byteLength > c.totalBytes) {
      return { kind: 'ack', offset: this.received };
    }
    if (!this.sameSnapshot(c)) {
      if (c.offset !== 0) return { kind: 'ack', offset: 0 };
      this.meta = c.meta;
      this.buffer = new Uint8Array(c.totalBytes);
      this.received = 0;
    }
    if (c.offset !== this.received) return { kind: 'ack', offset: this.received };
    this.buffer?.set(c.data, c.offset);
    this.received += c.data.byteLength;
    if (this.received < c.totalBytes) return { kind: 'ack', offset: this.received };
    const snapshot: Snapshot = { meta: c.meta, data: this.buffer ?? new Uint8Array(0) };
    this.reset();
    return { kind: 'complete', snapshot };
  }

  private sameSnapshot(c: SnapshotChunk): boolean {
    return (
      this.meta !== null &&
      this.buffer !== null &&
      this.meta.index === c.meta.index &&
      this.meta.term === c.meta.term &&
      this.buffer.byteLength === c.totalBytes
    );
  }
}
