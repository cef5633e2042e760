// A learner added after the log was compacted catches up from a chunked snapshot and then from the
// log (Raft §7, dissertation §4.2.1 "catching up new servers"); promote() waits for it to catch up.

import t from 'tap';
import { Cluster } from './cluster.js';

t.test('learner joins after compaction: snapshot, then log; then promoted to voter', async (t) => {
  t.setTimeout(300_000);
  const c = new Cluster({ snapshotEntries: 40 });
  t.teardown(() => c.close());
  await c.startCluster(['a', 'b', 'c']);
  const leader = await c.waitLeader();
  // Values large enough that the snapshot spans several chunks is the core's business; here the
  // point is that the learner's first entry is gone from every log.
  const writes = await Promise.all(Array.from({ length: 120 }, (_, i) => c.propose(`k${i}`, `v${i}`.repeat(50), leader, 10)));
  t.ok(writes.every((r) => r.ok), 'writes before the learner');
  const ls = await c.call<{ snapshotsTaken: number }>(leader, 'GET', '/stats');
  t.ok(ls.ok && ls.value.snapshotsTaken >= 1, `leader compacted its log: ${JSON.stringify(ls)}`);

  await c.startJoiner('d');
  const add = await c.call(leader, 'POST', '/addLearner', { id: 'd', context: c.contextOf('d') });
  t.ok(add.ok, `addLearner: ${JSON.stringify(add)}`);
  const top1 = Math.max(...writes.map((r) => (r.ok ? r.value.index : 0)));
  await c.waitApplied(['d'], top1);
  const ds = await c.call<{ snapshotsInstalled: number; entriesApplied: number }>('d', 'GET', '/stats');
  t.ok(ds.ok && ds.value.snapshotsInstalled >= 1, `learner installed a snapshot: ${JSON.stringify(ds)}`);
  const st = await c.status('d');
  t.equal(st.role, 'learner');

  const more = await Promise.all(Array.from({ length: 10 }, (_, i) => c.propose(`m${i}`, 'after', leader, 10)));
  t.ok(more.every((r) => r.ok));
  const top2 = Math.max(...more.map((r) => (r.ok ? r.value.index : 0)));
  await c.waitApplied(['d'], top2);
  const ds2 = await c.call<{ snapshotsInstalled: number; entriesApplied: number }>('d', 'GET', '/stats');
  t.ok(ds2.ok && ds.ok && ds2.value.entriesApplied > ds.value.entriesApplied, 'then entries from the log');
  const [dl, dd] = [await c.dump(leader), await c.dump('d')];
  t.same(dd.history.filter(([i]) => i <= top2), dl.history.filter(([i]) => i <= top2), 'learner history = leader history');
  t.same(dd.kv, dl.kv);

  // A learner serves linearizable reads too (the core forwards the read index request).
  const rd = await c.call<{ index: number }>('d', 'POST', '/read');
  t.ok(rd.ok && rd.value.index >= top2, `learner read: ${JSON.stringify(rd)}`);

  const pr = await c.call(leader, 'POST', '/promote', { id: 'd' });
  t.ok(pr.ok, `promote: ${JSON.stringify(pr)}`);
  const after = await c.status(leader);
  t.same(after.members.map((m) => `${m.id}:${m.role}`).sort(), ['a:voter', 'b:voter', 'c:voter', 'd:voter']);
  const w = await c.propose('with-d', 'x', leader, 10);
  t.ok(w.ok);
  if (w.ok) await c.waitApplied(['a', 'b', 'c', 'd'], w.value.index);
});
