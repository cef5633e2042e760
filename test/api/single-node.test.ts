// The HTTP API of one real `vnetd start` process (DESIGN.md §3): the default network on first
// start, every endpoint's happy path, idempotent allocation, conflicts, exhaustion, schema errors
// that name the field and change nothing, and the applied-index header.

import t from 'tap';
import { call, nodeSpecs, startNode, tempDir, waitReady } from './harness.js';
import type { VnetdNode } from './harness.js';

/** Everything a client can read, for before/after comparisons. */
async function snapshotState(node: VnetdNode): Promise<unknown> {
  const paths = ['/v1/networks', '/v1/agents', '/v1/tasks', '/overlay-master/state'];
  const out: Record<string, unknown> = {};
  for (const p of paths) out[p] = (await call(node.url, 'GET', `${p}${p.includes('?') ? '&' : '?'}consistent=true`)).body;
  return out;
}

t.test('one node', async (t) => {
  const [spec] = await nodeSpecs(1);
  const node = await startNode(t, spec!, tempDir(t));
  await waitReady(node);

  await t.test('first start creates the default network dcos (DESIGN.md §3)', async (t) => {
    const nets = await t.resolves(call(node.url, 'GET', '/v1/networks?consistent=true'));
    void nets;
    const res = await call(node.url, 'GET', '/v1/networks/dcos');
    t.equal(res.status, 200);
    t.same(res.body, { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24, split: 'halves', enabled: true });
    t.match(res.headers.get('x-vnetd-applied-index'), /^\d+$/);
  });

  await t.test('health, ready, cluster', async (t) => {
    t.same((await call(node.url, 'GET', '/v1/health')).body, { status: 'ok', id: 'n1' });
    t.equal((await call(node.url, 'GET', '/v1/ready')).status, 200);
    const c = (await call(node.url, 'GET', '/v1/cluster')).body;
    t.equal(c.id, 'n1');
    t.equal(c.leader, 'n1');
    t.ok(c.term >= 1);
    t.ok(c.commitIndex >= c.appliedIndex - 0 && c.appliedIndex >= 3, 'configure + dcos + leader no-op applied');
    t.same(c.members, [{ id: 'n1', role: 'voter', raft: spec!.raft, http: spec!.http, dns: spec!.dns, matchIndex: c.members[0].matchIndex, lag: 0, reachable: true }]);
  });

  await t.test('networks: create, read, disable, usage, delete', async (t) => {
    const created = await call(node.url, 'POST', '/v1/networks', { name: 'blue', subnet: '10.10.0.0/16', prefix: 24, subnet6: 'fd00:10::/64', prefix6: 80 });
    t.equal(created.status, 201, created.text);
    t.same(created.body, { name: 'blue', subnet: '10.10.0.0/16', prefix: 24, subnet6: 'fd00:10::/64', prefix6: 80, split: 'halves', enabled: true });
    const dup = await call(node.url, 'POST', '/v1/networks', { name: 'blue', subnet: '10.11.0.0/16', prefix: 24 });
    t.equal(dup.status, 409);
    t.equal(dup.body.error, 'conflict');
    const overlap = await call(node.url, 'POST', '/v1/networks', { name: 'green', subnet: '10.10.128.0/17', prefix: 24 });
    t.equal(overlap.status, 409, 'overlapping subnet');
    t.equal(overlap.body.field, '/subnet');
    const patched = await call(node.url, 'PATCH', '/v1/networks/blue', { enabled: false });
    t.equal(patched.status, 200);
    t.equal(patched.body.enabled, false);
    t.equal((await call(node.url, 'PATCH', '/v1/networks/blue', { enabled: true })).body.enabled, true);
    const list = (await call(node.url, 'GET', '/v1/networks')).body.networks.map((n: { name: string }) => n.name);
    t.same(list, ['blue', 'dcos']);
    const usage = await call(node.url, 'GET', '/v1/networks/blue/usage');
    t.equal(usage.status, 200);
    t.same(usage.body, { network: 'blue', capacity: 0, used: 0, free: 0, agents: [] });
    t.equal((await call(node.url, 'GET', '/v1/networks/nosuch')).status, 404);
    const del = await call(node.url, 'DELETE', '/v1/networks/blue');
    t.equal(del.status, 200);
    t.same(del.body, { name: 'blue', releasedTasks: 0 });
    t.equal((await call(node.url, 'DELETE', '/v1/networks/blue')).status, 404);
  });

  await t.test('agents and tasks', async (t) => {
    const reg = await call(node.url, 'PUT', '/v1/agents/agent-1', { ip: '10.0.0.11' });
    t.equal(reg.status, 201);
    t.equal(reg.body.id, 'agent-1');
    t.equal(reg.body.ip, '10.0.0.11');
    // The DC/OS /overlay-agent/overlay shape (REFERENCE.md §1).
    t.match(reg.body.overlays, [{
      info: { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
      subnet: '9.0.0.0/24',
      mesos_bridge: { name: 'm-dcos', ip: '9.0.0.0/25' },
      docker_bridge: { name: 'd-dcos', ip: '9.0.0.128/25' },
      backend: { vxlan: { vni: 1024, vtep_ip: '44.128.0.1/20', vtep_mac: '70:b3:d5:80:00:01', vtep_name: 'vtep1024' } },
      state: { status: 'STATUS_OK' },
    }]);
    const again = await call(node.url, 'PUT', '/v1/agents/agent-1', { ip: '10.0.0.12' });
    t.equal(again.status, 200, 're-registration');
    t.equal(again.body.overlays[0].subnet, '9.0.0.0/24', 'blocks stay');
    t.equal(again.body.ip, '10.0.0.12');

    const body = { name: 'web', framework: 'marathon', agent: 'agent-1', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80 }] };
    const first = await call(node.url, 'PUT', '/v1/tasks/web.1', body);
    t.equal(first.status, 201, first.text);
    t.same(first.body.ips, ['9.0.0.2']);
    t.equal(first.body.agentIp, '10.0.0.12');
    t.equal(first.body.gateway, '9.0.0.1');
    t.equal(first.body.prefixLength, 25);
    t.same(first.body.dns, { agentip: 'web.marathon.agentip.dcos', containerip: 'web.marathon.containerip.dcos', autoip: 'web.marathon.autoip.dcos' });
    const repeat = await call(node.url, 'PUT', '/v1/tasks/web.1', body);
    t.equal(repeat.status, 200, 'same id, same body: the same allocation');
    t.same(repeat.body, first.body);
    const changed = await call(node.url, 'PUT', '/v1/tasks/web.1', { ...body, name: 'other' });
    t.equal(changed.status, 409, 'same id, different body');
    t.equal(changed.body.error, 'conflict');
    const docker = await call(node.url, 'PUT', '/v1/tasks/db.1', { name: 'db', framework: 'marathon', agent: 'agent-1', network: 'dcos', containerizer: 'docker' });
    t.same(docker.body.ips, ['9.0.0.130'], 'docker half');
    const host = await call(node.url, 'PUT', '/v1/tasks/host.1', { name: 'h', framework: 'metronome', agent: 'agent-1' });
    t.equal(host.status, 201);
    t.same(host.body.ips, [], 'host networking: no IP');

    t.equal((await call(node.url, 'GET', '/v1/tasks/web.1')).body.ip, '9.0.0.2');
    t.equal((await call(node.url, 'GET', '/v1/tasks/nosuch')).status, 404);
    const byFramework = (await call(node.url, 'GET', '/v1/tasks?framework=marathon')).body;
    t.same(byFramework.tasks.map((x: { id: string }) => x.id), ['db.1', 'web.1']);
    t.equal(byFramework.truncated, false);
    t.same((await call(node.url, 'GET', '/v1/tasks?agent=agent-1&network=dcos&limit=1')).body.truncated, true);
    const usage = (await call(node.url, 'GET', '/v1/networks/dcos/usage')).body;
    t.same(usage.agents, [{ agent: 'agent-1', mesos: { capacity: 125, used: 1, free: 124 }, docker: { capacity: 125, used: 1, free: 124 } }]);
    const agents = (await call(node.url, 'GET', '/v1/agents')).body.agents;
    t.same(agents.map((a: { id: string }) => a.id), ['agent-1']);
    t.equal((await call(node.url, 'GET', '/v1/agents/agent-1')).body.vtepIp, '44.128.0.1');
    const state = (await call(node.url, 'GET', '/overlay-master/state')).body;
    t.same(state.network, { vtep_subnet: '44.128.0.0/20', vtep_mac_oui: '70:B3:D5:00:00:00', overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }] });
    t.equal(state.agents[0].ip, '10.0.0.12');

    const busy = await call(node.url, 'DELETE', '/v1/agents/agent-1');
    t.equal(busy.status, 409, 'an agent with tasks is not deleted without force');
    t.equal(busy.body.error, 'in_use');
    for (const id of ['web.1', 'db.1', 'host.1']) t.equal((await call(node.url, 'DELETE', `/v1/tasks/${id}`)).status, 204);
    t.equal((await call(node.url, 'DELETE', '/v1/tasks/web.1')).status, 204, 'release is idempotent');
    t.same((await call(node.url, 'DELETE', '/v1/agents/agent-1')).body, { id: 'agent-1', releasedTasks: 0 });
  });

  await t.test('exhaustion answers 409 with the figures (DC/OS limitation: TASK_FAILED only)', async (t) => {
    // /28 blocks split in /29 halves: 8 addresses minus network, gateway and broadcast = 5.
    t.equal((await call(node.url, 'POST', '/v1/networks', { name: 'tiny', subnet: '10.99.0.0/24', prefix: 28 })).status, 201);
    t.equal((await call(node.url, 'PUT', '/v1/agents/small', { ip: '10.0.0.50' })).status, 201);
    const ips = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await call(node.url, 'PUT', `/v1/tasks/tiny-${i}`, { name: `t${i}`, framework: 'f', agent: 'small', network: 'tiny' });
      t.equal(r.status, 201, r.text);
      ips.add(r.body.ip);
    }
    t.equal(ips.size, 5, 'five distinct addresses');
    const full = await call(node.url, 'PUT', '/v1/tasks/tiny-5', { name: 't5', framework: 'f', agent: 'small', network: 'tiny' });
    t.equal(full.status, 409);
    t.match(full.body, { error: 'exhausted', network: 'tiny', agent: 'small', containerizer: 'mesos', capacity: 5, used: 5 });
    t.type(full.body.message, 'string');
    const other = await call(node.url, 'PUT', '/v1/tasks/tiny-d', { name: 'd', framework: 'f', agent: 'small', network: 'tiny', containerizer: 'docker' });
    t.equal(other.status, 201, 'the docker half still has room');
    const metrics = (await call(node.url, 'GET', '/metrics')).text;
    t.match(metrics, /vnetd_ipam_allocation_failures_total\{reason="exhausted"\} 1/);
    t.match(metrics, /vnetd_ipam_network_used\{network="tiny"\} 6/);
    t.match(metrics, /vnetd_ipam_agent_used\{network="tiny",agent="small",pool="mesos"\} 5/);
    const forced = await call(node.url, 'DELETE', '/v1/networks/tiny?force=true');
    t.same(forced.body, { name: 'tiny', releasedTasks: 6 });
  });

  await t.test('bad input: 400 naming the field, nothing changes', async (t) => {
    t.equal((await call(node.url, 'PUT', '/v1/agents/bad-in', { ip: '10.0.0.60' })).status, 201);
    const before = await snapshotState(node);
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/networks', { name: 'x', subnet: '10.50.0.0/16', prefix: 24, colour: 'red' }, '/colour'],
      ['POST', '/v1/networks', { name: 'x', subnet: '10.50.0.1/16', prefix: 24 }, '/subnet'],
      ['POST', '/v1/networks', { name: 'x', subnet: '10.50.0.0/16' }, '/prefix'],
      ['POST', '/v1/networks', { name: 'x', subnet: '10.50.0.0/16', prefix: '24' }, '/prefix'],
      ['POST', '/v1/networks', { name: 'Bad_Name', subnet: '10.50.0.0/16', prefix: 24 }, '/name'],
      ['POST', '/v1/networks', { name: 'host', subnet: '10.50.0.0/16', prefix: 24 }, '/name'],
      ['POST', '/v1/networks', { name: 'x' }, '/subnet'],
      ['POST', '/v1/networks', { name: 'x', subnet: '10.50.0.0/16', prefix: 30 }, '/prefix'],
      ['PATCH', '/v1/networks/dcos', { enabled: 'no' }, '/enabled'],
      ['PUT', '/v1/agents/bad-in', { ip: '10.0.0.999' }, '/ip'],
      ['PUT', '/v1/agents/bad-in', { ip: '10.0.0.1', extra: 1 }, '/extra'],
      ['PUT', '/v1/tasks/t-bad', { name: 'w', framework: 'm', agent: 'bad-in', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 70000 }] }, '/ports/0/hostPort'],
      ['PUT', '/v1/tasks/t-bad', { name: 'w', framework: 'm', agent: 'bad-in', network: 'dcos', ports: [{ protocol: 'sctp', containerPort: 80 }] }, '/ports/0/protocol'],
      ['PUT', '/v1/tasks/t-bad', { name: 'w', framework: 'm', agent: 'bad-in', containerizer: 'rkt' }, '/containerizer'],
      ['PUT', '/v1/tasks/t-bad', { framework: 'm', agent: 'bad-in' }, '/name'],
      ['PUT', '/v1/tasks/t-bad', { name: 'w', framework: 'm', agent: 'bad-in', labels: { a: 1 } }, '/labels/a'],
      ['PUT', '/v1/tasks/t-bad', '{"name": "w",', ''],
      ['PUT', '/v1/tasks/t-bad', [1, 2], ''],
      ['GET', '/v1/tasks?agent=bad-in&colour=red', undefined, '?colour'],
      ['DELETE', '/v1/networks/dcos?force=yes', undefined, '?force'],
      ['GET', '/v1/networks/Not_A_Name', undefined, '{name}'],
      ['POST', '/v1/cluster/members', { id: 'x', raft: 'nohost', http: '127.0.0.1:1', dns: '127.0.0.1:2' }, '/raft'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(node.url, method, path, body);
      t.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)} -> ${r.text}`);
      t.equal(r.body?.error, 'invalid');
      t.equal(r.body?.field, field, `field of ${JSON.stringify(body)}`);
      t.type(r.body?.message, 'string');
    }
    t.same(await snapshotState(node), before, 'state unchanged');
    const unknownTask = await call(node.url, 'PUT', '/v1/tasks/t-x', { name: 'w', framework: 'm', agent: 'nosuch', network: 'dcos' });
    t.equal(unknownTask.status, 404, 'an unknown agent is not_found');
    t.equal(unknownTask.body.kind, 'agent');
    t.equal((await call(node.url, 'GET', '/v1/nothing')).status, 404);
    t.equal((await call(node.url, 'POST', '/v1/tasks/x', {})).status, 405);
    const huge = await call(node.url, 'PUT', '/v1/tasks/big', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
    t.equal(huge.status, 413);
    t.same(await snapshotState(node), before, 'state unchanged after the other refusals');
  });

  await t.test('consistent reads and the applied index header', async (t) => {
    const w = await call(node.url, 'PUT', '/v1/agents/hdr', { ip: '10.0.0.70' });
    const writeIndex = Number(w.headers.get('x-vnetd-applied-index'));
    t.ok(writeIndex > 0);
    const r = await call(node.url, 'GET', '/v1/agents/hdr?consistent=true');
    t.ok(Number(r.headers.get('x-vnetd-applied-index')) >= writeIndex);
  });

  await t.test('an OpenAPI document generated from the enforced schemas', async (t) => {
    const doc = (await call(node.url, 'GET', '/v1/openapi.json')).body;
    t.equal(doc.openapi, '3.1.0');
    for (const p of ['/v1/health', '/v1/ready', '/v1/cluster', '/v1/cluster/members', '/v1/cluster/members/{id}', '/v1/cluster/leadership', '/v1/networks', '/v1/networks/{name}', '/v1/networks/{name}/usage', '/v1/agents', '/v1/agents/{id}', '/v1/tasks', '/v1/tasks/{id}', '/overlay-master/state', '/metrics', '/v1/snapshot']) {
      t.ok(doc.paths[p], p);
    }
    const put = doc.paths['/v1/tasks/{id}'].put;
    t.same(put.requestBody.content['application/json'].schema.required, ['name', 'framework', 'agent']);
    t.equal(put.requestBody.content['application/json'].schema.additionalProperties, false);
    t.same(Object.keys(doc.paths['/v1/networks/{name}']).sort(), ['delete', 'get', 'patch']);
  });

  await t.test('metrics', async (t) => {
    const m = await call(node.url, 'GET', '/metrics');
    t.equal(m.status, 200);
    t.match(m.headers.get('content-type'), /text\/plain/);
    for (const name of ['vnetd_http_requests_total', 'vnetd_http_request_duration_seconds_bucket', 'vnetd_raft_term', 'vnetd_raft_commit_index', 'vnetd_raft_applied_index', 'vnetd_ipam_network_capacity', 'vnetd_ipam_network_used', 'vnetd_raft_proposal_duration_seconds_bucket']) {
      t.match(m.text, new RegExp(`^${name}`, 'm'), name);
    }
    t.match(m.text, /vnetd_http_requests_total\{method="PUT",route="\/v1\/tasks\/\{id\}",status="409"\}/);
    t.match(m.text, /vnetd_ipam_network_capacity\{network="dcos"\} \d+/);
  });
});
