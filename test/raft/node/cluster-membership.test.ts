// Membership changes while writes go on (dissertation §4.1 single-server changes, §4.2.1 catching
// up, §4.2.2 removing the leader, §3.10 leadership transfer): add a learner and promote it, remove
// a follower, remove the leader, transfer leadership under load. No acknowledged write is lost and
// every proposal gets an answer (success, not_leader, transferring, or a timeout) — none vanishes.

import t from 'tap';
import { Cluster, compareHistories } from './cluster.js';
import type { Dump } from './cluster.js';
import { Writers, missingAcks } from './clients.js';

/** Errors a writer may see while membership and leadership move; anything else is a bug. */
const allowedErrors = new Set(['not_leader', 'transferring', 'timeout', 'unreachable', 'stopped']);

t.test('add, promote, remove a follower, remove the leader, transfer leadership, all under writes', async (t) => {
  t.setTimeout(300_000);
  const c = new Cluster();
  t.teardown(() => c.close());
  await c.startCluster(['a', 'b', 'c']);
  let leader = await c.waitLeader();
  const w = new Writers(c, 8);
  t.teardown(() => w.stop());
  await w.waitAcks(30);

  await c.startJoiner('d');
  const add = await c.call(leader, 'POST', '/addLearner', { id: 'd', context: c.contextOf('d') });
  t.ok(add.ok, `addLearner d: ${JSON.stringify(add)}`);
  const pro = await c.call(leader, 'POST', '/promote', { id: 'd' });
  t.ok(pro.ok, `promote d: ${JSON.stringify(pro)}`);
  await w.waitAcks(20);

  const follower = ['a', 'b', 'c'].find((x) => x !== leader)!;
  const rm = await c.call(leader, 'POST', '/remove', { id: follower });
  t.ok(rm.ok, `remove follower ${follower}: ${JSON.stringify(rm)}`);
  await c.stop(follower);
  await w.waitAcks(20);

  // Removing the leader: it commits its own removal, then steps down (dissertation §4.2.2).
  const old = leader;
  const rl = await c.call(leader, 'POST', '/remove', { id: leader });
  t.ok(rl.ok, `remove leader ${leader}: ${JSON.stringify(rl)}`);
  const remaining = c.running().filter((x) => x !== old);
  leader = await c.waitLeader(remaining);
  t.not(leader, old, `new leader ${leader} after removing ${old}`);
  await c.stop(old);
  await w.waitAcks(20);

  const to = c.running().find((x) => x !== leader)!;
  const tr = await c.call(leader, 'POST', '/transfer', { to });
  t.ok(tr.ok, `transfer ${leader} -> ${to}: ${JSON.stringify(tr)}`);
  t.equal(await c.waitLeader(), to, 'leadership moved');
  await w.waitAcks(20);
  await w.stop();

  const unexpected = [...w.errors.keys()].filter((e) => !allowedErrors.has(e));
  t.same(unexpected, [], `writer errors: ${JSON.stringify([...w.errors])}`);
  const live = c.running();
  t.same(live.sort(), [leader, to].concat(['a', 'b', 'c', 'd'].filter((x) => x !== leader && x !== to && x !== old && x !== follower)).sort());
  const st = await c.status(to);
  t.same(st.members.map((m) => `${m.id}:${m.role}`).sort(), live.map((x) => `${x}:voter`).sort(), 'membership');
  await c.waitApplied(live, w.maxIndex());
  const dumps = new Map<string, Dump>();
  for (const id of live) dumps.set(id, await c.dump(id));
  for (const id of live) {
    const missing = missingAcks(w.acked, dumps.get(id)!.history);
    t.same(missing.slice(0, 5), [], `${id}: every acknowledged write present (${missing.length} missing of ${w.acked.length})`);
  }
  t.same(compareHistories(dumps), []);
});
