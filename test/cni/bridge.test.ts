// vnetd-cni under Debian's CNI `bridge` plugin (containernetworking-plugins), in network
// namespaces this test creates: a "host" namespace holding the bridge m-<net> and the host ends of
// the veths, and one namespace per container. vnetd runs on this process's loopback; the
// `vnetd-cni` wrapper on CNI_PATH enters this process's namespace to reach it, so nothing is
// added to the machine's own network namespace. Deleting the namespaces in teardown removes every
// bridge and veth with them. (REFERENCE.md §2, DESIGN.md §1 halves and containerip names.)

import t from 'tap';
import type { Test } from 'tap';
import { existsSync } from 'node:fs';
import type { VnetdNode } from '../api/harness.js';
import { call, nodeSpecs, startNode, tempDir, waitReady } from '../api/harness.js';
import type { Ran } from './helpers.js';
import { cni, inNetns, must, netns, netnsUnavailable, pluginDir, randomSuffix } from './helpers.js';

const bridgePlugin = '/usr/lib/cni/bridge';

const unavailable = existsSync(bridgePlugin) ? await netnsUnavailable() : `${bridgePlugin} is not installed (Debian containernetworking-plugins)`;
if (unavailable !== undefined) {
  t.plan(0, `bridge plugin in network namespaces: ${unavailable}`);
} else {
  // One parent test owns the vnetd process and the namespaces, so its teardown runs only after
  // every step below has finished.
  t.test('vnetd-cni under the bridge plugin', bridgeTests);
}

interface Setup {
  readonly node: VnetdNode;
  readonly sfx: string;
  readonly net: string;
  readonly agent: string;
  readonly host: string;
  readonly cniPath: string;
  /** The agent's Mesos half, e.g. 10.99.0.0/29, and its gateway. */
  readonly mesos: { readonly cidr: string; readonly gateway: string };
  readonly conf: Record<string, unknown>;
}

async function setup(t: Test): Promise<Setup> {
  const sfx = randomSuffix();
  const [spec] = await nodeSpecs(1, `cni${sfx}-`);
  const node = await startNode(t, spec!, tempDir(t), ['--no-default-network']);
  await waitReady(node);
  const net = `c${sfx}`;
  const agent = `agent-${sfx}`;
  // A /28 per agent: each half is a /29 with 5 usable addresses, small enough to fill.
  const created = await call(node.url, 'POST', '/v1/networks', { name: net, subnet: '10.99.0.0/16', prefix: 28 });
  t.equal(created.status, 201, `network created: ${created.text}`);
  const reg = await call(node.url, 'PUT', `/v1/agents/${agent}`, { ip: '192.0.2.10' });
  t.equal(reg.status, 201, `agent registered: ${reg.text}`);
  const block = (reg.body.blocks as any[]).find((b) => b.network === net);
  const mesos = (block.pools as any[]).find((p) => p.kind === 'mesos');
  const host = await netns(t, `vnc-h-${sfx}`);
  const conf = {
    cniVersion: '1.0.0',
    name: net,
    type: 'bridge',
    bridge: `m-${net}`,
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'vnetd-cni', url: node.url, network: net, agent, containerizer: 'mesos' },
  };
  return { node, sfx, net, agent, host, cniPath: `/usr/lib/cni:${pluginDir(t, process.pid)}`, mesos: { cidr: mesos.cidr, gateway: mesos.gateway }, conf };
}

function env(s: Setup, command: string, container: string, args = ''): NodeJS.ProcessEnv {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: container,
    CNI_NETNS: `/var/run/netns/${container}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: s.cniPath,
    // The bridge plugin refuses CNI_ARGS keys it does not know unless IgnoreUnknown is set.
    ...(args === '' ? {} : { CNI_ARGS: `IgnoreUnknown=1;${args}` }),
  };
}

/** The bridge plugin, run inside the host namespace, as a runtime would run it. */
function bridge(s: Setup, command: string, container: string, args = ''): Promise<Ran> {
  return inNetns(s.host, bridgePlugin, [], env(s, command, container, args), JSON.stringify(s.conf));
}

function inHalf(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/');
  const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base!) / size);
}

async function dig(s: Setup, name: string): Promise<string[]> {
  const port = s.node.dns.split(':')[1]!;
  const r = await must('dig', ['@127.0.0.1', '-p', port, '+short', '+tries=1', '+time=2', name, 'A']);
  return r.stdout.split('\n').filter((l) => l !== '').sort();
}

async function bridgeTests(t: Test): Promise<void> {
  const s = await setup(t);
  const c1 = await netns(t, `vnc-c1-${s.sfx}`);
  const c2 = await netns(t, `vnc-c2-${s.sfx}`);
  const ips: string[] = [];

  await t.test('two containers get distinct addresses from the agent\'s Mesos half', async (t) => {
    for (const [c, task] of [[c1, 'web'], [c2, 'db']] as const) {
      const r = await bridge(s, 'ADD', c, `VNETD_TASK_NAME=${task};VNETD_FRAMEWORK=marathon`);
      t.equal(r.code, 0, `bridge ADD ${c}: ${r.stdout}${r.stderr}`);
      const result = JSON.parse(r.stdout);
      t.equal(result.cniVersion, '1.0.0');
      t.equal(result.ips.length, 1, 'one IPv4 address');
      const [ip, len] = (result.ips[0].address as string).split('/');
      t.equal(Number(len), Number(s.mesos.cidr.split('/')[1]), 'the address carries the half\'s prefix length');
      t.equal(result.ips[0].gateway, s.mesos.gateway, 'the half\'s gateway');
      t.ok(inHalf(ip!, s.mesos.cidr), `${ip} in the Mesos half ${s.mesos.cidr}`);
      ips.push(ip!);
    }
    t.not(ips[0], ips[1], 'distinct addresses');
    const listed = await call(s.node.url, 'GET', `/v1/tasks?agent=${s.agent}&network=${s.net}`);
    t.same((listed.body.tasks as any[]).map((x) => x.ip).sort(), [...ips].sort(), 'vnetd records exactly these two');
  });

  await t.test('the bridge m-<net> carries the half\'s gateway', async (t) => {
    const r = await must('ip', ['netns', 'exec', s.host, 'ip', '-j', 'addr', 'show', 'dev', `m-${s.net}`]);
    const addrs = (JSON.parse(r.stdout)[0].addr_info as any[]).filter((a) => a.family === 'inet');
    t.same(addrs.map((a) => `${a.local}/${a.prefixlen}`), [`${s.mesos.gateway}/${s.mesos.cidr.split('/')[1]}`]);
  });

  await t.test('the containers ping each other', async (t) => {
    const a = await inNetns(c1, 'ping', ['-c1', '-W2', ips[1]!]);
    t.equal(a.code, 0, `c1 → ${ips[1]}: ${a.stdout}${a.stderr}`);
    const b = await inNetns(c2, 'ping', ['-c1', '-W2', ips[0]!]);
    t.equal(b.code, 0, `c2 → ${ips[0]}: ${b.stdout}${b.stderr}`);
  });

  await t.test('their containerip names answer from vnetd\'s DNS', async (t) => {
    // DESIGN.md §1: <task>.<framework>.containerip.<zone>; vnetd reports each task's names
    // (src/records/naming.ts) in its task view, and they must be the ones that answer.
    for (const [c, ip, name] of [[c1, ips[0], 'web.marathon.containerip.dcos'], [c2, ips[1], 'db.marathon.containerip.dcos']] as const) {
      const view = await call(s.node.url, 'GET', `/v1/tasks/${encodeURIComponent(`${c}/eth0`)}`);
      t.equal(view.body.dns?.containerip?.replace(/\.$/, ''), name, `${c}'s containerip name`);
      t.same(await dig(s, name), [ip], `${name} answers ${ip}`);
    }
  });

  await t.test('a retried ADD returns the same address', async (t) => {
    // A retry reaches the IPAM plugin with the same container id and interface (the bridge itself
    // would refuse to re-create eth0, so the retry is sent to the IPAM plugin as the bridge sends it).
    const r = await cni({ ...env(s, 'ADD', c1, 'VNETD_TASK_NAME=web;VNETD_FRAMEWORK=marathon'), CNI_PATH: s.cniPath }, s.conf);
    t.equal(r.code, 0, r.stdout);
    t.equal(r.json.ips[0].address.split('/')[0], ips[0]);
  });

  await t.test('ADD on a full half is a CNI error with code >= 100 naming network, agent, capacity, used', async (t) => {
    const usage = await call(s.node.url, 'GET', `/v1/networks/${s.net}/usage`);
    const mesos = usage.body.agents[0].mesos;
    for (let i = 0; i < mesos.free; i++) {
      const fill = await cni(env(s, 'ADD', `fill${i}-${s.sfx}`), s.conf);
      t.equal(fill.code, 0, `filler ${i}: ${fill.stdout}`);
    }
    const c3 = await netns(t, `vnc-c3-${s.sfx}`);
    const r = await bridge(s, 'ADD', c3, 'VNETD_TASK_NAME=late;VNETD_FRAMEWORK=marathon');
    t.not(r.code, 0, 'the bridge plugin fails');
    const err = JSON.parse(r.stdout);
    t.ok(err.code >= 100, `code ${err.code}`);
    for (const word of [s.net, s.agent, `capacity ${mesos.capacity}`, `${mesos.capacity} used`]) t.match(err.msg, word, `the message names ${word}`);
    t.equal((await call(s.node.url, 'GET', `/v1/tasks/${encodeURIComponent(`${c3}/eth0`)}`)).status, 404, 'nothing recorded for the failed container');
  });

  await t.test('DEL releases the addresses, a second DEL succeeds, and the names go away', async (t) => {
    for (const c of [c1, c2]) {
      const r = await bridge(s, 'DEL', c);
      t.equal(r.code, 0, `DEL ${c}: ${r.stdout}${r.stderr}`);
      t.equal((await call(s.node.url, 'GET', `/v1/tasks/${encodeURIComponent(`${c}/eth0`)}`)).status, 404, `${c} released in vnetd`);
      const again = await bridge(s, 'DEL', c);
      t.equal(again.code, 0, `second DEL ${c}: ${again.stdout}${again.stderr}`);
    }
    t.same(await dig(s, 'web.marathon.containerip.dcos'), [], 'no address left for web');
  });
}
