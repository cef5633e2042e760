// Query counters as plain numbers, cheap enough to bump on every query; src/ reads them (or
// subscribes with `onQuery`) to feed Prometheus. Latency is from packet arrival to handing the
// answer to the socket, in seconds, in fixed buckets (Prometheus histogram shape).
import { rcodeName, typeName } from '../wire/constants.js';

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

export interface DnsMetricsSnapshot {
  readonly queries: { readonly [transport: string]: number };
  readonly byType: { readonly [type: string]: number };
  readonly byRcode: { readonly [rcode: string]: number };
  readonly dropped: number;
  readonly forwarded: number;
  readonly internalErrors: number;
  readonly tcpConnections: number;
  readonly tcpConnectionsRefused: number;
  readonly latency: { readonly bucketsSeconds: readonly number[]; readonly counts: readonly number[]; readonly sum: number; readonly count: number };
}

export class DnsMetrics {
  private readonly transports = { udp: 0, tcp: 0 };
  /** Counts by QTYPE (index 65536 = unreadable question) and by rcode (12 bits with EDNS). */
  private readonly types = new Float64Array(65537);
  private readonly rcodes = new Float64Array(4096);
  private readonly buckets = new Array<number>(latencyBucketsSeconds.length + 1).fill(0);
  private latencySum = 0;
  private latencyCount = 0;
  dropped = 0;
  forwarded = 0;
  internalErrors = 0;
  tcpConnections = 0;
  tcpConnectionsRefused = 0;

  constructor(private readonly onQuery?: (event: QueryEvent) => void) {}

  record(transport: Transport, qtype: number, rcode: number, seconds: number, forwarded: boolean): void {
    this.transports[transport]++;
    this.types[qtype < 0 ? 65536 : qtype & 0xffff]!++;
    this.rcodes[rcode & 0xfff]!++;
    let i = 0;
    while (i < latencyBucketsSeconds.length && seconds > latencyBucketsSeconds[i]!) i++;
    this.buckets[i]!++;
    this.latencySum += seconds;
    this.latencyCount++;
    if (forwarded) this.forwarded++;
    this.onQuery?.({ transport, qtype, rcode, seconds, forwarded });
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
    return {
      queries: { ...this.transports },
      byType,
      byRcode,
      dropped: this.dropped,
      forwarded: this.forwarded,
      internalErrors: this.internalErrors,
      tcpConnections: this.tcpConnections,
      tcpConnectionsRefused: this.tcpConnectionsRefused,
      latency: { bucketsSeconds: latencyBucketsSeconds, counts: [...this.buckets], sum: this.latencySum, count: this.latencyCount },
    };
  }
}
