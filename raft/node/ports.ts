// The core as the driver uses it. raft/core's RaftCore satisfies CoreLike; the driver's unit tests
// inject a scripted fake through RaftNodeOptions.createCore.

import type { CoreConfig, CoreStatus, ProgressStatus, ProposeResult } from '../core/core-types.js';
import type { ConfChange, Entry, LogIndex, Message, NodeId, Ready, RestoredState } from '../core/types.js';

// The driver speaks the core's own result and status types; a fake core need not report `vote`.
export type CoreProposeResult = ProposeResult;
export type CoreProgress = ProgressStatus;
export type CoreStatusLike = Omit<CoreStatus, 'vote'>;

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
  takeCommitted(applied: LogIndex): readonly Entry[];
  status(): CoreStatusLike;
}

/** The core's own configuration; the simulator-only `unsafe` switches never come from the driver. */
export type CoreConfigLike = Omit<CoreConfig, 'unsafe'>;

export type CreateCore = (config: CoreConfigLike, restored: RestoredState) => CoreLike;
