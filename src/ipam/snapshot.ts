// Snapshot encoding. Deterministic: everything is written in a canonical order (networks by name,
// agents by id, a block's pools in fixed order, tasks in link order — IpamState.order, the same on
// every replica because apply is deterministic and restore links tasks in row order; snapshots
// written before it, sorted by id, restore the same), as msgpackr without records, so two
// replicas that applied the same commands write byte-identical snapshots. Tasks are columnar:
// one array of ids, dictionary-coded names and frameworks, and fixed-width binary columns for
// agent, network, flags and addresses, so a million tasks encode and decode in about a second.
// What can be recomputed is not stored: pool bitmaps and used counts come from the tasks, block
// and VTEP allocators from the agents (the lowest free index is a function of the used set).

import { assert } from '../../raft/core/assert.js';
import type { Ipv4 } from './addr.js';
import { parseCidr4, parseCidr6, parseIpv6 } from './addr.js';
import { packLarge, packr } from './codec.js';
import type { AgentRec, BlockRec, NetworkRec, PoolRec, SharedName, TaskRec } from './records.js';
import type { IpamState } from './records.js';
import { byId, newAgent, newTask, newTaskOrder, tasksInOrder, labelsOrShared, linkTask, newNetwork, noLabels, noPorts, packPorts, poolFor, poolsOf, portCount, sortedKeys, unpackPorts } from './records.js';
import type { Containerizer, PortMapping, Split } from './types.js';
import { newConfig, vtepSubnetText } from './views.js';
import { KeyedTable } from './task-table.js';
import { formatCidr4, formatCidr6, formatIpv6 } from './addr.js';


const magic = 'vnetd-ipam';
const formatVersion = 1;
const noNetwork = 0xffffffff;
const flagDocker = 1;
const flagIp4 = 2;
const flagIp6 = 4;

type NetworkRow = [string, string | null, number | null, string | null, number | null, Split, boolean];
/** [network, index4, index6, [[cursor4, cursor6], ...] per pool] */
type BlockRow = [string, number | null, number | null, [number | null, string | null][]];
type AgentRow = [string, number, string | null, number, BlockRow[]];
type PortRow = [string | null, 'tcp' | 'udp', number, number | null];
/** [task row, ports, labels as [k, v, k, v, ...]] */
type ExtraRow = [number, PortRow[], string[]];

interface TaskColumns {
  count: number;
  ids: string[];
  nameDict: string[];
  names: Uint8Array;
  frameworkDict: string[];
  frameworks: Uint8Array;
  agents: Uint8Array;
  networks: Uint8Array;
  flags: Uint8Array;
  ip4: Uint8Array;
  ip6: Uint8Array;
  extras: ExtraRow[];
}

type SnapshotRoot = [string, number, number, [string, string], NetworkRow[], AgentRow[], TaskColumns];

/**
 * The last snapshot's bytes per task, to presize the next one's buffer (packLarge): snapshots of
 * one process's state machines grow with their task count. A hint only; nothing depends on it.
 */
let bytesPerTask = 0;

export function encodeSnapshot(s: IpamState): Uint8Array {
  const networkNames = sortedKeys(s.networks);
  const networkRows = networkNames.map((name) => networkRow(s.networks.get(name)));
  const agents = byId(s.agents.values());
  const root: SnapshotRoot = [
    magic,
    formatVersion,
    s.appliedIndex,
    [vtepSubnetText(s.config), s.config.oui],
    networkRows,
    agents.map(agentRow),
    taskColumns(s, tasksInOrder(s), agents, networkNames),
  ];
  const tasks = root[6].count;
  const data = packLarge(root, tasks * bytesPerTask * 1.0625 + 64 * 1024);
  if (tasks > 0) bytesPerTask = data.length / tasks;
  return data;
}

function networkRow(net: NetworkRec | undefined): NetworkRow {
  assert(net !== undefined, 'network listed but missing');
  return [
    net.name,
    net.v4 ? formatCidr4(net.v4.subnet) : null,
    net.v4 ? net.v4.prefix : null,
    net.v6 ? formatCidr6(net.v6.subnet) : null,
    net.v6 ? net.v6.prefix : null,
    net.split,
    net.enabled,
  ];
}

function agentRow(agent: AgentRec): AgentRow {
  const blocks = sortedKeys(agent.blocks).map((name): BlockRow => {
    const b = agent.blocks.get(name);
    assert(b !== undefined, 'block listed but missing');
    const cursors = b.pools.map((p): [number | null, string | null] => [p.v4 ? p.v4.pool.cursor : null, p.v6 ? String(p.v6.pool.cursor) : null]);
    return [name, b.index4 ?? null, b.index6 ?? null, cursors];
  });
  return [agent.id, agent.ip, agent.ip6 === undefined ? null : formatIpv6(agent.ip6), agent.vtep, blocks];
}

class Dict {
  readonly words: string[] = [];
  private readonly codes = new Map<string, number>();
  code(word: string): number {
    let c = this.codes.get(word);
    if (c === undefined) {
      c = this.words.length;
      this.words.push(word);
      this.codes.set(word, c);
    }
    return c;
  }
}

/** Snapshots encoded so far in this process: tells SharedName codes of this snapshot from stale ones. */
let codeEpoch = 0;

/**
 * The task-name dictionary: codes in order of first appearance, as a Dict would give them, without
 * a Map of every name. A name that differs from its task's id has an interned SharedName (which
 * keeps its code for this snapshot); a name equal to its task's id is unique unless some other
 * task uses it as a name (then it has a SharedName too). At 300,000 tasks a Dict of the names
 * was 57% of a (cold) snapshot's encoding.
 */
class NameCodes {
  readonly words: string[] = [];
  private readonly epoch = ++codeEpoch;

  constructor(private readonly shared: ReadonlyMap<string, SharedName>) {}

  code(t: TaskRec): number {
    const rec = this.shared.get(t.name);
    if (rec === undefined) {
      assert(t.name === t.id, () => `task ${t.id}: name ${t.name} is not interned`);
      this.words.push(t.name);
      return this.words.length - 1;
    }
    if (rec.codeEpoch !== this.epoch) {
      rec.codeEpoch = this.epoch;
      rec.code = this.words.length;
      this.words.push(rec.name);
    }
    return rec.code;
  }
}

function taskColumns(s: IpamState, tasks: readonly TaskRec[], agents: readonly AgentRec[], networkNames: readonly string[]): TaskColumns {
  const n = tasks.length;
  const agentCodes = new Map(agents.map((a, i) => [a, i] as const));
  const netCodes = new Map(networkNames.map((name, i) => [name, i] as const));
  const names = new NameCodes(s.names);
  const frameworks = new Dict();
  const cols = {
    names: new DataView(new ArrayBuffer(4 * n)),
    frameworks: new DataView(new ArrayBuffer(4 * n)),
    agents: new DataView(new ArrayBuffer(4 * n)),
    networks: new DataView(new ArrayBuffer(4 * n)),
    ip4: new DataView(new ArrayBuffer(4 * n)),
  };
  const flags = new Uint8Array(n);
  const ip6: number[] = [];
  const extras: ExtraRow[] = [];
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    assert(t !== undefined, () => `task row ${i}`);
    cols.names.setUint32(4 * i, names.code(t));
    cols.frameworks.setUint32(4 * i, frameworks.code(t.framework));
    cols.agents.setUint32(4 * i, agentCodes.get(t.agent) ?? -1);
    cols.networks.setUint32(4 * i, t.network === undefined ? noNetwork : (netCodes.get(t.network.name) ?? -1));
    cols.ip4.setUint32(4 * i, t.ip4 >= 0 ? t.ip4 : 0);
    flags[i] = (t.containerizer === 'docker' ? flagDocker : 0) | (t.ip4 >= 0 ? flagIp4 : 0) | (t.ip6 >= 0 ? flagIp6 : 0);
    if (t.ip6 >= 0) ip6.push(t.ip6);
    // Most tasks share noLabels: no key array for them (it was 600,000 arrays at 600,000 tasks).
    const labelKeys = t.labels === noLabels ? noKeys : Object.keys(t.labels);
    if (portCount(t.ports) > 0 || labelKeys.length > 0) extras.push([i, unpackPorts(t.ports).map(portRow), labelKeys.flatMap((k) => [k, t.labels[k] ?? ''])]);
  }
  return {
    count: n,
    ids: tasks.map((t) => t.id),
    nameDict: names.words,
    names: bytes(cols.names),
    frameworkDict: frameworks.words,
    frameworks: bytes(cols.frameworks),
    agents: bytes(cols.agents),
    networks: bytes(cols.networks),
    flags,
    ip4: bytes(cols.ip4),
    ip6: ip6Bytes(ip6),
    extras,
  };
}

const noKeys: readonly string[] = Object.freeze([]);

const bytes = (v: DataView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

function portRow(p: PortMapping): PortRow {
  return [p.name ?? null, p.protocol, p.containerPort, p.hostPort ?? null];
}

/**
 * 16 big-endian bytes per IPv6 offset (format 1 has room for any offset of a /0; in memory they
 * are below 2^53, see pool6OffsetMax): the high 8 bytes are zero, then the high and low 32 bits.
 */
function ip6Bytes(values: readonly number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(16 * values.length));
  values.forEach((v, i) => {
    view.setUint32(16 * i + 8, Math.floor(v / 2 ** 32));
    view.setUint32(16 * i + 12, v % 2 ** 32);
  });
  return bytes(view);
}

// ----- decode -----

function emptyMaps(): Pick<IpamState, 'networks' | 'agents' | 'tasks' | 'frameworks' | 'names' | 'order'> {
  return { networks: new Map(), agents: new Map(), tasks: new KeyedTable<TaskRec>(), frameworks: new Map(), names: new Map(), order: newTaskOrder() };
}

/** Rebuilds the whole state. A snapshot that fails its checks is a bug (or corruption): it throws. */
export function decodeSnapshot(data: Uint8Array): IpamState {
  const root = packr.unpack(data) as SnapshotRoot;
  assert(Array.isArray(root) && root[0] === magic, 'not an IPAM snapshot');
  assert(root[1] === formatVersion, () => `IPAM snapshot format ${String(root[1])}, expected ${formatVersion}`);
  const [, , appliedIndex, [vtepText, oui], networkRows, agentRows, tasks] = root;
  const vtep = parseCidr4(vtepText);
  assert(vtep.ok, () => `snapshot VTEP subnet ${vtepText}`);
  const s: IpamState = { appliedIndex, config: newConfig(vtep.value, oui), ...emptyMaps() };
  for (const row of networkRows) restoreNetwork(s, row);
  const agents = agentRows.map((row) => restoreAgent(s, row));
  s.config.vteps.restoreUsed(agents.map((a) => a.vtep));
  for (const net of s.networks.values()) {
    const blocks = [...net.blocks.values()];
    net.v4?.blocks.restoreUsed(blocks.map((b) => b.index4 ?? -1));
    net.v6?.blocks.restoreUsed(blocks.map((b) => b.index6 ?? -1));
  }
  restoreTasks(s, tasks, agents, networkRows.map((r) => r[0]));
  return s;
}

function restoreNetwork(s: IpamState, [name, subnet, prefix, subnet6, prefix6, split, enabled]: NetworkRow): void {
  const v4 = subnet === null ? undefined : parseCidr4(subnet);
  const v6 = subnet6 === null ? undefined : parseCidr6(subnet6);
  assert(v4 === undefined || (v4.ok && prefix !== null), () => `snapshot network ${name} subnet ${subnet}`);
  assert(v6 === undefined || (v6.ok && prefix6 !== null), () => `snapshot network ${name} subnet6 ${subnet6}`);
  const net = newNetwork(
    name,
    v4?.ok && prefix !== null ? { subnet: v4.value, prefix } : undefined,
    v6?.ok && prefix6 !== null ? { subnet: v6.value, prefix: prefix6 } : undefined,
    split,
    enabled,
  );
  s.networks.set(name, net);
}

function restoreAgent(s: IpamState, [id, ip, ip6Text, vtep, blockRows]: AgentRow): AgentRec {
  const ip6 = ip6Text === null ? undefined : parseIpv6(ip6Text);
  assert(ip6Text === null || ip6 !== undefined, () => `snapshot agent ${id} ip6 ${ip6Text}`);
  assert(Number.isInteger(ip) && ip >= 0 && ip <= 0xffffffff, () => `snapshot agent ${id} ip ${ip}`);
  const agent: AgentRec = newAgent(id, ip as Ipv4, ip6, vtep);
  assert(!s.agents.has(id), () => `snapshot agent ${id} twice`);
  s.agents.set(id, agent);
  for (const [name, index4, index6, cursors] of blockRows) {
    const net = s.networks.get(name);
    assert(net !== undefined, () => `snapshot agent ${id} has a block in unknown network ${name}`);
    const pools = poolsOf(net, index4 ?? undefined, index6 ?? undefined);
    assert(pools.length === cursors.length, () => `snapshot agent ${id} network ${name}: ${cursors.length} cursors`);
    pools.forEach((p, i) => restoreCursors(p, cursors[i]));
    const block: BlockRec = { network: net, agent, index4: index4 ?? undefined, index6: index6 ?? undefined, pools };
    agent.blocks.set(name, block);
    net.blocks.set(id, block);
  }
  return agent;
}

function restoreCursors(pool: PoolRec, cursors: [number | null, string | null] | undefined): void {
  assert(cursors !== undefined, 'missing pool cursors');
  assert((pool.v4 === undefined) === (cursors[0] === null) && (pool.v6 === undefined) === (cursors[1] === null), 'snapshot cursors do not match the pool families');
  if (pool.v4 !== undefined && cursors[0] !== null) {
    assert(Number.isInteger(cursors[0]) && cursors[0] >= 1 && cursors[0] <= pool.v4.pool.lastOffset, () => `snapshot cursor ${cursors[0]} outside its pool`);
    pool.v4.pool.cursor = cursors[0];
  }
  if (pool.v6 !== undefined && cursors[1] !== null) {
    const cursor = Number(cursors[1]);
    assert(Number.isSafeInteger(cursor) && String(cursor) === cursors[1] && cursor >= 1 && cursor <= pool.v6.pool.lastOffset, () => `snapshot cursor6 ${cursors[1]} outside its pool`);
    pool.v6.pool.cursor = cursor;
  }
}

function restoreTasks(s: IpamState, c: TaskColumns, agents: readonly AgentRec[], networkNames: readonly string[]): void {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const names = view(c.names);
  const frameworks = view(c.frameworks);
  const agentCol = view(c.agents);
  const networkCol = view(c.networks);
  const ip4Col = view(c.ip4);
  const ip6Col = view(c.ip6);
  assert(c.ids.length === c.count && c.flags.length === c.count, () => `snapshot task columns disagree with count ${c.count}`);
  let extraRow = 0;
  let ip6Row = 0;
  for (let i = 0; i < c.count; i++) {
    const id = c.ids[i];
    assert(id !== undefined && !s.tasks.has(id), () => `snapshot task ${i}: id missing or repeated`);
    const agent = agents[agentCol.getUint32(4 * i)];
    assert(agent !== undefined, () => `snapshot task ${id}: agent code out of range`);
    const netCode = networkCol.getUint32(4 * i);
    const net = netCode === noNetwork ? undefined : s.networks.get(networkNames[netCode] ?? '');
    assert(netCode === noNetwork || net !== undefined, () => `snapshot task ${id}: network code out of range`);
    const flags = c.flags[i] ?? 0;
    const containerizer: Containerizer = (flags & flagDocker) !== 0 ? 'docker' : 'mesos';
    let pool: PoolRec | undefined;
    let ip4 = -1;
    let ip6 = -1;
    if (net !== undefined) {
      const block = agent.blocks.get(net.name);
      assert(block !== undefined, () => `snapshot task ${id}: agent ${agent.id} has no block in ${net.name}`);
      pool = poolFor(block, containerizer);
      if ((flags & flagIp4) !== 0) {
        ip4 = ip4Col.getUint32(4 * i);
        pool.v4?.pool.take(ip4);
      }
      if ((flags & flagIp6) !== 0) {
        const high = ip6Col.getUint32(16 * ip6Row + 8);
        assert(ip6Col.getBigUint64(16 * ip6Row) === 0n && high < 2 ** 21, () => `snapshot task ${id}: IPv6 offset beyond 2^53`);
        ip6 = high * 2 ** 32 + ip6Col.getUint32(16 * ip6Row + 12);
        ip6Row++;
        pool.v6?.pool.take(ip6);
      }
      assert((pool.v4 === undefined) === (ip4 < 0) && (pool.v6 === undefined) === (ip6 < 0), () => `snapshot task ${id}: addresses do not match its pool`);
    }
    // Extras are in task row order: one pointer walks them alongside the rows.
    const next = c.extras[extraRow];
    const extra = next !== undefined && next[0] === i ? next : undefined;
    if (extra !== undefined) extraRow++;
    const task = newTask({
      id,
      name: nameOf(id, c.nameDict[names.getUint32(4 * i)] ?? ''),
      framework: c.frameworkDict[frameworks.getUint32(4 * i)] ?? '',
      agent,
      network: net,
      containerizer,
      ports: extra ? packPorts(extra[1].map(portOf)) : noPorts,
      labels: extra ? labelsOrShared(labelsOf(extra[2])) : noLabels,
      pool,
      ip4,
      ip6,
    });
    linkTask(s, task);
  }
  assert(extraRow === c.extras.length && 16 * ip6Row === c.ip6.length, 'snapshot extras or IPv6 column not fully used');
}

/** The id's string when the name equals it (TaskRec: one string instead of two). */
const nameOf = (id: string, name: string): string => (name === id ? id : name);

function portOf([name, protocol, containerPort, hostPort]: PortRow): PortMapping {
  return { ...(name !== null && { name }), protocol, containerPort, ...(hostPort !== null && { hostPort }) };
}

function labelsOf(flat: readonly string[]): Record<string, string> {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] ?? '', flat[i + 1] ?? '']);
  return Object.fromEntries(pairs);
}
