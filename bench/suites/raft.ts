// `npm run bench -- raft [--seconds 10] [--repeats 3] [--warmup 2]`: the raw replication path.
// Three voter processes (bench/lib/raft-node.ts) on loopback, each with its own LevelDB data
// directory, fsync on; proposals are made inside the leader process by 1, 64 and 256 closed-loop
// proposers with 64-byte commands. Reports commits/s, p50/p99 latency (propose → applied on the
// leader) and entries per fsync on the leader (the group-commit factor), next to the fsync floor
// measured at start. Targets (issue 3): sequential p50 < 1 ms; 256 proposers ≥ 20,000 commits/s
// with p99 < 50 ms. Also the leader's mean save (batch) time, event-loop delay p99 and GC pauses,
// which tell a tail from the main thread apart from one in I/O.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { medianOf, printTable, round, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs } from '../lib/args.js';
import { IpcClient } from '../lib/ipc.js';
import { hostLoad, sleep, startNode, stopAll, waitFor } from '../lib/proc.js';
import type { Child } from '../lib/proc.js';
import type { LoadResult, RaftNodeReply, RaftNodeRequest } from '../lib/raft-node.js';
import { freePorts } from '../../test/util/ports.js';

const raftNodeScript = fileURLToPath(new URL('../lib/raft-node.js', import.meta.url));

export const raftBench = {
  voters: 3,
  commandBytes: 64,
  proposerCounts: [1, 64, 256],
  leaderWaitMs: 30_000,
  targets: { sequentialP50MsMax: 1, commitsPerSecAt256Min: 20_000, p99MsAt256Max: 50 },
} as const;

type Client = IpcClient<RaftNodeRequest, RaftNodeReply>;

interface Cluster {
  readonly children: Child[];
  readonly clients: Map<string, Client>;
}

async function startCluster(workDir: string): Promise<Cluster> {
  const ports = await freePorts(raftBench.voters);
  const members = ports.map((port, i) => ({ id: `n${i + 1}`, raft: `127.0.0.1:${port}` }));
  const secret = randomBytes(32).toString('hex');
  const children: Child[] = [];
  const clients = new Map<string, Client>();
  for (const m of members) {
    const dataDir = path.join(workDir, m.id);
    mkdirSync(dataDir, { recursive: true });
    const child = startNode(m.id, raftNodeScript, ['--id', m.id, '--data-dir', dataDir, '--listen', m.raft, '--members', JSON.stringify(members), '--secret', secret], {
      logFile: path.join(workDir, `${m.id}.log`),
      ipc: true,
    });
    children.push(child);
    clients.set(m.id, new IpcClient(child));
  }
  return { children, clients };
}

/** The id of the node that says it is leader, once one does. */
async function findLeader(c: Cluster): Promise<Client> {
  let leader: Client | null = null;
  await waitFor('a raft leader', async () => {
    for (const [, client] of c.clients) {
      const s = await client.request({ type: 'status' });
      if (s.type === 'status' && s.role === 'leader') {
        leader = client;
        return true;
      }
    }
    return false;
  }, undefined, raftBench.leaderWaitMs);
  if (leader === null) throw new Error('no leader');
  return leader;
}

async function loadOn(leader: Client, proposers: number, seconds: number): Promise<LoadResult> {
  const r = await leader.request({ type: 'load', proposers, seconds, commandBytes: raftBench.commandBytes }, seconds * 1000 + 60_000);
  if (r.type !== 'load') throw new Error(`load: unexpected reply ${JSON.stringify(r)}`);
  return r.result;
}

type Figure = 'commitsPerSec' | 'p50Ms' | 'p99Ms' | 'entriesPerFsync' | 'errors' | 'saveMsMean' | 'loopDelayP99Ms' | 'gcMaxMs' | 'gcMsPerSec';

/** Latency and throughput, plus where a tail would come from: the leader's saves, event loop and GC. */
function figures(r: LoadResult): Record<Figure, number> {
  return {
    commitsPerSec: round((r.commits / r.elapsedMs) * 1000, 0),
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    entriesPerFsync: r.delta.saves === 0 ? 0 : round(r.delta.entriesSaved / r.delta.saves, 2),
    errors: r.errors,
    saveMsMean: r.delta.fsyncBatches === 0 ? 0 : round(r.delta.batchMsTotal / r.delta.fsyncBatches, 2),
    loopDelayP99Ms: r.mainThread.loopDelayP99Ms,
    gcMaxMs: r.mainThread.gcMaxMs,
    gcMsPerSec: round((r.mainThread.gcTotalMs / r.elapsedMs) * 1000, 1),
  };
}

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 10, repeats: 3, warmupSeconds: 2 });
  const workDir = path.join(context.workDir, `raft-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const loadBefore = hostLoad();
  const cluster = await startCluster(workDir);
  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown> = {};
  try {
    for (const proposers of raftBench.proposerCounts) {
      await loadOn(await findLeader(cluster), proposers, o.warmupSeconds);
      const { median, runs } = await medianOf(o.repeats, async () => figures(await loadOn(await findLeader(cluster), proposers, o.seconds)));
      results[`proposers${proposers}`] = { median, runs };
      rows.push({
        proposers, 'commits/s': median.commitsPerSec, 'p50 ms': median.p50Ms, 'p99 ms': median.p99Ms, 'entries/fsync': median.entriesPerFsync,
        'save ms': median.saveMsMean, 'loop delay p99 ms': median.loopDelayP99Ms, 'gc max ms': median.gcMaxMs, 'gc ms/s': median.gcMsPerSec, errors: median.errors,
      });
      await sleep(200);
    }
  } finally {
    await stopAll(cluster.children);
  }
  const t = raftBench.targets;
  const seq = results['proposers1'] as { median: { p50Ms: number } };
  const top = results['proposers256'] as { median: { commitsPerSec: number; p99Ms: number } };
  const targets = {
    sequentialP50Under1Ms: { value: seq.median.p50Ms, met: seq.median.p50Ms < t.sequentialP50MsMax },
    commitsPerSecAt256AtLeast20k: { value: top.median.commitsPerSec, met: top.median.commitsPerSec >= t.commitsPerSecAt256Min },
    p99At256Under50Ms: { value: top.median.p99Ms, met: top.median.p99Ms < t.p99MsAt256Max },
  };
  printTable(rows);
  console.log(`fsync floor (4 KiB write+fsync, median): ${context.machine.fsyncMedianMs} ms`);
  for (const [name, v] of Object.entries(targets)) console.log(`target ${name}: ${v.value} ${v.met ? 'MET' : 'MISSED'}`);
  const file = writeResults('raft', {
    parameters: { ...o, voters: raftBench.voters, commandBytes: raftBench.commandBytes, proposerCounts: raftBench.proposerCounts, fsync: true, hostLoadBefore: loadBefore, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { ...results, targets, fsyncFloorMs: context.machine.fsyncMedianMs },
  });
  console.log(`wrote ${file}`);
  rmSync(workDir, { recursive: true, force: true });
}
