// The zone index src/records fills: dns/'s MemoryZoneIndex plus names that exist without data.
//
// Why: DESIGN.md §1 says `<task>.<framework>.containerip.dcos` answers "the tasks' container IPs
// (NODATA if none)". A host-network task has no container IP, so its containerip name has no
// RRset, and the ZoneIndex contract only creates names that hold data (or lie above one). Without
// help such a name would answer NXDOMAIN, which tells a resolver the name does not exist at all
// (RFC 8020) although the task does. This subclass keeps a set of data-less names and makes the
// responder see them (and their ancestors, as empty non-terminals) as existing nodes without
// RRsets, which the responder answers NODATA with the SOA (RFC 2308 §2.2).
//
// It only overrides the two read methods the responder and tests use (`node`, `exists`); the
// parent's bookkeeping of names with data is untouched. This belongs in dns/zone-index.ts as a
// `setExists(name)` operation; until then it lives here (see README.md).
import { MemoryZoneIndex, type NameNode } from '../../dns/zone-index.js';
import type { ZoneConfig } from '../../dns/zone.js';
import { nameToKey, parentKey, type NameKey } from '../../dns/wire/name.js';
import { assert } from '../../raft/core/assert.js';
import { limits } from './limits.js';

/** What the responder sees for a data-less name: a node with no RRsets (answers are NODATA). */
const dataLess: NameNode = Object.freeze({ refs: 0, rrsets: new Map() }) as NameNode;

export class RecordsZoneIndex extends MemoryZoneIndex {
  /** Data-less names marked here, and their ancestors: how many marked names lie at or below. */
  private readonly bare = new Map<NameKey, number>();
  private readonly marked = new Set<NameKey>();

  /**
   * Makes `name` exist without data (NODATA for every type) until `unmarkExists`. Idempotent.
   * The name must lie under the origin; it may hold data too (then the mark changes nothing).
   */
  markExists(name: string): void {
    const key = nameToKey(name);
    if (this.marked.has(key)) return;
    const apex = this.findApex(key);
    assert(apex !== undefined && apex.variant === 0, () => `markExists outside the stored zones: ${name}`);
    this.marked.add(key);
    this.walk(key, apex.storedApex, 1);
  }

  /** Undoes `markExists` (no-op if not marked). */
  unmarkExists(name: string): void {
    const key = nameToKey(name);
    if (!this.marked.delete(key)) return;
    const apex = this.findApex(key);
    assert(apex !== undefined, () => `marked name ${name} outside every zone`);
    this.walk(key, apex.storedApex, -1);
  }

  /** Whether `name` was marked by `markExists`. */
  isMarked(name: string): boolean {
    return this.marked.has(nameToKey(name));
  }

  /** Marked names, for tests and zone comparisons. */
  markedCount(): number {
    return this.marked.size;
  }

  /** Reference counts from `key` up to (not including) the apex: O(labels). */
  private walk(key: NameKey, apex: NameKey, delta: 1 | -1): void {
    let k: NameKey | undefined = key;
    for (let steps = 0; k !== undefined && k !== apex; steps++) {
      assert(steps <= limits.nameBytesMax / 2, () => `${key} is not under ${apex}`);
      const refs = (this.bare.get(k) ?? 0) + delta;
      assert(refs >= 0, () => `data-less refs of ${k} went negative`);
      if (refs === 0) this.bare.delete(k);
      else this.bare.set(k, refs);
      k = parentKey(k);
    }
  }

  override node(key: string): NameNode | undefined {
    return super.node(key) ?? (this.bare.has(key as NameKey) ? dataLess : undefined);
  }

  override exists(name: string): boolean {
    return super.exists(name) || this.bare.has(nameToKey(name));
  }
}

/** Creates the zone index to hand to both DnsRecords and dns/'s server. Throws DnsError `bad-config`. */
export function createRecordsZone(config: ZoneConfig): RecordsZoneIndex {
  return new RecordsZoneIndex(config);
}
