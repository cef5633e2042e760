// Small, fast, deterministic hashes for the checkers and the trace. Two independent 32-bit lanes
// (murmur3-style mixing with different constants) give 64 bits, so an accidental collision that
// would hide a divergence is out of reach in any run we do. Not cryptographic, and need not be.

import type { ConfChange, Entry } from '../core/types.js';
import { assertNever } from '../core/assert.js';

/** A 64-bit hash as two 32-bit lanes; compare with `hashEqual`. */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

export const HASH_ZERO: Hash64 = { hi: 0, lo: 0 };

function mixHi(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixLo(h: number, k: number): number {
  k = Math.imul(k, 0x85ebca77);
  k = (k << 13) | (k >>> 19);
  h ^= Math.imul(k, 0xc2b2ae3d);
  h = (h << 17) | (h >>> 15);
  return (Math.imul(h, 9) + 0x165667b1) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An incremental hasher: feed numbers, strings and bytes, then read `digest()`. */
export class Hasher {
  private hi: number;
  private lo: number;

  constructor(seed: Hash64 = HASH_ZERO) {
    this.hi = seed.hi | 0;
    this.lo = seed.lo | 0;
  }

  /** Any safe integer (split into two 32-bit words so large virtual times hash fully). */
  num(n: number): this {
    const low = n | 0;
    const high = Math.floor(n / 0x1_0000_0000) | 0;
    this.hi = mixHi(mixHi(this.hi, low), high);
    this.lo = mixLo(mixLo(this.lo, low), high);
    return this;
  }

  str(s: string): this {
    this.num(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.hi = mixHi(this.hi, c);
      this.lo = mixLo(this.lo, c);
    }
    return this;
  }

  bytes(b: Uint8Array): this {
    this.num(b.length);
    for (let i = 0; i < b.length; i++) {
      const c = b[i] as number;
      this.hi = mixHi(this.hi, c);
      this.lo = mixLo(this.lo, c);
    }
    return this;
  }

  digest(): Hash64 {
    return { hi: fmix(this.hi), lo: fmix(this.lo ^ 0x5bd1e995) };
  }
}

export function hashEqual(a: Hash64, b: Hash64): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

export function hashHex(h: Hash64): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}

function hashChange(h: Hasher, c: ConfChange): void {
  switch (c.type) {
    case 'addLearner':
      h.num(1).str(c.id).str(c.context);
      return;
    case 'promote':
      h.num(2).str(c.id);
      return;
    case 'remove':
      h.num(3).str(c.id);
      return;
    default:
      assertNever(c);
  }
}

/** Identity of an entry: index, term and content. Two entries with equal hashes are the same. */
export function entryHash(e: Entry): Hash64 {
  const h = new Hasher().num(e.index).num(e.term);
  switch (e.kind) {
    case 'normal':
      h.num(0).bytes(e.data);
      break;
    case 'conf':
      h.num(1);
      hashChange(h, e.change);
      break;
    default:
      assertNever(e);
  }
  return h.digest();
}
