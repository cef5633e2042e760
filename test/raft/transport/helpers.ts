// Tools for the transport tests: transports on loopback port 0 that clean up after themselves,
// and raw sockets that speak (or break) the wire protocol on purpose.
import net from 'node:net';
import type { Test } from 'tap';
import type { Message, NodeId } from '../../../raft/core/types.js';
import { nodeId } from '../../../raft/core/types.js';
import { FrameDecoder, frameHeader } from '../../../raft/transport/frame.js';
import { HANDSHAKE_VERSION, newNonce, parseChallenge, parseHello, proof } from '../../../raft/transport/handshake.js';
import { TcpTransport } from '../../../raft/transport/tcp-transport.js';
import type { TransportLimits } from '../../../raft/transport/transport.js';
import { packr } from '../../../raft/transport/wire.js';

export const SECRET = 'correct horse battery staple 42';

export interface Node {
  readonly transport: TcpTransport;
  readonly received: Message[];
  readonly events: Array<[string, Record<string, unknown>]>;
}

export async function startNode(
  t: Test,
  id: string,
  opts: { secret?: string; limits?: Partial<TransportLimits>; port?: number } = {},
): Promise<Node> {
  const received: Message[] = [];
  const events: Array<[string, Record<string, unknown>]> = [];
  const transport = new TcpTransport({
    id: nodeId(id),
    listen: { host: '127.0.0.1', port: opts.port ?? 0 },
    secret: opts.secret ?? SECRET,
    limits: { reconnectDelayMsMin: 20, reconnectDelayMsMax: 200, ...opts.limits },
    log: (e, f) => events.push([e, f]),
  });
  transport.onMessage((m) => received.push(m));
  t.teardown(() => transport.close());
  await transport.start();
  return { transport, received, events };
}

export function link(a: Node, aId: string, b: Node, bId: string): void {
  a.transport.setPeer(nodeId(bId), b.transport.address());
  b.transport.setPeer(nodeId(aId), a.transport.address());
}

/** Polls `cond` every 10 ms until true or `ms` elapse (there is no event for "a peer received"). */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function heartbeat(from: string, to: string, context = 'ctx'): Message {
  return { type: 'heartbeat', from: nodeId(from), to: nodeId(to), term: 1 as Message['term'], commit: 0 as never, context };
}

export function frame(value: unknown): Buffer {
  const body = packr.pack(value);
  return Buffer.concat([frameHeader(body.length), body]);
}

/** Reads frames from a raw socket: a persistent 'data' listener, so no chunk is ever missed. */
class FrameReader {
  private readonly decoder = new FrameDecoder(64 * 1024);
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  async next(): Promise<unknown> {
    for (;;) {
      const body = this.decoder.next();
      if (body instanceof Buffer) return packr.unpack(body);
      if (body !== null) throw new Error('frame too large');
      if (this.ended) throw new Error('closed during handshake');
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

/** A raw connector that authenticates as `from` to `to`, then lets the test write anything. */
export async function rawAuthenticated(t: Test, port: number, from: string, to: string, secret = SECRET): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  const nonce = newNonce();
  const reader = new FrameReader(socket);
  socket.write(frame({ t: 'hello', v: HANDSHAKE_VERSION, from, to, nonce }));
  const c = parseChallenge(await reader.next());
  if (typeof c === 'string') throw new Error(c);
  socket.write(frame({ t: 'proof', proof: proof(Buffer.from(secret), 'C', nonce, c.nonce, nodeId(from), nodeId(to)) }));
  const ok = (await reader.next()) as { t?: string };
  if (ok.t !== 'ok') throw new Error('not accepted');
  return socket;
}

/**
 * A raw acceptor for peer `id` that completes the handshake with anyone and then stops reading:
 * a live but stalled peer, so the sender's queue and the kernel buffers fill up.
 */
export async function stalledPeer(t: Test, id: string): Promise<{ port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    const reader = new FrameReader(socket);
    void (async () => {
      const hello = parseHello(await reader.next());
      if (typeof hello === 'string') throw new Error(hello);
      const nonce = newNonce();
      socket.write(frame({ t: 'challenge', nonce, proof: proof(Buffer.from(SECRET), 'S', hello.nonce, nonce, hello.from, nodeId(id) as NodeId) }));
      await reader.next(); // the proof; trusted here
      socket.write(frame({ t: 'ok' }));
      socket.pause();
    })().catch(() => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as net.AddressInfo).port, sockets };
}

/** Waits until the server side closes `socket`. */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}
