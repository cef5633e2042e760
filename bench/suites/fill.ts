// `npm run bench -- fill [--tasks 1000000] [--in-flight 256] [--rest-seconds 30] [--node-args=FLAGS]`
//
// Memory per node, measured on nodes rather than on the state machine alone: a 3-voter cluster of
// `vnetd start` processes (fsync on) is filled through HTTP with --tasks allocations (the ipam
// suite's agents, network and requests) at --in-flight, in one-second slices. Each slice's
// writes/s and worst latency show the stalls a long fill meets (a snapshot is due every
// snapshotEntries applied, forced at twice that under continuous load, and taken on every replica
// at about the same index). At the end, per node: resident memory now and at its peak (VmRSS and
// VmHWM from /proc), and V8's heap used and allocated (from /metrics). Issue 4's target is the
// memory of a node at 1,000,000 tasks: the peak RSS of the largest node under 1 GiB.
// Then, after --rest-seconds without load, the resident memory again: V8 gives heap pages back
// only once allocation has been low for a while (its memory reducer), so a node at rest with a
// million tasks holds less than at the peak of a fill. `--node-args` gives the node processes
// extra flags (a V8 setting, say).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { printTable, round, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs, positive } from '../lib/args.js';
import { scrapeMetrics } from '../lib/metrics.js';
import { hostLoad, statusKiB } from '../lib/proc.js';
import { VnetdCluster } from '../lib/vnetd-cluster.js';
import { setupVnetd, vnetdLoad } from './ipam.js';

export const fillBench = {
  tasksDefault: 1_000_000,
  inFlightDefault: 256,
  restSecondsDefault: 30,
  /** A slice whose slowest write took longer than this is listed as a stall. */
  stallMs: 1_000,
  targets: { peakRssMiBMax: 1024 },
} as const;

const mib = (kib: number | null): number => (kib === null ? Number.NaN : round(kib / 1024, 0));

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 1, repeats: 1, warmupSeconds: 0 }, ['tasks', 'in-flight', 'rest-seconds', 'node-args'] as const);
  const nodeArgs = (o.extra['node-args'] ?? '').split(' ').filter((a) => a !== '');
  const tasks = o.extra.tasks === undefined ? fillBench.tasksDefault : positive('tasks', o.extra.tasks, true);
  const inFlight = o.extra['in-flight'] === undefined ? fillBench.inFlightDefault : positive('in-flight', o.extra['in-flight'], true);
  const restSeconds = o.extra['rest-seconds'] === undefined ? fillBench.restSecondsDefault : positive('rest-seconds', o.extra['rest-seconds'], true);
  const loadBefore = hostLoad();
  const workDir = path.join(context.workDir, `fill-${process.pid}`);
  const cluster = await VnetdCluster.start({ voters: 3, workDir, ...(nodeArgs.length > 0 && { nodeArgs }) });
  const slices: { second: number; total: number; opsPerSec: number; p50Ms: number; maxMs: number }[] = [];
  const nodes: Record<string, { leader: boolean; rssMiB: number; peakRssMiB: number; heapUsedMiB: number; heapTotalMiB: number; snapshots: number; snapshotEncodeSeconds: number; snapshotPersistSeconds: number; snapshotsInstalled: number; mallocFreeMiB: number; restRssMiB: number; restHeapTotalMiB: number }> = {};
  const started = performance.now();
  try {
    await setupVnetd(cluster);
    const leaderNode = await cluster.leader();
    const leader = leaderNode.http;
    let total = 0;
    while (total < tasks) {
      const r = await vnetdLoad(leader, inFlight, 1);
      if (r.failed > 0) throw new Error(`after ${total} writes: ${r.failed} failed; the first: ${r.firstFailure ?? 'unknown'}`);
      total += r.ok;
      slices.push({ second: slices.length, total, opsPerSec: r.opsPerSec, p50Ms: r.p50Ms, maxMs: r.maxMs });
      if (slices.length % 10 === 0) console.log(`  ${total} tasks after ${slices.length} s`);
    }
    for (const n of cluster.nodes) {
      const m = await scrapeMetrics(n.http);
      // A histogram never observed (no snapshot yet) has no series: 0.
      const snapshot = (what: string): number => m.get(`vnetd_raft_snapshot_duration_seconds_${what}`) ?? 0;
      const pid = n.child.child.pid;
      nodes[n.id] = {
        // The leader allocates ~3x more per write than a follower, so its heap may grow further.
        leader: n.id === leaderNode.id,
        rssMiB: mib(statusKiB(pid, 'VmRSS')),
        peakRssMiB: mib(statusKiB(pid, 'VmHWM')),
        heapUsedMiB: round((m.get('vnetd_process_nodejs_heap_size_used_bytes') ?? Number.NaN) / 2 ** 20, 0),
        heapTotalMiB: round((m.get('vnetd_process_nodejs_heap_size_total_bytes') ?? Number.NaN) / 2 ** 20, 0),
        snapshots: snapshot('count{phase="encode"}'),
        snapshotEncodeSeconds: round(snapshot('sum{phase="encode"}'), 2),
        snapshotPersistSeconds: round(snapshot('sum{phase="persist"}'), 2),
        // A follower that fell behind the leader's compacted log gets the whole state instead.
        snapshotsInstalled: m.get('vnetd_raft_snapshots_total{kind="installed"}') ?? 0,
        // Free in glibc's heap and arenas (src/malloc gives it back after snapshots); NaN without the addon.
        mallocFreeMiB: round((m.get('vnetd_process_malloc_bytes{state="free"}') ?? Number.NaN) / 2 ** 20, 0),
        restRssMiB: Number.NaN,
        restHeapTotalMiB: Number.NaN,
      };
    }
    console.log(`  at rest for ${restSeconds} s`);
    await new Promise((r) => setTimeout(r, restSeconds * 1000));
    for (const n of cluster.nodes) {
      const m = await scrapeMetrics(n.http);
      const node = nodes[n.id]!;
      node.restRssMiB = mib(statusKiB(n.child.child.pid, 'VmRSS'));
      node.restHeapTotalMiB = round((m.get('vnetd_process_nodejs_heap_size_total_bytes') ?? Number.NaN) / 2 ** 20, 0);
    }
  } finally {
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  const total = slices.at(-1)?.total ?? 0;
  const seconds = round((performance.now() - started) / 1000, 1);
  const stalls = slices.filter((s) => s.maxMs > fillBench.stallMs);
  printTable(Object.entries(nodes).map(([id, n]) => ({ node: id, ...n, leader: n.leader ? 'yes' : '' })));
  console.log(`${total} tasks in ${slices.length} one-second slices; slices with a write slower than ${fillBench.stallMs} ms: ${stalls.map((s) => `${s.second}s (at ${s.total} tasks, max ${Math.round(s.maxMs)} ms)`).join(', ') || 'none'}`);
  const peak = Math.max(...Object.values(nodes).map((n) => n.peakRssMiB));
  const rest = Math.max(...Object.values(nodes).map((n) => n.restRssMiB));
  const targets = {
    peakRssPerNodeUnder1GiB: { value: { tasks: total, peakRssMiB: peak }, met: peak < fillBench.targets.peakRssMiBMax },
    restRssPerNodeUnder1GiB: { value: { tasks: total, restSeconds, rssMiB: rest }, met: rest < fillBench.targets.peakRssMiBMax },
  };
  for (const [name, v] of Object.entries(targets)) console.log(`target ${name}: ${JSON.stringify(v.value)} ${v.met ? 'MET' : 'MISSED'}`);
  const file = writeResults('fill', {
    parameters: { tasks, inFlight, restSeconds, nodeArgs, hostLoadBefore: loadBefore, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { tasks: total, seconds, nodes, stalls, worstMaxMs: Math.max(...slices.map((s) => s.maxMs)), slices, targets },
  });
  console.log(`wrote ${file}`);
}
