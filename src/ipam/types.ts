// The public vocabulary of the IPAM state machine: the commands that travel through the Raft log,
// the results `apply` returns, the read-side views, and the change events the DNS layer listens
// to. Everything that crosses the log or the HTTP edge is plain data (no Maps, no class
// instances, no bigint): commands are msgpackr-encoded, views are JSON-serialisable as they are.
//
// Addresses in views are canonical text: dotted quad for IPv4, RFC 5952 for IPv6, and
// `addr/len` for CIDRs. Optional fields are omitted, never `undefined` or `null`.

/** How a network's per-agent block is shared between the containerizers. */
export type Split = 'halves' | 'shared';
export type Containerizer = 'mesos' | 'docker';
/** Which pool of an agent's block an address comes from. `shared` only with split "shared". */
export type PoolKind = 'mesos' | 'docker' | 'shared';
export type Protocol = 'tcp' | 'udp';

// ---------------------------------------------------------------------------------------------
// Commands (the payload of a Raft log entry, msgpackr-encoded by encodeCommand).
// The HTTP layer validates with ajv before proposing, but apply() validates the shape again and
// never trusts it: a malformed command yields an `invalid` error and changes nothing.
// ---------------------------------------------------------------------------------------------

/** Cluster-wide overlay settings; set once at bootstrap, before any agent registers. */
export interface ConfigureCommand {
  readonly type: 'configure';
  /** IPv4 CIDR the VTEP addresses come from (default 44.128.0.0/20); prefix length 8..30. */
  readonly vtepSubnet: string;
  /** Three-byte OUI of VTEP MACs, `70:b3:d5` or DC/OS's `70:B3:D5:00:00:00` form. */
  readonly vtepMacOui: string;
}

export interface CreateNetworkCommand {
  readonly type: 'createNetwork';
  readonly name: string;
  /** IPv4 subnet (no host bits set); requires `prefix`. */
  readonly subnet?: string;
  /** Per-agent IPv4 block length. */
  readonly prefix?: number;
  /** IPv6 subnet (no host bits set); requires `prefix6`. */
  readonly subnet6?: string;
  /** Per-agent IPv6 block length. */
  readonly prefix6?: number;
  /** Default "halves". */
  readonly split?: Split;
  /** Default true. */
  readonly enabled?: boolean;
}

export interface PatchNetworkCommand {
  readonly type: 'patchNetwork';
  readonly name: string;
  readonly enabled: boolean;
}

export interface DeleteNetworkCommand {
  readonly type: 'deleteNetwork';
  readonly name: string;
  /** Release every task on the network instead of refusing with `in_use`. */
  readonly force: boolean;
}

export interface RegisterAgentCommand {
  readonly type: 'registerAgent';
  readonly id: string;
  readonly ip: string;
  readonly ip6?: string;
}

export interface DeleteAgentCommand {
  readonly type: 'deleteAgent';
  readonly id: string;
  /** Release every task on the agent instead of refusing with `in_use`. */
  readonly force: boolean;
}

export interface PortMapping {
  readonly name?: string;
  readonly protocol: Protocol;
  /** 1..65535 */
  readonly containerPort: number;
  /** 1..65535; present means the port is mapped on the agent (autoip then answers the agent IP). */
  readonly hostPort?: number;
}

export interface AllocateTaskCommand {
  readonly type: 'allocateTask';
  readonly id: string;
  readonly name: string;
  readonly framework: string;
  readonly agent: string;
  /** Absent: host networking, the task is recorded without an IP. */
  readonly network?: string;
  /** Default "mesos". */
  readonly containerizer?: Containerizer;
  readonly ports?: readonly PortMapping[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ReleaseTaskCommand {
  readonly type: 'releaseTask';
  readonly id: string;
}

export type IpamCommand =
  | ConfigureCommand
  | CreateNetworkCommand
  | PatchNetworkCommand
  | DeleteNetworkCommand
  | RegisterAgentCommand
  | DeleteAgentCommand
  | AllocateTaskCommand
  | ReleaseTaskCommand;

export type IpamCommandType = IpamCommand['type'];

// ---------------------------------------------------------------------------------------------
// Errors: one type for the layer, a closed code set. The HTTP edge maps each code to a status in
// one exhaustive table (suggested: invalid 400, not_found 404, everything else 409).
// ---------------------------------------------------------------------------------------------

export const ipamErrorCodes = [
  'invalid', // the command is malformed or breaks a rule; `field` names the offending field
  'not_found', // the network, agent (or task) named does not exist
  'conflict', // duplicate name, overlapping subnet, same task id with a different body, ...
  'exhausted', // the agent's half for this containerizer has no free address
  'in_use', // delete refused: tasks still hold allocations (use force)
  'disabled', // the network is disabled: no new allocations
  'no_block', // the agent has no block in the network (the network had none free for it)
  'vtep_exhausted', // no free VTEP address left for a new agent
] as const;
export type IpamErrorCode = (typeof ipamErrorCodes)[number];

export type IpamError =
  | {
      readonly code: 'invalid';
      readonly message: string;
      /** JSON pointer into the command, e.g. `/ports/0/hostPort`; `` for the whole command. */
      readonly field: string;
    }
  | {
      readonly code: 'not_found';
      readonly message: string;
      readonly kind: 'network' | 'agent' | 'task';
      readonly id: string;
    }
  | { readonly code: 'conflict'; readonly message: string; readonly field: string }
  | {
      readonly code: 'exhausted';
      readonly message: string;
      readonly network: string;
      readonly agent: string;
      readonly containerizer: PoolKind;
      readonly capacity: number;
      readonly used: number;
    }
  | {
      readonly code: 'in_use';
      readonly message: string;
      readonly kind: 'network' | 'agent';
      readonly id: string;
      /** How many tasks hold allocations. */
      readonly tasks: number;
    }
  | { readonly code: 'disabled'; readonly message: string; readonly network: string }
  | { readonly code: 'no_block'; readonly message: string; readonly network: string; readonly agent: string }
  | { readonly code: 'vtep_exhausted'; readonly message: string; readonly vtepSubnet: string; readonly agent: string };

export type IpamResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IpamError };

// ---------------------------------------------------------------------------------------------
// Views (read side). All are fresh plain objects; mutating them changes nothing.
// ---------------------------------------------------------------------------------------------

export interface ClusterConfigView {
  readonly vtepSubnet: string;
  /** Canonical lowercase three-byte form, e.g. `70:b3:d5`. */
  readonly vtepMacOui: string;
}

export interface NetworkView {
  readonly name: string;
  readonly subnet?: string;
  readonly prefix?: number;
  readonly subnet6?: string;
  readonly prefix6?: number;
  readonly split: Split;
  readonly enabled: boolean;
}

/** One address pool of an agent's block (a half, or the whole block for split "shared"). */
export interface PoolView {
  readonly kind: PoolKind;
  /** Bridge device name: `m-<net>` for mesos, `d-<net>` for docker; shared uses `m-<net>`. */
  readonly bridge: string;
  /** The pool's CIDR and its gateway (the first usable address), per family present. */
  readonly cidr?: string;
  readonly gateway?: string;
  readonly cidr6?: string;
  readonly gateway6?: string;
}

export interface AgentBlockView {
  readonly network: string;
  readonly subnet?: string;
  readonly subnet6?: string;
  /** mesos then docker for "halves"; one `shared` pool for "shared". */
  readonly pools: readonly PoolView[];
}

export interface AgentView {
  readonly id: string;
  readonly ip: string;
  readonly ip6?: string;
  /** e.g. `44.128.0.2` (no prefix length) */
  readonly vtepIp: string;
  /** e.g. `70:b3:d5:80:00:02` */
  readonly vtepMac: string;
  /** Blocks, sorted by network name. */
  readonly blocks: readonly AgentBlockView[];
  /** Enabled networks that could not give this agent a block (no free block), sorted. */
  readonly unallocated: readonly string[];
}

export interface TaskView {
  readonly id: string;
  readonly name: string;
  readonly framework: string;
  readonly agent: string;
  /** The agent's current addresses (they follow re-registration). */
  readonly agentIp: string;
  readonly agentIp6?: string;
  readonly network?: string;
  /** As given, default "mesos" (also recorded for host-network tasks). */
  readonly containerizer: Containerizer;
  /** Container IPs, CIDR-free: IPv4 first, then IPv6. Empty for host networking. */
  readonly ips: readonly string[];
  readonly ip?: string;
  readonly ip6?: string;
  /** The pool's gateway (bridge address) and prefix length, per family. */
  readonly gateway?: string;
  readonly prefixLength?: number;
  readonly gateway6?: string;
  readonly prefixLength6?: number;
  readonly ports: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface PoolUsage {
  readonly capacity: number;
  readonly used: number;
  readonly free: number;
}

/** Per agent: mesos and docker for "halves"; `shared` alone for "shared". */
export type AgentUsage =
  | { readonly agent: string; readonly mesos: PoolUsage; readonly docker: PoolUsage }
  | { readonly agent: string; readonly shared: PoolUsage };

/**
 * Usage of a network. Figures count IPv4 addresses when the network has a subnet, otherwise IPv6
 * addresses (above 2^53 the IPv6 capacity is approximate, as JSON numbers are). Capacity excludes
 * each pool's network, gateway and (IPv4) broadcast addresses.
 */
export interface NetworkUsage {
  readonly network: string;
  readonly capacity: number;
  readonly used: number;
  readonly free: number;
  /** Sorted by agent id; agents without a block in this network are absent. */
  readonly agents: readonly AgentUsage[];
}

/** DC/OS `/overlay-agent/overlay` (and one entry of the master state's `agents`). */
export interface DcosOverlayInfo {
  readonly name: string;
  readonly subnet?: string;
  readonly prefix?: number;
  readonly subnet6?: string;
  readonly prefix6?: number;
}
export interface DcosBridge {
  readonly name: string;
  /** The half's CIDR, e.g. `9.0.1.0/25` (as DC/OS reports it). */
  readonly ip?: string;
  readonly ip6?: string;
}
export interface DcosAgentOverlay {
  readonly info: DcosOverlayInfo;
  readonly subnet?: string;
  readonly subnet6?: string;
  readonly mesos_bridge?: DcosBridge;
  readonly docker_bridge?: DcosBridge;
  readonly backend: {
    readonly vxlan: {
      readonly vni: number;
      /** With the VTEP subnet's length, e.g. `44.128.0.2/20`. */
      readonly vtep_ip: string;
      readonly vtep_mac: string;
      readonly vtep_name: string;
    };
  };
  /** STATUS_FAILED with `error` for a network that had no free block for this agent. */
  readonly state: { readonly status: 'STATUS_OK' | 'STATUS_FAILED'; readonly error?: string };
}
export interface DcosAgent {
  readonly id: string;
  readonly ip: string;
  /** Enabled networks and networks the agent has a block in, sorted by name. */
  readonly overlays: readonly DcosAgentOverlay[];
}
/** DC/OS `GET /overlay-master/state`. */
export interface DcosMasterState {
  readonly network: {
    readonly vtep_subnet: string;
    /** DC/OS form, e.g. `70:B3:D5:00:00:00`. */
    readonly vtep_mac_oui: string;
    readonly overlays: readonly DcosOverlayInfo[];
  };
  readonly agents: readonly DcosAgent[];
}

// ---------------------------------------------------------------------------------------------
// Command results (the `value` of an ok result, by command type).
// ---------------------------------------------------------------------------------------------

export interface AgentRegistration {
  /** false when the id was already registered (blocks kept, ip/ip6 updated). */
  readonly created: boolean;
  readonly agent: AgentView;
  /** The DC/OS-shaped answer for `PUT /v1/agents/{id}`. */
  readonly overlay: DcosAgent;
}

export interface TaskAllocation {
  /** false when the same id with the same body was already allocated (nothing changed). */
  readonly created: boolean;
  readonly task: TaskView;
}

export interface ResultValues {
  readonly configure: ClusterConfigView;
  readonly createNetwork: NetworkView;
  readonly patchNetwork: NetworkView;
  readonly deleteNetwork: { readonly name: string; readonly releasedTasks: number };
  readonly registerAgent: AgentRegistration;
  readonly deleteAgent: { readonly id: string; readonly releasedTasks: number };
  readonly allocateTask: TaskAllocation;
  /** released false: there was no such task (release is idempotent). */
  readonly releaseTask: { readonly id: string; readonly released: boolean };
}

/** What `apply` returns. An empty command (a leader's no-op entry) yields `{ok: true, value: null}`. */
export type ApplyResult = IpamResult<ResultValues[IpamCommandType] | null>;
/** The result type of a given command, for callers that know what they proposed. */
export type ResultOf<C extends IpamCommandType> = IpamResult<ResultValues[C]>;

// ---------------------------------------------------------------------------------------------
// Change events for src/records (DNS). Invoked synchronously inside apply/restore, AFTER the
// state has changed, in a deterministic order. Listeners must not throw and must not call apply;
// they may call any query. Views passed are fresh copies.
// ---------------------------------------------------------------------------------------------

export interface IpamListener {
  /** A task was allocated (also host-network tasks). Not called for an idempotent repeat. */
  taskUpserted(task: TaskView): void;
  /** A task was released (directly, or by a forced network/agent delete), with its last view. */
  taskRemoved(task: TaskView): void;
  /**
   * An agent was registered or re-registered with a changed ip/ip6. Its tasks' `agentIp` changed
   * with it: re-read them with `listTasks({agent: id})` if you keep agent IPs per task.
   */
  agentChanged(agent: AgentView): void;
  /** An agent was deleted (after taskRemoved for each of its tasks). */
  agentRemoved(agent: AgentView): void;
  /** The whole state was replaced (restore): drop everything and re-read through the queries. */
  reset(): void;
}

export interface TaskFilter {
  readonly agent?: string;
  readonly network?: string;
  readonly framework?: string;
}

/** Defaults (REFERENCE.md §1: DC/OS vtep_subnet and vtep_mac_oui). */
export const defaultVtepSubnet = '44.128.0.0/20';
export const defaultVtepMacOui = '70:b3:d5';
/** DC/OS's VXLAN settings (REFERENCE.md §1), reported in the overlay shapes. */
export const vxlanVni = 1024;
export const vxlanVtepName = 'vtep1024';

/** The read side of the state machine (pure, synchronous; cost proportional to the result). */
export interface IpamQueries {
  /**
   * The log index of the last IPAM command applied (or in the restored snapshot); 0 before any.
   * Entries that never reach apply (membership changes, leader no-ops) do not move it, so it can
   * be below the Raft node's applied index: use the node's for X-Vnetd-Applied-Index.
   */
  readonly appliedIndex: number;
  config(): ClusterConfigView;
  getNetwork(name: string): NetworkView | undefined;
  /** Sorted by name. */
  listNetworks(): NetworkView[];
  networkUsage(name: string): NetworkUsage | undefined;
  getAgent(id: string): AgentView | undefined;
  /** Sorted by id. */
  listAgents(): AgentView[];
  /** DC/OS `/overlay-agent/overlay` for one agent. */
  agentOverlay(id: string): DcosAgent | undefined;
  /** DC/OS `GET /overlay-master/state`. */
  overlayMasterState(): DcosMasterState;
  getTask(id: string): TaskView | undefined;
  /** Sorted by id; filters combine with AND. */
  listTasks(filter?: TaskFilter): TaskView[];
  taskCount(): number;
}
