// What bench/lib/ipam-apply.ts measures and reports, shared with bench/lib/apply-cost.ts (which
// must not import the script itself: importing it runs it).
import { median, round } from '../harness.js';

export interface SizeFigures {
  readonly tasks: number;
  /** Wall time per apply, median over batches (inflated when the shared machine preempts us). */
  readonly medianUs: number;
  readonly meanUs: number;
  /** CPU time (user + system) of this process per apply, median over batches. */
  readonly cpuMedianUs: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
}

/** Per-apply wall and CPU time of each of `rounds` timed batches. */
export interface Rounds {
  readonly wallUs: number[];
  readonly cpuUs: number[];
}

/** The figures of a size from its timed rounds, with the heap and RSS after a full GC. */
export function sizeFigures(tasks: number, rounds: Rounds, mem: { heapUsed: number; rss: number }): SizeFigures {
  return {
    tasks,
    medianUs: round(median(rounds.wallUs), 2),
    meanUs: round(rounds.wallUs.reduce((a, b) => a + b, 0) / rounds.wallUs.length, 2),
    cpuMedianUs: round(median(rounds.cpuUs), 2),
    heapMiB: round(mem.heapUsed / 2 ** 20, 1),
    rssMiB: round(mem.rss / 2 ** 20, 1),
  };
}

/** Requests of --serve mode (bench/lib/apply-cost.ts, applyCostSideBySide). */
export type ServeRequest = { readonly measure: number } | { readonly memory: true };
export type ServeReply = Rounds | { readonly heapUsed: number; readonly rss: number; readonly fillSeconds: number };
