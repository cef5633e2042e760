// The simulator's only source of randomness: sfc32 (Chris Doty-Humphrey's Small Fast Counter, as in
// PractRand), seeded through splitmix32. Everything in a run — its options, the network, the disks,
// the workload, the faults and every core's election timeouts — is drawn from one seed, so a seed
// replays exactly. sfc32 passes PractRand to 2^40+ bytes, is 4 words of state and needs no BigInt,
// which matters here: a run draws millions of numbers.

const U32 = 0x1_0000_0000;

/** splitmix32: turns any 32-bit value into a well-mixed one; used only to expand seeds. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // The first outputs of a freshly seeded sfc32 are correlated with the seed; discard them.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A generator from a non-negative integer seed up to 2^53. */
  static fromSeed(seed: number): Prng {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / U32) >>> 0;
    const a = splitmix32(lo);
    const b = splitmix32(hi ^ a);
    const c = splitmix32(lo ^ 0x6a09e667 ^ b);
    const d = splitmix32(hi ^ 0xbb67ae85 ^ c);
    return new Prng(a, b, c, d);
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1) with 32 bits of randomness (enough for every use here). */
  float(): number {
    return this.nextU32() / U32;
  }

  /** An integer in [0, n); n must be a positive integer below 2^32. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= U32)) throw new RangeError(`int(n): bad n ${n}`);
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi] (both inclusive). */
  between(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`between(${lo}, ${hi}): empty range`);
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** An exponentially distributed wait with the given mean (Poisson arrivals), at least 1. */
  exponential(mean: number): number {
    return Math.max(1, Math.round(-Math.log(1 - this.float()) * mean));
  }

  /** A uniformly chosen element; the array must not be empty. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined && items.length === 0) throw new RangeError('pick from an empty array');
    return item as T;
  }

  /** An independent generator derived from this one (for a sub-stream such as one core). */
  fork(): Prng {
    return new Prng(this.nextU32(), this.nextU32(), this.nextU32(), this.nextU32());
  }
}
