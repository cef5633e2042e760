// The driver served by `vnetd start --docker-ipam-socket PATH --docker-ipam-agent ID` (issue 8),
// called over the socket as dockerd would. Skipped, with the reason, while `vnetd start --help`
// does not list the flags (src/cli.ts and src/config.ts wire them).

import t from 'tap';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { call, nodeSpecs, runCli, startNode, tempDir, waitFor, waitReady } from '../api/harness.js';

function post(socketPath: string, path: string, body: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ socketPath, path, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const help = runCli(t, ['start', '--help']);
await help.exited;
const wired = help.stdout.join('\n').includes('--docker-ipam-socket') && help.stdout.join('\n').includes('--docker-ipam-agent');

if (!wired) {
  t.plan(0, 'vnetd start has no --docker-ipam-socket/--docker-ipam-agent flags yet (src/config.ts, src/server.ts)');
} else {
  t.test('vnetd start --docker-ipam-socket serves the driver', async (t) => {
    const dir = tempDir(t);
    const socket = join(dir, 'plugins', 'vnetd.sock');
    const [spec] = await nodeSpecs(1, 'dks');
    const node = await startNode(t, spec!, tempDir(t), ['--docker-ipam-socket', socket, '--docker-ipam-agent', 'a1']);
    await waitReady(node);
    const reg = await call(node.url, 'PUT', '/v1/agents/a1', { ip: '192.0.2.40' });
    t.equal(reg.status, 201);
    const half = (reg.body.blocks as any[]).find((b) => b.network === 'dcos').pools.find((p: any) => p.kind === 'docker');
    await waitFor('the driver socket', () => (existsSync(socket) ? true : undefined), 10_000, 50);
    t.same((await post(socket, '/Plugin.Activate', {})).body, { Implements: ['IpamDriver'] });
    const pool = await post(socket, '/IpamDriver.RequestPool', { AddressSpace: '', Pool: '', SubPool: '', Options: { network: 'dcos' }, V6: false });
    t.equal(pool.body.Pool, half.cidr);
    const a = await post(socket, '/IpamDriver.RequestAddress', { PoolID: pool.body.PoolID, Address: '', Options: {} });
    t.equal(a.status, 200, JSON.stringify(a.body));
    const tasks = (await call(node.url, 'GET', '/v1/tasks?agent=a1')).body.tasks as any[];
    t.same(tasks.map((x) => `${x.ip}/${x.prefixLength}`), [a.body.Address], 'recorded in vnetd');
    node.proc.child.kill('SIGTERM');
    await node.proc.exited;
    t.notOk(existsSync(socket), 'the socket is removed on a clean stop');
  });
}
