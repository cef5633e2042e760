// The fault-injecting layer between peers: one TCP proxy in front of each voter's Raft port. Every
// voter's --peers names the other voters at their proxy address while each listens on its real
// port, so all peer traffic to a voter passes through its proxy and nothing in the product changes.
//
// A peer connection carries messages one way (raft/transport/README.md: the connector sends, the
// acceptor only answers the handshake), and its first frame is the handshake `hello {from, to}`
// in clear: the proxy reads it to learn which directed link (from → to) the connection is, so cuts
// and delays are per direction, which gives one-way partitions.
//
// A cut link behaves in one of two ways, chosen by the caller:
//   'drop' — connections on it are reset and new ones closed at once (a crashed switch, RST);
//   'hang' — bytes are held, not forwarded (a silent black hole: TCP stays up, the sender's
//            queue fills); on heal the held bytes flow again, late (a long network delay).
//
// What does not pass through a proxy: traffic to members that joined later (they advertise their
// real address) and, after a snapshot install, traffic to the snapshot sender's real address (the
// snapshot carries its view of the membership). The harness keeps snapshots rare for that reason.

import net from 'node:net';
import { unpack } from 'msgpackr';

export type CutMode = 'drop' | 'hang';

export const proxyLimits = {
  /** The handshake hello is small; a first frame above this is forwarded without being parsed. */
  helloBytesMax: 1024,
  /** Held bytes per hung connection; beyond it the connection is reset (bounded memory). */
  heldBytesMax: 16 * 1024 * 1024,
} as const;

interface Link {
  readonly from: string;
  readonly to: string;
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  held: Buffer[];
  heldBytes: number;
  /** Chunks in flight through the delay line (kept in order). */
  delayed: number;
}

const key = (from: string, to: string): string => `${from}\u0000${to}`;

/** Reads the `from` of a hello frame (4-byte length + msgpack map), or null when it is not one. */
export function helloFrom(first: Buffer): { from: string; to: string } | null | 'more' {
  if (first.length < 4) return 'more';
  const len = first.readUInt32BE(0);
  if (len > proxyLimits.helloBytesMax) return null;
  if (first.length < 4 + len) return 'more';
  try {
    const v = unpack(first.subarray(4, 4 + len)) as Record<string, unknown>;
    return v !== null && typeof v === 'object' && v['t'] === 'hello' && typeof v['from'] === 'string' && typeof v['to'] === 'string' ? { from: v['from'], to: v['to'] } : null;
  } catch {
    return null;
  }
}

/** The proxies of one cluster and the table of faults on directed links. */
export class FaultNet {
  private readonly servers = new Map<string, net.Server>();
  private readonly links = new Set<Link>();
  private readonly cuts = new Map<string, CutMode>();
  private readonly delays = new Map<string, number>();
  /** Counters for the report. */
  readonly stats = { connections: 0, dropped: 0, hungBytes: 0 };

  /**
   * Starts a proxy for node `to` whose real Raft port is `target`, listening on `port` (take it
   * from freePorts: an ephemeral port could collide with one handed out for a node not yet bound).
   */
  async addNode(to: string, target: { host: string; port: number }, port: number): Promise<number> {
    const server = net.createServer((client) => this.accept(to, target, client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.servers.set(to, server);
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy has no port');
    return a.port;
  }

  private accept(to: string, target: { host: string; port: number }, client: net.Socket): void {
    this.stats.connections++;
    client.setNoDelay(true);
    let first = Buffer.alloc(0);
    const onFirst = (chunk: Buffer): void => {
      first = Buffer.concat([first, chunk]);
      const hello = helloFrom(first);
      if (hello === 'more' && first.length <= proxyLimits.helloBytesMax + 4) return;
      client.off('data', onFirst);
      client.pause();
      const from = hello === 'more' || hello === null ? '?' : hello.from;
      this.connect(from, to, target, client, first);
    };
    client.on('data', onFirst);
    client.on('error', () => client.destroy());
  }

  private connect(from: string, to: string, target: { host: string; port: number }, client: net.Socket, first: Buffer): void {
    if (this.cuts.get(key(from, to)) === 'drop') {
      this.stats.dropped++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    upstream.setNoDelay(true);
    const link: Link = { from, to, client, upstream, held: [], heldBytes: 0, delayed: 0 };
    this.links.add(link);
    const close = (): void => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('error', close);
    client.on('error', close);
    // Answers (handshake replies) go back unfiltered: a cut of to → from is a cut of the other
    // direction's own connection, not of this one's acknowledgements, which carry no Raft message.
    upstream.on('data', (c: Buffer) => {
      if (this.cuts.has(key(from, to))) return;
      client.write(c);
    });
    this.forward(link, first);
    client.on('data', (c: Buffer) => this.forward(link, c));
    client.resume();
  }

  private forward(link: Link, chunk: Buffer): void {
    const k = key(link.from, link.to);
    const cut = this.cuts.get(k);
    if (cut === 'drop') {
      this.stats.dropped++;
      link.client.resetAndDestroy();
      return;
    }
    if (cut === 'hang' || link.held.length > 0) {
      link.held.push(chunk);
      link.heldBytes += chunk.length;
      this.stats.hungBytes += chunk.length;
      if (link.heldBytes > proxyLimits.heldBytesMax) link.client.resetAndDestroy();
      return;
    }
    const delayMs = this.delays.get(k) ?? 0;
    if (delayMs === 0 && link.delayed === 0) {
      link.upstream.write(chunk);
      return;
    }
    link.delayed++;
    setTimeout(() => {
      link.delayed--;
      if (!link.upstream.destroyed) link.upstream.write(chunk);
    }, delayMs);
  }

  /** Cuts the directed link from → to. */
  cut(from: string, to: string, mode: CutMode): void {
    this.cuts.set(key(from, to), mode);
    if (mode === 'drop') {
      for (const l of this.links) if (l.from === from && l.to === to) l.client.resetAndDestroy();
    }
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  partition(a: readonly string[], b: readonly string[], mode: CutMode): void {
    for (const x of a) {
      for (const y of b) {
        this.cut(x, y, mode);
        this.cut(y, x, mode);
      }
    }
  }

  /** Adds `ms` of latency to every byte on from → to (order is kept). */
  delay(from: string, to: string, ms: number): void {
    this.delays.set(key(from, to), ms);
  }

  /** Removes every cut and delay; held bytes flow again. */
  heal(): void {
    this.cuts.clear();
    this.delays.clear();
    for (const l of this.links) {
      const held = l.held;
      l.held = [];
      l.heldBytes = 0;
      for (const c of held) if (!l.upstream.destroyed) l.upstream.write(c);
    }
  }

  /** Links currently cut, as "from→to(mode)" text, for the event log. */
  describe(): string {
    return [...this.cuts].map(([k, m]) => `${k.replace('\u0000', '→')}(${m})`).join(' ');
  }

  async close(): Promise<void> {
    for (const l of this.links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    this.links.clear();
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
  }
}
