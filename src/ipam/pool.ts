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
  private readonly taken: PagedBits | null;
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
      this.taken = new PagedBits();
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
    const offset = this.taken?.nextClear(this.cursor, firstHostOffset, this.lastOffset);
    assert(offset !== undefined, () => `pool of ${this.size} has used ${this.used} < capacity but no free offset`);
    return offset;
  }
}

/**
 * Offsets of an IPv6 pool are JS numbers, exact below 2^53: a pool hands them out round-robin from
 * offset 2, so an offset at or above 2^53 would take 2^53 allocations to reach. A pool larger than
 * that (a half wider than /75) wraps at this offset instead of its real end; no caller can tell.
 */
export const pool6OffsetMax = Number.MAX_SAFE_INTEGER;

/**
 * An IPv6 pool. Pools are huge (a /81 half holds 2^47 addresses), so it is a cursor plus a paged
 * bitmap of used offsets: the cursor almost never meets a used offset, so allocation is O(1), and
 * the offsets in use sit in a few dense pages (one bit each instead of a hash-set entry and a
 * BigInt per task: BigInt stays at the edges, in parsing, formatting and the snapshot).
 */
export class Pool6 {
  cursor = 1;
  used = 0;
  private readonly taken = new PagedBits();
  readonly lastOffset: number;

  constructor(readonly size: bigint) {
    assert(size >= 8n && (size & (size - 1n)) === 0n, () => `pool size ${size} must be a power of two >= 8`);
    // IPv6 has no broadcast address (RFC 4291): the last offset is usable.
    this.lastOffset = size - 1n > BigInt(pool6OffsetMax) ? pool6OffsetMax : Number(size - 1n);
    this.capacity = size - 2n;
  }

  /**
   * Usable addresses; above 2^53 only approximately representable (usage figures say so). A field,
   * not a getter: every allocation compares `used` (a number: exact against a BigInt) with it.
   */
  readonly capacity: bigint;

  has(offset: number): boolean {
    return this.taken.has(offset);
  }

  allocate(): number | undefined {
    if (this.used >= this.capacity) return undefined;
    const offset = this.taken.nextClear(this.cursor, firstHostOffset, this.lastOffset);
    assert(offset !== undefined, () => `pool6 of ${this.size} has used ${this.used} < capacity but no free offset`);
    this.take(offset);
    this.cursor = offset;
    return offset;
  }

  take(offset: number): void {
    assert(Number.isSafeInteger(offset) && offset >= firstHostOffset && offset <= this.lastOffset, () => `offset ${offset} outside 2..${this.lastOffset}`);
    assert(!this.taken.has(offset), () => `offset ${offset} already taken`);
    this.taken.add(offset);
    this.used++;
  }

  release(offset: number): void {
    assert(this.taken.has(offset), () => `offset ${offset} not taken`);
    this.taken.delete(offset);
    this.used--;
  }
}

/** Bits per page of a PagedBits (4,096: 512 bytes of bitmap per page). */
const pageBits = 4096;
const pageWords = pageBits / 32;

/**
 * A set of non-negative integers below 2^53, as bitmap pages in a Map keyed by page number. Pools
 * hand out offsets round-robin, so the used ones are dense runs: a few pages hold them, at one bit
 * each. The last word of a page counts its set bits; an empty page is dropped.
 */
export class PagedBits {
  private readonly pages = new Map<number, Uint32Array>();

  has(n: number): boolean {
    const page = this.pages.get(Math.floor(n / pageBits));
    if (page === undefined) return false;
    const bit = n % pageBits;
    return ((page[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }

  /** Sets bit n (the caller checked it was clear). */
  add(n: number): void {
    const key = Math.floor(n / pageBits);
    let page = this.pages.get(key);
    if (page === undefined) {
      page = new Uint32Array(pageWords + 1);
      this.pages.set(key, page);
    }
    const bit = n % pageBits;
    page[bit >>> 5] = (page[bit >>> 5] ?? 0) | (1 << (bit & 31));
    page[pageWords] = (page[pageWords] ?? 0) + 1;
  }

  /** Clears bit n (the caller checked it was set). */
  delete(n: number): void {
    const key = Math.floor(n / pageBits);
    const page = this.pages.get(key);
    assert(page !== undefined, () => `bit ${n} is not set`);
    const bit = n % pageBits;
    page[bit >>> 5] = (page[bit >>> 5] ?? 0) & ~(1 << (bit & 31));
    const count = (page[pageWords] ?? 0) - 1;
    if (count === 0) this.pages.delete(key);
    else page[pageWords] = count;
  }

  /**
   * The first clear bit after `after` in first..last, wrapping from last to first, or undefined
   * when every bit of the range is set. Skips missing pages and full words whole.
   */
  nextClear(after: number, first: number, last: number): number | undefined {
    const total = last - first + 1;
    let n = after + 1 > last || after < first ? first : after + 1;
    for (let seen = 0; seen < total; ) {
      const page = this.pages.get(Math.floor(n / pageBits));
      if (page === undefined) return n;
      const bit = n % pageBits;
      const word = ~(page[bit >>> 5] ?? 0) & (~0 << (bit & 31));
      if (word !== 0) {
        const found = n - (bit & 31) + (31 - Math.clz32(word & -word));
        if (found <= last) return found;
      }
      // Nothing clear from n to the end of this word (or to last): move on, wrapping after last.
      const wordEnd = n - (bit & 31) + 31;
      const end = wordEnd < last ? wordEnd : last;
      seen += end - n + 1;
      n = end === last ? first : end + 1;
    }
    return undefined;
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
