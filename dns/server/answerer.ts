// One query to completion, for every transport: respond(), then send the answer now, or later for
// a forwarded query, and count it. Nothing a client sends escapes this function as an exception.
import { assertNever } from '../assert.js';
import type { Forwarder } from '../forward/upstream.js';
import type { Outcome, RespondOptions } from '../handler.js';
import { respond } from '../respond.js';
import { rcode } from '../wire/constants.js';
import { headerOnly } from '../wire/response.js';
import type { MemoryZoneIndex } from '../zone-index.js';
import type { DnsMetrics, Transport } from './metrics.js';

/** How a transport sends an answer back to the client a query came from. */
export interface ReplyChannel<C> {
  /** Sends `bytes` to `to`. Called once per answered query: during `answer()`, or later. */
  send(bytes: Buffer, to: C): void;
  /** A `to` that stays valid after `answer()` returns (forwarded queries answer later). */
  hold(to: C): C;
}

/** The client's address as text, or a function that makes it (only called when recursion is asked about). */
export type ClientAddress = string | (() => string);

/**
 * Runs one query: calls `channel.send(bytes, to)` once, now or later (forwarding), and returns
 * true, or returns false when the packet gets no answer. Never throws. `started` is the
 * performance.now() the answer latency counts from.
 */
export type Answerer = <C>(query: Buffer, client: ClientAddress, transport: Transport, channel: ReplyChannel<C>, to: C, started: number) => boolean;

/** respond()'s options, one object rewritten per query: respond() keeps no reference once it returns. */
class QueryOptions implements RespondOptions {
  transport: Transport = 'udp';
  private text = '';
  private make: (() => string) | undefined = undefined;

  constructor(readonly recursionAllowed: ((client: string) => boolean) | undefined) {}

  reset(transport: Transport, client: ClientAddress): this {
    this.transport = transport;
    if (typeof client === 'string') {
      this.text = client;
      this.make = undefined;
    } else {
      this.make = client;
    }
    return this;
  }

  get client(): string {
    if (this.make !== undefined) {
      this.text = this.make();
      this.make = undefined;
    }
    return this.text;
  }
}

export function makeAnswerer(
  zone: MemoryZoneIndex,
  forwarder: Forwarder | undefined,
  allowed: ((c: string) => boolean) | undefined,
  metrics: DnsMetrics,
  onInternalError: ((err: unknown, query: Buffer) => void) | undefined,
): Answerer {
  const options = new QueryOptions(allowed);
  return (query, client, transport, channel, to, started) => {
    let outcome: Outcome;
    try {
      outcome = respond(query, zone, options.reset(transport, client));
    } catch (err) {
      // A bug in dns/, not the client's fault: answer SERVFAIL, count it, report it, keep serving.
      metrics.internalErrors++;
      onInternalError?.(err, query);
      if (query.length < 12) return false;
      channel.send(headerOnly(query.readUInt16BE(0), query.readUInt16BE(2), rcode.SERVFAIL), to);
      return true;
    }
    switch (outcome.kind) {
      case 'answer':
        channel.send(outcome.bytes, to);
        metrics.record(transport, outcome.qtype, outcome.rcode, (performance.now() - started) / 1000, false);
        return true;
      case 'drop':
        metrics.dropped++;
        return false;
      case 'forward': {
        if (forwarder === undefined) throw new Error('unreachable: forward outcome without a forwarder');
        const q = outcome.query;
        const held = channel.hold(to);
        // The query may be a view of a buffer the transport reuses for the next packets, and the
        // forwarder reads it again when the upstream answers: it gets a copy of its own.
        void forwarder.resolve(Buffer.from(query), q, outcome.limitBytes).then((r) => {
          channel.send(r.bytes, held);
          metrics.record(transport, q.qtype, r.rcode, (performance.now() - started) / 1000, true);
        });
        return true;
      }
      default:
        return assertNever(outcome);
    }
  };
}
