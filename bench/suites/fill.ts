// `npm run bench -- fill [--tasks 1000000] [--in-flight 256]`
//
// Memory per node, measured on nodes rather than on the state machine alone: a 3-voter cluster of
// `vnetd start` processes (fsync on) is filled through HTTP with --tasks allocations (the ipam
// suite's agents, network and requests) at --in-flight, in one-second slices. Each slice's
// writes/s and worst latency show the stalls a long fill meets (a snapshot is due every
// snapshotEntries applied, forced at twice that under continuous load, and taken on every replica
// at about the same index). At the end, per node: resident memory now and at its peak (VmRSS and
// VmHWM from /proc), and V8's heap used and allocated (from /metrics). Issue 4's target is the
// memory of a node at 1,000,000 tasks: the peak RSS of the largest node under 1 GiB.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { printTable, round, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs } from '../lib/args.js';
import { hostPort } from '../lib/http-load.js';
import { hostLoad } from '../lib/proc.js';
import { VnetdCluster } from '../lib/vnetd-cluster.js';
import { setupVnetd, vnetdLoad } from './ipam.js';

export const fillBench = {
  tasksDefault: 1_000_000,
  inFlightDefault: 256,
  /** A slice whose slowest write took longer than this is listed as a stall. */
  stallMs: 1_000,
  targets: { peakRssMiBMax: 1024 },
} as const;

/** A /proc/PID/status field in MiB (VmRSS: resident now, VmHWM: the peak). */
function statusMiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  if (pid === undefined) return Number.NaN;
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : round(Number(m[1]) / 1024, 0);
}

/** The value of a metric series in a Prometheus text page; `absent` when it has none yet (a histogram never observed). */
function metric(page: string, name: string, absent = Number.NaN): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? absent : Number(line.slice(name.length + 1));
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 1, repeats: 1, warmupSeconds: 0 }, ['tasks', 'in-flight'] as const);
  const tasks = positiveInt('tasks', o.extra.tasks, fillBench.tasksDefault);
  const inFlight = positiveInt('in-flight', o.extra['in-flight'], fillBench.inFlightDefault);
  const loadBefore = hostLoad();
  const workDir = path.join(context.workDir, `fill-${process.pid}`);
  const cluster = await VnetdCluster.start({ voters: 3, workDir });
  const slices: { second: number; total: number; opsPerSec: number; p50Ms: number; maxMs: number }[] = [];
  const nodes: Record<string, { rssMiB: number; peakRssMiB: number; heapUsedMiB: number; heapTotalMiB: number; snapshots: number; snapshotEncodeSeconds: number; snapshotPersistSeconds: number }> = {};
  const started = performance.now();
  try {
    await setupVnetd(cluster);
    const leader = (await cluster.leader()).http;
    let total = 0;
    while (total < tasks) {
      const r = await vnetdLoad(leader, inFlight, 1);
      if (r.failed > 0) throw new Error(`after ${total} writes: ${r.failed} failed; the first: ${r.firstFailure ?? 'unknown'}`);
      total += r.ok;
      slices.push({ second: slices.length, total, opsPerSec: r.opsPerSec, p50Ms: r.p50Ms, maxMs: r.maxMs });
      if (slices.length % 10 === 0) console.log(`  ${total} tasks after ${slices.length} s`);
    }
    for (const n of cluster.nodes) {
      const { host, port } = hostPort(n.http);
      const page = await (await fetch(`http://${host}:${port}/metrics`)).text();
      const pid = n.child.child.pid;
      nodes[n.id] = {
        rssMiB: statusMiB(pid, 'VmRSS'),
        peakRssMiB: statusMiB(pid, 'VmHWM'),
        heapUsedMiB: round(metric(page, 'vnetd_process_nodejs_heap_size_used_bytes') / 2 ** 20, 0),
        heapTotalMiB: round(metric(page, 'vnetd_process_nodejs_heap_size_total_bytes') / 2 ** 20, 0),
        snapshots: metric(page, 'vnetd_raft_snapshot_duration_seconds_count{phase="encode"}', 0),
        snapshotEncodeSeconds: round(metric(page, 'vnetd_raft_snapshot_duration_seconds_sum{phase="encode"}', 0), 2),
        snapshotPersistSeconds: round(metric(page, 'vnetd_raft_snapshot_duration_seconds_sum{phase="persist"}', 0), 2),
      };
    }
  } finally {
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  const total = slices.at(-1)?.total ?? 0;
  const seconds = round((performance.now() - started) / 1000, 1);
  const stalls = slices.filter((s) => s.maxMs > fillBench.stallMs);
  printTable(Object.entries(nodes).map(([id, n]) => ({ node: id, ...n })));
  console.log(`${total} tasks in ${slices.length} one-second slices; slices with a write slower than ${fillBench.stallMs} ms: ${stalls.map((s) => `${s.second}s (at ${s.total} tasks, max ${Math.round(s.maxMs)} ms)`).join(', ') || 'none'}`);
  const peak = Math.max(...Object.values(nodes).map((n) => n.peakRssMiB));
  const targets = { peakRssPerNodeUnder1GiB: { value: { tasks: total, peakRssMiB: peak }, met: peak < fillBench.targets.peakRssMiBMax } };
  for (const [name, v] of Object.entries(targets)) console.log(`target ${name}: ${JSON.stringify(v.value)} ${v.met ? 'MET' : 'MISSED'}`);
  const file = writeResults('fill', {
    parameters: { tasks, inFlight, hostLoadBefore: loadBefore, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { tasks: total, seconds, nodes, stalls, worstMaxMs: Math.max(...slices.map((s) => s.maxMs)), slices, targets },
  });
  console.log(`wrote ${file}`);
}
