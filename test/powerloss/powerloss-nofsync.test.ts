// The bite of the power-loss test (DESIGN.md §6: "the fault tests must catch it losing data"):
// the same cluster, load and power cut as powerloss.test.ts, with --unsafe-no-fsync. The cut must
// lose acknowledged allocations and the read-back must report them. It does not depend on timing:
// LevelDB then never syncs its log, so everything written since the last open (which writes the
// old log into a synced table) is gone on every node (README.md).

import t from 'tap';
import { shimRoot } from './power-cut.js';
import { runRounds } from './rounds.js';

const { root, shim, cleanup } = shimRoot('vnetd-powerloss-nofsync-');
t.teardown(cleanup);

t.test('--unsafe-no-fsync: a power cut loses acknowledged allocations, and the check catches it', async (t) => {
  const { acked, lostByRound } = await runRounds(t, { root, shim, name: 'nofsync', extraArgs: ['--unsafe-no-fsync'], cuts: 1, restartAfterSetup: true });
  const lost = lostByRound[0]!;
  t.ok(lost.length > 0, `lost acknowledged allocations detected: ${lost.length} of ${acked.length}`);
  // Nothing after the last LevelDB open was synced anywhere, so the whole round is gone.
  t.equal(lost.length, acked.length, 'every allocation acknowledged since the restart is gone');
});
