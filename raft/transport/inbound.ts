// One accepted connection: the acceptor's half of the handshake, then a stream of Raft message
// frames from the authenticated peer. Any bad frame closes this connection only, and is counted.

import type net from 'node:net';
import type { Message, NodeId } from '../core/types.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame.js';
import { newNonce, parseHello, parseProof, proof, proofMatches } from './handshake.js';
import { readAppendBody } from './append-reader.js';
import { parseMessage } from './parse-message.js';
import type { RejectReason } from './transport.js';
import { type Context, DecodeFailure, decodeBody, encodeFrame } from './wire.js';

export interface InboundHooks {
  /** Called once the peer is authenticated. */
  authenticated(conn: InboundConnection): void;
  /** Called for every valid message. */
  deliver(conn: InboundConnection, msg: Message): void;
  /** Called once when the connection is gone. */
  closed(conn: InboundConnection): void;
}

export class InboundConnection {
  /** The authenticated peer, once the handshake completed. */
  peer: NodeId | null = null;
  private step: 'hello' | 'proof' | 'messages' = 'hello';
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | null;
  private expectedProof: Buffer = Buffer.alloc(0);
  private claimed: NodeId | null = null;
  private done = false;

  constructor(
    private readonly ctx: Context,
    private readonly socket: net.Socket,
    private readonly hooks: InboundHooks,
  ) {
    this.decoder = new FrameDecoder(ctx.limits.handshakeBytesMax);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    this.timer = setTimeout(() => this.reject('handshake', 'handshake timed out'), ctx.limits.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.onClose());
  }

  close(): void {
    this.finish();
    this.socket.destroy();
  }

  private remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.decoder.push(chunk);
    for (;;) {
      const body = this.decoder.next();
      if (body === null) return;
      if ('tooLarge' in body) {
        this.reject('too_large', `frame of ${body.tooLarge} bytes`);
        return;
      }
      // An append in the encoder's own layout is read without msgpackr (append-reader.ts).
      const append = this.step === 'messages' ? readAppendBody(body) : undefined;
      if (append !== undefined) {
        if (!this.accept(append, body.length) || this.done) return;
        continue;
      }
      const value = decodeBody(body);
      if (value instanceof DecodeFailure) {
        this.reject('decode', value.message);
        return;
      }
      const ok = this.step === 'messages' ? this.onMessage(value, body.length) : this.onHandshake(value);
      if (!ok || this.done) return;
    }
  }

  private onHandshake(value: unknown): boolean {
    if (this.step === 'hello') {
      const hello = parseHello(value);
      if (typeof hello === 'string') return this.reject('handshake', hello);
      if (hello.to !== this.ctx.id) return this.reject('handshake', `hello addressed to ${hello.to}, this node is ${this.ctx.id}`);
      if (hello.from === this.ctx.id) return this.reject('handshake', 'hello from this node\'s own id');
      const nonce = newNonce();
      const mine = proof(this.ctx.secret, 'S', hello.nonce, nonce, hello.from, this.ctx.id);
      this.expectedProof = proof(this.ctx.secret, 'C', hello.nonce, nonce, hello.from, this.ctx.id);
      this.claimed = hello.from;
      this.step = 'proof';
      this.write({ t: 'challenge', nonce, proof: mine });
      return true;
    }
    const p = parseProof(value);
    if (typeof p === 'string') return this.reject('handshake', p);
    if (!proofMatches(this.expectedProof, p)) {
      this.ctx.counters.authFailures += 1;
      this.ctx.log('auth_failed', { direction: 'inbound', claimed: this.claimed, remote: this.remote(), reason: 'wrong cluster secret' });
      this.close();
      return false;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.step = 'messages';
    this.peer = this.claimed;
    this.decoder.setBodyBytesMax(this.ctx.limits.frameBytesMax);
    this.write({ t: 'ok' });
    this.ctx.counters.inboundConnects += 1;
    this.hooks.authenticated(this);
    return true;
  }

  private onMessage(value: unknown, bodyBytes: number): boolean {
    const msg = parseMessage(value);
    if ('error' in msg) return this.reject('invalid_message', msg.error);
    return this.accept(msg, bodyBytes);
  }

  /** A well-formed message: delivered when it comes from this connection's peer, to this node. */
  private accept(msg: Message, bodyBytes: number): boolean {
    if (msg.from !== this.peer) return this.reject('from_mismatch', `message from ${msg.from} on ${this.peer}'s connection`);
    if (msg.to !== this.ctx.id) return this.reject('to_mismatch', `message to ${msg.to}, this node is ${this.ctx.id}`);
    this.ctx.counters.framesReceived += 1;
    this.ctx.counters.bytesReceived += FRAME_HEADER_BYTES + bodyBytes;
    this.hooks.deliver(this, msg);
    return true;
  }

  private write(value: unknown): void {
    for (const b of encodeFrame(value)) this.socket.write(b);
  }

  private reject(reason: RejectReason, detail: string): false {
    if (this.done) return false;
    this.ctx.counters.rejectedFrames[reason] += 1;
    this.ctx.log('connection_rejected', { direction: 'inbound', peer: this.peer ?? this.claimed, remote: this.remote(), reason, detail });
    this.close();
    return false;
  }

  private onClose(): void {
    if (this.done) return;
    if (this.decoder.pendingBytes() > 0) {
      this.ctx.counters.rejectedFrames.truncated += 1;
      this.ctx.log('connection_rejected', { direction: 'inbound', peer: this.peer, remote: this.remote(), reason: 'truncated' });
    }
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.hooks.closed(this);
  }
}
