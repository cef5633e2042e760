// `vnetd snapshot save` and `vnetd snapshot restore` (issue 6): a backup restored into a new data
// directory serves exactly the same state as a new single-member cluster, keeps allocating after
// it (round-robin position included), and a damaged file is refused.

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, nodeSpecs, runCli, startNode, stopNode, tempDir, waitHealthy, waitReady } from '../api/harness.js';
import type { VnetdNode } from '../api/harness.js';

const readPaths = ['/v1/networks', '/v1/agents', '/v1/tasks', '/overlay-master/state', '/v1/networks/dcos/usage', '/v1/networks/blue/usage'];

async function stateOf(node: VnetdNode): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const p of readPaths) out[p] = (await call(node.url, 'GET', p)).body;
  return out;
}

t.test('snapshot save and restore reproduce the same state', async (t) => {
  const [a, b] = await nodeSpecs(2);
  const original = await startNode(t, a!, tempDir(t));
  await waitReady(original);
  t.equal((await call(original.url, 'POST', '/v1/networks', { name: 'blue', subnet: '10.40.0.0/16', prefix: 24, subnet6: 'fd00:40::/64', prefix6: 80, split: 'shared' })).status, 201);
  for (let i = 0; i < 4; i++) t.equal((await call(original.url, 'PUT', `/v1/agents/ag${i}`, { ip: `10.0.2.${i + 1}` })).status, 201);
  for (let i = 0; i < 30; i++) {
    const r = await call(original.url, 'PUT', `/v1/tasks/task-${i}`, { name: `svc${i % 5}`, framework: 'marathon', agent: `ag${i % 4}`, network: i % 2 === 0 ? 'blue' : 'dcos', ports: [{ protocol: 'tcp', containerPort: 8000 + i }] });
    t.equal(r.status, 201, r.text);
  }
  for (let i = 0; i < 30; i += 7) t.equal((await call(original.url, 'DELETE', `/v1/tasks/task-${i}`)).status, 204);
  const before = await stateOf(original);

  const dir = tempDir(t);
  const file = join(dir, 'backup.snap');
  const save = runCli(t, ['snapshot', 'save', file, '--url', original.url, '--consistent']);
  t.equal(await save.exited, 0, save.stderr.join('\n'));
  t.match(save.stdout.join('\n'), /saved the state at index \d+/);
  t.equal(await stopNode(original), 0);

  const restoredDir = join(dir, 'restored');
  const restore = runCli(t, ['snapshot', 'restore', file, '--data-dir', restoredDir, '--id', b!.id, '--raft', b!.raft, '--http', b!.http, '--dns', b!.dns, '--tick-ms', '50']);
  t.equal(await restore.exited, 0, restore.stderr.join('\n'));
  t.match(restore.stdout.join('\n'), /restored index \d+ \(25 tasks\)/);
  const again = runCli(t, ['start', '--data-dir', restoredDir, '--log-level', 'warn']);
  const node: VnetdNode = { ...b!, url: `http://${b!.http}`, dataDir: restoredDir, proc: again };
  await waitHealthy(node);
  await waitReady(node);
  t.same(await stateOf(node), before, 'the restored node serves the same state');
  t.same((await call(node.url, 'GET', '/v1/cluster')).body.members.map((m: { id: string }) => m.id), [b!.id], 'a single-member cluster');
  const next = await call(node.url, 'PUT', '/v1/tasks/after', { name: 'after', framework: 'marathon', agent: 'ag1', network: 'dcos' });
  t.equal(next.status, 201, 'it keeps allocating');
  const held = (before['/v1/tasks'] as { tasks: { ips: string[] }[] }).tasks.flatMap((x) => x.ips);
  t.notOk(held.includes(next.body.ip), 'never an address already held');

  const again2 = runCli(t, ['snapshot', 'restore', file, '--data-dir', restoredDir]);
  t.equal(await again2.exited, 2, 'a directory that holds a node is refused');
  t.match(again2.stderr.join('\n'), /already holds a node/);
  const damaged = join(dir, 'damaged.snap');
  const bytes = readFileSync(file);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
  writeFileSync(damaged, bytes);
  const bad = runCli(t, ['snapshot', 'restore', damaged, '--data-dir', join(dir, 'other')]);
  t.equal(await bad.exited, 1);
  t.match(bad.stderr.join('\n'), /checksum mismatch/);
});
