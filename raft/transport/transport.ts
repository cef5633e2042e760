// Carries RaftCore's Messages between nodes. Raft tolerates loss, duplication and reordering of
// messages (it retransmits), so the transport is deliberately best-effort: `send` never blocks and
// never throws, and drops (and counts) what it cannot queue. What it must never do is deliver a
// message from someone who is not a cluster member, or let a peer crash or bloat the process.

import type { Message, NodeId } from '../core/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Why a received frame (or connection) was refused; each closes that connection. */
export type RejectReason =
  | 'too_large' // length prefix above frameBytesMax (or handshakeBytesMax before authentication)
  | 'decode' // the body is not valid msgpack
  | 'invalid_message' // valid msgpack, but parseMessage refused it
  | 'from_mismatch' // message.from is not the authenticated peer
  | 'to_mismatch' // message.to is not this node
  | 'handshake' // a malformed or unexpected handshake frame, or the handshake timed out
  | 'truncated'; // the connection ended in the middle of a frame

export const rejectReasons: readonly RejectReason[] = [
  'too_large',
  'decode',
  'invalid_message',
  'from_mismatch',
  'to_mismatch',
  'handshake',
  'truncated',
];

/** Why `send` dropped a message. */
export type DropReason =
  | 'queue_full' // the peer's queued bytes would exceed peerQueueBytesMax
  | 'unknown_peer' // no setPeer() for msg.to
  | 'closed' // the transport is closed
  | 'too_large'; // the encoded message is above frameBytesMax (the core's limits prevent this)

export const dropReasons: readonly DropReason[] = ['queue_full', 'unknown_peer', 'closed', 'too_large'];

export interface TransportStats {
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** Messages dropped by send(), in total and by reason. */
  readonly dropped: number;
  readonly droppedBy: Readonly<Record<DropReason, number>>;
  /** Connections closed because of a bad frame, by reason. */
  readonly rejectedFrames: Readonly<Record<RejectReason, number>>;
  /** Handshakes that failed the HMAC check (wrong secret), either direction. */
  readonly authFailures: number;
  /** Outbound connections authenticated, and inbound ones accepted and authenticated. */
  readonly outboundConnects: number;
  readonly inboundConnects: number;
  /** Bytes currently queued for each peer (not yet accepted by the kernel). */
  readonly queuedBytes: Readonly<Record<string, number>>;
}

export interface Transport {
  /** Starts listening. Resolves once bound; `address()` is then valid. */
  start(): Promise<void>;
  /** The bound listen address (useful with port 0). Throws before start(). */
  address(): PeerAddress;
  /**
   * Queues `msg` for `msg.to`. Never blocks, never throws; drops and counts when the peer is
   * unknown or its queue is over peerQueueBytesMax. Messages to one peer leave in send() order.
   */
  send(msg: Message): void;
  /**
   * Adds a peer or changes its address (an address change reconnects). Never for this node's id.
   * An invalid address (empty host, port outside 1..65535) is logged as invalid_peer_address and
   * ignored: the peer stays as it was.
   */
  setPeer(id: NodeId, address: PeerAddress): void;
  /** Forgets a peer: closes its outbound connection and drops its queue. */
  removePeer(id: NodeId): void;
  /**
   * The handler for every received, validated message (from = the authenticated peer, to = this
   * node). Called synchronously from socket callbacks; it must not throw. One handler; a second
   * call replaces the first.
   */
  onMessage(handler: (msg: Message) => void): void;
  /**
   * True when the outbound connection to `id` is open and authenticated, or an authenticated
   * inbound connection from `id` delivered a frame within reachableWindowMs.
   */
  isReachable(id: NodeId): boolean;
  stats(): TransportStats;
  /** Closes the listener and every connection; queued messages are dropped. Idempotent. */
  close(): Promise<void>;
}

export interface TransportLimits {
  /** Largest frame body accepted or sent after authentication (an append or a snapshot chunk). */
  readonly frameBytesMax: number;
  /** Largest handshake frame body (before the peer is authenticated). */
  readonly handshakeBytesMax: number;
  /** Bytes queued for one peer (ours + the socket's) beyond which send() drops. */
  readonly peerQueueBytesMax: number;
  /** Time allowed for the whole handshake on a new connection. */
  readonly handshakeTimeoutMs: number;
  /** Reconnect delay: starts at min, doubles per failure up to max, with +-50% jitter. */
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  /** Inbound connections open at once (peers plus anything else that connects). */
  readonly inboundConnectionsMax: number;
  /** See Transport.isReachable. */
  readonly reachableWindowMs: number;
}

export const defaultTransportLimits: TransportLimits = {
  frameBytesMax: 16 * 1024 * 1024,
  handshakeBytesMax: 1024,
  peerQueueBytesMax: 64 * 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  reconnectDelayMsMin: 50,
  reconnectDelayMsMax: 2_000,
  inboundConnectionsMax: 256,
  reachableWindowMs: 5_000,
};

export interface TcpTransportOptions {
  /** This node's id; the HMAC binds it, and received messages must be addressed to it. */
  readonly id: NodeId;
  /** Where to listen; port 0 for an ephemeral port (see address()). */
  readonly listen: PeerAddress;
  /** The shared cluster secret (at least 16 bytes; a string is taken as UTF-8). */
  readonly secret: Uint8Array | string;
  readonly limits?: Partial<TransportLimits>;
  /** Structured log sink (auth failures, rejected frames, connects); default console.warn. */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}
// Construct with `new TcpTransport(options)` (raft/transport/tcp-transport.ts, exported from
// ./index.js); validate network input with `parseMessage` (./parse-message.ts).

export type TransportErrorCode = 'invalid_config' | 'listen_failed' | 'closed';

/** The one error type of this layer (configuration and lifecycle; send() never throws). */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
