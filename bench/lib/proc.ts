// Child processes for the suites: every server a suite starts (vnetd nodes, etcd, Knot, the Node
// reference servers) is a Child here, with its output in a log file under the suite's work
// directory, stopped by its own pid only, and killed on the way out even when the suite throws.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import os from 'node:os';

export const procLimits = {
  /** SIGTERM gets this long before SIGKILL. */
  stopGraceMs: 10_000,
  /** Readiness polls give up after this long. */
  readyWaitMs: 60_000,
  readyPollMs: 100,
  logTailBytesMax: 4096,
} as const;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One child process with its log. */
export class Child {
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private exitInfo: { code: number | null; signal: string | null } | null = null;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid (spawn failed; see ${this.logFile})`);
    return pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** SIGTERM, then SIGKILL after the grace period. Resolves once the process is gone. */
  async stop(graceMs: number = procLimits.stopGraceMs): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Resident set size in KiB (from /proc), or null once gone. */
  rssKiB(): number | null {
    return rssKiB(this.child.pid);
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-procLimits.logTailBytesMax);
    } catch {
      return '';
    }
  }
}

export function rssKiB(pid: number | undefined): number | null {
  return statusKiB(pid, 'VmRSS');
}

/** A memory field of /proc/PID/status in KiB (VmRSS: resident now, VmHWM: its peak), or null once gone. */
export function statusKiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | null {
  if (pid === undefined) return null;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

export interface StartOptions {
  readonly logFile: string;
  /** Pin the process to these CPUs (taskset -c LIST). */
  readonly cpus?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** 'ipc' adds an IPC channel (child.send / process.on('message')). */
  readonly ipc?: boolean;
  readonly cwd?: string;
}

/** Starts `command args` with stdout/stderr appended to the log file. */
export function start(name: string, command: string, args: readonly string[], o: StartOptions): Child {
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const argv = o.cpus === undefined ? [command, ...args] : ['taskset', '-c', o.cpus, command, ...args];
  const options: SpawnOptions = {
    env: { ...process.env, ...o.env },
    stdio: o.ipc === true ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
  };
  const child = spawn(argv[0] as string, argv.slice(1), options);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('exit', () => log.end());
  return new Child(name, child, o.logFile);
}

/** Starts a Node.js program (the current node binary). */
export function startNode(name: string, script: string, args: readonly string[], o: StartOptions & { readonly nodeArgs?: readonly string[] }): Child {
  return start(name, process.execPath, [...(o.nodeArgs ?? []), script, ...args], o);
}

/** Stops every child (in parallel); never throws. */
export async function stopAll(children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
}

/** Polls `check` until it returns true, the child dies, or the deadline passes. */
export async function waitFor(what: string, check: () => Promise<boolean>, child?: Child, waitMs: number = procLimits.readyWaitMs): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (child !== undefined && !child.running) throw new Error(`${child.name} exited while waiting for ${what}; log tail:\n${child.logTail()}`);
    try {
      if (await check()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child === undefined ? '' : `; log tail:\n${child.logTail()}`}`);
    await sleep(procLimits.readyPollMs);
  }
}

/** The host's load right now, recorded with every result (the machine is shared). */
export function hostLoad(): { loadAvg1: number; loadAvg5: number; cores: number } {
  const [one, five] = os.loadavg();
  return { loadAvg1: Math.round((one ?? 0) * 100) / 100, loadAvg5: Math.round((five ?? 0) * 100) / 100, cores: os.cpus().length };
}

/** Runs a command to completion and returns its stdout; throws with stderr on a non-zero exit. */
export function runSync(command: string, args: readonly string[], timeoutMs = 600_000): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** Runs a command asynchronously to completion; resolves with stdout and stderr whatever the exit code. */
export function runAsync(command: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
