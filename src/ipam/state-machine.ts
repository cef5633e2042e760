// The IPAM state machine: networks, agents and their blocks, tasks and their addresses. apply()
// is pure and deterministic (STYLE rule 1): no clock, no randomness, no I/O, no Map-order
// dependence in anything that reaches the snapshot or the results. Every decision about which
// address or block to hand out is made here, never in the HTTP handler (DESIGN.md §2).

import type { StateMachine } from '../../raft/node/api.js';
import type { LogIndex } from '../../raft/core/types.js';
import { assert, assertNever } from '../../raft/core/assert.js';
import { overlap4, overlap6, parseCidr4, parseCidr6, parseIpv4, parseIpv6 } from './addr.js';
import type { Cidr4, Cidr6, Parsed } from './addr.js';
import { decodeCommand } from './codec.js';
import { limits } from './limits.js';
import type { AgentRec, BlockRec, NetworkRec, TaskRec } from './records.js';
import type { IpamState } from './records.js';
import { agentTasks, byId, frameworkTasks, internFramework, internName, newAgent, newTask, newTaskOrder, setAgentAddresses, labelsOrShared, linkTask, newNetwork, packPorts, unpackPorts, poolFigures, poolFor, poolsOf, sortedKeys, tasksOfNetwork, unlinkTask } from './records.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { KeyedTable } from './task-table.js';
import type {
  AgentView,
  AllocateTaskCommand,
  ApplyResult,
  ClusterConfigView,
  ConfigureCommand,
  CreateNetworkCommand,
  DcosAgent,
  DcosMasterState,
  IpamCommand,
  IpamError,
  IpamListener,
  IpamQueries,
  IpamResult,
  NetworkUsage,
  NetworkView,
  PoolKind,
  RegisterAgentCommand,
  ResultValues,
  TaskFilter,
  TaskView,
} from './types.js';
import { defaultVtepMacOui, defaultVtepSubnet } from './types.js';
import * as views from './views.js';

type Event =
  | { readonly kind: 'taskUpserted'; readonly view: TaskView }
  | { readonly kind: 'taskRemoved'; readonly view: TaskView }
  | { readonly kind: 'agentChanged'; readonly view: AgentView }
  | { readonly kind: 'agentRemoved'; readonly view: AgentView };

const fail = (error: IpamError): { ok: false; error: IpamError } => ({ ok: false, error });
const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export function emptyState(): IpamState {
  const vtep = parseCidr4(defaultVtepSubnet);
  assert(vtep.ok, 'default VTEP subnet parses');
  return {
    appliedIndex: 0,
    config: views.newConfig(vtep.value, defaultVtepMacOui),
    networks: new Map(),
    agents: new Map(),
    tasks: new KeyedTable<TaskRec>(),
    frameworks: new Map(),
    names: new Map(),
    order: newTaskOrder(),
  };
}

export class IpamStateMachine implements StateMachine<ApplyResult>, IpamQueries {
  private s: IpamState = emptyState();
  private readonly listeners: IpamListener[] = [];
  /** Events of the command being applied, delivered once the state change is complete. */
  private events: Event[] = [];

  get appliedIndex(): number {
    return this.s.appliedIndex;
  }

  /** Listeners are called synchronously inside apply/restore, after the change (types.ts). */
  addListener(listener: IpamListener): void {
    this.listeners.push(listener);
  }

  removeListener(listener: IpamListener): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  apply(command: Uint8Array, index: LogIndex): ApplyResult {
    assert(index > this.s.appliedIndex, () => `apply index ${index} <= applied index ${this.s.appliedIndex}`);
    this.s.appliedIndex = index;
    // A leader's no-op entry carries no command (Raft §8): nothing to do.
    if (command.length === 0) return ok(null);
    const decoded = decodeCommand(command);
    if (!decoded.ok) return decoded;
    assert(this.events.length === 0, 'events left over from a previous command');
    const result = this.execute(decoded.value);
    this.flush();
    return result;
  }

  /** Applies an already-validated command (tests and tools; apply() is the replicated path). */
  private execute(cmd: IpamCommand): ApplyResult {
    switch (cmd.type) {
      case 'configure':
        return this.configure(cmd);
      case 'createNetwork':
        return this.createNetwork(cmd);
      case 'patchNetwork':
        return this.patchNetwork(cmd.name, cmd.enabled);
      case 'deleteNetwork':
        return this.deleteNetwork(cmd.name, cmd.force);
      case 'registerAgent':
        return this.registerAgent(cmd);
      case 'deleteAgent':
        return this.deleteAgent(cmd.id, cmd.force);
      case 'allocateTask':
        return this.allocateTask(cmd);
      case 'releaseTask':
        return this.releaseTask(cmd.id);
      default:
        return assertNever(cmd);
    }
  }

  private flush(): void {
    const events = this.events;
    this.events = [];
    if (this.listeners.length === 0) return;
    for (const e of events) {
      for (const l of this.listeners) {
        switch (e.kind) {
          case 'taskUpserted':
            l.taskUpserted(e.view);
            break;
          case 'taskRemoved':
            l.taskRemoved(e.view);
            break;
          case 'agentChanged':
            l.agentChanged(e.view);
            break;
          case 'agentRemoved':
            l.agentRemoved(e.view);
            break;
          default:
            assertNever(e);
        }
      }
    }
  }

  // ----- cluster configuration -----

  private configure(cmd: ConfigureCommand): IpamResult<ResultValues['configure']> {
    const subnet = parseCidr4(cmd.vtepSubnet);
    assert(subnet.ok, () => `validated VTEP subnet ${cmd.vtepSubnet}`);
    const current = this.s.config;
    const same = subnet.value.addr === current.vtepSubnet.addr && subnet.value.len === current.vtepSubnet.len;
    if (same && cmd.vtepMacOui === current.oui) return ok(this.config());
    if (this.s.agents.size > 0) {
      return fail({ code: 'conflict', field: '/vtepSubnet', message: `the VTEP settings cannot change while ${this.s.agents.size} agents hold VTEP addresses` });
    }
    for (const net of this.s.networks.values()) {
      if (net.v4 !== undefined && overlap4(net.v4.subnet, subnet.value)) {
        return fail({ code: 'conflict', field: '/vtepSubnet', message: `VTEP subnet ${cmd.vtepSubnet} overlaps network ${net.name}` });
      }
    }
    this.s.config = views.newConfig(subnet.value, cmd.vtepMacOui);
    return ok(this.config());
  }

  // ----- networks -----

  private createNetwork(cmd: CreateNetworkCommand): IpamResult<ResultValues['createNetwork']> {
    if (this.s.networks.has(cmd.name)) {
      return fail({ code: 'conflict', field: '/name', message: `network ${cmd.name} already exists` });
    }
    if (this.s.networks.size >= limits.networksMax) {
      return fail({ code: 'conflict', field: '/name', message: `at most ${limits.networksMax} networks` });
    }
    const v4 = parseOptional(cmd.subnet, parseCidr4);
    const v6 = parseOptional(cmd.subnet6, parseCidr6);
    const overlapError = this.overlapError(v4, v6);
    if (overlapError !== undefined) return fail(overlapError);
    const net = newNetwork(
      cmd.name,
      v4 && cmd.prefix !== undefined ? { subnet: v4, prefix: cmd.prefix } : undefined,
      v6 && cmd.prefix6 !== undefined ? { subnet: v6, prefix: cmd.prefix6 } : undefined,
      cmd.split ?? 'halves',
      cmd.enabled ?? true,
    );
    this.s.networks.set(net.name, net);
    if (net.enabled) this.giveBlocks(net);
    return ok(views.networkView(net));
  }

  /** DESIGN.md §1: subnets of different networks (and the VTEP subnet) must not overlap. */
  private overlapError(v4: Cidr4 | undefined, v6: Cidr6 | undefined): IpamError | undefined {
    if (v4 !== undefined && overlap4(v4, this.s.config.vtepSubnet)) {
      return { code: 'conflict', field: '/subnet', message: `subnet overlaps the VTEP subnet ${views.vtepSubnetText(this.s.config)}` };
    }
    for (const name of sortedKeys(this.s.networks)) {
      const other = this.s.networks.get(name);
      if (other === undefined) continue;
      if (v4 !== undefined && other.v4 !== undefined && overlap4(v4, other.v4.subnet)) {
        return { code: 'conflict', field: '/subnet', message: `subnet overlaps network ${name}'s subnet` };
      }
      if (v6 !== undefined && other.v6 !== undefined && overlap6(v6, other.v6.subnet)) {
        return { code: 'conflict', field: '/subnet6', message: `subnet6 overlaps network ${name}'s subnet6` };
      }
    }
    return undefined;
  }

  private patchNetwork(name: string, enabled: boolean): IpamResult<ResultValues['patchNetwork']> {
    const net = this.s.networks.get(name);
    if (net === undefined) return fail({ code: 'not_found', kind: 'network', id: name, message: `no network ${name}` });
    if (!net.enabled && enabled) {
      net.enabled = true;
      this.giveBlocks(net);
    }
    net.enabled = enabled;
    return ok(views.networkView(net));
  }

  private deleteNetwork(name: string, force: boolean): IpamResult<ResultValues['deleteNetwork']> {
    const net = this.s.networks.get(name);
    if (net === undefined) return fail({ code: 'not_found', kind: 'network', id: name, message: `no network ${name}` });
    if (net.taskCount > 0 && !force) {
      return fail({ code: 'in_use', kind: 'network', id: name, tasks: net.taskCount, message: `network ${name} has ${net.taskCount} allocations; delete with force to release them` });
    }
    const released = net.taskCount;
    for (const task of byId(tasksOfNetwork(net))) this.removeTask(task);
    assert(net.taskCount === 0, () => `network ${name} still counts ${net.taskCount} tasks after releasing them`);
    for (const block of net.blocks.values()) block.agent.blocks.delete(name);
    this.s.networks.delete(name);
    return ok({ name, releasedTasks: released });
  }

  /** Gives every agent without a block in `net` the lowest free one, in agent id order. */
  private giveBlocks(net: NetworkRec): void {
    assert(net.enabled, () => `giveBlocks on disabled network ${net.name}`);
    if (net.blocks.size === this.s.agents.size) return;
    for (const agent of byId(this.s.agents.values())) {
      if (!agent.blocks.has(net.name) && !this.giveBlock(net, agent)) break;
    }
  }

  /** The lowest free block of every family, or false (and nothing taken) if one has none. */
  private giveBlock(net: NetworkRec, agent: AgentRec): boolean {
    assert(!agent.blocks.has(net.name), () => `agent ${agent.id} already has a block in ${net.name}`);
    const index4 = net.v4?.blocks.allocate();
    const index6 = net.v6?.blocks.allocate();
    if ((net.v4 !== undefined && index4 === undefined) || (net.v6 !== undefined && index6 === undefined)) {
      if (index4 !== undefined) net.v4?.blocks.release(index4);
      if (index6 !== undefined) net.v6?.blocks.release(index6);
      return false;
    }
    const block: BlockRec = { network: net, agent, index4, index6, pools: poolsOf(net, index4, index6) };
    agent.blocks.set(net.name, block);
    net.blocks.set(agent.id, block);
    return true;
  }

  private freeBlock(block: BlockRec): void {
    assert(block.pools.every((p) => poolFigures(p).used === 0), () => `freeing a block of ${block.agent.id} in use`);
    const net = block.network;
    if (block.index4 !== undefined) net.v4?.blocks.release(block.index4);
    if (block.index6 !== undefined) net.v6?.blocks.release(block.index6);
    net.blocks.delete(block.agent.id);
    block.agent.blocks.delete(net.name);
  }

  // ----- agents -----

  private registerAgent(cmd: RegisterAgentCommand): IpamResult<ResultValues['registerAgent']> {
    const ip = parseIpv4(cmd.ip);
    const ip6 = cmd.ip6 === undefined ? undefined : parseIpv6(cmd.ip6);
    assert(ip !== undefined && (cmd.ip6 === undefined || ip6 !== undefined), 'validated agent addresses');
    let agent = this.s.agents.get(cmd.id);
    const created = agent === undefined;
    if (agent === undefined) {
      if (this.s.agents.size >= limits.agentsMax) {
        return fail({ code: 'conflict', field: '/id', message: `at most ${limits.agentsMax} agents` });
      }
      const vtep = this.s.config.vteps.allocate();
      if (vtep === undefined) {
        const vtepSubnet = views.vtepSubnetText(this.s.config);
        return fail({ code: 'vtep_exhausted', vtepSubnet, agent: cmd.id, message: `no free VTEP address in ${vtepSubnet}` });
      }
      agent = newAgent(cmd.id, ip, ip6, vtep);
      this.s.agents.set(agent.id, agent);
    }
    const changed = created || agent.ip !== ip || agent.ip6 !== ip6;
    if (changed) setAgentAddresses(agent, ip, ip6);
    // Blocks stay; networks that had none free before may have one now.
    for (const name of sortedKeys(this.s.networks)) {
      const net = this.s.networks.get(name);
      if (net !== undefined && net.enabled && !agent.blocks.has(name)) this.giveBlock(net, agent);
    }
    const view = this.agentViewOf(agent);
    if (changed) this.events.push({ kind: 'agentChanged', view });
    return ok({ created, agent: view, overlay: views.dcosAgent(this.s.config, agent, this.s.networks) });
  }

  private deleteAgent(id: string, force: boolean): IpamResult<ResultValues['deleteAgent']> {
    const agent = this.s.agents.get(id);
    if (agent === undefined) return fail({ code: 'not_found', kind: 'agent', id, message: `no agent ${id}` });
    if (agent.tasks.size > 0 && !force) {
      return fail({ code: 'in_use', kind: 'agent', id, tasks: agent.tasks.size, message: `agent ${id} has ${agent.tasks.size} tasks; delete with force to release them` });
    }
    const released = agent.tasks.size;
    for (const task of byId(agentTasks(agent))) this.removeTask(task);
    const view = this.agentViewOf(agent);
    const freedIn = sortedKeys(agent.blocks);
    for (const name of freedIn) {
      const block = agent.blocks.get(name);
      if (block !== undefined) this.freeBlock(block);
    }
    this.s.config.vteps.release(agent.vtep);
    this.s.agents.delete(id);
    this.events.push({ kind: 'agentRemoved', view });
    // Agents that were waiting for a block in these networks get the freed ones.
    for (const name of freedIn) {
      const net = this.s.networks.get(name);
      if (net !== undefined && net.enabled) this.giveBlocks(net);
    }
    return ok({ id, releasedTasks: released });
  }

  // ----- tasks -----

  private allocateTask(cmd: AllocateTaskCommand): IpamResult<ResultValues['allocateTask']> {
    const containerizer = cmd.containerizer ?? 'mesos';
    const existing = this.s.tasks.get(cmd.id);
    if (existing !== undefined) {
      if (sameBody(existing, cmd, containerizer)) return ok({ created: false, task: views.taskView(existing) });
      return fail({ code: 'conflict', field: '/id', message: `task ${cmd.id} already exists with a different body; release it first` });
    }
    const agent = this.s.agents.get(cmd.agent);
    if (agent === undefined) return fail({ code: 'not_found', kind: 'agent', id: cmd.agent, message: `no agent ${cmd.agent}` });
    if (cmd.network === undefined) {
      return ok({ created: true, task: this.addTask(cmd, agent, undefined, containerizer, undefined, -1, -1) });
    }
    const net = this.s.networks.get(cmd.network);
    if (net === undefined) return fail({ code: 'not_found', kind: 'network', id: cmd.network, message: `no network ${cmd.network}` });
    if (!net.enabled) return fail({ code: 'disabled', network: net.name, message: `network ${net.name} is disabled` });
    const block = agent.blocks.get(net.name);
    if (block === undefined) {
      return fail({ code: 'no_block', network: net.name, agent: agent.id, message: `agent ${agent.id} has no block in network ${net.name}: the network had no free block for it` });
    }
    const pool = poolFor(block, containerizer);
    const full = exhaustion(pool);
    if (full !== undefined) {
      const kind: PoolKind = net.split === 'shared' ? 'shared' : containerizer;
      return fail({ code: 'exhausted', network: net.name, agent: agent.id, containerizer: kind, ...full, message: `the ${kind} pool of agent ${agent.id} in network ${net.name} is full (${full.used} of ${full.capacity} addresses used)` });
    }
    const ip4 = pool.v4 === undefined ? -1 : pool.v4.pool.allocate();
    const ip6 = pool.v6 === undefined ? -1 : pool.v6.pool.allocate();
    assert(ip4 !== undefined && ip6 !== undefined, 'exhaustion was checked');
    return ok({ created: true, task: this.addTask(cmd, agent, net, containerizer, pool, ip4, ip6) });
  }

  private addTask(
    cmd: AllocateTaskCommand,
    agent: AgentRec,
    net: NetworkRec | undefined,
    containerizer: TaskRec['containerizer'],
    pool: TaskRec['pool'],
    ip4: number,
    ip6: number,
  ): TaskView {
    const task = newTask({
      id: cmd.id,
      // Shared strings (TaskRec): a million tasks, each name and framework held once where equal.
      name: internName(this.s, cmd.id, cmd.name),
      framework: internFramework(this.s, cmd.framework),
      agent,
      network: net,
      containerizer: containerizer === 'docker' ? 'docker' : 'mesos',
      ports: packPorts(cmd.ports),
      labels: labelsOrShared(cmd.labels),
      pool,
      ip4,
      ip6,
    });
    linkTask(this.s, task);
    const view = views.taskView(task);
    this.events.push({ kind: 'taskUpserted', view });
    return view;
  }

  private releaseTask(id: string): IpamResult<ResultValues['releaseTask']> {
    const task = this.s.tasks.get(id);
    if (task === undefined) return ok({ id, released: false });
    this.removeTask(task);
    return ok({ id, released: true });
  }

  private removeTask(task: TaskRec): void {
    const view = views.taskView(task);
    if (task.pool?.v4 !== undefined) task.pool.v4.pool.release(task.ip4);
    if (task.pool?.v6 !== undefined) task.pool.v6.pool.release(task.ip6);
    unlinkTask(this.s, task);
    this.events.push({ kind: 'taskRemoved', view });
  }

  // ----- snapshot -----

  snapshot(): Uint8Array {
    return encodeSnapshot(this.s);
  }

  restore(data: Uint8Array, index: LogIndex): void {
    const state = decodeSnapshot(data);
    // The snapshot holds the index of the last IPAM command; Raft's snapshot index may be later
    // (membership entries and no-ops never reach apply). Keeping the snapshot's own value keeps
    // snapshots byte-identical between replicas that restored and replicas that applied.
    assert(state.appliedIndex <= index, () => `snapshot is at index ${state.appliedIndex}, beyond the restore index ${index}`);
    this.s = state;
    this.events = [];
    for (const l of this.listeners) l.reset();
  }

  // ----- queries -----

  config(): ClusterConfigView {
    return { vtepSubnet: views.vtepSubnetText(this.s.config), vtepMacOui: this.s.config.oui };
  }

  getNetwork(name: string): NetworkView | undefined {
    const net = this.s.networks.get(name);
    return net && views.networkView(net);
  }

  listNetworks(): NetworkView[] {
    return sortedKeys(this.s.networks).flatMap((n) => {
      const net = this.s.networks.get(n);
      return net ? [views.networkView(net)] : [];
    });
  }

  networkUsage(name: string): NetworkUsage | undefined {
    const net = this.s.networks.get(name);
    return net && views.networkUsage(net);
  }

  private agentViewOf(agent: AgentRec): AgentView {
    return views.agentView(this.s.config, agent, this.s.networks);
  }

  getAgent(id: string): AgentView | undefined {
    const agent = this.s.agents.get(id);
    return agent && this.agentViewOf(agent);
  }

  listAgents(): AgentView[] {
    return byId(this.s.agents.values()).map((a) => this.agentViewOf(a));
  }

  agentOverlay(id: string): DcosAgent | undefined {
    const agent = this.s.agents.get(id);
    return agent && views.dcosAgent(this.s.config, agent, this.s.networks);
  }

  overlayMasterState(): DcosMasterState {
    return views.dcosMasterState(this.s.config, this.s.agents, this.s.networks);
  }

  getTask(id: string): TaskView | undefined {
    const task = this.s.tasks.get(id);
    return task && views.taskView(task);
  }

  listTasks(filter: TaskFilter = {}): TaskView[] {
    // Start from the smallest candidate set, then filter: cost proportional to that set.
    const sources: { readonly size: number; readonly tasks: () => Iterable<TaskRec> }[] = [];
    if (filter.agent !== undefined) {
      const agent = this.s.agents.get(filter.agent);
      sources.push({ size: agent?.tasks.size ?? 0, tasks: () => (agent === undefined ? [] : agentTasks(agent)) });
    }
    if (filter.network !== undefined) {
      const net = this.s.networks.get(filter.network);
      sources.push({ size: net?.taskCount ?? 0, tasks: () => (net === undefined ? [] : tasksOfNetwork(net)) });
    }
    if (filter.framework !== undefined) {
      const fw = this.s.frameworks.get(filter.framework);
      sources.push({ size: fw?.tasks.size ?? 0, tasks: () => (fw === undefined ? [] : frameworkTasks(fw)) });
    }
    let candidates: Iterable<TaskRec> = this.s.tasks.values();
    if (sources.length > 0) candidates = sources.reduce((a, b) => (b.size < a.size ? b : a)).tasks();
    const matches: TaskRec[] = [];
    for (const t of candidates) {
      if (filter.agent !== undefined && t.agent.id !== filter.agent) continue;
      if (filter.network !== undefined && t.network?.name !== filter.network) continue;
      if (filter.framework !== undefined && t.framework !== filter.framework) continue;
      matches.push(t);
    }
    return byId(matches).map(views.taskView);
  }

  taskCount(): number {
    return this.s.tasks.size;
  }
}

/** Parses a field validation already checked (a failure here is a bug). */
function parseOptional<T>(text: string | undefined, parse: (s: string) => Parsed<T>): T | undefined {
  if (text === undefined) return undefined;
  const parsed = parse(text);
  assert(parsed.ok, () => `validated field ${text} does not parse`);
  return parsed.value;
}

/** The pool's figures when it cannot give an address in every family it has, else undefined. */
function exhaustion(pool: BlockRec['pools'][number]): { capacity: number; used: number } | undefined {
  if (pool.v4 !== undefined && pool.v4.pool.used >= pool.v4.pool.capacity) {
    return { capacity: pool.v4.pool.capacity, used: pool.v4.pool.used };
  }
  // A number compares exactly with a BigInt: no BigInt allocated per allocation.
  if (pool.v6 !== undefined && pool.v6.pool.used >= pool.v6.pool.capacity) {
    return { capacity: Number(pool.v6.pool.capacity), used: pool.v6.pool.used };
  }
  return undefined;
}

/** Idempotency: the same id with the same (normalised) body is the same allocation. */
function sameBody(task: TaskRec, cmd: AllocateTaskCommand, containerizer: TaskRec['containerizer']): boolean {
  if (task.name !== cmd.name || task.framework !== cmd.framework || task.agent.id !== cmd.agent) return false;
  if (task.network?.name !== cmd.network || task.containerizer !== containerizer) return false;
  const ports = cmd.ports ?? [];
  const mine = unpackPorts(task.ports);
  if (ports.length !== mine.length) return false;
  for (let i = 0; i < ports.length; i++) {
    const a = ports[i];
    const b = mine[i];
    if (a === undefined || b === undefined) return false;
    if (a.name !== b.name || a.protocol !== b.protocol || a.containerPort !== b.containerPort || a.hostPort !== b.hostPort) return false;
  }
  const labels = Object.entries(cmd.labels ?? {});
  if (labels.length !== Object.keys(task.labels).length) return false;
  return labels.every(([k, v]) => Object.hasOwn(task.labels, k) && task.labels[k] === v);
}

