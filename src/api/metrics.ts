// The node's Prometheus registry (prom-client). HTTP, Raft, IPAM and DNS figures live here; other
// parts add theirs through `registry` (server.ts hands it out). Gauges that mirror state are
// computed at scrape time from the node and the state machine, so nothing is kept twice.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RaftNodeApi } from '../../raft/node/api.js';
import type { NodeStats } from '../../raft/node/index.js';
import type { StorageStats } from '../../raft/storage/index.js';
import type { TransportStats } from '../../raft/transport/index.js';
import type { AgentUsage, IpamQueries, PoolUsage } from '../ipam/index.js';
import { latencyBucketsSeconds, rcodeName, typeName } from '../../dns/index.js';
import type { QueryEvent } from '../../dns/index.js';
import { apiLimits } from './limits.js';
import { PlainCounter, PlainHistogram } from './plain-metrics.js';
import { registerDnsQueryMetrics } from '../metrics/dns-queries.js';
import type { DnsQuerySource } from '../metrics/dns-queries.js';

const httpBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsSources {
  readonly node: RaftNodeApi;
  readonly ipam: IpamQueries;
  /** Counters of the layers below, when the caller has them (server.ts does). */
  readonly storage?: () => StorageStats;
  readonly transport?: () => TransportStats;
  readonly nodeStats?: () => NodeStats;
  /** The registry to fill (server.ts creates it before the node, for src/metrics); default a new one. */
  readonly registry?: Registry;
  /**
   * dns/'s query counters (DnsServer.metrics), read at scrape time by src/metrics. Without it the
   * DNS families count the events handed to onDnsQuery instead (tests, tools).
   */
  readonly dnsQueries?: DnsQuerySource;
}

/** DNS label values are bounded: the types and rcodes dns/ names, everything else is "other". */
const dnsTypes: ReadonlySet<string> = new Set(['A', 'NS', 'CNAME', 'SOA', 'PTR', 'HINFO', 'MX', 'TXT', 'AAAA', 'SRV', 'OPT', 'IXFR', 'AXFR', 'ANY']);
const dnsRcodes: ReadonlySet<string> = new Set(['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS']);

function boundedType(qtype: number): string {
  if (qtype < 0) return 'unreadable';
  const name = typeName(qtype);
  return dnsTypes.has(name) ? name : 'other';
}

function boundedRcode(rcode: number): string {
  const name = rcodeName(rcode);
  return dnsRcodes.has(name) ? name : 'other';
}

export class ApiMetrics {
  readonly registry: Registry;
  // Per-request families count in plain numbers (plain-metrics.ts): label values in the order of
  // their label names.
  /** [method, route, status] */
  readonly httpRequests: PlainCounter;
  /** [method, route] */
  readonly httpSeconds: PlainHistogram;
  /** [outcome] */
  readonly proposals: PlainCounter;
  /** [] */
  readonly proposalSeconds: PlainHistogram;
  /** [outcome] */
  readonly forwarded: PlainCounter;
  /** [reason] */
  readonly allocationFailures: PlainCounter;
  readonly leaderChanges: Counter;
  private readonly dnsQueries: Counter<'transport' | 'type' | 'rcode'> | null = null;
  private readonly dnsSeconds: Histogram<'transport'> | null = null;

  constructor(sources: MetricsSources) {
    this.registry = sources.registry ?? new Registry();
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'vnetd_process_' });
    this.httpRequests = new PlainCounter('vnetd_http_requests_total', 'HTTP requests answered, by method, route pattern (unmatched for unknown paths) and status', ['method', 'route', 'status'], r);
    this.httpSeconds = new PlainHistogram('vnetd_http_request_duration_seconds', 'HTTP request latency from arrival to the answer written, by method and route pattern', ['method', 'route'], httpBucketsSeconds, r);
    this.proposals = new PlainCounter('vnetd_raft_proposals_total', 'IPAM writes proposed on this node (the leader), by outcome: applied, or the Raft error code', ['outcome'], r);
    this.proposalSeconds = new PlainHistogram('vnetd_raft_proposal_duration_seconds', 'IPAM writes proposed on this node: from propose() to the applied result (includes the fsync and a majority round trip)', [], httpBucketsSeconds, r);
    this.forwarded = new PlainCounter('vnetd_http_forwarded_total', 'Writes this node forwarded to the leader, by outcome (answered: the leader\'s answer was relayed)', ['outcome'], r);
    this.allocationFailures = new PlainCounter('vnetd_ipam_allocation_failures_total', 'Task allocations refused by the IPAM state machine on this node (the leader), by error code (exhausted, not_found, ...)', ['reason'], r);
    this.leaderChanges = new Counter({ name: 'vnetd_raft_leader_changes_total', help: 'Times the leader known to this node changed (including to none, during an election)', registers: [r] });
    if (sources.dnsQueries !== undefined) registerDnsQueryMetrics(r, sources.dnsQueries);
    else {
      this.dnsQueries = new Counter({ name: 'vnetd_dns_queries_total', help: 'DNS queries answered, by transport, query type (other for unnamed types) and rcode', labelNames: ['transport', 'type', 'rcode'], registers: [r] });
      this.dnsSeconds = new Histogram({ name: 'vnetd_dns_query_duration_seconds', help: 'DNS answer latency from packet arrival to the answer handed to the socket, by transport', labelNames: ['transport'], buckets: [...latencyBucketsSeconds], registers: [r] });
    }
    this.raftGauges(sources.node);
    this.ipamGauges(sources.ipam);
    this.lowerLayers(sources);
    sources.node.on('leader', () => this.leaderChanges.inc());
  }

  /** For dns/'s `onQuery` when no `dnsQueries` source was given (it counts per query; a source costs nothing per query). */
  readonly onDnsQuery = (e: QueryEvent): void => {
    this.dnsQueries?.inc({ transport: e.transport, type: boundedType(e.qtype), rcode: boundedRcode(e.rcode) });
    this.dnsSeconds?.observe({ transport: e.transport }, e.seconds);
  };

  private raftGauges(node: RaftNodeApi): void {
    const r = this.registry;
    new Gauge({ name: 'vnetd_raft_term', help: 'Current Raft term as seen by this node (rises with every election)', registers: [r], collect() { this.set(node.status().term); } });
    new Gauge({ name: 'vnetd_raft_commit_index', help: 'Highest log index this node knows to be committed (on a majority of disks)', registers: [r], collect() { this.set(node.status().commitIndex); } });
    new Gauge({ name: 'vnetd_raft_applied_index', help: 'Highest log index applied to this node\'s IPAM state machine (= X-Vnetd-Applied-Index)', registers: [r], collect() { this.set(node.status().appliedIndex); } });
    new Gauge({ name: 'vnetd_raft_is_leader', help: '1 when this node is the Raft leader, else 0', registers: [r], collect() { this.set(node.status().role === 'leader' ? 1 : 0); } });
    new Gauge({
      name: 'vnetd_raft_peer_lag_entries', help: 'Entries a member\'s log is behind the leader\'s (exported by the leader only, one series per member)', labelNames: ['peer', 'role'], registers: [r],
      collect() {
        this.reset();
        const s = node.status();
        const self = s.members.find((m) => m.id === s.id)?.matchIndex ?? null;
        for (const m of s.members) if (self !== null && m.matchIndex !== null) this.set({ peer: m.id, role: m.role }, Math.max(0, self - m.matchIndex));
      },
    });
    new Gauge({
      name: 'vnetd_raft_peer_reachable', help: '1 when this node has a live connection to the member (this node itself counts as reachable)', labelNames: ['peer'], registers: [r],
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
      gauge('vnetd_raft_storage_dir_syncs_total', 'fsyncs of the Raft data directory after a synced write LevelDB made in a new file', () => storage().dirSyncs);
    }
    if (nodeStats !== undefined) {
      gauge('vnetd_raft_saves_total', 'Ready batches persisted (group commit: entries_saved / saves)', () => nodeStats().saves);
      gauge('vnetd_raft_entries_saved_total', 'Entries persisted', () => nodeStats().entriesSaved);
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
    // the gauges below, which must hold this scrape's figures when they are read.
    const g: UsageGauges = {};
    new Gauge({
      name: 'vnetd_ipam_tasks', help: 'Tasks recorded in the IPAM state (virtual-network and host-network)', registers: [r],
      collect() {
        this.set(ipam.taskCount());
        fillUsage(ipam, g);
      },
    });
    g.capacity = new Gauge({ name: 'vnetd_ipam_network_capacity', help: 'Usable addresses in a network\'s agent blocks', labelNames: ['network'], registers: [r] });
    g.used = new Gauge({ name: 'vnetd_ipam_network_used', help: 'Addresses held by tasks in a network', labelNames: ['network'], registers: [r] });
    g.free = new Gauge({ name: 'vnetd_ipam_network_free', help: 'Addresses still free in a network\'s agent blocks', labelNames: ['network'], registers: [r] });
    g.agents = new Gauge({ name: 'vnetd_ipam_network_agents', help: 'Agents holding a block of a network (per-agent series are exported for at most agentGaugesPerNetworkMax of them)', labelNames: ['network'], registers: [r] });
    g.agentCapacity = new Gauge({ name: 'vnetd_ipam_agent_capacity', help: `Usable addresses of an agent's pool (the ${apiLimits.agentGaugesPerNetworkMax} fullest agents per network)`, labelNames: ['network', 'agent', 'pool'], registers: [r] });
    g.agentUsed = new Gauge({ name: 'vnetd_ipam_agent_used', help: `Addresses held in an agent's pool (the ${apiLimits.agentGaugesPerNetworkMax} fullest agents per network)`, labelNames: ['network', 'agent', 'pool'], registers: [r] });
  }
}

type NetworkGauge = Gauge<'network'>;
type PoolGauge = Gauge<'network' | 'agent' | 'pool'>;
interface UsageGauges {
  capacity?: NetworkGauge;
  used?: NetworkGauge;
  free?: NetworkGauge;
  agents?: NetworkGauge;
  agentCapacity?: PoolGauge;
  agentUsed?: PoolGauge;
}

/** An agent's pools as [label, usage] pairs, and its fullest pool's used/capacity ratio. */
function poolsOf(a: AgentUsage): { pools: [string, PoolUsage][]; fill: number } {
  const pools: [string, PoolUsage][] = 'shared' in a ? [['shared', a.shared]] : [['mesos', a.mesos], ['docker', a.docker]];
  let fill = 0;
  for (const [, p] of pools) fill = Math.max(fill, p.capacity === 0 ? 0 : p.used / p.capacity);
  return { pools, fill };
}

/**
 * The per-agent series are bounded (apiLimits.agentGaugesPerNetworkMax per network): the agents
 * whose fullest pool is fullest come first (ties by id), as those are the ones an exhaustion alert
 * needs; the per-network totals always cover every agent.
 */
function fillUsage(ipam: IpamQueries, g: UsageGauges): void {
  const { capacity, used, free, agents, agentCapacity, agentUsed } = g;
  if (capacity === undefined || used === undefined || free === undefined || agents === undefined || agentCapacity === undefined || agentUsed === undefined) return;
  for (const x of [capacity, used, free, agents, agentCapacity, agentUsed]) x.reset();
  for (const net of ipam.listNetworks()) {
    const u = ipam.networkUsage(net.name);
    if (u === undefined) continue;
    capacity.set({ network: net.name }, u.capacity);
    used.set({ network: net.name }, u.used);
    free.set({ network: net.name }, u.free);
    agents.set({ network: net.name }, u.agents.length);
    const ranked = u.agents.map((a) => ({ agent: a.agent, ...poolsOf(a) }));
    if (ranked.length > apiLimits.agentGaugesPerNetworkMax) ranked.sort((x, y) => y.fill - x.fill || (x.agent < y.agent ? -1 : 1));
    for (const a of ranked.slice(0, apiLimits.agentGaugesPerNetworkMax)) {
      for (const [pool, p] of a.pools) {
        agentCapacity.set({ network: net.name, agent: a.agent, pool }, p.capacity);
        agentUsed.set({ network: net.name, agent: a.agent, pool }, p.used);
      }
    }
  }
}
