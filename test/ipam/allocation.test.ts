// Behaviour of networks, agents and tasks (issue 4 "The state machine", DESIGN.md §1), and the
// DC/OS shapes (REFERENCE.md §1).
import t from 'tap';
import { Harness, agent, dcos, dcos6, task } from './harness.js';
import type { IpamListener, TaskView, AgentView } from '../../src/ipam/index.js';

// REFERENCE.md §1: DC/OS `GET /overlay-master/state` (one agent, one network).
const dcosExample = {
  network: {
    vtep_subnet: '44.128.0.0/20',
    vtep_mac_oui: '70:B3:D5:00:00:00',
    overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }],
  },
  agents: [
    {
      ip: '172.17.0.4',
      overlays: [
        {
          info: { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
          subnet: '9.0.1.0/24',
          mesos_bridge: { name: 'm-dcos', ip: '9.0.1.0/25' },
          docker_bridge: { name: 'd-dcos', ip: '9.0.1.128/25' },
          backend: { vxlan: { vni: 1024, vtep_ip: '44.128.0.2/20', vtep_mac: '70:b3:d5:80:00:02', vtep_name: 'vtep1024' } },
          state: { status: 'STATUS_OK' },
        },
      ],
    },
  ],
};

t.test('DC/OS overlay master state and agent overlay shapes (REFERENCE.md §1)', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  // The example's agent holds the second block and VTEP address: another agent registered first.
  h.ok(agent('agent-0', '172.17.0.2'));
  const reg = h.ok(agent('agent-1', '172.17.0.4'));
  const state = h.sm.overlayMasterState();
  t.same(state.network, dcosExample.network, 'network section');
  t.equal(state.agents.length, 2);
  const second = state.agents[1];
  t.strictSame(second && { ...second, id: undefined }, { ...dcosExample.agents[0], id: undefined }, 'agent entry (plus id)');
  t.equal(second?.id, 'agent-1');
  t.strictSame(reg.overlay, second, 'PUT /v1/agents answer equals the master state entry');
  t.strictSame(h.sm.agentOverlay('agent-1'), second);
  t.equal(JSON.stringify(state), JSON.stringify(JSON.parse(JSON.stringify(state))), 'JSON-serialisable as is');
});

t.test('agents get the lowest free block; deleting frees blocks and the VTEP address', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  h.ok(agent('a', '10.0.0.1'));
  h.ok(agent('b', '10.0.0.2'));
  h.ok(agent('c', '10.0.0.3'));
  const subnetOf = (id: string) => h.sm.getAgent(id)?.blocks[0]?.subnet;
  t.same(['a', 'b', 'c'].map(subnetOf), ['9.0.0.0/24', '9.0.1.0/24', '9.0.2.0/24']);
  t.same(h.ok({ type: 'deleteAgent', id: 'b', force: false }), { id: 'b', releasedTasks: 0 });
  t.equal(h.sm.getAgent('b'), undefined);
  const d = h.ok(agent('d', '10.0.0.4'));
  t.equal(d.agent.blocks[0]?.subnet, '9.0.1.0/24', 'the freed block is the lowest free');
  t.equal(d.agent.vtepIp, '44.128.0.2', 'the freed VTEP address is reused');
  t.equal(d.agent.vtepMac, '70:b3:d5:80:00:02', 'VTEP MAC = OUI + low 24 bits of the VTEP IP');
  t.same(h.ok(agent('e', '10.0.0.5')).agent.blocks[0]?.pools.map((p) => [p.kind, p.bridge, p.cidr, p.gateway]), [
    ['mesos', 'm-dcos', '9.0.3.0/25', '9.0.3.1'],
    ['docker', 'd-dcos', '9.0.3.128/25', '9.0.3.129'],
  ]);
});

t.test('re-registering keeps the blocks and updates the ip', async (t) => {
  const h = new Harness();
  const events: string[] = [];
  h.sm.addListener(recorder(events));
  h.ok(dcos);
  const first = h.ok(agent('a', '10.0.0.1'));
  t.equal(first.created, true);
  h.ok(task('t1', 'a', 'dcos'));
  const again = h.ok({ type: 'registerAgent', id: 'a', ip: '10.0.0.9', ip6: 'fd00::9' });
  t.equal(again.created, false);
  t.same(again.agent.blocks, first.agent.blocks, 'same blocks');
  t.equal(again.agent.vtepIp, first.agent.vtepIp, 'same VTEP address');
  t.equal(again.agent.ip, '10.0.0.9');
  t.equal(again.agent.ip6, 'fd00::9');
  t.equal(h.sm.getTask('t1')?.agentIp, '10.0.0.9', 'tasks follow the agent ip');
  h.ok({ type: 'registerAgent', id: 'a', ip: '10.0.0.9', ip6: 'fd00::9' });
  t.same(events, ['agentChanged a 10.0.0.1', 'taskUpserted t1 9.0.0.2', 'agentChanged a 10.0.0.9'], 'no event for an unchanged re-registration');
});

t.test('a network created (or enabled) later gives every agent a block', async (t) => {
  const h = new Harness();
  h.ok(agent('b', '10.0.0.2'));
  h.ok(agent('a', '10.0.0.1'));
  h.ok(dcos);
  t.equal(h.sm.getAgent('a')?.blocks[0]?.subnet, '9.0.0.0/24', 'in agent id order');
  t.equal(h.sm.getAgent('b')?.blocks[0]?.subnet, '9.0.1.0/24');
  h.ok({ type: 'createNetwork', name: 'off', subnet: '10.1.0.0/16', prefix: 24, enabled: false });
  t.same(h.sm.getAgent('a')?.blocks.map((b) => b.network), ['dcos'], 'a disabled network gives no block');
  t.same(h.sm.getAgent('a')?.unallocated, [], 'and is not reported as unallocated');
  h.ok({ type: 'patchNetwork', name: 'off', enabled: true });
  t.same(h.sm.getAgent('b')?.blocks.map((b) => [b.network, b.subnet]), [['dcos', '9.0.1.0/24'], ['off', '10.1.1.0/24']]);
});

t.test('registration succeeds when a network has no free block, and says which', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  // A /27 with /28 blocks has two blocks.
  h.ok({ type: 'createNetwork', name: 'tiny', subnet: '10.2.0.0/27', prefix: 28 });
  h.ok(agent('a', '10.0.0.1'));
  h.ok(agent('b', '10.0.0.2'));
  const c = h.ok(agent('c', '10.0.0.3'));
  t.same(c.agent.unallocated, ['tiny']);
  t.same(c.agent.blocks.map((b) => b.network), ['dcos'], 'other networks still give a block');
  const failed = c.overlay.overlays.find((o) => o.info.name === 'tiny');
  t.equal(failed?.state.status, 'STATUS_FAILED');
  t.match(failed?.state.error, /no free block/);
  t.equal(failed?.subnet, undefined);
  const e = h.err(task('t1', 'c', 'tiny'));
  t.same(e.code === 'no_block' && [e.network, e.agent], ['tiny', 'c']);
  // Deleting an agent hands its block to the waiting agent.
  h.ok({ type: 'deleteAgent', id: 'a', force: false });
  t.same(h.sm.getAgent('c')?.blocks.map((b) => [b.network, b.subnet]), [['dcos', '9.0.2.0/24'], ['tiny', '10.2.0.0/28']]);
  t.same(h.sm.getAgent('c')?.unallocated, []);
});

t.test('round-robin: never network, gateway or broadcast; freed addresses reused last', async (t) => {
  const h = new Harness();
  // /28 blocks: halves are /29 = 8 addresses, offsets 2..6 usable (0 network, 1 gateway, 7 broadcast).
  h.ok({ type: 'createNetwork', name: 'n', subnet: '10.3.0.0/24', prefix: 28 });
  h.ok(agent('a', '10.0.0.1'));
  const ip = (id: string, containerizer: 'mesos' | 'docker' = 'mesos') => h.ok(task(id, 'a', 'n', containerizer)).task.ip;
  t.same([ip('t1'), ip('t2'), ip('t3')], ['10.3.0.2', '10.3.0.3', '10.3.0.4']);
  const view = h.sm.getTask('t1');
  t.same([view?.gateway, view?.prefixLength, view?.ips], ['10.3.0.1', 29, ['10.3.0.2']]);
  h.ok({ type: 'releaseTask', id: 't1' });
  t.equal(ip('t4'), '10.3.0.5', 'not the just-released .2');
  t.equal(ip('t5'), '10.3.0.6');
  t.equal(ip('t6'), '10.3.0.2', 'wraps to the lowest usable, skipping network and gateway');
  const e = h.err(task('t7', 'a', 'n'));
  t.same(e, {
    code: 'exhausted',
    network: 'n',
    agent: 'a',
    containerizer: 'mesos',
    capacity: 5,
    used: 5,
    message: 'the mesos pool of agent a in network n is full (5 of 5 addresses used)',
  }, 'exhaustion figures');
  t.equal(ip('d1', 'docker'), '10.3.0.10', 'the docker half is the upper /29');
  h.ok({ type: 'releaseTask', id: 't3' }); // .4
  h.ok({ type: 'releaseTask', id: 't2' }); // .3
  t.equal(ip('t8'), '10.3.0.3', 'cursor at .2: the next free after it is .3');
  t.equal(ip('t9'), '10.3.0.4');
  t.same(h.ok({ type: 'releaseTask', id: 't9' }), { id: 't9', released: true });
  t.same(h.ok({ type: 'releaseTask', id: 't9' }), { id: 't9', released: false }, 'release is idempotent');
  const usage = h.sm.networkUsage('n');
  t.same(usage, {
    network: 'n',
    capacity: 10,
    used: 5,
    free: 5,
    agents: [{ agent: 'a', mesos: { capacity: 5, used: 4, free: 1 }, docker: { capacity: 5, used: 1, free: 4 } }],
  });
});

t.test('split "shared": both containerizers draw from the whole block', async (t) => {
  const h = new Harness();
  h.ok({ type: 'createNetwork', name: 's', subnet: '10.4.0.0/24', prefix: 29, split: 'shared' });
  h.ok(agent('a', '10.0.0.1'));
  const ips = ['mesos', 'docker', 'mesos', 'docker', 'docker'].map((c, i) => h.ok(task(`t${i}`, 'a', 's', c as 'mesos' | 'docker')).task.ip);
  t.same(ips, ['10.4.0.2', '10.4.0.3', '10.4.0.4', '10.4.0.5', '10.4.0.6']);
  const e = h.err(task('t9', 'a', 's', 'docker'));
  t.same(e.code === 'exhausted' && [e.containerizer, e.capacity, e.used], ['shared', 5, 5]);
  t.same(h.sm.networkUsage('s')?.agents, [{ agent: 'a', shared: { capacity: 5, used: 5, free: 0 } }]);
  const overlay = h.sm.agentOverlay('a')?.overlays[0];
  t.same([overlay?.mesos_bridge, overlay?.docker_bridge], [{ name: 'm-s', ip: '10.4.0.0/29' }, { name: 'd-s', ip: '10.4.0.0/29' }]);
});

t.test('IPv6: /64 network with /80 per agent, and dual stack', async (t) => {
  const h = new Harness();
  h.ok(dcos6);
  h.ok({ type: 'createNetwork', name: 'dual', subnet: '10.5.0.0/16', prefix: 24, subnet6: 'fd02::/64', prefix6: 80 });
  h.ok(agent('a', '10.0.0.1'));
  h.ok(agent('b', '10.0.0.2'));
  const blocks = h.sm.getAgent('b')?.blocks.find((x) => x.network === 'dcos6');
  t.same(blocks?.subnet6, 'fd01:b:0:0:1::/80');
  t.same(blocks?.pools.map((p) => [p.cidr6, p.gateway6]), [
    ['fd01:b:0:0:1::/81', 'fd01:b::1:0:0:1'],
    ['fd01:b::1:8000:0:0/81', 'fd01:b::1:8000:0:1'],
  ]);
  const m = h.ok(task('m', 'a', 'dcos6')).task;
  t.same([m.ips, m.gateway6, m.prefixLength6, m.ip], [['fd01:b::2'], 'fd01:b::1', 81, undefined]);
  const d = h.ok(task('d', 'b', 'dcos6', 'docker')).task;
  t.same(d.ips, ['fd01:b::1:8000:0:2']);
  const dual = h.ok(task('x', 'a', 'dual')).task;
  t.same(dual.ips, ['10.5.0.2', 'fd02::2'], 'IPv4 first, then IPv6');
  t.same([dual.gateway, dual.prefixLength, dual.gateway6, dual.prefixLength6], ['10.5.0.1', 25, 'fd02::1', 81]);
  const usage = h.sm.networkUsage('dcos6');
  t.equal(usage?.agents.length, 2);
  t.equal(usage?.capacity, 4 * (2 ** 47 - 2), 'IPv6 figures when there is no IPv4 subnet');
  t.equal(h.sm.networkUsage('dual')?.capacity, 4 * 125, 'IPv4 figures for dual stack');
});

t.test('idempotent allocation; host-network tasks; forced deletes; listTasks filters', async (t) => {
  const h = new Harness();
  const events: string[] = [];
  h.sm.addListener(recorder(events));
  h.ok(dcos);
  h.ok(agent('a', '10.0.0.1'));
  h.ok(agent('b', '10.0.0.2'));
  const body = { type: 'allocateTask', id: 't1', name: 'web', framework: 'marathon', agent: 'a', network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 }], labels: { z: '1', a: '2' } } as const;
  const first = h.ok(body);
  const second = h.ok({ ...body, labels: { a: '2', z: '1' } });
  t.equal(first.created, true);
  t.equal(second.created, false, 'label order does not matter');
  t.same(second.task, first.task, 'the same allocation');
  const host = h.ok({ type: 'allocateTask', id: 'h1', name: 'db', framework: 'other', agent: 'a' }).task;
  t.same([host.ips, host.network, host.agentIp], [[], undefined, '10.0.0.1'], 'host networking: no IP');
  h.ok(task('t2', 'b', 'dcos'));
  h.ok(task('t3', 'b', 'dcos', 'docker'));
  t.same(h.sm.listTasks({ agent: 'a' }).map((x) => x.id), ['h1', 't1']);
  t.same(h.sm.listTasks({ network: 'dcos' }).map((x) => x.id), ['t1', 't2', 't3']);
  t.same(h.sm.listTasks({ framework: 'other' }).map((x) => x.id), ['h1']);
  t.same(h.sm.listTasks({ agent: 'b', framework: 'marathon' }).map((x) => x.id), ['t2', 't3']);
  t.same(h.sm.listTasks({ agent: 'nobody' }), []);
  t.equal(h.sm.taskCount(), 4);
  events.length = 0;
  t.same(h.ok({ type: 'deleteAgent', id: 'a', force: true }), { id: 'a', releasedTasks: 2 });
  t.same(events, ['taskRemoved h1 -', 'taskRemoved t1 9.0.0.2', 'agentRemoved a'], 'tasks removed first, in id order, then the agent');
  t.same(h.ok({ type: 'deleteNetwork', name: 'dcos', force: true }), { name: 'dcos', releasedTasks: 2 });
  t.same(h.sm.listTasks(), []);
  t.same(h.sm.getAgent('b')?.blocks, []);
});

t.test('listeners get reset() after restore', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  h.ok(agent('a', '10.0.0.1'));
  h.ok(task('t1', 'a', 'dcos'));
  const snap = h.sm.snapshot();
  const other = new Harness();
  const events: string[] = [];
  other.sm.addListener(recorder(events));
  other.sm.restore(snap, h.index as never);
  t.same(events, ['reset']);
  t.equal(other.sm.appliedIndex, h.index);
  t.same(other.sm.getTask('t1'), h.sm.getTask('t1'));
});

function recorder(out: string[]): IpamListener {
  const ipOf = (v: TaskView) => v.ips[0] ?? '-';
  return {
    taskUpserted: (v: TaskView) => out.push(`taskUpserted ${v.id} ${ipOf(v)}`),
    taskRemoved: (v: TaskView) => out.push(`taskRemoved ${v.id} ${ipOf(v)}`),
    agentChanged: (v: AgentView) => out.push(`agentChanged ${v.id} ${v.ip}`),
    agentRemoved: (v: AgentView) => out.push(`agentRemoved ${v.id}`),
    reset: () => out.push('reset'),
  };
}
