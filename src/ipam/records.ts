// The in-memory state of the IPAM state machine: plain records linked by reference, plus the
// geometry that turns a block index into pools. Only state-machine.ts and snapshot.ts mutate it.

import { assert } from '../../raft/core/assert.js';
import type { Cidr4, Cidr6, Ipv4, Ipv6 } from './addr.js';
import { formatIpv4, formatIpv6, ipv4At, ipv6At, Ipv6Texts, size4, size6 } from './addr.js';
import type { Containerizer, PoolKind, PortMapping, Split } from './types.js';
import { limits } from './limits.js';
import { LowestFree, Pool4, Pool6 } from './pool.js';
import { KeyedTable } from './task-table.js';
import type { ConfigRec } from './views.js';

/** The whole replicated state; `frameworks` indexes tasks by framework for listTasks. */
export interface IpamState {
  appliedIndex: number;
  config: ConfigRec;
  readonly networks: Map<string, NetworkRec>;
  readonly agents: Map<string, AgentRec>;
  /** By id (task-table.ts says why not a Map). */
  readonly tasks: KeyedTable<TaskRec>;
  readonly frameworks: Map<string, FrameworkRec>;
  /**
   * Task names that differ from their task's id, each held once with a count of its tasks: the
   * instances of one app share a name, so a million tasks need not hold a million copies of it.
   */
  readonly names: Map<string, SharedName>;
  /**
   * Every task in the order it was linked: the order a snapshot writes them in. Apply is
   * deterministic and restore links in snapshot order, so every replica holds the same order
   * without sorting a million ids per snapshot (the sort was 82% of encoding at 300,000 tasks,
   * all of it a pause of the node's main thread).
   */
  readonly order: TaskOrder;
}

/** Ends of the link-order list (TaskRec.orderPrev/orderNext). */
export interface TaskOrder {
  first: TaskRec | null;
  last: TaskRec | null;
}

export const newTaskOrder = (): TaskOrder => ({ first: null, last: null });

export interface SharedName {
  readonly name: string;
  tasks: number;
  /** Scratch of encodeSnapshot: this name's dictionary code in the snapshot `codeEpoch` names. */
  codeEpoch: number;
  code: number;
}

/** The tasks of one framework; `name` is the one string every task of the framework shares. */
export interface FrameworkRec {
  readonly name: string;
  readonly tasks: TaskList;
}

/**
 * The tasks of an agent or a framework: an intrusive doubly linked list through the tasks' own
 * link fields, not a Set. A Set entry costs ~26 bytes per task and a hash insert and delete per
 * allocation in a table that, for a big framework, holds every task (its resizes and cache misses
 * grow with the number of tasks, issue 4's apply-cost target); a link is two pointer stores.
 * Unordered: everything read from it is sorted.
 */
export interface TaskList {
  head: TaskRec | null;
  size: number;
}

export const newTaskList = (): TaskList => ({ head: null, size: 0 });

export function newAgent(id: string, ip: Ipv4, ip6: Ipv6 | undefined, vtep: number): AgentRec {
  return { id, ip, ip6, ipText: formatIpv4(ip), ip6Text: ip6 === undefined ? undefined : formatIpv6(ip6), vtep, blocks: new Map(), tasks: newTaskList() };
}

export function setAgentAddresses(agent: AgentRec, ip: Ipv4, ip6: Ipv6 | undefined): void {
  agent.ip = ip;
  agent.ip6 = ip6;
  agent.ipText = formatIpv4(ip);
  agent.ip6Text = ip6 === undefined ? undefined : formatIpv6(ip6);
}

export interface NetworkRec {
  readonly name: string;
  readonly v4: { readonly subnet: Cidr4; readonly prefix: number; readonly blocks: LowestFree } | undefined;
  readonly v6: { readonly subnet: Cidr6; readonly prefix: number; readonly blocks: LowestFree } | undefined;
  readonly split: Split;
  enabled: boolean;
  /** Blocks by agent id. */
  readonly blocks: Map<string, BlockRec>;
  /**
   * Tasks holding an address in this network. A count, not a set: a network-wide Set cost a
   * large-table insert and delete per allocation (1.85x the apply cost at 1M tasks vs 1k,
   * issue 4's target is 1.5x); the tasks themselves are found through the blocks' agents
   * (tasksOfNetwork), which only the rare delete and list-by-network need.
   */
  taskCount: number;
}

export interface PoolRec {
  readonly kind: PoolKind;
  /** `gateway`: the bridge address (base + 1) as text, formatted once for every task view. */
  readonly v4: { readonly base: Ipv4; readonly len: number; readonly pool: Pool4; readonly gateway: string } | undefined;
  readonly v6: { readonly base: Ipv6; readonly len: number; readonly pool: Pool6; readonly gateway: string; readonly texts: Ipv6Texts } | undefined;
}

export interface BlockRec {
  readonly network: NetworkRec;
  readonly agent: AgentRec;
  readonly index4: number | undefined;
  readonly index6: number | undefined;
  /** [mesos, docker] for split "halves"; [shared] for "shared". */
  readonly pools: readonly PoolRec[];
}

export interface AgentRec {
  readonly id: string;
  /** Set only through setAgentAddresses, which keeps the texts below in step. */
  ip: Ipv4;
  ip6: Ipv6 | undefined;
  /** `ip`/`ip6` as text, formatted when they are set: every task view shows them (issue 4's apply cost). */
  ipText: string;
  ip6Text: string | undefined;
  /** Offset of the VTEP address in the VTEP subnet. */
  readonly vtep: number;
  /** Blocks by network name. */
  readonly blocks: Map<string, BlockRec>;
  readonly tasks: TaskList;
}

/**
 * One task. Kept small, since a node holds a million of them: strings shared where they repeat
 * (the name is the id's string when equal, the framework its FrameworkRec's, the containerizer a
 * literal), ports packed (PackedPorts), and both addresses as numeric offsets in the pool.
 */
export interface TaskRec {
  readonly id: string;
  readonly name: string;
  readonly framework: string;
  readonly agent: AgentRec;
  readonly network: NetworkRec | undefined;
  readonly containerizer: Containerizer;
  readonly ports: PackedPorts;
  /** Own properties in sorted key order (validation builds it that way). */
  readonly labels: Readonly<Record<string, string>>;
  readonly pool: PoolRec | undefined;
  /** Offset in pool.v4, or -1. */
  readonly ip4: number;
  /** Offset in pool.v6, or -1 (pool.ts: pool6OffsetMax says why a number is exact). */
  readonly ip6: number;
  /** Links of the agent's and the framework's TaskList (records.ts only). */
  agentPrev: TaskRec | null;
  agentNext: TaskRec | null;
  frameworkPrev: TaskRec | null;
  frameworkNext: TaskRec | null;
  /** Links of IpamState.order (records.ts only). */
  orderPrev: TaskRec | null;
  orderNext: TaskRec | null;
}

/** Every field of a task but its list links. */
export type TaskInit = Omit<TaskRec, 'agentPrev' | 'agentNext' | 'frameworkPrev' | 'frameworkNext' | 'orderPrev' | 'orderNext'>;

/** One construction site, so every task has the same hidden class (one shape for V8's inline caches). */
export function newTask(t: TaskInit): TaskRec {
  return {
    id: t.id,
    name: t.name,
    framework: t.framework,
    agent: t.agent,
    network: t.network,
    containerizer: t.containerizer,
    ports: t.ports,
    labels: t.labels,
    pool: t.pool,
    ip4: t.ip4,
    ip6: t.ip6,
    agentPrev: null,
    agentNext: null,
    frameworkPrev: null,
    frameworkNext: null,
    orderPrev: null,
    orderNext: null,
  };
}

/**
 * A task's port mappings. The common case, one unnamed port, is one number: bit 32 the protocol
 * (udp), bits 16-31 the container port, bits 0-15 the host port (0: not mapped; host ports are
 * 1..65535). That is a 16-byte heap number instead of an array, its backing store and an object
 * (about 260 bytes per task). Anything else is a frozen array (noPorts when empty).
 */
export type PackedPorts = number | readonly PortMapping[];

const udpBit = 2 ** 32;
const portShift = 2 ** 16;

/** Shared by every task without ports or labels: a million tasks need not hold two million empties. */
export const noPorts: readonly PortMapping[] = Object.freeze([]);
export const noLabels: Readonly<Record<string, string>> = Object.freeze({});

export function packPorts(ports: readonly PortMapping[] | undefined): PackedPorts {
  if (ports === undefined || ports.length === 0) return noPorts;
  const only = ports[0];
  if (ports.length === 1 && only !== undefined && only.name === undefined) {
    return (only.protocol === 'udp' ? udpBit : 0) + only.containerPort * portShift + (only.hostPort ?? 0);
  }
  // Copied: the decoder's arrays carry spare capacity, and the protocol strings become literals.
  return Object.freeze(ports.map((p) => Object.freeze(portMapping(p.name, p.protocol, p.containerPort, p.hostPort))));
}

/** Fresh PortMapping objects (callers may keep or change them). */
export function unpackPorts(packed: PackedPorts): PortMapping[] {
  if (typeof packed !== 'number') return packed.map((p) => portMapping(p.name, p.protocol, p.containerPort, p.hostPort));
  const hostPort = packed % portShift;
  const containerPort = Math.floor(packed / portShift) % portShift;
  return [portMapping(undefined, packed >= udpBit ? 'udp' : 'tcp', containerPort, hostPort === 0 ? undefined : hostPort)];
}

export function portCount(packed: PackedPorts): number {
  return typeof packed === 'number' ? 1 : packed.length;
}

function portMapping(name: string | undefined, protocol: PortMapping['protocol'], containerPort: number, hostPort: number | undefined): PortMapping {
  return {
    ...(name !== undefined && { name }),
    protocol: protocol === 'udp' ? 'udp' : 'tcp',
    containerPort,
    ...(hostPort !== undefined && { hostPort }),
  };
}

export function labelsOrShared(labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (labels === undefined) return noLabels;
  for (const _ in labels) return labels;
  return noLabels;
}

export function newNetwork(
  name: string,
  v4: { subnet: Cidr4; prefix: number } | undefined,
  v6: { subnet: Cidr6; prefix: number } | undefined,
  split: Split,
  enabled: boolean,
): NetworkRec {
  const blockCount = (bits: number) => Math.min(2 ** bits, limits.blocksPerNetworkMax);
  return {
    name,
    v4: v4 && { ...v4, blocks: new LowestFree(0, blockCount(v4.prefix - v4.subnet.len)) },
    v6: v6 && { ...v6, blocks: new LowestFree(0, blockCount(v6.prefix - v6.subnet.len)) },
    split,
    enabled,
    blocks: new Map(),
    taskCount: 0,
  };
}

/** The pools of block `index4`/`index6` of a network: lower half mesos, upper docker (or shared). */
export function poolsOf(net: NetworkRec, index4: number | undefined, index6: number | undefined): PoolRec[] {
  assert((net.v4 === undefined) === (index4 === undefined), () => `network ${net.name}: IPv4 block index ${index4} mismatch`);
  assert((net.v6 === undefined) === (index6 === undefined), () => `network ${net.name}: IPv6 block index ${index6} mismatch`);
  const kinds: readonly PoolKind[] = net.split === 'halves' ? ['mesos', 'docker'] : ['shared'];
  const halfBits = net.split === 'halves' ? 1 : 0;
  return kinds.map((kind, i) => {
    let v4: PoolRec['v4'];
    if (net.v4 !== undefined && index4 !== undefined) {
      const len = net.v4.prefix + halfBits;
      const block = ipv4At(net.v4.subnet.addr, index4 * size4(net.v4.prefix));
      const base = ipv4At(block, i * size4(len));
      v4 = { base, len, pool: new Pool4(size4(len)), gateway: formatIpv4(ipv4At(base, 1)) };
    }
    let v6: PoolRec['v6'];
    if (net.v6 !== undefined && index6 !== undefined) {
      const len = net.v6.prefix + halfBits;
      const block = ipv6At(net.v6.subnet.addr, BigInt(index6) * size6(net.v6.prefix));
      const base = ipv6At(block, BigInt(i) * size6(len));
      v6 = { base, len, pool: new Pool6(size6(len)), gateway: formatIpv6(ipv6At(base, 1n)), texts: new Ipv6Texts(base) };
    }
    return { kind, v4, v6 };
  });
}

/** The pool a containerizer draws from in a block. */
export function poolFor(block: BlockRec, containerizer: Containerizer): PoolRec {
  const pool = block.network.split === 'shared' ? block.pools[0] : block.pools[containerizer === 'mesos' ? 0 : 1];
  assert(pool !== undefined, () => `block of ${block.network.name} on ${block.agent.id} has no pool for ${containerizer}`);
  return pool;
}

/** Usage figures of a pool: IPv4 when present, else IPv6 (approximate above 2^53). */
export function poolFigures(pool: PoolRec): { capacity: number; used: number } {
  if (pool.v4 !== undefined) return { capacity: pool.v4.pool.capacity, used: pool.v4.pool.used };
  assert(pool.v6 !== undefined, 'a pool has at least one family');
  return { capacity: Number(pool.v6.pool.capacity), used: pool.v6.pool.used };
}

export function sortedKeys<V>(map: ReadonlyMap<string, V>): string[] {
  return [...map.keys()].sort(compareText);
}

/** Code-unit order: deterministic and locale-free (never localeCompare in replicated code). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byId<T extends { readonly id: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => compareText(a.id, b.id));
}

/** Adds a task to the id map and the per-agent, per-network and per-framework indexes. */
export function linkTask(s: IpamState, task: TaskRec): void {
  assert(s.tasks.add(task), () => `task ${task.id} linked twice`);
  const agentList = task.agent.tasks;
  task.agentNext = agentList.head;
  if (agentList.head !== null) agentList.head.agentPrev = task;
  agentList.head = task;
  agentList.size++;
  if (task.network !== undefined) task.network.taskCount++;
  if (task.name !== task.id) {
    const shared = s.names.get(task.name);
    if (shared === undefined) s.names.set(task.name, { name: task.name, tasks: 1, codeEpoch: 0, code: 0 });
    else shared.tasks++;
  }
  let fw = s.frameworks.get(task.framework);
  if (fw === undefined) {
    fw = { name: task.framework, tasks: newTaskList() };
    s.frameworks.set(task.framework, fw);
  }
  const fwList = fw.tasks;
  task.frameworkNext = fwList.head;
  if (fwList.head !== null) fwList.head.frameworkPrev = task;
  fwList.head = task;
  fwList.size++;
  task.orderPrev = s.order.last;
  if (s.order.last !== null) s.order.last.orderNext = task;
  else s.order.first = task;
  s.order.last = task;
}

/** Every task in link order (IpamState.order), the snapshot's row order. */
export function tasksInOrder(s: IpamState): TaskRec[] {
  const out: TaskRec[] = new Array<TaskRec>(s.tasks.size);
  let n = 0;
  for (let t = s.order.first; t !== null; t = t.orderNext) out[n++] = t;
  assert(n === s.tasks.size, () => `the task order list holds ${n} tasks, the id table ${s.tasks.size}`);
  return out;
}

/** The tasks of an agent (unordered). */
export function agentTasks(agent: AgentRec): TaskRec[] {
  const out: TaskRec[] = [];
  for (let t = agent.tasks.head; t !== null; t = t.agentNext) out.push(t);
  assert(out.length === agent.tasks.size, () => `agent ${agent.id} counts ${agent.tasks.size} tasks, its list holds ${out.length}`);
  return out;
}

/** The tasks of a framework (unordered). */
export function frameworkTasks(fw: FrameworkRec): TaskRec[] {
  const out: TaskRec[] = [];
  for (let t = fw.tasks.head; t !== null; t = t.frameworkNext) out.push(t);
  assert(out.length === fw.tasks.size, () => `framework ${fw.name} counts ${fw.tasks.size} tasks, its list holds ${out.length}`);
  return out;
}

/** The tasks holding an address in `net`: those of the agents with a block in it (unordered). */
export function tasksOfNetwork(net: NetworkRec): TaskRec[] {
  const out: TaskRec[] = [];
  for (const block of net.blocks.values()) {
    for (let task = block.agent.tasks.head; task !== null; task = task.agentNext) if (task.network === net) out.push(task);
  }
  assert(out.length === net.taskCount, () => `network ${net.name} counts ${net.taskCount} tasks, its agents hold ${out.length}`);
  return out;
}

export function unlinkTask(s: IpamState, task: TaskRec): void {
  assert(s.tasks.delete(task.id) === task, () => `task ${task.id} not linked`);
  const agentList = task.agent.tasks;
  if (task.agentPrev !== null) task.agentPrev.agentNext = task.agentNext;
  else agentList.head = task.agentNext;
  if (task.agentNext !== null) task.agentNext.agentPrev = task.agentPrev;
  task.agentPrev = task.agentNext = null;
  agentList.size--;
  if (task.network !== undefined) {
    assert(task.network.taskCount > 0, () => `network ${task.network?.name} counts no task to unlink`);
    task.network.taskCount--;
  }
  if (task.name !== task.id) {
    const shared = s.names.get(task.name);
    assert(shared !== undefined && shared.tasks > 0, () => `task ${task.id}: name ${task.name} not counted`);
    if (--shared.tasks === 0) s.names.delete(task.name);
  }
  const fw = s.frameworks.get(task.framework);
  assert(fw !== undefined, () => `task ${task.id}: framework ${task.framework} not indexed`);
  const fwList = fw.tasks;
  if (task.frameworkPrev !== null) task.frameworkPrev.frameworkNext = task.frameworkNext;
  else fwList.head = task.frameworkNext;
  if (task.frameworkNext !== null) task.frameworkNext.frameworkPrev = task.frameworkPrev;
  task.frameworkPrev = task.frameworkNext = null;
  fwList.size--;
  if (fwList.size === 0) s.frameworks.delete(task.framework);
  if (task.orderPrev !== null) task.orderPrev.orderNext = task.orderNext;
  else s.order.first = task.orderNext;
  if (task.orderNext !== null) task.orderNext.orderPrev = task.orderPrev;
  else s.order.last = task.orderPrev;
  task.orderPrev = task.orderNext = null;
}

/** The string a new task's name shares: its id's when equal, else the one other tasks hold (if any). */
export function internName(s: IpamState, id: string, name: string): string {
  return name === id ? id : (s.names.get(name)?.name ?? name);
}

/** The framework's shared name string when it has tasks, else `name` (which becomes the shared one). */
export function internFramework(s: IpamState, name: string): string {
  return s.frameworks.get(name)?.name ?? name;
}
