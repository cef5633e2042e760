// A seed replays exactly (same trace hash, same statistics), different seeds differ, and the
// command line keeps its contract: one summary line, the exit status, the replay command.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseArgs } from '../../../raft/sim/cli.js';
import { runSeed } from '../../../raft/sim/simulator.js';

const cli = fileURLToPath(new URL('../../../raft/sim/cli.js', import.meta.url));

t.test('a seed replays identically', async (t) => {
  for (const seed of [3, 17, 2 ** 40 + 5]) {
    const a = runSeed({ seed, steps: 1500 });
    const b = runSeed({ seed, steps: 1500 });
    t.equal(a.traceHash, b.traceHash, `seed ${seed}: trace ${a.traceHash}`);
    t.same(a.stats, b.stats);
    t.same(a.options, b.options);
  }
  t.not(runSeed({ seed: 3, steps: 1500 }).traceHash, runSeed({ seed: 4, steps: 1500 }).traceHash, 'seeds differ');
  t.not(runSeed({ seed: 3, steps: 1500 }).traceHash, runSeed({ seed: 3, steps: 1400 }).traceHash, 'steps count');
});

t.test('--nodes fixes the cluster size; the rest comes from the seed', async (t) => {
  t.equal(runSeed({ seed: 8, steps: 100, nodes: 5 }).options.voters, 5);
  t.equal(runSeed({ seed: 8, steps: 100, nodes: 3 }).options.voters, 3);
});

t.test('parseArgs refuses bad input with a message naming the option', async (t) => {
  t.throws(() => parseArgs(['--seeds', 'x']), /--seeds must be an integer/);
  t.throws(() => parseArgs(['--nodes', '4']), /--nodes must be 3 or 5/);
  t.throws(() => parseArgs(['--unsafe', 'fast']), /--unsafe: 'fast' is not one of/);
  t.throws(() => parseArgs(['--frobnicate']), /unknown option --frobnicate/);
  t.same(parseArgs(['--seeds', '5', '--steps', '10', '--seed', '7']).seeds, 5);
});

function run(args: string[]): { status: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, lines: r.stdout.trim().split('\n') };
}

t.test('CLI: summary line and exit 0 on a clean run (worker threads)', async (t) => {
  const r = run(['--seeds', '40', '--steps', '500', '--seed', '11']);
  t.equal(r.status, 0);
  t.equal(r.lines.at(-1), 'sim: 40 seeds, 500 steps, 0 violations');
  t.equal(r.lines.filter((l) => l.startsWith('sim: ') && l.includes(' seeds, ')).length, 1, 'exactly one summary line');
});

t.test('CLI: a failing seed is printed with its replay command; exit 2 for safety', async (t) => {
  const r = run(['--seeds', '3', '--steps', '2000', '--seed', '1', '--driver-bug', 'localReads']);
  t.equal(r.status, 2);
  t.match(r.lines.at(-1), /^sim: 3 seeds, 2000 steps, [1-3] violations$/);
  t.ok(r.lines.some((l) => /^seed \d+ FAILED: read-linearizability/.test(l)));
  const replay = r.lines.find((l) => l.includes('replay:'));
  t.match(replay, /npm run sim -- --seed \d+ --steps 2000 --nodes [35] --driver-bug localReads/);
});

t.test('CLI: a bad option exits 64 and says what was wrong', async (t) => {
  const r = spawnSync(process.execPath, [cli, '--nodes', '7'], { encoding: 'utf8' });
  t.equal(r.status, 64);
  t.match(r.stderr, /--nodes must be an integer in \[3, 5\]/);
});
