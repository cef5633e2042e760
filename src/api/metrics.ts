// The node's Prometheus registry (prom-client). HTTP, Raft, IPAM and DNS figures live here; other
// parts add theirs through `registry` (server.ts hands it out). Gauges that mirror state are
// computed at scrape time from the node and the state machine, so nothing is kept twice.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RaftNodeApi } from '../../raft/node/api.js';
import type { NodeStats } from '../../raft/node/index.js';
import type { StorageStats } from '../../raft/storage/index.js';
import type { TransportStats } from '../../raft/transport/index.js';
import type { IpamQueries, PoolUsage } from '../ipam/index.js';
import { latencyBucketsSeconds, rcodeName, typeName } from '../../dns/index.js';
import type { QueryEvent } from '../../dns/index.js';
import { apiLimits } from './limits.js';

const httpBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsSources {
  readonly node: RaftNodeApi;
  readonly ipam: IpamQueries;
  /** Counters of the layers below, when the caller has them (server.ts does). */
  readonly storage?: () => StorageStats;
  readonly transport?: () => TransportStats;
  readonly nodeStats?: () => NodeStats;
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: Histogram<'method' | 'route'>;
  readonly proposals: Counter<'outcome'>;
  readonly proposalSeconds: Histogram;
  readonly forwarded: Counter<'outcome'>;
  readonly allocationFailures: Counter<'reason'>;
  readonly leaderChanges: Counter;
  private readonly dnsQueries: Counter<'transport' | 'type' | 'rcode'>;
  private readonly dnsSeconds: Histogram<'transport'>;

  constructor(sources: MetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'vnetd_process_' });
    this.httpRequests = new Counter({ name: 'vnetd_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [r] });
    this.httpSeconds = new Histogram({ name: 'vnetd_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'], buckets: httpBucketsSeconds, registers: [r] });
    this.proposals = new Counter({ name: 'vnetd_raft_proposals_total', help: 'Proposals made on this node by outcome', labelNames: ['outcome'], registers: [r] });
    this.proposalSeconds = new Histogram({ name: 'vnetd_raft_proposal_duration_seconds', help: 'From propose() to applied on this node', buckets: httpBucketsSeconds, registers: [r] });
    this.forwarded = new Counter({ name: 'vnetd_http_forwarded_total', help: 'Writes forwarded to the leader by outcome', labelNames: ['outcome'], registers: [r] });
    this.allocationFailures = new Counter({ name: 'vnetd_ipam_allocation_failures_total', help: 'Task allocations refused, by error code', labelNames: ['reason'], registers: [r] });
    this.leaderChanges = new Counter({ name: 'vnetd_raft_leader_changes_total', help: 'Times the known leader changed', registers: [r] });
    this.dnsQueries = new Counter({ name: 'vnetd_dns_queries_total', help: 'DNS queries answered by transport, type and rcode', labelNames: ['transport', 'type', 'rcode'], registers: [r] });
    this.dnsSeconds = new Histogram({ name: 'vnetd_dns_query_duration_seconds', help: 'DNS answer latency', labelNames: ['transport'], buckets: [...latencyBucketsSeconds], registers: [r] });
    this.raftGauges(sources.node);
    this.ipamGauges(sources.ipam);
    this.lowerLayers(sources);
    sources.node.on('leader', () => this.leaderChanges.inc());
  }

  /** For dns/'s `onQuery`. */
  readonly onDnsQuery = (e: QueryEvent): void => {
    this.dnsQueries.inc({ transport: e.transport, type: e.qtype < 0 ? 'unreadable' : typeName(e.qtype), rcode: rcodeName(e.rcode) });
    this.dnsSeconds.observe({ transport: e.transport }, e.seconds);
  };

  private raftGauges(node: RaftNodeApi): void {
    const r = this.registry;
    new Gauge({ name: 'vnetd_raft_term', help: 'Current Raft term', registers: [r], collect() { this.set(node.status().term); } });
    new Gauge({ name: 'vnetd_raft_commit_index', help: 'Commit index known to this node', registers: [r], collect() { this.set(node.status().commitIndex); } });
    new Gauge({ name: 'vnetd_raft_applied_index', help: 'Index applied to the state machine', registers: [r], collect() { this.set(node.status().appliedIndex); } });
    new Gauge({ name: 'vnetd_raft_is_leader', help: '1 on the leader', registers: [r], collect() { this.set(node.status().role === 'leader' ? 1 : 0); } });
    new Gauge({
      name: 'vnetd_raft_peer_lag_entries', help: 'Entries a member is behind the leader (on the leader only)', labelNames: ['peer', 'role'], registers: [r],
      collect() {
        this.reset();
        const s = node.status();
        const self = s.members.find((m) => m.id === s.id)?.matchIndex ?? null;
        for (const m of s.members) if (self !== null && m.matchIndex !== null) this.set({ peer: m.id, role: m.role }, Math.max(0, self - m.matchIndex));
      },
    });
    new Gauge({
      name: 'vnetd_raft_peer_reachable', help: '1 when the peer is connected', labelNames: ['peer'], registers: [r],
      collect() {
        this.reset();
        for (const m of node.status().members) this.set({ peer: m.id }, m.reachable ? 1 : 0);
      },
    });
  }

  /**
   * Storage, transport and driver counters, read at scrape time. They are monotonic totals, so
   * rates work as for counters (fsync latency = rate(batch_seconds) / rate(batches)).
   */
  private lowerLayers(src: MetricsSources): void {
    const r = this.registry;
    const gauge = (name: string, help: string, read: () => number | undefined): void => {
      new Gauge({ name, help, registers: [r], collect() { const v = read(); if (v !== undefined) this.set(v); } });
    };
    const { storage, transport, nodeStats } = src;
    if (storage !== undefined) {
      gauge('vnetd_raft_storage_batches_total', 'Synced storage batches (fsyncs)', () => storage().batches);
      gauge('vnetd_raft_storage_batch_seconds_total', 'Time spent in synced batches', () => storage().batchMsTotal / 1000);
      gauge('vnetd_raft_storage_entries_written_total', 'Log entries written', () => storage().entriesWritten);
      gauge('vnetd_raft_storage_bytes_written_total', 'Bytes written to storage', () => storage().bytesWritten);
    }
    if (nodeStats !== undefined) {
      gauge('vnetd_raft_saves_total', 'Ready batches persisted (group commit: entries_saved / saves)', () => nodeStats().saves);
      gauge('vnetd_raft_entries_saved_total', 'Entries persisted', () => nodeStats().entriesSaved);
      gauge('vnetd_raft_snapshots_taken_total', 'Local snapshots taken', () => nodeStats().snapshotsTaken);
      gauge('vnetd_raft_snapshots_installed_total', 'Snapshots installed from a leader', () => nodeStats().snapshotsInstalled);
    }
    if (transport !== undefined) {
      gauge('vnetd_raft_transport_frames_sent_total', 'Peer frames sent', () => transport().framesSent);
      gauge('vnetd_raft_transport_frames_received_total', 'Peer frames received', () => transport().framesReceived);
      gauge('vnetd_raft_transport_dropped_total', 'Messages dropped by the transport', () => transport().dropped);
      gauge('vnetd_raft_transport_auth_failures_total', 'Peer handshakes that failed the secret check', () => transport().authFailures);
    }
  }

  private ipamGauges(ipam: IpamQueries): void {
    const r = this.registry;
    // Registered first: prom-client reads metrics in registration order, and this collect() fills
    // the four gauges below, which must hold this scrape's figures when they are read.
    const g: { capacity?: Gauge<'network'>; used?: Gauge<'network'>; agentCapacity?: Gauge<'network' | 'agent' | 'pool'>; agentUsed?: Gauge<'network' | 'agent' | 'pool'> } = {};
    new Gauge({
      name: 'vnetd_ipam_tasks', help: 'Tasks recorded', registers: [r],
      collect() {
        this.set(ipam.taskCount());
        fillUsage(ipam, g);
      },
    });
    g.capacity = new Gauge({ name: 'vnetd_ipam_network_capacity', help: 'Usable addresses in a network\'s blocks', labelNames: ['network'], registers: [r] });
    g.used = new Gauge({ name: 'vnetd_ipam_network_used', help: 'Addresses held by tasks in a network', labelNames: ['network'], registers: [r] });
    g.agentCapacity = new Gauge({ name: 'vnetd_ipam_agent_capacity', help: 'Usable addresses of an agent\'s pool', labelNames: ['network', 'agent', 'pool'], registers: [r] });
    g.agentUsed = new Gauge({ name: 'vnetd_ipam_agent_used', help: 'Addresses held in an agent\'s pool', labelNames: ['network', 'agent', 'pool'], registers: [r] });
  }
}

function fillUsage(
  ipam: IpamQueries,
  g: { capacity?: Gauge<'network'>; used?: Gauge<'network'>; agentCapacity?: Gauge<'network' | 'agent' | 'pool'>; agentUsed?: Gauge<'network' | 'agent' | 'pool'> },
): void {
  const { capacity, used, agentCapacity, agentUsed } = g;
  if (capacity === undefined || used === undefined || agentCapacity === undefined || agentUsed === undefined) return;
  for (const x of [capacity, used, agentCapacity, agentUsed]) x.reset();
  for (const net of ipam.listNetworks()) {
    const u = ipam.networkUsage(net.name);
    if (u === undefined) continue;
    capacity.set({ network: net.name }, u.capacity);
    used.set({ network: net.name }, u.used);
    for (const a of u.agents.slice(0, apiLimits.agentGaugesPerNetworkMax)) {
      const pools: [string, PoolUsage][] = 'shared' in a ? [['shared', a.shared]] : [['mesos', a.mesos], ['docker', a.docker]];
      for (const [pool, p] of pools) {
        agentCapacity.set({ network: net.name, agent: a.agent, pool }, p.capacity);
        agentUsed.set({ network: net.name, agent: a.agent, pool }, p.used);
      }
    }
  }
}
