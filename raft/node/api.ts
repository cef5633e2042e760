// The application-facing contract of a Raft node (in the spirit of hashicorp/raft's API). The
// application (src/) depends only on this file and on raft/core/types.ts, never on internals.

import type { LogIndex, NodeId, Role, Term } from '../core/types.js';

/**
 * The replicated state machine. `apply` must be deterministic: every replica applying the same
 * commands in the same order ends in byte-identical state. It must not throw for a bad command
 * (return an error result instead): a throw is a bug and stops the node.
 */
export interface StateMachine<Result = unknown> {
  apply(command: Uint8Array, index: LogIndex): Result;
  /** Serialise the whole state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replace the whole state with a snapshot's bytes. */
  restore(data: Uint8Array, index: LogIndex): void;
}

/** Errors a caller of the node can expect; `code` is a closed set. */
export type RaftErrorCode =
  | 'not_leader' // this node is not the leader; `leader` says who is, when known
  | 'timeout' // no outcome within the deadline: the command may still be applied later
  | 'transferring' // a leadership transfer is in progress; retry shortly
  | 'change_pending' // a membership change is already in flight
  | 'stopped' // the node is shutting down
  | 'too_large' // the command exceeds the entry size limit
  | 'unknown_member'
  | 'overloaded'; // the proposal queue is full

export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    /** For not_leader: the leader's id and its member context (addresses), when known. */
    readonly leader: { readonly id: NodeId; readonly context: string } | null = null,
  ) {
    super(message);
    this.name = 'RaftError';
  }
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly context: string;
  /** Known only on the leader. */
  readonly matchIndex: LogIndex | null;
  readonly reachable: boolean;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: 'follower' | 'candidate' | 'precandidate' | 'leader' | 'learner';
  readonly term: Term;
  readonly leader: NodeId | null;
  readonly commitIndex: LogIndex;
  readonly appliedIndex: LogIndex;
  readonly members: readonly PeerStatus[];
}

export interface RaftNodeEvents {
  /** After each batch of committed entries is applied (index = new applied index). */
  applied: (index: LogIndex) => void;
  /** The known leader changed (null while unknown). */
  leader: (leader: NodeId | null) => void;
  /** Membership as applied changed. */
  membership: (members: readonly PeerStatus[]) => void;
  /**
   * A snapshot became this node's base: a local one durable and the log compacted up to it, or a
   * leader's installed. Large buffers were freed around it (the application may want to know).
   */
  snapshot: (s: { readonly index: LogIndex; readonly kind: 'local' | 'installed' }) => void;
}

export interface RaftNodeApi {
  readonly id: NodeId;
  /** Resolves with the state machine's result once the entry is applied on this node. */
  propose(command: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<unknown>;
  /** Linearizable read barrier (ReadIndex): resolves with an index this node has applied. */
  read(options?: { readonly timeoutMs?: number }): Promise<LogIndex>;
  status(): NodeStatus;
  addLearner(id: NodeId, context: string): Promise<void>;
  promote(id: NodeId): Promise<void>;
  removeMember(id: NodeId): Promise<void>;
  transferLeadership(to: NodeId): Promise<void>;
  on<E extends keyof RaftNodeEvents>(event: E, listener: RaftNodeEvents[E]): void;
  off<E extends keyof RaftNodeEvents>(event: E, listener: RaftNodeEvents[E]): void;
  /** Stop timers and listeners, flush, close storage. */
  stop(): Promise<void>;
}
