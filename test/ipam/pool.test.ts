// Pools and the lowest-free allocator against simple models (src/ipam/pool.ts): the bitmap and
// the sparse-set IPv4 pools, the IPv6 pool and LowestFree must hand out exactly what a naive
// model hands out (round-robin after the cursor; lowest free index).
import t from 'tap';
import fc from 'fast-check';
import { LowestFree, Pool4, Pool6, pool6OffsetMax } from '../../src/ipam/pool.js';
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
  t.same([huge.allocate(), huge.allocate(), huge.allocate()], [2, 3, 4]);
  huge.release(3);
  t.equal(huge.allocate(), 5, 'no reuse before the cycle completes');
  huge.cursor = 2 ** 47 - 2;
  t.equal(huge.allocate(), 2 ** 47 - 1, 'IPv6 has no broadcast: the last offset is usable');
  t.equal(huge.allocate(), 3, 'wraps to the first free offset');
  const small = new Pool6(8n);
  const got: (number | undefined)[] = [];
  for (let i = 0; i < 7; i++) got.push(small.allocate());
  t.same(got, [2, 3, 4, 5, 6, 7, undefined], '6 usable of 8');
});

t.test('Pool6 wider than 2^53 (a /65 half): offsets stay exact numbers, wrapping at pool6OffsetMax', async (t) => {
  const wide = new Pool6(1n << 63n);
  t.equal(wide.lastOffset, pool6OffsetMax);
  t.equal(wide.capacity, (1n << 63n) - 2n, 'capacity is still the real one');
  wide.cursor = pool6OffsetMax - 1;
  t.equal(wide.allocate(), pool6OffsetMax);
  t.equal(wide.allocate(), 2, 'wraps instead of leaving the exact range');
  t.throws(() => wide.take(pool6OffsetMax + 1), /outside/);
});

t.test('Pool6 equals the round-robin model (paged bitmap across page boundaries)', async (t) => {
  // 8,192 offsets: two 4,096-bit pages, so the model check crosses a page edge and wraps.
  const r = fc.check(
    fc.property(fc.array(fc.oneof(fc.constant({ kind: 'alloc' as const }), fc.nat().map((pick) => ({ kind: 'release' as const, pick })), fc.oneof(fc.nat({ max: 8191 }), fc.constantFrom(1, 4093, 4094, 4095, 4096, 8189, 8190, 8191)).map((o) => ({ kind: 'jump' as const, o }))), { maxLength: 300 }), (ops6) => {
      const pool = new Pool6(8192n);
      const used = new Set<number>();
      let cursor = 1;
      for (const op of ops6) {
        if (op.kind === 'jump') {
          pool.cursor = Math.max(1, op.o);
          cursor = pool.cursor;
        } else if (op.kind === 'release') {
          const o = [...used][op.pick % Math.max(1, used.size)];
          if (o === undefined) continue;
          used.delete(o);
          pool.release(o);
        } else {
          let want: number | undefined;
          for (let step = 1; step <= 8192 && want === undefined; step++) {
            const o = ((cursor - 2 + step) % 8190) + 2;
            if (!used.has(o)) want = o;
          }
          const got = pool.allocate();
          if (got !== want) return false;
          if (got !== undefined) {
            used.add(got);
            cursor = got;
          }
        }
        if (pool.used !== used.size) return false;
      }
      return [...used].every((o) => pool.has(o));
    }),
    { seed, numRuns: 100 },
  );
  t.notOk(r.failed, `seed ${seed} ${JSON.stringify(r.counterexample)}`);
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
