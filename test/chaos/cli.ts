// `npm run chaos -- [--nodes 3|5] [--learners N] [--duration S] [--clients C] [--seed X]
//                   [--faults kill,pause,partition,restart,leader,membership] [--dir DIR] [--keep]`
//
// Prints the run's log, then exactly one summary line
//   chaos: ops=N ok=A failed=B indeterminate=C violations=V
// and exits 1 when V > 0 (2 on a usage error or a run that could not start). The run directory
// (history.jsonl, node logs, data dirs) is kept when there were violations or with --keep; its
// name carries the seed.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { faultKinds } from './faults.js';
import type { FaultKind } from './faults.js';
import { runChaos } from './run.js';
import { checkAcknowledgedPresent, checkLinearizable, checkListReads } from './checks.js';
import type { FinalState } from './checks.js';
import { readHistory } from './history.js';
import type { HistoryOp } from './history.js';

export const cliLimits = { durationSMax: 86_400, clientsMax: 64, learnersMax: 8 } as const;

export interface ChaosArgs {
  readonly voters: 3 | 5;
  readonly learners: number;
  readonly durationS: number;
  readonly clients: number;
  readonly seed: number;
  readonly faults: FaultKind[];
  readonly dir: string | null;
  readonly keep: boolean;
  /** A history file to check instead of running. */
  readonly check: string | null;
}

function int(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: 'string' }, learners: { type: 'string' }, duration: { type: 'string' }, clients: { type: 'string' },
      seed: { type: 'string' }, faults: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' }, check: { type: 'string' },
    },
    strict: true,
  });
  const voters = int('nodes', values.nodes, 3, 3, 5);
  if (voters !== 3 && voters !== 5) throw new Error(`--nodes must be 3 or 5, got ${voters}`);
  const faults = (values.faults ?? faultKinds.join(',')).split(',').filter((f) => f !== '' && f !== 'none');
  for (const f of faults) if (!(faultKinds as readonly string[]).includes(f)) throw new Error(`--faults: unknown fault ${JSON.stringify(f)}; known: ${faultKinds.join(', ')}`);
  return {
    voters,
    learners: int('learners', values.learners, 1, 0, cliLimits.learnersMax),
    durationS: int('duration', values.duration, 60, 1, cliLimits.durationSMax),
    clients: int('clients', values.clients, 4, 1, cliLimits.clientsMax),
    seed: int('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0, Number.MAX_SAFE_INTEGER),
    faults: faults as FaultKind[],
    dir: values.dir ?? null,
    keep: values.keep === true,
    check: values.check ?? null,
  };
}

/**
 * The final state's task IPs as the history recorded them (the reads of client -1, made after
 * settling); agents and networks are not in the history, so the block checks cannot be replayed.
 */
function finalTasks(ops: readonly HistoryOp[]): FinalState {
  const tasks = ops.flatMap((o) => (o.client === -1 && o.kind === 'task' && o.outcome.kind === 'ok' && typeof o.outcome.value === 'string' ? [{ id: o.key, ip: o.outcome.value, agent: '', framework: '' }] : []));
  return { tasks, agents: [] };
}

/**
 * The history checks on a kept file: linearizability, duplicate IPs in list reads, and (when the
 * final reads are there) acknowledged allocations present at the end.
 */
function checkOnly(path: string): number {
  const { header, ops } = readHistory(path);
  const taskIds = [...new Set(ops.filter((o) => o.kind === 'task').map((o) => o.key))];
  const hasFinal = ops.some((o) => o.client === -1);
  const acknowledged = hasFinal ? checkAcknowledgedPresent(ops.filter((o) => o.client >= 0), finalTasks(ops)) : [];
  const violations = [...checkListReads(ops), ...checkLinearizable(ops, taskIds).violations, ...acknowledged];
  for (const v of violations) process.stdout.write(`VIOLATION ${v}\n`);
  const real = ops.filter((o) => o.client >= 0);
  const count = (k: string): number => real.filter((o) => o.outcome.kind === k).length;
  process.stdout.write(`checked ${path} (seed ${String(header['seed'])})\n`);
  process.stdout.write(`chaos: ops=${real.length} ok=${count('ok')} failed=${count('refused')} indeterminate=${count('unknown')} violations=${violations.length}\n`);
  return violations.length > 0 ? 1 : 0;
}

const usage = `usage: npm run chaos -- [--nodes 3|5] [--learners N] [--duration S] [--clients C] [--seed X]
                      [--faults ${faultKinds.join(',')}|none] [--dir DIR] [--keep]
       npm run chaos -- --check RUN_DIR/history.jsonl
Runs vnetd processes under faults and load, checks the history and the settled state, prints
one line "chaos: ops=N ok=A failed=B indeterminate=C violations=V"; exit 1 when V > 0, 2 on a
usage error or a run that could not start. Defaults: 3 voters, 1 learner, 60 s, 4 clients, a
random seed, all faults. test/chaos/README.md has the details.
`;

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n`);
    return 2;
  }
  if (args.check !== null) return checkOnly(args.check);
  const dir = args.dir ?? join(tmpdir(), `vnetd-chaos-seed-${args.seed}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const result = await runChaos({
    voters: args.voters, learners: args.learners, durationS: args.durationS, clients: args.clients, seed: args.seed, faults: args.faults, dir,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  writeFileSync(join(dir, 'result.json'), JSON.stringify({ seed: args.seed, ...result }, null, 2));
  const keep = args.keep || result.violations.length > 0 || args.dir !== null;
  if (keep) {
    process.stdout.write(`seed ${args.seed}; history ${result.historyPath}\n`);
  } else {
    // Only the history and the result are kept with the seed; data dirs and logs go.
    const kept = join(tmpdir(), `vnetd-chaos-seed-${args.seed}.history.jsonl`);
    writeFileSync(kept, '');
    const { copyFileSync } = await import('node:fs');
    copyFileSync(result.historyPath, kept);
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`seed ${args.seed}; history ${kept}\n`);
  }
  process.stdout.write(`${result.summary}\n`);
  return result.violations.length > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stopAll = (): void => {
    process.stderr.write('chaos: interrupted\n');
    process.exit(130);
  };
  process.once('SIGINT', stopAll);
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`chaos: the run failed: ${(err as Error).stack ?? String(err)}\n`);
      process.stdout.write('chaos: ops=0 ok=0 failed=0 indeterminate=0 violations=1\n');
      process.exit(2);
    },
  );
}
