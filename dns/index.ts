// The public surface of dns/ for src/ (and tests): build a zone index, fill it, serve it.
export type { RecordDataByType, RecordType, ResolvedZoneConfig, SrvData, ZoneConfig, ZoneIndex } from './zone.js';
export { recordTypes } from './zone.js';
export { createZoneIndex, MemoryZoneIndex } from './zone-index.js';
export { DnsError, type DnsErrorCode } from './errors.js';
export { respond, handlers } from './respond.js';
export type { Outcome, RespondOptions } from './handler.js';
export { startDnsServer, type DnsServer, type DnsServerOptions } from './server/dns-server.js';
export { DnsMetrics, latencyBucketsSeconds, labelledTypes, labelledRcodes, type DnsMetricsSnapshot, type LatencyHistogram, type QuerySeries, type QueryEvent } from './server/metrics.js';
export { Forwarder, type ForwarderOptions } from './forward/upstream.js';
export { cidrMatcher, defaultAllowRecursion } from './forward/cidr.js';
export { limits } from './limits.js';
export { typeName, rcodeName } from './wire/constants.js';
