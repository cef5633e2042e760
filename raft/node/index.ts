export * from './api.js';
export * from './node.js';
export type { NodeLimits, RaftNodeOptions, LogLine } from './options.js';
export { defaultNodeLimits } from './options.js';
export type { CoreLike, CreateCore } from './ports.js';
export { parseMemberContext } from './membership.js';
export type { MemberAddresses } from './membership.js';
