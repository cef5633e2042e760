// Gives glibc's free malloc memory back to the operating system (README.md says why a node needs
// it). The addon (malloc.c) is built by `node dist/src/malloc/build.js` next to this file in dist/;
// where it was not built (no C compiler) or the C library is not glibc, `loadMalloc()` says why
// and nothing is trimmed.
import { createRequire } from 'node:module';
import { assert } from '../../raft/core/assert.js';

/** What glibc's malloc holds (mallinfo2), in bytes. */
export interface MallocInfo {
  /** Obtained from the system for the heap and the arenas (brk and arena mmaps). */
  readonly heapBytes: number;
  /** In use in them. */
  readonly inUseBytes: number;
  /** Free in them: what a trim can give back, except what shares a page with used memory. */
  readonly freeBytes: number;
  /** Large blocks mmapped on their own (already given back when freed). */
  readonly mmappedBytes: number;
}

export interface MallocAddon {
  readonly supported: boolean;
  info(): MallocInfo;
  /** Runs malloc_trim(0) on a libuv pool thread; false (and no call of `done`) while one runs. */
  trim(done: (released: boolean) => void): boolean;
  /** mallopt(M_MMAP_THRESHOLD): blocks of at least `bytes` always get an mmap of their own. */
  fixMmapThreshold(bytes: number): boolean;
}

export const addonFile = new URL('./malloc.node', import.meta.url);

let loaded: MallocAddon | Error | undefined;

/** The addon, or the Error that says why it cannot be used here. */
export function loadMalloc(): MallocAddon | Error {
  if (loaded === undefined) {
    try {
      const addon = createRequire(import.meta.url)(addonFile.pathname) as MallocAddon;
      loaded = addon.supported ? addon : new Error('the C library is not glibc 2.33 or later');
    } catch (err) {
      loaded = new Error(`${addonFile.pathname} not loadable (${(err as Error).message.split('\n')[0]}); build it with \`node dist/src/malloc/build.js\``);
    }
  }
  return loaded;
}

export const mallocLimits = {
  /** How often the free memory is looked at. */
  checkIntervalMs: 10_000,
  /** A check trims when malloc holds at least this much free. */
  freeBytesMin: 32 * 2 ** 20,
  /** At most one trim per this interval, whoever asks (each one walks every arena under its lock). */
  trimIntervalMinMs: 5_000,
  /**
   * Blocks this large or larger are mmapped on their own and unmapped when freed (glibc's initial
   * threshold, kept fixed: glibc raises it each time such a block is freed, up to 32 MiB, and
   * blocks under it then come from the heap and stay resident after they are freed).
   */
  mmapThresholdBytes: 128 * 1024,
} as const;

export interface TrimStats {
  readonly trims: number;
  /** Trims after which glibc said it gave memory back. */
  readonly released: number;
}

/**
 * Trims after events that free large buffers (`trimSoon`: a snapshot taken or installed) and
 * whenever a periodic check finds `freeBytesMin` free; one trim at a time, at most one per
 * `trimIntervalMinMs`, off the event loop.
 */
export class MallocTrimmer {
  private readonly timer: NodeJS.Timeout;
  private deferred: NodeJS.Timeout | null = null;
  private running = false;
  private lastStartMs = -Infinity;
  private trims = 0;
  private releasedCount = 0;

  constructor(
    private readonly addon: MallocAddon,
    private readonly limits: { readonly [K in keyof typeof mallocLimits]: number } = mallocLimits,
  ) {
    assert(addon.supported, 'MallocTrimmer needs a supported addon');
    addon.fixMmapThreshold(limits.mmapThresholdBytes);
    this.timer = setInterval(() => this.check(), limits.checkIntervalMs).unref();
  }

  /** Trims now, or once the interval since the last trim has passed. */
  trimSoon(): void {
    if (this.running || this.deferred !== null) return;
    const waitMs = this.lastStartMs + this.limits.trimIntervalMinMs - Date.now();
    if (waitMs <= 0) {
      this.start();
      return;
    }
    this.deferred = setTimeout(() => {
      this.deferred = null;
      this.trimSoon();
    }, waitMs).unref();
  }

  info(): MallocInfo {
    return this.addon.info();
  }

  stats(): TrimStats {
    return { trims: this.trims, released: this.releasedCount };
  }

  close(): void {
    clearInterval(this.timer);
    if (this.deferred !== null) clearTimeout(this.deferred);
    this.deferred = null;
  }

  private check(): void {
    if (this.addon.info().freeBytes >= this.limits.freeBytesMin) this.trimSoon();
  }

  private start(): void {
    this.lastStartMs = Date.now();
    const started = this.addon.trim((released) => {
      this.running = false;
      this.trims++;
      if (released) this.releasedCount++;
    });
    this.running = started;
  }
}
