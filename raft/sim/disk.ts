// A simulated disk. Writes are queued and become durable in submission order, each after its own
// simulated fsync delay; a crash throws away every write not yet durable. What a restarted node
// recovers is exactly the durable state, never anything the core only held in memory.
//
// A Ready's snapshot, entries and hard state are one atomic write (the contract in types.ts asks
// for them "atomically, synced"). A compaction is its own write: the new snapshot and the dropping
// of the entries it covers become durable together, so a crash mid-compaction keeps the old pair.

import type { Entry, HardState, RestoredState, Snapshot } from '../core/types.js';
import { assertNever } from '../core/assert.js';
import { Violation } from './violation.js';

export type DiskWrite =
  | {
      readonly kind: 'ready';
      readonly snapshot: Snapshot | null;
      readonly entries: readonly Entry[];
      readonly hardState: HardState | null;
    }
  | { readonly kind: 'compact'; readonly snapshot: Snapshot };

interface PendingWrite {
  readonly id: number;
  readonly write: DiskWrite;
  readonly doneAt: number;
}

export interface DurableState {
  snapshot: Snapshot;
  hardState: HardState;
  /** Entries after snapshot.meta.index, contiguous. */
  entries: Entry[];
}

export class SimDisk {
  private readonly pending: PendingWrite[] = [];
  private nextId = 1;
  writes = 0;
  lostWrites = 0;

  constructor(
    private readonly node: string,
    readonly durable: DurableState,
  ) {}

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Queues a write that becomes durable at `now + syncUs` or after the writes before it, if later. */
  submit(write: DiskWrite, now: number, syncUs: number): { readonly id: number; readonly doneAt: number } {
    const last = this.pending[this.pending.length - 1];
    const doneAt = Math.max(now + syncUs, last === undefined ? 0 : last.doneAt);
    const id = this.nextId++;
    this.pending.push({ id, write, doneAt });
    return { id, doneAt };
  }

  /** The write `id` (and every write queued before it) is now durable; false if it was lost. */
  complete(id: number): boolean {
    let head = this.pending[0];
    if (head === undefined || head.id > id) return false;
    while (head !== undefined && head.id <= id) {
      this.pending.shift();
      this.applyDurable(head.write);
      this.writes++;
      head = this.pending[0];
    }
    return true;
  }

  /** Power loss: whatever was not durable is gone. */
  crash(): number {
    const lost = this.pending.length;
    this.lostWrites += lost;
    this.pending.length = 0;
    return lost;
  }

  /** What a restarting node reads back (copies: the core must not share the disk's arrays). */
  restore(): RestoredState {
    return {
      hardState: this.durable.hardState,
      snapshot: this.durable.snapshot,
      entries: this.durable.entries.slice(),
    };
  }

  get lastIndex(): number {
    return this.durable.snapshot.meta.index + this.durable.entries.length;
  }

  private applyDurable(w: DiskWrite): void {
    const d = this.durable;
    switch (w.kind) {
      case 'ready':
        if (w.snapshot !== null) {
          d.snapshot = w.snapshot;
          d.entries = [];
        }
        this.appendDurable(w.entries);
        if (w.hardState !== null) d.hardState = w.hardState;
        return;
      case 'compact': {
        const drop = w.snapshot.meta.index - d.snapshot.meta.index;
        if (drop <= 0) return; // an older snapshot than the one on disk (a received one won the race)
        d.entries = d.entries.slice(drop);
        d.snapshot = w.snapshot;
        return;
      }
      default:
        assertNever(w);
    }
  }

  private appendDurable(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const d = this.durable;
    const base = d.snapshot.meta.index;
    if (first.index <= base || first.index > base + d.entries.length + 1) {
      throw new Violation('contract', `${this.node}: disk write of entries from ${first.index} outside (${base}, ${this.lastIndex + 1}]`);
    }
    d.entries.length = first.index - base - 1;
    for (const e of entries) d.entries.push(e);
  }
}
