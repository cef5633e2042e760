// src/malloc: the addon gives free C heap memory back to the system (RSS falls after a trim of a
// fragmented heap, and not before; large blocks are unmapped when freed once the mmap threshold is
// fixed), and MallocTrimmer trims after events and when a check finds
// much free, one at a time and at most once per interval.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MallocTrimmer, loadMalloc, mallocLimits } from '../../src/malloc/malloc.js';
import type { MallocAddon, MallocInfo } from '../../src/malloc/malloc.js';

const compilerPresent = spawnSync(process.env['CC'] ?? 'cc', ['--version']).status === 0;
const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
const addon = loadMalloc();

/** Resident bytes from the kernel (process.memoryUsage() reads the same, but allocates more). */
const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

t.test('the addon is built and usable wherever a C compiler and glibc are', async (t) => {
  if (!compilerPresent || glibc === undefined) {
    t.ok(addon instanceof Error, 'no compiler or not glibc: no addon');
    return;
  }
  t.notOk(addon instanceof Error, addon instanceof Error ? addon.message : 'loaded');
});

t.test('a trim gives a fragmented heap back to the system', { skip: addon instanceof Error ? 'no addon' : false }, async (t) => {
  const a = addon as MallocAddon;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // 100 KiB buffers stay below glibc's mmap threshold (128 KiB): they come from the heap. Keeping
  // every other one leaves the freed ones between live ones, where only a trim can return them.
  const bufferBytes = 100 * 1024;
  const count = 1600;
  const held: (Buffer | null)[] = [];
  for (let i = 0; i < count; i++) held.push(Buffer.allocUnsafeSlow(bufferBytes).fill(i & 0xff));
  for (let i = 0; i < count; i += 2) held[i] = null;
  gc();
  gc();
  const freedBytes = (count / 2) * bufferBytes;
  const before = a.info();
  t.ok(before.freeBytes >= freedBytes * 0.9, `malloc holds the freed buffers: ${mib(before.freeBytes)} free for ${mib(freedBytes)} freed`);
  const rssBefore = rss();
  const released = await new Promise<boolean>((resolve) => t.ok(a.trim(resolve), 'the trim is queued'));
  const rssAfter = rss();
  t.equal(released, true, 'glibc says it gave memory back');
  t.ok(rssBefore - rssAfter >= freedBytes * 0.5, `RSS ${mib(rssBefore)} -> ${mib(rssAfter)} for ${mib(freedBytes)} freed`);
  t.equal(held.filter((b) => b !== null).every((b, i) => b![0] === ((2 * i + 1) & 0xff) && b![bufferBytes - 1] === ((2 * i + 1) & 0xff)), true, 'the buffers still held are intact');
  t.throws(() => (a.trim as (x: unknown) => boolean)(42), /done must be a function/, 'a bad argument is refused');
});

t.test('with the mmap threshold fixed, blocks over it are mapped on their own and unmapped when freed', { skip: addon instanceof Error ? 'no addon' : false }, async (t) => {
  const a = addon as MallocAddon;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Freeing an mmapped 8 MiB block raises glibc's dynamic threshold to 8 MiB: unfixed, the 256 KiB
  // blocks below would then come from the heap.
  let big: Buffer | null = Buffer.allocUnsafeSlow(8 * 2 ** 20).fill(1);
  t.equal(big[0], 1);
  big = null;
  gc();
  t.ok(a.fixMmapThreshold(mallocLimits.mmapThresholdBytes), 'mallopt accepts it');
  const blockBytes = 256 * 1024;
  const before = a.info().mmappedBytes;
  let held: Buffer[] | null = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(blockBytes));
  const mapped = a.info().mmappedBytes - before;
  t.ok(mapped >= 64 * blockBytes, `64 blocks of 256 KiB: ${mib(mapped)} mmapped for them`);
  t.equal(held.length, 64);
  held = null;
  gc();
  gc();
  t.ok(a.info().mmappedBytes - before < 8 * blockBytes, 'freed, they are unmapped (not kept in the heap)');
  t.throws(() => a.fixMmapThreshold(0), /bytes must be in/, 'a nonsense size is refused');
});

/** An addon that counts trims and lets the test finish each one. */
class FakeAddon implements MallocAddon {
  readonly supported = true;
  free = 0;
  started = 0;
  private pending: ((released: boolean) => void) | null = null;
  private onStart: (() => void) | null = null;

  private onInfo: (() => void) | null = null;

  info(): MallocInfo {
    this.onInfo?.();
    return { heapBytes: this.free, inUseBytes: 0, freeBytes: this.free, mmappedBytes: 0 };
  }

  /** Resolves after `n` more looks at the free memory (the trimmer's periodic checks). */
  looks(n: number): Promise<void> {
    let left = n;
    return new Promise((resolve) => (this.onInfo = () => { if (--left === 0) { this.onInfo = null; resolve(); } }));
  }

  fixMmapThreshold(): boolean {
    return true;
  }

  trim(done: (released: boolean) => void): boolean {
    if (this.pending !== null) return false;
    this.pending = done;
    this.started++;
    this.onStart?.();
    return true;
  }

  /** Resolves at the next trim started. */
  nextStart(): Promise<void> {
    return new Promise((resolve) => (this.onStart = () => { this.onStart = null; resolve(); }));
  }

  finish(released: boolean): void {
    const done = this.pending!;
    this.pending = null;
    done(released);
  }
}

t.test('MallocTrimmer: one trim at a time, at most one per interval, and a check trims only when much is free', async (t) => {
  const fake = new FakeAddon();
  const limits = { ...mallocLimits, checkIntervalMs: 5, trimIntervalMinMs: 40, freeBytesMin: 1000 };
  const trimmer = new MallocTrimmer(fake, limits);
  // The trimmer's timers do not keep a process alive (unref); this test's awaits need them to.
  const alive = setInterval(() => undefined, 1000);
  t.teardown(() => {
    trimmer.close();
    clearInterval(alive);
  });

  trimmer.trimSoon();
  t.equal(fake.started, 1, 'the first trim starts at once');
  trimmer.trimSoon();
  t.equal(fake.started, 1, 'not a second one while it runs');
  fake.finish(true);
  t.same(trimmer.stats(), { trims: 1, released: 1 });

  const startedAt = Date.now();
  const second = fake.nextStart();
  trimmer.trimSoon();
  trimmer.trimSoon();
  t.equal(fake.started, 1, 'within the interval it waits');
  await second;
  t.ok(Date.now() - startedAt >= limits.trimIntervalMinMs - 10, 'and runs once the interval has passed');
  t.equal(fake.started, 2, 'once, however often it was asked');
  fake.finish(false);
  t.same(trimmer.stats(), { trims: 2, released: 1 }, 'a trim that released nothing is counted as such');

  // Checks run every 5 ms: nothing while little is free (for longer than the interval), a trim once enough is.
  fake.free = limits.freeBytesMin - 1;
  await fake.looks(Math.ceil((2 * limits.trimIntervalMinMs) / limits.checkIntervalMs));
  t.equal(fake.started, 2, 'no trim while less than freeBytesMin is free');
  const third = fake.nextStart();
  fake.free = limits.freeBytesMin;
  await third;
  t.equal(fake.started, 3, 'a check trims once freeBytesMin is free');
  fake.finish(true);
});
