// src/metrics/dns-queries.ts: the DNS query families read from dns/'s counters at scrape time
// (issue 5: /metrics counts queries by type, rcode and transport, and answer latency), checked
// against a real dns/ server answering UDP and TCP queries, and the bounded label sets.
import t from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { createZoneIndex, DnsMetrics, latencyBucketsSeconds, startDnsServer } from '../../dns/index.js';
import { registerDnsQueryMetrics, registerDnsUdpMetrics } from '../../src/metrics/index.js';
import { parseMetrics, series, value } from './scrape.js';

function udpAsk(port: number, name: string, type: 'A' | 'AAAA', id: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no answer to ${name} ${type}`));
    }, 5000);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve((dnsPacket.decode(msg) as unknown as { rcode: string }).rcode);
    });
    s.send(dnsPacket.encode({ type: 'query', id, questions: [{ type, name, class: 'IN' }] }), port, '127.0.0.1');
  });
}

function tcpAsk(port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        s.destroy();
        resolve((dnsPacket.decode(got.subarray(2, 2 + got.readUInt16BE(0))) as unknown as { rcode: string }).rcode);
      }
    });
    s.write(dnsPacket.streamEncode({ type: 'query', id: 9, questions: [{ type: 'A', name, class: 'IN' }] }));
  });
}

t.test('the batching UDP addon\'s counters: datagrams received and batches; absent under node:dgram', async (t) => {
  const zone = createZoneIndex({ origin: 'dcos.' });
  zone.setRRset('web.marathon.containerip.dcos.', 'A', ['9.0.1.2']);
  zone.setSerial(1);
  zone.setReady(true);
  for (const udpIo of ['native', 'dgram'] as const) {
    const server = await startDnsServer({ zone, udpIo }).catch(() => undefined);
    if (server === undefined) {
      t.comment(`udpIo ${udpIo} not available here (addon not built)`);
      continue;
    }
    const registry = new Registry();
    registerDnsUdpMetrics(registry, server.udp);
    for (let id = 1; id <= 3; id++) t.equal(await udpAsk(server.port, 'web.marathon.containerip.dcos', 'A', id), 'NOERROR');
    const s = parseMetrics(await registry.metrics());
    if (udpIo === 'native') {
      t.equal(value(s, 'vnetd_dns_udp_datagrams_total', { outcome: 'received' }), 3);
      t.equal(value(s, 'vnetd_dns_udp_datagrams_total', { outcome: 'send_dropped' }), 0);
      t.equal(value(s, 'vnetd_dns_udp_batches_total'), 3, 'one query at a time: one batch each');
    } else {
      t.equal(series(s, 'vnetd_dns_udp_datagrams_total').length, 0);
    }
    await server.close();
  }
});

t.test('issue 5 (/metrics): queries by transport, type and rcode and the latency histogram, read at scrape time', async (t) => {
  const zone = createZoneIndex({ origin: 'dcos.' });
  zone.setRRset('web.marathon.containerip.dcos.', 'A', ['9.0.1.2']);
  zone.setSerial(1);
  zone.setReady(true);
  const server = await startDnsServer({ zone });
  t.teardown(() => server.close());
  const registry = new Registry();
  registerDnsQueryMetrics(registry, server.metrics);
  const empty = parseMetrics(await registry.metrics());
  t.equal(empty.types.get('vnetd_dns_queries_total'), 'counter');
  t.equal(empty.types.get('vnetd_dns_query_duration_seconds'), 'histogram');
  t.equal(series(empty, 'vnetd_dns_queries_total').length, 0, 'no series before any query');

  t.equal(await udpAsk(server.port, 'web.marathon.containerip.dcos', 'A', 1), 'NOERROR');
  t.equal(await udpAsk(server.port, 'WEB.marathon.containerip.dcos', 'A', 2), 'NOERROR');
  t.equal(await udpAsk(server.port, 'web.marathon.containerip.dcos', 'AAAA', 3), 'NOERROR');
  t.equal(await udpAsk(server.port, 'nope.marathon.containerip.dcos', 'A', 4), 'NXDOMAIN');
  t.equal(await tcpAsk(server.port, 'web.marathon.containerip.dcos'), 'NOERROR');

  const s = parseMetrics(await registry.metrics());
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'udp', type: 'A', rcode: 'NOERROR' }), 2);
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'udp', type: 'AAAA', rcode: 'NOERROR' }), 1, 'NODATA counts as NOERROR');
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'udp', type: 'A', rcode: 'NXDOMAIN' }), 1);
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'tcp', type: 'A', rcode: 'NOERROR' }), 1);
  t.equal(series(s, 'vnetd_dns_queries_total').length, 4, 'only the series that counted');
  t.equal(value(s, 'vnetd_dns_query_duration_seconds_count', { transport: 'udp' }), 4);
  t.equal(value(s, 'vnetd_dns_query_duration_seconds_count', { transport: 'tcp' }), 1);
  t.equal(value(s, 'vnetd_dns_query_duration_seconds_bucket', { transport: 'udp', le: '+Inf' }), 4);
  const sum = value(s, 'vnetd_dns_query_duration_seconds_sum', { transport: 'udp' });
  t.ok(sum > 0 && sum < 4, `a real latency sum: ${sum}`);
  const buckets = series(s, 'vnetd_dns_query_duration_seconds_bucket', { transport: 'udp' });
  t.equal(buckets.length, latencyBucketsSeconds.length + 1, 'one sample per bound and +Inf');
  const counts = buckets.map((b) => b.value);
  t.ok(counts.every((c, i) => i === 0 || c >= counts[i - 1]!), `cumulative: ${counts.join(' ')}`);
});

t.test('histogram buckets: each observation lands in the first bucket whose bound it does not exceed (Prometheus le)', async (t) => {
  const m = new DnsMetrics();
  const seconds = [0, 0.00001, 0.0000101, 0.0004, 0.0005, 0.0006, 2, 2.5, 100];
  for (const x of seconds) m.record('udp', 1, 0, x, false);
  const registry = new Registry();
  registerDnsQueryMetrics(registry, m);
  const s = parseMetrics(await registry.metrics());
  for (const le of latencyBucketsSeconds) {
    const expected = seconds.filter((x) => x <= le).length;
    t.equal(value(s, 'vnetd_dns_query_duration_seconds_bucket', { transport: 'udp', le: String(le) }), expected, `le ${le}`);
  }
  t.equal(value(s, 'vnetd_dns_query_duration_seconds_bucket', { transport: 'udp', le: '+Inf' }), seconds.length);
  t.equal(value(s, 'vnetd_dns_query_duration_seconds_sum', { transport: 'udp' }), seconds.reduce((a, b) => a + b, 0));
  t.same(m.snapshot().latency.counts, m.snapshot().latencyByTransport.udp.counts, 'the total equals udp when tcp saw nothing');
});

t.test('label values are bounded: 14 named types, unreadable and other; 7 named rcodes and other', async (t) => {
  const m = new DnsMetrics();
  for (let qtype = 0; qtype < 300; qtype++) m.record('udp', qtype, qtype % 24, 0.0001, false);
  m.record('tcp', -1, 1, 0.0001, false);
  m.record('tcp', 65535, 4095, 0.0001, false);
  const registry = new Registry();
  registerDnsQueryMetrics(registry, m);
  const s = parseMetrics(await registry.metrics());
  const types = new Set(series(s, 'vnetd_dns_queries_total').map((x) => x.labels['type']));
  const rcodes = new Set(series(s, 'vnetd_dns_queries_total').map((x) => x.labels['rcode']));
  t.same([...types].sort(), ['A', 'AAAA', 'ANY', 'AXFR', 'CNAME', 'HINFO', 'IXFR', 'MX', 'NS', 'OPT', 'PTR', 'SOA', 'SRV', 'TXT', 'other', 'unreadable']);
  t.same([...rcodes].sort(), ['BADVERS', 'FORMERR', 'NOERROR', 'NOTIMP', 'NXDOMAIN', 'REFUSED', 'SERVFAIL', 'other']);
  t.equal(value(s, 'vnetd_dns_queries_total'), 302, 'every query counted');
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'udp', type: 'SRV', rcode: 'other' }), 1, 'SRV (33) was sent with rcode 9');
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'udp', type: 'other', rcode: 'NOERROR' }), 13, 'types 0, 24, ... 288 were sent with rcode 0, none of them named');
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'tcp', type: 'unreadable', rcode: 'FORMERR' }), 1);
  t.equal(value(s, 'vnetd_dns_queries_total', { transport: 'tcp', type: 'other', rcode: 'other' }), 1);
  t.same(m.snapshot().queries, { udp: 300, tcp: 2 });
});
