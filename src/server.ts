// Wires one vnetd node (DESIGN.md §2): LevelStorage in DATA_DIR/raft, TcpTransport authenticated
// by the cluster secret, the IPAM state machine under a RaftNode, src/records filling the DNS zone
// index served over UDP and TCP, and the HTTP API. It also owns the node's life outside Raft:
// the data directory (identity, effective settings, secret), joining a running cluster, the
// default network of a new cluster, readiness, and the graceful stop.
//
// Data directory layout:
//   DATA_DIR/raft/           the Raft log, hard state and snapshots (LevelDB)
//   DATA_DIR/node.json       this node's effective settings (id, addresses, ...) and lifecycle flags,
//                            so that a restart needs nothing but --data-dir (mode 0600)
//   DATA_DIR/cluster-secret  the shared secret peers authenticate with (mode 0600)

import { mkdirSync, readFileSync, renameSync, existsSync } from 'node:fs';
import type { RestoredState } from '../raft/core/types.js';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { syncDirectory, writeFileDurably } from './durable-file.js';
import type { LogIndex, Member } from '../raft/core/types.js';
import { logIndex, nodeId, term } from '../raft/core/types.js';
import { RaftNode, parseMemberContext } from '../raft/node/index.js';
import { LevelStorage } from '../raft/storage/index.js';
import { TcpTransport } from '../raft/transport/index.js';
import { startDnsServer } from '../dns/index.js';
import type { DnsServer } from '../dns/index.js';
import { IpamStateMachine, encodeCommand } from './ipam/index.js';
import type { ApplyResult } from './ipam/index.js';
import { DnsRecords, createRecordsZone } from './records/index.js';
import type { Config, ConfigKey, LoadedConfig } from './config.js';
import { ConfigError, checkLayer, defaults } from './config.js';
import type { Logger } from './log.js';
import type { ApiContext, MemberContext } from './api/context.js';
import { encodeMemberContext } from './api/context.js';
import { ApiMetrics } from './api/metrics.js';
import { RaftIoMetrics, registerDnsUdpMetrics, registerMallocMetrics } from './metrics/index.js';
import { MallocTrimmer, loadMalloc } from './malloc/malloc.js';
import { Registry } from 'prom-client';
import { createApiServer } from './api/server.js';
import type { ApiServer } from './api/server.js';
import { isHostPort, joinHostPort, splitHostPort } from './api/formats.js';

/** What the data directory remembers between runs. */
export interface NodeFile {
  readonly version: 1;
  /** The effective settings of the first run, updated by later explicit settings. */
  readonly config: Omit<Config, 'dataDir'>;
  /** A joiner was added to the cluster (do not ask again). */
  readonly joined: boolean;
  /** The cluster's first-start setup (VTEP settings, default network) is done or not ours to do. */
  readonly initialized: boolean;
}

export const serverLimits = {
  /** Between readiness attempts (a ReadIndex round trip each). */
  readyRetryMs: 200,
  readyReadTimeoutMs: 2_000,
  /** How often readiness looks whether the first-start setup has run (a local check, milliseconds of waiting). */
  setupPollMs: 10,
  /** node.stop() and listener closes together must finish within this on SIGTERM. */
  stopMs: 8_000,
} as const;

export interface RunningServer {
  readonly id: string;
  readonly config: Config;
  /** Bound addresses (a configured port 0 is replaced by the real port). */
  readonly http: string;
  readonly dns: string;
  readonly raft: string;
  readonly node: RaftNode;
  readonly ipam: IpamStateMachine;
  /** The Prometheus registry served on /metrics; other parts may register theirs here. */
  readonly metrics: ApiMetrics;
  isReady(): boolean;
  /** Stops accepting, finishes in-flight requests, stops the node (flushes), closes listeners. */
  stop(): Promise<void>;
}

const nodeFileName = 'node.json';
const secretFileName = 'cluster-secret';

function readNodeFile(dataDir: string): NodeFile | null {
  const path = join(dataDir, nodeFileName);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as NodeFile;
  if (parsed.version !== 1) throw new ConfigError('', path, `config: ${path} has version ${String(parsed.version)}; this vnetd reads version 1`);
  checkLayer(parsed.config, `file ${path}`);
  return parsed;
}

function writeNodeFile(dataDir: string, file: NodeFile): void {
  const path = join(dataDir, nodeFileName);
  writeFileDurably(path, JSON.stringify(file, null, 2) + '\n');
}

/**
 * The settings of this run: defaults < what the data directory remembers < explicit settings.
 * A data directory belongs to one node: another id, or another Raft address (peers know it by
 * that), is refused rather than silently forking an identity.
 */
export function effectiveConfig(loaded: LoadedConfig, stored: NodeFile | null): Config {
  if (stored === null) return loaded.config;
  const explicit: Partial<Record<ConfigKey, unknown>> = {};
  for (const k of loaded.explicit) explicit[k] = loaded.config[k];
  for (const k of ['id', 'raft'] as const) {
    if (k in explicit && explicit[k] !== stored.config[k]) {
      throw new ConfigError(`/${k}`, 'the data directory', `config: /${k} is ${JSON.stringify(explicit[k])} but ${loaded.config.dataDir} belongs to a node with ${k} ${JSON.stringify(stored.config[k])}; drop the setting or use another --data-dir`);
    }
  }
  return { ...defaults, ...stored.config, ...explicit, dataDir: loaded.config.dataDir } as Config;
}

/** Where --peers names this node, its entry fills addresses that were not set explicitly. */
function reconcileWithPeers(config: Config, explicit: ReadonlySet<ConfigKey>): Config {
  if (config.peers.length === 0) return config;
  const self = config.peers.find((p) => p.id === config.id);
  if (self === undefined) {
    throw new ConfigError('/peers', 'the merged configuration', `config: /peers must include this node (${config.id}); got ${config.peers.map((p) => p.id).join(', ')}`);
  }
  const out: Record<string, unknown> = { ...config };
  const advertised = { raft: config.advertiseRaft, http: config.advertiseHttp, dns: config.advertiseDns } as const;
  for (const k of ['raft', 'http', 'dns'] as const) {
    const fromPeers = self[k];
    if (fromPeers === undefined || advertised[k] === fromPeers) continue; // listens elsewhere, advertises the peers entry
    if (advertised[k] !== null) {
      throw new ConfigError(`/${k}`, 'the merged configuration', `config: /peers gives ${fromPeers} for ${config.id}'s ${k} address but it advertises ${advertised[k]}`);
    }
    if (explicit.has(k) && config[k] !== fromPeers) {
      throw new ConfigError(`/${k}`, 'the merged configuration', `config: /${k} is ${config[k]} but /peers gives ${fromPeers} for ${config.id}`);
    }
    out[k] = fromPeers;
  }
  return out as unknown as Config;
}

function clusterSecret(config: Config, fresh: boolean, log: Logger): string {
  const stored = join(config.dataDir, secretFileName);
  let secret: string | null = config.clusterSecret;
  if (secret === null && config.clusterSecretFile !== null) secret = readFileSync(config.clusterSecretFile, 'utf8').trim();
  const have = existsSync(stored) ? readFileSync(stored, 'utf8').trim() : null;
  if (secret !== null && have !== null && secret !== have) {
    throw new ConfigError('/clusterSecret', 'the data directory', `config: the given cluster secret differs from ${stored}; peers of this cluster use the stored one`);
  }
  if (secret === null) secret = have;
  if (secret === null) {
    const singleBootstrap = fresh && config.join === null && config.peers.length <= 1;
    if (!singleBootstrap) {
      throw new ConfigError('/clusterSecret', 'the merged configuration', 'config: /clusterSecret (or /clusterSecretFile) is required to bootstrap several voters or to join: every member needs the same secret, e.g. --cluster-secret-file OTHER_DATA_DIR/cluster-secret');
    }
    secret = randomBytes(32).toString('hex');
    log.info('generated a cluster secret', { file: stored });
  }
  if (have === null) writeFileDurably(stored, secret + '\n');
  return secret;
}

function bootstrapMembers(config: Config, self: MemberContext): Member[] {
  if (config.peers.length === 0) return [{ id: nodeId(config.id), role: 'voter', context: encodeMemberContext(self) }];
  return config.peers.map((p) => ({
    id: nodeId(p.id),
    role: 'voter' as const,
    context: p.id === config.id ? encodeMemberContext(self) : JSON.stringify({ raft: p.raft, ...(p.http && { http: p.http }), ...(p.dns && { dns: p.dns }) }),
  }));
}

function tokenOf(config: Config): string | null {
  if (config.apiToken !== null) return config.apiToken;
  return config.apiTokenFile === null ? null : readFileSync(config.apiTokenFile, 'utf8').trim();
}

/** Reads (or creates) the data directory's identity and secret; the settings of this run. */
function prepareDataDir(loaded: LoadedConfig, log: Logger): { config: Config; stored: NodeFile; secret: string } {
  mkdirSync(loaded.config.dataDir, { recursive: true, mode: 0o700 });
  const previous = readNodeFile(loaded.config.dataDir);
  const config = reconcileWithPeers(effectiveConfig(loaded, previous), loaded.explicit);
  const { dataDir: _dataDir, ...persisted } = config;
  const stored: NodeFile = { version: 1, config: persisted, joined: previous?.joined ?? false, initialized: previous?.initialized ?? false };
  writeNodeFile(config.dataDir, stored);
  return { config, stored, secret: clusterSecret(config, previous === null, log) };
}

/** Storage and a started transport; on failure nothing stays open. */
async function openRaftIo(config: Config, secret: string, log: Logger): Promise<{ storage: LevelStorage; transport: TcpTransport }> {
  const storage = await LevelStorage.open({ dataDir: join(config.dataDir, 'raft'), unsafeNoFsync: config.unsafeNoFsync, log: log.eventSink('warn', 'storage') });
  const transportLog = log.child({ component: 'transport' });
  // A wrong secret or a rejected peer is something an operator must see; connects are routine.
  const transport = new TcpTransport({
    id: nodeId(config.id),
    listen: splitHostPort(config.raft),
    secret,
    log: (event, fields) => transportLog.log(event === 'connected' ? 'info' : 'warn', event, fields),
  });
  try {
    await transport.start();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return { storage, transport };
}

/**
 * Something else a node serves next to the HTTP API (e.g. the Docker IPAM driver on a unix
 * socket): started once the node is up, stopped first on stop. It may register metrics in
 * `running.metrics.registry` and talk to the API at `running.http`.
 */
export type ServerExtension = (running: RunningServer, log: Logger) => Promise<{ stop(): Promise<void> }>;

export interface StartOptions {
  /**
   * Recovery from a lost quorum (like etcd's --force-new-cluster): before starting, rewrite this
   * node's Raft state into a single-member cluster of itself holding everything its log holds.
   * See forceNewCluster().
   */
  readonly forceNewCluster?: boolean;
}

export async function startServer(loaded: LoadedConfig, log: Logger, extensions: readonly ServerExtension[] = [], options: StartOptions = {}): Promise<RunningServer> {
  const raftDir = join(loaded.config.dataDir, 'raft');
  if (options.forceNewCluster === true && !existsSync(raftDir)) {
    throw new ConfigError('/dataDir', 'the data directory', `config: --force-new-cluster needs an existing node's data directory; ${raftDir} does not exist`);
  }
  const prepared = prepareDataDir(loaded, log);
  const { secret } = prepared;
  let { config, stored } = prepared;
  if (options.forceNewCluster === true) {
    stored = await forceNewCluster(config, stored, log);
    config = { ...config, peers: [], join: null };
  }
  const { storage, transport } = await openRaftIo(config, secret, log);
  const ipam = new IpamStateMachine();
  const zone = createRecordsZone({ origin: config.zone, aliases: config.zoneAliases, ttlSeconds: config.dnsTtl });
  // Listeners first, so that port-0 addresses are known for this node's member context.
  const listeners = await bindListeners(config, zone, log).catch(async (err: unknown) => {
    await transport.close();
    await storage.close();
    throw err;
  });
  const { api, dns } = listeners;
  const bound = transport.address();
  // What members are told (the member context): the advertised addresses, else the bound ones.
  const self: MemberContext = {
    raft: config.advertiseRaft ?? joinHostPort(bound.host, bound.port),
    http: config.advertiseHttp ?? listeners.httpAddress,
    dns: config.advertiseDns ?? listeners.dnsAddress,
  };
  const records = new DnsRecords(zone, ipam);
  ipam.addListener(records);
  // src/metrics: the node gets timing decorators of its storage, transport and state machine
  // (fsync, group commit, snapshots, change-to-answerable) registered before it opens.
  const registry = new Registry();
  const io = new RaftIoMetrics(registry).instrument(storage, transport, ipam);
  const node = await RaftNode.open({
    id: nodeId(config.id),
    storage: io.storage,
    transport: io.transport,
    stateMachine: io.stateMachine,
    bootstrap: config.join !== null ? 'join' : { members: bootstrapMembers(config, self) },
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    heartbeatTicks: config.heartbeatTicks,
    snapshotEntries: config.snapshotEntries,
    snapshotIdleMs: config.snapshotIdleMs,
    commitHoldMs: config.commitHoldMs,
    proposalTimeoutMs: config.proposalTimeoutMs,
    logger: log.child({ component: 'raft' }).lineSink(),
  }).catch(async (err: unknown) => {
    await Promise.all([api.close(), dns.close(), transport.close()]);
    await storage.close();
    throw err;
  });
  // src/records/README.md: publish each applied batch; leader.<zone>/master.<zone> follow the membership.
  node.on('applied', (index) => {
    records.onApplied(index);
    io.answerable(index);
  });
  const masters = (): void => records.setMasters(mastersOf(node));
  node.on('leader', masters);
  node.on('membership', masters);
  masters();

  // DNS queries are counted inside dns/ (typed arrays) and read at scrape time: no per-query hook.
  const metrics = new ApiMetrics({ node, ipam, registry, dnsQueries: dns.metrics, storage: () => storage.stats(), transport: () => transport.stats(), nodeStats: () => node.stats() });
  registerDnsUdpMetrics(metrics.registry, dns.udp);
  if (dns.udp.fallback !== undefined) log.info('DNS over UDP uses node:dgram', { reason: dns.udp.fallback });
  // src/malloc/README.md: free C heap memory goes back to the system after snapshots, not never.
  const malloc = loadMalloc();
  let trimmer: MallocTrimmer | null = null;
  if (malloc instanceof Error) {
    log.info('free malloc memory is not given back to the system', { reason: malloc.message });
  } else {
    const t = (trimmer = new MallocTrimmer(malloc));
    node.on('snapshot', () => t.trimSoon());
    registerMallocMetrics(metrics.registry, t);
  }
  let ready = false;
  const ctx: ApiContext = { node, ipam, log: log.child({ component: 'http' }), metrics, zone: config.zone, token: tokenOf(config), tokenReads: config.apiTokenReads, ready: () => ready };
  api.attach(ctx);

  let stopping = false;
  const background = new Lifecycle(config, node, ipam, log, () => stopping);
  void background.waitReady().then(() => background.waitSetup(stored)).then(() => {
    ready = true;
    zone.setReady(true);
  });
  if (config.join !== null) void background.join(self, stored, ctx.token, transport);
  else void background.initialize(stored);

  const started: { stop(): Promise<void> }[] = [];
  const running: RunningServer = {
    id: config.id, config, http: self.http, dns: self.dns, raft: self.raft, node, ipam, metrics,
    isReady: () => ready,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { id: config.id });
      await Promise.all(started.map((e) => e.stop().catch((err: unknown) => log.error('extension stop failed', { err: String(err) }))));
      // Stop taking requests and let in-flight ones finish while the node still runs, then stop
      // the node, which lets its last storage write finish and closes storage and transport.
      await Promise.all([api.close(), dns.close()]);
      await node.stop();
      trimmer?.close();
      log.info('stopped', { id: config.id, applied: ipam.appliedIndex });
    },
  };
  try {
    for (const extension of extensions) started.push(await extension(running, log));
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

/** DNS and HTTP bound before the node opens (DNS counts its queries itself, from the start). */
async function bindListeners(
  config: Config,
  zone: ReturnType<typeof createRecordsZone>,
  log: Logger,
): Promise<{ api: ApiServer; dns: DnsServer; httpAddress: string; dnsAddress: string }> {
  const dnsAddr = splitHostPort(config.dns);
  let dnsInternalErrorsLogged = 0;
  const dns = await startDnsServer({
    zone, host: dnsAddr.host, port: dnsAddr.port, upstreams: config.upstreams, allowRecursion: config.allowRecursion,
    onInternalError: (err, query) => {
      // Every such error is a dns/ bug; the count is in the metrics, the first few go to the log
      // with the query so the bug can be reproduced (a chaos run once saw SERVFAIL for every A name).
      dnsInternalErrorsLogged++;
      if (dnsInternalErrorsLogged <= dnsInternalErrorsLoggedMax) {
        log.error('dns respond() threw', { err: err instanceof Error ? err.stack ?? err.message : String(err), query: query.toString('hex') });
      }
    },
  });
  const api = createApiServer();
  const httpAddr = splitHostPort(config.http);
  try {
    const httpPort = await api.listen(httpAddr.host, httpAddr.port);
    return { api, dns, httpAddress: joinHostPort(httpAddr.host, httpPort), dnsAddress: joinHostPort(dnsAddr.host, dns.port) };
  } catch (err) {
    await dns.close();
    throw err;
  }
}

/** leader.<zone> and master.<zone>: the voters' advertised HTTP hosts (src/records/README.md). */
function mastersOf(node: RaftNode): { leader: string | null; voters: { id: string; ip: string }[] } {
  const s = node.status();
  const voters: { id: string; ip: string }[] = [];
  for (const m of s.members) {
    if (m.role !== 'voter') continue;
    const http = parseMemberContext(m.context).http;
    if (http !== null) voters.push({ id: m.id, ip: splitHostPort(http).host });
  }
  return { leader: s.leader, voters };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The background duties of a node's first minutes: readiness, joining, first-start setup. */
export class Lifecycle {
  /** This node ran the first-start setup to the end (whatever the state machine answered). */
  private setupRan = false;

  constructor(
    private readonly config: Config,
    private readonly node: RaftNode,
    private readonly ipam: IpamStateMachine,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
  ) {}

  /**
   * Caught up = a ReadIndex barrier passed: this node has applied at least the leader's commit
   * index as of some moment after start (DESIGN.md §1: SERVFAIL until then, never NXDOMAIN).
   */
  async waitReady(): Promise<void> {
    while (!this.stopping()) {
      try {
        const index = await this.node.read({ timeoutMs: serverLimits.readyReadTimeoutMs });
        this.log.info('caught up with the leader', { applied: index });
        return;
      } catch {
        await sleep(serverLimits.readyRetryMs);
      }
    }
    return new Promise(() => {});
  }

  async join(self: MemberContext, stored: NodeFile, token: string | null, transport: TcpTransport): Promise<void> {
    const url = this.config.join;
    if (url === null || stored.joined) return;
    // The joiner's membership is empty until the log reaches it, so the node has no peer to
    // answer the leader's appends with: tell the transport where the members are meanwhile. The
    // node replaces these entries with the same addresses once the membership arrives.
    const onMembers = (members: readonly { id: string; raft: string }[]): void => {
      for (const m of members) if (m.id !== this.config.id) transport.setPeer(nodeId(m.id), splitHostPort(m.raft));
    };
    const done = await joinCluster({ url, id: this.config.id, self, role: this.config.role, token, joined: stored.joined, log: this.log, stopping: this.stopping, onMembers });
    if (done) writeNodeFile(this.config.dataDir, { ...stored, joined: true, initialized: true });
  }

  /**
   * A new cluster's first leader sets the VTEP settings and creates the default network, once.
   * A node that finds the setup done (it caught up with a cluster that did it) marks it done
   * without touching anything. A user's write that lands first does not skip the setup (found by
   * the chaos harness): `configure` with unchanged settings is accepted after agents exist, and
   * the default network is created unless it exists.
   */
  async initialize(stored: NodeFile): Promise<void> {
    if (stored.initialized) return;
    while (!this.stopping()) {
      if (this.setupDone()) break;
      if (this.node.status().leader === this.node.id) {
        if (await this.runSetup()) break;
      }
      await sleep(serverLimits.readyRetryMs);
    }
    if (!this.stopping()) writeNodeFile(this.config.dataDir, { ...stored, initialized: true });
  }

  /**
   * Ready waits for this too: on a new cluster's leader, until its first-start setup has run, so
   * that a client who waits for /v1/ready can use the default network at once (the quick start's
   * `dcos`). Other nodes do not wait: they cannot tell a setup still coming from one the leader
   * could not complete (e.g. a default network the state machine refused), and their DNS must not
   * hang on it.
   */
  async waitSetup(stored: NodeFile): Promise<void> {
    if (stored.initialized || this.config.join !== null) return;
    while (!this.stopping() && !this.setupRan && !this.setupDone() && this.node.status().leader === this.node.id) {
      await sleep(serverLimits.setupPollMs);
    }
  }

  private setupDone(): boolean {
    const network = this.config.defaultNetwork;
    return network === null ? this.ipam.appliedIndex > 0 : this.ipam.getNetwork(network.name) !== undefined;
  }

  private async runSetup(): Promise<boolean> {
    const c = this.config;
    try {
      const configured = (await this.node.propose(encodeCommand({ type: 'configure', vtepSubnet: c.vtepSubnet, vtepMacOui: c.vtepMacOui }))) as ApplyResult;
      if (!configured.ok) this.log.error('configure refused', { error: configured.error });
      if (c.defaultNetwork !== null) {
        const created = (await this.node.propose(encodeCommand({ type: 'createNetwork', ...c.defaultNetwork }))) as ApplyResult;
        if (created.ok) this.log.info('created the default network', { network: c.defaultNetwork });
        else this.log.warn('default network not created', { error: created.error });
      }
      this.setupRan = true;
      return true;
    } catch (err) {
      this.log.warn('first-start setup will be retried', { err: (err as Error).message });
      return false;
    }
  }
}

/** How many DNS internal errors a node logs in full (all are counted in the metrics). */
const dnsInternalErrorsLoggedMax = 20;

export const joinLimits = {
  /** Asking a member to add us: attempts are spaced by this, for at most joinWaitMs. */
  retryMs: 1_000,
  joinWaitMs: 120_000,
  /** A voter-to-be asks again for promotion until caught up, for at most this long. */
  promoteWaitMs: 600_000,
  requestTimeoutMs: 15_000,
} as const;

/**
 * Refusals that pass once the cluster settles: another membership change is still committing
 * (two nodes joining at once: the second one's request arrives while the first is added).
 */
const joinRetryErrors: ReadonlySet<string> = new Set(['change_pending']);

export interface JoinOptions {
  readonly url: string;
  readonly id: string;
  readonly self: MemberContext;
  readonly role: 'voter' | 'learner';
  readonly token: string | null;
  readonly joined: boolean;
  readonly log: Logger;
  readonly stopping: () => boolean;
  /** Called with the members' raft addresses from each answer (to reach them before the log arrives). */
  readonly onMembers: (members: readonly { id: string; raft: string }[]) => void;
}

function membersOf(body: Record<string, unknown>): { id: string; raft: string }[] {
  const list = body['members'];
  if (!Array.isArray(list)) return [];
  return list.flatMap((m: unknown) => {
    const r = m as { id?: unknown; raft?: unknown };
    return typeof r.id === 'string' && typeof r.raft === 'string' && isHostPort(r.raft) ? [{ id: r.id, raft: r.raft }] : [];
  });
}

async function postMember(o: JoinOptions): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token !== null) headers['authorization'] = `Bearer ${o.token}`;
  const res = await fetch(new URL('/v1/cluster/members', o.url), {
    method: 'POST',
    headers,
    body: JSON.stringify({ id: o.id, raft: o.self.raft, http: o.self.http, dns: o.self.dns, role: o.role }),
    signal: AbortSignal.timeout(joinLimits.requestTimeoutMs),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { message: text };
  }
  return { status: res.status, body };
}

/**
 * Joins through any member: asks it (it forwards to the leader) to add this node as a learner;
 * a voter-to-be repeats the request until the leader has promoted it (it does so once this node
 * has caught up). Returns true once the wanted role is reached. A 4xx other than "not yet" is
 * final (a wrong token, an id taken by another address) and is logged as an error; "not yet" is
 * a 5xx, no answer, or a refusal in `joinRetryErrors`.
 */
export async function joinCluster(o: JoinOptions): Promise<boolean> {
  const started = Date.now();
  let added = o.joined;
  while (!o.stopping()) {
    const waited = Date.now() - started;
    if (waited > (added ? joinLimits.promoteWaitMs : joinLimits.joinWaitMs)) {
      o.log.error('join gave up', { url: o.url, waitedMs: waited, added });
      return false;
    }
    try {
      const { status, body } = await postMember(o);
      if (status === 200 || status === 201 || status === 202) {
        o.onMembers(membersOf(body));
        if (!added) o.log.info('joined the cluster', { via: o.url, role: body['role'] });
        added = true;
        if (body['role'] === o.role || o.role === 'learner') return true;
      } else if (status >= 400 && status < 500 && !joinRetryErrors.has(String(body['error']))) {
        o.log.error('join refused', { url: o.url, status, error: body['error'], message: body['message'] });
        return false;
      } else {
        o.log.warn('join not answered yet', { url: o.url, status, message: body['message'] });
      }
    } catch (err) {
      o.log.warn('join request failed; retrying', { url: o.url, err: (err as Error).message });
    }
    await sleep(joinLimits.retryMs);
  }
  return false;
}

// ---- backups --------------------------------------------------------------------------------

/** The header line of a snapshot file; the state machine's bytes follow it. */
export interface SnapshotHeader {
  readonly format: 'vnetd-snapshot';
  readonly version: 1;
  /** The Raft index the state reflects. */
  readonly appliedIndex: number;
  readonly bytes: number;
  readonly sha256: string;
}

export function encodeSnapshotFile(appliedIndex: number, data: Uint8Array): Buffer {
  const header: SnapshotHeader = { format: 'vnetd-snapshot', version: 1, appliedIndex, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), data]);
}

/** Parses and verifies a snapshot file; throws a message naming what is wrong. */
export function decodeSnapshotFile(file: Buffer): { header: SnapshotHeader; data: Uint8Array } {
  const nl = file.indexOf(0x0a);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(file.subarray(0, nl).toString('utf8')) as SnapshotHeader;
  } catch {
    throw new Error('not a vnetd snapshot file (no JSON header line)');
  }
  if (header.format !== 'vnetd-snapshot' || header.version !== 1) throw new Error(`not a vnetd snapshot file of version 1: ${JSON.stringify(header).slice(0, 100)}`);
  const data = file.subarray(nl + 1);
  if (data.length !== header.bytes) throw new Error(`truncated snapshot: ${data.length} bytes, header says ${header.bytes}`);
  if (createHash('sha256').update(data).digest('hex') !== header.sha256) throw new Error('snapshot checksum mismatch: the file is damaged');
  if (!Number.isSafeInteger(header.appliedIndex) || header.appliedIndex < 1) throw new Error(`bad appliedIndex ${header.appliedIndex}`);
  return { header, data };
}

/**
 * Creates a new data directory holding `file`'s state as a single-member cluster of this node
 * (backup restore, and recovery from a lost quorum: add the other members back with --join).
 * Refuses a directory that already holds a node.
 */
export async function restoreSnapshot(loaded: LoadedConfig, file: Buffer, log: Logger): Promise<{ index: number; tasks: number }> {
  const config = loaded.config;
  const { header, data } = decodeSnapshotFile(file);
  const check = new IpamStateMachine();
  try {
    check.restore(data, header.appliedIndex as LogIndex);
  } catch (err) {
    throw new Error(`the snapshot does not decode: ${(err as Error).message}`);
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  if (existsSync(join(config.dataDir, nodeFileName))) throw new ConfigError('/dataDir', 'the data directory', `config: ${config.dataDir} already holds a node; restore into a new directory`);
  const { dataDir: _d, ...persisted } = config;
  writeNodeFile(config.dataDir, { version: 1, config: { ...persisted, peers: [], join: null }, joined: false, initialized: true });
  clusterSecret({ ...config, peers: [], join: null }, true, log);
  const storage = await LevelStorage.open({ dataDir: join(config.dataDir, 'raft'), log: log.eventSink('warn', 'storage') });
  try {
    if ((await storage.load()) !== null) throw new Error(`${config.dataDir}/raft already holds a Raft log`);
    const index = logIndex(header.appliedIndex);
    const self: MemberContext = { raft: config.advertiseRaft ?? config.raft, http: config.advertiseHttp ?? config.http, dns: config.advertiseDns ?? config.dns };
    await storage.save({
      hardState: { term: term(1), vote: null, commit: index },
      entries: [],
      snapshot: { meta: { index, term: term(1), membership: { members: [{ id: nodeId(config.id), role: 'voter', context: encodeMemberContext(self) }] } }, data },
    });
  } finally {
    await storage.close();
  }
  return { index: header.appliedIndex, tasks: check.taskCount() };
}

// ---- recovery from a lost quorum --------------------------------------------------------------

/**
 * The state this node's log holds: its snapshot, then every entry after it applied in order. All
 * stored entries are kept, also those this node had not yet seen committed: with the quorum lost
 * nobody can say they were not committed, and an acknowledged write is among them if this node
 * had acknowledged it (etcd drops them instead; vnetd's writes are idempotent per id, and a write
 * whose client saw a timeout is documented as "may still apply").
 */
function replay(restored: RestoredState): { ipam: IpamStateMachine; index: LogIndex; term: number; entries: number } {
  const ipam = new IpamStateMachine();
  const snap = restored.snapshot;
  if (snap.data.length > 0) ipam.restore(snap.data, snap.meta.index);
  let index = snap.meta.index;
  let lastTerm: number = snap.meta.term;
  for (const e of restored.entries) {
    if (e.kind === 'normal' && e.data.length > 0) ipam.apply(e.data, e.index);
    index = e.index;
    lastTerm = e.term;
  }
  return { ipam, index, term: lastTerm, entries: restored.entries.length };
}

/**
 * `vnetd start --force-new-cluster`: makes this data directory a single-member cluster of this
 * node, keeping its state. The Raft directory is moved aside to DATA_DIR/raft.before-force-<time>
 * (kept for inspection; delete it once the cluster is healthy), and a new one is written holding
 * one snapshot at the last stored index with the last stored term, whose membership is this node
 * alone as a voter, and a hard state committing it in a term above any this node has seen.
 * Other members are then added with --join (fresh data directories): the old members must not be
 * restarted with their old data, as they still believe in the old membership.
 */
export async function forceNewCluster(config: Config, stored: NodeFile, log: Logger): Promise<NodeFile> {
  const raftDir = join(config.dataDir, 'raft');
  if (!existsSync(raftDir)) throw new ConfigError('/dataDir', 'the data directory', `config: --force-new-cluster needs an existing node's data directory; ${raftDir} does not exist`);
  const old = await LevelStorage.open({ dataDir: raftDir, log: log.eventSink('warn', 'storage') });
  let restored: RestoredState | null;
  try {
    restored = await old.load();
  } finally {
    await old.close();
  }
  if (restored === null) throw new ConfigError('/dataDir', 'the data directory', `config: --force-new-cluster: ${raftDir} holds no Raft state to recover`);
  const { ipam, index, term: lastTerm, entries } = replay(restored);
  const aside = `${raftDir}.before-force-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(raftDir, aside);
  syncDirectory(config.dataDir);
  const self: MemberContext = { raft: config.advertiseRaft ?? config.raft, http: config.advertiseHttp ?? config.http, dns: config.advertiseDns ?? config.dns };
  const storage = await LevelStorage.open({ dataDir: raftDir, log: log.eventSink('warn', 'storage') });
  try {
    await storage.save({
      // A term above every term this node saw: its first election starts a term no old member used.
      hardState: { term: term(Math.max(restored.hardState.term, lastTerm) + 1), vote: null, commit: index },
      entries: [],
      snapshot: { meta: { index, term: term(lastTerm), membership: { members: [{ id: nodeId(config.id), role: 'voter', context: encodeMemberContext(self) }] } }, data: ipam.snapshot() },
    });
  } finally {
    await storage.close();
  }
  log.warn('forced a new single-member cluster from this node\'s data', { index, term: lastTerm, replayedEntries: entries, tasks: ipam.taskCount(), previousRaftDir: aside });
  const next: NodeFile = { ...stored, config: { ...stored.config, peers: [], join: null }, joined: false, initialized: true };
  writeNodeFile(config.dataDir, next);
  return next;
}
