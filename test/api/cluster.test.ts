// The HTTP API on a 3-process cluster on loopback (DESIGN.md §3): writes through a follower are
// forwarded and answered as the leader answers, every node converges to the same state, bad
// input through a follower changes nothing, membership (learner join, removal) and leadership
// transfer work, and with no quorum a write gets 503 after a bounded wait.

import t from 'tap';
import { call, dnsQuery, leaderOf, nodeSpecs, runCli, startCluster, startNode, stopNode, tempDir, waitFor, waitHealthy, waitReady } from './harness.js';
import type { VnetdNode } from './harness.js';

const readPaths = ['/v1/networks', '/v1/agents', '/v1/tasks', '/overlay-master/state', '/v1/networks/dcos/usage'];

async function stateOf(node: VnetdNode): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const p of readPaths) {
    const r = await call(node.url, 'GET', `${p}?consistent=true`);
    if (r.status !== 200) throw new Error(`${node.id} ${p}: ${r.status} ${r.text}`);
    out[p] = r.body;
  }
  return out;
}

t.test('three voters', async (t) => {
  const outer = t; // processes that must outlive a subtest are tied to this test's teardown
  const { nodes, secret } = await startCluster(t);
  const leaderId = await leaderOf(nodes[0]!);
  const leader = nodes.find((n) => n.id === leaderId)!;
  const followers = nodes.filter((n) => n.id !== leaderId);
  const [f1, f2] = followers as [VnetdNode, VnetdNode];
  t.ok(leader, `leader ${leaderId}`);

  await t.test('cluster status names every member with its addresses', async (t) => {
    const c = (await call(leader.url, 'GET', '/v1/cluster')).body;
    t.equal(c.leader, leaderId);
    t.same(c.members.map((m: { id: string }) => m.id).sort(), ['n1', 'n2', 'n3']);
    for (const m of c.members) {
      const n = nodes.find((x) => x.id === m.id)!;
      t.match(m, { role: 'voter', raft: n.raft, http: n.http, dns: n.dns, reachable: true });
      t.type(m.matchIndex, 'number', 'the leader knows match indexes');
      t.type(m.lag, 'number');
    }
    const fromFollower = (await call(f1.url, 'GET', '/v1/cluster')).body;
    t.equal(fromFollower.leader, leaderId);
    t.equal(fromFollower.state, 'follower');
  });

  await t.test('the default network exists once, everywhere', async (t) => {
    for (const n of nodes) {
      const nets = (await call(n.url, 'GET', '/v1/networks?consistent=true')).body.networks;
      t.same(nets.map((x: { name: string }) => x.name), ['dcos'], n.id);
    }
  });

  await t.test('writes through a follower are forwarded to the leader', async (t) => {
    const net = await call(f1.url, 'POST', '/v1/networks', { name: 'blue', subnet: '10.20.0.0/16', prefix: 26 });
    t.equal(net.status, 201, net.text);
    const agent = await call(f2.url, 'PUT', '/v1/agents/a1', { ip: '10.0.1.1' });
    t.equal(agent.status, 201, agent.text);
    t.equal(agent.body.overlays.length, 2);
    const task = await call(f1.url, 'PUT', '/v1/tasks/web.1', { name: 'web', framework: 'marathon', agent: 'a1', network: 'blue' });
    t.equal(task.status, 201);
    t.equal(task.body.ip, '10.20.0.2');
    const again = await call(f2.url, 'PUT', '/v1/tasks/web.1', { name: 'web', framework: 'marathon', agent: 'a1', network: 'blue' });
    t.equal(again.status, 200, 'idempotent through the other follower');
    t.same(again.body, task.body);
    const conflict = await call(f2.url, 'PUT', '/v1/tasks/web.1', { name: 'web', framework: 'other', agent: 'a1', network: 'blue' });
    t.equal(conflict.status, 409);
    t.equal(conflict.body.error, 'conflict');
    for (let i = 0; i < 20; i++) {
      const via = nodes[i % 3]!;
      const r = await call(via.url, 'PUT', `/v1/tasks/job-${i}`, { name: `job${i % 4}`, framework: 'metronome', agent: 'a1', network: i % 2 === 0 ? 'dcos' : 'blue', containerizer: i % 3 === 0 ? 'docker' : 'mesos' });
      t.equal(r.status, 201, `job-${i} via ${via.id}: ${r.text}`);
    }
    t.equal((await call(f1.url, 'DELETE', '/v1/tasks/job-0')).status, 204);
    t.equal((await call(f1.url, 'DELETE', '/v1/tasks/job-0')).status, 204);
    const m = (await call(f1.url, 'GET', '/metrics')).text;
    t.match(m, /vnetd_http_forwarded_total\{outcome="answered"\} \d+/);
  });

  await t.test('bad input through a follower: 400 naming the field, nothing changes', async (t) => {
    const before = await stateOf(f2);
    const r = await call(f2.url, 'PUT', '/v1/tasks/bad', { name: 'w', framework: 'm', agent: 'a1', network: 'blue', ports: [{ protocol: 'tcp', containerPort: 0 }] });
    t.equal(r.status, 400);
    t.equal(r.body.field, '/ports/0/containerPort');
    const r2 = await call(f2.url, 'POST', '/v1/networks', { name: 'green', subnet: '10.30.0.0/33', prefix: 24 });
    t.equal(r2.status, 400);
    t.equal(r2.body.field, '/subnet');
    t.same(await stateOf(f2), before);
  });

  await t.test('state is identical on all three nodes', async (t) => {
    const states = [];
    for (const n of nodes) states.push(await stateOf(n));
    t.same(states[1], states[0], 'node 2 = node 1');
    t.same(states[2], states[0], 'node 3 = node 1');
    t.equal((states[0]!['/v1/tasks'] as { tasks: unknown[] }).tasks.length, 20);
  });

  await t.test('every node answers DNS for tasks allocated through HTTP (DESIGN.md §1 names)', async (t) => {
    for (const n of nodes) {
      const answer = await waitFor(`${n.id} answers web.marathon.containerip.dcos`, async () => {
        const p = await dnsQuery(n.dns, 'web.marathon.containerip.dcos', 'A');
        return p.rcode === 'NOERROR' && p.answers.length > 0 ? p : undefined;
      }, 5_000);
      t.same(answer.answers.map((a) => a.data), ['10.20.0.2'], n.id);
      const agentip = await dnsQuery(n.dns, 'web.marathon.agentip.dcos', 'A');
      t.same(agentip.answers.map((a) => a.data), ['10.0.1.1']);
      const leaderName = await dnsQuery(n.dns, 'leader.dcos', 'A');
      t.same(leaderName.answers.map((a) => a.data), ['127.0.0.1'], 'leader.dcos from the advertised HTTP host');
      const soa = await dnsQuery(n.dns, 'dcos', 'SOA');
      const serial = (soa.answers?.[0]?.data as { serial?: number } | undefined)?.serial ?? 0;
      t.ok(serial >= 5, `SOA serial ${serial} follows the applied index`);
      const missing = await dnsQuery(n.dns, 'nosuch.marathon.containerip.dcos', 'A');
      t.equal(missing.rcode, 'NXDOMAIN');
    }
  });

  await t.test('a learner joins through a follower, reads the same state, and is removed', async (t) => {
    const [spec] = await nodeSpecs(1, 'learner');
    const learner = await startNode(t, spec!, tempDir(t), ['--join', f1.url, '--role', 'learner', '--cluster-secret-file', secret]);
    await waitReady(learner, 15_000);
    const c = await waitFor('the learner in the membership', async () => {
      const body = (await call(leader.url, 'GET', '/v1/cluster')).body;
      return body.members.some((m: { id: string }) => m.id === 'learner1') ? body : undefined;
    });
    t.match(c.members.find((m: { id: string }) => m.id === 'learner1'), { role: 'learner', http: spec!.http, dns: spec!.dns });
    t.same(await stateOf(learner), await stateOf(leader), 'the learner serves the same state');
    const viaLearner = await call(learner.url, 'PUT', '/v1/agents/a2', { ip: '10.0.1.2' });
    t.equal(viaLearner.status, 201, 'a write through the learner is forwarded');
    const removed = await call(f2.url, 'DELETE', '/v1/cluster/members/learner1');
    t.equal(removed.status, 200, removed.text);
    const after = (await call(leader.url, 'GET', '/v1/cluster')).body;
    t.notOk(after.members.some((m: { id: string }) => m.id === 'learner1'));
    t.equal((await call(f2.url, 'DELETE', '/v1/cluster/members/learner1')).status, 404);
    t.equal(await stopNode(learner), 0);
  });

  await t.test('a voter joins as a learner and is promoted once caught up', async (t) => {
    const [spec] = await nodeSpecs(1, 'voter');
    const joiner = await startNode(t, spec!, tempDir(t), ['--join', leader.url, '--role', 'voter', '--cluster-secret-file', secret]);
    await waitReady(joiner, 15_000);
    const c = await waitFor('the joiner promoted', async () => {
      const body = (await call(leader.url, 'GET', '/v1/cluster')).body;
      return body.members.some((m: { id: string; role: string }) => m.id === 'voter1' && m.role === 'voter') ? body : undefined;
    }, 15_000);
    t.equal(c.members.length, 4);
    t.same(await stateOf(joiner), await stateOf(leader), 'the new voter serves the same state');
    t.equal((await call(joiner.url, 'DELETE', '/v1/cluster/members/voter1')).status, 200, 'removed again (through itself)');
    await waitFor('three members again', async () => ((await call(leader.url, 'GET', '/v1/cluster')).body.members.length === 3 ? true : undefined));
    t.equal(await stopNode(joiner), 0);
  });

  await t.test('leadership transfer through a follower', async (t) => {
    const r = await call(f2.url, 'POST', '/v1/cluster/leadership', { to: f2.id });
    t.equal(r.status, 200, r.text);
    t.equal(await waitFor('leader moved', async () => ((await call(f1.url, 'GET', '/v1/cluster')).body.leader === f2.id ? true : undefined)), true);
    const w = await call(leader.url, 'PUT', '/v1/agents/a3', { ip: '10.0.1.3' });
    t.equal(w.status, 201, 'the old leader now forwards');
  });

  await t.test('a follower restarted with only --data-dir catches up', async (t) => {
    const current = await leaderOf(f1);
    const follower = nodes.find((n) => n.id !== current)!;
    const other = nodes.find((n) => n.id !== follower.id)!;
    t.equal(await stopNode(follower), 0);
    t.equal((await call(other.url, 'PUT', '/v1/agents/while-down', { ip: '10.0.1.9' })).status, 201, 'two of three keep a quorum');
    follower.proc = runCli(outer, ['start', '--data-dir', follower.dataDir]);
    await waitHealthy(follower);
    await waitReady(follower);
    const a = await call(follower.url, 'GET', '/v1/agents/while-down?consistent=true');
    t.equal(a.status, 200, 'the restarted node has the write made while it was down');
    t.same(await stateOf(follower), await stateOf(other));
  });

  await t.test('without a quorum a write answers 503 after a bounded wait', async (t) => {
    const survivor = nodes.find((n) => n.id !== f2.id)!;
    for (const n of nodes) if (n !== survivor) n.proc.child.kill('SIGKILL');
    for (const n of nodes) if (n !== survivor) await n.proc.exited;
    const started = Date.now();
    const r = await call(survivor.url, 'PUT', '/v1/agents/a4', { ip: '10.0.1.4' });
    const took = Date.now() - started;
    t.equal(r.status, 503, r.text);
    t.ok(['unavailable', 'timeout'].includes(r.body.error), r.body.error);
    t.ok(took < 15_000, `answered in ${took} ms`);
    const read = await call(survivor.url, 'GET', '/v1/agents/a3');
    t.equal(read.status, 200, 'local reads keep working');
  });
});
