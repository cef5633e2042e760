// Invariant checkers over the public queries of the IPAM state machine (DESIGN.md §4). They
// recount everything from the task list and the agents' blocks, independently of the internal
// pools, and return a list of violations (empty when all hold).
import type { IpamStateMachine } from '../../src/ipam/index.js';
import { parseCidr4, parseCidr6, parseIpv4, parseIpv6 } from '../../src/ipam/index.js';
import type { AgentView, NetworkView, PoolView, TaskView } from '../../src/ipam/index.js';

interface Range {
  readonly first: bigint;
  readonly last: bigint;
}

function range4(cidr: string): Range {
  const c = parseCidr4(cidr);
  if (!c.ok) throw new Error(`bad cidr ${cidr}`);
  const first = BigInt(c.value.addr);
  return { first, last: first + (1n << BigInt(32 - c.value.len)) - 1n };
}

function range6(cidr: string): Range {
  const c = parseCidr6(cidr);
  if (!c.ok) throw new Error(`bad cidr6 ${cidr}`);
  const first = c.value.addr as bigint;
  return { first, last: first + (1n << BigInt(128 - c.value.len)) - 1n };
}

const inside = (inner: Range, outer: Range) => inner.first >= outer.first && inner.last <= outer.last;

/** Sorted ranges must not overlap. */
function disjoint(ranges: Range[]): boolean {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) if ((sorted[i]?.first ?? 0n) <= (sorted[i - 1]?.last ?? -1n)) return false;
  return true;
}

function poolOf(agent: AgentView | undefined, task: TaskView): PoolView | undefined {
  const block = agent?.blocks.find((b) => b.network === task.network);
  return block?.pools.find((p) => p.kind === 'shared' || p.kind === task.containerizer);
}

/** Every address a task holds is unique and inside its pool, and is not network/gateway/broadcast. */
export function checkTaskAddresses(sm: IpamStateMachine, out: string[]): void {
  const holders = new Map<string, string>();
  const agents = new Map(sm.listAgents().map((a) => [a.id, a] as const));
  for (const task of sm.listTasks()) {
    const agent = agents.get(task.agent);
    if (agent === undefined) out.push(`task ${task.id} on unknown agent ${task.agent}`);
    else if (agent.ip !== task.agentIp) out.push(`task ${task.id} agentIp ${task.agentIp} != ${agent.ip}`);
    for (const ip of task.ips) {
      const other = holders.get(ip);
      if (other !== undefined) out.push(`IP ${ip} held by ${other} and ${task.id}`);
      holders.set(ip, task.id);
    }
    if (task.network === undefined) {
      if (task.ips.length !== 0) out.push(`host task ${task.id} has IPs`);
      continue;
    }
    const pool = poolOf(agent, task);
    if (pool === undefined) {
      out.push(`task ${task.id} has no pool on ${task.agent} in ${task.network}`);
      continue;
    }
    if ((pool.cidr !== undefined) !== (task.ip !== undefined)) out.push(`task ${task.id} IPv4 presence differs from its pool`);
    if ((pool.cidr6 !== undefined) !== (task.ip6 !== undefined)) out.push(`task ${task.id} IPv6 presence differs from its pool`);
    if (pool.cidr !== undefined && task.ip !== undefined) {
      const r = range4(pool.cidr);
      const v = BigInt(parseIpv4(task.ip) ?? -1);
      if (v < r.first + 2n || v > r.last - 1n) out.push(`task ${task.id} IP ${task.ip} outside usable ${pool.cidr}`);
      if (task.gateway !== pool.gateway) out.push(`task ${task.id} gateway ${task.gateway} != ${pool.gateway}`);
    }
    if (pool.cidr6 !== undefined && task.ip6 !== undefined) {
      const r = range6(pool.cidr6);
      const v = (parseIpv6(task.ip6) as bigint | undefined) ?? -1n;
      if (v < r.first + 2n || v > r.last) out.push(`task ${task.id} IP ${task.ip6} outside usable ${pool.cidr6}`);
    }
    if (task.ips[0] !== (task.ip ?? task.ip6)) out.push(`task ${task.id} ips not IPv4 first`);
  }
}

/** Blocks inside their subnet, disjoint across agents; pools inside their block, disjoint. */
export function checkBlocks(sm: IpamStateMachine, out: string[]): void {
  const networks = new Map(sm.listNetworks().map((n) => [n.name, n] as const));
  const perNetwork4 = new Map<string, Range[]>();
  const perNetwork6 = new Map<string, Range[]>();
  const vteps = new Set<string>();
  for (const agent of sm.listAgents()) {
    if (vteps.has(agent.vtepIp)) out.push(`VTEP ${agent.vtepIp} given twice`);
    vteps.add(agent.vtepIp);
    for (const block of agent.blocks) checkBlock(networks.get(block.network), agent, block, perNetwork4, perNetwork6, out);
  }
  for (const [name, ranges] of [...perNetwork4, ...perNetwork6]) {
    if (!disjoint(ranges)) out.push(`blocks of network ${name} overlap`);
  }
}

function checkBlock(
  net: NetworkView | undefined,
  agent: AgentView,
  block: AgentView['blocks'][number],
  perNetwork4: Map<string, Range[]>,
  perNetwork6: Map<string, Range[]>,
  out: string[],
): void {
  if (net === undefined) {
    out.push(`agent ${agent.id} has a block in unknown network ${block.network}`);
    return;
  }
  const expectedPools = net.split === 'shared' ? ['shared'] : ['mesos', 'docker'];
  if (block.pools.map((p) => p.kind).join() !== expectedPools.join()) out.push(`agent ${agent.id} ${net.name}: pools ${block.pools.map((p) => p.kind)}`);
  if (net.subnet !== undefined) {
    if (block.subnet === undefined) return void out.push(`agent ${agent.id} ${net.name}: no IPv4 block`);
    const r = range4(block.subnet);
    if (!inside(r, range4(net.subnet))) out.push(`block ${block.subnet} outside ${net.subnet}`);
    if (Number(block.subnet.split('/')[1]) !== net.prefix) out.push(`block ${block.subnet} is not a /${net.prefix}`);
    perNetwork4.set(net.name, [...(perNetwork4.get(net.name) ?? []), r]);
    const pools = block.pools.map((p) => range4(p.cidr ?? '0.0.0.0/32'));
    if (!pools.every((p) => inside(p, r)) || !disjoint(pools)) out.push(`pools of ${block.subnet} wrong`);
    if (net.split === 'halves' && pools[0]?.first !== r.first) out.push(`mesos half of ${block.subnet} is not the lower half`);
  }
  if (net.subnet6 !== undefined) {
    if (block.subnet6 === undefined) return void out.push(`agent ${agent.id} ${net.name}: no IPv6 block`);
    const r = range6(block.subnet6);
    if (!inside(r, range6(net.subnet6))) out.push(`block ${block.subnet6} outside ${net.subnet6}`);
    perNetwork6.set(`${net.name}/6`, [...(perNetwork6.get(`${net.name}/6`) ?? []), r]);
    const pools = block.pools.map((p) => range6(p.cidr6 ?? '::/128'));
    if (!pools.every((p) => inside(p, r)) || !disjoint(pools)) out.push(`pools of ${block.subnet6} wrong`);
  }
}

/** Usage figures equal a recount from the task list and the pool sizes. */
export function checkUsage(sm: IpamStateMachine, out: string[]): void {
  for (const net of sm.listNetworks()) {
    const usage = sm.networkUsage(net.name);
    if (usage === undefined) return void out.push(`no usage for ${net.name}`);
    const tasks = sm.listTasks({ network: net.name });
    let capacity = 0;
    let used = 0;
    for (const entry of usage.agents) {
      const agent = sm.getAgent(entry.agent);
      const block = agent?.blocks.find((b) => b.network === net.name);
      for (const pool of block?.pools ?? []) {
        const figures = 'shared' in entry ? entry.shared : pool.kind === 'mesos' ? entry.mesos : entry.docker;
        const count = tasks.filter((t) => t.agent === entry.agent && (pool.kind === 'shared' || t.containerizer === pool.kind)).length;
        const size = pool.cidr !== undefined ? 2 ** (32 - Number(pool.cidr.split('/')[1])) - 3 : Number(2n ** BigInt(128 - Number(pool.cidr6?.split('/')[1])) - 2n);
        if (figures.used !== count) out.push(`usage ${net.name}/${entry.agent}/${pool.kind}: used ${figures.used}, recount ${count}`);
        if (figures.capacity !== size) out.push(`usage ${net.name}/${entry.agent}/${pool.kind}: capacity ${figures.capacity}, expected ${size}`);
        if (figures.free !== figures.capacity - figures.used) out.push(`usage ${net.name}: free wrong`);
        capacity += size;
        used += count;
      }
    }
    const withBlock = sm.listAgents().filter((a) => a.blocks.some((b) => b.network === net.name)).length;
    if (usage.agents.length !== withBlock) out.push(`usage ${net.name}: ${usage.agents.length} agents, ${withBlock} have a block`);
    if (usage.used !== used || usage.used !== tasks.length) out.push(`usage ${net.name}: used ${usage.used}, recount ${used}, tasks ${tasks.length}`);
    if (usage.capacity !== capacity) out.push(`usage ${net.name}: capacity ${usage.capacity}, recount ${capacity}`);
  }
}

/** An agent's block never changes while the agent and the network exist. */
export class BlockStability {
  private readonly seen = new Map<string, string>();

  check(sm: IpamStateMachine, out: string[]): void {
    const live = new Set<string>();
    for (const agent of sm.listAgents()) {
      for (const block of agent.blocks) {
        const key = `${agent.id}\u0000${block.network}`;
        const value = `${block.subnet ?? ''} ${block.subnet6 ?? ''}`;
        const before = this.seen.get(key);
        if (before !== undefined && before !== value) out.push(`agent ${agent.id} block in ${block.network} changed ${before} -> ${value}`);
        this.seen.set(key, value);
        live.add(key);
      }
    }
    // A block may go only with its agent or its network.
    for (const key of [...this.seen.keys()]) {
      if (live.has(key)) continue;
      const [agentId, network] = key.split('\u0000');
      if (sm.getAgent(agentId ?? '') !== undefined && sm.getNetwork(network ?? '') !== undefined) {
        out.push(`agent ${agentId} lost its block in ${network}`);
      }
      this.seen.delete(key);
    }
  }
}

/**
 * Listing by agent and by framework (the state machine's per-agent and per-framework task lists)
 * gives exactly the tasks the full list says are on that agent / of that framework, sorted by id.
 */
export function checkTaskIndexes(sm: IpamStateMachine, out: string[]): void {
  const all = sm.listTasks();
  const ids = (tasks: readonly TaskView[]) => tasks.map((t) => t.id).join(',');
  const agents = new Set([...sm.listAgents().map((a) => a.id), ...all.map((t) => t.agent)]);
  for (const agent of agents) {
    const want = ids(all.filter((t) => t.agent === agent));
    const got = ids(sm.listTasks({ agent }));
    if (got !== want) out.push(`listTasks({agent: ${agent}}) = [${got}], recount [${want}]`);
  }
  for (const framework of new Set(all.map((t) => t.framework))) {
    const want = ids(all.filter((t) => t.framework === framework));
    const got = ids(sm.listTasks({ framework }));
    if (got !== want) out.push(`listTasks({framework: ${framework}}) = [${got}], recount [${want}]`);
  }
  if (sm.taskCount() !== all.length) out.push(`taskCount ${sm.taskCount()} != ${all.length} listed`);
}

export function checkAll(sm: IpamStateMachine, stability: BlockStability): string[] {
  const out: string[] = [];
  checkTaskAddresses(sm, out);
  checkTaskIndexes(sm, out);
  checkBlocks(sm, out);
  checkUsage(sm, out);
  stability.check(sm, out);
  return out;
}
