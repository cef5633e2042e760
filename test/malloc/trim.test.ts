// src/malloc: the addon gives free C heap memory back to the system (RSS falls after a trim of a
// fragmented heap, and not before; large blocks are unmapped when freed once the mmap threshold is
// fixed), and MallocTrimmer trims after events and when a check finds
// much free, one at a time and at most once per interval.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MallocTrimmer, addonFile, loadMalloc, mallocLimits } from '../../src/malloc/malloc.js';
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
  const freeBefore = a.info().freeBytes;
  for (let i = 0; i < count; i += 2) held[i] = null;
  const freedBytes = (count / 2) * bufferBytes;
  // V8 frees ArrayBuffer memory after a GC, on its own schedule: poll (bounded) until it has.
  for (let polls = 0; a.info().freeBytes - freeBefore < freedBytes * 0.9 && polls < 400; polls++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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

/**
 * In a fresh process (glibc mmaps a block only when no free chunk of its heap fits it, and this
 * test process has freed plenty): frees an mmapped 8 MiB block, which raises glibc's dynamic
 * threshold to 8 MiB, then fixes the threshold (or not), allocates 64 blocks of 256 KiB and reports
 * how many bytes were mmapped for them, and how many stayed mapped once they were freed.
 */
function mmapProbe(fix: boolean): { mapped: number; afterFree: number } {
  // V8 frees ArrayBuffer memory after a GC, on its own schedule: poll (bounded) until it has.
  const script = `
    const { setFlagsFromString } = require('node:v8');
    setFlagsFromString('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc');
    const a = require(${JSON.stringify(addonFile.pathname)});
    const mapped = () => a.info().mmappedBytes;
    const until = (done) => new Promise((resolve) => {
      let polls = 0;
      const poll = () => { gc(); if (done() || ++polls > 400) resolve(); else setTimeout(poll, 5); };
      poll();
    });
    (async () => {
      let big = Buffer.allocUnsafeSlow(8 * 2 ** 20).fill(1);
      const withBig = mapped();
      big = null;
      await until(() => mapped() <= withBig - 8 * 2 ** 20);
      if (mapped() > withBig - 8 * 2 ** 20) throw new Error('the 8 MiB block was not unmapped');
      if (${fix} && !a.fixMmapThreshold(${mallocLimits.mmapThresholdBytes})) throw new Error('mallopt refused');
      const before = mapped();
      let held = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(256 * 1024).fill(2));
      const forBlocks = mapped() - before;
      held = null;
      await until(() => mapped() - before < 64 * 1024);
      console.log(JSON.stringify({ mapped: forBlocks, afterFree: mapped() - before }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { mapped: number; afterFree: number };
}

t.test('with the mmap threshold fixed, blocks over it are mapped on their own and unmapped when freed', { skip: addon instanceof Error ? 'no addon' : false }, async (t) => {
  const blocks = 64 * 256 * 1024;
  const fixed = mmapProbe(true);
  t.ok(fixed.mapped >= blocks * 0.75, `fixed: ${mib(fixed.mapped)} mmapped for ${mib(blocks)} of 256 KiB blocks`);
  t.ok(fixed.afterFree < blocks * 0.1, `and ${mib(fixed.afterFree)} still mapped once they are freed`);
  const unfixed = mmapProbe(false);
  t.ok(unfixed.mapped < blocks * 0.25, `not fixed, after a freed 8 MiB block: ${mib(unfixed.mapped)} mmapped (the heap took them)`);
  t.throws(() => (addon as MallocAddon).fixMmapThreshold(0), /bytes must be in/, 'a nonsense size is refused');
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
