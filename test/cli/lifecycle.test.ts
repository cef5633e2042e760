// `vnetd start` lifecycle on real processes (issue 6): restart from the data directory alone,
// graceful shutdown that loses no acknowledged write, a wrong cluster secret refused, and the
// embedded default with no flags.

import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { call, nodeSpecs, peersFlag, runCli, secretFile, startNode, stopNode, tempDir, waitFor, waitHealthy, waitReady } from '../api/harness.js';
import type { VnetdNode } from '../api/harness.js';

t.test('restart from the data directory alone; another id is refused', async (t) => {
  const [spec] = await nodeSpecs(1);
  const dir = tempDir(t);
  const first = await startNode(t, spec!, dir);
  await waitReady(first);
  t.equal((await call(first.url, 'PUT', '/v1/agents/keep', { ip: '10.0.0.9' })).status, 201);
  const task = (await call(first.url, 'PUT', '/v1/tasks/keep.1', { name: 'k', framework: 'f', agent: 'keep', network: 'dcos' })).body;
  const started = Date.now();
  t.equal(await stopNode(first), 0, 'SIGTERM exits 0');
  t.ok(Date.now() - started < 5_000, 'within a few seconds');

  const proc = runCli(t, ['start', '--data-dir', dir]);
  const again: VnetdNode = { ...spec!, url: `http://${spec!.http}`, dataDir: dir, proc };
  await waitHealthy(again);
  await waitReady(again);
  t.same((await call(again.url, 'GET', '/v1/tasks/keep.1')).body, task, 'state survived, same addresses and id');
  t.same((await call(again.url, 'GET', '/v1/networks')).body.networks.map((n: { name: string }) => n.name), ['dcos'], 'the default network is not created twice');
  t.equal(await stopNode(again), 0);

  const other = runCli(t, ['start', '--data-dir', dir, '--id', 'someone-else']);
  t.equal(await other.exited, 2);
  t.match(other.stderr.join('\n'), /config: \/id is "someone-else" but .* belongs to a node with id "n1"/);
});

t.test('graceful shutdown loses no acknowledged write', async (t) => {
  const [spec] = await nodeSpecs(1);
  const dir = tempDir(t);
  const node = await startNode(t, spec!, dir);
  await waitReady(node);
  t.equal((await call(node.url, 'PUT', '/v1/agents/g', { ip: '10.0.0.2' })).status, 201);
  const acknowledged: string[] = [];
  let stopped = false;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stopped && i < 500; i++) {
      const id = `w${w}-${i}`;
      try {
        const r = await call(node.url, 'PUT', `/v1/tasks/${id}`, { name: 'g', framework: 'f', agent: 'g', network: 'dcos' });
        if (r.status === 201) acknowledged.push(id);
      } catch {
        return; // the connection was closed by the stop: that write was not acknowledged
      }
    }
  };
  const writers = [0, 1, 2, 3, 4, 5, 6, 7].map(writer);
  await waitFor('some writes', () => (acknowledged.length >= 20 ? true : undefined));
  const code = await stopNode(node);
  stopped = true;
  await Promise.all(writers);
  t.equal(code, 0);
  t.ok(acknowledged.length >= 20, `${acknowledged.length} writes acknowledged before the stop`);
  const proc = runCli(t, ['start', '--data-dir', dir]);
  const again: VnetdNode = { ...spec!, url: `http://${spec!.http}`, dataDir: dir, proc };
  await waitHealthy(again);
  await waitReady(again);
  const held = new Set(((await call(again.url, 'GET', '/v1/tasks?agent=g')).body.tasks as { id: string }[]).map((x) => x.id));
  const lost = acknowledged.filter((id) => !held.has(id));
  t.same(lost, [], 'every acknowledged allocation is there after the restart');
});

t.test('a node with the wrong cluster secret is refused', async (t) => {
  const specs = await nodeSpecs(3);
  const secret = secretFile(t);
  const peers = peersFlag(specs);
  const good = await Promise.all(specs.slice(0, 2).map((s) => startNode(t, s, tempDir(t), ['--peers', peers, '--cluster-secret-file', secret])));
  const bad = await startNode(t, specs[2]!, tempDir(t), ['--peers', peers, '--cluster-secret', 'not-the-cluster-secret-at-all']);
  for (const n of good) await waitReady(n);
  t.equal((await call(good[0]!.url, 'PUT', '/v1/agents/a', { ip: '10.0.0.1' })).status, 201, 'the two good voters form a quorum');
  await new Promise((r) => setTimeout(r, 2_000));
  const ready = await call(bad.url, 'GET', '/v1/ready');
  t.equal(ready.status, 503, 'the bad node never catches up');
  t.equal((await call(bad.url, 'GET', '/v1/agents/a')).status, 404, 'and never receives the log');
  const status = (await call(good[0]!.url, 'GET', '/v1/cluster')).body;
  t.equal(status.members.find((m: { id: string }) => m.id === 'n3').reachable, false);
  const logs = [...good.flatMap((n) => n.proc.stderr), ...bad.proc.stderr].join('\n');
  t.match(logs, /auth_failed/, 'the refusal is logged');
});

t.test('`vnetd start` with no flags: the embedded default (when its ports are free)', async (t) => {
  const free = async (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  const ports = [62080, 8053, 62090];
  if (!(await Promise.all(ports.map(free))).every(Boolean)) {
    t.pass('skipped: a default port is taken on this machine');
    return;
  }
  const cwd = tempDir(t);
  const proc = runCli(t, ['start'], {}, cwd);
  const node: VnetdNode = { id: 'node1', raft: '127.0.0.1:62090', http: '127.0.0.1:62080', dns: '127.0.0.1:8053', url: 'http://127.0.0.1:62080', dataDir: join(cwd, 'data'), proc };
  await waitHealthy(node);
  await waitReady(node);
  const out = proc.stdout.join('\n');
  t.match(out, /vnetd node1: HTTP API on http:\/\/127\.0\.0\.1:62080/);
  t.match(out, /vnetd node1: DNS on 127\.0\.0\.1:8053 \(UDP and TCP\), zone dcos\./);
  t.match(out, /vnetd node1: Raft on 127\.0\.0\.1:62090/);
  const net0 = await waitFor('network dcos', async () => {
    const r = await call(node.url, 'GET', '/v1/networks/dcos');
    return r.status === 200 ? r.body : undefined;
  });
  t.same(net0, { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24, split: 'halves', enabled: true });
  for (const line of proc.stderr.filter((l) => l.trim() !== '')) t.doesNotThrow(() => JSON.parse(line), 'every log line is JSON');
  t.equal(await stopNode(node), 0);
});

t.test('`vnetd start --docker-ipam-socket` serves the Docker IPAM driver next to the API', async (t) => {
  const [spec] = await nodeSpecs(1);
  const dir = tempDir(t);
  const socketPath = join(dir, 'plugins', 'vnetd.sock');
  const node = await startNode(t, spec!, join(dir, 'data'), ['--docker-ipam-socket', socketPath, '--docker-ipam-agent', 'host-1']);
  await waitReady(node);
  t.match(node.proc.stdout.join('\n'), /Docker IPAM driver on unix:.*vnetd\.sock for agent host-1/);
  const post = (path: string, body: unknown): Promise<{ status: number; body: any }> => // eslint-disable-line @typescript-eslint/no-explicit-any
    new Promise((resolve, reject) => {
      const req = http.request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  t.same((await post('/Plugin.Activate', {})).body, { Implements: ['IpamDriver'] });
  // A new cluster's leader is ready once its first-start setup ran: the default network is there.
  t.equal((await call(node.url, 'GET', '/v1/networks/dcos')).status, 200, 'ready implies the default network');
  t.equal((await call(node.url, 'PUT', '/v1/agents/host-1', { ip: '10.0.0.5' })).status, 201);
  const pool = await post('/IpamDriver.RequestPool', { AddressSpace: 'vnetd-local', Options: { network: 'dcos' } });
  t.equal(pool.status, 200);
  t.equal(pool.body.Pool, '9.0.0.128/25', 'the agent\'s Docker half');
  t.equal(await stopNode(node), 0);
  t.notOk(existsSync(socketPath), 'the socket is removed on stop');
});
