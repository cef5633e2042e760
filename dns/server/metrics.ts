// Query counters as plain numbers in typed arrays, cheap enough to bump on every query: no object,
// label set or callback per query. src/ reads them at scrape time (`snapshot()`, whose `series` and
// `latencyByTransport` are already in Prometheus shape: bounded labels, cumulative buckets), so a
// scrape costs O(series) and a query a few array increments. Per-query prom-client updates were
// ~14% of vnetd's CPU under dnsperf. `onQuery` remains for tests and tools that want each event;
// it costs an object and a call per query, so the node does not use it.
//
// Latency is from packet arrival to handing the answer to the socket, in seconds, in fixed buckets.
import { qtype as T, rcode as R, rcodeName, typeName } from '../wire/constants.js';

export type Transport = 'udp' | 'tcp';

/** Histogram bucket upper bounds, in seconds. */
export const latencyBucketsSeconds: readonly number[] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1, 0.5, 2];

/** One answered query, for `onQuery` subscribers. qtype -1 = unreadable question. */
export interface QueryEvent {
  readonly transport: Transport;
  readonly qtype: number;
  readonly rcode: number;
  readonly seconds: number;
  readonly forwarded: boolean;
}

/** Query types and rcodes that get a label value of their own; the rest count as `other`. */
export const labelledTypes: readonly string[] = Object.keys(T);
export const labelledRcodes: readonly string[] = Object.keys(R);

/** One series of the query counter: answered queries with these labels (bounded sets). */
export interface QuerySeries {
  readonly transport: Transport;
  /** One of `labelledTypes`, `unreadable` or `other`. */
  readonly type: string;
  /** One of `labelledRcodes` or `other`. */
  readonly rcode: string;
  readonly count: number;
}

export interface LatencyHistogram {
  readonly bucketsSeconds: readonly number[];
  /** Per bucket, NOT cumulative; one more than `bucketsSeconds` (the last is above every bound). */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export interface DnsMetricsSnapshot {
  readonly queries: { readonly [transport: string]: number };
  readonly byType: { readonly [type: string]: number };
  readonly byRcode: { readonly [rcode: string]: number };
  /** Queries by transport × type × rcode, only the series that counted any. */
  readonly series: readonly QuerySeries[];
  readonly dropped: number;
  readonly forwarded: number;
  readonly internalErrors: number;
  readonly tcpConnections: number;
  readonly tcpConnectionsRefused: number;
  /** Both transports together. */
  readonly latency: LatencyHistogram;
  readonly latencyByTransport: { readonly udp: LatencyHistogram; readonly tcp: LatencyHistogram };
}

const transports: readonly Transport[] = ['udp', 'tcp'];
const typeSlots = labelledTypes.length + 2; // + unreadable, other
const unreadableSlot = labelledTypes.length;
const otherTypeSlot = labelledTypes.length + 1;
const rcodeSlots = labelledRcodes.length + 1; // + other
const otherRcodeSlot = labelledRcodes.length;
const bucketSlots = latencyBucketsSeconds.length + 1;

/** QTYPE → type slot, one byte per possible QTYPE, filled once. */
const typeSlotOf = new Uint8Array(65536).fill(otherTypeSlot);
labelledTypes.forEach((name, i) => {
  typeSlotOf[T[name as keyof typeof T]] = i;
});
/** Rcode (12 bits with EDNS) → rcode slot. */
const rcodeSlotOf = new Uint8Array(4096).fill(otherRcodeSlot);
labelledRcodes.forEach((name, i) => {
  rcodeSlotOf[R[name as keyof typeof R]] = i;
});

function slotName(slot: number): string {
  if (slot === unreadableSlot) return 'unreadable';
  if (slot === otherTypeSlot) return 'other';
  return labelledTypes[slot]!;
}

/** The bucket `seconds` falls in: a binary search over the 12 bounds (4 compares, not up to 12). */
function bucketOf(seconds: number): number {
  let lo = 0;
  let hi = latencyBucketsSeconds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seconds > latencyBucketsSeconds[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class DnsMetrics {
  /** Counts by QTYPE (index 65536 = unreadable question) and by rcode (12 bits with EDNS). */
  private readonly types = new Float64Array(65537);
  private readonly rcodes = new Float64Array(4096);
  /** [transport][type slot][rcode slot]. */
  private readonly joint = new Float64Array(transports.length * typeSlots * rcodeSlots);
  /** [transport][bucket], and per transport the sum of seconds. */
  private readonly buckets = new Float64Array(transports.length * bucketSlots);
  private readonly sums = new Float64Array(transports.length);
  dropped = 0;
  forwarded = 0;
  internalErrors = 0;
  tcpConnections = 0;
  tcpConnectionsRefused = 0;

  constructor(private readonly onQuery?: (event: QueryEvent) => void) {}

  record(transport: Transport, qtype: number, rcode: number, seconds: number, forwarded: boolean): void {
    const t = transport === 'udp' ? 0 : 1;
    const typeIndex = qtype < 0 ? 65536 : qtype & 0xffff;
    const code = rcode & 0xfff;
    this.types[typeIndex]!++;
    this.rcodes[code]!++;
    const typeSlot = qtype < 0 ? unreadableSlot : typeSlotOf[typeIndex]!;
    this.joint[(t * typeSlots + typeSlot) * rcodeSlots + rcodeSlotOf[code]!]!++;
    this.buckets[t * bucketSlots + bucketOf(seconds)]!++;
    this.sums[t]! += seconds;
    if (forwarded) this.forwarded++;
    if (this.onQuery !== undefined) this.onQuery({ transport, qtype, rcode, seconds, forwarded });
  }

  snapshot(): DnsMetricsSnapshot {
    const byType: Record<string, number> = {};
    this.types.forEach((n, t) => {
      if (n > 0) byType[t === 65536 ? 'unreadable' : typeName(t)] = n;
    });
    const byRcode: Record<string, number> = {};
    this.rcodes.forEach((n, r) => {
      if (n > 0) byRcode[rcodeName(r)] = n;
    });
    const series: QuerySeries[] = [];
    this.joint.forEach((count, i) => {
      if (count === 0) return;
      const rcodeSlot = i % rcodeSlots;
      const typeSlot = Math.floor(i / rcodeSlots) % typeSlots;
      const transport = transports[Math.floor(i / (rcodeSlots * typeSlots))]!;
      series.push({ transport, type: slotName(typeSlot), rcode: rcodeSlot === otherRcodeSlot ? 'other' : labelledRcodes[rcodeSlot]!, count });
    });
    const udp = this.histogram(0);
    const tcp = this.histogram(1);
    return {
      queries: { udp: udp.count, tcp: tcp.count },
      byType,
      byRcode,
      series,
      dropped: this.dropped,
      forwarded: this.forwarded,
      internalErrors: this.internalErrors,
      tcpConnections: this.tcpConnections,
      tcpConnectionsRefused: this.tcpConnectionsRefused,
      latency: {
        bucketsSeconds: latencyBucketsSeconds,
        counts: udp.counts.map((n, i) => n + tcp.counts[i]!),
        sum: udp.sum + tcp.sum,
        count: udp.count + tcp.count,
      },
      latencyByTransport: { udp, tcp },
    };
  }

  private histogram(t: number): LatencyHistogram {
    const counts = Array.from(this.buckets.subarray(t * bucketSlots, (t + 1) * bucketSlots));
    return { bucketsSeconds: latencyBucketsSeconds, counts, sum: this.sums[t]!, count: counts.reduce((a, b) => a + b, 0) };
  }
}
