// `vnetd start` on real processes (issue 6): configuration errors that name the field and the
// expected value, the merge order file < environment < flags, and the bearer token.

import t from 'tap';
import type { Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, nodeSpecs, runCli, startNode, stopNode, tempDir, waitHealthy, waitReady } from '../api/harness.js';
import type { VnetdNode } from '../api/harness.js';

async function configFails(t: Test, args: string[], env: NodeJS.ProcessEnv, expected: RegExp): Promise<void> {
  const p = runCli(t, ['start', ...args], env);
  t.equal(await p.exited, 2, `exit code 2 for ${args.join(' ')} ${JSON.stringify(env)}`);
  t.match(p.stderr.join('\n'), expected);
}

t.test('configuration errors name the field and the expected value', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ http: 'abc' }));
  await configFails(t, ['--config', file, '--data-dir', dir], {}, /config: \/http must be HOST:PORT, got "abc" \(in file .*bad\.json\)/);
  writeFileSync(file, JSON.stringify({ htp: '127.0.0.1:1' }));
  await configFails(t, ['--config', file, '--data-dir', dir], {}, /config: \/htp is not a known setting/);
  writeFileSync(file, JSON.stringify({ peers: [{ id: 'a', raft: '127.0.0.1:1', colour: 'red' }] }));
  await configFails(t, ['--config', file, '--data-dir', dir], {}, /config: \/peers must be .*at \/peers\/0\/colour: is not a known field/);
  writeFileSync(file, '{"http": ');
  await configFails(t, ['--config', file, '--data-dir', dir], {}, /is not valid JSON/);
  await configFails(t, ['--data-dir', dir], { VNETD_DNS_TTL: 'soon' }, /config: VNETD_DNS_TTL must be an integer 1\.\.86400 \(seconds\), got "soon"/);
  await configFails(t, ['--data-dir', dir, '--log-level', 'loud'], {}, /config: --log-level must be debug, info, warn, error, got "loud"/);
  await configFails(t, ['--data-dir', dir, '--peers', 'n1=127.0.0.1:1,n2'], {}, /config: --peers must be a list of ID=RAFT_HOST:PORT/);
  await configFails(t, ['--data-dir', dir, '--heartbeat-ticks', '20'], {}, /config: \/heartbeatTicks must be below electionTicks/);
  await configFails(t, ['--data-dir', dir, '--bogus'], {}, /Unknown option '--bogus'/);
});

t.test('file < environment < flags', async (t) => {
  const [spec] = await nodeSpecs(1);
  const dir = tempDir(t);
  const file = join(dir, 'vnetd.json');
  // The file sets the addresses and an id; the environment overrides the id; a flag the zone.
  writeFileSync(file, JSON.stringify({ id: 'from-file', http: spec!.http, dns: spec!.dns, raft: spec!.raft, zone: 'file.zone.', tickMs: 50, logLevel: 'warn' }));
  const proc = runCli(t, ['start', '--config', file, '--data-dir', join(dir, 'data'), '--zone', 'flag.zone.'], { VNETD_ID: 'from-env' });
  const node: VnetdNode = { ...spec!, id: 'from-env', url: `http://${spec!.http}`, dataDir: join(dir, 'data'), proc };
  await waitHealthy(node);
  await waitReady(node);
  t.same((await call(node.url, 'GET', '/v1/health')).body, { status: 'ok', id: 'from-env' });
  t.match(proc.stdout.join('\n'), new RegExp(`vnetd from-env: HTTP API on http://${spec!.http}`));
  t.match(proc.stdout.join('\n'), /zone flag\.zone\./);
  t.equal((await call(node.url, 'PUT', '/v1/agents/a', { ip: '10.0.0.1' })).status, 201);
  const task = await call(node.url, 'PUT', '/v1/tasks/x', { name: 'web', framework: 'marathon', agent: 'a', network: 'dcos' });
  t.equal(task.body.dns.agentip, 'web.marathon.agentip.flag.zone');
  t.equal(await stopNode(node), 0);
});

t.test('bearer token: writes need it, reads only with --api-token-reads', async (t) => {
  const specs = await nodeSpecs(2);
  const token = 'correct-horse-battery';
  const node = await startNode(t, specs[0]!, tempDir(t), ['--api-token', token]);
  await waitReady(node);
  const auth = { authorization: `Bearer ${token}` };
  t.equal((await call(node.url, 'PUT', '/v1/agents/a', { ip: '10.0.0.1' })).status, 401, 'missing token');
  const wrong = await call(node.url, 'PUT', '/v1/agents/a', { ip: '10.0.0.1' }, { authorization: 'Bearer wrong-token' });
  t.equal(wrong.status, 401);
  t.equal(wrong.body.error, 'unauthorized');
  t.equal((await call(node.url, 'GET', '/v1/agents/a')).status, 404, 'nothing was written; reads are open');
  t.equal((await call(node.url, 'PUT', '/v1/agents/a', { ip: '10.0.0.1' }, auth)).status, 201);
  t.equal((await call(node.url, 'GET', '/v1/agents')).status, 200);

  const closed = await startNode(t, specs[1]!, tempDir(t), ['--api-token', token, '--api-token-reads']);
  await waitReady(closed);
  t.equal((await call(closed.url, 'GET', '/v1/agents')).status, 401, 'reads need the token too');
  t.equal((await call(closed.url, 'GET', '/metrics')).status, 401);
  t.equal((await call(closed.url, 'GET', '/v1/agents', undefined, auth)).status, 200);
  t.equal((await call(closed.url, 'GET', '/v1/health')).status, 200, 'health stays open');
});


t.test('advertised addresses go into the member context', async (t) => {
  const [spec] = await nodeSpecs(1);
  const port = spec!.http.split(':')[1];
  const node = await startNode(t, spec!, tempDir(t), ['--advertise-http', `localhost:${port}`]);
  await waitReady(node);
  const me = (await call(node.url, 'GET', '/v1/cluster')).body.members[0];
  t.equal(me.http, `localhost:${port}`);
  t.equal(me.raft, spec!.raft, 'the others default to the listen address');
  await configFails(t, ['--data-dir', tempDir(t), '--advertise-raft', '0.0.0.0:7000'], {}, /config: \/advertiseRaft must be an address others can reach, got 0\.0\.0\.0:7000/);
});
