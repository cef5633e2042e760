export { RaftIoMetrics, fsyncBucketsSeconds, entriesPerSaveBuckets, snapshotBucketsSeconds, answerableBucketsSeconds } from './raft-io.js';
export { TimedStorage } from './timed-storage.js';
export type { StorageTimingHooks } from './timed-storage.js';
export { TimedStateMachine } from './timed-state-machine.js';
export type { StateMachineTimingHooks } from './timed-state-machine.js';
export { AnswerableClock, answerableLimits } from './answerable.js';
export { TimedTransport } from './timed-transport.js';
export { registerDnsQueryMetrics, registerDnsUdpMetrics, dnsQueryFamilies } from './dns-queries.js';
export type { DnsQuerySource, DnsUdpSource } from './dns-queries.js';
