// The DNS query families of /metrics, read from dns/'s counters at scrape time. dns/ counts every
// query in typed arrays (dns/server/metrics.ts); updating prom-client per query instead (a label
// object hashed for a counter and again for a histogram) was ~14% of a node's CPU under dnsperf.
// A scrape costs O(series); a query costs nothing here.
//
// Wiring (src/server.ts): `registerDnsQueryMetrics(registry, dns.metrics)` once both exist, and no
// `onQuery` for Prometheus. The families and labels are the ones ApiMetrics.onDnsQuery exported:
// vnetd_dns_queries_total{transport,type,rcode} and vnetd_dns_query_duration_seconds{transport}.
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { latencyBucketsSeconds } from '../../dns/index.js';
import type { DnsMetricsSnapshot } from '../../dns/index.js';

/** What the families read: dns/'s DnsMetrics (DnsServer.metrics), or a stand-in in tests. */
export interface DnsQuerySource {
  snapshot(): DnsMetricsSnapshot;
}

export const dnsQueryFamilies = {
  queries: 'vnetd_dns_queries_total',
  seconds: 'vnetd_dns_query_duration_seconds',
} as const;

type BucketValue = { labels: Record<string, string | number>; value: number; metricName: string };

/**
 * A histogram whose buckets are dns/'s: prom-client can only observe one value at a time, so its
 * export is overridden to print the counts the source holds (cumulative, as Prometheus wants).
 */
class SourcedHistogram extends Histogram<'transport'> {
  private source: DnsQuerySource | undefined;

  constructor(registry: Registry, source: DnsQuerySource) {
    super({
      name: dnsQueryFamilies.seconds,
      help: 'DNS answer latency from packet arrival to the answer handed to the socket, by transport',
      labelNames: ['transport'],
      buckets: [...latencyBucketsSeconds],
      registers: [registry],
    });
    this.source = source;
  }

  override async get(): ReturnType<Histogram<'transport'>['get']> {
    return this.exported();
  }

  /** The registry prefers this to get() when formatting the text exposition. */
  async getForPromString(): ReturnType<Histogram<'transport'>['get']> {
    return this.exported();
  }

  private exported(): Awaited<ReturnType<Histogram<'transport'>['get']>> {
    const values: BucketValue[] = [];
    const snapshot = this.source?.snapshot();
    if (snapshot !== undefined) {
      for (const transport of ['udp', 'tcp'] as const) {
        const h = snapshot.latencyByTransport[transport];
        if (h.count === 0) continue;
        let cumulative = 0;
        h.bucketsSeconds.forEach((le, i) => {
          cumulative += h.counts[i]!;
          values.push({ labels: { le, transport }, value: cumulative, metricName: `${dnsQueryFamilies.seconds}_bucket` });
        });
        values.push({ labels: { le: '+Inf', transport }, value: h.count, metricName: `${dnsQueryFamilies.seconds}_bucket` });
        values.push({ labels: { transport }, value: h.sum, metricName: `${dnsQueryFamilies.seconds}_sum` });
        values.push({ labels: { transport }, value: h.count, metricName: `${dnsQueryFamilies.seconds}_count` });
      }
    }
    // The label type of prom-client's values has no `le`; the text format takes any label.
    return { name: dnsQueryFamilies.seconds, help: 'DNS answer latency from packet arrival to the answer handed to the socket, by transport', type: 'histogram' as never, aggregator: 'sum', collect: () => undefined, values: values as never };
  }
}

/** Registers vnetd_dns_queries_total and vnetd_dns_query_duration_seconds over `source`. */
export function registerDnsQueryMetrics(registry: Registry, source: DnsQuerySource): void {
  new Counter({
    name: dnsQueryFamilies.queries,
    help: 'DNS queries answered, by transport, query type (other for unnamed types) and rcode',
    labelNames: ['transport', 'type', 'rcode'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of source.snapshot().series) this.inc({ transport: s.transport, type: s.type, rcode: s.rcode }, s.count);
    },
  });
  new SourcedHistogram(registry, source);
}

/** The batching UDP addon's counters (dns/native), when the DNS server uses it. */
export interface DnsUdpSource {
  stats(): { readonly datagrams: number; readonly truncated: number; readonly sendDropped: number; readonly batches: number } | undefined;
}

/**
 * vnetd_dns_udp_datagrams_total{outcome}: datagrams the batching addon received, dropped for being
 * longer than a receive slot, and answers the kernel would not take (a full send buffer: UDP loss
 * on our side); vnetd_dns_udp_batches_total: recvmmsg calls that returned datagrams. Absent while
 * the server uses node:dgram.
 */
export function registerDnsUdpMetrics(registry: Registry, source: DnsUdpSource): void {
  new Counter({
    name: 'vnetd_dns_udp_datagrams_total',
    help: 'UDP datagrams through the batching addon, by outcome: received, truncated (longer than a receive slot, dropped), send_dropped (answers the kernel did not take)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const s = source.stats();
      if (s === undefined) return;
      this.inc({ outcome: 'received' }, s.datagrams);
      this.inc({ outcome: 'truncated' }, s.truncated);
      this.inc({ outcome: 'send_dropped' }, s.sendDropped);
    },
  });
  new Counter({
    name: 'vnetd_dns_udp_batches_total',
    help: 'recvmmsg calls of the batching UDP addon that returned datagrams (datagrams per batch = received / this)',
    registers: [registry],
    collect() {
      this.reset();
      const s = source.stats();
      if (s !== undefined) this.inc(s.batches);
    },
  });
}
