// A Raft voter process for the `raft` suite: raft/node's RaftNode on LevelStorage (fsync on) and
// TcpTransport, with a trivial state machine (a counter), so the suite measures the replication
// path alone: no HTTP, no IPAM. The suite drives it over the IPC channel (RaftNodeRequest below);
// the load runs INSIDE this process, so a proposal's latency is propose() → applied on the leader.
//
//   node dist/bench/lib/raft-node.js --id n1 --data-dir DIR --listen 127.0.0.1:PORT \
//     --members '[{"id":"n1","raft":"127.0.0.1:PORT"},...]' --secret HEX
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Latencies } from '../harness.js';
import type { LogIndex, Member } from '../../raft/core/types.js';
import { nodeId } from '../../raft/core/types.js';
import { RaftNode, RaftError } from '../../raft/node/index.js';
import type { StateMachine } from '../../raft/node/index.js';
import { LevelStorage } from '../../raft/storage/index.js';
import { TcpTransport } from '../../raft/transport/index.js';
import { assertNever } from '../../raft/core/assert.js';

export type RaftNodeRequest =
  | { readonly type: 'status' }
  | { readonly type: 'stats' }
  | { readonly type: 'load'; readonly proposers: number; readonly seconds: number; readonly commandBytes: number }
  | { readonly type: 'stop' };

export interface Counters {
  readonly saves: number;
  readonly entriesSaved: number;
  readonly fsyncBatches: number;
  readonly batchMsTotal: number;
}

export interface LoadResult {
  readonly commits: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly elapsedMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Leader counters over the load window. */
  readonly delta: Counters;
  /** The leader's main thread over the load window: where a latency tail that is not I/O comes from. */
  readonly mainThread: MainThreadFigures;
}

export interface MainThreadFigures {
  /** Event-loop delay (perf_hooks, 1 ms resolution): how long ready callbacks waited for the thread. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Garbage-collection pauses. */
  readonly gcPauses: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
}

/** Watches the event loop and GC from `start()` until the returned function is called. */
function watchMainThread(): () => MainThreadFigures {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let gcPauses = 0;
  let gcTotalMs = 0;
  let gcMaxMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcPauses++;
      gcTotalMs += e.duration;
      gcMaxMs = Math.max(gcMaxMs, e.duration);
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  delay.enable();
  return () => {
    delay.disable();
    gc.disconnect();
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    return {
      loopDelayP99Ms: ms(delay.percentile(99)),
      loopDelayMaxMs: ms(delay.max),
      gcPauses,
      gcTotalMs: Math.round(gcTotalMs * 100) / 100,
      gcMaxMs: Math.round(gcMaxMs * 100) / 100,
    };
  };
}

export type RaftNodeReply =
  | { readonly type: 'status'; readonly role: string; readonly leader: string | null; readonly term: number; readonly commit: number; readonly applied: number }
  | { readonly type: 'stats'; readonly counters: Counters }
  | { readonly type: 'load'; readonly result: LoadResult }
  | { readonly type: 'error'; readonly message: string };

/** Counts applies; its snapshot is the count (8 bytes), so snapshots cost nothing measurable. */
class CounterMachine implements StateMachine {
  applied = 0;
  apply(_command: Uint8Array, _index: LogIndex): number {
    return ++this.applied;
  }
  snapshot(): Uint8Array {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(this.applied);
    return b;
  }
  restore(data: Uint8Array): void {
    this.applied = data.length === 8 ? Buffer.from(data).readDoubleBE(0) : 0;
  }
}

function counters(node: RaftNode, storage: LevelStorage): Counters {
  const n = node.stats();
  const s = storage.stats();
  return { saves: n.saves, entriesSaved: n.entriesSaved, fsyncBatches: s.batches, batchMsTotal: s.batchMsTotal };
}

function minus(a: Counters, b: Counters): Counters {
  return { saves: a.saves - b.saves, entriesSaved: a.entriesSaved - b.entriesSaved, fsyncBatches: a.fsyncBatches - b.fsyncBatches, batchMsTotal: a.batchMsTotal - b.batchMsTotal };
}

/** `proposers` closed-loop proposers for `seconds`: each proposes, awaits apply, proposes again. */
async function load(node: RaftNode, storage: LevelStorage, proposers: number, seconds: number, commandBytes: number): Promise<LoadResult> {
  const latencies = new Latencies();
  const before = counters(node, storage);
  const stopWatching = watchMainThread();
  const started = performance.now();
  const endAt = started + seconds * 1000;
  let commits = 0;
  let errors = 0;
  let firstError: string | null = null;
  let seq = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const command = Buffer.allocUnsafe(commandBytes);
      command.fill(0x61);
      command.writeUInt32BE(++seq >>> 0, 0);
      const t0 = performance.now();
      try {
        await node.propose(command);
        latencies.record(performance.now() - t0);
        commits++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof RaftError ? `${err.code}: ${err.message}` : String(err);
        // A refused proposal returns at once; back off so a leaderless moment is not a busy loop.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: proposers }, worker));
  const elapsedMs = performance.now() - started;
  const mainThread = stopWatching();
  return { commits, errors, firstError, elapsedMs, ...latencies.summary(), delta: minus(counters(node, storage), before), mainThread };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      members: { type: 'string' },
      secret: { type: 'string' },
    },
  });
  const { id, listen, members, secret } = values;
  const dataDir = values['data-dir'];
  if (id === undefined || dataDir === undefined || listen === undefined || members === undefined || secret === undefined) {
    throw new Error('raft-node: --id, --data-dir, --listen, --members and --secret are required');
  }
  const colon = listen.lastIndexOf(':');
  const storage = await LevelStorage.open({ dataDir });
  const transport = new TcpTransport({ id: nodeId(id), listen: { host: listen.slice(0, colon), port: Number(listen.slice(colon + 1)) }, secret, log: () => undefined });
  await transport.start();
  const parsed = JSON.parse(members) as { id: string; raft: string }[];
  const bootstrap: Member[] = parsed.map((m) => ({ id: nodeId(m.id), role: 'voter', context: JSON.stringify({ raft: m.raft }) }));
  const node = await RaftNode.open({
    id: nodeId(id),
    storage,
    transport,
    stateMachine: new CounterMachine(),
    bootstrap: { members: bootstrap },
    logger: (line) => {
      if (line.level !== 'debug') process.stderr.write(JSON.stringify(line) + '\n');
    },
  });

  const reply = (r: RaftNodeReply): void => {
    process.send?.(r);
  };
  process.on('message', (raw) => {
    const req = raw as RaftNodeRequest;
    void (async () => {
      switch (req.type) {
        case 'status': {
          const s = node.status();
          reply({ type: 'status', role: s.role, leader: s.leader, term: s.term, commit: s.commitIndex, applied: s.appliedIndex });
          return;
        }
        case 'stats':
          reply({ type: 'stats', counters: counters(node, storage) });
          return;
        case 'load':
          reply({ type: 'load', result: await load(node, storage, req.proposers, req.seconds, req.commandBytes) });
          return;
        case 'stop':
          await node.stop();
          process.exit(0);
          return;
        default:
          assertNever(req);
      }
    })().catch((err: unknown) => reply({ type: 'error', message: String(err) }));
  });
  process.on('SIGTERM', () => {
    void node.stop().then(() => process.exit(0));
  });
  process.on('disconnect', () => {
    void node.stop().then(() => process.exit(0));
  });
}

await main();
