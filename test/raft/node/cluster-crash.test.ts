// kill -9 of the leader while 32 clients write (Raft §5.4 Leader Completeness, §5.2 Leader
// Election; DESIGN §4: an acknowledged write is on a majority of synced disks): every acknowledged
// write is present on every node after the survivors elect a new leader and after the killed node
// restarts and catches up, and no index holds different commands on different nodes.

import t from 'tap';
import { Cluster, compareHistories } from './cluster.js';
import type { Dump } from './cluster.js';
import { Writers, missingAcks } from './clients.js';

t.test('kill -9 the leader under 32 concurrent writers: nothing acknowledged is lost', async (t) => {
  t.setTimeout(300_000);
  const c = new Cluster();
  t.teardown(() => c.close());
  const ids = ['a', 'b', 'c'];
  await c.startCluster(ids);
  const leader = await c.waitLeader();
  const w = new Writers(c, 32);
  t.teardown(() => w.stop());
  await w.waitAcks(100);
  const ackedBeforeKill = w.acked.length;
  await c.kill(leader);
  t.comment(`killed leader ${leader} after ${ackedBeforeKill} acknowledged writes`);
  const survivors = ids.filter((x) => x !== leader);
  const next = await c.waitLeader(survivors);
  t.not(next, leader, `new leader ${next}`);
  await w.waitAcks(50);
  await w.stop();
  t.comment(`acknowledged ${w.acked.length}, errors ${JSON.stringify([...w.errors])}`);

  const top = w.maxIndex();
  await c.waitApplied(survivors, top);
  for (const id of survivors) {
    const missing = missingAcks(w.acked, (await c.dump(id)).history);
    t.same(missing.slice(0, 5), [], `${id}: every acknowledged write present at its index (${missing.length} missing)`);
  }

  await c.start(leader);
  await c.waitApplied(ids, top);
  const dumps = new Map<string, Dump>();
  for (const id of ids) dumps.set(id, await c.dump(id));
  for (const id of ids) {
    const missing = missingAcks(w.acked, dumps.get(id)!.history);
    t.same(missing.slice(0, 5), [], `${id} after restart: every acknowledged write present (${missing.length} missing)`);
  }
  t.same(compareHistories(dumps), [], 'no index holds different commands on different nodes');
});
