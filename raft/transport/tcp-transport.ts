// Transport over TCP (see README.md for the frame format and the handshake). Outbound: one
// OutboundPeer per peer. Inbound: accepted connections, each authenticated before it may deliver.

import net from 'node:net';
import { assert } from '../core/assert.js';
import type { Message, NodeId } from '../core/types.js';
import { InboundConnection, type InboundHooks } from './inbound.js';
import { OutboundPeer, frameBytes } from './outbound.js';
import {
  type DropReason,
  type PeerAddress,
  type TcpTransportOptions,
  type Transport,
  type TransportLimits,
  type TransportStats,
  TransportError,
  defaultTransportLimits,
} from './transport.js';
import { type Context, encodeFrame, newCounters } from './wire.js';

const SECRET_BYTES_MIN = 16;

const defaultLog = (event: string, fields: Record<string, unknown>): void => {
  console.warn(`raft/transport: ${event}`, fields);
};

function checkLimits(l: TransportLimits): void {
  const positive = Object.entries(l).filter(([, v]) => !(Number.isSafeInteger(v) && v > 0));
  if (positive.length > 0) throw new TransportError('invalid_config', `transport limits must be positive integers: ${positive.map(([k]) => k).join(', ')}`);
  if (l.frameBytesMax > 0xffff_ffff) throw new TransportError('invalid_config', 'frameBytesMax must fit the 4-byte length prefix');
  if (l.peerQueueBytesMax < l.frameBytesMax + 4) {
    throw new TransportError('invalid_config', `peerQueueBytesMax (${l.peerQueueBytesMax}) must hold at least one frame of frameBytesMax (${l.frameBytesMax})`);
  }
  if (l.reconnectDelayMsMin > l.reconnectDelayMsMax) throw new TransportError('invalid_config', 'reconnectDelayMsMin > reconnectDelayMsMax');
}

function addressProblem(a: PeerAddress): string | null {
  if (typeof a.host !== 'string' || a.host.length === 0 || a.host.length > 255) return 'host must be 1..255 characters';
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) return `port ${String(a.port)} is not in 1..65535`;
  return null;
}

export class TcpTransport implements Transport {
  private readonly ctx: Context;
  private readonly server: net.Server;
  private readonly peers = new Map<NodeId, OutboundPeer>();
  private readonly inbound = new Set<InboundConnection>();
  /** Authenticated inbound connections per peer, and when each peer last delivered a message. */
  private readonly inboundByPeer = new Map<NodeId, number>();
  private readonly lastHeardMs = new Map<NodeId, number>();
  private handler: (msg: Message) => void = () => undefined;
  private state: 'new' | 'started' | 'closed' = 'new';
  private readonly hooks: InboundHooks;

  constructor(private readonly options: TcpTransportOptions) {
    const limits = { ...defaultTransportLimits, ...options.limits };
    checkLimits(limits);
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
    if (secret.length < SECRET_BYTES_MIN) throw new TransportError('invalid_config', `the cluster secret must be at least ${SECRET_BYTES_MIN} bytes`);
    this.ctx = { id: options.id, secret, limits, counters: newCounters(), log: options.log ?? defaultLog };
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (e) => this.ctx.log('listener_error', { error: e.message }));
    this.hooks = {
      authenticated: (conn) => this.inboundByPeer.set(conn.peer!, (this.inboundByPeer.get(conn.peer!) ?? 0) + 1),
      deliver: (conn, msg) => {
        this.lastHeardMs.set(conn.peer!, Date.now());
        this.handler(msg);
      },
      closed: (conn) => {
        this.inbound.delete(conn);
        if (conn.peer === null) return;
        const n = (this.inboundByPeer.get(conn.peer) ?? 1) - 1;
        if (n > 0) this.inboundByPeer.set(conn.peer, n);
        else this.inboundByPeer.delete(conn.peer);
      },
    };
  }

  async start(): Promise<void> {
    assert(this.state === 'new', `start() in state ${this.state}`);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(new TransportError('listen_failed', `cannot listen on ${this.options.listen.host}:${this.options.listen.port}: ${e.message}`));
      this.server.once('error', onError);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.state = 'started';
    for (const peer of this.peers.values()) peer.ensureConnecting();
  }

  address(): PeerAddress {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new TransportError('closed', 'the transport is not listening');
    return { host: a.address, port: a.port };
  }

  send(msg: Message): void {
    if (this.state === 'closed') return this.drop('closed');
    const peer = this.peers.get(msg.to);
    if (peer === undefined) return this.drop('unknown_peer');
    const frame = encodeFrame(msg);
    const bodyBytes = frame[1]!.length;
    if (bodyBytes > this.ctx.limits.frameBytesMax) return this.drop('too_large');
    if (!peer.enqueue(frame, frameBytes(bodyBytes))) this.drop('queue_full');
  }

  setPeer(id: NodeId, address: PeerAddress): void {
    assert(id !== this.ctx.id, `setPeer() with this node's own id ${id}`);
    if (this.state === 'closed') return;
    const problem = addressProblem(address);
    if (problem !== null) {
      // Addresses come from member contexts in the log; a bad one must not crash a timer later.
      this.ctx.log('invalid_peer_address', { peer: id, address, problem });
      return;
    }
    const existing = this.peers.get(id);
    if (existing !== undefined) return existing.setAddress(address);
    const peer = new OutboundPeer(this.ctx, id, address);
    this.peers.set(id, peer);
    if (this.state === 'started') peer.ensureConnecting();
  }

  removePeer(id: NodeId): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  onMessage(handler: (msg: Message) => void): void {
    this.handler = handler;
  }

  isReachable(id: NodeId): boolean {
    if (this.peers.get(id)?.isReady() === true) return true;
    if ((this.inboundByPeer.get(id) ?? 0) === 0) return false;
    return Date.now() - (this.lastHeardMs.get(id) ?? 0) <= this.ctx.limits.reachableWindowMs;
  }

  stats(): TransportStats {
    const c = this.ctx.counters;
    const queuedBytes: Record<string, number> = {};
    for (const [id, peer] of this.peers) queuedBytes[id] = peer.heldBytes();
    return { ...c, droppedBy: { ...c.droppedBy }, rejectedFrames: { ...c.rejectedFrames }, queuedBytes };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasListening = this.state === 'started';
    this.state = 'closed';
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const conn of [...this.inbound]) conn.close();
    if (wasListening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.state !== 'started' || this.inbound.size >= this.ctx.limits.inboundConnectionsMax) {
      this.ctx.log('connection_refused', { remote: socket.remoteAddress, reason: 'inbound connection limit or closed' });
      socket.destroy();
      return;
    }
    this.inbound.add(new InboundConnection(this.ctx, socket, this.hooks));
  }

  private drop(reason: DropReason): void {
    this.ctx.counters.dropped += 1;
    this.ctx.counters.droppedBy[reason] += 1;
  }
}
