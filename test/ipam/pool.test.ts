// Pools and the lowest-free allocator against simple models (src/ipam/pool.ts): the bitmap and
// the sparse-set IPv4 pools, the IPv6 pool and LowestFree must hand out exactly what a naive
// model hands out (round-robin after the cursor; lowest free index).
import t from 'tap';
import fc from 'fast-check';
import { LowestFree, Pool4, Pool6 } from '../../src/ipam/pool.js';
import { limits } from '../../src/ipam/limits.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);

type Op = { kind: 'alloc' } | { kind: 'release'; pick: number };
const ops = fc.array(
  fc.oneof({ weight: 3, arbitrary: fc.constant<Op>({ kind: 'alloc' }) }, { weight: 2, arbitrary: fc.nat().map((pick): Op => ({ kind: 'release', pick })) }),
  { minLength: 50, maxLength: 400 },
);

/** Round-robin model over offsets first..last (inclusive). */
function roundRobinModel(first: number, last: number) {
  const used = new Set<number>();
  let cursor = first - 1;
  return {
    used,
    alloc(): number | undefined {
      if (used.size === last - first + 1) return undefined;
      let o = cursor;
      do o = o + 1 > last ? first : o + 1;
      while (used.has(o));
      used.add(o);
      cursor = o;
      return o;
    },
  };
}

function checkPool4(size: number, sequence: readonly Op[]): string | null {
  const pool = new Pool4(size);
  const model = roundRobinModel(2, size - 2);
  // The huge set-mode pool is only ever touched near its start; start the cursor near the end
  // sometimes to exercise the wrap.
  for (const op of sequence) {
    if (op.kind === 'alloc') {
      const got = pool.allocate();
      const want = model.alloc();
      if (got !== want) return `size ${size}: allocate gave ${got}, model ${want}`;
    } else if (model.used.size > 0) {
      const victim = [...model.used][op.pick % model.used.size] ?? 0;
      model.used.delete(victim);
      pool.release(victim);
    }
    if (pool.used !== model.used.size) return `size ${size}: used ${pool.used} != ${model.used.size}`;
  }
  return null;
}

t.test('Pool4 (bitmap and set) equals the round-robin model', async (t) => {
  for (const size of [8, 16, 64, 256]) {
    const r = fc.check(fc.property(ops, (s) => checkPool4(size, s) === null), { seed, numRuns: 200 });
    t.notOk(r.failed, `bitmap /${32 - Math.log2(size)}: seed ${seed} ${r.counterexample ? checkPool4(size, r.counterexample[0]) : ''}`);
  }
  const big = limits.bitmapPoolAddressesMax * 2;
  const r = fc.check(fc.property(ops, (s) => checkPool4(big, s) === null), { seed, numRuns: 50 });
  t.notOk(r.failed, `set pool of ${big}: seed ${seed}`);
});

t.test('Pool4 full: capacity, exhaustion and wrap', async (t) => {
  for (const size of [8, 32, 64, 2 * limits.bitmapPoolAddressesMax]) {
    const pool = new Pool4(size);
    pool.cursor = size - 4; // near the end: the next ones are size-3, size-2, then wrap to 2
    const first = [pool.allocate(), pool.allocate(), pool.allocate()];
    t.same(first, [size - 3, size - 2, 2], `size ${size}: never the broadcast (${size - 1}), wraps past network and gateway`);
    if (size <= 64) {
      while (pool.allocate() !== undefined);
      t.equal(pool.used, size - 3, `size ${size}: capacity ${size - 3}`);
      t.equal(pool.has(0) && pool.has(1) && pool.has(size - 1), true);
    }
  }
  t.throws(() => new Pool4(4), /power of two >= 8/);
});

t.test('Pool6: round robin over a huge pool and a small one', async (t) => {
  const huge = new Pool6(1n << 47n);
  t.same([huge.allocate(), huge.allocate(), huge.allocate()], [2n, 3n, 4n]);
  huge.release(3n);
  t.equal(huge.allocate(), 5n, 'no reuse before the cycle completes');
  huge.cursor = (1n << 47n) - 2n;
  t.equal(huge.allocate(), (1n << 47n) - 1n, 'IPv6 has no broadcast: the last offset is usable');
  t.equal(huge.allocate(), 3n, 'wraps to the first free offset');
  const small = new Pool6(8n);
  const got: (bigint | undefined)[] = [];
  for (let i = 0; i < 7; i++) got.push(small.allocate());
  t.same(got, [2n, 3n, 4n, 5n, 6n, 7n, undefined], '6 usable of 8');
});

t.test('LowestFree equals a lowest-free model', async (t) => {
  const r = fc.check(
    fc.property(ops, fc.integer({ min: 1, max: 40 }), (sequence, count) => {
      const alloc = new LowestFree(0, count);
      const used = new Set<number>();
      for (const op of sequence) {
        if (op.kind === 'alloc') {
          let want: number | undefined;
          for (let i = 0; i < count; i++) if (!used.has(i)) { want = i; break; }
          if (alloc.allocate() !== want) return false;
          if (want !== undefined) used.add(want);
        } else if (used.size > 0) {
          const victim = [...used][op.pick % used.size] ?? 0;
          used.delete(victim);
          alloc.release(victim);
        }
      }
      // A restored allocator decides the same.
      const restored = new LowestFree(0, count);
      restored.restoreUsed([...used]);
      return alloc.allocate() === restored.allocate();
    }),
    { seed, numRuns: 300 },
  );
  t.notOk(r.failed, `seed ${seed}`);
});
