// The in-memory zone index. Stored names (setRRset & co.) live in a Map of nodes; derived names
// (a DerivedSource, src/records' task names) are built on demand from the source and cached per
// name, bounded by `derivedCacheNamesMax` and checked against the source's version on every use,
// so a million tasks cost the source's compact table, not a node per name (dns/README.md).
//
// The in-memory zone index: names → RRsets, each RRset with its encoded answer, built on the first
// query after the RRset (or, for SRV, an address it carries as glue) changed and cached until the
// next change: a change costs O(its records) and no encoding, a burst of changes to one name one
// encoding. One encoding serves the origin and every alias (owners point at the question; SRV,
// whose targets are named under the zone asked, has one per variant) and every shuffled order
// (records are rotated per query). Empty non-terminals are tracked by a count of child
// nodes per name (RFC 8020: a name with descendants exists, so `marathon.agentip.dcos` is NODATA,
// never NXDOMAIN): adding or removing a name touches only the labels it creates or removes.
import { assert, assertNever } from './assert.js';
import { Synth } from './authority/synth.js';
import { DnsError } from './errors.js';
import { limits } from './limits.js';
import { qclass, qtype as T } from './wire/constants.js';
import { parseIpv4, parseIpv6 } from './wire/ip.js';
import { flat, isUnder, keyToName, nameToKey, type NameKey } from './wire/name.js';
import { WireWriter } from './wire/writer.js';
import type { DerivedName, DerivedSource, DerivedStamp, RecordDataByType, RecordType, ResolvedZoneConfig, ZoneConfig, ZoneIndex } from './zone.js';

/**
 * Derived names whose built node (records validated, answers encoded on first use) is kept
 * between queries. Beyond it the oldest is dropped (insertion order): a name that is asked again
 * is rebuilt from its source (~1-2 µs), so memory stays bounded however many names exist.
 */
export const derivedCacheNamesMax = 65_536;

/** Parents `addDerivedName` remembers (a framework's three host-name parents, and one or two more). */
const recentParentsMax = 8;

/** A derived name's node and what it was built from (valid while stamp.version === version). */
interface CachedDerived {
  readonly node: NameNode;
  readonly stamp: DerivedStamp;
  readonly version: number;
}

/** The derived-answer cache: by key (insertion order = age), and the keys cached per stamp. */
class DerivedCache {
  private readonly byKey = new Map<string, CachedDerived>();
  /** So that a source can have a stamp's cached names rebuilt when it changes (refreshDerived):
   * one key (the common case, no Set) or several. */
  private readonly byStamp = new Map<DerivedStamp, string | Set<string>>();

  get(key: string): CachedDerived | undefined {
    return this.byKey.get(key);
  }

  /** Caches `entry` at `key`, dropping the oldest name when the cache is full. */
  set(key: string, entry: CachedDerived): void {
    const old = this.byKey.get(key);
    if (old !== undefined) {
      this.unlink(key, old.stamp);
    } else if (this.byKey.size >= derivedCacheNamesMax) {
      const oldest = this.byKey.keys().next();
      if (oldest.done !== true) this.delete(oldest.value);
    }
    this.byKey.set(key, entry);
    const keys = this.byStamp.get(entry.stamp);
    if (keys === undefined) this.byStamp.set(entry.stamp, key);
    else if (typeof keys !== 'string') keys.add(key);
    else if (keys !== key) this.byStamp.set(entry.stamp, new Set([keys, key]));
  }

  delete(key: string): void {
    const old = this.byKey.get(key);
    if (old === undefined) return;
    this.byKey.delete(key);
    this.unlink(key, old.stamp);
  }

  clear(): void {
    this.byKey.clear();
    this.byStamp.clear();
  }

  /** The keys cached from `stamp` (a copy: refreshing changes the cache), or undefined. */
  keysOf(stamp: DerivedStamp): readonly string[] | undefined {
    const keys = this.byStamp.get(stamp);
    return keys === undefined ? undefined : typeof keys === 'string' ? [keys] : [...keys];
  }

  has(stamp: DerivedStamp): boolean {
    return this.byStamp.has(stamp);
  }

  private unlink(key: string, stamp: DerivedStamp): void {
    const keys = this.byStamp.get(stamp);
    if (keys === undefined) return;
    if (typeof keys === 'string') {
      if (keys === key) this.byStamp.delete(stamp);
      return;
    }
    keys.delete(key);
    if (keys.size === 1) this.byStamp.set(stamp, keys.values().next().value!);
    else if (keys.size === 0) this.byStamp.delete(stamp);
  }
}

/** One apex a query may fall under. Aliases answer the origin's data with their own variant. */
export interface ZoneApex {
  readonly key: NameKey;
  readonly kind: 'forward' | 'reverse';
  /** Index into each RRset's `encoded` array: 0 = names as stored, i = alias i. */
  readonly variant: number;
  /** The apex the data is stored under (the origin, for aliases). */
  readonly storedApex: NameKey;
}

/**
 * An encoded answer: the bytes that follow the question (answer RRs, then additional RRs), built
 * for a question of its variant's length at offset 12. Answer records are position-independent:
 * each owner is the pointer 0xC00C to the question and nothing points into them, so a query may
 * rotate them (RFC 1794 shuffling) by copying two slices. The additional section is cut at RRset
 * boundaries when the answer must fit a UDP limit.
 */
export interface EncodedAnswer {
  /** As a latin1 string (one char per byte): its bytes sit inside the string object itself, one
   * memory access fewer per answer than a Buffer and its separate backing store. */
  readonly body: string;
  readonly ancount: number;
  /** Body bytes of the answer section. */
  readonly answerEnd: number;
  /** Bytes of each answer record when they all have the same size (A, AAAA, SRV to one target),
   * else 0 and `recordStarts` holds where each begins. */
  readonly recordBytes: number;
  readonly recordStarts: readonly number[];
  /** For each additional RRset: body bytes up to its end, and the records up to its end. */
  readonly additionalEnds: readonly number[];
  readonly additionalCounts: readonly number[];
}

interface StoredRecord {
  readonly view: RecordDataByType[RecordType];
  /** A/AAAA: the address bytes; SRV: priority, weight, port; as a latin1 string (one char per
   * byte), which costs far less memory per record than a typed array. */
  readonly fixed: string;
  /** SRV/PTR: the target name. */
  readonly target: NameKey | undefined;
}

/**
 * One RRset, answered under every zone variant (0 = names as stored, i = alias i). Its encoding is built on the first query that needs it and kept until the RRset
 * (or, for SRV, a target's addresses) changes, so a burst of changes to one name costs one
 * encoding, and a change nobody asks about costs none.
 */
export interface RRsetEntry {
  readonly owner: NameKey;
  readonly type: RecordType;
  /** The apex the owner is stored under (the origin, or a reverse zone). */
  readonly apex: NameKey;
  records: readonly StoredRecord[];
  /**
   * A/AAAA/PTR: the one encoding every variant shares (owners point at the question, and their
   * rdata names no name of ours under an alias). Unused for SRV.
   */
  encoded: EncodedAnswer | undefined;
  /** SRV: one encoding per variant (targets are named under the variant asked). */
  variants: (EncodedAnswer | undefined)[] | undefined;
  /** Bytes of the cached encodings. */
  encodedBytes: number;
  /** Built from a DerivedSource (its encodings are not counted in stats().encodedBytes). */
  readonly derived: boolean;
}

export interface NameNode {
  /** Child nodes (names one label longer). A node exists while it holds data, is marked, or has
   * children: an empty non-terminal exists exactly while some name below it does (RFC 8020). */
  children: number;
  /** Set by setNameExists: the name exists even without RRsets (NODATA for every type). */
  marked: boolean;
  /** The RRsets by type (fields, not a Map: a Map per name costs more memory and time). */
  rrsetCount: number;
  a: RRsetEntry | undefined;
  aaaa: RRsetEntry | undefined;
  srv: RRsetEntry | undefined;
  ptr: RRsetEntry | undefined;
}

function newNode(children: number): NameNode {
  return { children, marked: false, rrsetCount: 0, a: undefined, aaaa: undefined, srv: undefined, ptr: undefined };
}

/** The RRset of QTYPE `code` at a node, if any. */
export function rrsetOf(node: NameNode, code: number): RRsetEntry | undefined {
  switch (code) {
    case T.A:
      return node.a;
    case T.AAAA:
      return node.aaaa;
    case T.SRV:
      return node.srv;
    case T.PTR:
      return node.ptr;
    default:
      return undefined;
  }
}

function setRRsetOf(node: NameNode, type: RecordType, entry: RRsetEntry | undefined): void {
  const had = node[fieldOf[type]] !== undefined;
  node[fieldOf[type]] = entry;
  node.rrsetCount += (entry !== undefined ? 1 : 0) - (had ? 1 : 0);
}

const fieldOf = { A: 'a', AAAA: 'aaaa', SRV: 'srv', PTR: 'ptr' } as const satisfies { readonly [K in RecordType]: keyof NameNode };

const noNumbers: readonly number[] = Object.freeze([]);

const recordTypeList = ['A', 'AAAA', 'SRV', 'PTR'] as const satisfies readonly RecordType[];

/** Whether a node counts as a name of its own (rather than only an empty non-terminal). */
function holds(node: NameNode): boolean {
  return node.rrsetCount > 0 || node.marked;
}

const typeCodes: { readonly [K in RecordType]: number } = { A: T.A, AAAA: T.AAAA, SRV: T.SRV, PTR: T.PTR };
const u32Range = 2 ** 32;
const ttlSecondsMax = 2 ** 31 - 1; // RFC 2181 §8

function seconds(value: unknown, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > ttlSecondsMax) {
    throw new DnsError('bad-config', `${field} must be an integer number of seconds in [0, ${ttlSecondsMax}], got ${String(v)}`);
  }
  return v;
}

function label(value: unknown, fallback: string, field: string): string {
  const v = value ?? fallback;
  if (typeof v !== 'string' || !/^[a-z0-9-]{1,63}$/i.test(v)) {
    throw new DnsError('bad-config', `${field} must be one label of letters, digits and '-', got ${JSON.stringify(v)}`);
  }
  return v.toLowerCase();
}

function presentation(key: NameKey): string {
  let out = '';
  for (let i = 0; key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1) out += key.slice(i + 1, i + 1 + key.charCodeAt(i)) + '.';
  return out === '' ? '.' : out;
}

/** Fills in defaults and checks a ZoneConfig; throws DnsError `bad-config` naming the field. */
export function resolveZoneConfig(config: ZoneConfig): ResolvedZoneConfig {
  const origin = nameToKey(config.origin);
  const aliases = (config.aliases ?? []).map(nameToKey);
  const reverse = (config.reverseZones ?? ['in-addr.arpa.', 'ip6.arpa.']).map(nameToKey);
  for (const r of reverse) {
    if (!isUnder(r, nameToKey('in-addr.arpa.')) && !isUnder(r, nameToKey('ip6.arpa.'))) {
      throw new DnsError('bad-config', `reverse zone ${presentation(r)} is not under in-addr.arpa. or ip6.arpa.`);
    }
  }
  const all = [origin, ...aliases, ...reverse];
  const twice = all.find((a, i) => all.indexOf(a) !== i);
  if (twice !== undefined) throw new DnsError('bad-config', `zone ${presentation(twice)} is listed twice`);
  for (const a of all) {
    if (a.length === 1) throw new DnsError('bad-config', 'the root cannot be a zone apex here');
    for (const b of all) {
      if (a !== b && isUnder(a, b)) {
        throw new DnsError('bad-config', `zone ${presentation(a)} lies under zone ${presentation(b)}; apexes must not nest`);
      }
    }
  }
  const ttlSeconds = seconds(config.ttlSeconds, 5, 'ttlSeconds');
  const soa = config.soa ?? {};
  return {
    origin: presentation(origin),
    aliases: aliases.map(presentation),
    reverseZones: reverse.map(presentation),
    ttlSeconds,
    soa: {
      mnameLabel: label(soa.mnameLabel, 'ns', 'soa.mnameLabel'),
      rnameLabel: label(soa.rnameLabel, 'hostmaster', 'soa.rnameLabel'),
      ttlSeconds: seconds(soa.ttlSeconds, ttlSeconds, 'soa.ttlSeconds'),
      refreshSeconds: seconds(soa.refreshSeconds, 60, 'soa.refreshSeconds'),
      retrySeconds: seconds(soa.retrySeconds, 30, 'soa.retrySeconds'),
      expireSeconds: seconds(soa.expireSeconds, 86400, 'soa.expireSeconds'),
      minimumSeconds: seconds(soa.minimumSeconds, 5, 'soa.minimumSeconds'),
    },
  };
}

function u16(value: unknown, field: string, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new DnsError('bad-record', `SRV ${field} at ${name} must be an integer in [0, 65535], got ${String(value)}`);
  }
  return value;
}

/** Bytes as a latin1 string (one char per byte), without a Buffer in between. */
function latin1Of(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** Validates and normalises one record; throws DnsError `bad-record`/`bad-name`. */
function storeRecord(type: RecordType, data: unknown, name: string): StoredRecord {
  switch (type) {
    case 'A':
    case 'AAAA': {
      const bytes = typeof data === 'string' ? (type === 'A' ? parseIpv4(data) : parseIpv6(data)) : undefined;
      if (bytes === undefined) throw new DnsError('bad-record', `${type} record at ${name} must be an ${type === 'A' ? 'IPv4' : 'IPv6'} address text, got ${JSON.stringify(data)}`);
      return { view: data as string, fixed: latin1Of(bytes), target: undefined };
    }
    case 'PTR': {
      const target = nameToKey(data as string);
      return { view: presentation(target), fixed: '', target };
    }
    case 'SRV': {
      if (typeof data !== 'object' || data === null) throw new DnsError('bad-record', `SRV record at ${name} must be an object, got ${JSON.stringify(data)}`);
      const d = data as Record<string, unknown>;
      const [p, w, port] = [u16(d['priority'], 'priority', name), u16(d['weight'], 'weight', name), u16(d['port'], 'port', name)];
      const target = nameToKey(d['target'] as string);
      const fixed = String.fromCharCode(p >> 8, p & 0xff, w >> 8, w & 0xff, port >> 8, port & 0xff);
      return { view: { priority: p, weight: w, port, target: presentation(target) }, fixed, target };
    }
    default:
      throw new DnsError('bad-record', `record type ${JSON.stringify(type)} is not one of A, AAAA, SRV, PTR`);
  }
}

/**
 * A derived RRset's records: validated like setRRset's, not deduplicated (a DerivedName's records
 * are distinct), an SRV target shared by consecutive records converted once (a name of many
 * tasks: one target, thousands of ports).
 */
function storeDerived(type: RecordType, records: readonly unknown[], name: string): StoredRecord[] {
  const out: StoredRecord[] = [];
  let lastText: unknown;
  let lastKey: NameKey | undefined;
  let lastView = '';
  for (const r of records) {
    if (type !== 'SRV' || typeof r !== 'object' || r === null) {
      out.push(storeRecord(type, r, name));
      continue;
    }
    const d = r as Record<string, unknown>;
    if (d['target'] !== lastText || lastKey === undefined) {
      lastText = d['target'];
      lastKey = nameToKey(d['target'] as string);
      lastView = presentation(lastKey);
    }
    const p = u16(d['priority'], 'priority', name);
    const w = u16(d['weight'], 'weight', name);
    const port = u16(d['port'], 'port', name);
    const fixed = String.fromCharCode(p >> 8, p & 0xff, w >> 8, w & 0xff, port >> 8, port & 0xff);
    out.push({ view: { priority: p, weight: w, port, target: lastView }, fixed, target: lastKey });
  }
  return out;
}

/**
 * Validates and normalises the records of one RRset, duplicates kept once (an RRset is a set, RFC
 * 2181 §5: canonical bytes identify a record). Throws DnsError `bad-record`/`bad-name`.
 */
function storeRecords(type: RecordType, records: readonly unknown[], name: string): StoredRecord[] {
  if (records.length === 1) return [storeRecord(type, records[0], name)];
  const byId = new Map<string, StoredRecord>();
  for (const r of records) {
    const stored = storeRecord(type, r, name);
    const id = stored.target === undefined ? stored.fixed : `${stored.fixed}/${stored.target}`;
    if (!byId.has(id)) byId.set(id, stored);
  }
  return [...byId.values()];
}

/** What identifies a record in its RRset: its canonical bytes (RFC 2181 §5). */
function recordId(r: StoredRecord): string {
  return r.target === undefined ? r.fixed : `${r.fixed}/${r.target}`;
}

/** Where a record equal to `r` (same canonical bytes) is in `records`, or -1: a scan. */
function indexOfRecord(records: readonly StoredRecord[], r: StoredRecord): number {
  for (let i = 0; i < records.length; i++) if (records[i]!.fixed === r.fixed && records[i]!.target === r.target) return i;
  return -1;
}

/** One writer for every encoding: encodings run to completion synchronously. */
const writer = new WireWriter();
/** The header an encoding starts with, so that offsets are those of the final message. */
const zeroHeader = new Uint8Array(12);
/** Answer owners are always the question: a pointer to offset 12 (RFC 1035 §4.1.4). */
const questionPointer = 0xc000 | 12;
const addressCodes = [T.A, T.AAAA] as const;

const identity = (k: NameKey): NameKey => k;

/** Names under `stored` moved under `variant` (an alias); others unchanged. Memoises the last. */
function rewriter(stored: NameKey, variant: NameKey): (k: NameKey) => NameKey {
  let lastIn: NameKey | undefined;
  let lastOut: NameKey = stored;
  return (k) => {
    if (k === lastIn) return lastOut;
    lastIn = k;
    lastOut = isUnder(k, stored) ? ((k.slice(0, k.length - stored.length) + variant) as NameKey) : k;
    return lastOut;
  };
}

/**
 * One answer record, position-independent: the owner is the question pointer and names in the
 * rdata are written in full, never as pointers nor as targets of later pointers, so records can be
 * rotated per query. RFC 3597 §4: SRV rdata names must not be compressed anyway.
 */
function writeRecord(w: WireWriter, type: RecordType, r: StoredRecord, ttl: number, rewrite: (k: NameKey) => NameKey): void {
  w.u16(questionPointer);
  w.u16(typeCodes[type]);
  w.u16(qclass.IN);
  w.u32(ttl);
  switch (type) {
    case 'A':
    case 'AAAA':
      w.u16(r.fixed.length);
      w.latin1(r.fixed);
      return;
    case 'SRV': {
      const target = rewrite(r.target!);
      w.u16(r.fixed.length + target.length);
      w.latin1(r.fixed);
      w.nameUnanchored(target);
      return;
    }
    case 'PTR':
      w.u16(r.target!.length);
      w.nameUnanchored(r.target!);
      return;
    default:
      assertNever(type);
  }
}

/** The cheap shape check of a key handed in as a NameKey: within the name limit, ending in the root label. */
const isNameKey = (key: string): boolean => key.length <= limits.nameBytesMax && key.charCodeAt(key.length - 1) === 0;

export class MemoryZoneIndex implements ZoneIndex {
  readonly config: ResolvedZoneConfig;
  /** Every apex, longest first, so the most specific zone wins. */
  readonly apexes: readonly ZoneApex[];
  readonly originKey: NameKey;
  /** Writers of the per-query SOA, NS and HINFO records. */
  readonly synth: Synth;
  private readonly variantApexes: readonly NameKey[];
  private readonly nodes = new Map<string, NameNode>();
  /** SRV/PTR target → owners whose encoded answers embed its addresses. */
  /** One owner (the common case: no Set) or several. */
  private readonly dependents = new Map<string, NameKey | Set<NameKey>>();
  private source: DerivedSource | undefined;
  private readonly derivedCache = new DerivedCache();
  /**
   * Parents of the latest derived names, found without a Map lookup: a records builder adds names
   * under a few parents in turn (a framework's agentip, containerip and autoip names, a /24's PTR
   * names), and looking a parent up meant slicing its key off the name's and hashing that new
   * string, about a third of `addDerivedName`'s time. Emptied whenever a node is removed.
   */
  private readonly recentParents: { key: string; node: NameNode }[] = [];
  private recentParentNext = 0;
  private serialValue = 0;
  private readyValue = false;
  private counts = { names: 0, rrsets: 0, encodedBytes: 0 };

  constructor(config: ZoneConfig) {
    this.config = resolveZoneConfig(config);
    this.originKey = nameToKey(this.config.origin);
    this.synth = new Synth(this.config);
    this.variantApexes = [this.originKey, ...this.config.aliases.map(nameToKey)];
    const apexes: ZoneApex[] = this.variantApexes.map((key, variant) => ({ key, kind: 'forward', variant, storedApex: this.originKey }));
    for (const r of this.config.reverseZones) {
      const key = nameToKey(r);
      apexes.push({ key, kind: 'reverse', variant: 0, storedApex: key });
    }
    this.apexes = apexes.sort((a, b) => b.key.length - a.key.length);
  }

  get serial(): number {
    return this.serialValue;
  }

  /** The serial as it goes on the wire (RFC 1982 serial arithmetic on 32 bits). */
  get wireSerial(): number {
    return this.serialValue % u32Range;
  }

  get ready(): boolean {
    return this.readyValue;
  }

  setSerial(serial: number): void {
    if (!Number.isSafeInteger(serial) || serial < this.serialValue) {
      throw new DnsError('bad-serial', `serial must be a safe integer >= the current ${this.serialValue}, got ${serial}`);
    }
    this.serialValue = serial;
  }

  setReady(ready: boolean): void {
    this.readyValue = ready;
  }

  /** The apex `key` falls under, or undefined when it is outside every zone we serve. */
  findApex(key: string): ZoneApex | undefined {
    for (const apex of this.apexes) if (isUnder(key, apex.key)) return apex;
    return undefined;
  }

  /** The RRset answering `typedKey` (a name key followed by the two QTYPE bytes), if any. */
  answerFor(typedKey: string): RRsetEntry | undefined {
    const n = typedKey.length;
    return this.answerOf(typedKey.slice(0, n - 2), (typedKey.charCodeAt(n - 2) << 8) | typedKey.charCodeAt(n - 1));
  }

  /**
   * The hot path: the RRset of QTYPE `code` at `key` (a name as asked, under the origin, an alias
   * or a reverse zone), one Map lookup. A name under an alias is looked up as the origin name it
   * stands for: one table entry per name rather than one per name and zone variant, which every
   * change would have to maintain.
   */
  answerOf(key: string, code: number): RRsetEntry | undefined {
    const k = this.variantApexes.length > 1 && !key.endsWith(this.originKey) ? this.unalias(key) : key;
    if (this.source !== undefined) {
      // Derived names first (most of a node's names): a cached node exists only while no stored
      // RRset does at its name (putRRset drops it), so stored names still win.
      const cached = this.derivedCache.get(k);
      if (cached !== undefined && cached.stamp.version === cached.version) return rrsetOf(cached.node, code);
    }
    const node = this.nodes.get(k);
    if ((node !== undefined && node.rrsetCount > 0) || this.source === undefined) return node === undefined ? undefined : rrsetOf(node, code);
    const derived = this.derivedNode(k);
    return derived === undefined ? undefined : rrsetOf(derived, code);
  }

  /** The origin name an alias name stands for; other names unchanged. */
  private unalias(key: string): string {
    for (let v = 1; v < this.variantApexes.length; v++) {
      const alias = this.variantApexes[v]!;
      if (isUnder(key, alias)) return key.slice(0, key.length - alias.length) + this.originKey;
    }
    return key;
  }

  /**
   * The encoded answer of an RRset for a question of `key` (ParsedQuery.key, which names the
   * RRset's owner under some variant): cached, or built now (once per change of what it shows).
   */
  encoded(entry: RRsetEntry, key: string): EncodedAnswer {
    if (entry.type !== 'SRV') return entry.encoded ?? this.encodeFor(entry, 0);
    return this.encodedFor(entry, this.variantOf(entry, key));
  }

  /** The encoded answer of an RRset under zone variant `variant` (ZoneApex.variant). */
  encodedFor(entry: RRsetEntry, variant: number): EncodedAnswer {
    if (entry.type !== 'SRV') return entry.encoded ?? this.encodeFor(entry, 0);
    return entry.variants?.[variant] ?? this.encodeFor(entry, variant);
  }

  /** Which variant `key` (the owner under some variant) names. */
  private variantOf(entry: RRsetEntry, key: string): number {
    if (entry.apex !== this.originKey) return 0;
    const relative = entry.owner.length - entry.apex.length;
    for (let v = 0; v < this.variantApexes.length; v++) {
      const apex = this.variantApexes[v]!;
      if (key.length === relative + apex.length && key.endsWith(apex)) return v;
    }
    assert(false, () => `${key} names no variant of ${entry.owner}`);
  }

  /** The node of a stored (origin-relative) key, if the name exists other than as an apex. */
  node(key: string): NameNode | undefined {
    const stored = this.nodes.get(key);
    if (this.source === undefined || (stored !== undefined && stored.rrsetCount > 0)) return stored;
    const derived = this.derivedNode(key);
    if (derived === undefined) return stored;
    // A derived name may also be an empty non-terminal (a task named like a framework label).
    derived.children = stored?.children ?? 0;
    return derived;
  }

  /** The node of a derived name (cached while its source says nothing changed), if it exists. */
  private derivedNode(key: string): NameNode | undefined {
    const cached = this.derivedCache.get(key);
    if (cached !== undefined && cached.stamp.version === cached.version) return cached.node;
    const d = this.source!.lookup(key);
    if (d === undefined) {
      if (cached !== undefined) this.derivedCache.delete(key);
      return undefined;
    }
    const node = this.buildDerived(key as NameKey, d);
    this.derivedCache.set(key, { node, stamp: d.stamp, version: d.version });
    return node;
  }

  derivedCached(stamp: DerivedStamp): boolean {
    return this.derivedCache.has(stamp);
  }

  refreshDerived(stamp: DerivedStamp): void {
    const keys = this.derivedCache.keysOf(stamp);
    if (keys === undefined || this.source === undefined) return;
    for (const key of keys) {
      const old = this.derivedCache.get(key);
      if (old === undefined || old.stamp.version === old.version) continue;
      const node = this.derivedNode(key);
      if (node !== undefined) this.preEncode(old.node, node);
    }
  }

  /** Encodes the answers of a rebuilt node that were encoded in the node it replaces. */
  private preEncode(old: NameNode, fresh: NameNode): void {
    for (const field of ['a', 'aaaa', 'srv', 'ptr'] as const) {
      const was = old[field];
      const now = fresh[field];
      if (was === undefined || now === undefined) continue;
      if (was.encoded !== undefined) this.encodedFor(now, 0);
      was.variants?.forEach((e, variant) => {
        if (e !== undefined) this.encodedFor(now, variant);
      });
    }
  }

  private buildDerived(key: NameKey, d: DerivedName): NameNode {
    const apex = this.findApex(key)?.storedApex ?? key;
    const node = newNode(0);
    for (const type of recordTypeList) {
      const records = d[type];
      if (records === undefined || records.length === 0) continue;
      const stored = storeDerived(type, records.length > limits.rrsetRecordsMax ? records.slice(0, limits.rrsetRecordsMax) : records, key);
      setRRsetOf(node, type, { owner: key, type, apex, records: stored, encoded: undefined, variants: undefined, encodedBytes: 0, derived: true });
    }
    node.marked = node.rrsetCount === 0;
    return node;
  }

  setDerivedSource(source: DerivedSource | undefined): void {
    this.source = source;
    this.derivedCache.clear();
  }

  addDerivedName(name: string): void {
    const key = nameToKey(name);
    this.addDerived(key, this.storedApexOf(key, name));
  }

  addDerivedKey(key: NameKey): void {
    assert(isNameKey(key), () => `derived key ${JSON.stringify(key)} is not a name key`);
    this.addDerived(key, this.storedApexOf(key, undefined));
  }

  private addDerived(key: NameKey, apex: NameKey): void {
    this.counts.names++;
    // No derived-cache entry to drop: one holds a node the source built and is checked against
    // the source's version on every use, and a name's node never depends on its being counted
    // here (its child count is read from the stored node per query). Dropping it would hash
    // every new name's key for nothing; removeDerived drops entries so they do not linger.
    if (key.length <= apex.length) return;
    const recent = this.recentParentOf(key);
    if (recent !== undefined) {
      recent.children++;
      return;
    }
    const parentKey = flat(key.slice(key.charCodeAt(0) + 1)) as NameKey;
    const parent = this.nodeFor(parentKey, apex);
    parent.children++;
    this.rememberParent(parentKey, parent);
  }

  removeDerivedName(name: string): void {
    const key = nameToKey(name);
    this.removeDerived(key, this.storedApexOf(key, name));
  }

  removeDerivedKey(key: NameKey): void {
    assert(isNameKey(key), () => `derived key ${JSON.stringify(key)} is not a name key`);
    this.removeDerived(key, this.storedApexOf(key, undefined));
  }

  private removeDerived(key: NameKey, apex: NameKey): void {
    this.counts.names--;
    this.derivedCache.delete(key);
    if (key.length <= apex.length) return;
    const parent = this.recentParentOf(key) ?? this.nodes.get(key.slice(key.charCodeAt(0) + 1));
    assert(parent !== undefined && parent.children > 0, () => `parent of derived ${key} missing`);
    parent.children--;
    if (!holds(parent) && parent.children === 0) this.pruneEmpty(key.slice(key.charCodeAt(0) + 1), apex);
  }

  /** The node of `key`'s parent if it is one of the recent parents (compared in place: no slice, no hash). */
  private recentParentOf(key: NameKey): NameNode | undefined {
    const parentChars = key.length - key.charCodeAt(0) - 1;
    for (const p of this.recentParents) if (p.key.length === parentChars && key.endsWith(p.key)) return p.node;
    return undefined;
  }

  private rememberParent(key: string, node: NameNode): void {
    this.recentParents[this.recentParentNext] = { key, node };
    this.recentParentNext = (this.recentParentNext + 1) % recentParentsMax;
  }

  /** A node left the index: a remembered parent may be the one that went (or go later, unseen). */
  private forgetRecentParents(): void {
    this.recentParents.length = 0;
    this.recentParentNext = 0;
  }

  /** The stored apex `key` is under; `name` is the name as given, for the error (undefined: a key was given). */
  private storedApexOf(key: NameKey, name: string | undefined): NameKey {
    const apex = this.findApex(key);
    if (apex === undefined || apex.variant !== 0) {
      const zones = [this.config.origin, ...this.config.reverseZones].join(', ');
      throw new DnsError('outside-zone', `name ${JSON.stringify(name ?? keyToName(key))} is not under ${zones} (aliases hold no data of their own)`);
    }
    return apex.storedApex;
  }

  setRRset<K extends RecordType>(name: string, type: K, records: readonly RecordDataByType[K][]): void {
    const key = nameToKey(name);
    const apex = this.storedApexOf(key, name);
    const code = typeCodes[type];
    if (code === undefined) throw new DnsError('bad-record', `record type ${JSON.stringify(type)} is not one of A, AAAA, SRV, PTR`);
    if (!Array.isArray(records)) throw new DnsError('bad-record', `records for ${type} at ${name} must be an array`);
    if (records.length > limits.rrsetRecordsMax) {
      throw new DnsError('bad-record', `${records.length} ${type} records at ${name}, at most ${limits.rrsetRecordsMax} allowed`);
    }
    const stored = storeRecords(type, records, name);
    if (stored.length === 0) return this.deleteRRset(name, type);
    this.putRRset(key, apex, type, stored);
  }

  /** Replaces (or creates) the RRset of `type` at `key` (under `apex`) by validated records. */
  private putRRset(key: NameKey, apex: NameKey, type: RecordType, stored: readonly StoredRecord[]): void {
    const code = typeCodes[type];
    this.derivedCache.delete(key); // a stored name is no longer answered as derived
    const node = this.nodeFor(key, apex);
    const hadData = holds(node);
    let entry = rrsetOf(node, code);
    if (entry !== undefined) {
      // Same owner and type: the answer-table keys stay, only the records and their encodings go.
      this.undepend(entry);
      this.invalidate(entry);
      entry.records = stored;
    } else {
      entry = this.newEntry(key, type, apex, stored);
      setRRsetOf(node, type, entry);
      this.counts.rrsets++;
    }
    if (!hadData) this.counts.names++;
    if (type === 'SRV') {
      let previous: NameKey | undefined;
      for (const r of stored) if (r.target !== previous) this.depend((previous = r.target!), key);
    }
    if (type === 'A' || type === 'AAAA') this.invalidateDependents(key);
  }

  updateRRset<K extends RecordType>(name: string, type: K, add: readonly RecordDataByType[K][], remove: readonly RecordDataByType[K][]): void {
    const key = nameToKey(name);
    const apex = this.storedApexOf(key, name);
    const code = typeCodes[type];
    if (code === undefined) throw new DnsError('bad-record', `record type ${JSON.stringify(type)} is not one of A, AAAA, SRV, PTR`);
    if (!Array.isArray(add) || !Array.isArray(remove)) throw new DnsError('bad-record', `records to add and remove for ${type} at ${name} must be arrays`);
    const adding = storeRecords(type, add, name);
    const removing = storeRecords(type, remove, name);
    if (adding.length + removing.length === 0) return;
    const node = this.nodes.get(key);
    const entry = node === undefined ? undefined : rrsetOf(node, code);
    const kept = entry === undefined ? [] : [...entry.records];
    for (const r of removing) {
      const at = indexOfRecord(kept, r);
      if (at < 0) continue;
      kept[at] = kept[kept.length - 1]!;
      kept.pop();
    }
    for (const r of adding) if (indexOfRecord(kept, r) < 0 && indexOfRecord(removing, r) < 0) kept.push(r);
    if (kept.length > limits.rrsetRecordsMax) {
      throw new DnsError('bad-record', `${kept.length} ${type} records at ${name}, at most ${limits.rrsetRecordsMax} allowed`);
    }
    if (kept.length === 0) return this.deleteRRset(name, type);
    this.putRRset(key, apex, type, kept);
  }

  deleteRRset(name: string, type: RecordType): void {
    const key = nameToKey(name);
    const apex = this.storedApexOf(key, name);
    const code = typeCodes[type];
    if (code === undefined) throw new DnsError('bad-record', `record type ${JSON.stringify(type)} is not one of A, AAAA, SRV, PTR`);
    const node = this.nodes.get(key);
    const entry = node === undefined ? undefined : rrsetOf(node, code);
    if (node === undefined || entry === undefined) return;
    this.undepend(entry);
    this.invalidate(entry);
    setRRsetOf(node, type, undefined);
    this.counts.rrsets--;
    if (!holds(node)) this.prune(key, apex, node);
    if (type === 'A' || type === 'AAAA') this.invalidateDependents(key);
  }

  deleteName(name: string): void {
    for (const type of ['A', 'AAAA', 'SRV', 'PTR'] as const) this.deleteRRset(name, type);
    this.setNameExists(name, false);
  }

  setNameExists(name: string, exists: boolean): void {
    const key = nameToKey(name);
    const apex = this.storedApexOf(key, name);
    const existing = this.nodes.get(key);
    if ((existing?.marked === true) === exists) return;
    if (exists) {
      const node = existing ?? this.nodeFor(key, apex);
      if (!holds(node)) this.counts.names++;
      node.marked = true;
      return;
    }
    assert(existing !== undefined, () => `marked node ${key} missing`);
    existing.marked = false;
    if (!holds(existing)) this.prune(key, apex, existing);
  }

  clear(): void {
    this.nodes.clear();
    this.forgetRecentParents();
    this.derivedCache.clear();
    this.dependents.clear();
    this.counts = { names: 0, rrsets: 0, encodedBytes: 0 };
  }

  /** A new RRset (answered through its node: `answerOf`). */
  private newEntry(owner: NameKey, type: RecordType, apex: NameKey, records: readonly StoredRecord[]): RRsetEntry {
    return { owner, type, apex, records, encoded: undefined, variants: undefined, encodedBytes: 0, derived: false };
  }

  /** Drops an RRset's cached encodings (they are rebuilt on the next query that needs them). */
  private invalidate(entry: RRsetEntry): void {
    if (entry.encodedBytes === 0) return;
    this.counts.encodedBytes -= entry.encodedBytes;
    entry.encodedBytes = 0;
    entry.encoded = undefined;
    entry.variants = undefined;
  }

  /** Forgets an SRV RRset's targets (before replacing or deleting it). */
  private undepend(entry: RRsetEntry): void {
    if (entry.type !== 'SRV') return;
    let previous: NameKey | undefined;
    for (const r of entry.records) {
      const target = r.target!;
      if (target === previous) continue;
      previous = target;
      const d = this.dependents.get(target);
      if (d === undefined) continue;
      if (typeof d === 'string') {
        if (d === entry.owner) this.dependents.delete(target);
      } else {
        d.delete(entry.owner);
        if (d.size === 0) this.dependents.delete(target);
      }
    }
  }

  /** Records that `owner`'s SRV answer carries `target`'s addresses. */
  private depend(target: NameKey, owner: NameKey): void {
    const d = this.dependents.get(target);
    if (d === undefined) this.dependents.set(target, owner);
    else if (typeof d !== 'string') d.add(owner);
    else if (d !== owner) this.dependents.set(target, new Set([d, owner]));
  }

  /** The SRV answers that carry `target`'s addresses as glue are stale now. */
  private invalidateDependents(target: NameKey): void {
    const d = this.dependents.get(target);
    if (d === undefined) return;
    if (typeof d === 'string') return this.invalidateSrv(d, target);
    for (const owner of d) this.invalidateSrv(owner, target);
  }

  private invalidateSrv(owner: NameKey, target: NameKey): void {
    const entry = this.nodes.get(owner)?.srv;
    assert(entry !== undefined, () => `dependent ${owner} of ${target} has no SRV RRset`);
    this.invalidate(entry);
  }

  /** The node of `key`, created with its missing ancestors up to `apex`: O(labels created). */
  private nodeFor(key: NameKey, apex: NameKey): NameNode {
    const found = this.nodes.get(key);
    if (found !== undefined) return found;
    const node = newNode(0);
    this.nodes.set(key, node);
    let k = key;
    for (let steps = 0; steps <= limits.nameBytesMax / 2 && k.length > apex.length; steps++) {
      const parent: string = k.slice(k.charCodeAt(0) + 1);
      const above = this.nodes.get(parent);
      if (above !== undefined) {
        above.children++;
        return node;
      }
      k = flat(parent) as NameKey;
      this.nodes.set(k, newNode(1));
    }
    assert(k === apex, () => `${key} is not under ${apex}`);
    return node;
  }

  /** Removes a node that no longer holds anything, and the empty non-terminals it leaves. */
  private prune(key: NameKey, apex: NameKey, node: NameNode): void {
    this.counts.names--;
    this.pruneFrom(key, apex, node);
  }

  /** Removes an empty non-terminal left without children, and those it leaves above. */
  private pruneEmpty(key: string, apex: NameKey): void {
    this.pruneFrom(key, apex, this.nodes.get(key)!);
  }

  private pruneFrom(key: string, apex: NameKey, node: NameNode): void {
    let k: string = key;
    let n = node;
    for (let steps = 0; steps <= limits.nameBytesMax / 2; steps++) {
      if (holds(n) || n.children > 0) return;
      this.nodes.delete(k);
      this.forgetRecentParents();
      if (k.length <= apex.length) return;
      k = k.slice(k.charCodeAt(0) + 1);
      const parent = this.nodes.get(k);
      assert(parent !== undefined && parent.children > 0, () => `parent ${k} of a removed name missing`);
      parent.children--;
      n = parent;
    }
    assert(false, () => `${key} is not under ${apex}`);
  }

  /** Encodes an RRset's answer under `variant` and caches it (see RRsetEntry). */
  private encodeFor(entry: RRsetEntry, variant: number): EncodedAnswer {
    const e = this.encodeOne(entry, variant);
    if (entry.type === 'SRV') (entry.variants ??= [])[variant] = e;
    else entry.encoded = e;
    entry.encodedBytes += e.body.length;
    if (!entry.derived) this.counts.encodedBytes += e.body.length;
    return e;
  }

  private encodeOne(entry: RRsetEntry, variant: number): EncodedAnswer {
    const stored = entry.apex;
    const variantApex = stored === this.originKey ? this.variantApexes[variant]! : stored;
    const rewrite = stored === variantApex ? identity : rewriter(stored, variantApex);
    const qname = rewrite(entry.owner);
    const code = typeCodes[entry.type];
    const ttl = this.config.ttlSeconds;
    const w = writer.reset();
    w.bytes(zeroHeader);
    w.nameUncompressed(qname);
    w.u16(code);
    w.u16(qclass.IN);
    const questionEnd = w.offset;
    let recordBytes = -1;
    let starts: number[] | undefined;
    const records = entry.records;
    for (let i = 0; i < records.length; i++) {
      const at = w.offset;
      writeRecord(w, entry.type, records[i]!, ttl, rewrite);
      const size = w.offset - at;
      if (recordBytes === -1) recordBytes = size;
      else if (size !== recordBytes && starts === undefined) {
        // Sizes differ: keep where each record starts (those so far were all `recordBytes`).
        starts = Array.from({ length: i }, (_, j) => j * recordBytes);
        recordBytes = 0;
      }
      if (starts !== undefined) starts.push(at - questionEnd);
    }
    const answerEnd = w.offset - questionEnd;
    let additionalEnds = noNumbers;
    let additionalCounts = noNumbers;
    if (entry.type === 'SRV') {
      const ends: number[] = [];
      const counts: number[] = [];
      let count = 0;
      let previous: NameKey | undefined;
      let seen: Set<NameKey> | undefined;
      for (const r of records) {
        const target = r.target!;
        // Each target once; records of one target usually come together (no Set needed then).
        if (target === previous) continue;
        if (previous !== undefined) {
          seen ??= new Set([previous]);
          if (seen.has(target)) continue;
          seen.add(target);
        }
        previous = target;
        const owner = rewrite(target);
        for (const code of addressCodes) {
          const node = this.node(target);
          const glue = node === undefined ? undefined : rrsetOf(node, code);
          if (glue === undefined) continue;
          for (const g of glue.records) {
            // Glue owners may be compressed: the additional section never moves.
            const at = w.beginRecord(owner, code, qclass.IN, ttl);
            w.latin1(g.fixed);
            w.endRecord(at);
          }
          count += glue.records.length;
          ends.push(w.offset - questionEnd);
          counts.push(count);
        }
      }
      additionalEnds = ends;
      additionalCounts = counts;
    }
    return {
      body: w.latin1Slice(questionEnd),
      ancount: records.length,
      answerEnd,
      recordBytes: recordBytes === -1 ? 0 : recordBytes,
      recordStarts: starts ?? noNumbers,
      additionalEnds,
      additionalCounts,
    };
  }

  get<K extends RecordType>(name: string, type: K): readonly RecordDataByType[K][] | undefined {
    const node = this.node(nameToKey(name));
    const entry = node === undefined ? undefined : rrsetOf(node, typeCodes[type]);
    return entry?.records.map((r) => r.view as RecordDataByType[K]);
  }

  exists(name: string): boolean {
    const key = nameToKey(name);
    return this.node(key) !== undefined || this.apexes.some((a) => a.key === key);
  }

  stats(): { readonly names: number; readonly rrsets: number; readonly encodedBytes: number } {
    return { ...this.counts };
  }
}

/** Creates an empty zone index (not ready, serial 0). Throws DnsError `bad-config`. */
export function createZoneIndex(config: ZoneConfig): MemoryZoneIndex {
  return new MemoryZoneIndex(config);
}
