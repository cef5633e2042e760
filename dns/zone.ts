// The zone index: the one interface between the DNS responder and whoever knows what the names are
// (src/records, filled from the IPAM state machine's changes). The responder knows nothing of Raft
// or IPAM: it only sees owner names, RRsets, a serial and a readiness flag.
//
// Why an incremental index and not "give me a zone": one task's allocation must touch only that
// task's names (issue 5), so the index takes per-name operations and re-encodes exactly the names
// they touch. Answers are encoded once per change, on the first query after it (so a burst of
// changes to one name costs one encoding, DESIGN.md §5), and cached: a query costs a lookup and a
// copy. Names whose records follow from a compact table (a task's nine names from one entry)
// can be derived on demand instead of stored (`setDerivedSource`): that is what keeps a node with
// 1,000,000 tasks under 1 GB.

import type { NameKey } from './wire/name.js';

/** The record types src/records may set. SOA and NS are synthesised from `ZoneConfig` + serial. */
export const recordTypes = ['A', 'AAAA', 'SRV', 'PTR'] as const;
export type RecordType = (typeof recordTypes)[number];

/** RFC 2782: target is an absolute domain name (trailing dot optional); numbers are 16-bit. */
export interface SrvData {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

/**
 * The data of one record by type: A is a dotted-quad IPv4 text ("9.0.1.2"), AAAA an IPv6 text in
 * any form `net.isIPv6` accepts, PTR an absolute domain name.
 */
export interface RecordDataByType {
  readonly A: string;
  readonly AAAA: string;
  readonly SRV: SrvData;
  readonly PTR: string;
}

/** Zone configuration; everything but `origin` has a default. */
export interface ZoneConfig {
  /** The primary zone apex, e.g. "dcos." (trailing dot optional, case ignored). */
  readonly origin: string;
  /**
   * Other apexes answering exactly the same data as `origin`, e.g. "dcos.thisdcos.directory.".
   * A query for `x.<alias>` is answered from `x.<origin>` with the owner name as asked, and names
   * in the rdata that lie under `origin` (SRV targets) are rewritten under the alias, so that the
   * additional section and follow-up queries stay inside the zone the client asked.
   */
  readonly aliases?: readonly string[];
  /**
   * Reverse zones, e.g. "in-addr.arpa." or "9.in-addr.arpa.". They are more apexes in the same
   * index (PTR names are set with setRRset like any other). Default: ["in-addr.arpa.",
   * "ip6.arpa."]. The reverse handler falls through to forwarding for names it does not hold when
   * the client may recurse (CoreDNS `fallthrough`), so other reverse lookups keep working.
   */
  readonly reverseZones?: readonly string[];
  /** TTL of every positive answer, in seconds. Default 5 (DESIGN.md §1). */
  readonly ttlSeconds?: number;
  /** SOA fields (RFC 1035 §3.3.13). Names are relative to each apex ("ns" → "ns.<apex>"). */
  readonly soa?: {
    readonly mnameLabel?: string; // default "ns"
    readonly rnameLabel?: string; // default "hostmaster"
    readonly ttlSeconds?: number; // default = ttlSeconds
    readonly refreshSeconds?: number; // default 60
    readonly retrySeconds?: number; // default 30
    readonly expireSeconds?: number; // default 86400
    readonly minimumSeconds?: number; // default 5 (negative TTL = min(SOA TTL, minimum), RFC 2308 §5)
  };
}

/** A read-only view of one RRset, for tests and debugging (the responder reads encoded bytes). */
export type RRsetView = { readonly [T in RecordType]: { readonly type: T; readonly records: readonly RecordDataByType[T][] } }[RecordType];

/**
 * A per-node DNS zone index. Owner names are absolute presentation names ("web.marathon.agentip.dcos."
 * or without the trailing dot), ASCII, no escapes; they are matched case-insensitively and stored
 * lowercase. Every name must lie under `origin` or one of the reverse zones (aliases hold no data
 * of their own), else a DnsError with code `outside-zone` is thrown and nothing changes.
 *
 * Contract for the filler (src/records):
 * - Call `setRRset`/`deleteRRset` for exactly the names a state change touches; each call costs
 *   O(labels of the name + records of the RRset + SRV RRsets that target the name), never
 *   O(zone).
 * - After applying entry i, call `setSerial(i)`: the SOA serial (RFC 1982, taken mod 2^32) is the
 *   applied index the answers reflect. It must not decrease.
 * - Call `setReady(true)` once the node has caught up with the leader's commit index after start;
 *   until then every query for our zones gets SERVFAIL, never NXDOMAIN (DESIGN.md §4).
 */
export interface ZoneIndex {
  /**
   * Replaces the RRset of `type` at `name` (an empty `records` deletes it). Creates the name and
   * its empty non-terminals if needed. Duplicate records are kept once (an RRset is a set,
   * RFC 2181 §5). Invalid data (bad address, label > 63 bytes, name > 255 bytes, port out of
   * range) throws DnsError `bad-name`/`bad-record` and changes nothing.
   */
  setRRset<T extends RecordType>(name: string, type: T, records: readonly RecordDataByType[T][]): void;
  /**
   * Changes the RRset of `type` at `name` by records: adds `add` (records already there are kept
   * once), then removes `remove` (records not there are ignored). Costs O(records given), plus a
   * scan of the RRset per removed record, not a rebuild: for RRsets shared by many tasks, where
   * one task's change is one record. Same errors as setRRset (nothing changes on bad input); an
   * RRset left empty is deleted, and the RRset never exceeds the limit of setRRset.
   */
  updateRRset<T extends RecordType>(name: string, type: T, add: readonly RecordDataByType[T][], remove: readonly RecordDataByType[T][]): void;
  /** Removes the RRset of `type` at `name` (no-op if absent); the name and empty non-terminals
   * that no longer lead to data disappear (NXDOMAIN from then on). */
  deleteRRset(name: string, type: RecordType): void;
  /** Removes every RRset at `name` and its setNameExists mark (no-op if absent). */
  deleteName(name: string): void;
  /**
   * Makes `name` exist without any RRset (true) or undoes that (false); idempotent. For names
   * that must answer NODATA rather than NXDOMAIN although they hold nothing, e.g. the containerip
   * name of a host-network task (DESIGN.md §1: "NODATA if none"; RFC 8020). Same cost and
   * errors as setRRset.
   */
  setNameExists(name: string, exists: boolean): void;
  /**
   * Removes every name (config, serial and readiness stay). For a full rebuild after restoring a
   * snapshot: clear and refill in one synchronous run, so that no query sees the empty zone.
   */
  clear(): void;
  /** Sets the SOA serial: the applied Raft index the index reflects. Must not decrease. */
  setSerial(serial: number): void;
  /** Marks the zone as answerable (true once caught up after start); false → SERVFAIL. */
  setReady(ready: boolean): void;

  readonly serial: number;
  readonly ready: boolean;
  readonly config: ResolvedZoneConfig;

  /** The RRset of `type` at `name`, or undefined (for tests and debugging, not the hot path). */
  get<T extends RecordType>(name: string, type: T): readonly RecordDataByType[T][] | undefined;
  /** Whether `name` exists: has data, or is an empty non-terminal above a name with data. */
  exists(name: string): boolean;
  /** Counts, for metrics and tests: names stored and derived; RRsets and encoded bytes of stored names. */
  stats(): { readonly names: number; readonly rrsets: number; readonly encodedBytes: number };

  /**
   * Names whose records are computed on demand by `source` instead of stored per name (src/records
   * answers its task names this way: a million tasks' names as a million small entries, not eight
   * million RRsets). Stored names win over derived ones. Clears the derived-answer cache.
   */
  setDerivedSource(source: DerivedSource | undefined): void;
  /** A name `source` now answers: counted, and its empty non-terminals created. O(labels created).
   * Throws DnsError `bad-name`/`outside-zone` like setRRset. Call once per name that appears. */
  addDerivedName(name: string): void;
  /** A derived name that no longer exists (the inverse of addDerivedName). */
  removeDerivedName(name: string): void;
  /**
   * addDerivedName for a name given as its key (wire/name.ts: wire format, ASCII lowercased), for
   * a source that holds its names as parts (src/records builds a task's host-name keys from its
   * label and its framework's suffix): no presentation name to parse per name, ~0.2 µs each.
   * The caller guarantees the key's form; `outside-zone` is still checked.
   */
  addDerivedKey(key: NameKey): void;
  /** removeDerivedName for a name given as its key. */
  removeDerivedKey(key: NameKey): void;
  /** Whether answers built from `stamp` are cached (so that refreshDerived has work to do). */
  derivedCached(stamp: DerivedStamp): boolean;
  /**
   * Rebuilds now the cached names built from `stamp` whose version moved, and encodes again the
   * answers that had been encoded (issue 5: answers encoded when records change, for the names
   * being asked; others wait for their next query). Call once per changed stamp after a batch.
   */
  refreshDerived(stamp: DerivedStamp): void;
}

/** What identifies the data a derived answer was built from: see DerivedName.version. */
export interface DerivedStamp {
  readonly version: number;
}

/** One derived name's data (records absent or empty = no RRset of that type; none at all = the
 * name exists without data, NODATA). Records are validated like setRRset's, must be distinct
 * (the index does not deduplicate them) and are cut at the same limit. */
export interface DerivedName {
  /**
   * The index caches the answer built from this data while `stamp.version === version`: the
   * source must change `stamp.version` whenever anything this name answers changes, including
   * the addresses an SRV answer carries as glue.
   */
  readonly stamp: DerivedStamp;
  readonly version: number;
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  readonly SRV?: readonly SrvData[];
  readonly PTR?: readonly string[];
}

/** Computes derived names (see ZoneIndex.setDerivedSource). */
export interface DerivedSource {
  /**
   * The name whose key is `key` (dns/wire/name.ts NameKey: length-prefixed lowercase labels, under
   * the origin or a reverse zone, never an alias), or undefined when the source has no such name.
   * Called on queries: must be cheap (one table lookup) and must not throw.
   */
  lookup(key: string): DerivedName | undefined;
}

/** ZoneConfig with every default filled in and every name normalised (lowercase, trailing dot). */
export interface ResolvedZoneConfig {
  readonly origin: string;
  readonly aliases: readonly string[];
  readonly reverseZones: readonly string[];
  readonly ttlSeconds: number;
  readonly soa: {
    readonly mnameLabel: string;
    readonly rnameLabel: string;
    readonly ttlSeconds: number;
    readonly refreshSeconds: number;
    readonly retrySeconds: number;
    readonly expireSeconds: number;
    readonly minimumSeconds: number;
  };
}

// The implementation is `createZoneIndex(config: ZoneConfig): MemoryZoneIndex` in ./zone-index.ts
// (MemoryZoneIndex implements ZoneIndex); the responder and the server take a MemoryZoneIndex,
// whose extra members (answerFor, findApex, node, synth) are the responder's read side.
