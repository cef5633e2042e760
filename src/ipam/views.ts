// Read-side views: fresh plain objects built from the records (never the records themselves, so a
// caller cannot corrupt the state). Shapes are in types.ts; DC/OS shapes follow REFERENCE.md §1.

import type { Cidr4, Ipv4 } from './addr.js';
import { formatCidr4, formatCidr6, formatIpv4, formatIpv6, ipv4At, ipv6At } from './addr.js';
import type { AgentRec, BlockRec, NetworkRec, PoolRec, TaskRec } from './records.js';
import { byId, poolFigures, sortedKeys, unpackPorts } from './records.js';
import { LowestFree } from './pool.js';
import { vxlanVni, vxlanVtepName } from './types.js';
import type {
  AgentBlockView,
  AgentUsage,
  AgentView,
  DcosAgent,
  DcosAgentOverlay,
  DcosBridge,
  DcosMasterState,
  DcosOverlayInfo,
  NetworkUsage,
  NetworkView,
  PoolUsage,
  PoolView,
  TaskView,
} from './types.js';

export interface ConfigRec {
  readonly vtepSubnet: Cidr4;
  /** Lowercase `xx:xx:xx`. */
  readonly oui: string;
  /** VTEP offsets 1..size-2 (not the network or broadcast address), lowest free first. */
  readonly vteps: LowestFree;
}

export function newConfig(vtepSubnet: Cidr4, oui: string): ConfigRec {
  const size = 2 ** (32 - vtepSubnet.len);
  return { vtepSubnet, oui, vteps: new LowestFree(1, size - 1) };
}

export function vtepSubnetText(config: ConfigRec): string {
  return formatCidr4(config.vtepSubnet);
}

export function vtepIp(config: ConfigRec, agent: AgentRec): Ipv4 {
  return ipv4At(config.vtepSubnet.addr, agent.vtep);
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** OUI + the low 24 bits of the VTEP IP (DC/OS overlay master). */
export function vtepMac(config: ConfigRec, agent: AgentRec): string {
  const ip = vtepIp(config, agent);
  return `${config.oui}:${hex2((ip >>> 16) & 255)}:${hex2((ip >>> 8) & 255)}:${hex2(ip & 255)}`;
}

export function networkView(net: NetworkRec): NetworkView {
  return {
    name: net.name,
    ...(net.v4 && { subnet: formatCidr4(net.v4.subnet), prefix: net.v4.prefix }),
    ...(net.v6 && { subnet6: formatCidr6(net.v6.subnet), prefix6: net.v6.prefix }),
    split: net.split,
    enabled: net.enabled,
  };
}

export function bridgeName(net: NetworkRec, pool: PoolRec): string {
  return `${pool.kind === 'docker' ? 'd' : 'm'}-${net.name}`;
}

function poolView(net: NetworkRec, pool: PoolRec): PoolView {
  return {
    kind: pool.kind,
    bridge: bridgeName(net, pool),
    ...(pool.v4 && { cidr: formatCidr4({ addr: pool.v4.base, len: pool.v4.len }), gateway: formatIpv4(ipv4At(pool.v4.base, 1)) }),
    ...(pool.v6 && { cidr6: formatCidr6({ addr: pool.v6.base, len: pool.v6.len }), gateway6: formatIpv6(ipv6At(pool.v6.base, 1n)) }),
  };
}

function blockCidrs(block: BlockRec): { subnet?: string; subnet6?: string } {
  const net = block.network;
  const out: { subnet?: string; subnet6?: string } = {};
  const first = block.pools[0];
  if (net.v4 !== undefined && first?.v4 !== undefined) out.subnet = formatCidr4({ addr: first.v4.base, len: net.v4.prefix });
  if (net.v6 !== undefined && first?.v6 !== undefined) out.subnet6 = formatCidr6({ addr: first.v6.base, len: net.v6.prefix });
  return out;
}

function blockView(block: BlockRec): AgentBlockView {
  return { network: block.network.name, ...blockCidrs(block), pools: block.pools.map((p) => poolView(block.network, p)) };
}

/** Enabled networks without a block for this agent: each had no free block when it was asked. */
export function unallocatedOf(agent: AgentRec, networks: ReadonlyMap<string, NetworkRec>): string[] {
  return sortedKeys(networks).filter((name) => networks.get(name)?.enabled === true && !agent.blocks.has(name));
}

export function agentView(config: ConfigRec, agent: AgentRec, networks: ReadonlyMap<string, NetworkRec>): AgentView {
  return {
    id: agent.id,
    ip: formatIpv4(agent.ip),
    ...(agent.ip6 !== undefined && { ip6: formatIpv6(agent.ip6) }),
    vtepIp: formatIpv4(vtepIp(config, agent)),
    vtepMac: vtepMac(config, agent),
    blocks: sortedKeys(agent.blocks).map((name) => {
      const block = agent.blocks.get(name);
      if (block === undefined) throw new Error('unreachable');
      return blockView(block);
    }),
    unallocated: unallocatedOf(agent, networks),
  };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Built on every task event (the records listener and the allocation's result read it), so
 * without object spreads and with the pools' gateway texts formatted once (PoolRec): on the
 * apply path of every replica (issue 4). Keys are set in the same order as always (JSON bodies
 * keep their field order).
 */
export function taskView(task: TaskRec): TaskView {
  const pool = task.pool;
  const v4 = pool?.v4;
  const v6 = pool?.v6;
  const agent = task.agent;
  const out = {} as Writable<TaskView>;
  out.id = task.id;
  out.name = task.name;
  out.framework = task.framework;
  out.agent = agent.id;
  out.agentIp = agent.ipText;
  if (agent.ip6Text !== undefined) out.agentIp6 = agent.ip6Text;
  if (task.network !== undefined) out.network = task.network.name;
  out.containerizer = task.containerizer;
  const ip = v4 !== undefined && task.ip4 >= 0 ? formatIpv4(ipv4At(v4.base, task.ip4)) : undefined;
  const ip6 = v6 !== undefined && task.ip6 >= 0 ? v6.texts.at(task.ip6) : undefined;
  out.ips = ip === undefined ? (ip6 === undefined ? [] : [ip6]) : ip6 === undefined ? [ip] : [ip, ip6];
  if (ip !== undefined && v4 !== undefined) {
    out.ip = ip;
    out.gateway = v4.gateway;
    out.prefixLength = v4.len;
  }
  if (ip6 !== undefined && v6 !== undefined) {
    out.ip6 = ip6;
    out.gateway6 = v6.gateway;
    out.prefixLength6 = v6.len;
  }
  out.ports = unpackPorts(task.ports);
  out.labels = { ...task.labels };
  return out;
}

function figures(pool: PoolRec): PoolUsage {
  const { capacity, used } = poolFigures(pool);
  return { capacity, used, free: capacity - used };
}

export function networkUsage(net: NetworkRec): NetworkUsage {
  let capacity = 0;
  let used = 0;
  const agents: AgentUsage[] = [];
  for (const agentId of sortedKeys(net.blocks)) {
    const block = net.blocks.get(agentId);
    if (block === undefined) continue;
    for (const pool of block.pools) {
      const f = poolFigures(pool);
      capacity += f.capacity;
      used += f.used;
    }
    const [first, second] = block.pools;
    if (first === undefined) continue;
    if (net.split === 'shared') agents.push({ agent: agentId, shared: figures(first) });
    else if (second !== undefined) agents.push({ agent: agentId, mesos: figures(first), docker: figures(second) });
  }
  return { network: net.name, capacity, used, free: capacity - used, agents };
}

// ----- DC/OS shapes -----

export function dcosInfo(net: NetworkRec): DcosOverlayInfo {
  return {
    name: net.name,
    ...(net.v4 && { subnet: formatCidr4(net.v4.subnet), prefix: net.v4.prefix }),
    ...(net.v6 && { subnet6: formatCidr6(net.v6.subnet), prefix6: net.v6.prefix }),
  };
}

function dcosBridge(net: NetworkRec, pool: PoolRec): DcosBridge {
  return {
    name: bridgeName(net, pool),
    ...(pool.v4 && { ip: formatCidr4({ addr: pool.v4.base, len: pool.v4.len }) }),
    ...(pool.v6 && { ip6: formatCidr6({ addr: pool.v6.base, len: pool.v6.len }) }),
  };
}

function dcosOverlay(config: ConfigRec, agent: AgentRec, net: NetworkRec): DcosAgentOverlay {
  const backend = {
    vxlan: {
      vni: vxlanVni,
      vtep_ip: formatCidr4({ addr: vtepIp(config, agent), len: config.vtepSubnet.len }),
      vtep_mac: vtepMac(config, agent),
      vtep_name: vxlanVtepName,
    },
  };
  const block = agent.blocks.get(net.name);
  if (block === undefined) {
    const error = `network ${net.name} has no free block for this agent`;
    return { info: dcosInfo(net), backend, state: { status: 'STATUS_FAILED', error } };
  }
  const [first, second] = block.pools;
  const mesos = first;
  // Split "shared": both bridges draw from the whole block.
  const docker = net.split === 'shared' ? first : second;
  return {
    info: dcosInfo(net),
    ...blockCidrs(block),
    ...(mesos && { mesos_bridge: dcosBridge(net, mesos) }),
    ...(docker && { docker_bridge: { ...dcosBridge(net, docker), name: `d-${net.name}` } }),
    backend,
    state: { status: 'STATUS_OK' },
  };
}

export function dcosAgent(config: ConfigRec, agent: AgentRec, networks: ReadonlyMap<string, NetworkRec>): DcosAgent {
  const overlays: DcosAgentOverlay[] = [];
  for (const name of sortedKeys(networks)) {
    const net = networks.get(name);
    if (net === undefined || (!net.enabled && !agent.blocks.has(name))) continue;
    overlays.push(dcosOverlay(config, agent, net));
  }
  return { id: agent.id, ip: formatIpv4(agent.ip), overlays };
}

export function dcosMasterState(
  config: ConfigRec,
  agents: ReadonlyMap<string, AgentRec>,
  networks: ReadonlyMap<string, NetworkRec>,
): DcosMasterState {
  return {
    network: {
      vtep_subnet: formatCidr4(config.vtepSubnet),
      vtep_mac_oui: `${config.oui.toUpperCase()}:00:00:00`,
      overlays: sortedKeys(networks).flatMap((name) => {
        const net = networks.get(name);
        return net === undefined ? [] : [dcosInfo(net)];
      }),
    },
    agents: byId(agents.values()).map((agent) => dcosAgent(config, agent, networks)),
  };
}
