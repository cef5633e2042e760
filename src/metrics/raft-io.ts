// Disk and snapshot figures of the Raft node, and the DNS change-to-answerable latency, fed by the
// decorators in this folder (raft/ stays unaware of Prometheus). server.ts wraps the storage, the
// transport and the state machine it hands to RaftNode and calls `answerable` after each
// published batch.

import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { LogIndex } from '../../raft/core/types.js';
import type { RaftStorage } from '../../raft/storage/index.js';
import type { Transport } from '../../raft/transport/index.js';
import type { StateMachine } from '../../raft/node/api.js';
import { AnswerableClock } from './answerable.js';
import { TimedStateMachine } from './timed-state-machine.js';
import { TimedStorage } from './timed-storage.js';
import { TimedTransport } from './timed-transport.js';

/** A synced LevelDB batch takes ~0.1 ms on tmpfs to tens of ms on a busy disk. */
export const fsyncBucketsSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Entries per save(): 1 means no batching; powers of two up to a large burst. */
export const entriesPerSaveBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];
export const snapshotBucketsSeconds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const answerableBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class RaftIoMetrics {
  readonly fsyncSeconds: Histogram<'op'>;
  readonly entriesPerSave: Histogram;
  readonly snapshotSeconds: Histogram<'phase'>;
  readonly snapshotBytes: Gauge<'kind'>;
  readonly snapshots: Counter<'kind'>;
  readonly answerableSeconds: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.fsyncSeconds = new Histogram({
      name: 'vnetd_raft_fsync_duration_seconds',
      help: 'Wall time of one synced storage batch, write and fsync (op=save: one Ready; op=snapshot: a local snapshot and compaction)',
      labelNames: ['op'], buckets: fsyncBucketsSeconds, registers,
    });
    this.entriesPerSave = new Histogram({
      name: 'vnetd_raft_entries_per_save',
      help: 'Log entries appended by one synced save that appended any (the group-commit factor: entries per fsync)',
      buckets: entriesPerSaveBuckets, registers,
    });
    this.snapshotSeconds = new Histogram({
      name: 'vnetd_raft_snapshot_duration_seconds',
      help: 'Local snapshot time by phase (encode: the state machine serialises; persist: stored and log compacted)',
      labelNames: ['phase'], buckets: snapshotBucketsSeconds, registers,
    });
    this.snapshotBytes = new Gauge({
      name: 'vnetd_raft_snapshot_bytes',
      help: 'Size of the latest snapshot (kind=local: taken here; kind=installed: received from the leader)',
      labelNames: ['kind'], registers,
    });
    this.snapshots = new Counter({ name: 'vnetd_raft_snapshots_total', help: 'Snapshots taken here (local) or installed from the leader (installed)', labelNames: ['kind'], registers });
    this.answerableSeconds = new Histogram({
      name: 'vnetd_dns_change_to_answerable_seconds',
      help: 'Per applied batch that changed IPAM state: from this node learning the commit (or the batch starting to apply) to its DNS answering from a state including it (records flushed); see src/metrics/README.md',
      buckets: answerableBucketsSeconds, registers,
    });
    for (const kind of ['local', 'installed']) this.snapshots.inc({ kind }, 0);
    for (const op of ['save', 'snapshot']) this.fsyncSeconds.zero({ op });
  }

  /**
   * The storage, transport and state machine to hand to RaftNode, and `answerable(index)` to call
   * after the zone was updated for each 'applied' event.
   */
  instrument<R>(
    storage: RaftStorage,
    transport: Transport,
    stateMachine: StateMachine<R>,
  ): { storage: RaftStorage; transport: Transport; stateMachine: StateMachine<R>; answerable: (index: LogIndex) => void } {
    const clock = new AnswerableClock((s) => this.answerableSeconds.observe(s));
    const sm = new TimedStateMachine(stateMachine, {
      onSnapshot: (seconds, bytes) => {
        this.snapshotSeconds.observe({ phase: 'encode' }, seconds);
        this.snapshotBytes.set({ kind: 'local' }, bytes);
        this.snapshots.inc({ kind: 'local' });
      },
      onCommand: (atMs) => clock.commandApplied(atMs),
    });
    const timed = new TimedStorage(storage, {
      onSave: (seconds, entries, installed) => {
        this.fsyncSeconds.observe({ op: 'save' }, seconds);
        if (entries > 0) this.entriesPerSave.observe(entries);
        if (installed !== null) {
          this.snapshotBytes.set({ kind: 'installed' }, installed);
          this.snapshots.inc({ kind: 'installed' });
        }
      },
      onSaveSnapshot: (seconds) => {
        this.fsyncSeconds.observe({ op: 'snapshot' }, seconds);
        this.snapshotSeconds.observe({ phase: 'persist' }, seconds);
      },
      onCommitKnown: (commit, atMs) => clock.commitKnown(commit, atMs),
    });
    const net = new TimedTransport(transport, (commit, atMs) => clock.commitKnown(commit, atMs));
    return { storage: timed, transport: net, stateMachine: sm, answerable: (index) => clock.answerable(index) };
  }
}
