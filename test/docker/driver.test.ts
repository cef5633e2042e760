// The Docker remote IPAM driver called over its unix socket as dockerd calls it (libnetwork
// remote IPAM protocol, REFERENCE.md §3: POST, JSON bodies, `{"Err"}` on failure), against a real
// vnetd process. Pools are the agent's Docker half (DESIGN.md §1); addresses are recorded in vnetd.

import t from 'tap';
import type { Test } from 'tap';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VnetdNode } from '../api/harness.js';
import { call, nodeSpecs, startNode, tempDir, waitFor, waitReady } from '../api/harness.js';
import { freePorts } from '../util/ports.js';
import { startDockerIpamDriver } from '../../src/docker/index.js';
import type { RunningDockerIpamDriver } from '../../src/docker/index.js';

interface Reply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

/** One plugin call as dockerd makes it (docker/pkg/plugins: POST, v1.2 JSON accept header). */
function plugin(socketPath: string, endpoint: string, body?: unknown, method = 'POST', raw?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = raw ?? (body === undefined ? '' : JSON.stringify(body));
    const req = http.request(
      { socketPath, path: endpoint, method, agent: false, headers: { accept: 'application/vnd.docker.plugins.v1.2+json', 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: JSON.parse(text) });
          } catch {
            reject(new Error(`not JSON from ${endpoint}: ${text}`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

interface Env {
  readonly node: VnetdNode;
  readonly agent: string;
  readonly dir: string;
  /** The agent's Docker half of `dk` and its gateway. */
  readonly half: { readonly cidr: string; readonly gateway: string };
  readonly half6: { readonly cidr6: string; readonly gateway6: string };
}

async function setup(t: Test): Promise<Env> {
  const [spec] = await nodeSpecs(1, 'dk');
  const node = await startNode(t, spec!, tempDir(t), ['--no-default-network']);
  await waitReady(node);
  // A /28 per agent: the Docker half is a /29 with 5 usable addresses, small enough to fill.
  t.equal((await call(node.url, 'POST', '/v1/networks', { name: 'dk', subnet: '10.98.0.0/16', prefix: 28 })).status, 201);
  t.equal((await call(node.url, 'POST', '/v1/networks', { name: 'dk6', subnet6: 'fd00:98::/48', prefix6: 64 })).status, 201);
  const agent = 'agent-1';
  const reg = await call(node.url, 'PUT', `/v1/agents/${agent}`, { ip: '192.0.2.20' });
  t.equal(reg.status, 201, reg.text);
  const pool = (net: string): any => (reg.body.blocks as any[]).find((b) => b.network === net).pools.find((p: any) => p.kind === 'docker');
  return { node, agent, dir: tempDir(t, 'vnetd-docker-'), half: pool('dk'), half6: pool('dk6') };
}

async function driverOn(t: Test, env: Env, name: string, url = env.node.url, extra: { defaultNetwork?: string } = {}): Promise<RunningDockerIpamDriver> {
  const d = await startDockerIpamDriver({ socketPath: join(env.dir, 'plugins', `${name}.sock`), url, agent: env.agent, ...extra });
  t.teardown(() => d.close());
  return d;
}

const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base!) / size);
}

const gatewayOpts = { RequestAddressType: 'com.docker.network.gateway' };

async function dockerTasks(env: Env): Promise<any[]> {
  const r = await call(env.node.url, 'GET', `/v1/tasks?agent=${env.agent}`);
  return (r.body.tasks as any[]).filter((x) => x.containerizer === 'docker');
}

t.test('Docker IPAM driver over its unix socket', async (t) => {
  const env = await setup(t);
  const d = await driverOn(t, env, 'vnetd');
  const sock = d.socketPath;

  await t.test('handshake: Activate, GetCapabilities, GetDefaultAddressSpaces', async (t) => {
    const act = await plugin(sock, '/Plugin.Activate');
    t.equal(act.status, 200);
    t.same(act.body, { Implements: ['IpamDriver'] });
    t.equal(act.contentType, 'application/vnd.docker.plugins.v1+json');
    t.same((await plugin(sock, '/IpamDriver.GetCapabilities', {})).body, { RequiresMACAddress: false, RequiresRequestReplay: false });
    const spaces = (await plugin(sock, '/IpamDriver.GetDefaultAddressSpaces', {})).body;
    t.type(spaces.LocalDefaultAddressSpace, 'string');
    t.type(spaces.GlobalDefaultAddressSpace, 'string');
  });

  const poolReq = { AddressSpace: 'vnetd-local', Pool: '', SubPool: '', Options: { network: 'dk' }, V6: false };
  let poolId = '';

  await t.test('RequestPool gives the agent\'s Docker half; identical calls get the same PoolID', async (t) => {
    const a = await plugin(sock, '/IpamDriver.RequestPool', poolReq);
    t.equal(a.status, 200, JSON.stringify(a.body));
    t.equal(a.body.Pool, env.half.cidr);
    t.type(a.body.PoolID, 'string');
    t.same(a.body.Data, { 'com.docker.network.gateway': `${env.half.gateway}/${env.half.cidr.split('/')[1]}` }, 'the gateway in libnetwork\'s pool data');
    const b = await plugin(sock, '/IpamDriver.RequestPool', poolReq);
    t.equal(b.body.PoolID, a.body.PoolID);
    const sameSubnet = await plugin(sock, '/IpamDriver.RequestPool', { ...poolReq, Pool: env.half.cidr });
    t.equal(sameSubnet.body.PoolID, a.body.PoolID, '--subnet equal to the half is accepted');
    poolId = a.body.PoolID;
  });

  await t.test('RequestPool refusals are {"Err"} with a non-200 status', async (t) => {
    const cases: [string, unknown, RegExp][] = [
      ['another subnet', { ...poolReq, Pool: '10.0.0.0/24' }, new RegExp(`${env.half.cidr}.*10\\.0\\.0\\.0/24`)],
      ['a sub-pool', { ...poolReq, Pool: env.half.cidr, SubPool: '10.98.0.12/30' }, /ip-range|sub-pool/],
      ['no network option', { ...poolReq, Options: {} }, /network/],
      ['an unknown network', { ...poolReq, Options: { network: 'nope' } }, /nope/],
      ['a bad network name', { ...poolReq, Options: { network: 'Bad_Name' } }, /Bad_Name/],
      ['V6 not a boolean', { ...poolReq, V6: 'yes' }, /V6/],
      ['IPv6 of an IPv4-only network', { ...poolReq, V6: true }, /IPv6/],
    ];
    for (const [what, body, re] of cases) {
      const r = await plugin(sock, '/IpamDriver.RequestPool', body);
      t.not(r.status, 200, `${what}: status ${r.status}`);
      t.match(r.body.Err, re, `${what}: ${r.body.Err}`);
      t.same(Object.keys(r.body), ['Err'], `${what}: only Err`);
    }
  });

  await t.test('the gateway request gets the half\'s gateway and records nothing', async (t) => {
    const len = env.half.cidr.split('/')[1];
    const r = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: gatewayOpts });
    t.same(r.body, { Address: `${env.half.gateway}/${len}`, Data: {} });
    const named = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: env.half.gateway, Options: gatewayOpts });
    t.equal(named.body.Address, `${env.half.gateway}/${len}`, '--gateway equal to the half\'s gateway is accepted');
    const other = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '10.98.0.10', Options: gatewayOpts });
    t.not(other.status, 200);
    t.match(other.body.Err, env.half.gateway);
    t.same(await dockerTasks(env), [], 'no task for the gateway');
  });

  const held: string[] = [];
  await t.test('RequestAddress allocates from the half, recorded in vnetd as docker tasks', async (t) => {
    // Concurrent calls, as dockerd makes when several containers start at once.
    const replies = await Promise.all([1, 2, 3].map(() => plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} })));
    for (const r of replies) {
      t.equal(r.status, 200, JSON.stringify(r.body));
      const [ip, len] = (r.body.Address as string).split('/');
      t.equal(len, env.half.cidr.split('/')[1], 'the half\'s prefix length');
      t.ok(inCidr(ip!, env.half.cidr), `${ip} in ${env.half.cidr}`);
      t.not(ip, env.half.gateway, 'never the gateway');
      t.same(r.body.Data, {});
      held.push(ip!);
    }
    t.equal(new Set(held).size, 3, `distinct: ${held.join(', ')}`);
    const tasks = await dockerTasks(env);
    t.same(tasks.map((x) => x.ip).sort(), [...held].sort(), 'each address is a docker task of this agent in vnetd');
    for (const task of tasks) t.equal(task.network, 'dk');
  });

  await t.test('a specific address is refused clearly', async (t) => {
    const r = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '10.98.0.13', Options: {} });
    t.equal(r.status, 400);
    t.match(r.body.Err, /10\.98\.0\.13/);
    t.equal((await dockerTasks(env)).length, 3, 'nothing allocated');
  });

  await t.test('a full half answers {"Err"} naming network, agent, capacity and used', async (t) => {
    const usage = (await call(env.node.url, 'GET', '/v1/networks/dk/usage')).body.agents[0].docker;
    for (let i = 0; i < usage.free; i++) t.equal((await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} })).status, 200);
    const r = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} });
    t.equal(r.status, 409);
    for (const word of ['dk', env.agent, `capacity ${usage.capacity}`, `${usage.capacity} used`]) t.match(r.body.Err, word);
  });

  await t.test('ReleaseAddress releases in vnetd, is idempotent, and frees the address', async (t) => {
    const victim = held[0]!;
    const r = await plugin(sock, '/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: victim });
    t.same([r.status, r.body], [200, {}]);
    t.notOk((await dockerTasks(env)).some((x) => x.ip === victim), `${victim} released in vnetd`);
    const again = await plugin(sock, '/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: victim });
    t.same([again.status, again.body], [200, {}], 'a repeated release succeeds');
    const gw = await plugin(sock, '/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: env.half.gateway });
    t.same([gw.status, gw.body], [200, {}], 'releasing the gateway is a no-op');
    const next = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} });
    t.equal(next.body.Address.split('/')[0], victim, 'the only free address is handed out again');
  });

  await t.test('ReleasePool, unknown pools, endpoints and bodies', async (t) => {
    t.same((await plugin(sock, '/IpamDriver.ReleasePool', { PoolID: poolId })).body, {});
    const cases: [string, string, unknown, string | undefined, number, RegExp][] = [
      ['unknown PoolID', '/IpamDriver.RequestAddress', { PoolID: 'other:pool', Address: '', Options: {} }, undefined, 404, /other:pool/],
      ['release in unknown pool', '/IpamDriver.ReleasePool', { PoolID: 'x' }, undefined, 404, /PoolID/],
      ['missing PoolID', '/IpamDriver.RequestAddress', { Address: '' }, undefined, 400, /PoolID/],
      ['unknown endpoint', '/NetworkDriver.CreateNetwork', {}, undefined, 404, /NetworkDriver\.CreateNetwork/],
      ['not JSON', '/IpamDriver.RequestPool', undefined, '{not json', 400, /JSON/],
      ['options not strings', '/IpamDriver.RequestPool', { Options: { network: 5 } }, undefined, 400, /Options\.network/],
    ];
    for (const [what, endpoint, body, raw, status, re] of cases) {
      const r = await plugin(sock, endpoint, body, 'POST', raw);
      t.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      t.match(r.body.Err, re, what);
    }
    const get = await plugin(sock, '/Plugin.Activate', undefined, 'GET');
    t.not(get.status, 200, 'GET is not a plugin call');
  });

  await t.test('IPv6 pools of an IPv6 network', async (t) => {
    const pool = await plugin(sock, '/IpamDriver.RequestPool', { ...poolReq, Options: { network: 'dk6' }, V6: true });
    t.equal(pool.body.Pool, env.half6.cidr6, JSON.stringify(pool.body));
    const gw = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: pool.body.PoolID, Address: '', Options: gatewayOpts });
    t.equal(gw.body.Address, `${env.half6.gateway6}/${env.half6.cidr6.split('/')[1]}`);
    const a = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: pool.body.PoolID, Address: '', Options: {} });
    t.equal(a.status, 200, JSON.stringify(a.body));
    const ip6 = (a.body.Address as string).split('/')[0]!;
    t.ok((await dockerTasks(env)).some((x) => x.ip6 === ip6), `${ip6} recorded`);
    t.same((await plugin(sock, '/IpamDriver.ReleaseAddress', { PoolID: pool.body.PoolID, Address: ip6 })).body, {});
    t.notOk((await dockerTasks(env)).some((x) => x.ip6 === ip6), `${ip6} released`);
  });

  await t.test('a restarted driver keeps PoolIDs and never hands out a held address', async (t) => {
    await d.close();
    t.notOk(existsSync(sock), 'the socket is removed on close');
    const again = await startDockerIpamDriver({ socketPath: sock, url: env.node.url, agent: env.agent });
    t.teardown(() => again.close());
    t.equal((await plugin(sock, '/IpamDriver.RequestPool', poolReq)).body.PoolID, poolId);
    const before = (await dockerTasks(env)).filter((x) => x.network === 'dk').map((x) => x.ip);
    const victim = before[before.length - 1];
    t.same((await plugin(sock, '/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: victim })).body, {});
    const r = await plugin(sock, '/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} });
    t.equal(r.body.Address.split('/')[0], victim, 'the freed address, not one still held');
    const after = (await dockerTasks(env)).filter((x) => x.network === 'dk').map((x) => x.ip);
    t.equal(new Set(after).size, after.length, 'no address held twice');
  });

  await t.test('default network and an unreachable vnetd', async (t) => {
    const withDefault = await driverOn(t, env, 'dflt', env.node.url, { defaultNetwork: 'dk' });
    const p = await plugin(withDefault.socketPath, '/IpamDriver.RequestPool', { ...poolReq, Options: {} });
    t.equal(p.body.Pool, env.half.cidr);
    const [closed] = await freePorts(1);
    const dead = await driverOn(t, env, 'dead', `http://127.0.0.1:${closed}`);
    const r = await plugin(dead.socketPath, '/IpamDriver.RequestPool', poolReq);
    t.equal(r.status, 503);
    t.match(r.body.Err, /unreachable/);
    t.same((await plugin(dead.socketPath, '/Plugin.Activate')).body, { Implements: ['IpamDriver'] }, 'the handshake needs no vnetd');
  });
});

t.test('standalone runner: node dist/src/docker/main.js', async (t) => {
  const env = await setup(t);
  const socket = join(env.dir, 'run', 'vnetd.sock');
  const main = fileURLToPath(new URL('../../src/docker/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, '--socket', socket, '--url', env.node.url, '--agent', env.agent, '--network', 'dk'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor('the runner\'s socket', () => (existsSync(socket) ? true : undefined), 10_000, 50);
  const pool = await plugin(socket, '/IpamDriver.RequestPool', { Options: {} });
  t.equal(pool.body.Pool, env.half.cidr);
  const a = await plugin(socket, '/IpamDriver.RequestAddress', { PoolID: pool.body.PoolID, Address: '', Options: {} });
  t.ok(inCidr(a.body.Address.split('/')[0], env.half.cidr));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean stop on SIGTERM');
  t.notOk(existsSync(socket), 'socket removed');
  const usage = spawn(process.execPath, [main], { stdio: 'ignore' });
  t.equal(await new Promise((r) => usage.once('exit', r)), 2, 'missing flags: exit 2');
});
