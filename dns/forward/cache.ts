// Upstream answers cached for their TTL (RFC 1035 §7.4; negative answers for the SOA's
// min(TTL, minimum), RFC 2308 §5), bounded in entries, oldest evicted first. A hit is a copy with
// the client's ID and question bytes patched in and every TTL decreased by the time spent in the
// cache, so clients never hold a record past its original expiry.
import { limits } from '../limits.js';
import { qtype, rcode } from '../wire/constants.js';
import { headerBytes, skipName, type ParsedQuery } from '../wire/query.js';

interface Entry {
  readonly bytes: Buffer;
  readonly ttlOffsets: readonly number[];
  readonly storedAtMs: number;
  readonly expiresAtMs: number;
}

/** TTL positions of every record except OPT, and the TTL to cache for; undefined if malformed. */
export function scanTtls(msg: Buffer): { offsets: number[]; ttlSeconds: number } | undefined {
  if (msg.length < headerBytes) return undefined;
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  const ns = msg.readUInt16BE(8);
  const ar = msg.readUInt16BE(10);
  if (qd !== 1) return undefined;
  let off = skipName(msg, headerBytes);
  if (off < 0 || off + 4 > msg.length) return undefined;
  off += 4;
  const offsets: number[] = [];
  let ttl = Infinity;
  const negative = (msg[3]! & 0xf) === rcode.NXDOMAIN || an === 0;
  for (let i = 0; i < an + ns + ar; i++) {
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return undefined;
    const type = msg.readUInt16BE(off);
    const rdlength = msg.readUInt16BE(off + 8);
    if (off + 10 + rdlength > msg.length) return undefined;
    if (type !== qtype.OPT) {
      offsets.push(off + 4);
      const recordTtl = msg.readUInt32BE(off + 4);
      if (!negative && i < an) ttl = Math.min(ttl, recordTtl);
      if (negative && type === qtype.SOA && i >= an && i < an + ns && rdlength >= 20) {
        ttl = Math.min(ttl, recordTtl, msg.readUInt32BE(off + 10 + rdlength - 4));
      }
    }
    off += 10 + rdlength;
  }
  return { offsets, ttlSeconds: ttl === Infinity ? 0 : Math.min(ttl, limits.forwardCacheTtlSecondsMax) };
}

/** Cache key: name, type, and what changes the upstream's answer bytes (EDNS, DO, CD). */
export function cacheKey(q: ParsedQuery): string {
  return `${q.key}/${q.qtype}/${q.edns ? 1 : 0}${q.ednsDo ? 1 : 0}${q.flags & 0x10 ? 1 : 0}`;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number,
    private readonly entriesMax: number = limits.forwardCacheEntriesMax,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Stores a NOERROR or NXDOMAIN answer with a positive TTL; anything else is not cached. */
  put(key: string, answer: Buffer): void {
    const code = answer[3]! & 0xf;
    if (code !== rcode.NOERROR && code !== rcode.NXDOMAIN) return;
    if ((answer[2]! & 0x02) !== 0) return; // truncated: not a whole answer
    const scan = scanTtls(answer);
    if (scan === undefined || scan.ttlSeconds <= 0) return;
    const now = this.now();
    this.entries.delete(key);
    if (this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { bytes: Buffer.from(answer), ttlOffsets: scan.offsets, storedAtMs: now, expiresAtMs: now + scan.ttlSeconds * 1000 });
  }

  /** A copy of the cached answer for `q` (ID and question patched, TTLs aged), or undefined. */
  get(key: string, query: Uint8Array, q: ParsedQuery): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (now >= entry.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    const out = Buffer.from(entry.bytes);
    out.writeUInt16BE(q.id, 0);
    out[2] = (out[2]! & 0xfe) | (query[2]! & 0x01); // RD as this client asked
    out.set(query.subarray(headerBytes, q.questionEnd), headerBytes);
    const aged = Math.floor((now - entry.storedAtMs) / 1000);
    for (const at of entry.ttlOffsets) out.writeUInt32BE(Math.max(0, out.readUInt32BE(at) - aged), at);
    return out;
  }
}
