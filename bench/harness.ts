// The benchmark harness's shared parts: machine facts (CPU, cores, fsync latency measured at start),
// repeated runs summarised by their median, latency percentiles, and the results file. Suites
// (bench/suites/*.ts) measure; this file only records and summarises, so every suite reports the
// same way (DESIGN.md §5: medians over repeated runs, ratios to a peer measured in the same run).
import { mkdtempSync, openSync, writeSync, fsyncSync, closeSync, rmSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  /** Median latency of a 4 KiB write + fsync in the data directory's file system. */
  readonly fsyncMedianMs: number;
  readonly fsyncP99Ms: number;
}

const fsyncSamples = 200;

/** Measures fsync where benchmarks keep their data: the physical floor of a durable commit. */
export function measureFsync(dir: string): { medianMs: number; p99Ms: number } {
  const work = mkdtempSync(path.join(dir, 'fsync-'));
  const fd = openSync(path.join(work, 'probe'), 'w');
  const block = Buffer.alloc(4096, 7);
  const samples: number[] = [];
  try {
    for (let i = 0; i < fsyncSamples; i++) {
      const started = process.hrtime.bigint();
      writeSync(fd, block, 0, block.length, 0);
      fsyncSync(fd);
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(work, { recursive: true, force: true });
  }
  return { medianMs: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

export function machine(workDir: string): Machine {
  const cpus = os.cpus();
  const fsync = measureFsync(workDir);
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    fsyncMedianMs: round(fsync.medianMs),
    fsyncP99Ms: round(fsync.p99Ms),
  };
}

/** The p-th percentile (nearest rank) of `values`; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A fixed-size latency recorder: keeps every sample up to a bound, then a uniform reservoir. */
export class Latencies {
  private readonly samples: number[] = [];
  private seen = 0;
  private state = 0x9e3779b9;
  constructor(private readonly samplesMax = 200_000) {}

  record(ms: number): void {
    this.seen++;
    if (this.samples.length < this.samplesMax) {
      this.samples.push(ms);
      return;
    }
    // xorshift32: deterministic reservoir sampling, no Math.random in measurements.
    this.state ^= this.state << 13;
    this.state ^= this.state >>> 17;
    this.state ^= this.state << 5;
    const slot = (this.state >>> 0) % this.seen;
    if (slot < this.samplesMax) this.samples[slot] = ms;
  }

  get count(): number {
    return this.seen;
  }

  summary(): { p50Ms: number; p99Ms: number; maxMs: number } {
    return {
      p50Ms: round(percentile(this.samples, 50)),
      p99Ms: round(percentile(this.samples, 99)),
      maxMs: round(this.samples.reduce((m, x) => Math.max(m, x), 0)),
    };
  }
}

/** Runs `once` `repeats` times and reports each figure as the median over the runs. */
export async function medianOf<K extends string>(
  repeats: number,
  once: (run: number) => Promise<Record<K, number>>,
): Promise<{ median: Record<K, number>; runs: Record<K, number>[] }> {
  const runs: Record<K, number>[] = [];
  for (let run = 0; run < repeats; run++) runs.push(await once(run));
  const first = runs[0];
  if (first === undefined) throw new Error('medianOf needs at least one run');
  const out = {} as Record<K, number>;
  for (const key of Object.keys(first) as K[]) out[key] = round(median(runs.map((r) => r[key])));
  return { median: out, runs };
}

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const resultsDir = path.join(repoRoot, 'bench', 'results');

/** Writes bench/results/<suite>.json: parameters, machine, figures, and when. */
export function writeResults(suite: string, body: { parameters: unknown; machine: Machine; figures: unknown }): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${suite}.json`);
  writeFileSync(file, JSON.stringify({ suite, at: new Date().toISOString(), ...body }, null, 2) + '\n');
  return file;
}

export function readResults(suite: string): unknown {
  return JSON.parse(readFileSync(path.join(resultsDir, `${suite}.json`), 'utf8'));
}

/** Prints rows as an aligned text table. */
export function printTable(rows: readonly Record<string, string | number>[]): void {
  const first = rows[0];
  if (first === undefined) return;
  const keys = Object.keys(first);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(keys));
  for (const row of rows) console.log(line(keys.map((k) => String(row[k] ?? ''))));
}
