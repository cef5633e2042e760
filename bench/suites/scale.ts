// `npm run bench -- scale [--sizes 1000,100000,1000000] [--records-sizes 1000,100000,1000000] [--shape v4|dual]`
//
// How apply cost and memory grow with the number of tasks, in one process (bench/lib/ipam-apply.ts):
// the IPAM state machine alone, and with the DNS records builder and zone attached (a node's real
// apply path and memory), both up to 1,000,000 tasks measured for real (filling a node with 1M
// tasks and their names takes ~20-25 s of CPU). With smaller --records-sizes the memory at
// 1,000,000 is projected linearly from the two largest and reported as a projection. --shape dual: tasks
// on a dual-stack network with a host-mapped port (every kind of DESIGN.md §1 name; IPAM's IPv6
// arithmetic makes the fill ~3x slower), for both runs.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { printTable, round, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs } from '../lib/args.js';
import { applyCost } from '../lib/apply-cost.js';
import type { ApplyCost } from '../lib/apply-cost.js';
import { hostLoad } from '../lib/proc.js';

export const scaleBench = {
  sizesDefault: '1000,100000,1000000',
  recordsSizesDefault: '1000,100000,1000000',
  projectTo: 1_000_000,
  targets: { applyRatioMax: 1.5, memoryMiBMax: 1024 },
} as const;

function sizes(text: string): number[] {
  const out = text.split(',').map(Number);
  if (out.length < 2 || out.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`sizes must be at least two positive integers, got ${text}`);
  return out.sort((a, b) => a - b);
}

/** Linear projection of RSS to `tasks` from the two largest sizes. */
function project(c: ApplyCost, tasks: number): { rssMiB: number; heapMiB: number; bytesPerTask: number } {
  const a = c.sizes.at(-2);
  const b = c.sizes.at(-1);
  if (a === undefined || b === undefined) throw new Error('need two sizes to project');
  const perTaskMiB = (b.rssMiB - a.rssMiB) / (b.tasks - a.tasks);
  const heapPerTaskMiB = (b.heapMiB - a.heapMiB) / (b.tasks - a.tasks);
  return {
    rssMiB: round(b.rssMiB + perTaskMiB * (tasks - b.tasks), 0),
    heapMiB: round(b.heapMiB + heapPerTaskMiB * (tasks - b.tasks), 0),
    bytesPerTask: round(heapPerTaskMiB * 2 ** 20, 0),
  };
}

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 10, repeats: 1, warmupSeconds: 0 }, ['sizes', 'records-sizes', 'rounds', 'shape'] as const);
  const plain = sizes(o.extra.sizes ?? scaleBench.sizesDefault);
  const withRecords = sizes(o.extra['records-sizes'] ?? scaleBench.recordsSizesDefault);
  const rounds = Number(o.extra.rounds ?? 200);
  const workDir = path.join(context.workDir, `scale-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const loadBefore = hostLoad();
  const shape = o.extra.shape ?? 'v4';
  if (shape !== 'v4' && shape !== 'dual') throw new Error(`--shape must be v4 or dual, got ${shape}`);
  const dual = shape === 'dual';
  const ipam = await applyCost(workDir, plain, false, rounds, dual);
  const node = await applyCost(workDir, withRecords, true, rounds, dual);
  printTable([...ipam.sizes.map((s) => ({ records: 'no', ...s })), ...node.sizes.map((s) => ({ records: 'yes', ...s }))]);
  const largest = node.sizes.at(-1);
  const measuredAt1M = largest !== undefined && largest.tasks >= scaleBench.projectTo;
  const projected = measuredAt1M ? { rssMiB: largest.rssMiB, heapMiB: largest.heapMiB, bytesPerTask: round((largest.heapMiB * 2 ** 20) / largest.tasks, 0) } : project(node, scaleBench.projectTo);
  const small = ipam.sizes[0];
  const large = ipam.sizes.at(-1);
  const applyRatio = small === undefined || large === undefined ? Number.NaN : round(large.cpuMedianUs / small.cpuMedianUs, 2);
  // Heap each task adds to the state machine alone (issue 4: what a task costs IPAM itself).
  const stateMachineBytesPerTask = small === undefined || large === undefined ? Number.NaN : round(((large.heapMiB - small.heapMiB) * 2 ** 20) / (large.tasks - small.tasks), 0);
  const nodeRatio = round((node.sizes.at(-1)?.cpuMedianUs ?? 0) / (node.sizes[0]?.cpuMedianUs ?? 1), 2);
  const targets = {
    applyCostWithin1_5x: { value: { stateMachine: applyRatio, withRecords: nodeRatio }, met: applyRatio <= scaleBench.targets.applyRatioMax && nodeRatio <= scaleBench.targets.applyRatioMax },
    memoryAt1MUnder1GiB: { value: { stateMachineRssMiB: large?.rssMiB, stateMachineHeapMiB: large?.heapMiB, stateMachineBytesPerTask, withRecordsRssMiB: projected.rssMiB, withRecordsHeapMiB: projected.heapMiB, measured: measuredAt1M }, met: projected.rssMiB < scaleBench.targets.memoryMiBMax },
  };
  console.log(`with records at ${scaleBench.projectTo} tasks (${measuredAt1M ? 'measured' : 'projected'}): ${JSON.stringify(projected)}`);
  for (const [name, v] of Object.entries(targets)) console.log(`target ${name}: ${JSON.stringify(v.value)} ${v.met ? 'MET' : 'MISSED'}`);
  // One file per shape, so a dual run does not replace the IPv4 figures the README quotes.
  const file = writeResults(dual ? 'scale-dual' : 'scale', {
    parameters: { sizes: plain, recordsSizes: withRecords, rounds, shape, timing: 'batches of 100 allocations (then released untimed); median per apply', hostLoadBefore: loadBefore, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { stateMachine: ipam, withRecords: node, withRecordsAt1M: { ...projected, measured: measuredAt1M }, targets },
  });
  console.log(`wrote ${file}`);
  rmSync(workDir, { recursive: true, force: true });
}
