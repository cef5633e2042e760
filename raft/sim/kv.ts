// The replicated state machine of the simulation: a register per key holding the id of the last
// write to it, plus a rolling hash over every entry applied (index, term, content) so that the
// state hash at index i names the whole applied history 1..i (what State Machine Safety compares).
// It also follows membership through the applied conf entries, because a snapshot's meta must name
// the membership as of its index. Deterministic and tiny; snapshot and restore round-trip exactly.

import type { ConfChange, Entry, Member, Membership } from '../core/types.js';
import { assert, assertNever } from '../core/assert.js';
import { entryHash, Hasher, HASH_ZERO, type Hash64 } from './hash.js';

export const KV_KEYS = 8;
const COMMAND_BYTES = 5; // key (u8), write id (u32 big-endian)
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 1 + 8 + 4 + 4 + 1; // version, applied, hash hi, hash lo, key count

export interface KvWrite {
  readonly key: number;
  readonly writeId: number;
}

export function encodeWrite(w: KvWrite): Uint8Array {
  assert(w.key >= 0 && w.key < KV_KEYS, `key ${w.key} outside [0, ${KV_KEYS})`);
  const b = new Uint8Array(COMMAND_BYTES);
  b[0] = w.key;
  new DataView(b.buffer).setUint32(1, w.writeId >>> 0);
  return b;
}

/** The write a command carries, or null for anything else (the leader's empty entry, say). */
export function decodeWrite(data: Uint8Array): KvWrite | null {
  if (data.length !== COMMAND_BYTES) return null;
  const key = data[0] as number;
  if (key >= KV_KEYS) return null;
  return { key, writeId: new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1) };
}

export class KvStateMachine {
  applied = 0;
  hash: Hash64 = HASH_ZERO;
  private readonly values = new Map<number, number>();
  /** Membership as of `applied`. */
  membership: Membership = { members: [] };

  /** Applies one committed entry (its index must follow `applied`) and returns the new state hash. */
  apply(e: Entry): Hash64 {
    assert(e.index === this.applied + 1, `apply index ${e.index} after applied ${this.applied}`);
    if (e.kind === 'normal') {
      const w = decodeWrite(e.data);
      if (w !== null) this.values.set(w.key, w.writeId);
    } else {
      this.membership = applyChange(this.membership, e.change);
    }
    const eh = entryHash(e);
    this.hash = new Hasher(this.hash).num(eh.hi).num(eh.lo).digest();
    this.applied = e.index;
    return this.hash;
  }

  get(key: number): number | undefined {
    return this.values.get(key);
  }

  snapshot(): Uint8Array {
    const keys = [...this.values.keys()].sort((a, b) => a - b);
    const b = new Uint8Array(SNAPSHOT_HEADER_BYTES + keys.length * COMMAND_BYTES);
    const v = new DataView(b.buffer);
    v.setUint8(0, SNAPSHOT_VERSION);
    v.setFloat64(1, this.applied);
    v.setUint32(9, this.hash.hi >>> 0);
    v.setUint32(13, this.hash.lo >>> 0);
    v.setUint8(17, keys.length);
    let off = SNAPSHOT_HEADER_BYTES;
    for (const k of keys) {
      v.setUint8(off, k);
      v.setUint32(off + 1, this.values.get(k) as number);
      off += COMMAND_BYTES;
    }
    return b;
  }

  /** Replaces the state; empty bytes are the bootstrap state (nothing applied). */
  restore(data: Uint8Array, index: number, membership: Membership): void {
    this.values.clear();
    this.membership = membership;
    if (data.length === 0) {
      assert(index === 0, `empty snapshot data for index ${index}`);
      this.applied = 0;
      this.hash = HASH_ZERO;
      return;
    }
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    assert(data.length >= SNAPSHOT_HEADER_BYTES && v.getUint8(0) === SNAPSHOT_VERSION, 'not a KV snapshot');
    this.applied = v.getFloat64(1);
    assert(this.applied === index, `snapshot data of index ${this.applied} under meta index ${index}`);
    this.hash = { hi: v.getUint32(9), lo: v.getUint32(13) };
    const count = v.getUint8(17);
    assert(data.length === SNAPSHOT_HEADER_BYTES + count * COMMAND_BYTES, `snapshot of ${data.length} bytes, ${count} keys`);
    for (let i = 0, off = SNAPSHOT_HEADER_BYTES; i < count; i++, off += COMMAND_BYTES) {
      this.values.set(v.getUint8(off), v.getUint32(off + 1));
    }
  }
}

/**
 * The membership after one change, with the core's semantics (raft/core/membership.ts, written
 * independently here): re-adding a learner updates its context, only a learner can be promoted,
 * the last voter cannot be removed, and a change that does not apply leaves the membership as is.
 */
export function applyChange(m: Membership, c: ConfChange): Membership {
  const existing = m.members.find((x) => x.id === c.id);
  const others: Member[] = m.members.filter((x) => x.id !== c.id);
  switch (c.type) {
    case 'addLearner':
      if (existing?.role === 'voter') return m;
      return { members: [...others, { id: c.id, role: 'learner', context: c.context }] };
    case 'promote':
      if (existing?.role !== 'learner') return m;
      return { members: m.members.map((x) => (x.id === c.id ? { ...x, role: 'voter' as const } : x)) };
    case 'remove': {
      if (existing === undefined) return m;
      const voters = m.members.filter((x) => x.role === 'voter').length;
      if (existing.role === 'voter' && voters === 1) return m;
      return { members: others };
    }
    default:
      return assertNever(c);
  }
}
