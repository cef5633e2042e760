// Authoritative answers from the zone index, shared by the zone-answers and reverse handlers:
// positive answers are copies of encoded bytes (built once per change, on first use); negative answers, SOA, NS and ANY are
// synthesised (see synth.ts). Every answer here sets AA (RFC 1035 §4.1.1).
import type { HandlerContext, Outcome } from '../handler.js';
import { flag, qtype, rcode } from '../wire/constants.js';
import type { ParsedQuery } from '../wire/query.js';
import { baseBytes, begin, emptyReply, finish, raBit } from '../wire/response.js';
import { rrsetOf, type EncodedAnswer, type NameNode, type ZoneApex } from '../zone-index.js';

/** Which record leads the next answer of several records: round-robin shuffling (RFC 1794). */
let rotation = 0;

type Latin1Writable = Buffer & { latin1Write(s: string, offset: number, length: number): number };

/** The stored key of the asked name: aliases map onto the origin. */
export function storedKey(q: ParsedQuery, apex: ZoneApex): string {
  return apex.variant === 0 ? q.key : q.key.slice(0, q.key.length - apex.key.length) + apex.storedApex;
}

function answer(bytes: Buffer, code: number, q: ParsedQuery): Outcome {
  return { kind: 'answer', bytes, rcode: code, qtype: q.qtype };
}

/** SERVFAIL while the zone has not caught up once (DESIGN.md §4: never a wrong NXDOMAIN). */
export function notReady(query: Uint8Array, q: ParsedQuery, ctx: HandlerContext): Outcome {
  return answer(emptyReply(query, q, rcode.SERVFAIL, raBit(ctx.recursion())), rcode.SERVFAIL, q);
}

/**
 * NXDOMAIN or NODATA: no answer records, the apex SOA in the authority section with TTL
 * min(SOA TTL, SOA minimum) (RFC 2308 §3, §5).
 */
export function negative(query: Uint8Array, q: ParsedQuery, ctx: HandlerContext, apex: ZoneApex, code: number): Outcome {
  const synth = ctx.zone.synth;
  const out = begin(query, q, baseBytes(q) + synth.soaBytes);
  const apexAt = q.questionEnd - 4 - apex.key.length;
  const at = synth.soa(out, q.questionEnd, apexAt, synth.negativeTtl, ctx.zone.wireSerial);
  return answer(finish(out, q, at, code, flag.AA | raBit(ctx.recursion()), 0, 1, 0), code, q);
}

/** One record synthesised at the apex (SOA or NS) or for ANY (HINFO), as the answer. */
function synthesised(query: Uint8Array, q: ParsedQuery, ctx: HandlerContext, type: number): Outcome {
  const synth = ctx.zone.synth;
  const size = type === qtype.SOA ? synth.soaBytes : type === qtype.NS ? synth.nsBytes : synth.hinfoBytes;
  const out = begin(query, q, baseBytes(q) + size);
  const at =
    type === qtype.SOA
      ? synth.soa(out, q.questionEnd, 12, synth.soaTtl, ctx.zone.wireSerial)
      : type === qtype.NS
        ? synth.ns(out, q.questionEnd, 12)
        : synth.hinfo(out, q.questionEnd, 12);
  return answer(finish(out, q, at, rcode.NOERROR, flag.AA | raBit(ctx.recursion()), 1, 0, 0), rcode.NOERROR, q);
}

/**
 * A pre-encoded answer cut to the transport's limit: whole additional RRsets are dropped first
 * (no TC needed, RFC 2181 §9); if the answer RRset itself does not fit, an empty answer with TC
 * (RFC 1035 §4.2.1, RFC 2181 §9), never a silently partial RRset.
 */
export function positive(query: Uint8Array, q: ParsedQuery, ctx: HandlerContext, e: EncodedAnswer): Outcome {
  const base = baseBytes(q);
  const ra = raBit(ctx.recursion());
  if (base + e.answerEnd > ctx.limitBytes) {
    return answer(emptyReply(query, q, rcode.NOERROR, flag.AA | flag.TC | ra), rcode.NOERROR, q);
  }
  let end = e.answerEnd;
  let ar = 0;
  for (let j = e.additionalEnds.length - 1; j >= 0; j--) {
    if (base + e.additionalEnds[j]! <= ctx.limitBytes) {
      end = e.additionalEnds[j]!;
      ar = e.additionalCounts[j]!;
      break;
    }
  }
  const out = begin(query, q, base + end) as Latin1Writable;
  const at = q.questionEnd;
  const start = e.ancount > 1 ? rotationStart(e) : 0;
  if (start === 0) {
    out.latin1Write(e.body, at, end);
  } else {
    // The answer records from `start` on, then those before it, then the additional section.
    out.latin1Write(e.body.slice(start, e.answerEnd), at, e.answerEnd - start);
    out.latin1Write(e.body, at + e.answerEnd - start, start);
    if (end > e.answerEnd) out.latin1Write(e.body.slice(e.answerEnd, end), at + e.answerEnd, end - e.answerEnd);
  }
  return answer(finish(out, q, at + end, rcode.NOERROR, flag.AA | ra, e.ancount, 0, ar), rcode.NOERROR, q);
}

/** Body offset of the answer record that leads this time; each leads in turn. */
function rotationStart(e: EncodedAnswer): number {
  rotation = (rotation + 1) & 0x3fffffff;
  const k = rotation % e.ancount;
  return e.recordBytes > 0 ? k * e.recordBytes : e.recordStarts[k]!;
}

/** The full authoritative decision for a name under `apex`. */
export function authoritative(query: Uint8Array, q: ParsedQuery, ctx: HandlerContext, apex: ZoneApex, node: NameNode | undefined): Outcome {
  if (!ctx.zone.ready) return notReady(query, q, ctx);
  const isApex = q.key.length === apex.key.length;
  if (node === undefined && !isApex) return negative(query, q, ctx, apex, rcode.NXDOMAIN);
  // RFC 5936 §2.2.1: we do not serve zone transfers; say so rather than claim the type is absent.
  if (q.qtype === qtype.AXFR || q.qtype === qtype.IXFR) {
    return answer(emptyReply(query, q, rcode.REFUSED, raBit(ctx.recursion())), rcode.REFUSED, q);
  }
  if (q.qtype === qtype.ANY) return synthesised(query, q, ctx, qtype.HINFO);
  if (isApex && (q.qtype === qtype.SOA || q.qtype === qtype.NS)) return synthesised(query, q, ctx, q.qtype);
  const entry = node === undefined ? undefined : rrsetOf(node, q.qtype);
  if (entry === undefined) return negative(query, q, ctx, apex, rcode.NOERROR);
  return positive(query, q, ctx, ctx.zone.encodedFor(entry, apex.variant));
}
