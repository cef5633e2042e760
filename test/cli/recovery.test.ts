// Recovery from a lost quorum with `vnetd start --force-new-cluster` (issue 6, "a documented
// recovery from lost quorum"): a 3-voter cluster takes writes, two voters (the leader among them)
// are killed by PID, the survivor cannot write; restarted once with --force-new-cluster it serves
// every acknowledged write, accepts new ones as a single-member cluster, keeps that after a plain
// restart, and a new node joins it as a voter.

import t from 'tap';
import { readdirSync } from 'node:fs';
import { call, leaderOf, nodeSpecs, peersFlag, runCli, secretFile, startNode, stopNode, tempDir, waitFor, waitHealthy, waitReady } from '../api/harness.js';
import type { VnetdNode } from '../api/harness.js';

const task = (i: number): Record<string, unknown> => ({ name: `svc${i % 4}`, framework: 'marathon', agent: `ag${i % 2}`, network: 'dcos' });

async function restart(t: Parameters<typeof startNode>[0], node: VnetdNode, args: string[]): Promise<VnetdNode> {
  const proc = runCli(t, ['start', '--data-dir', node.dataDir, ...args]);
  const again: VnetdNode = { ...node, proc };
  await waitHealthy(again);
  return again;
}

t.test('--force-new-cluster: a survivor of a lost quorum becomes a single-member cluster with its data', async (t) => {
  const specs = await nodeSpecs(4, 'r');
  const secret = secretFile(t);
  const peers = peersFlag(specs.slice(0, 3));
  const nodes = await Promise.all(specs.slice(0, 3).map((s) => startNode(t, s, tempDir(t), ['--peers', peers, '--cluster-secret-file', secret])));
  for (const n of nodes) await waitReady(n);
  const leaderId = await leaderOf(nodes[0]!);
  const leader = nodes.find((n) => n.id === leaderId)!;
  for (const a of ['ag0', 'ag1']) t.equal((await call(leader.url, 'PUT', `/v1/agents/${a}`, { ip: a === 'ag0' ? '10.1.0.1' : '10.1.0.2' })).status, 201);
  const acknowledged = new Map<string, string>();
  for (let i = 0; i < 25; i++) {
    const r = await call(leader.url, 'PUT', `/v1/tasks/t${i}`, task(i));
    t.equal(r.status, 201, r.text);
    acknowledged.set(`t${i}`, r.body.ip as string);
  }

  // Lose the quorum: SIGKILL the leader and one follower by PID.
  const survivor = nodes.find((n) => n.id !== leaderId)!;
  for (const n of nodes.filter((x) => x !== survivor)) {
    process.kill(n.proc.child.pid!, 'SIGKILL');
    await n.proc.exited;
  }
  const refused = await call(survivor.url, 'PUT', '/v1/tasks/lost', task(99));
  t.equal(refused.status, 503, 'no quorum: writes are refused');
  t.equal(await stopNode(survivor), 0, 'the survivor stops cleanly');

  const forced = await restart(t, survivor, ['--force-new-cluster']);
  await waitReady(forced);
  t.match(forced.proc.stderr.join('\n'), /forced a new single-member cluster/, 'the rewrite is logged');
  t.ok(readdirSync(survivor.dataDir).some((f) => f.startsWith('raft.before-force-')), 'the old Raft directory is kept aside');
  const cluster = (await call(forced.url, 'GET', '/v1/cluster')).body;
  t.same(cluster.members.map((m: { id: string; role: string }) => `${m.id}:${m.role}`), [`${survivor.id}:voter`], 'alone in the membership');
  t.equal(cluster.leader, survivor.id);
  for (const [id, ip] of acknowledged) {
    const r = await call(forced.url, 'GET', `/v1/tasks/${id}`);
    t.equal(r.body?.ip, ip, `acknowledged write ${id} kept`);
  }
  const fresh = await call(forced.url, 'PUT', '/v1/tasks/after', task(3));
  t.equal(fresh.status, 201, 'it accepts writes');
  t.notOk([...acknowledged.values()].includes(fresh.body.ip), 'never an address already held');

  // A plain restart keeps the new cluster (the flag is not remembered).
  t.equal(await stopNode(forced), 0);
  const plain = await restart(t, survivor, []);
  await waitReady(plain);
  t.equal((await call(plain.url, 'GET', '/v1/tasks/after')).status, 200);
  t.equal((await call(plain.url, 'GET', '/v1/cluster')).body.members.length, 1);

  // A new member joins the recovered cluster as a voter and receives the state.
  const joinerDir = tempDir(t);
  const joiner = await startNode(t, specs[3]!, joinerDir, ['--join', plain.url, '--role', 'voter', '--cluster-secret-file', secret]);
  await waitReady(joiner, 40_000);
  await waitFor('the joiner promoted to voter', async () => {
    const c = (await call(plain.url, 'GET', '/v1/cluster')).body;
    return c.members.find((m: { id: string; role: string }) => m.id === joiner.id)?.role === 'voter' ? true : undefined;
  }, 40_000);
  const t7 = await call(joiner.url, 'GET', '/v1/tasks/t7?consistent=true');
  t.equal(t7.body?.ip, acknowledged.get('t7'), `the joiner serves the recovered state (answered ${t7.status} ${JSON.stringify(t7.body)})`);
  t.equal((await call(joiner.url, 'PUT', '/v1/tasks/via-joiner', task(5))).status, 201, 'and writes go through the 2-voter cluster');

  // Misuse is refused before anything changes.
  const emptyDir = tempDir(t);
  const empty = runCli(t, ['start', '--data-dir', emptyDir, '--force-new-cluster', '--http', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--raft', '127.0.0.1:0']);
  t.equal(await empty.exited, 2, 'a new data directory has nothing to recover');
  t.match(empty.stderr.join('\n'), /--force-new-cluster needs an existing node's data directory/);
  t.same(readdirSync(emptyDir), [], 'and is left untouched');
  const withPeers = runCli(t, ['start', '--data-dir', tempDir(t), '--force-new-cluster', '--peers', peers, '--id', 'r1']);
  t.equal(await withPeers.exited, 2);
  t.match(withPeers.stderr.join('\n'), /excludes --join and --peers/);
});

t.test('--force-new-cluster on a learner when every voter is lost', async (t) => {
  const [v, l] = await nodeSpecs(2, 'fl');
  const secret = secretFile(t);
  const voter = await startNode(t, v!, tempDir(t), ['--cluster-secret-file', secret]);
  await waitReady(voter);
  t.equal((await call(voter.url, 'PUT', '/v1/agents/ag0', { ip: '10.2.0.1' })).status, 201);
  const written = await call(voter.url, 'PUT', '/v1/tasks/kept', task(0));
  t.equal(written.status, 201);
  const learner = await startNode(t, l!, tempDir(t), ['--join', voter.url, '--role', 'learner', '--cluster-secret-file', secret]);
  await waitReady(learner, 40_000);
  await waitFor('the learner has the task', async () => ((await call(learner.url, 'GET', '/v1/tasks/kept')).status === 200 ? true : undefined));
  process.kill(voter.proc.child.pid!, 'SIGKILL');
  await voter.proc.exited;
  t.equal(await stopNode(learner), 0);
  const forced = await restart(t, learner, ['--force-new-cluster']);
  await waitReady(forced);
  const c = (await call(forced.url, 'GET', '/v1/cluster')).body;
  t.same(c.members.map((m: { id: string; role: string }) => `${m.id}:${m.role}`), [`${l!.id}:voter`], 'the learner is now the only voter');
  t.equal((await call(forced.url, 'GET', '/v1/tasks/kept')).body?.ip, written.body.ip, 'the data it had replicated is kept');
  t.equal((await call(forced.url, 'PUT', '/v1/tasks/next', task(2))).status, 201, 'and it takes writes');
});
