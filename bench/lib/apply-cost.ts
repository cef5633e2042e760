// Runs bench/lib/ipam-apply.ts in a fresh process (its own heap, --expose-gc for the memory
// figures) and returns what it printed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode } from './proc.js';
import type { SizeFigures } from './ipam-apply.js';

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
} as const;

export async function applyCost(workDir: string, sizes: readonly number[], records: boolean, rounds = 200, dual = false): Promise<ApplyCost> {
  const args = ['--sizes', sizes.join(','), '--rounds', String(rounds), ...(records ? ['--records'] : []), ...(dual ? ['--dual'] : [])];
  const child = startNode(`ipam-apply${records ? '-records' : ''}`, script, args, {
    logFile: path.join(workDir, `ipam-apply${records ? '-records' : ''}.log`),
    nodeArgs: ['--expose-gc', `--max-old-space-size=${applyCostLimits.heapMiBMax}`],
  });
  let out = '';
  child.child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`ipam-apply exited ${code}: ${child.logTail()}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as ApplyCost;
}
