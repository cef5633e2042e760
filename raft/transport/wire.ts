// The msgpack codec for frames and the state shared by a transport's connections.

import { Packr } from 'msgpackr';
import type { NodeId } from '../core/types.js';
import { encodeAppendFrame } from './append-codec.js';
import { frameHeader } from './frame.js';
import type { DropReason, RejectReason, TransportLimits } from './transport.js';

// Plain maps and arrays (no record extension): a record's structure table would be per-connection
// state that both ends must keep in step, for a gain that does not matter next to fsync. Binary
// fields (entry data, snapshot chunks) travel as msgpack bin and decode as Buffer (a Uint8Array).
export const packr = new Packr({ useRecords: false });

export class DecodeFailure {
  constructor(readonly message: string) {}
}

export function decodeBody(body: Uint8Array): unknown {
  try {
    return packr.unpack(body);
  } catch (e) {
    // Includes RangeError from deeply nested input: msgpackr recurses per nesting level.
    return new DecodeFailure(e instanceof Error ? e.message : String(e));
  }
}

export interface Counters {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
  rejectedFrames: Record<RejectReason, number>;
  authFailures: number;
  outboundConnects: number;
  inboundConnects: number;
}

export function newCounters(): Counters {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    dropped: 0,
    droppedBy: { queue_full: 0, unknown_peer: 0, closed: 0, too_large: 0 },
    rejectedFrames: { too_large: 0, decode: 0, invalid_message: 0, from_mismatch: 0, to_mismatch: 0, handshake: 0, truncated: 0 },
    authFailures: 0,
    outboundConnects: 0,
    inboundConnects: 0,
  };
}

/** What every connection of one transport needs. */
export interface Context {
  readonly id: NodeId;
  readonly secret: Uint8Array;
  readonly limits: TransportLimits;
  readonly counters: Counters;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
}

/** Encodes a handshake or message value as one frame (header + body). */
export function encodeFrame(value: unknown): Buffer[] {
  const append = encodeAppendFrame(value);
  if (append !== null) return append;
  const body = packr.pack(value);
  return [frameHeader(body.length), body];
}
