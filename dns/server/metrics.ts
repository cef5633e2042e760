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
  private readonly types = new Map<number, number>();
  private readonly rcodes = new Map<number, number>();
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
    this.types.set(qtype, (this.types.get(qtype) ?? 0) + 1);
    this.rcodes.set(rcode, (this.rcodes.get(rcode) ?? 0) + 1);
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
    for (const [t, n] of this.types) byType[t < 0 ? 'unreadable' : typeName(t)] = n;
    const byRcode: Record<string, number> = {};
    for (const [r, n] of this.rcodes) byRcode[rcodeName(r)] = n;
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
