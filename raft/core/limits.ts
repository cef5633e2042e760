// Every bound the core enforces, in one place, each named with its unit (STYLE rule 6). Relations
// between limits are asserted once, when a core is constructed.

import { assert, assertNever } from './assert.js';
import type { Entry } from './types.js';

export interface CoreLimits {
  /** Append messages in flight per follower in replicate state. */
  readonly inflightMessagesMax: number;
  /** Bytes of entries in flight per follower in replicate state. */
  readonly inflightBytesMax: number;
  /** Entries per append message. */
  readonly entriesPerAppendMax: number;
  /** Entry bytes per append message (a single larger entry still travels alone). */
  readonly appendBytesMax: number;
  /** Bytes per snapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** Largest snapshot a follower accepts (and buffers) from a leader. */
  readonly snapshotBytesMax: number;
  /** Proposals are refused with 'overloaded' while this many entries are uncommitted. */
  readonly uncommittedEntriesMax: number;
  /** A proposal with more data bytes than this is refused with 'too_large'. */
  readonly entryBytesMax: number;
  /** ReadIndex requests a leader holds at once; more are dropped (the caller times out). */
  readonly readsPendingMax: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const defaultLimits: CoreLimits = {
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * MiB,
  entriesPerAppendMax: 4096,
  appendBytesMax: 1 * MiB,
  snapshotChunkBytes: 1 * MiB,
  snapshotBytesMax: 1 * GiB,
  uncommittedEntriesMax: 100_000,
  entryBytesMax: 1 * MiB,
  readsPendingMax: 4096,
};

/** Is `n` usable as an index, term or byte count from a peer (a non-negative safe integer)? */
export function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Fixed per-entry overhead counted toward byte limits, so that empty entries are not free. */
export const entryOverheadBytes = 16;

/** The bytes an entry counts for in append and inflight limits. */
export function entryBytes(e: Entry): number {
  switch (e.kind) {
    case 'normal':
      return entryOverheadBytes + e.data.byteLength;
    case 'conf':
      return entryOverheadBytes + 64 + ('context' in e.change ? e.change.context.length : 0);
    default:
      return assertNever(e);
  }
}

function positiveInteger(name: string, value: number): void {
  assert(Number.isSafeInteger(value) && value > 0, () => `limit ${name} must be a positive integer, got ${value}`);
}

/** Fills in defaults and checks every limit and the relations between them. */
export function resolveLimits(partial: Partial<CoreLimits> | undefined): CoreLimits {
  const limits: CoreLimits = { ...defaultLimits, ...partial };
  for (const [name, value] of Object.entries(limits)) positiveInteger(name, value as number);
  assert(
    limits.appendBytesMax <= limits.inflightBytesMax,
    `appendBytesMax ${limits.appendBytesMax} > inflightBytesMax ${limits.inflightBytesMax}`,
  );
  assert(
    limits.snapshotChunkBytes <= limits.snapshotBytesMax,
    `snapshotChunkBytes ${limits.snapshotChunkBytes} > snapshotBytesMax ${limits.snapshotBytesMax}`,
  );
  return limits;
}
