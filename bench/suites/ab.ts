// `npm run bench -- ab --base DIR [--in-flight 64] [--seconds 4] [--repeats 8] [--warmup 2]
//                     [--a-node-args=FLAGS] [--b-node-args=FLAGS]`
//
// A/B of two builds on the ipam write path, for changes smaller than this shared machine's drift
// (the same build measured 7-11k writes/s at 64 in flight within an hour). Two 3-voter clusters run
// side by side: A from DIR/dist/src/cli.js (another checkout, built: e.g. `git worktree add
// ../base main && cd ../base && npm ci && npm run build`), B from this checkout. Each round runs
// both, one after the other, in alternating order, with the ipam suite's setup, load and CPU
// accounting; a round's B/A ratio compares runs seconds apart, so its median is steadier than
// the ratio of medians. `--a-node-args` and `--b-node-args` give a side's node processes extra
// flags (V8 options: with `--base .` they compare flags on the same build). Prints every round
// and writes bench/work/ab-<time>.json (not a result to commit: it compares two builds, not vnetd
// with a peer).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { median, round } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs, positive } from '../lib/args.js';
import { VnetdCluster } from '../lib/vnetd-cluster.js';
import { measured, setupVnetd, vnetdLoad } from './ipam.js';
import type { Fig } from './ipam.js';

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 4, repeats: 8, warmupSeconds: 2 }, ['base', 'in-flight', 'a-node-args', 'b-node-args'] as const);
  const base = o.extra['base'];
  const baseCli = base === undefined ? '' : path.resolve(base, 'dist', 'src', 'cli.js');
  if (base === undefined || !existsSync(baseCli)) throw new Error(`--base DIR must be a built checkout (no ${baseCli || 'DIR/dist/src/cli.js'})`);
  const inFlight = positive('in-flight', o.extra['in-flight'] ?? '64', true);
  const nodeArgs = (side: 'a' | 'b'): { nodeArgs?: string[] } => {
    const flags = (o.extra[`${side}-node-args`] ?? '').split(' ').filter((a) => a !== '');
    return flags.length === 0 ? {} : { nodeArgs: flags };
  };
  const workDir = path.join(context.workDir, `ab-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const sides = { a: await VnetdCluster.start({ voters: 3, workDir: path.join(workDir, 'a'), cli: baseCli, ...nodeArgs('a') }), b: null as VnetdCluster | null };
  const rounds: { a: Record<Fig, number>; b: Record<Fig, number> }[] = [];
  try {
    sides.b = await VnetdCluster.start({ voters: 3, workDir: path.join(workDir, 'b'), ...nodeArgs('b') });
    const both = [sides.a, sides.b] as const;
    for (const c of both) await setupVnetd(c);
    for (const c of both) {
      await vnetdLoad((await c.leader()).http, 256, o.warmupSeconds);
      await vnetdLoad((await c.leader()).http, inFlight, o.warmupSeconds);
    }
    const once = async (c: VnetdCluster): Promise<Record<Fig, number>> => {
      const leader = await c.leader();
      return measured(c.nodes.map((n) => n.child.child.pid), leader.child.child.pid, () => vnetdLoad(leader.http, inFlight, o.seconds));
    };
    for (let r = 0; r < o.repeats; r++) {
      const [first, second] = r % 2 === 0 ? [sides.a, sides.b] : [sides.b, sides.a];
      const x = await once(first);
      const y = await once(second);
      const round_ = r % 2 === 0 ? { a: x, b: y } : { a: y, b: x };
      rounds.push(round_);
      console.log(`  round ${r + 1}: A ${JSON.stringify(round_.a)} B ${JSON.stringify(round_.b)}`);
    }
  } finally {
    await Promise.all([sides.a.stop(), sides.b?.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  }
  const med = (side: 'a' | 'b', k: Fig): number => round(median(rounds.map((r) => r[side][k])));
  const ratio = (k: Fig): number => round(median(rounds.map((r) => (r.a[k] === 0 ? 0 : r.b[k] / r.a[k]))), 3);
  const figures = {
    inFlight,
    a: { opsPerSec: med('a', 'opsPerSec'), p50Ms: med('a', 'p50Ms'), p99Ms: med('a', 'p99Ms'), serverCpuUsPerOp: med('a', 'serverCpuUsPerOp') },
    b: { opsPerSec: med('b', 'opsPerSec'), p50Ms: med('b', 'p50Ms'), p99Ms: med('b', 'p99Ms'), serverCpuUsPerOp: med('b', 'serverCpuUsPerOp') },
    perRoundMedianBOverA: { opsPerSec: ratio('opsPerSec'), p50Ms: ratio('p50Ms'), serverCpuUsPerOp: ratio('serverCpuUsPerOp') },
    rounds,
  };
  console.log(`${inFlight} in flight, medians: A ${JSON.stringify(figures.a)}\n${' '.repeat(String(inFlight).length)}              B ${JSON.stringify(figures.b)}`);
  console.log(`per-round B/A, median: ${JSON.stringify(figures.perRoundMedianBOverA)}`);
  const file = path.join(context.workDir, `ab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ suite: 'ab', base: path.resolve(base), machine: context.machine, parameters: o, figures }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
