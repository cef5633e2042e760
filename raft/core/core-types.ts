// The public types of the RaftCore API (contract: /tmp/core-api.md, raft/README.md), and the role
// states the core moves between. raft.ts re-exports them.

import type { CoreLimits } from './limits.js';
import type { Progress } from './progress.js';
import type { ReadOnly } from './read-only.js';
import type { LogIndex, Membership, NodeId, SoftState, Term } from './types.js';

export type { CoreLimits } from './limits.js';

export interface CoreConfig {
  readonly id: NodeId;
  /** The election timeout is drawn from [electionTicks, 2*electionTicks) at each role change. */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Injected seeded PRNG, values in [0, 1). The core has no randomness of its own. */
  readonly random: () => number;
  readonly limits?: Partial<CoreLimits>;
  /** Deliberately broken variants, only for the simulator's "it bites" tests. Never in production. */
  readonly unsafe?: {
    /** Append and vote responses go in `messages`, not `messagesAfterPersist`. */
    readonly ackBeforeSync?: boolean;
    /** Ignore Figure 8: commit an old-term entry by counting replicas. */
    readonly commitOldTermByCount?: boolean;
    /** Never put the vote into hardState (two votes in one term after a crash). */
    readonly forgetVote?: boolean;
  };
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export type ProposeErrorCode =
  | 'not_leader'
  | 'transferring'
  | 'overloaded'
  | 'too_large'
  | 'change_pending'
  | 'unknown_member';

export type ProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | { readonly ok: false; readonly code: ProposeErrorCode; readonly leader: NodeId | null; readonly message: string };

export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'not_leader' | 'unknown_member'; readonly message: string };

export interface ProgressStatus {
  readonly id: NodeId;
  readonly role: 'voter' | 'learner';
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
}

export interface CoreStatus {
  readonly id: NodeId;
  readonly role: SoftState['role'];
  readonly isLearner: boolean;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: LogIndex;
  /** The highest committed index handed out in a Ready and advanced. */
  readonly applied: LogIndex;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  /** The effective membership (that of the last conf entry appended). */
  readonly membership: Membership;
  /** Leader only (every other member, never itself), else []. */
  readonly progress: readonly ProgressStatus[];
  readonly transferringTo: NodeId | null;
}

/** Leader-only state lives only on the leader variant (STYLE rule 2). */
export interface LeaderState {
  readonly kind: 'leader';
  readonly progress: Map<NodeId, Progress>;
  readonly reads: ReadOnly;
  transferee: NodeId | null;
  heartbeatElapsed: number;
  /** Entries were appended since the last broadcast: send them when the next Ready is taken. */
  bcastPending: boolean;
}

export type RoleState =
  | { readonly kind: 'follower'; leader: NodeId | null }
  | { readonly kind: 'precandidate'; readonly votes: Map<NodeId, boolean> }
  | { readonly kind: 'candidate'; readonly votes: Map<NodeId, boolean> }
  | LeaderState;
