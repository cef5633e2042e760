// Stop every node, restart them in a random (seeded) order with random gaps: the state is
// identical everywhere and nothing acknowledged is lost (Raft §5.1 / Figure 2: term, vote and log
// are persisted before acknowledging; DESIGN §4). Replay a failure with SEED=<printed seed>.

import t from 'tap';
import { Cluster, compareHistories, sleep } from './cluster.js';
import type { Dump } from './cluster.js';
import { Writers, missingAcks } from './clients.js';
import { mulberry32 as prng } from '../../util/prng.js';

/** mulberry32: a small seeded PRNG so the order replays exactly. */

function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

t.test('stop all, restart in a seeded random order: identical state, nothing acknowledged lost', async (t) => {
  t.setTimeout(300_000);
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.comment(`SEED=${seed}`);
  const rnd = prng(seed);
  const c = new Cluster({ snapshotEntries: 60 });
  t.teardown(() => c.close());
  const ids = ['a', 'b', 'c'];
  await c.startCluster(ids);
  await c.waitLeader();
  const w = new Writers(c, 16);
  await w.waitAcks(150);
  // Stop in a random order too, while the writers are still going: the last ones stop under load.
  for (const id of shuffled(ids, rnd)) {
    await c.stop(id);
    await sleep(Math.floor(rnd() * 200));
  }
  await w.stop();
  const before = w.acked.length;
  t.comment(`acknowledged ${before} before the restart`);

  const order = shuffled(ids, rnd);
  t.comment(`restart order ${order.join(',')}`);
  for (const id of order) {
    await c.start(id);
    await sleep(Math.floor(rnd() * 500));
  }
  const leader = await c.waitLeader();
  const after = await c.propose('after-restart', 'yes', leader, 20);
  t.ok(after.ok, `the restarted cluster commits: ${JSON.stringify(after)}`);
  const top = Math.max(w.maxIndex(), after.ok ? after.value.index : 0);
  await c.waitApplied(ids, top);
  const dumps = new Map<string, Dump>();
  for (const id of ids) dumps.set(id, await c.dump(id));
  for (const id of ids) {
    const missing = missingAcks(w.acked, dumps.get(id)!.history);
    t.same(missing.slice(0, 5), [], `${id}: every acknowledged write present (${missing.length} missing) SEED=${seed}`);
  }
  t.same(compareHistories(dumps), [], `same command at each index SEED=${seed}`);
  const states = [...dumps.values()].map((d) => JSON.stringify({ kv: d.kv, history: d.history.filter(([i]) => i <= top) }));
  t.equal(new Set(states).size, 1, `identical state on every node SEED=${seed}`);
});
