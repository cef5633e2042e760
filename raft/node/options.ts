// The driver's options and limits, validated once at open. Every queue the driver keeps has a
// named bound here, with its unit in the name (STYLE rule 6).

import type { Member, NodeId } from '../core/types.js';
import type { StateMachine } from './api.js';
import type { RaftStorage } from '../storage/storage.js';
import type { Transport } from '../transport/transport.js';
import type { CreateCore } from './ports.js';
import { parseMemberContext } from './membership.js';

export interface NodeLimits {
  /** Proposals (and membership changes) waiting for their entry to be applied. */
  readonly pendingProposalsMax: number;
  /** Linearizable reads waiting for a read index or for the applied index to reach it. */
  readonly pendingReadsMax: number;
  /** A learner counts as caught up for promote() when its match index is within this many entries of the leader's last index. */
  readonly promoteLagEntriesMax: number;
}

export const defaultNodeLimits: NodeLimits = {
  pendingProposalsMax: 65_536,
  pendingReadsMax: 16_384,
  promoteLagEntriesMax: 64,
};

/** One structured log line; written as JSON by the caller's sink. */
export type LogLine = { readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string } & Record<string, unknown>;

export interface RaftNodeOptions {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  /** Started by the caller (so a port-0 address is known before bootstrap); the node closes it on stop(). */
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  /**
   * How a node with empty storage starts: `{ members }` bootstraps a new cluster with these initial
   * voters (their contexts carry their addresses); `'join'` starts with an empty membership and
   * waits for a leader to add it. Ignored when storage already holds state.
   */
  readonly bootstrap: { readonly members: readonly Member[] } | 'join';
  /**
   * Members of the cluster this node joins (their contexts carry addresses), used for the transport
   * until this node finds itself in the membership: a joining node receives the membership from the
   * leader, but must be able to answer the leader before that (transport connections are one-way).
   */
  readonly knownPeers?: readonly Member[];
  /** Timer period; election and heartbeat timeouts are counted in ticks. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a state machine snapshot and compact the log every this many applied entries. */
  readonly snapshotEntries?: number;
  /**
   * A due snapshot waits for a quiet moment: until no entry has been applied for this long (checked
   * every tick), or until a bound is due, whichever comes first. Encoding a snapshot stops the
   * node's event loop (0.12 s at 300,000 IPAM tasks, cold), and every replica reaches the same
   * index at the same time: taken under load, it stalls every write in flight. The bound is
   * staggered by the member's rank in id order among the voters (or the learners), from
   * 2 × snapshotEntries (lowest id) down towards 1 ×, so replicas under continuous load do not all encode at once.
   * 0 (the default) takes it as soon as it is due.
   */
  readonly snapshotIdleMs?: number;
  /** Default deadline for propose(), read() and membership changes. */
  readonly proposalTimeoutMs?: number;
  /**
   * How long the leader may hold an append to a voter that only carries a new commit index (no entries),
   * hoping the next write's append carries it instead; 0 (the default) sends every message of a
   * Ready at once. Learners are never held. See RaftNode.splitMessages.
   */
  readonly commitHoldMs?: number;
  readonly limits?: Partial<NodeLimits>;
  /** Passed to the core (see CoreLimits in raft/core/raft.ts). */
  readonly coreLimits?: Readonly<Record<string, number>>;
  /** The consensus core; default raft/core's RaftCore (tests inject fakes). */
  readonly createCore?: CreateCore;
  /** Structured log sink (one object per line); default discards debug and writes the rest to stderr as JSON. */
  readonly logger?: (line: LogLine) => void;
  /** The raft address of a member; default reads `raft` from its JSON context. */
  readonly peerAddress?: (member: Member) => string | null;
  /** Randomness for election timeouts; default Math.random. */
  readonly random?: () => number;
  /**
   * Called when the state machine throws (a bug: replicas would diverge), storage fails, or an
   * invariant breaks. Default: log and crash
   * the process by rethrowing outside any promise. Tests inject a hook instead.
   */
  readonly onFatal?: (err: unknown) => void;
}

export interface ResolvedOptions {
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEntries: number;
  readonly snapshotIdleMs: number;
  readonly proposalTimeoutMs: number;
  readonly commitHoldMs: number;
  readonly limits: NodeLimits;
  readonly logger: (line: LogLine) => void;
  readonly peerAddress: (member: Member) => string | null;
  readonly random: () => number;
  readonly onFatal: (err: unknown) => void;
}

export const tickMsDefault = 100;
export const electionTicksDefault = 10;
export const heartbeatTicksDefault = 1;
export const snapshotEntriesDefault = 10_000;
export const proposalTimeoutMsDefault = 5_000;
/**
 * 2 ms: at one write in flight the next write's append leaves ~0.3 ms after the answer (traced on
 * 2 cores), well inside it; a follower's applied state (and its DNS) lags by at most this much
 * more when writes stop. A heartbeat (every tick) carries the commit index too.
 */
export const commitHoldMsDefault = 0;
const commitHoldMsMax = 1_000;

function defaultLogger(line: LogLine): void {
  if (line.level === 'debug') return;
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...line }) + '\n');
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function holdMs(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > commitHoldMsMax) throw new RangeError(`${name} must be an integer 0..${commitHoldMsMax}, got ${v}`);
  return v;
}

/** Fills defaults and checks ranges; a bad option is a RangeError naming it, before anything starts. */
export function resolveOptions(o: RaftNodeOptions): ResolvedOptions {
  const limits = { ...defaultNodeLimits, ...o.limits };
  for (const [k, v] of Object.entries(limits)) positiveInt(`limits.${k}`, v);
  const electionTicks = positiveInt('electionTicks', o.electionTicks ?? electionTicksDefault);
  const heartbeatTicks = positiveInt('heartbeatTicks', o.heartbeatTicks ?? heartbeatTicksDefault);
  if (heartbeatTicks >= electionTicks) {
    throw new RangeError(`heartbeatTicks (${heartbeatTicks}) must be below electionTicks (${electionTicks})`);
  }
  const logger = o.logger ?? defaultLogger;
  return {
    tickMs: positiveInt('tickMs', o.tickMs ?? tickMsDefault),
    electionTicks,
    heartbeatTicks,
    snapshotEntries: positiveInt('snapshotEntries', o.snapshotEntries ?? snapshotEntriesDefault),
    snapshotIdleMs: holdMs('snapshotIdleMs', o.snapshotIdleMs ?? 0),
    proposalTimeoutMs: positiveInt('proposalTimeoutMs', o.proposalTimeoutMs ?? proposalTimeoutMsDefault),
    commitHoldMs: holdMs('commitHoldMs', o.commitHoldMs ?? commitHoldMsDefault),
    limits,
    logger,
    peerAddress: o.peerAddress ?? ((m) => parseMemberContext(m.context).raft),
    random: o.random ?? Math.random,
    onFatal:
      o.onFatal ??
      ((err) => {
        logger({ level: 'error', msg: 'fatal: stopping the process (state machine throw, storage failure or broken invariant)', err: String(err) });
        // Rethrow outside the promise chain so the process dies instead of serving diverged state.
        process.nextTick(() => {
          throw err;
        });
      }),
  };
}
