// Runs bench/lib/ipam-apply.ts in a fresh process (its own heap, --expose-gc for the memory
// figures) and returns what it printed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from '../harness.js';
import { IpcClient } from './ipc.js';
import { startNode, stopAll } from './proc.js';
import type { Child } from './proc.js';
import { sizeFigures } from './apply-figures.js';
import type { Rounds, ServeReply, ServeRequest, SizeFigures } from './apply-figures.js';

const script = fileURLToPath(new URL('./ipam-apply.js', import.meta.url));

export interface ApplyCost {
  readonly records: boolean;
  /** Dual-stack tasks with a host-mapped port (every kind of name), see ipam-apply.ts. */
  readonly dual: boolean;
  readonly sizes: readonly SizeFigures[];
  readonly fillSeconds: number;
  readonly fillUsPerTask: number;
}

export const applyCostLimits = {
  /** Old-space limit of the child: large enough for 1M tasks with records, so it reports instead of dying. */
  heapMiBMax: 12_288,
  /** Side by side: turns each size takes, the first of them a warm-up left out of the figures... */
  sideBySideTurns: 11,
  /** ...and timed batches per turn (a batch is 100 allocations). */
  sideBySideRoundsPerTurn: 100,
  /** A fill to 1,000,000 tasks with records takes ~10-40 s here; a turn well under a second. */
  replyWaitMs: 600_000,
} as const;

const childArgs = (records: boolean, dual: boolean): string[] => [...(records ? ['--records'] : []), ...(dual ? ['--dual'] : [])];
const childNodeArgs = ['--expose-gc', `--max-old-space-size=${applyCostLimits.heapMiBMax}`];

export async function applyCost(workDir: string, sizes: readonly number[], records: boolean, rounds = 200, dual = false): Promise<ApplyCost> {
  const args = ['--sizes', sizes.join(','), '--rounds', String(rounds), ...childArgs(records, dual)];
  const child = startNode(`ipam-apply${records ? '-records' : ''}`, script, args, {
    logFile: path.join(workDir, `ipam-apply${records ? '-records' : ''}.log`),
    nodeArgs: childNodeArgs,
  });
  let out = '';
  child.child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`ipam-apply exited ${code}: ${child.logTail()}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as ApplyCost;
}

/**
 * The apply cost at two sizes measured side by side: one process per size (each with its own heap,
 * so each pays its own garbage collection), filled once, then timed in alternating turns. Measured
 * one after the other in one process, the two figures were seconds apart on a shared machine, and
 * the small size was timed while V8 was still compiling the apply path: the ratio of two such
 * runs of the same code ranged 1.03-1.57 here. Alternating turns, both sizes see the same moments.
 */
export async function applyCostSideBySide(workDir: string, small: number, large: number, records: boolean, dual = false): Promise<ApplyCost> {
  const sides = [small, large].map((size) => startNode(`ipam-apply-${size}${records ? '-records' : ''}`, script, ['--sizes', String(size), '--serve', ...childArgs(records, dual)], {
    logFile: path.join(workDir, `ipam-apply-${size}${records ? '-records' : ''}.log`),
    nodeArgs: childNodeArgs,
    ipc: true,
  }));
  try {
    const clients = sides.map((c: Child) => new IpcClient<ServeRequest, ServeReply>(c));
    // Answered once each process has filled its tasks.
    await Promise.all(clients.map((c) => c.request({ measure: 0 }, applyCostLimits.replyWaitMs)));
    const timed: Rounds[] = sides.map(() => ({ wallUs: [], cpuUs: [] }));
    for (let turn = 0; turn < applyCostLimits.sideBySideTurns; turn++) {
      for (let i = 0; i < clients.length; i++) {
        const r = (await clients[i]!.request({ measure: applyCostLimits.sideBySideRoundsPerTurn }, applyCostLimits.replyWaitMs)) as Rounds;
        if (turn === 0) continue; // warm-up
        timed[i]!.wallUs.push(...r.wallUs);
        timed[i]!.cpuUs.push(...r.cpuUs);
      }
    }
    const mems: { heapUsed: number; rss: number; fillSeconds: number }[] = [];
    for (const c of clients) mems.push((await c.request({ memory: true }, applyCostLimits.replyWaitMs)) as (typeof mems)[number]);
    const fillSeconds = mems[1]!.fillSeconds;
    return {
      records, dual,
      sizes: [sizeFigures(small, timed[0]!, mems[0]!), sizeFigures(large, timed[1]!, mems[1]!)],
      fillSeconds, fillUsPerTask: round((fillSeconds * 1e6) / Math.max(1, large), 2),
    };
  } finally {
    await stopAll(sides);
  }
}
