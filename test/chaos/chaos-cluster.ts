// The cluster a chaos run works on: N voters behind fault-injecting proxies (proxy.ts), M learners
// joined with --join, and a spare node the membership fault adds as a voter and removes again.
// All processes are real `vnetd start` (or a deliberately broken launcher) on 127.0.0.1.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../util/ports.js';
import { ProcessGroup, peersArg } from '../util/cluster.js';
import type { Addresses, NodeProcess } from '../util/cluster.js';
import { FaultNet } from './proxy.js';

export const chaosTiming = {
  /** Raft tick; elections after 10-20 ticks (1-2 s): generous on a loaded 2-core machine. */
  tickMs: 100,
  electionTicks: 10,
  /** Snapshots are kept rare: a snapshot carries the sender's view of addresses and would bypass the proxies. */
  snapshotEntries: 50_000,
  /** Starting, joining and settling, each. */
  readyWaitMs: 90_000,
  httpTimeoutMs: 10_000,
} as const;

export interface ChaosClusterOptions {
  readonly voters: number;
  readonly learners: number;
  /** Where data dirs, logs and the history go. */
  readonly dir: string;
  /** A launcher script instead of the real CLI (deliberately broken builds). */
  readonly entry?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface JsonAnswer {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the node under test
  readonly headers: Headers;
}

export async function http(url: string, method: string, path: string, body?: unknown, timeoutMs: number = chaosTiming.httpTimeoutMs): Promise<JsonAnswer> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(url + path, init);
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value, for at most `timeoutMs`; null on timeout. */
export async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    await sleep(everyMs);
  }
  return null;
}

export class ChaosCluster {
  readonly group: ProcessGroup;
  readonly net = new FaultNet();
  readonly voterIds: string[] = [];
  readonly learnerIds: string[] = [];
  readonly spareId = 'x1';
  /** Learners that failed to join: left out of the run (and reported). */
  readonly excluded = new Set<string>();
  private secretFile: string;
  private spareGeneration = 0;

  private constructor(private readonly o: ChaosClusterOptions) {
    this.group = new ProcessGroup(o.dir);
    this.secretFile = join(o.dir, 'cluster-secret');
    writeFileSync(this.secretFile, 'chaos-cluster-secret-0123456789abcdef\n', { mode: 0o600 });
  }

  /** Creates the proxies and the processes (not yet started). */
  static async create(o: ChaosClusterOptions): Promise<ChaosCluster> {
    mkdirSync(o.dir, { recursive: true });
    const c = new ChaosCluster(o);
    const total = o.voters + o.learners + 1;
    const ports = await freePorts(3 * total + o.voters);
    const proxyPorts = ports.splice(3 * total);
    const addr = (i: number, id: string): Addresses => ({ id, raft: `127.0.0.1:${ports[3 * i]}`, http: `127.0.0.1:${ports[3 * i + 1]}`, dns: `127.0.0.1:${ports[3 * i + 2]}` });
    const voters = Array.from({ length: o.voters }, (_, i) => addr(i, `n${i + 1}`));
    const proxyOf = new Map<string, string>();
    for (const v of voters) {
      const port = await c.net.addNode(v.id, { host: '127.0.0.1', port: Number(v.raft.split(':')[1]) }, proxyPorts.shift()!);
      proxyOf.set(v.id, `127.0.0.1:${port}`);
    }
    for (const v of voters) {
      const peers = peersArg(voters, (a) => (a.id === v.id ? a.raft : proxyOf.get(a.id)!));
      c.group.add(v, join(o.dir, v.id), [...c.commonArgs(), '--peers', peers], c.procOptions());
      c.voterIds.push(v.id);
    }
    const joinUrl = `http://${voters[0]!.http}`;
    for (let i = 0; i < o.learners; i++) {
      const a = addr(o.voters + i, `l${i + 1}`);
      c.group.add(a, join(o.dir, a.id), [...c.commonArgs(), '--join', joinUrl, '--role', 'learner'], c.procOptions());
      c.learnerIds.push(a.id);
    }
    const spare = addr(o.voters + o.learners, c.spareId);
    c.group.add(spare, join(o.dir, 'x1-0'), [], c.procOptions());
    return c;
  }

  private procOptions(): { entry?: string; env?: NodeJS.ProcessEnv } {
    return { ...(this.o.entry === undefined ? {} : { entry: this.o.entry }), ...(this.o.env === undefined ? {} : { env: this.o.env }) };
  }

  private commonArgs(): string[] {
    return [
      '--cluster-secret-file', this.secretFile,
      '--tick-ms', String(chaosTiming.tickMs),
      '--election-ticks', String(chaosTiming.electionTicks),
      '--snapshot-entries', String(chaosTiming.snapshotEntries),
      '--log-level', 'warn',
    ];
  }

  node(id: string): NodeProcess {
    return this.group.get(id);
  }

  /** Every node that should be running at the end (the spare only while it is a member). */
  all(): NodeProcess[] {
    return [...this.group.nodes.values()].filter((n) => !this.excluded.has(n.id) && (n.id !== this.spareId || n.running));
  }

  voters(): NodeProcess[] {
    return this.voterIds.map((id) => this.node(id));
  }

  learners(): NodeProcess[] {
    return this.learnerIds.map((id) => this.node(id));
  }

  /** Nodes that can answer now (running and not paused). */
  live(): NodeProcess[] {
    return this.all().filter((n) => n.running && !n.isPaused);
  }

  async startVoters(): Promise<void> {
    for (const v of this.voters()) v.start();
    await this.waitReady(this.voters());
  }

  /**
   * Starts the learners; one that does not become ready (it crashed joining, or never caught up)
   * is stopped and left out of the run, and the returned problems are reported as violations.
   */
  async startLearners(): Promise<string[]> {
    for (const l of this.learners()) l.start();
    const problems: string[] = [];
    await Promise.all(this.learners().map(async (l) => {
      try {
        await this.waitReady([l]);
      } catch (err) {
        problems.push(`learner ${l.id} did not join: ${(err as Error).message.split('\n')[0]}`);
        await l.kill9();
        this.excluded.add(l.id);
      }
    }));
    this.learnerIds.splice(0, this.learnerIds.length, ...this.learnerIds.filter((id) => !this.excluded.has(id)));
    return problems;
  }

  async waitReady(nodes: readonly NodeProcess[], timeoutMs: number = chaosTiming.readyWaitMs): Promise<void> {
    await Promise.all(nodes.map(async (n) => {
      const ok = await poll(async () => {
        if (!n.running) return 'exited';
        return (await http(n.url, 'GET', '/v1/ready', undefined, 3_000)).status === 200 ? 'ready' : undefined;
      }, timeoutMs);
      if (ok !== 'ready') throw new Error(`${n.id} not ready: ${ok === 'exited' ? 'the process exited' : `not within ${timeoutMs} ms`}; log: ${n.errorLines(3).join(' | ')}`);
    }));
  }

  /** The leader most live nodes agree on, or null. */
  async leader(): Promise<string | null> {
    const seen = await Promise.all(this.live().map(async (n) => {
      try {
        const c = await http(n.url, 'GET', '/v1/cluster', undefined, 3_000);
        return typeof c.body?.leader === 'string' ? { leader: c.body.leader as string, term: Number(c.body.term) } : null;
      } catch {
        return null;
      }
    }));
    let best: { leader: string; term: number } | null = null;
    for (const s of seen) if (s !== null && (best === null || s.term > best.term)) best = s;
    return best?.leader ?? null;
  }

  /** Voter ids as the cluster (a live node) sees them now; the initial voters when nobody answers. */
  async currentVoters(): Promise<string[]> {
    for (const n of this.live()) {
      try {
        const c = await http(n.url, 'GET', '/v1/cluster', undefined, 3_000);
        const members = c.body?.members as { id: string; role: string }[] | undefined;
        if (Array.isArray(members)) return members.filter((m) => m.role === 'voter').map((m) => m.id);
      } catch {
        // try the next node
      }
    }
    return [...this.voterIds];
  }

  /** Starts the spare with a fresh data directory, joining as a voter through `via`. */
  startSpare(via: string): NodeProcess {
    const spare = this.node(this.spareId);
    const dir = join(this.o.dir, `x1-${++this.spareGeneration}`);
    spare.reconfigure([...this.commonArgs(), '--join', via, '--role', 'voter'], dir);
    spare.start();
    return spare;
  }

  async stopSpare(): Promise<void> {
    const spare = this.node(this.spareId);
    await spare.kill9();
    rmSync(spare.dataDir, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    await this.group.destroy();
    await this.net.close();
  }
}
