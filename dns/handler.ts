// The vocabulary of the responder chain (STYLE.md rule 11, after CoreDNS plugins): each feature is
// a handler that answers a query or passes it on; the order lives in one list in respond.ts.
import type { ParsedQuery } from './wire/query.js';
import type { MemoryZoneIndex, ZoneApex } from './zone-index.js';

/** What the server does with a packet. */
export type Outcome =
  /** Send `bytes` back. `qtype` is -1 when the question could not be read. */
  | { readonly kind: 'answer'; readonly bytes: Buffer; readonly rcode: number; readonly qtype: number }
  /** Send nothing: no header to answer (too short) or a response packet (QR set). */
  | { readonly kind: 'drop'; readonly reason: string }
  /** Resolve upstream (dns/forward/), then send; answers must fit `limitBytes`. */
  | { readonly kind: 'forward'; readonly query: ParsedQuery; readonly limitBytes: number };

/** Who asks, and how: decides limits and whether recursion is offered. */
export interface RespondOptions {
  readonly transport: 'udp' | 'tcp';
  /** The client's address (IPv4 or IPv6 text, as node:dgram/net report it). */
  readonly client: string;
  /** Whether recursion (forwarding) is offered to `client`; undefined = forwarding is off. */
  readonly recursionAllowed?: ((client: string) => boolean) | undefined;
}

export interface HandlerContext {
  readonly zone: MemoryZoneIndex;
  readonly options: RespondOptions;
  /** The largest answer we may send on this transport to this query. */
  readonly limitBytes: number;
  /** The zone the question falls under, or undefined when it is outside all of ours. */
  apex(): ZoneApex | undefined;
  /** Whether this client gets recursion (computed once per query, on first use). */
  recursion(): boolean;
}

export interface Handler {
  readonly name: string;
  /** An outcome, or undefined to pass the query to the next handler. */
  handle(query: Uint8Array, q: ParsedQuery, ctx: HandlerContext): Outcome | undefined;
}
