// `vnetd local-cluster` and the client commands against it (issue 6): a 3-voter cluster of
// separate processes on loopback, status as a table and as JSON, net/agent/task commands, usage
// bars, member removal on the live cluster, errors with exit code 1, and Ctrl-C stopping all.

import t from 'tap';
import net from 'node:net';
import { call, runCli, tempDir, waitFor } from '../api/harness.js';
import type { Proc, Teardown } from '../api/harness.js';
import { freePortBlock } from '../util/ports.js';

const portStride = 10;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port with 3 nodes' worth of claimed free ports above it (HTTP, DNS, Raft at +0, +1, +2). */
function freeBase(nodes: number): Promise<number> {
  return freePortBlock(nodes * portStride);
}

async function vnetd(t: Teardown, args: string[]): Promise<{ code: number | string; out: string; err: string; proc: Proc }> {
  const proc = runCli(t, args);
  const code = await proc.exited;
  return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n'), proc };
}

t.test('local-cluster and the client commands', async (t) => {
  const base = await freeBase(3);
  const dir = tempDir(t);
  const cluster = runCli(t, ['local-cluster', '--nodes', '3', '--base-port', String(base), '--data-dir', dir]);
  await waitFor('the local cluster to be ready', () => (cluster.stdout.some((l) => l.startsWith('Ctrl-C')) ? true : undefined), 60_000);
  const lines = cluster.stdout.join('\n');
  for (let i = 0; i < 3; i++) {
    t.match(lines, new RegExp(`n${i + 1} +voter +http://127\\.0\\.0\\.1:${base + i * portStride} +dns 127\\.0\\.0\\.1:${base + i * portStride + 1} .*ready`));
  }
  const url = `--url=http://127.0.0.1:${base + portStride}`; // n2, whoever leads

  const status = await vnetd(t, ['status', url]);
  t.equal(status.code, 0, status.err);
  t.match(status.out, /^leader n\d +term \d+ +commit \d+ +applied \d+/);
  t.match(status.out, /ID +ROLE +STATE +RAFT +HTTP +DNS +TERM +COMMIT +APPLIED +MATCH +LAG +REACHABLE/);
  t.equal(status.out.split('\n').filter((l) => / voter /.test(l)).length, 3);
  t.equal(status.out.split('\n').filter((l) => / leader \* /.test(l)).length, 1, 'one leader marked');
  t.equal(status.out.split('\n').filter((l) => / follower /.test(l)).length, 2);
  const asJson = JSON.parse((await vnetd(t, ['status', url, '--json'])).out);
  t.equal(asJson.members.length, 3);
  t.equal(asJson.state, 'leader', 'status asks the leader for match indexes');
  for (const m of asJson.members) t.type(m.appliedIndex, 'number', `${m.id} reports its own applied index`);

  t.equal((await vnetd(t, ['net', 'create', 'blue', '--subnet', '10.5.0.0/16', '--prefix', '28', url])).code, 0);
  t.match((await vnetd(t, ['agent', 'register', 'a1', '--ip', '10.0.0.1', url])).out, /agent a1: vtep 44\.128\.0\.1 70:b3:d5:80:00:01/);
  for (let i = 1; i <= 2; i++) {
    const r = await vnetd(t, ['task', 'alloc', `t${i}`, '--name', 'web', '--framework', 'marathon', '--agent', 'a1', '--network', 'blue', '--port', 'tcp:80:8080:http', '--label', 'team=a', url]);
    t.equal(r.code, 0, r.err);
    t.match(r.out, new RegExp(`task t${i}: 10\\.5\\.0\\.${i + 1} +web\\.marathon\\.autoip\\.dcos`));
  }
  for (let i = 3; i <= 5; i++) {
    const r = await call(`http://127.0.0.1:${base}`, 'PUT', `/v1/tasks/t${i}`, { name: 'web', framework: 'marathon', agent: 'a1', network: 'blue' });
    t.equal(r.status, 201);
  }
  const full = await vnetd(t, ['task', 'alloc', 't6', '--name', 'web', '--framework', 'marathon', '--agent', 'a1', '--network', 'blue', url]);
  t.equal(full.code, 1);
  t.match(full.err, /vnetd: exhausted: /);
  const task = (await call(`http://127.0.0.1:${base}`, 'GET', '/v1/tasks/t1?consistent=true')).body;
  t.same(task.ports, [{ name: 'http', protocol: 'tcp', containerPort: 80, hostPort: 8080 }]);
  t.same(task.labels, { team: 'a' });

  const usage = await vnetd(t, ['net', 'usage', 'blue', url]);
  t.match(usage.out, /network blue: 5\/10 addresses used \(50%\), 5 free/);
  t.match(usage.out, /a1 +mesos +\[#{30}\] +5\/5 +100%/);
  t.match(usage.out, /a1 +docker +\[\.{30}\] +0\/5 +0%/);
  t.match((await vnetd(t, ['task', 'ls', '--agent', 'a1', url])).out, /t5 +web +marathon +a1 +blue +10\.5\.0\.6/);
  t.match((await vnetd(t, ['agent', 'ls', url])).out, /a1 +10\.0\.0\.1 .*blue:10\.5\.0\.0\/28/);
  const bad = await vnetd(t, ['net', 'create', 'x', '--subnet', '10.6.0.0/33', '--prefix', '24', url]);
  t.equal(bad.code, 1);
  t.match(bad.err, /vnetd: invalid: .*\(field \/subnet\)/);
  t.equal((await vnetd(t, ['net', 'create', url])).code, 2, 'a usage error exits 2');
  t.equal((await vnetd(t, ['task', 'rm', 't1', url])).code, 0);
  t.equal((await vnetd(t, ['net', 'rm', 'blue', url])).code, 1, 'in use without --force');
  t.match((await vnetd(t, ['net', 'rm', 'blue', '--force', url])).out, /deleted network blue \(released 4 tasks\)/);

  // A live member removal: n3 leaves, the other two keep serving writes.
  const removed = await vnetd(t, ['member', 'remove', 'n3', url]);
  t.equal(removed.code, 0, removed.err);
  const after = (await call(`http://127.0.0.1:${base + portStride}`, 'GET', '/v1/cluster')).body;
  t.same(after.members.map((m: { id: string }) => m.id).sort(), ['n1', 'n2']);
  t.equal((await vnetd(t, ['agent', 'register', 'a2', '--ip', '10.0.0.2', url])).code, 0, 'writes go on with two voters');

  cluster.child.kill('SIGINT');
  t.equal(await cluster.exited, 0, 'Ctrl-C stops the local cluster cleanly');
  for (let i = 0; i < 3; i++) t.ok(await portFree(base + i * portStride), `node ${i + 1}'s HTTP port is closed`);
});
