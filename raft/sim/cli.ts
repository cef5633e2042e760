// `npm run sim -- --seeds N --steps M [--seed S] [--nodes K] [--unsafe FLAGS] [--driver-bug BUGS]
//                [--checks all|paper] [--workers W] [--verbose] [--trace]`
//
// Runs seeds S, S+1, ..., S+N-1 (S drawn from the clock when absent, and printed), each for M steps
// of the safety phase followed by the liveness phase. Prints every failing seed with its options and
// the command that replays it, and ends with exactly one line `sim: N seeds, M steps, V violations`.
// Exit status: 0 when no seed failed; otherwise that of the worst failure (2 safety, 3 liveness,
// 1 crash); 64 for a bad command line. Many seeds run on worker threads (2 by default).

import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DRIVER_BUGS, STEPS_DEFAULT, UNSAFE_FLAGS, formatOptions, type Checks, type DriverBug, type SimArgs, type UnsafeFlag } from './options.js';
import { runSeed, type SimResult } from './simulator.js';
import { EXIT } from './violation.js';

export interface CliArgs {
  readonly seeds: number;
  readonly steps: number;
  readonly seed: number | null;
  readonly nodes: number | null;
  readonly unsafe: readonly UnsafeFlag[];
  readonly driverBugs: readonly DriverBug[];
  readonly checks: Checks;
  readonly workers: number;
  readonly verbose: boolean;
  readonly trace: boolean;
}

/** Seeds below this run on the main thread: starting workers costs more than it saves. */
const WORKER_THRESHOLD_SEEDS = 16;
const WORKERS_DEFAULT = 2;
const SEED_MAX = Number.MAX_SAFE_INTEGER;

export function parseArgs(argv: readonly string[]): CliArgs {
  const out = { seeds: 1, steps: STEPS_DEFAULT, seed: null as number | null, nodes: null as number | null, unsafe: [] as UnsafeFlag[], driverBugs: [] as DriverBug[], checks: 'all' as Checks, workers: WORKERS_DEFAULT, verbose: false, trace: false };
  let seedsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--seeds': out.seeds = integer(flag, value(), 1, 1e9); seedsGiven = true; break;
      case '--steps': out.steps = integer(flag, value(), 1, 1e9); break;
      case '--seed': out.seed = integer(flag, value(), 0, SEED_MAX); break;
      case '--nodes': out.nodes = integer(flag, value(), 3, 5); if (out.nodes === 4) throw new UsageError('--nodes must be 3 or 5'); break;
      case '--unsafe': out.unsafe = list(flag, value(), UNSAFE_FLAGS); break;
      case '--driver-bug': out.driverBugs = list(flag, value(), DRIVER_BUGS); break;
      case '--checks': {
        const v = value();
        if (v !== 'all' && v !== 'paper') throw new UsageError(`--checks must be 'all' or 'paper', got '${v}'`);
        out.checks = v;
        break;
      }
      case '--workers': out.workers = integer(flag, value(), 1, 64); break;
      case '--verbose': out.verbose = true; break;
      case '--trace': out.trace = true; break;
      default: throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (!seedsGiven && out.seed === null) out.seeds = 1;
  return out;
}

export class UsageError extends Error {}

function integer(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer in [${min}, ${max}], got '${v}'`);
  }
  return n;
}

function list<T extends string>(flag: string, v: string, allowed: readonly T[]): T[] {
  const items = v.split(',').filter((x) => x !== '');
  for (const x of items) {
    if (!(allowed as readonly string[]).includes(x)) throw new UsageError(`${flag}: '${x}' is not one of ${allowed.join(', ')}`);
  }
  return items as T[];
}

/** The command that replays one seed exactly. */
export function replayCommand(r: SimResult, args: CliArgs): string {
  const extra = [
    args.unsafe.length > 0 ? ` --unsafe ${args.unsafe.join(',')}` : '',
    args.driverBugs.length > 0 ? ` --driver-bug ${args.driverBugs.join(',')}` : '',
    args.checks === 'all' ? '' : ` --checks ${args.checks}`,
  ].join('');
  return `npm run sim -- --seed ${r.seed} --steps ${r.options.steps} --nodes ${r.options.voters}${extra}`;
}

function simArgs(a: CliArgs, seed: number): SimArgs {
  return { seed, steps: a.steps, ...(a.nodes === null ? {} : { nodes: a.nodes }), unsafe: a.unsafe, driverBugs: a.driverBugs, checks: a.checks };
}

/** What a worker sends back per seed: failures in full, successes as a count. */
type WorkerReport = { readonly done: number; readonly failures: readonly SimResult[]; readonly slowestMs: number };

function runRange(a: CliArgs, seeds: readonly number[]): WorkerReport {
  const failures: SimResult[] = [];
  let slowestMs = 0;
  for (const seed of seeds) {
    const t0 = performance.now();
    const r = runSeed(simArgs(a, seed));
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    if (r.violation !== null) failures.push(r);
  }
  return { done: seeds.length, failures, slowestMs };
}

async function runParallel(a: CliArgs, seeds: readonly number[]): Promise<WorkerReport> {
  const workers = Math.min(a.workers, seeds.length);
  const shares: number[][] = Array.from({ length: workers }, () => []);
  seeds.forEach((s, i) => shares[i % workers]?.push(s));
  const reports = await Promise.all(
    shares.map(
      (share) =>
        new Promise<WorkerReport>((resolve, reject) => {
          const w = new Worker(fileURLToPath(import.meta.url), { workerData: { args: a, seeds: share } });
          w.once('message', (m: WorkerReport) => resolve(m));
          w.once('error', reject);
          w.once('exit', (code) => {
            if (code !== 0) reject(new Error(`worker exited with ${code}`));
          });
        }),
    ),
  );
  return {
    done: reports.reduce((n, r) => n + r.done, 0),
    failures: reports.flatMap((r) => r.failures).sort((x, y) => x.seed - y.seed),
    slowestMs: Math.max(...reports.map((r) => r.slowestMs)),
  };
}

function printFailure(r: SimResult, a: CliArgs): void {
  const v = r.violation;
  if (v === null) return;
  console.log(`seed ${r.seed} FAILED: ${v.kind} at step ${v.step} (t=${v.timeUs}us): ${v.message}`);
  console.log(`  options: ${formatOptions(r.options)}`);
  console.log(`  replay:  ${replayCommand(r, a)}`);
}

function printSingle(r: SimResult, a: CliArgs): void {
  console.log(`seed ${r.seed}: options ${formatOptions(r.options)}`);
  console.log(`seed ${r.seed}: ${r.violation === null ? 'ok' : r.violation.kind}, ${r.steps} steps + ${r.livenessEvents} liveness events, trace ${r.traceHash}`);
  console.log(`seed ${r.seed}: stats ${JSON.stringify(r.stats)}`);
  if (r.violation !== null) printFailure(r, a);
}

function exitStatus(failures: readonly SimResult[]): number {
  let status: number = EXIT.ok;
  for (const f of failures) {
    if (f.exitCode === EXIT.safety) return EXIT.safety;
    if (status === EXIT.ok || f.exitCode === EXIT.liveness) status = f.exitCode;
  }
  return status;
}

export async function main(argv: readonly string[]): Promise<number> {
  let a: CliArgs;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`sim: ${e.message}`);
    console.error('usage: npm run sim -- --seeds N --steps M [--seed S] [--nodes 3|5] [--unsafe F,..] [--driver-bug B,..] [--checks all|paper] [--workers W] [--verbose] [--trace]');
    return EXIT.usage;
  }
  const base = a.seed ?? Date.now() % 1_000_000_007;
  if (a.seed === null) console.log(`sim: base seed ${base} (pass --seed ${base} to run the same seeds again)`);
  const seeds = Array.from({ length: a.seeds }, (_, i) => base + i);
  const t0 = performance.now();
  let report: WorkerReport;
  if (a.seeds === 1) {
    const r = runSeed(simArgs(a, base), a.trace ? (line) => console.log(line) : undefined);
    printSingle(r, a);
    report = { done: 1, failures: r.violation === null ? [] : [r], slowestMs: performance.now() - t0 };
  } else {
    report = a.seeds < WORKER_THRESHOLD_SEEDS || a.workers === 1 ? runRange(a, seeds) : await runParallel(a, seeds);
    for (const f of report.failures) printFailure(f, a);
  }
  if (a.verbose) console.log(`sim: ${((performance.now() - t0) / 1000).toFixed(1)} s, slowest seed ${report.slowestMs.toFixed(0)} ms`);
  console.log(`sim: ${report.done} seeds, ${a.steps} steps, ${report.failures.length} violations`);
  return exitStatus(report.failures);
}

if (!isMainThread) {
  const { args, seeds } = workerData as { args: CliArgs; seeds: number[] };
  parentPort?.postMessage(runRange(args, seeds));
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = EXIT.crash;
    },
  );
}
