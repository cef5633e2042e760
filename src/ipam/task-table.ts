// The id -> task index, and src/records' group and PTR indexes: an open-addressing hash table
// (linear probing, backward-shift deletion) with each slot's hash beside its value in one array.
//
// Why not a Map: at 1,000,000 tasks a Map probe for a new id (every allocation) walks a bucket
// chain, and each entry on it costs a cache miss for the entry and another for its key string's
// hash; that made the apply cost grow with the number of tasks (issue 4's 1k-vs-1M target,
// measured with a CPU profile: allocateTask's inlined Map lookup went from 13% to 25% of the
// time). Here a probe reads consecutive slots' hashes; a task (and its id) is only read when
// the hash matches, so a miss usually costs one cache line.

import { assert } from '../../raft/core/assert.js';

export const taskTableLimits = {
  /** Slots of an empty table (a power of two). */
  initialSlots: 16,
  /** The table doubles when more than this fraction of slots is used (linear probing stays short). */
  loadMax: 0.5,
} as const;

/** 0 marks an empty slot, so a hash of 0 is stored as 1. */
const empty = 0;
const smallHashMask = 0x3fffffff;

/**
 * Ids come from clients, so the hash is keyed with a per-process random seed (as V8 seeds its own
 * Map hashes): nobody can precompute ids that all land in one probe run. Only the table's private
 * slot order depends on it; nothing read from the table depends on that order (callers sort), so
 * replicas still produce the same results and byte-identical snapshots.
 */
const seed = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;

/** FNV-1a over the UTF-16 code units from a seeded basis, then murmur3's fmix32 to mix all bits into the low ones. */
function hashOf(key: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // 30 bits: V8 keeps it in the cells array as a small integer, not a boxed number.
  h &= smallHashMask;
  return h === empty ? 1 : h;
}

/**
 * The table itself, keyed by strings it does not store: a subclass says how a stored value
 * answers to a key (`matches`). One value may sit in several slots under different keys (the
 * records' PTR table keeps a task under its IPv4 and its IPv6 address).
 *
 * Slot i is two neighbouring cells, its hash (a small integer, 0 when empty) at 2i and its value
 * at 2i + 1, so a probe and the write of a new entry touch one cache line and one page. With the
 * hashes in an Int32Array beside an array of values, an allocation at 1,000,000 tasks missed the
 * cache and the TLB in both: measured side by side in one process, the apply cost at 1,000,000
 * tasks over that at 1,000 went from 1.26-1.30x to 1.14-1.19x (medians). The price: a hash cell
 * is a tagged 8-byte word where the Int32Array held 4 bytes, ~8 MB more per million entries.
 */
export abstract class SeededTable<V> {
  private cells: (number | V | undefined)[] = newCells<V>(taskTableLimits.initialSlots);
  private mask = taskTableLimits.initialSlots - 1;
  private count = 0;

  /** Whether `value`, stored under some key, is the one stored under `key`. */
  protected abstract matches(value: V, key: string): boolean;

  get size(): number {
    return this.count;
  }

  /** The slot holding what is stored under `key`, or -1. */
  private slotOf(key: string): number {
    const h = hashOf(key);
    const cells = this.cells;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const stored = cells[2 * i];
      if (stored === empty) return -1;
      if (stored === h) {
        const v = cells[2 * i + 1] as V | undefined;
        if (v !== undefined && this.matches(v, key)) return i;
      }
    }
  }

  get(key: string): V | undefined {
    const i = this.slotOf(key);
    return i < 0 ? undefined : (this.cells[2 * i + 1] as V);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Adds `value` under `key`; false (and no change) when the key is already present. */
  protected insert(key: string, value: V): boolean {
    if ((this.count + 1) > (this.mask + 1) * taskTableLimits.loadMax) this.grow();
    const h = hashOf(key);
    const cells = this.cells;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const stored = cells[2 * i];
      if (stored === empty) {
        cells[2 * i] = h;
        cells[2 * i + 1] = value;
        this.count++;
        return true;
      }
      if (stored === h) {
        const v = cells[2 * i + 1] as V | undefined;
        if (v !== undefined && this.matches(v, key)) return false;
      }
    }
  }

  /**
   * Stores `value` in place of what is stored under `key` (which must answer to it, as `value`
   * will); returns whether the key was present. The slot stays: no probe run changes.
   */
  replace(key: string, value: V): boolean {
    const i = this.slotOf(key);
    if (i < 0) return false;
    assert(this.matches(value, key), () => `replacement does not answer to the key ${key}`);
    this.cells[2 * i + 1] = value;
    return true;
  }

  /** Removes the key; returns what was stored under it, or undefined. */
  delete(key: string): V | undefined {
    let i = this.slotOf(key);
    if (i < 0) return undefined;
    const cells = this.cells;
    const removed = cells[2 * i + 1] as V;
    // Backward shift: pull later entries of the probe run into the hole, so no tombstones.
    const mask = this.mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const stored = cells[2 * j] as number;
      if (stored === empty) break;
      const home = stored & mask;
      // The entry at j may move to the hole at i only if its home slot is not in (i, j].
      const movable = i <= j ? home <= i || home > j : home <= i && home > j;
      if (movable) {
        cells[2 * i] = stored;
        cells[2 * i + 1] = cells[2 * j + 1];
        i = j;
      }
    }
    cells[2 * i] = empty;
    cells[2 * i + 1] = undefined;
    this.count--;
    return removed;
  }

  /** Drops every entry (the slots shrink back to the initial size). */
  clear(): void {
    this.cells = newCells<V>(taskTableLimits.initialSlots);
    this.mask = taskTableLimits.initialSlots - 1;
    this.count = 0;
  }

  /** Every value, in slot order, once per key it is stored under (callers sort: nothing depends on this order). */
  *values(): IterableIterator<V> {
    const cells = this.cells;
    for (let i = 1; i < cells.length; i += 2) if (cells[i] !== undefined) yield cells[i] as V;
  }

  private grow(): void {
    const old = this.cells;
    const slots = (this.mask + 1) * 2;
    const cells = newCells<V>(slots);
    this.mask = slots - 1;
    for (let k = 0; k < old.length; k += 2) {
      const h = old[k] as number;
      if (h === empty) continue;
      let i = h & this.mask;
      while (cells[2 * i] !== empty) i = (i + 1) & this.mask;
      cells[2 * i] = h;
      cells[2 * i + 1] = old[k + 1];
    }
    this.cells = cells;
    assert(this.count * 2 <= slots, 'table grown below its load');
  }
}

/** Cells of `slots` empty slots: hash 0 and no value, alternating. */
function newCells<V>(slots: number): (number | V | undefined)[] {
  // Allocated at its size (pushing would leave up to half again as much spare capacity).
  const cells = new Array<number | V | undefined>(2 * slots).fill(undefined);
  for (let i = 0; i < cells.length; i += 2) cells[i] = empty;
  return cells;
}

/** Values keyed by their own `id` (the state machine's id -> task index). */
export class KeyedTable<V extends { readonly id: string }> extends SeededTable<V> {
  protected matches(value: V, key: string): boolean {
    return value.id === key;
  }

  /** Adds `value` under its id; false (and no change) when the id is already present. */
  add(value: V): boolean {
    return this.insert(value.id, value);
  }
}
