// The DNS listeners: UDP and TCP on one host:port (port 0 picks a free port shared by both), each
// query through the pure `respond`, forwarded queries through the Forwarder. Nothing a client sends
// reaches past this file as an exception.
import net from 'node:net';
import { cidrMatcher, defaultAllowRecursion } from '../forward/cidr.js';
import { Forwarder } from '../forward/upstream.js';
import { limits } from '../limits.js';
import { loadUdpBatch, type UdpBatchAddon, type UdpBatchStats } from '../native/udp-batch.js';
import type { MemoryZoneIndex } from '../zone-index.js';
import { makeAnswerer, type Answerer } from './answerer.js';
import { DnsMetrics, type QueryEvent } from './metrics.js';
import { serveTcpConnection } from './tcp.js';
import { bindDgram } from './udp-dgram.js';
import { bindNative, type UdpListener } from './udp-native.js';

export interface DnsServerOptions {
  readonly zone: MemoryZoneIndex;
  /** Default 127.0.0.1; "::1" or "::" for IPv6. */
  readonly host?: string;
  /** Default 0 (a free port; read `port` after start). */
  readonly port?: number;
  /** Upstream resolvers ("127.0.0.1:53"); none = forwarding off (out-of-zone → REFUSED). */
  readonly upstreams?: readonly string[];
  /** CIDRs of clients that may recurse; default loopback. */
  readonly allowRecursion?: readonly string[];
  readonly forwardAttemptMs?: number;
  readonly forwardInFlightMax?: number;
  readonly tcpIdleMs?: number;
  readonly tcpConnectionsMax?: number;
  /** Called after every answered query (for Prometheus in src/). */
  readonly onQuery?: (event: QueryEvent) => void;
  /** Called when respond() threw (a bug in dns/; the client got SERVFAIL), for the log. */
  readonly onInternalError?: (err: unknown, query: Buffer) => void;
  /**
   * UDP I/O: 'native' (the batching addon, dns/native; fails if it is not built), 'dgram'
   * (node:dgram) or 'auto' (native when built and the host is an IP literal). Default: the
   * VNETD_DNS_UDP_IO environment variable, else 'auto'.
   */
  readonly udpIo?: UdpIo;
}

export interface DnsServer {
  readonly host: string;
  /** The bound port (UDP and TCP). */
  readonly port: number;
  readonly metrics: DnsMetrics;
  readonly forwarder: Forwarder | undefined;
  /** The UDP I/O in use, and why 'auto' fell back to node:dgram. */
  readonly udp: { readonly io: 'native' | 'dgram'; readonly fallback?: string; stats(): UdpBatchStats | undefined };
  close(): Promise<void>;
}

export type { Answerer } from './answerer.js';

/** How UDP is read and written: the batching addon, node:dgram, or the addon when it is built. */
export type UdpIo = 'native' | 'dgram' | 'auto';

/**
 * Binds UDP with the I/O asked for. 'auto' takes the addon when it is built and `host` is an IP
 * literal, else node:dgram (and says why in `fallback`).
 */
async function bindUdp(host: string, port: number, io: UdpIo, answer: Answerer, metrics: DnsMetrics): Promise<{ listener: UdpListener; fallback?: string }> {
  if (io === 'dgram') return { listener: await bindDgram(host, port, answer) };
  const addon = loadUdpBatch();
  const why = addon instanceof Error ? addon.message : net.isIP(host) === 0 ? `host ${host} is not an IP literal` : undefined;
  if (why !== undefined) {
    if (io === 'native') throw new Error(`udpIo "native": ${why}`);
    return { listener: await bindDgram(host, port, answer), fallback: why };
  }
  return { listener: bindNative(host, port, answer, metrics, addon as UdpBatchAddon) };
}

function listenTcp(host: string, port: number, server: net.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function udpIoFromEnvironment(): UdpIo {
  const v = process.env['VNETD_DNS_UDP_IO'];
  if (v === undefined || v === '') return 'auto';
  if (v === 'native' || v === 'dgram' || v === 'auto') return v;
  throw new Error(`VNETD_DNS_UDP_IO must be native, dgram or auto, got ${JSON.stringify(v)}`);
}

/** Starts UDP and TCP listeners over `zone`. Rejects if the port cannot be bound. */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const metrics = new DnsMetrics(options.onQuery);
  const upstreams = options.upstreams ?? [];
  const forwarder =
    upstreams.length === 0
      ? undefined
      : new Forwarder({ upstreams, ...(options.forwardAttemptMs !== undefined && { attemptMs: options.forwardAttemptMs }), ...(options.forwardInFlightMax !== undefined && { inFlightMax: options.forwardInFlightMax }) });
  const allowed = forwarder === undefined ? undefined : cidrMatcher(options.allowRecursion ?? defaultAllowRecursion);
  const answer = makeAnswerer(options.zone, forwarder, allowed, metrics, options.onInternalError);
  const tcpLimits = { idleMs: options.tcpIdleMs ?? limits.tcpIdleMs, connectionsMax: options.tcpConnectionsMax ?? limits.tcpConnectionsMax };
  let open = 0;
  const tcp = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (open >= tcpLimits.connectionsMax) {
      metrics.tcpConnectionsRefused++;
      socket.destroy();
      return;
    }
    open++;
    metrics.tcpConnections++;
    socket.once('close', () => open--);
    serveTcpConnection(socket, answer, tcpLimits.idleMs);
  });
  // Port 0: let UDP pick, then take the same number for TCP; retry if TCP finds it taken.
  const io = options.udpIo ?? udpIoFromEnvironment();
  for (let attempt = 0; ; attempt++) {
    const { listener: udp, fallback } = await bindUdp(host, options.port ?? 0, io, answer, metrics);
    const port = udp.port;
    try {
      await listenTcp(host, port, tcp);
    } catch (err) {
      await udp.close();
      if ((options.port ?? 0) !== 0 || attempt >= 20) {
        forwarder?.close();
        throw err;
      }
      continue;
    }
    const sockets = new Set<net.Socket>();
    tcp.on('connection', (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    return {
      host,
      port,
      metrics,
      forwarder,
      udp: { io: udp.io, ...(fallback !== undefined && { fallback }), stats: () => udp.stats() },
      close: async () => {
        forwarder?.close();
        for (const s of sockets) s.destroy();
        await Promise.all([udp.close(), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}
