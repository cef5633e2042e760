// Address pools and block allocators. A pool is one half of an agent's block (or the whole block
// for split "shared") in one address family. It hands out addresses round-robin after the last one
// handed out, like CNI host-local, so a released address is reused only after the rest of the pool
// has been cycled through (a stale DNS answer rarely points at a new container).
//
// Offsets are relative to the pool's network address. Offset 0 (network address) and 1 (gateway,
// the bridge's address) are never handed out, nor, for IPv4, the last offset (broadcast).

import { assert } from '../../raft/core/assert.js';
import { limits } from './limits.js';

/** First offset a task may get: after the network address (0) and the gateway (1). */
export const firstHostOffset = 2;

/** An IPv4 pool: a bitmap for pools up to limits.bitmapPoolAddressesMax addresses, else a set. */
export class Pool4 {
  /** Offset of the last address handed out; starts at the gateway so the first task gets offset 2. */
  cursor = 1;
  used = 0;
  private readonly bits: Uint32Array | null;
  private readonly taken: Set<number> | null;
  readonly lastOffset: number;

  constructor(readonly size: number) {
    assert(Number.isInteger(Math.log2(size)) && size >= 8, () => `pool size ${size} must be a power of two >= 8`);
    this.lastOffset = size - 2; // size - 1 is the broadcast address
    if (size <= limits.bitmapPoolAddressesMax) {
      this.bits = new Uint32Array(Math.ceil(size / 32));
      this.taken = null;
      // Mark the never-handed-out offsets and the padding of a short last word as taken, so the
      // word scan needs no range checks.
      this.mark(0);
      this.mark(1);
      for (let o = size - 1; o < this.bits.length * 32; o++) this.mark(o);
    } else {
      this.bits = null;
      this.taken = new Set();
    }
  }

  get capacity(): number {
    return this.size - 3;
  }

  has(offset: number): boolean {
    if (this.bits !== null) return ((this.bits[offset >>> 5] ?? 0) & (1 << (offset & 31))) !== 0;
    return this.taken?.has(offset) === true;
  }

  private mark(offset: number): void {
    const bits = this.bits;
    assert(bits !== null, 'mark on a set pool');
    bits[offset >>> 5] = (bits[offset >>> 5] ?? 0) | (1 << (offset & 31));
  }

  /** The next free offset after the cursor (wrapping), or undefined when the pool is full. */
  allocate(): number | undefined {
    if (this.used >= this.capacity) return undefined;
    const offset = this.bits !== null ? this.scanBits() : this.scanSet();
    assert(offset >= firstHostOffset && offset <= this.lastOffset, () => `offset ${offset} outside 2..${this.lastOffset}`);
    this.take(offset);
    this.cursor = offset;
    return offset;
  }

  /** Marks an offset used (restore, or allocate's choice). */
  take(offset: number): void {
    assert(offset >= firstHostOffset && offset <= this.lastOffset, () => `offset ${offset} outside 2..${this.lastOffset}`);
    assert(!this.has(offset), () => `offset ${offset} already taken`);
    if (this.bits !== null) this.mark(offset);
    else this.taken?.add(offset);
    this.used++;
  }

  release(offset: number): void {
    assert(this.has(offset) && offset >= firstHostOffset && offset <= this.lastOffset, () => `offset ${offset} not taken`);
    if (this.bits !== null) this.bits[offset >>> 5] = (this.bits[offset >>> 5] ?? 0) & ~(1 << (offset & 31));
    else this.taken?.delete(offset);
    this.used--;
  }

  /** Word-at-a-time scan for a zero bit, starting after the cursor and wrapping once. */
  private scanBits(): number {
    const bits = this.bits;
    assert(bits !== null, 'scanBits on a set pool');
    const words = bits.length;
    const start = this.cursor + 1 >= this.size ? 0 : this.cursor + 1;
    let w = start >>> 5;
    // Bits below `start` in its word count as taken for the first pass.
    let free = ~(bits[w] ?? 0) & (~0 << (start & 31));
    for (let step = 0; step <= words; step++) {
      if (free !== 0) return w * 32 + (31 - Math.clz32(free & -free));
      w = w + 1 === words ? 0 : w + 1;
      free = ~(bits[w] ?? 0);
    }
    assert(false, () => `pool of ${this.size} has used ${this.used} < capacity but no free bit`);
  }

  private scanSet(): number {
    let offset = this.cursor;
    for (let step = 0; step < this.size; step++) {
      offset = offset + 1 > this.lastOffset ? firstHostOffset : offset + 1;
      if (!this.has(offset)) return offset;
    }
    assert(false, () => `pool of ${this.size} has used ${this.used} < capacity but no free offset`);
  }
}

/**
 * An IPv6 pool. Pools are huge (a /81 half holds 2^47 addresses), so it is a cursor plus a sparse
 * set of used offsets: the cursor almost never meets a used offset, so allocation is O(1).
 */
export class Pool6 {
  cursor = 1n;
  used = 0;
  private readonly taken = new Set<bigint>();
  readonly lastOffset: bigint;

  constructor(readonly size: bigint) {
    assert(size >= 8n && (size & (size - 1n)) === 0n, () => `pool size ${size} must be a power of two >= 8`);
    this.lastOffset = size - 1n; // IPv6 has no broadcast address (RFC 4291)
  }

  /** Usable addresses; above 2^53 only approximately representable (usage figures say so). */
  get capacity(): bigint {
    return this.size - 2n;
  }

  has(offset: bigint): boolean {
    return this.taken.has(offset);
  }

  allocate(): bigint | undefined {
    if (BigInt(this.used) >= this.capacity) return undefined;
    let offset = this.cursor;
    // Bounded by the pool size; in practice a handful of steps (see the class comment).
    for (let step = 0n; step < this.size; step++) {
      offset = offset + 1n > this.lastOffset ? BigInt(firstHostOffset) : offset + 1n;
      if (!this.taken.has(offset)) {
        this.take(offset);
        this.cursor = offset;
        return offset;
      }
    }
    assert(false, () => `pool6 of ${this.size} has used ${this.used} < capacity but no free offset`);
  }

  take(offset: bigint): void {
    assert(offset >= BigInt(firstHostOffset) && offset <= this.lastOffset, () => `offset ${offset} outside 2..${this.lastOffset}`);
    assert(!this.taken.has(offset), () => `offset ${offset} already taken`);
    this.taken.add(offset);
    this.used++;
  }

  release(offset: bigint): void {
    assert(this.taken.delete(offset), () => `offset ${offset} not taken`);
    this.used--;
  }
}

/**
 * Hands out the lowest free index of 0..count-1 (blocks of a subnet, VTEP addresses). Freed
 * indexes go to a min-heap; indexes never used start at `fresh`. O(log n) per operation.
 */
export class LowestFree {
  private fresh: number;
  private readonly heap: number[] = [];
  private readonly inUse = new Set<number>();

  constructor(
    private readonly first: number,
    private readonly end: number,
  ) {
    assert(first <= end, () => `empty index range ${first}..${end}`);
    this.fresh = first;
  }

  get usedCount(): number {
    return this.inUse.size;
  }

  has(index: number): boolean {
    return this.inUse.has(index);
  }

  allocate(): number | undefined {
    let index: number;
    if (this.heap.length > 0) index = heapPop(this.heap);
    else if (this.fresh < this.end) index = this.fresh++;
    else return undefined;
    this.inUse.add(index);
    return index;
  }

  release(index: number): void {
    assert(this.inUse.delete(index), () => `index ${index} is not in use`);
    heapPush(this.heap, index);
  }

  /** Restore: marks exactly these indexes used (each once), leaving the lowest free as it was. */
  restoreUsed(indexes: readonly number[]): void {
    assert(this.inUse.size === 0 && this.fresh === this.first, 'restoreUsed on a fresh allocator only');
    let max = this.first - 1;
    for (const i of indexes) {
      assert(Number.isInteger(i) && i >= this.first && i < this.end, () => `index ${i} outside ${this.first}..${this.end - 1}`);
      assert(!this.inUse.has(i), () => `index ${i} used twice`);
      this.inUse.add(i);
      if (i > max) max = i;
    }
    this.fresh = max + 1;
    for (let i = this.first; i < this.fresh; i++) if (!this.inUse.has(i)) heapPush(this.heap, i);
  }
}

function heapPush(heap: number[], value: number): void {
  heap.push(value);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent] ?? 0;
    if (p <= value) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number {
  const top = heap[0];
  const last = heap.pop();
  assert(top !== undefined && last !== undefined, 'pop from an empty heap');
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const r = l + 1;
    const c = r < heap.length && (heap[r] ?? 0) < (heap[l] ?? 0) ? r : l;
    if ((heap[c] ?? 0) >= last) break;
    heap[i] = heap[c] ?? 0;
    i = c;
  }
  heap[i] = last;
  return top;
}
