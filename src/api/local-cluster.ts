// `vnetd local-cluster`: N voters and M learners as separate `vnetd start` processes on loopback,
// for trying vnetd out and for tests (DESIGN.md §3). Node i listens on BASE+10i (HTTP), BASE+10i+1
// (DNS) and BASE+10i+2 (Raft); data and logs go under DATA_DIR. Voters bootstrap with --peers,
// learners join through the first voter; Ctrl-C stops them all. Run it again with the same
// DATA_DIR and the nodes restart from their data.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './commands.js';

export const localClusterLimits = { votersMax: 9, learnersMax: 50, portStride: 10, readyWaitMs: 60_000, stopWaitMs: 10_000 } as const;

export const localClusterUsage = `
Local cluster:
  vnetd local-cluster --nodes N [--learners M] [--base-port P] [--data-dir DIR]
    N voters (1..${localClusterLimits.votersMax}) and M learners (0..${localClusterLimits.learnersMax}) as separate processes on
    127.0.0.1; node i gets HTTP P+${localClusterLimits.portStride}i, DNS P+${localClusterLimits.portStride}i+1, Raft P+${localClusterLimits.portStride}i+2 (default P 63000); data and
    logs under DIR (default ./local-cluster). Ctrl-C stops every node.
`;

interface LocalNode {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  readonly http: string;
  readonly dns: string;
  readonly raft: string;
  readonly dataDir: string;
  readonly logFile: string;
  child?: ChildProcess;
}

const cliPath = fileURLToPath(new URL('../cli.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function plan(voters: number, learners: number, base: number, dataDir: string): LocalNode[] {
  const nodes: LocalNode[] = [];
  for (let i = 0; i < voters + learners; i++) {
    const role = i < voters ? 'voter' : 'learner';
    const id = role === 'voter' ? `n${i + 1}` : `l${i - voters + 1}`;
    const port = base + localClusterLimits.portStride * i;
    nodes.push({ id, role, http: `127.0.0.1:${port}`, dns: `127.0.0.1:${port + 1}`, raft: `127.0.0.1:${port + 2}`, dataDir: join(dataDir, id), logFile: join(dataDir, `${id}.log`) });
  }
  return nodes;
}

function spawnNode(n: LocalNode, args: string[]): void {
  const log = createWriteStream(n.logFile, { flags: 'a' });
  const child = spawn(process.execPath, [cliPath, 'start', '--id', n.id, '--data-dir', n.dataDir, '--http', n.http, '--dns', n.dns, '--raft', n.raft, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  n.child = child;
}

async function waitReady(n: LocalNode): Promise<boolean> {
  const deadline = Date.now() + localClusterLimits.readyWaitMs;
  while (Date.now() < deadline) {
    if (n.child?.exitCode !== null) return false;
    try {
      const r = await fetch(`http://${n.http}/v1/ready`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  return false;
}

function parse(args: readonly string[]): { voters: number; learners: number; base: number; dataDir: string } {
  let values;
  try {
    values = parseArgs({ args: [...args], options: { nodes: { type: 'string', default: '3' }, learners: { type: 'string', default: '0' }, 'base-port': { type: 'string', default: '63000' }, 'data-dir': { type: 'string', default: './local-cluster' } }, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  const voters = int('nodes', values.nodes, 1, localClusterLimits.votersMax);
  const learners = int('learners', values.learners, 0, localClusterLimits.learnersMax);
  const base = int('base-port', values['base-port'], 1024, 65535 - localClusterLimits.portStride * (voters + learners));
  return { voters, learners, base, dataDir: resolve(values['data-dir']) };
}

async function stopAll(nodes: readonly LocalNode[]): Promise<void> {
  await Promise.all(nodes.map(async (n) => {
    const c = n.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), localClusterLimits.stopWaitMs);
    await exited;
    clearTimeout(timer);
  }));
}

export async function localCluster(args: readonly string[]): Promise<void> {
  const o = parse(args);
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const secretFile = join(o.dataDir, 'cluster-secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const nodes = plan(o.voters, o.learners, o.base, o.dataDir);
  const voters = nodes.filter((n) => n.role === 'voter');
  const peers = voters.map((n) => `${n.id}=${n.raft}/${n.http}/${n.dns}`).join(',');
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write('stopping every node...\n');
    void stopAll(nodes).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const reportExit = (n: LocalNode): void => {
    n.child?.once('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`node ${n.id} exited with ${code ?? signal}; see ${n.logFile}\n`);
    });
  };
  for (const n of voters) {
    spawnNode(n, ['--peers', peers, '--cluster-secret-file', secretFile]);
    reportExit(n);
  }
  const votersReady = await Promise.all(voters.map(waitReady));
  for (const n of nodes.filter((x) => x.role === 'learner')) {
    spawnNode(n, ['--join', `http://${voters[0]!.http}`, '--role', 'learner', '--cluster-secret-file', secretFile]);
    reportExit(n);
  }
  const learnersReady = await Promise.all(nodes.filter((x) => x.role === 'learner').map(waitReady));
  const ready = [...votersReady, ...learnersReady];
  process.stdout.write(`vnetd local cluster: ${o.voters} voters, ${o.learners} learners, data in ${o.dataDir}\n`);
  nodes.forEach((n, i) => {
    process.stdout.write(`  ${n.id.padEnd(4)} ${n.role.padEnd(8)} http://${n.http}  dns ${n.dns}  raft ${n.raft}  pid ${String(n.child?.pid ?? '-').padEnd(7)} ${ready[i] ? 'ready' : 'NOT READY'}  log ${n.logFile}\n`);
  });
  process.stdout.write('Ctrl-C stops every node.\n');
}
