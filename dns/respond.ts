// The pure responder: bytes in, an outcome out (answer bytes, drop, or "forward this"). No I/O,
// no timers; the servers in dns/server/ do the sockets, dns/forward/ the upstream queries.
//
// Protocol gates run first (they hold for every zone), then the handlers in the order below.
import { answers } from './answers/handler.js';
import { assertNever } from './assert.js';
import { forward } from './forward/handler.js';
import type { Handler, HandlerContext, Outcome, RespondOptions } from './handler.js';
import { limits } from './limits.js';
import { reverse } from './reverse/handler.js';
import { qclass, rcode } from './wire/constants.js';
import { parseQuery, udpLimitBytes, type ParsedQuery } from './wire/query.js';
import { emptyReply, headerOnly, raBit } from './wire/response.js';
import type { MemoryZoneIndex, ZoneApex } from './zone-index.js';
import { zoneAnswers } from './zone-answers/handler.js';

/** The chain, in order. A query no handler answers is REFUSED (outside our zones, no recursion). */
export const handlers: readonly Handler[] = [answers, zoneAnswers, reverse, forward];

function reply(query: Uint8Array, q: ParsedQuery, code: number, ra: boolean): Outcome {
  return { kind: 'answer', bytes: emptyReply(query, q, code, raBit(ra)), rcode: code, qtype: q.qtype };
}

/**
 * The per-query context, one instance reused for every query: respond() runs to completion
 * synchronously and no handler keeps `ctx` (a forward outcome carries only the parsed query), so
 * nothing is allocated for it on the hot path.
 */
class QueryContext implements HandlerContext {
  zone!: MemoryZoneIndex;
  options!: RespondOptions;
  limitBytes = 0;
  private key = '';
  private apexFound: ZoneApex | undefined | null = null;
  private verdict: boolean | undefined = undefined;

  reset(zone: MemoryZoneIndex, options: RespondOptions, limitBytes: number, key: string): this {
    this.zone = zone;
    this.options = options;
    this.limitBytes = limitBytes;
    this.key = key;
    this.apexFound = null;
    this.verdict = undefined;
    return this;
  }

  apex(): ZoneApex | undefined {
    if (this.apexFound === null) this.apexFound = this.zone.findApex(this.key);
    return this.apexFound;
  }

  recursion(): boolean {
    if (this.verdict === undefined) {
      const allowed = this.options.recursionAllowed;
      this.verdict = allowed !== undefined && allowed(this.options.client);
    }
    return this.verdict;
  }
}

const shared = new QueryContext();

/** Answers one query packet. Never throws on any input (a throw here is a bug in dns/). */
export function respond(query: Uint8Array, zone: MemoryZoneIndex, options: RespondOptions): Outcome {
  const q = parseQuery(query);
  switch (q.kind) {
    case 'drop':
      return { kind: 'drop', reason: q.reason };
    case 'error':
      return { kind: 'answer', bytes: headerOnly(q.id, q.flags, q.rcode), rcode: q.rcode, qtype: -1 };
    case 'query':
      break;
    default:
      return assertNever(q);
  }
  const limitBytes = options.transport === 'tcp' ? limits.tcpMessageBytesMax : udpLimitBytes(q);
  const ctx = shared.reset(zone, options, limitBytes, q.key);
  // RFC 6891 §6.1.3: a version we do not implement gets BADVERS with our OPT at version 0.
  if (q.edns && q.ednsVersion > 0) return reply(query, q, rcode.BADVERS, ctx.recursion());
  // Only class IN is served; CHAOS and the rest (version.bind, ...) are refused rather than guessed.
  if (q.qclass !== qclass.IN) return reply(query, q, rcode.REFUSED, ctx.recursion());
  for (const handler of handlers) {
    const outcome = handler.handle(query, q, ctx);
    if (outcome !== undefined) return outcome;
  }
  return reply(query, q, rcode.REFUSED, false);
}
