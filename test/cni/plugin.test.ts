// vnetd-cni as a runtime runs it, without network namespaces: the executable with CNI_* variables
// and a config on stdin, against a real vnetd. Covers the CNI SPEC contract (REFERENCE.md §2):
// VERSION, result shapes per cniVersion, error codes on stdout with a non-zero exit, ADD/DEL
// idempotency, CHECK, and 1.1.0 GC and STATUS.

import t from 'tap';
import type { Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VnetdNode } from '../api/harness.js';
import { call, nodeSpecs, startNode, tempDir, waitReady } from '../api/harness.js';
import { freePorts } from '../util/ports.js';
import { cni, cniInProcess } from './helpers.js';

interface Env {
  readonly node: VnetdNode;
  readonly agent: string;
  readonly mesosHalf: string;
}

async function setup(t: Test, extra: string[] = []): Promise<Env> {
  const [spec] = await nodeSpecs(1, 'cnip');
  const node = await startNode(t, spec!, tempDir(t), ['--no-default-network', ...extra]);
  await waitReady(node);
  return { node, agent: 'agent-7', mesosHalf: '' };
}

async function prepare(t: Test, env: Env, headers: Record<string, string> = {}): Promise<Env> {
  // /28 per agent: the Mesos half is a /29 with 5 usable addresses.
  t.equal((await call(env.node.url, 'POST', '/v1/networks', { name: 'p4', subnet: '10.97.0.0/16', prefix: 28 }, headers)).status, 201);
  t.equal((await call(env.node.url, 'POST', '/v1/networks', { name: 'p46', subnet: '10.96.0.0/16', prefix: 24, subnet6: 'fd00:96::/48', prefix6: 64 }, headers)).status, 201);
  const reg = await call(env.node.url, 'PUT', `/v1/agents/${env.agent}`, { ip: '192.0.2.30' }, headers);
  t.equal(reg.status, 201, reg.text);
  const mesos = (reg.body.blocks as any[]).find((b) => b.network === 'p4').pools.find((p: any) => p.kind === 'mesos');
  return { ...env, mesosHalf: mesos.cidr };
}

const conf = (env: Env, version = '1.0.0', ipam: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> => ({
  cniVersion: version,
  name: 'p4',
  type: 'bridge',
  ipam: { type: 'vnetd-cni', url: env.node.url, agent: env.agent, ...ipam },
  ...top,
});

const vars = (command: string, container: string, args?: string, ifname = 'eth0'): NodeJS.ProcessEnv => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: container,
  CNI_IFNAME: ifname,
  CNI_NETNS: `/var/run/netns/${container}`,
  CNI_PATH: '/usr/lib/cni',
  ...(args === undefined ? {} : { CNI_ARGS: args }),
});

const task = async (env: Env, id: string): Promise<any> => (await call(env.node.url, 'GET', `/v1/tasks/${encodeURIComponent(id)}`)).body;

/** A CNI error (SPEC "Error"): non-zero exit, `{cniVersion, code, msg, details}` on stdout. */
function isCniError(t: Test, r: Awaited<ReturnType<typeof cni>>, code: number, msg: RegExp, what: string): void {
  t.not(r.code, 0, `${what}: non-zero exit`);
  t.equal(r.json?.code, code, `${what}: code ${code}, got ${r.stdout}`);
  t.match(r.json?.msg, msg, `${what}: msg`);
  t.type(r.json?.cniVersion, 'string', `${what}: cniVersion`);
  t.type(r.json?.details, 'string', `${what}: details`);
}

t.test('vnetd-cni against a real vnetd', async (t) => {
  const env = await prepare(t, await setup(t));

  await t.test('VERSION lists the spec versions, in the caller\'s version', async (t) => {
    const r = await cni({ CNI_COMMAND: 'VERSION' }, { cniVersion: '0.4.0' });
    t.equal(r.code, 0);
    t.equal(r.json.cniVersion, '0.4.0');
    for (const v of ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) t.ok(r.json.supportedVersions.includes(v), v);
    const bare = await cni({ CNI_COMMAND: 'VERSION' }, '');
    t.equal(bare.code, 0);
    t.ok(bare.json.supportedVersions.includes(bare.json.cniVersion));
  });

  await t.test('result shapes: 1.0.0, 0.4.0 (ips carry version), 0.2.0 (ip4), dual stack', async (t) => {
    const v1 = await cni(vars('ADD', 'shape1'), conf(env, '1.0.0'));
    t.equal(v1.code, 0, v1.stdout);
    t.same(Object.keys(v1.json).sort(), ['cniVersion', 'dns', 'ips', 'routes']);
    t.equal(v1.json.cniVersion, '1.0.0');
    const held = (await task(env, 'shape1/eth0'));
    t.same(v1.json.ips, [{ address: `${held.ip}/${held.prefixLength}`, gateway: held.gateway }]);
    t.same(v1.json.routes, [{ dst: '0.0.0.0/0' }]);
    t.same(v1.json.dns, {});
    const v04 = await cni(vars('ADD', 'shape2'), conf(env, '0.4.0'));
    t.equal(v04.json.cniVersion, '0.4.0');
    t.equal(v04.json.ips[0].version, '4');
    t.match(v04.json.ips[0].address, /^10\.97\.0\.\d+\/29$/);
    const v02 = await cni(vars('ADD', 'shape3'), conf(env, '0.2.0'));
    t.equal(v02.json.cniVersion, '0.2.0');
    t.match(v02.json.ip4, { ip: /^10\.97\.0\.\d+\/29$/, gateway: held.gateway, routes: [{ dst: '0.0.0.0/0' }] });
    const dual = await cni(vars('ADD', 'shape4'), conf(env, '0.4.0', { network: 'p46' }));
    t.equal(dual.code, 0, dual.stdout);
    t.same(dual.json.ips.map((i: any) => i.version), ['4', '6']);
    t.match(dual.json.ips[1].address, /^fd00:96:[0-9a-f:]+\/65$/);
    t.match(dual.json.ips[1].gateway, /^fd00:96:/);
    t.same(dual.json.routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
    for (const c of ['shape1', 'shape2', 'shape3']) t.equal((await cni(vars('DEL', c), conf(env))).code, 0);
    t.equal((await cni(vars('DEL', 'shape4'), conf(env, '1.0.0', { network: 'p46' }))).code, 0);
  });

  await t.test('task name and framework from CNI_ARGS, Kubernetes args, Mesos labels, or defaults', async (t) => {
    const mesosArgs = { args: { 'org.apache.mesos': { network_info: { name: 'p4', labels: { labels: [{ key: 'VNETD_TASK_NAME', value: 'from-mesos' }, { key: 'VNETD_FRAMEWORK', value: 'marathon' }, { key: 'other', value: 'x' }] } } } } };
    const cases: [string, string | undefined, Record<string, unknown>, string, string][] = [
      ['vnetd args', 'IgnoreUnknown=1;VNETD_TASK_NAME=web;VNETD_FRAMEWORK=marathon', {}, 'web', 'marathon'],
      ['k8s args', 'K8S_POD_NAME=pod-1;K8S_POD_NAMESPACE=default;K8S_POD_INFRA_CONTAINER_ID=n1', {}, 'pod-1', 'default'],
      ['mesos labels', undefined, mesosArgs, 'from-mesos', 'marathon'],
      ['args beat labels', 'VNETD_TASK_NAME=explicit', mesosArgs, 'explicit', 'marathon'],
      ['nothing', undefined, {}, 'named-nothing', 'cni'],
    ];
    for (const [what, args, top, name, framework] of cases) {
      const container = what === 'nothing' ? 'named-nothing' : `named-${what.replace(/ /g, '-')}`;
      const r = await cniInProcess(vars('ADD', container, args), conf(env, '1.0.0', {}, top));
      t.equal(r.code, 0, `${what}: ${r.stdout}`);
      const held = await task(env, `${container}/eth0`);
      t.same([held.name, held.framework, held.containerizer, held.agent], [name, framework, 'mesos', env.agent], what);
      t.equal((await cniInProcess(vars('DEL', container), conf(env))).code, 0);
    }
  });

  await t.test('ADD is idempotent per container and interface; DEL releases and repeats', async (t) => {
    const first = await cniInProcess(vars('ADD', 'idem', 'VNETD_TASK_NAME=a'), conf(env));
    const again = await cniInProcess(vars('ADD', 'idem', 'VNETD_TASK_NAME=a'), conf(env));
    const renamed = await cniInProcess(vars('ADD', 'idem', 'VNETD_TASK_NAME=b'), conf(env));
    t.equal(first.code, 0, first.stdout);
    t.same(again.json.ips, first.json.ips, 'a retried ADD returns the same address');
    t.same(renamed.json.ips, first.json.ips, 'a retry with other CNI_ARGS too');
    const eth1 = await cniInProcess(vars('ADD', 'idem', 'VNETD_TASK_NAME=a', 'eth1'), conf(env));
    t.not(eth1.json.ips[0].address, first.json.ips[0].address, 'another interface of the container is another allocation');
    for (const ifname of ['eth0', 'eth1']) {
      const del = await cniInProcess(vars('DEL', 'idem', undefined, ifname), conf(env));
      t.same([del.code, del.stdout], [0, ''], `DEL ${ifname}`);
      t.equal((await call(env.node.url, 'GET', `/v1/tasks/idem%3A${ifname}`)).status, 404);
    }
    t.same((await cniInProcess(vars('DEL', 'idem'), conf(env))).code, 0, 'a second DEL succeeds');
    t.same((await cniInProcess(vars('DEL', 'never-added'), conf(env, '1.0.0', { agent: undefined }))).code, 0, 'DEL of nothing needs no agent and succeeds');
  });

  await t.test('CHECK verifies the allocation', async (t) => {
    const add = await cniInProcess(vars('ADD', 'chk'), conf(env));
    t.equal(add.code, 0);
    const ok = await cniInProcess(vars('CHECK', 'chk'), conf(env, '1.0.0', {}, { prevResult: add.json }));
    t.same([ok.code, ok.stdout], [0, ''], 'CHECK with the matching prevResult');
    t.equal((await cniInProcess(vars('CHECK', 'chk'), conf(env))).code, 0, 'CHECK without prevResult');
    const wrongPrev = { ...add.json, ips: [{ address: '10.97.0.250/29', gateway: add.json.ips[0].gateway }] };
    isCniError(t, await cniInProcess(vars('CHECK', 'chk'), conf(env, '1.0.0', {}, { prevResult: wrongPrev })), 106, /prevResult lacks/, 'prevResult with another address');
    isCniError(t, await cniInProcess(vars('CHECK', 'chk'), conf(env, '1.0.0', { containerizer: 'docker' })), 106, /docker/, 'another containerizer');
    isCniError(t, await cniInProcess(vars('CHECK', 'nothing-here'), conf(env)), 105, /no allocation for nothing-here\/eth0/, 'no allocation');
    isCniError(t, await cniInProcess(vars('CHECK', 'chk'), conf(env, '0.3.1')), 1, /CHECK needs cniVersion 0\.4\.0/, 'CHECK before 0.4.0');
    t.equal((await cniInProcess(vars('DEL', 'chk'), conf(env))).code, 0);
  });

  await t.test('exhaustion, unknown network and agent, unreachable vnetd', async (t) => {
    const usage = (await call(env.node.url, 'GET', '/v1/networks/p4/usage')).body.agents[0].mesos;
    for (let i = 0; i < usage.free; i++) t.equal((await cni(vars('ADD', `fill${i}`), conf(env))).code, 0);
    const full = await cni(vars('ADD', 'one-too-many'), conf(env, '0.4.0'));
    isCniError(t, full, 100, new RegExp(`network p4 on agent ${env.agent} \\(mesos pool\\) has capacity ${usage.capacity} and ${usage.capacity} used`), 'full half');
    t.equal(full.json.cniVersion, '0.4.0', 'errors echo the config\'s version');
    t.match(JSON.parse(full.json.details), { error: 'exhausted', network: 'p4', agent: env.agent, capacity: usage.capacity, used: usage.capacity });
    for (let i = 0; i < usage.free; i++) t.equal((await cni(vars('DEL', `fill${i}`), conf(env))).code, 0);
    isCniError(t, await cni(vars('ADD', 'x'), conf(env, '1.0.0', { network: 'nosuch' })), 101, /nosuch/, 'unknown network');
    isCniError(t, await cni(vars('ADD', 'x'), conf(env, '1.0.0', { agent: 'nobody' })), 101, /nobody/, 'unknown agent');
    const [closed] = await freePorts(1);
    const url = `http://127.0.0.1:${closed}`;
    isCniError(t, await cni(vars('ADD', 'x'), conf(env, '1.0.0', { url })), 11, /unreachable/, 'ADD, vnetd unreachable');
    isCniError(t, await cni(vars('DEL', 'x'), conf(env, '1.0.0', { url })), 11, /unreachable/, 'DEL, vnetd unreachable (the runtime must retry)');
  });

  await t.test('the agent id from an environment variable or a file', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'agent-id');
    writeFileSync(file, `${env.agent}\n`);
    const viaEnv = await cniInProcess({ ...vars('ADD', 'ag1'), MY_AGENT: env.agent }, conf(env, '1.0.0', { agent: undefined, agentEnv: 'MY_AGENT' }));
    t.equal(viaEnv.code, 0, viaEnv.stdout);
    const viaFile = await cniInProcess(vars('ADD', 'ag2'), conf(env, '1.0.0', { agent: undefined, agentFile: file }));
    t.equal(viaFile.code, 0, viaFile.stdout);
    t.equal((await task(env, 'ag2/eth0')).agent, env.agent);
    isCniError(t, await cniInProcess(vars('ADD', 'ag3'), conf(env, '1.0.0', { agent: undefined, agentEnv: 'UNSET_AGENT' })), 4, /UNSET_AGENT/, 'agentEnv unset');
    isCniError(t, await cniInProcess(vars('ADD', 'ag3'), conf(env, '1.0.0', { agent: undefined, agentFile: join(dir, 'missing') })), 5, /missing/, 'agentFile missing');
    for (const c of ['ag1', 'ag2']) t.equal((await cniInProcess(vars('DEL', c), conf(env))).code, 0);
  });

  await t.test('bad environment, stdin and config get the spec\'s codes and change nothing', async (t) => {
    const before = (await call(env.node.url, 'GET', '/v1/tasks')).body.tasks.length;
    const cases: [string, NodeJS.ProcessEnv, unknown, number, RegExp][] = [
      ['no CNI_COMMAND', { ...vars('ADD', 'b'), CNI_COMMAND: '' }, conf(env), 4, /CNI_COMMAND/],
      ['unknown CNI_COMMAND', vars('FROB', 'b'), conf(env), 4, /FROB/],
      ['no CNI_CONTAINERID', { ...vars('ADD', 'b'), CNI_CONTAINERID: '' }, conf(env), 4, /CNI_CONTAINERID/],
      ['bad CNI_CONTAINERID', vars('ADD', 'a/b'), conf(env), 4, /CNI_CONTAINERID/],
      ['bad CNI_IFNAME', vars('ADD', 'b', undefined, 'eth:0'), conf(env), 4, /CNI_IFNAME/],
      ['bad CNI_ARGS', vars('ADD', 'b', 'novalue'), conf(env), 4, /CNI_ARGS/],
      ['stdin not JSON', vars('ADD', 'b'), '{"cniVersion":', 6, /not JSON/],
      ['stdin not an object', vars('ADD', 'b'), '[1]', 6, /object/],
      ['unknown version', vars('ADD', 'b'), conf(env, '9.9.9'), 1, /9\.9\.9/],
      ['no version', vars('ADD', 'b'), { ...conf(env), cniVersion: undefined }, 7, /cniVersion/],
      ['no ipam', vars('ADD', 'b'), { ...conf(env), ipam: undefined }, 7, /ipam/],
      ['unknown ipam key', vars('ADD', 'b'), conf(env, '1.0.0', { subnet: '10.0.0.0/8' }), 2, /ipam\.subnet/],
      ['bad containerizer', vars('ADD', 'b'), conf(env, '1.0.0', { containerizer: 'lxc' }), 7, /containerizer/],
      ['bad url', vars('ADD', 'b'), conf(env, '1.0.0', { url: 'ftp://x' }), 7, /ipam\.url/],
      ['no agent', vars('ADD', 'b'), conf(env, '1.0.0', { agent: undefined }), 7, /agent/],
      ['two agent sources', vars('ADD', 'b'), conf(env, '1.0.0', { agentEnv: 'X' }), 7, /exclude/],
      ['bad network name', vars('ADD', 'b'), conf(env, '1.0.0', { network: 'Not_A_Name' }), 7, /Not_A_Name/],
      ['GC before 1.1.0', vars('GC', 'b'), conf(env, '1.0.0'), 1, /GC needs cniVersion 1\.1\.0/],
    ];
    for (const [what, vs, config, code, msg] of cases) isCniError(t, await cniInProcess(vs, config), code, msg, what);
    // The executable itself: the same answer on stdout, and exit status 1.
    isCniError(t, await cni(vars('ADD', 'b'), '{"cniVersion":'), 6, /not JSON/, 'stdin not JSON (spawned)');
    t.equal((await call(env.node.url, 'GET', '/v1/tasks')).body.tasks.length, before, 'no task was created');
  });

  await t.test('1.1.0 GC releases this network\'s stale attachments; STATUS reports readiness', async (t) => {
    for (const c of ['gc-keep', 'gc-stale1', 'gc-stale2']) t.equal((await cniInProcess(vars('ADD', c), conf(env, '1.1.0'))).code, 0);
    // A task made through the API (not by this plugin) on the same agent and network stays.
    t.equal((await call(env.node.url, 'PUT', '/v1/tasks/api-made', { name: 'api', framework: 'f', agent: env.agent, network: 'p4' })).status, 201);
    const gc = await cniInProcess({ CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, { ...conf(env, '1.1.0'), 'cni.dev/valid-attachments': [{ containerID: 'gc-keep', ifname: 'eth0' }] });
    t.same([gc.code, gc.stdout], [0, ''], gc.stdout);
    const ids = (await call(env.node.url, 'GET', `/v1/tasks?agent=${env.agent}&network=p4`)).body.tasks.map((x: any) => x.id).sort();
    t.same(ids, ['api-made', 'gc-keep/eth0']);
    const status = await cniInProcess({ CNI_COMMAND: 'STATUS' }, conf(env, '1.1.0'));
    t.same([status.code, status.stdout], [0, '']);
    const usage = (await call(env.node.url, 'GET', '/v1/networks/p4/usage')).body.agents[0].mesos;
    for (let i = 0; i < usage.free; i++) t.equal((await cniInProcess(vars('ADD', `st${i}`), conf(env, '1.1.0'))).code, 0);
    isCniError(t, await cniInProcess({ CNI_COMMAND: 'STATUS' }, conf(env, '1.1.0')), 50, /no free address/, 'STATUS on a full half');
    const [closed] = await freePorts(1);
    isCniError(t, await cniInProcess({ CNI_COMMAND: 'STATUS' }, conf(env, '1.1.0', { url: `http://127.0.0.1:${closed}` })), 50, /unreachable/, 'STATUS, vnetd unreachable');
  });
});

t.test('a vnetd that requires an API token', async (t) => {
  const token = 'cni-test-token-0123456789';
  const env = await prepare(t, await setup(t, ['--api-token', token]), { authorization: `Bearer ${token}` });
  const dir = tempDir(t);
  writeFileSync(join(dir, 'token'), `${token}\n`);
  const inline = await cniInProcess(vars('ADD', 'tok1'), conf(env, '1.0.0', { token }));
  t.equal(inline.code, 0, inline.stdout);
  const fromFile = await cniInProcess(vars('ADD', 'tok2'), conf(env, '1.0.0', { tokenFile: join(dir, 'token') }));
  t.equal(fromFile.code, 0, fromFile.stdout);
  isCniError(t, await cniInProcess(vars('ADD', 'tok3'), conf(env)), 7, /Bearer|token/, 'no token');
});
