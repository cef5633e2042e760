// One simulated server: a RaftCore (absent while the server is down), the disk that survives its
// crashes, the volatile state machine, and the bookkeeping its clients and the checkers need.

import type { RaftCore } from '../core/raft.js';
import type { NodeId, Ready, SoftState } from '../core/types.js';
import type { SimDisk } from './disk.js';
import { KvStateMachine } from './kv.js';
import type { Prng } from './prng.js';
import { ShadowLog } from './shadow-log.js';

export interface PendingProposal {
  readonly term: number;
  readonly writeId: number;
  /** The liveness phase's proposal, which must commit everywhere. */
  readonly final: boolean;
}

export interface PendingRead {
  /** The highest index acknowledged to a client when the read started. */
  readonly floor: number;
  /** The read index the core answered with, once it has. */
  index: number | null;
}

export class SimNode {
  core: RaftCore | null = null;
  sm = new KvStateMachine();
  /** Bumped at every crash and restart: disk completions of an earlier life are ignored. */
  incarnation = 0;
  /** The Ready whose write is on its way to the disk (the core is blocked until it is durable). */
  inflight: { readonly ready: Ready; readonly writeId: number } | null = null;
  readonly log = new ShadowLog();
  role: SoftState['role'] = 'follower';
  term = 0;
  commit = 0;
  readonly proposals = new Map<number, PendingProposal>();
  readonly reads = new Map<string, PendingRead>();
  /** A process pause (a long GC, a stalled VM) lasts until this virtual time: nothing runs. */
  pausedUntil = 0;
  /** Ticks per clock tick of the simulation (clock drift), and the fraction carried over. */
  clockRate = 1;
  tickCarry = 0;
  /** Removed from the cluster: stays down for good. */
  stopped = false;
  /** A removal of this node was accepted by a leader: it is never added back (ids are not reused). */
  removalProposed = false;
  /** Has ever been started (spares start only when they join). */
  started = false;

  constructor(
    readonly id: NodeId,
    /** Position in creation order: a small number for the trace hash. */
    readonly ordinal: number,
    readonly disk: SimDisk,
    /** The stream the core's `random` draws from (its election timeouts). */
    readonly rng: Prng,
  ) {}

  get up(): boolean {
    return this.core !== null;
  }

  /** Up and not paused at `now`: it can take client requests. */
  active(now: number): boolean {
    return this.core !== null && this.pausedUntil <= now;
  }
}
