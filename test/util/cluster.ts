// vnetd nodes as separate processes that a test or the chaos harness can kill -9, restart,
// SIGSTOP/SIGCONT and stop, without a tap `t` (the chaos CLI runs outside tap). Every node's
// stdout and stderr go to DATA_ROOT/<id>.log so a failed run can be read afterwards, and every
// exit is recorded: an exit the owner did not cause is a crash, which the chaos checks report.
//
// Test files that use it call `destroy()` in t.teardown; the chaos CLI calls it in `finally` and
// on SIGINT.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/cli.js, located from this compiled file (dist/test/util/cluster.js). */
export const vnetdCli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export const clusterLimits = {
  /** SIGTERM gets this long before SIGKILL follows. */
  stopGraceMs: 10_000,
  /** A node's log file beyond this is not read back into reports. */
  logTailBytesMax: 64 * 1024,
} as const;

export interface Addresses {
  readonly id: string;
  readonly raft: string;
  readonly http: string;
  readonly dns: string;
}

export interface NodeProcessOptions {
  /** The script run by `node` (default: the real vnetd CLI; broken builds pass their launcher). */
  readonly entry?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr are appended. */
  readonly logFile: string;
}

export interface ExitRecord {
  readonly id: string;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: string | null;
  /** True when the owner asked for it (kill, stop). */
  readonly expected: boolean;
  readonly at: number;
}

/** One vnetd node: the same data directory and arguments across restarts. */
export class NodeProcess {
  private child: ChildProcess | null = null;
  private exitedPromise: Promise<void> = Promise.resolve();
  private expectExit = false;
  private paused = false;
  private log: WriteStream | null = null;

  constructor(
    readonly addr: Addresses,
    private dir: string,
    /** Arguments after `start` (the id, data dir and addresses are added). */
    private args: readonly string[],
    private readonly o: NodeProcessOptions,
    private readonly onExit: (e: ExitRecord) => void,
  ) {}

  get id(): string {
    return this.addr.id;
  }

  get url(): string {
    return `http://${this.addr.http}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get dataDir(): string {
    return this.dir;
  }

  /** Replaces the start arguments (and the data directory) for later starts, e.g. a fresh member joining with --join. */
  reconfigure(args: readonly string[], dataDir: string = this.dir): void {
    this.args = args;
    this.dir = dataDir;
  }

  start(): void {
    if (this.child !== null) throw new Error(`${this.id} is already running (pid ${this.child.pid})`);
    const a = this.addr;
    const argv = [this.o.entry ?? vnetdCli, 'start', '--id', a.id, '--data-dir', this.dataDir, '--raft', a.raft, '--http', a.http, '--dns', a.dns, ...this.args];
    this.log ??= createWriteStream(this.o.logFile, { flags: 'a' });
    this.log.write(`---- start ${new Date().toISOString()} ${argv.slice(1).join(' ')}\n`);
    const child = spawn(process.execPath, argv, { env: { PATH: process.env['PATH'] ?? '', ...this.o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(this.log, { end: false });
    child.stderr.pipe(this.log, { end: false });
    this.child = child;
    this.expectExit = false;
    this.paused = false;
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit({ id: a.id, pid: child.pid ?? -1, code, signal, expected: this.expectExit, at: Date.now() });
        this.log?.write(`---- exit code=${code} signal=${signal}\n`);
        if (!this.expectExit) this.log?.write(portHolders(this.logTail()));
        if (this.child === child) this.child = null;
        this.paused = false;
        resolve();
      });
    });
  }

  /** Sends `signal` (the process is resumed first if paused, so the signal is acted on). */
  private async signalAndWait(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.expectExit = true;
    if (this.paused && signal !== 'SIGKILL') this.resume();
    child.kill(signal);
    const exited = this.exitedPromise;
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** kill -9: nothing is flushed; what was not fsynced may be lost (that is the point). */
  kill9(): Promise<void> {
    return this.signalAndWait('SIGKILL', 0);
  }

  /** SIGTERM: a graceful stop (SIGKILL after stopGraceMs). */
  stop(): Promise<void> {
    return this.signalAndWait('SIGTERM', clusterLimits.stopGraceMs);
  }

  /** SIGSTOP: the process keeps its sockets but runs nothing, like a long GC pause or a VM freeze. */
  pause(): void {
    if (this.child === null || this.paused) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (this.child === null || !this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  /** RSS in KiB from /proc/PID/status, or null when not running. */
  rssKiB(): number | null {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m === null ? null : Number(m[1]);
    } catch {
      return null;
    }
  }

  /** The error lines (stack traces, error-level JSON logs) of the last `lines` of this node's log. */
  errorLines(max = 6): string[] {
    const errorRe = /Error|"level":"(error|fatal)"|^\s+at /;
    return this.logTail().split('\n').filter((l) => errorRe.test(l)).slice(-max).map((l) => l.slice(0, 300));
  }

  /** The last bytes of this node's log, for failure reports. */
  logTail(): string {
    try {
      const text = readFileSync(this.o.logFile, 'utf8');
      return text.slice(-clusterLimits.logTailBytesMax);
    } catch {
      return '';
    }
  }

  /** SIGKILL without waiting (for process 'exit' handlers, which cannot await). */
  killNow(): void {
    this.expectExit = true;
    this.child?.kill('SIGKILL');
  }

  async close(): Promise<void> {
    await this.kill9();
    await new Promise<void>((r) => (this.log === null ? r() : this.log.end(r)));
    this.log = null;
  }
}

/**
 * When a node died of EADDRINUSE, who holds that port (`ss`, where installed): test files share
 * the loopback ports (test/util/ports.ts claims them), so the holder names the culprit.
 */
function portHolders(logTail: string): string {
  const m = /EADDRINUSE: address already in use [^\s]*:(\d+)/.exec(logTail.slice(-2_000));
  if (m === null) return '';
  const r = spawnSync('ss', ['-Htanup', `sport = :${m[1]}`], { encoding: 'utf8', timeout: 2_000 });
  return `---- port ${m[1]} held by: ${r.error === undefined ? r.stdout.trim().replace(/\s+/g, ' ') || '(nobody now)' : `(ss failed: ${r.error.message})`}\n`;
}

/** A set of node processes with one exit log. */
export class ProcessGroup {
  readonly nodes = new Map<string, NodeProcess>();
  readonly exits: ExitRecord[] = [];

  constructor(readonly root: string) {}

  add(addr: Addresses, dataDir: string, args: readonly string[], o: Omit<NodeProcessOptions, 'logFile'> = {}): NodeProcess {
    if (this.nodes.has(addr.id)) throw new Error(`node ${addr.id} already exists`);
    const node = new NodeProcess(addr, dataDir, args, { ...o, logFile: join(this.root, `${addr.id}.log`) }, (e) => this.exits.push(e));
    this.nodes.set(addr.id, node);
    return node;
  }

  get(id: string): NodeProcess {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Exits nobody asked for: crashes. */
  crashes(): ExitRecord[] {
    return this.exits.filter((e) => !e.expected);
  }

  /** SIGKILL to every child at once, synchronously: for an 'exit' handler of the owning process. */
  killAllNow(): void {
    for (const n of this.nodes.values()) n.killNow();
  }

  /** Kills every process (SIGKILL) and closes the log files. */
  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.close()));
  }
}

/** `--peers` text for `specs`, with `raftOf` choosing the address each is reached at (a proxy, or its own). */
export function peersArg(specs: readonly Addresses[], raftOf: (a: Addresses) => string = (a) => a.raft): string {
  return specs.map((s) => `${s.id}=${raftOf(s)}/${s.http}/${s.dns}`).join(',');
}
