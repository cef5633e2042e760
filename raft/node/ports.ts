// The core as the driver uses it. raft/core's RaftCore satisfies CoreLike; the driver's unit tests
// inject a scripted fake through RaftNodeOptions.createCore.

import type {
  ConfChange, LogIndex, Membership, Message, NodeId, Ready, RestoredState, Role, SoftState, Term,
} from '../core/types.js';

export type CoreProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | {
      readonly ok: false;
      readonly code: 'not_leader' | 'transferring' | 'overloaded' | 'too_large' | 'change_pending' | 'unknown_member';
      readonly leader: NodeId | null;
      readonly message: string;
    };

export interface CoreProgress {
  readonly id: NodeId;
  readonly role: Role;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
}

export interface CoreStatusLike {
  readonly id: NodeId;
  readonly role: SoftState['role'];
  readonly isLearner: boolean;
  readonly term: Term;
  readonly leader: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly membership: Membership;
  readonly progress: readonly CoreProgress[];
  readonly transferringTo: NodeId | null;
}

export interface CoreLike {
  tick(): void;
  step(msg: Message): void;
  propose(data: Uint8Array): CoreProposeResult;
  proposeConfChange(change: ConfChange): CoreProposeResult;
  readIndex(context: string): void;
  transferLeadership(to: NodeId): { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };
  compact(index: LogIndex, data: Uint8Array): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  status(): CoreStatusLike;
}

export interface CoreConfigLike {
  readonly id: NodeId;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly random: () => number;
  readonly limits?: Record<string, number>;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export type CreateCore = (config: CoreConfigLike, restored: RestoredState) => CoreLike;
