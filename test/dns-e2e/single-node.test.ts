// End to end on one real `vnetd start` process: agents and tasks registered over HTTP, names read
// back over DNS with dig and with dns-packet (they must agree). Every row of DESIGN.md §1's table,
// NODATA vs NXDOMAIN (RFC 8020, RFC 2308 §2), records leaving with DELETE, and the SOA serial
// equal to the applied index (X-Vnetd-Applied-Index) and never decreasing.
import t from 'tap';
import { call, nodeSpecs, startNode, stopNode, tempDir, waitReady, type VnetdNode } from '../api/harness.js';
import { appliedIndex, ask, dnsPort, reverse4, soaSerial } from './helpers.js';

async function put(node: VnetdNode, path: string, body: unknown): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await call(node.url, 'PUT', path, body);
  if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${path}: ${r.status} ${r.text}`);
  return r.body;
}

async function del(node: VnetdNode, path: string): Promise<void> {
  const r = await call(node.url, 'DELETE', path);
  if (r.status !== 204) throw new Error(`DELETE ${path}: ${r.status} ${r.text}`);
}

/** RFC 3596 §2.5: the ip6.arpa name of an IPv6 address, via dig -x's own spelling. */
function reverse6(ip: string): string {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.') + '.ip6.arpa.';
}

t.test('one vnetd process: names appear, answer per DESIGN.md §1, and disappear', async (t) => {
  const [spec] = await nodeSpecs(1);
  const dataDir = tempDir(t);
  let node = await startNode(t, spec!, dataDir);
  await waitReady(node);
  const port = dnsPort(node);
  const serials: number[] = [];

  /** DESIGN.md §1: SOA serial = the applied index the answer reflects; it never decreases. */
  const checkSerial = async (when: string): Promise<void> => {
    const before = await appliedIndex(node);
    const serial = await soaSerial(port);
    const after = await appliedIndex(node);
    t.ok(before <= serial && serial <= after, `${when}: serial ${serial} within applied ${before}..${after}`);
    if (before === after) t.equal(serial, before, `${when}: serial = X-Vnetd-Applied-Index`);
    if (serials.length > 0) t.ok(serial >= serials[serials.length - 1]!, `${when}: serial never decreases`);
    serials.push(serial);
  };
  await checkSerial('at start');

  const net = await call(node.url, 'POST', '/v1/networks', { name: 'dual', subnet: '10.200.0.0/16', prefix: 24, subnet6: 'fd02::/64', prefix6: 80 });
  t.equal(net.status, 201, net.text);
  await put(node, '/v1/agents/a1', { ip: '10.0.0.1', ip6: 'fd00::1' });
  await put(node, '/v1/agents/a2', { ip: '10.0.0.2' });
  const w1 = await put(node, '/v1/tasks/w1', { name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 }] });
  const w2 = await put(node, '/v1/tasks/w2', { name: 'web', framework: 'marathon', agent: 'a2', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31001 }] });
  const c1 = await put(node, '/v1/tasks/c1', { name: 'cache', framework: 'marathon', agent: 'a1', network: 'dual', ports: [{ protocol: 'tcp', containerPort: 6379 }] });
  const h1 = await put(node, '/v1/tasks/h1', { name: 'DNS_Server', framework: 'Kube.System', agent: 'a2', ports: [{ protocol: 'udp', containerPort: 53 }] });
  await checkSerial('after allocations');

  await t.test('the task bodies name the DNS names that answer', async (t) => {
    t.same(w1.dns, { agentip: 'web.marathon.agentip.dcos', containerip: 'web.marathon.containerip.dcos', autoip: 'web.marathon.autoip.dcos' });
    t.same(h1.dns, { agentip: 'dns-server.kube.system.agentip.dcos', containerip: 'dns-server.kube.system.containerip.dcos', autoip: 'dns-server.kube.system.autoip.dcos' }, 'Mesos-DNS mangling');
  });

  await t.test('agentip, containerip, autoip: shared names form one RRset', async (t) => {
    t.same((await ask(port, 'web.marathon.containerip.dcos.', 'A')).data, [w1.ip, w2.ip].sort());
    t.same((await ask(port, 'web.marathon.agentip.dcos.', 'A')).data, ['10.0.0.1', '10.0.0.2']);
    t.same((await ask(port, 'web.marathon.agentip.dcos.', 'AAAA')).data, ['fd00::1'], 'agent IPv6');
    t.same((await ask(port, 'web.marathon.autoip.dcos.', 'A')).data, ['10.0.0.1', '10.0.0.2'], 'host ports: autoip = agent IP');
    t.same((await ask(port, 'cache.marathon.containerip.dcos.', 'A')).data, [c1.ip]);
    t.same((await ask(port, 'cache.marathon.containerip.dcos.', 'AAAA')).data, [c1.ip6]);
    t.same((await ask(port, 'cache.marathon.autoip.dcos.', 'AAAA')).data, [c1.ip6], 'no host ports: autoip = container IP');
    t.same((await ask(port, 'dns-server.kube.system.agentip.dcos.', 'A')).data, ['10.0.0.2']);
    t.same((await ask(port, 'dns-server.kube.system.autoip.dcos.', 'A')).data, ['10.0.0.2'], 'no container IP: autoip = agent IP');
    t.same((await ask(port, 'web.marathon.containerip.dcos.thisdcos.directory.', 'A')).data, [w1.ip, w2.ip].sort(), 'alias zone');
  });

  await t.test('SRV: one per task port, target the A name, addresses in the additional section', async (t) => {
    const agentSrv = await ask(port, '_web._tcp.marathon.agentip.dcos.', 'SRV');
    t.same(agentSrv.data, ['0 0 31000 web.marathon.agentip.dcos.', '0 0 31001 web.marathon.agentip.dcos.']);
    t.same(agentSrv.reply.additionals.filter((a) => a.type === 'A').map((a) => a.data).sort(), ['10.0.0.1', '10.0.0.2']);
    t.same((await ask(port, '_web._tcp.marathon.containerip.dcos.', 'SRV')).data, ['0 0 80 web.marathon.containerip.dcos.']);
    t.same((await ask(port, '_cache._tcp.marathon.autoip.dcos.', 'SRV')).data, ['0 0 6379 cache.marathon.autoip.dcos.']);
    t.same((await ask(port, '_dns-server._udp.kube.system.agentip.dcos.', 'SRV')).data, ['0 0 53 dns-server.kube.system.agentip.dcos.']);
    t.same((await ask(port, '_web._tcp.marathon.agentip.dcos.thisdcos.directory.', 'SRV')).data, ['0 0 31000 web.marathon.agentip.dcos.thisdcos.directory.', '0 0 31001 web.marathon.agentip.dcos.thisdcos.directory.'], 'alias rewrites SRV targets');
  });

  await t.test('NODATA vs NXDOMAIN, both with the SOA (RFC 2308 §2, RFC 8020)', async (t) => {
    const hostContainer = await ask(port, 'dns-server.kube.system.containerip.dcos.', 'A');
    t.equal(hostContainer.rcode, 'NOERROR', 'a host-network task\'s containerip name: NODATA');
    t.same(hostContainer.data, []);
    t.same(hostContainer.reply.authorities.map((a) => a.type), ['SOA']);
    const ent = await ask(port, 'kube.system.agentip.dcos.', 'A');
    t.equal(ent.rcode, 'NOERROR', 'empty non-terminal: NODATA');
    const aaaa = await ask(port, 'web.marathon.containerip.dcos.', 'AAAA');
    t.equal(aaaa.rcode, 'NOERROR', 'existing name without AAAA: NODATA');
    const nx = await ask(port, 'nope.marathon.agentip.dcos.', 'A');
    t.equal(nx.rcode, 'NXDOMAIN');
    t.same(nx.reply.authorities.map((a) => a.type), ['SOA']);
  });

  await t.test('PTR for container IPs (in-addr.arpa and ip6.arpa)', async (t) => {
    t.same((await ask(port, reverse4(w1.ip), 'PTR')).data, ['web.marathon.containerip.dcos.']);
    t.same((await ask(port, reverse6(c1.ip6), 'PTR')).data, ['cache.marathon.containerip.dcos.']);
  });

  await t.test('leader.dcos and master.dcos answer the node\'s HTTP host', async (t) => {
    t.same((await ask(port, 'leader.dcos.', 'A')).data, ['127.0.0.1']);
    t.same((await ask(port, 'master.dcos.', 'A')).data, ['127.0.0.1']);
  });

  await t.test('an agent address change moves agentip and host-mapped autoip', async (t) => {
    await put(node, '/v1/agents/a2', { ip: '10.0.0.22' });
    t.same((await ask(port, 'web.marathon.agentip.dcos.', 'A')).data, ['10.0.0.1', '10.0.0.22']);
    t.same((await ask(port, 'dns-server.kube.system.autoip.dcos.', 'A')).data, ['10.0.0.22']);
    t.same((await ask(port, 'web.marathon.containerip.dcos.', 'A')).data, [w1.ip, w2.ip].sort(), 'containerip unchanged');
    await checkSerial('after the agent change');
  });

  await t.test('DELETE removes a task\'s share, then the names', async (t) => {
    await del(node, '/v1/tasks/w2');
    t.same((await ask(port, 'web.marathon.containerip.dcos.', 'A')).data, [w1.ip]);
    t.same((await ask(port, 'web.marathon.agentip.dcos.', 'A')).data, ['10.0.0.1']);
    t.same((await ask(port, '_web._tcp.marathon.agentip.dcos.', 'SRV')).data, ['0 0 31000 web.marathon.agentip.dcos.']);
    t.equal((await ask(port, reverse4(w2.ip), 'PTR')).rcode, 'NXDOMAIN');
    await checkSerial('after one release');
    for (const id of ['w1', 'c1', 'h1']) await del(node, `/v1/tasks/${id}`);
    for (const name of [
      'web.marathon.containerip.dcos.',
      'web.marathon.agentip.dcos.',
      '_web._tcp.marathon.agentip.dcos.',
      'dns-server.kube.system.containerip.dcos.',
      'marathon.agentip.dcos.',
      'containerip.dcos.',
    ]) {
      t.equal((await ask(port, name, 'A')).rcode, 'NXDOMAIN', `${name} gone`);
    }
    t.equal((await ask(port, reverse6(c1.ip6), 'PTR')).rcode, 'NXDOMAIN');
    await checkSerial('after all releases');
  });

  await t.test('after a restart from the data directory: the same records, serial = applied index', async (t) => {
    const keep = await put(node, '/v1/tasks/keep', { name: 'keep', framework: 'marathon', agent: 'a1', network: 'dual' });
    await checkSerial('before the restart');
    t.equal(await stopNode(node), 0, 'clean stop');
    node = await startNode(t, spec!, dataDir);
    await waitReady(node);
    t.same((await ask(port, 'keep.marathon.containerip.dcos.', 'A')).data, [keep.ip], 'rebuilt from the log/snapshot');
    t.same((await ask(port, 'keep.marathon.containerip.dcos.', 'AAAA')).data, [keep.ip6]);
    t.equal((await ask(port, 'web.marathon.containerip.dcos.', 'A')).rcode, 'NXDOMAIN', 'released names stay gone');
    await checkSerial('after the restart');
  });
});
