// A cluster of kv-node processes on loopback for the multi-process tests: spawn, kill -9, stop,
// restart, and a client that finds the leader. Every process and data directory is cleaned up by
// `close()` (register it with t.teardown).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePorts } from '../../util/ports.js';
import type { KvNodeConfig } from './kv-config.js';
import { memberContext } from './kv-config.js';

const kvNodeJs = new URL('./kv-node.js', import.meta.url).pathname;

export interface Proc {
  readonly id: string;
  readonly raftPort: number;
  readonly dataDir: string;
  config: KvNodeConfig;
  child: ChildProcess | null;
  http: number;
  stderr: string[];
}

export interface ApiError { error: string; message: string; leader: { id: string } | null }
export type Reply<T> = { ok: true; value: T } | { ok: false; status: number; err: ApiError };

export interface Status {
  id: string; role: string; term: number; leader: string | null; commitIndex: number; appliedIndex: number;
  members: { id: string; role: string; matchIndex: number | null; reachable: boolean }[];
}
export interface Dump { applied: number; kv: Record<string, string>; history: [number, string, string][] }

// Generous: on the shared 2-core test machine a node process can take several seconds to start.
const startTimeoutMs = 60_000;
const requestTimeoutMs = 15_000;
const stderrLinesKept = 400;

export class Cluster {
  readonly procs = new Map<string, Proc>();
  readonly secret = 'kv-node-test-secret-0123456789';
  private readonly root = mkdtempSync(path.join(tmpdir(), 'vnetd-kv-'));

  constructor(private readonly opts: { tickMs?: number; electionTicks?: number; snapshotEntries?: number } = {}) {}

  /** Starts `ids` as the initial voters of a new cluster. */
  async startCluster(ids: string[]): Promise<void> {
    const ports = await freePorts(ids.length);
    const bootstrap = Object.fromEntries(ids.map((id, i) => [id, ports[i]!]));
    for (const [i, id] of ids.entries()) this.define(id, ports[i]!, bootstrap);
    await Promise.all(ids.map((id) => this.start(id)));
  }

  /** Starts a new empty node in join mode (add it with addLearner on the leader). */
  async startJoiner(id: string): Promise<Proc> {
    const [port] = await freePorts(1);
    const known = Object.fromEntries([...this.procs.values()].map((p) => [p.id, p.raftPort]));
    this.define(id, port!, 'join', known);
    await this.start(id);
    return this.procs.get(id)!;
  }

  contextOf(id: string): string {
    return memberContext(this.procs.get(id)!.raftPort);
  }

  private define(id: string, raftPort: number, bootstrap: KvNodeConfig['bootstrap'], knownPeers: Record<string, number> = {}): void {
    const dataDir = path.join(this.root, id);
    const config: KvNodeConfig = {
      id, dataDir, raftPort, secret: this.secret, bootstrap, knownPeers,
      tickMs: this.opts.tickMs ?? 50, electionTicks: this.opts.electionTicks ?? 10,
      snapshotEntries: this.opts.snapshotEntries ?? 10_000, proposalTimeoutMs: 5_000,
    };
    this.procs.set(id, { id, raftPort, dataDir, config, child: null, http: 0, stderr: [] });
  }

  /** (Re)starts a defined node on its data directory and raft port; resolves once it serves HTTP. */
  async start(id: string): Promise<void> {
    const p = this.procs.get(id)!;
    const child = spawn(process.execPath, [kvNodeJs, JSON.stringify(p.config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.child = child;
    createInterface({ input: child.stderr! }).on('line', (l) => {
      p.stderr.push(l);
      if (p.stderr.length > stderrLinesKept) p.stderr.shift();
    });
    p.http = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start: ${p.stderr.slice(-5).join('\n')}`)), startTimeoutMs);
      createInterface({ input: child.stdout! }).once('line', (l) => {
        clearTimeout(timer);
        resolve((JSON.parse(l) as { http: number }).http);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited with ${code} before ready: ${p.stderr.slice(-10).join('\n')}`));
      });
    });
  }

  /** kill -9: no chance to flush anything that was not synced. */
  async kill(id: string): Promise<void> {
    const p = this.procs.get(id)!;
    const child = p.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    p.child = null;
  }

  /** Graceful stop through the control API (RaftNode.stop()), then waits for the exit. */
  async stop(id: string): Promise<void> {
    const p = this.procs.get(id)!;
    const child = p.child;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    await this.call(id, 'POST', '/stop', {}).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) await this.kill(id);
    p.child = null;
  }

  running(): string[] {
    return [...this.procs.values()].filter((p) => p.child !== null).map((p) => p.id);
  }

  async call<T>(id: string, method: string, route: string, body?: unknown): Promise<Reply<T>> {
    const p = this.procs.get(id)!;
    const res = await fetch(`http://127.0.0.1:${p.http}${route}`, {
      method, signal: AbortSignal.timeout(requestTimeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const v = (await res.json()) as unknown;
    return res.status === 200 ? { ok: true, value: v as T } : { ok: false, status: res.status, err: v as ApiError };
  }

  async status(id: string): Promise<Status> {
    const r = await this.call<Status>(id, 'GET', '/status');
    if (!r.ok) throw new Error(`status ${id}: ${JSON.stringify(r.err)}`);
    return r.value;
  }

  async dump(id: string): Promise<Dump> {
    const r = await this.call<Dump>(id, 'GET', '/dump');
    if (!r.ok) throw new Error(`dump ${id}: ${JSON.stringify(r.err)}`);
    return r.value;
  }

  /** The leader that all running voters agree on (polls; elections have no event we can await here). */
  async waitLeader(among: string[] = this.running(), timeoutMs = 20_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const ss = await Promise.all(among.map((id) => this.status(id).catch(() => null)));
      const leaders = new Set(ss.map((s) => s?.leader ?? null));
      const [only] = leaders;
      if (leaders.size === 1 && only !== null && only !== undefined && among.includes(only)) {
        const ls = ss.find((s) => s?.id === only);
        if (ls?.role === 'leader') return only;
      }
      if (Date.now() > end) throw new Error(`no agreed leader among ${among}: ${JSON.stringify(ss.map((s) => s && [s.id, s.role, s.term, s.leader]))}`);
      await sleep(100);
    }
  }

  /** Waits until every node in `ids` has applied at least `index`. */
  async waitApplied(ids: string[], index: number, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const ss = await Promise.all(ids.map((id) => this.status(id).catch(() => null)));
      if (ss.every((s) => s !== null && s.appliedIndex >= index)) return;
      if (Date.now() > end) throw new Error(`not applied ${index} on all of ${ids}: ${JSON.stringify(ss.map((s) => s && [s.id, s.appliedIndex]))}`);
      await sleep(100);
    }
  }

  /** Proposes on `id`, following not_leader hints; returns the apply result or the last error. */
  async propose(k: string, v: string, first: string, attempts = 1): Promise<Reply<{ index: number; value: string }>> {
    let target = first;
    let last: Reply<{ index: number; value: string }> | null = null;
    for (let i = 0; i < attempts; i++) {
      last = await this.call<{ index: number; value: string }>(target, 'POST', '/propose', { k, v }).catch(
        (e: unknown) => ({ ok: false as const, status: 0, err: { error: 'unreachable', message: String(e), leader: null } }),
      );
      if (last.ok) return last;
      const hint = last.err.leader?.id;
      if (hint !== undefined && this.procs.get(hint)?.child) target = hint;
      else await sleep(100);
    }
    return last!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id)));
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The last log lines of every node, for a failure message. */
  logs(lines = 15): string {
    return [...this.procs.values()].map((p) => `--- ${p.id}\n${p.stderr.slice(-lines).join('\n')}`).join('\n');
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Log Matching across nodes (Raft §5.3): the same index holds the same command everywhere, and
 * every history is gap-free in index order. Returns the problems found (empty when consistent).
 */
export function compareHistories(dumps: ReadonlyMap<string, Dump>): string[] {
  const problems: string[] = [];
  const byIndex = new Map<number, { node: string; cmd: string }>();
  for (const [node, d] of dumps) {
    let prev = 0;
    for (const [index, k, v] of d.history) {
      if (index <= prev) problems.push(`${node}: history not increasing at ${index} (after ${prev})`);
      prev = index;
      const cmd = `${k}=${v}`;
      const seen = byIndex.get(index);
      if (seen === undefined) byIndex.set(index, { node, cmd });
      else if (seen.cmd !== cmd) problems.push(`index ${index}: ${seen.node} has ${seen.cmd}, ${node} has ${cmd}`);
    }
  }
  return problems;
}
