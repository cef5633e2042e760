// The in-memory zone index: names → RRsets, each RRset kept with its pre-encoded answers (one per
// zone variant — the origin and each alias — and per ordering), rebuilt only when that RRset, or
// an address an SRV RRset points at, changes. Empty non-terminals are tracked by a reference count
// per name: how many names with data lie at or below it (RFC 8020: a name with descendants
// exists, so `marathon.agentip.dcos` is NODATA, never NXDOMAIN).
import { assert } from './assert.js';
import { Synth } from './authority/synth.js';
import { DnsError } from './errors.js';
import { limits } from './limits.js';
import { qclass, qtype as T } from './wire/constants.js';
import { parseIpv4, parseIpv6 } from './wire/ip.js';
import { flat, isUnder, nameToKey, parentKey, type NameKey } from './wire/name.js';
import { WireWriter } from './wire/writer.js';
import type { RecordDataByType, RecordType, ResolvedZoneConfig, ZoneConfig, ZoneIndex } from './zone.js';

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
 * A pre-encoded answer: the bytes that follow the question (answer RRs, then additional RRs), with
 * compression pointers computed for a question of this variant's length at offset 12. The
 * additional section is cut at RRset boundaries when the answer must fit a UDP limit.
 */
export interface EncodedAnswer {
  /** As a latin1 string (one char per byte): its bytes sit inside the string object itself, one
   * memory access fewer per answer than a Buffer and its separate backing store. */
  readonly body: string;
  readonly ancount: number;
  /** Body bytes of the answer section. */
  readonly answerEnd: number;
  /** For each additional RRset: body bytes up to its end, and the records up to its end. */
  readonly additionalEnds: readonly number[];
  readonly additionalCounts: readonly number[];
}

/** The pre-encoded orderings of one RRset in one zone variant; a lone ordering is stored bare. */
export type Orderings = EncodedAnswer | readonly EncodedAnswer[];

interface StoredRecord {
  readonly view: RecordDataByType[RecordType];
  /** A/AAAA: the address bytes; SRV: priority, weight, port; as a latin1 string (one char per
   * byte), which costs far less memory per record than a typed array. */
  readonly fixed: string;
  /** SRV/PTR: the target name. */
  readonly target: NameKey | undefined;
}

export interface RRsetEntry {
  readonly owner: NameKey;
  readonly type: RecordType;
  readonly records: readonly StoredRecord[];
  /** encoded[variant][ordering] */
  encoded: EncodedAnswer[][];
}

export interface NameNode {
  /** Names holding data (or marked existing) at or below this one, this one included. The node
   * exists while > 0. */
  refs: number;
  /** Empty non-terminals share one empty map (`noRRsets`) until they get data of their own. */
  rrsets: Map<number, RRsetEntry>;
  /** Set by setNameExists: the name exists even without RRsets (NODATA for every type). */
  marked?: boolean;
}

/** The RRsets of every node without any: shared to save a Map per empty non-terminal; never
 * written to (setRRset gives the node its own Map first). */
const noRRsets: ReadonlyMap<number, RRsetEntry> = new Map();
const noNumbers: readonly number[] = Object.freeze([]);

/** Whether a node counts as a name of its own (rather than only an empty non-terminal). */
function holds(node: NameNode): boolean {
  return node.rrsets.size > 0 || node.marked === true;
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

/** Validates and normalises one record; throws DnsError `bad-record`/`bad-name`. */
function storeRecord(type: RecordType, data: unknown, name: string): StoredRecord {
  switch (type) {
    case 'A':
    case 'AAAA': {
      const bytes = typeof data === 'string' ? (type === 'A' ? parseIpv4(data) : parseIpv6(data)) : undefined;
      if (bytes === undefined) throw new DnsError('bad-record', `${type} record at ${name} must be an ${type === 'A' ? 'IPv4' : 'IPv6'} address text, got ${JSON.stringify(data)}`);
      return { view: data as string, fixed: Buffer.from(bytes).toString('latin1'), target: undefined };
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

/** The `count` orderings of `n` records: rotations spread evenly, so each record leads as often. */
function orderings(n: number): number[][] {
  const count = Math.min(n, limits.rrsetPermutationsMax);
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const shift = Math.floor((i * n) / count);
    out.push(Array.from({ length: n }, (_, j) => (j + shift) % n));
  }
  return out;
}

export class MemoryZoneIndex implements ZoneIndex {
  readonly config: ResolvedZoneConfig;
  /** Every apex, longest first, so the most specific zone wins. */
  readonly apexes: readonly ZoneApex[];
  readonly originKey: NameKey;
  /** Writers of the per-query SOA, NS and HINFO records. */
  readonly synth: Synth;
  private readonly variantApexes: readonly NameKey[];
  private readonly nodes = new Map<string, NameNode>();
  /**
   * (name as asked, lowercased) + QTYPE bytes → the orderings of its pre-encoded answer, for every
   * RRset and zone variant: the hot path is one lookup here (see dns/answers/).
   */
  private readonly answers = new Map<string, Orderings>();
  /** SRV/PTR target → owners whose encoded answers embed its addresses. */
  private readonly dependents = new Map<string, Set<NameKey>>();
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

  /** The pre-encoded orderings answering `typedKey` (ParsedQuery.typedKey), if any. */
  answerFor(typedKey: string): Orderings | undefined {
    return this.answers.get(typedKey);
  }

  /** The node of a stored (origin-relative) key, if the name exists other than as an apex. */
  node(key: string): NameNode | undefined {
    return this.nodes.get(key);
  }

  private storedApexOf(key: NameKey, name: string): NameKey {
    const apex = this.findApex(key);
    if (apex === undefined || apex.variant !== 0) {
      const zones = [this.config.origin, ...this.config.reverseZones].join(', ');
      throw new DnsError('outside-zone', `name ${JSON.stringify(name)} is not under ${zones} (aliases hold no data of their own)`);
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
    const byId = new Map<string, StoredRecord>();
    for (const r of records) {
      const stored = storeRecord(type, r, name);
      // Canonical bytes identify a record: an RRset is a set (RFC 2181 §5).
      const id = stored.target === undefined ? stored.fixed : `${stored.fixed}/${stored.target}`;
      if (!byId.has(id)) byId.set(id, stored);
    }
    if (byId.size === 0) return this.deleteRRset(name, type);
    let node = this.nodes.get(key);
    const hadData = node !== undefined && holds(node);
    if (node === undefined) {
      node = { refs: 0, rrsets: new Map() };
      this.nodes.set(key, node);
    } else if (node.rrsets === noRRsets) {
      node.rrsets = new Map();
    }
    const old = node.rrsets.get(code);
    if (old !== undefined) this.forget(key, old);
    else this.counts.rrsets++;
    const entry: RRsetEntry = { owner: key, type, records: [...byId.values()], encoded: [] };
    node.rrsets.set(code, entry);
    if (!hadData) this.addRefs(key, apex, 1);
    for (const r of entry.records) if (type === 'SRV' && r.target !== undefined) this.depend(r.target, key);
    this.encode(key, entry);
    if (type === 'A' || type === 'AAAA') this.reencodeDependents(key);
  }

  deleteRRset(name: string, type: RecordType): void {
    const key = nameToKey(name);
    const apex = this.storedApexOf(key, name);
    const code = typeCodes[type];
    if (code === undefined) throw new DnsError('bad-record', `record type ${JSON.stringify(type)} is not one of A, AAAA, SRV, PTR`);
    const node = this.nodes.get(key);
    const entry = node?.rrsets.get(code);
    if (node === undefined || entry === undefined) return;
    this.forget(key, entry);
    node.rrsets.delete(code);
    this.counts.rrsets--;
    if (!holds(node)) this.addRefs(key, apex, -1);
    if (type === 'A' || type === 'AAAA') this.reencodeDependents(key);
  }

  deleteName(name: string): void {
    for (const type of ['A', 'AAAA', 'SRV', 'PTR'] as const) this.deleteRRset(name, type);
    this.setNameExists(name, false);
  }

  setNameExists(name: string, exists: boolean): void {
    const key = nameToKey(name);
    const apex = this.storedApexOf(key, name);
    let node = this.nodes.get(key);
    if ((node?.marked === true) === exists) return;
    if (exists) {
      const had = node !== undefined && holds(node);
      if (node === undefined) {
        node = { refs: 0, rrsets: noRRsets as Map<number, RRsetEntry> };
        this.nodes.set(key, node);
      }
      node.marked = true;
      if (!had) this.addRefs(key, apex, 1);
      return;
    }
    assert(node !== undefined, () => `marked node ${key} missing`);
    node.marked = false;
    if (!holds(node)) this.addRefs(key, apex, -1);
  }

  clear(): void {
    this.nodes.clear();
    this.answers.clear();
    this.dependents.clear();
    this.counts = { names: 0, rrsets: 0, encodedBytes: 0 };
  }

  /** Drops an RRset's encoded bytes and its SRV dependencies (before replacing or deleting it). */
  private forget(owner: NameKey, entry: RRsetEntry): void {
    this.dropEncoded(entry);
    if (entry.type !== 'SRV') return;
    for (const r of entry.records) {
      const set = r.target === undefined ? undefined : this.dependents.get(r.target);
      if (set === undefined) continue;
      set.delete(owner);
      if (set.size === 0) this.dependents.delete(r.target!);
    }
  }

  private dropEncoded(entry: RRsetEntry): void {
    for (const v of entry.encoded) for (const e of v) this.counts.encodedBytes -= e.body.length;
    for (const typedKey of this.typedKeys(entry)) this.answers.delete(typedKey);
    entry.encoded = [];
  }

  /** The answer-table keys of an RRset: its owner under each zone variant, plus the type bytes. */
  private typedKeys(entry: RRsetEntry): string[] {
    const apex = this.findApex(entry.owner);
    assert(apex !== undefined && apex.variant === 0, () => `RRset outside zones: ${entry.owner}`);
    const code = typeCodes[entry.type];
    const typeBytes = String.fromCharCode(code >> 8, code & 0xff);
    if (apex.kind === 'reverse') return [flat(entry.owner + typeBytes)];
    const relative = entry.owner.slice(0, entry.owner.length - apex.storedApex.length);
    return this.variantApexes.map((v) => flat(relative + v + typeBytes));
  }

  private depend(target: NameKey, owner: NameKey): void {
    let set = this.dependents.get(target);
    if (set === undefined) this.dependents.set(target, (set = new Set()));
    set.add(owner);
  }

  private reencodeDependents(target: NameKey): void {
    const owners = this.dependents.get(target);
    if (owners === undefined) return;
    for (const owner of owners) {
      const entry = this.nodes.get(owner)?.rrsets.get(T.SRV);
      assert(entry !== undefined, () => `dependent ${owner} of ${target} has no SRV RRset`);
      this.dropEncoded(entry);
      this.encode(owner, entry);
    }
  }

  /** Adds `delta` to the reference count of `key` and each ancestor up to `apex`: O(labels). */
  private addRefs(key: NameKey, apex: NameKey, delta: 1 | -1): void {
    if (delta === 1) this.counts.names++;
    else this.counts.names--;
    let k: NameKey | undefined = key;
    for (let steps = 0; k !== undefined && steps <= limits.nameBytesMax / 2; steps++) {
      let node = this.nodes.get(k);
      if (node === undefined) {
        assert(delta === 1, () => `ancestor ${k} missing while removing ${key}`);
        node = { refs: 0, rrsets: noRRsets as Map<number, RRsetEntry> };
        this.nodes.set(k, node);
      }
      node.refs += delta;
      assert(node.refs >= 0, () => `refs of ${k} went negative`);
      if (node.refs === 0) this.nodes.delete(k);
      if (k === apex) return;
      k = parentKey(k);
    }
    assert(false, () => `${key} is not under ${apex}`);
  }

  /** (Re)builds every variant and ordering of one RRset's answer. */
  private encode(owner: NameKey, entry: RRsetEntry): void {
    const apex = this.findApex(owner);
    assert(apex !== undefined && apex.variant === 0, () => `encode outside zones: ${owner}`);
    const variants = apex.kind === 'forward' ? this.variantApexes : [apex.key];
    entry.encoded = variants.map((variantApex) =>
      orderings(entry.records.length).map((order) => {
        const e = this.encodeOne(owner, entry, order, apex.storedApex, variantApex);
        this.counts.encodedBytes += e.body.length;
        return e;
      }),
    );
    const keys = this.typedKeys(entry);
    assert(keys.length === entry.encoded.length, () => `${keys.length} answer keys for ${entry.encoded.length} variants`);
    // A single ordering (one record: the common case) is stored bare, one memory access fewer.
    keys.forEach((k, i) => {
      const orderings = entry.encoded[i]!;
      this.answers.set(k, orderings.length === 1 ? orderings[0]! : orderings);
    });
  }

  private encodeOne(owner: NameKey, entry: RRsetEntry, order: readonly number[], stored: NameKey, variant: NameKey): EncodedAnswer {
    const rewrite = (k: NameKey): NameKey => (stored === variant || !isUnder(k, stored) ? k : ((k.slice(0, k.length - stored.length) + variant) as NameKey));
    const qname = rewrite(owner);
    const code = typeCodes[entry.type];
    const w = new WireWriter();
    w.bytes(new Uint8Array(12));
    w.nameUncompressed(qname);
    w.u16(code);
    w.u16(qclass.IN);
    const questionEnd = w.offset;
    for (const i of order) this.writeRecord(w, qname, entry.type, entry.records[i]!, rewrite);
    const answerEnd = w.offset - questionEnd;
    const additionalEnds: number[] = entry.type === 'SRV' ? [] : (noNumbers as number[]);
    const additionalCounts: number[] = entry.type === 'SRV' ? [] : (noNumbers as number[]);
    let count = 0;
    if (entry.type === 'SRV') {
      const targets = new Set(entry.records.map((r) => r.target!));
      for (const target of targets) {
        for (const t of ['A', 'AAAA'] as const) {
          const glue = this.nodes.get(target)?.rrsets.get(typeCodes[t]);
          if (glue === undefined) continue;
          for (const r of glue.records) this.writeRecord(w, rewrite(target), t, r, rewrite);
          count += glue.records.length;
          additionalEnds.push(w.offset - questionEnd);
          additionalCounts.push(count);
        }
      }
    }
    return { body: w.latin1Slice(questionEnd), ancount: order.length, answerEnd, additionalEnds, additionalCounts };
  }

  private writeRecord(w: WireWriter, owner: NameKey, type: RecordType, r: StoredRecord, rewrite: (k: NameKey) => NameKey): void {
    const at = w.beginRecord(owner, typeCodes[type], qclass.IN, this.config.ttlSeconds);
    w.latin1(r.fixed);
    // RFC 3597 §4: names in the rdata of types newer than RFC 1035 (SRV) must not be compressed.
    if (type === 'SRV') w.nameUncompressed(rewrite(r.target!));
    else if (type === 'PTR') w.name(r.target!);
    w.endRecord(at);
  }

  get<K extends RecordType>(name: string, type: K): readonly RecordDataByType[K][] | undefined {
    const entry = this.nodes.get(nameToKey(name))?.rrsets.get(typeCodes[type]);
    return entry?.records.map((r) => r.view as RecordDataByType[K]);
  }

  exists(name: string): boolean {
    const key = nameToKey(name);
    return this.nodes.has(key) || this.apexes.some((a) => a.key === key);
  }

  stats(): { readonly names: number; readonly rrsets: number; readonly encodedBytes: number } {
    return { ...this.counts };
  }
}

/** Creates an empty zone index (not ready, serial 0). Throws DnsError `bad-config`. */
export function createZoneIndex(config: ZoneConfig): MemoryZoneIndex {
  return new MemoryZoneIndex(config);
}
