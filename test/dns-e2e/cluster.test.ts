// End to end on a real cluster: three voters and a learner joined with --join, as separate
// processes on loopback. DESIGN.md §4: "every replica that applied index i has identical IPAM
// state and identical DNS answers at i" — learners included (DESIGN.md §1: agents run learners
// that answer DNS from their own copy). Records written through the leader appear on the learner,
// and records released through the learner disappear everywhere.
import t from 'tap';
import type { Test } from 'tap';
import { call, leaderOf, nodeSpecs, startCluster, startNode, tempDir, waitFor, waitReady, type VnetdNode } from '../api/harness.js';
import { appliedIndex, ask, dnsPort, reverse4, soaSerial } from './helpers.js';

const names: readonly [string, string][] = [
  ['web.marathon.containerip.dcos.', 'A'],
  ['web.marathon.agentip.dcos.', 'A'],
  ['web.marathon.autoip.dcos.', 'A'],
  ['web.marathon.agentip.dcos.', 'AAAA'],
  ['_web._tcp.marathon.agentip.dcos.', 'SRV'],
  ['_web._tcp.marathon.containerip.dcos.', 'SRV'],
  ['api.kafka.containerip.dcos.', 'A'],
  ['api.kafka.autoip.dcos.', 'A'],
  ['host.marathon.containerip.dcos.', 'A'],
  ['host.marathon.agentip.dcos.', 'A'],
  ['marathon.agentip.dcos.', 'A'],
  ['nope.marathon.agentip.dcos.', 'A'],
  ['web.marathon.containerip.dcos.thisdcos.directory.', 'A'],
  ['leader.dcos.', 'A'],
  ['master.dcos.', 'A'],
  ['dcos.', 'SOA'],
];

/** Everything a node answers for the probe names (and the given PTR names), as comparable text. */
async function answers(node: VnetdNode, ptrs: readonly string[]): Promise<string[]> {
  const port = dnsPort(node);
  const out: string[] = [];
  for (const [name, type] of [...names, ...ptrs.map((p) => [p, 'PTR'] as [string, string])]) {
    const seen = await ask(port, name, type);
    const additional = seen.reply.additionals.map((a) => `${a.name} ${a.type} ${a.data}`).sort();
    out.push(`${name} ${type} ${seen.rcode} ${JSON.stringify(seen.data)} ${JSON.stringify(additional)} ${JSON.stringify(seen.reply.authorities.map((a) => a.type))}`);
  }
  return out;
}

/** Waits until every node reports the same applied index (nothing in flight), and returns it. */
async function settled(nodes: readonly VnetdNode[]): Promise<number> {
  return waitFor('every node at the same applied index', async () => {
    const indexes = await Promise.all(nodes.map(appliedIndex));
    return indexes.every((i) => i === indexes[0]) ? indexes[0] : undefined;
  }, 20_000, 50);
}

/** Asserts that every node answers identically at one applied index (its SOA serial). */
async function sameEverywhere(t: Test, nodes: readonly VnetdNode[], ptrs: readonly string[], when: string): Promise<string[]> {
  const index = await settled(nodes);
  const all = await Promise.all(nodes.map((n) => answers(n, ptrs)));
  for (const n of nodes) t.equal(await soaSerial(dnsPort(n)), index, `${when}: ${n.id} serial = applied index ${index}`);
  t.equal(await settled(nodes), index, `${when}: nothing applied while comparing`);
  for (let i = 1; i < nodes.length; i++) t.same(all[i], all[0], `${when}: ${nodes[i]!.id} answers as ${nodes[0]!.id}`);
  return all[0]!;
}

t.test('three voters, then a learner, answer identically at the same applied index', async (t) => {
  const { nodes: voters, secret } = await startCluster(t);
  const leaderId = await leaderOf(voters[0]!);
  const leader = voters.find((n) => n.id === leaderId)!;
  const follower = voters.find((n) => n.id !== leaderId)!;
  const put = async (via: VnetdNode, path: string, body: unknown) => {
    const r = await call(via.url, 'PUT', path, body);
    if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${path} via ${via.id}: ${r.status} ${r.text}`);
    return r.body;
  };
  await put(leader, '/v1/agents/a1', { ip: '10.0.0.1', ip6: 'fd00::1' });
  await put(follower, '/v1/agents/a2', { ip: '10.0.0.2' });
  const w1 = await put(leader, '/v1/tasks/w1', { name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 }] });
  const k1 = await put(follower, '/v1/tasks/k1', { name: 'api', framework: 'kafka', agent: 'a2', network: 'dcos' });
  await put(leader, '/v1/tasks/h1', { name: 'host', framework: 'marathon', agent: 'a1' });
  let w2: { ip: string } | undefined;
  const ptrs = () => [reverse4(w1.ip), reverse4(k1.ip), ...(w2 === undefined ? [] : [reverse4(w2.ip)])];

  await t.test('the voters answer identically', async (t) => {
    const seen = await sameEverywhere(t, voters, ptrs(), 'voters');
    t.ok(seen.some((line) => line.startsWith(`web.marathon.containerip.dcos. A NOERROR ["${w1.ip}"]`)), 'the compared answers hold the data');
    t.ok(seen.some((line) => line.startsWith('host.marathon.containerip.dcos. A NOERROR []')), 'NODATA for the host task');
  });

  await t.test('a learner joined with --join answers as the voters', async (t) => {
    const [spec] = await nodeSpecs(1, 'learner');
    const learner = await startNode(t, spec!, tempDir(t), ['--join', follower.url, '--role', 'learner', '--cluster-secret-file', secret]);
    await waitReady(learner, 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlearner exit ${learner.proc.child.exitCode}, stderr:\n${learner.proc.stderr.slice(-5).join('\n')}`);
    });
    const nodes = [...voters, learner];
    const task2 = await put(leader, '/v1/tasks/w2', { name: 'web', framework: 'marathon', agent: 'a2', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31001 }] });
    w2 = task2;
    const port = dnsPort(learner);
    const seenW2 = await waitFor('w2 on the learner', async () => {
      const r = await ask(port, 'web.marathon.containerip.dcos.', 'A');
      return r.data.includes(task2.ip) ? r.data : undefined;
    }, 10_000, 20);
    t.same(seenW2, [w1.ip, task2.ip].sort(), 'a record written through the leader answers on the learner');
    await sameEverywhere(t, nodes, ptrs(), 'with the learner');

    for (const id of ['w1', 'k1']) {
      const r = await call(learner.url, 'DELETE', `/v1/tasks/${id}`);
      t.equal(r.status, 204, `DELETE ${id} via the learner`);
    }
    const seen = await sameEverywhere(t, nodes, ptrs(), 'after releases through the learner');
    t.ok(seen.some((line) => line.startsWith(`web.marathon.containerip.dcos. A NOERROR ["${task2.ip}"]`)), 'w1 gone, w2 left');
    t.ok(seen.some((line) => line.startsWith('api.kafka.containerip.dcos. A NXDOMAIN')), 'api gone');
    t.ok(seen.some((line) => line.startsWith(`${reverse4(k1.ip)} PTR NXDOMAIN`)), 'its PTR gone');
  });
});
