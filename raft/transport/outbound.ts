// One peer's outbound side: a bounded queue of encoded frames, one TCP connection that is
// authenticated before any message leaves, write coalescing, and reconnection with capped
// exponential backoff and jitter (so a restarted cluster does not reconnect in lockstep).

import net from 'node:net';
import type { NodeId } from '../core/types.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame.js';
import { HANDSHAKE_VERSION, isOk, newNonce, parseChallenge, proof, proofMatches } from './handshake.js';
import type { PeerAddress, RejectReason } from './transport.js';
import { type Context, decodeBody, DecodeFailure, encodeFrame } from './wire.js';

type State = 'idle' | 'handshaking' | 'ready' | 'backoff' | 'closed';

export class OutboundPeer {
  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private decoder: FrameDecoder | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private nonce: Buffer = Buffer.alloc(0);
  private handshakeStep: 'challenge' | 'ok' | 'done' = 'challenge';
  /** Encoded frames waiting for the socket (headers and bodies, in order). */
  private queue: Buffer[] = [];
  private queueFrames = 0;
  private queuedBytes = 0;
  private flushScheduled = false;

  constructor(
    private readonly ctx: Context,
    readonly id: NodeId,
    private address: PeerAddress,
  ) {}

  isReady(): boolean {
    return this.state === 'ready';
  }

  /** Bytes held for this peer: our queue plus what the socket has not handed to the kernel. */
  heldBytes(): number {
    return this.queuedBytes + (this.socket?.writableLength ?? 0);
  }

  /** Queues one encoded frame; false when it would exceed the per-peer bound (the caller counts). */
  enqueue(frame: Buffer[], bytes: number): boolean {
    if (this.heldBytes() + bytes > this.ctx.limits.peerQueueBytesMax) return false;
    for (const b of frame) this.queue.push(b);
    this.queueFrames += 1;
    this.queuedBytes += bytes;
    if (this.state === 'idle') this.connect();
    else if (this.state === 'ready') this.scheduleFlush();
    return true;
  }

  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    this.failures = 0;
    this.disconnect();
    this.connect();
  }

  /** Starts connecting if idle (used when the transport starts or the peer is added). */
  ensureConnecting(): void {
    if (this.state === 'idle') this.connect();
  }

  close(): void {
    this.state = 'closed';
    this.disconnect();
    this.queue = [];
    this.queuedBytes = 0;
    this.queueFrames = 0;
  }

  // ---- connection ---------------------------------------------------------------------------

  private connect(): void {
    this.state = 'handshaking';
    this.handshakeStep = 'challenge';
    this.nonce = newNonce();
    this.decoder = new FrameDecoder(this.ctx.limits.handshakeBytesMax);
    const socket = net.connect({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    this.timer = setTimeout(() => this.fail('handshake', 'handshake timed out'), this.ctx.limits.handshakeTimeoutMs);
    socket.on('connect', () => {
      const hello = { t: 'hello', v: HANDSHAKE_VERSION, from: this.ctx.id, to: this.id, nonce: this.nonce };
      for (const b of encodeFrame(hello)) socket.write(b);
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('drain', () => this.flush());
    socket.on('error', () => undefined); // 'close' follows; the reason is not actionable here
    socket.on('close', () => this.onClose(socket));
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.socket || this.decoder === null) return;
    this.decoder.push(chunk);
    for (;;) {
      const body = this.decoder.next();
      if (body === null) return;
      if ('tooLarge' in body) {
        this.fail('too_large', `handshake frame of ${body.tooLarge} bytes`);
        return;
      }
      const value = decodeBody(body);
      if (value instanceof DecodeFailure) {
        this.fail('decode', value.message);
        return;
      }
      if (!this.onHandshakeFrame(socket, value)) return;
    }
  }

  /** Returns false when the connection was closed. */
  private onHandshakeFrame(socket: net.Socket, value: unknown): boolean {
    if (this.handshakeStep === 'challenge') {
      const c = parseChallenge(value);
      if (typeof c === 'string') return this.fail('handshake', c);
      const expected = proof(this.ctx.secret, 'S', this.nonce, c.nonce, this.ctx.id, this.id);
      const mine = proof(this.ctx.secret, 'C', this.nonce, c.nonce, this.ctx.id, this.id);
      for (const b of encodeFrame({ t: 'proof', proof: mine })) socket.write(b);
      if (!proofMatches(expected, c.proof)) {
        // Our proof still goes out (above), then we hang up: the acceptor then sees the mismatch
        // too and logs it, so the intrusion is visible on both ends. The proof is useless to a
        // fake acceptor: it binds the real acceptor's fresh nonce on any later connection.
        this.ctx.counters.authFailures += 1;
        this.ctx.log('auth_failed', { direction: 'outbound', peer: this.id, address: this.address, reason: 'wrong cluster secret' });
        this.socket = null;
        socket.end();
        setTimeout(() => socket.destroy(), this.ctx.limits.handshakeTimeoutMs).unref();
        this.disconnect();
        this.scheduleReconnect();
        return false;
      }
      this.handshakeStep = 'ok';
      return true;
    }
    if (this.handshakeStep === 'ok' && isOk(value)) {
      this.becomeReady();
      return true;
    }
    // The acceptor sends nothing after `ok`: anything else is a protocol violation.
    return this.fail('handshake', 'unexpected frame from the acceptor');
  }

  private becomeReady(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.handshakeStep = 'done';
    this.state = 'ready';
    this.failures = 0;
    this.ctx.counters.outboundConnects += 1;
    this.ctx.log('connected', { peer: this.id, address: this.address });
    this.flush();
  }

  private fail(reason: RejectReason, detail: string): false {
    this.ctx.counters.rejectedFrames[reason] += 1;
    this.ctx.log('connection_rejected', { direction: 'outbound', peer: this.id, reason, detail });
    this.disconnect();
    this.scheduleReconnect();
    return false;
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    if (this.decoder !== null && this.decoder.pendingBytes() > 0) this.ctx.counters.rejectedFrames.truncated += 1;
    this.disconnect();
    this.scheduleReconnect();
  }

  private disconnect(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.decoder = null;
    if (socket !== null) socket.destroy();
    if (this.state === 'ready' || this.state === 'handshaking') this.state = 'idle';
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed' || this.state === 'backoff') return;
    const { reconnectDelayMsMin: min, reconnectDelayMsMax: max } = this.ctx.limits;
    const base = Math.min(max, min * 2 ** Math.min(this.failures, 30));
    const delay = Math.min(max, base * (0.5 + Math.random()));
    this.failures += 1;
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      this.state = 'idle';
      this.connect();
    }, delay);
  }

  // ---- writing ------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Every send() in the same turn of the event loop (one Ready's messages) goes out in one write.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'ready' || socket === null || this.queue.length === 0) return;
    if (socket.writableNeedDrain) return; // 'drain' calls us again
    const buffers = this.queue;
    this.queue = [];
    socket.cork();
    for (const b of buffers) socket.write(b);
    socket.uncork();
    this.ctx.counters.framesSent += this.queueFrames;
    this.ctx.counters.bytesSent += this.queuedBytes;
    this.queueFrames = 0;
    this.queuedBytes = 0;
  }
}

export const frameBytes = (bodyBytes: number): number => FRAME_HEADER_BYTES + bodyBytes;
