// The public surface of raft/core: the shared vocabulary, the core and its configuration.
export * from './types.js';
export { AssertionError, assert, assertNever } from './assert.js';
export { RaftCore } from './raft.js';
export type { CoreConfig, CoreLimits, CoreStatus, ProgressStatus, ProposeErrorCode, ProposeResult, TransferResult } from './raft.js';
export { defaultLimits, entryBytes, resolveLimits } from './limits.js';
export { applyChange, checkChange, emptyMembership, majority, voters } from './membership.js';
