// Power loss of a whole cluster (DESIGN.md §6: "Durable means `sync: true`. An `--unsafe-no-fsync`
// switch may exist for benchmarks only, and the fault tests must catch it losing data").
//
// Three real `vnetd start` voters on loopback, each under the power-loss shim (shim/powerloss.c)
// watching its data directory (LevelDB in `raft/`, node.json, cluster-secret). Clients allocate
// tasks over HTTP; once enough allocations are acknowledged the power of ALL nodes is cut at once
// (SIGKILL, then every file cut back to what was fsynced, README.md), with requests in flight. The nodes restart and every
// allocation ever acknowledged must be readable with its IP (Raft §5.4.2: committed entries are on
// a majority's durable logs, and only such a node can win the next election).
//
// Here fsync is on (the default): no acknowledged allocation may be lost, over several cuts in a
// row. powerloss-nofsync.test.ts runs the same with --unsafe-no-fsync and must see the loss; that
// this checker bites is shown there (same procedure, rounds.ts; it also restarts the cluster once
// after the setup, which fsync makes unnecessary here).

import { fileURLToPath } from 'node:url';
import t from 'tap';
import { shimRoot } from './power-cut.js';
import { roundLimits, runRounds } from './rounds.js';

const { root, shim, cleanup } = shimRoot('vnetd-powerloss-fsync-');

/**
 * POWERLOSS_ENTRY=ack-before-fsync runs the cluster on broken/ack-before-fsync.ts instead of the
 * real CLI: then this test must FAIL (lost acknowledged allocations). Not part of `npm test`.
 */
function brokenEntry(): string | undefined {
  const name = process.env['POWERLOSS_ENTRY'];
  if (name === undefined || name === '') return undefined;
  if (!/^[a-z-]+$/.test(name)) throw new Error(`POWERLOSS_ENTRY=${name}: expected the name of a launcher in test/powerloss/broken/`);
  t.comment(`RUNNING THE BROKEN BUILD broken/${name}.ts: this test must fail`);
  return fileURLToPath(new URL(`./broken/${name}.js`, import.meta.url));
}
t.teardown(cleanup);

t.test('fsync on: no acknowledged allocation is lost over repeated power cuts of all nodes', async (t) => {
  // Rounds 2 and 3 keep a seeded random prefix of each unsynced tail: torn LevelDB records too.
  const tailSeed = Number(process.env['POWERLOSS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`tail seed ${tailSeed} (replay: POWERLOSS_SEED=${tailSeed})`);
  const entry = brokenEntry();
  const { acked, lostByRound } = await runRounds(t, { root, shim, name: 'fsync', extraArgs: [], cuts: 3, restartAfterSetup: false, tailSeed, ...(entry === undefined ? {} : { entry }) });
  t.ok(acked.length >= 3 * roundLimits.acksPerCut, `${acked.length} allocations acknowledged`);
  lostByRound.forEach((lost, i) => t.same(lost, [], `round ${i + 1}: every acknowledged allocation kept its IP (tail seed ${tailSeed})`));
});

