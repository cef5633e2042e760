// `npm run bench -- SUITE [suite options]`: runs one benchmark suite (DESIGN.md §5). Each suite is
// a module in bench/suites exporting `run(args, context)`; it prints a table and writes
// bench/results/SUITE.json through the harness.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { machine, repoRoot } from './harness.js';
import type { Machine } from './harness.js';

export interface SuiteContext {
  readonly machine: Machine;
  /** A scratch directory on the same file system as ./data, removed by the suite. */
  readonly workDir: string;
}

export interface Suite {
  run(args: readonly string[], context: SuiteContext): Promise<void>;
}

const suites = ['raft', 'ipam', 'dns', 'propagation', 'failover', 'scale', 'fill', 'ab'] as const;
type SuiteName = (typeof suites)[number];

function isSuite(name: string | undefined): name is SuiteName {
  return (suites as readonly string[]).includes(name ?? '');
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  if (!isSuite(name)) {
    console.error(`usage: npm run bench -- SUITE [options]\n  SUITE is one of: ${suites.join(', ')}`);
    process.exit(2);
  }
  let suite: Suite;
  try {
    suite = (await import(`./suites/${name}.js`)) as Suite;
  } catch (err) {
    console.error(`bench: suite "${name}" is not built yet (${(err as Error).message})`);
    process.exit(2);
  }
  const workDir = path.join(repoRoot, 'bench', 'work');
  mkdirSync(workDir, { recursive: true });
  const facts = machine(workDir);
  console.log(`machine: ${facts.cpuModel}, ${facts.cores} cores, ${facts.memoryGiB} GiB, node ${facts.node}`);
  console.log(`fsync (4 KiB): median ${facts.fsyncMedianMs} ms, p99 ${facts.fsyncP99Ms} ms`);
  await suite.run(args, { machine: facts, workDir });
}

await main();
