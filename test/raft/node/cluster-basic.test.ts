// Three kv-node processes on loopback (real sockets, LevelDB): a leader is elected, writes are
// applied on every node in the same order (Raft §5.3 Log Matching, §5.4.3 State Machine Safety),
// and a read barrier on a follower reflects every acknowledged write (ReadIndex, dissertation §6.4).

import t from 'tap';
import { Cluster, compareHistories } from './cluster.js';
import type { Dump } from './cluster.js';

t.test('3 voters: elect a leader, replicate writes in one order, linearizable reads everywhere', async (t) => {
  t.setTimeout(240_000); // the machine is shared: elections and fsyncs can be slow under load
  const c = new Cluster();
  t.teardown(() => c.close());
  const ids = ['a', 'b', 'c'];
  await c.startCluster(ids);
  const leader = await c.waitLeader();
  t.ok(ids.includes(leader), `leader ${leader}`);

  const acked: { k: string; index: number }[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await c.propose(`k${i}`, `v${i}`, leader);
    t.ok(r.ok, `write ${i}: ${JSON.stringify(r)}`);
    if (r.ok) acked.push({ k: `k${i}`, index: r.value.index });
  }
  // Concurrent writes exercise group commit on the real storage.
  const concurrent = await Promise.all(Array.from({ length: 64 }, (_, i) => c.propose(`p${i}`, `w${i}`, leader)));
  t.ok(concurrent.every((r) => r.ok), 'concurrent writes acknowledged');
  for (const [i, r] of concurrent.entries()) if (r.ok) acked.push({ k: `p${i}`, index: r.value.index });

  const follower = ids.find((x) => x !== leader)!;
  const rd = await c.call<{ index: number }>(follower, 'POST', '/read');
  t.ok(rd.ok, `follower read: ${JSON.stringify(rd)}`);
  const top = Math.max(...acked.map((a) => a.index));
  if (rd.ok) t.ok(rd.value.index >= top, `follower read barrier ${rd.value.index} >= last acknowledged ${top}`);
  const fd = await c.dump(follower);
  t.ok(acked.every((a) => fd.kv[a.k] !== undefined), 'after the barrier the follower has every acknowledged write');

  await c.waitApplied(ids, top);
  const dumps = new Map<string, Dump>();
  for (const id of ids) dumps.set(id, await c.dump(id));
  t.same(compareHistories(dumps), [], 'same command at each index on every node');
  const histories = [...dumps.values()].map((d) => JSON.stringify(d.history.filter(([i]) => i <= top)));
  t.equal(new Set(histories).size, 1, 'identical histories up to the last acknowledged index');
  for (const a of acked) {
    const entry = dumps.get(leader)!.history.find(([i]) => i === a.index);
    t.equal(entry?.[1], a.k, `index ${a.index} holds ${a.k}`);
  }
  const st = await c.status(leader);
  t.equal(st.role, 'leader');
  t.equal(st.members.length, 3);
  t.ok(st.members.every((m) => m.reachable && m.matchIndex !== null && m.matchIndex >= top), JSON.stringify(st.members));
  const stats = await c.call<{ saves: number; entriesSaved: number }>(leader, 'GET', '/stats');
  if (stats.ok) t.comment(`leader: ${stats.value.entriesSaved} entries in ${stats.value.saves} saves`);
});
