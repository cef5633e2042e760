// `npm run bench -- ipam [--seconds 10] [--repeats 3] [--warmup 2] [--records-size 100000] [--skip-apply]`
//
// The write path end to end (issue 4): a 3-voter vnetd cluster (separate processes, fsync on) and,
// side by side in the same run, a 3-member etcd 3.4 cluster (default settings). One load generator
// (this process, bench/lib/http-load.ts, the same code for both) sends `PUT /v1/tasks/{id}` (a new
// task on one of 1,000 agents, network 10.0.0.0/8 in /22 blocks) to vnetd's leader and
// `POST /v3/kv/put` (16-byte key, 64-byte value, base64) to etcd's leader, with 1, 64 and 256
// requests in flight on keep-alive connections. Runs alternate vnetd/etcd so load drift on the
// shared machine hits both alike. Then the apply cost per allocation with 1,000 vs 1,000,000 tasks
// allocated and memory at 1,000,000 (bench/lib/ipam-apply.ts, in-process IpamStateMachine), and the
// same with the DNS records builder attached (a node's real apply path) at --records-size tasks.
//
// Besides writes/s and latency, every run records the CPU time per write of the servers (all three
// processes together, and the leader's alone) and of the load generator, read from /proc: on a
// shared 2-core machine wall-clock rates swing with the neighbours' load, CPU per write much less.
// For vnetd it also records what its leader's main thread did (MainThreadFig): measured here, at
// 64 and 256 in flight that thread is always runnable and on a CPU ~60-70% of the time (etcd's
// leader spreads its work over both cores). Giving it priority (nice -10) did not raise writes/s:
// the followers and the load generator then waited for the CPU instead, so on this machine it is
// the CPU per write of all the processes together that decides.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { medianOf, printTable, round, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs } from '../lib/args.js';
import { applyCostSideBySide } from '../lib/apply-cost.js';
import type { ApplyCost } from '../lib/apply-cost.js';
import { EtcdCluster } from '../lib/etcd-cluster.js';
import { httpCall, httpLoad, hostPort } from '../lib/http-load.js';
import type { HttpLoadResult } from '../lib/http-load.js';
import { hostLoad, rssKiB } from '../lib/proc.js';
import { VnetdCluster } from '../lib/vnetd-cluster.js';

export const ipamBench = {
  agents: 1_000,
  // /20 per agent: 2,046 addresses in each agent's Mesos half, 2 million writes before the pool is
  // exhausted (with /22 a long `ab` run hit it after ~500,000 and measured 409s).
  network: { name: 'bench', subnet: '10.0.0.0/8', prefix: 20 },
  concurrencies: [1, 64, 256],
  setupConcurrency: 32,
  etcdKeyBytes: 16,
  etcdValueBytes: 64,
  applySizes: [1_000, 1_000_000],
  recordsSizeDefault: 100_000,
  targets: { writesRatioMin: 2, applyRatioMax: 1.5, memoryMiBMax: 1024 },
} as const;

export type Fig = 'opsPerSec' | 'p50Ms' | 'p99Ms' | 'failed' | 'serverCpuUsPerOp' | 'generatorCpuUsPerOp' | 'leaderCpuUsPerOp';

/**
 * What a vnetd leader's main thread did during a run, in percent of the wall time: ran on a CPU,
 * or was runnable and waited for one (/proc's schedstat). Their sum near 100 means that one
 * thread is what limits the cluster (every write passes through it), and what it waits for is
 * the CPU the other processes on this machine take.
 */
export type MainThreadFig = 'leaderMainOnCpuPercent' | 'leaderMainRunqueuePercent';

/** Linux reports process times in USER_HZ ticks, fixed at 100 per second for user space. */
const clockTicksPerSec = 100;

/** User + system CPU of a process so far, in microseconds (0 once it is gone). */
function cpuUs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSec;
  } catch {
    return 0;
  }
}

/** Nanoseconds a thread has run on a CPU and waited runnable for one, so far ([0, 0] once it is gone). */
function schedNs(pid: number | undefined): [number, number] {
  if (pid === undefined) return [0, 0];
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return [run ?? 0, wait ?? 0];
  } catch {
    return [0, 0];
  }
}

/**
 * Runs `load`, and adds the servers' and this process's CPU per successful write, and the
 * leader's own (`leaderPid`). A run with a failed write is not a measurement of the write path (an
 * exhausted pool answers 409 fast, a stalled server times out): it stops the suite, naming the
 * first failure. `mainThread`: also what the leader's main thread did (MainThreadFig).
 */
export async function measured(pids: readonly (number | undefined)[], leaderPid: number | undefined, load: () => Promise<HttpLoadResult>): Promise<Record<Fig, number>>;
export async function measured(pids: readonly (number | undefined)[], leaderPid: number | undefined, load: () => Promise<HttpLoadResult>, mainThread: true): Promise<Record<Fig | MainThreadFig, number>>;
export async function measured(pids: readonly (number | undefined)[], leaderPid: number | undefined, load: () => Promise<HttpLoadResult>, mainThread = false): Promise<Record<string, number>> {
  const serverCpu = (): number => pids.reduce<number>((sum, pid) => sum + cpuUs(pid), 0);
  const server0 = serverCpu();
  const leader0 = cpuUs(leaderPid);
  const sched0 = schedNs(leaderPid);
  const self0 = process.cpuUsage();
  const started = performance.now();
  const r = await load();
  const wallNs = (performance.now() - started) * 1e6;
  if (r.failed > 0) throw new Error(`${r.failed} of ${r.ok + r.failed} writes failed; the first: ${r.firstFailure ?? 'unknown'}`);
  const self = process.cpuUsage(self0);
  const sched = schedNs(leaderPid);
  const per = (us: number): number => (r.ok === 0 ? 0 : Math.round(us / r.ok));
  const figures: Record<string, number> = {
    opsPerSec: r.opsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, failed: r.failed,
    serverCpuUsPerOp: per(serverCpu() - server0), generatorCpuUsPerOp: per(self.user + self.system), leaderCpuUsPerOp: per(cpuUs(leaderPid) - leader0),
  };
  if (mainThread) {
    figures['leaderMainOnCpuPercent'] = round((100 * (sched[0] - sched0[0])) / wallNs, 1);
    figures['leaderMainRunqueuePercent'] = round((100 * (sched[1] - sched0[1])) / wallNs, 1);
  }
  return figures;
}

export async function setupVnetd(cluster: VnetdCluster): Promise<void> {
  const leader = hostPort((await cluster.leader()).http);
  await httpCall(leader.host, leader.port, 'POST', '/v1/networks', ipamBench.network, [201]);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let a = next++; a < ipamBench.agents; a = next++) {
      await httpCall(leader.host, leader.port, 'PUT', `/v1/agents/agent-${a}`, { ip: `172.16.${a >> 7}.${(a & 0x7f) + 1}` }, [200, 201]);
    }
  };
  await Promise.all(Array.from({ length: ipamBench.setupConcurrency }, worker));
}

export function vnetdLoad(http: string, concurrency: number, seconds: number): Promise<HttpLoadResult> {
  const { host, port } = hostPort(http);
  // A run id keeps task ids unique across processes of the same data dir (there is one per run).
  return httpLoad({
    host, port, concurrency, seconds,
    request: (seq) => ({
      method: 'PUT',
      path: `/v1/tasks/t${seq}`,
      body: Buffer.from(JSON.stringify({ name: `t${seq}`, framework: 'bench', agent: `agent-${seq % ipamBench.agents}`, network: ipamBench.network.name })),
    }),
    ok: (status) => status === 201,
  });
}

const etcdValue = Buffer.alloc(ipamBench.etcdValueBytes, 0x76).toString('base64');

function etcdLoad(port: number, concurrency: number, seconds: number): Promise<HttpLoadResult> {
  return httpLoad({
    host: '127.0.0.1', port, concurrency, seconds,
    request: (seq) => {
      const key = Buffer.from(`k${String(seq).padStart(ipamBench.etcdKeyBytes - 1, '0')}`).toString('base64');
      return { method: 'POST', path: '/v3/kv/put', body: Buffer.from(JSON.stringify({ key, value: etcdValue })) };
    },
    ok: (status, body) => status === 200 && body.includes('"header"'),
  });
}

type SideFigures = Record<Fig, number> & Partial<Record<MainThreadFig, number>>;

interface Side {
  median: SideFigures;
  runs: SideFigures[];
}

async function writePath(vnetd: VnetdCluster, etcd: EtcdCluster, o: { seconds: number; repeats: number; warmupSeconds: number }): Promise<Record<string, { vnetd: Side; etcd: Side; ratio: number }>> {
  const out: Record<string, { vnetd: Side; etcd: Side; ratio: number }> = {};
  // One warm-up at the highest concurrency first, for both sides alike: a long-running vnetd runs
  // optimised code, but 2 s at 1 in flight (a few hundred writes) leaves V8 interpreting much of
  // the write path. Measured here: after 4,000 writes the leader's CPU per sequential write fell
  // from ~2.7 to ~1.5 ms, each follower's from ~1.5 to ~1.1 ms (load 13).
  const hottest = Math.max(...ipamBench.concurrencies);
  await vnetdLoad((await vnetd.leader()).http, hottest, o.warmupSeconds);
  await etcdLoad((await etcd.leader()).clientPort, hottest, o.warmupSeconds);
  for (const c of ipamBench.concurrencies) {
    await vnetdLoad((await vnetd.leader()).http, c, o.warmupSeconds);
    await etcdLoad((await etcd.leader()).clientPort, c, o.warmupSeconds);
    const vRuns: Record<Fig | MainThreadFig, number>[] = [];
    const eRuns: Record<Fig, number>[] = [];
    const vPids = vnetd.nodes.map((n) => n.child.child.pid);
    const ePids = etcd.members.map((m) => m.child.child.pid);
    for (let r = 0; r < o.repeats; r++) {
      const vLeader = await vnetd.leader();
      vRuns.push(await measured(vPids, vLeader.child.child.pid, () => vnetdLoad(vLeader.http, c, o.seconds), true));
      const eLeader = await etcd.leader();
      eRuns.push(await measured(ePids, eLeader.child.child.pid, () => etcdLoad(eLeader.clientPort, c, o.seconds)));
      console.log(`  ${c} in flight, run ${r + 1}: vnetd ${JSON.stringify(vRuns.at(-1))} etcd ${JSON.stringify(eRuns.at(-1))}`);
    }
    const v = await medianOf(vRuns.length, async (i) => vRuns[i] as Record<Fig | MainThreadFig, number>);
    const e = await medianOf(eRuns.length, async (i) => eRuns[i] as Record<Fig, number>);
    out[`inFlight${c}`] = { vnetd: v, etcd: e, ratio: e.median.opsPerSec === 0 ? 0 : round(v.median.opsPerSec / e.median.opsPerSec, 2) };
  }
  return out;
}

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 10, repeats: 3, warmupSeconds: 2 }, ['records-size'] as const, ['skip-apply'] as const);
  const recordsSize = Number(o.extra['records-size'] ?? ipamBench.recordsSizeDefault);
  const workDir = path.join(context.workDir, `ipam-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const loadBefore = hostLoad();
  const [v, e] = await Promise.allSettled([
    VnetdCluster.start({ voters: 3, workDir: path.join(workDir, 'vnetd') }),
    EtcdCluster.start(path.join(workDir, 'etcd')),
  ]);
  if (v.status === 'rejected' || e.status === 'rejected') {
    // One side failed to start: stop the other before reporting, so nothing is left running.
    await Promise.all([v.status === 'fulfilled' ? v.value.stop() : null, e.status === 'fulfilled' ? e.value.stop() : null]);
    throw v.status === 'rejected' ? v.reason : (e as PromiseRejectedResult).reason;
  }
  const vnetd = v.value;
  const etcd = e.value;
  let write: Awaited<ReturnType<typeof writePath>>;
  let nodeMemory: Record<string, unknown>;
  try {
    await setupVnetd(vnetd);
    write = await writePath(vnetd, etcd, o);
    const leader = hostPort((await vnetd.leader()).http);
    const usage = (await httpCall(leader.host, leader.port, 'GET', `/v1/networks/${ipamBench.network.name}/usage`, undefined, [200])) as { used?: number };
    nodeMemory = {
      tasks: usage.used ?? null,
      vnetdRssMiB: Object.fromEntries(vnetd.nodes.map((n) => [n.id, round((rssKiB(n.child.child.pid) ?? 0) / 1024, 1)])),
      etcdRssMiB: Object.fromEntries(etcd.members.map((m) => [m.name, round((rssKiB(m.child.child.pid) ?? 0) / 1024, 1)])),
    };
  } finally {
    await Promise.all([vnetd.stop(), etcd.stop()]);
  }
  const loadAfterWrites = hostLoad();

  let apply: ApplyCost | null = null;
  let applyRecords: ApplyCost | null = null;
  if (!o.flags['skip-apply']) {
    // Side by side: the 1.5x target is a ratio of two figures, so both are timed in the same moments.
    const [small, large] = ipamBench.applySizes;
    apply = await applyCostSideBySide(workDir, small, large, false);
    applyRecords = await applyCostSideBySide(workDir, small, recordsSize, true);
  }

  const rows = ipamBench.concurrencies.map((c) => {
    const w = write[`inFlight${c}`];
    return {
      'in flight': c,
      'vnetd alloc/s': w?.vnetd.median.opsPerSec ?? '',
      'vnetd p50': w?.vnetd.median.p50Ms ?? '',
      'vnetd p99': w?.vnetd.median.p99Ms ?? '',
      'etcd put/s': w?.etcd.median.opsPerSec ?? '',
      'etcd p50': w?.etcd.median.p50Ms ?? '',
      'etcd p99': w?.etcd.median.p99Ms ?? '',
      ratio: w?.ratio ?? '',
      'vnetd cpu us/op': w?.vnetd.median.serverCpuUsPerOp ?? '',
      'etcd cpu us/op': w?.etcd.median.serverCpuUsPerOp ?? '',
      'leader cpu us/op': `${w?.vnetd.median.leaderCpuUsPerOp ?? ''} vs ${w?.etcd.median.leaderCpuUsPerOp ?? ''}`,
      'vnetd leader main on cpu / waiting %': `${w?.vnetd.median.leaderMainOnCpuPercent ?? ''} / ${w?.vnetd.median.leaderMainRunqueuePercent ?? ''}`,
    };
  });
  printTable(rows);
  if (apply !== null && applyRecords !== null) {
    printTable([...apply.sizes.map((s) => ({ records: 'no', ...s })), ...applyRecords.sizes.map((s) => ({ records: 'yes', ...s }))]);
  }
  const targets = checkTargets(write, apply);
  for (const [name, v] of Object.entries(targets)) console.log(`target ${name}: ${JSON.stringify(v.value)} ${v.met ? 'MET' : 'MISSED'}`);
  const file = writeResults('ipam', {
    parameters: { ...o, agents: ipamBench.agents, network: ipamBench.network, concurrencies: ipamBench.concurrencies, etcd: '3.4 (Debian etcd-server), 3 members, default settings', fsync: true, recordsSize, hostLoadBefore: loadBefore, hostLoadAfterWrites: loadAfterWrites, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { writePath: write, nodeMemoryAfterWrites: nodeMemory, applyCost: apply, applyCostWithRecords: applyRecords, targets },
  });
  console.log(`wrote ${file}`);
  rmSync(workDir, { recursive: true, force: true });
}

function checkTargets(write: Record<string, { vnetd: Side; etcd: Side; ratio: number }>, apply: ApplyCost | null): Record<string, { value: unknown; met: boolean }> {
  const t = ipamBench.targets;
  const out: Record<string, { value: unknown; met: boolean }> = {};
  for (const c of [64, 256]) {
    const w = write[`inFlight${c}`];
    if (w === undefined) continue;
    out[`writesAtLeast2xEtcdAt${c}`] = { value: w.ratio, met: w.ratio >= t.writesRatioMin };
    out[`p99NoWorseThanEtcdAt${c}`] = { value: { vnetd: w.vnetd.median.p99Ms, etcd: w.etcd.median.p99Ms }, met: w.vnetd.median.p99Ms <= w.etcd.median.p99Ms };
  }
  const seq = write['inFlight1'];
  if (seq !== undefined) out['sequentialP50NoWorseThanEtcd'] = { value: { vnetd: seq.vnetd.median.p50Ms, etcd: seq.etcd.median.p50Ms }, met: seq.vnetd.median.p50Ms <= seq.etcd.median.p50Ms };
  const small = apply?.sizes[0];
  const large = apply?.sizes.at(-1);
  if (small !== undefined && large !== undefined) {
    const ratio = round(large.cpuMedianUs / small.cpuMedianUs, 2);
    out['applyCost1MWithin1_5xOf1k'] = { value: { cpuUs1k: small.cpuMedianUs, cpuUs1M: large.cpuMedianUs, ratio }, met: ratio <= t.applyRatioMax };
    // The state machine's own share only: a node's memory at 1,000,000 tasks is measured by the
    // fill suite (a 3-voter cluster filled through HTTP), which is the figure issue 4 asks for.
    out['stateMachineMemoryAt1MUnder1GiB'] = { value: { heapMiB: large.heapMiB, rssMiB: large.rssMiB, note: 'state machine alone; a whole node: npm run bench -- fill' }, met: large.rssMiB < t.memoryMiBMax };
  }
  return out;
}
