// The DNS listeners: UDP and TCP on one host:port (port 0 picks a free port shared by both), each
// query through the pure `respond`, forwarded queries through the Forwarder. Nothing a client sends
// reaches past this file as an exception.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { assertNever } from '../assert.js';
import { cidrMatcher, defaultAllowRecursion } from '../forward/cidr.js';
import { Forwarder } from '../forward/upstream.js';
import type { Outcome } from '../handler.js';
import { limits } from '../limits.js';
import { respond } from '../respond.js';
import { rcode } from '../wire/constants.js';
import { headerOnly } from '../wire/response.js';
import type { MemoryZoneIndex } from '../zone-index.js';
import { DnsMetrics, type QueryEvent, type Transport } from './metrics.js';
import { serveTcpConnection } from './tcp.js';

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
}

export interface DnsServer {
  readonly host: string;
  /** The bound port (UDP and TCP). */
  readonly port: number;
  readonly metrics: DnsMetrics;
  readonly forwarder: Forwarder | undefined;
  close(): Promise<void>;
}

/**
 * Runs one query to completion, counting it: calls `send(bytes, to)` once, now or later
 * (forwarding), and returns true, or returns false when the packet gets no answer. Never throws.
 * `send` and `to` are passed separately so that the UDP path allocates no closure per packet.
 */
export type Answerer = <C>(query: Buffer, client: string, transport: Transport, send: (bytes: Buffer, to: C) => void, to: C) => boolean;

interface MutableOptions {
  transport: Transport;
  client: string;
  recursionAllowed: ((client: string) => boolean) | undefined;
}

function makeAnswerer(
  zone: MemoryZoneIndex,
  forwarder: Forwarder | undefined,
  allowed: ((c: string) => boolean) | undefined,
  metrics: DnsMetrics,
  onInternalError: ((err: unknown, query: Buffer) => void) | undefined,
): Answerer {
  // One options object, rewritten per query: respond() keeps no reference to it once it returns.
  const options: MutableOptions = { transport: 'udp', client: '', recursionAllowed: allowed };
  return (query, client, transport, send, to) => {
    const started = performance.now();
    options.transport = transport;
    options.client = client;
    let outcome: Outcome;
    try {
      outcome = respond(query, zone, options);
    } catch (err) {
      // A bug in dns/, not the client's fault: answer SERVFAIL, count it, report it, keep serving.
      metrics.internalErrors++;
      onInternalError?.(err, query);
      if (query.length < 12) return false;
      send(headerOnly(query.readUInt16BE(0), query.readUInt16BE(2), rcode.SERVFAIL), to);
      return true;
    }
    switch (outcome.kind) {
      case 'answer':
        send(outcome.bytes, to);
        metrics.record(transport, outcome.qtype, outcome.rcode, (performance.now() - started) / 1000, false);
        return true;
      case 'drop':
        metrics.dropped++;
        return false;
      case 'forward': {
        if (forwarder === undefined) throw new Error('unreachable: forward outcome without a forwarder');
        const q = outcome.query;
        void forwarder.resolve(query, q, outcome.limitBytes).then((r) => {
          send(r.bytes, to);
          metrics.record(transport, q.qtype, r.rcode, (performance.now() - started) / 1000, true);
        });
        return true;
      }
      default:
        return assertNever(outcome);
    }
  };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram passes every send's address through `lookup` (dns.lookup by default), which tests an IP
 * literal with a regex and then defers the send with process.nextTick: per answered packet a
 * regex, a closure and a drain of the tick queue after the 'message' callback. A reply goes to
 * rinfo.address, always a literal from the kernel, so the socket's lookup passes the address it was
 * just given by `send` straight back, synchronously (dgram then sends at once, and with no callback
 * it uses uv_udp_try_send: no request object outlives the call). Anything else (the bind address,
 * which may be a name) goes through dns.lookup as before.
 */
class ReplyLookup {
  /** The address `send` is about to pass to socket.send (compared by identity first, then value). */
  replyTo = '';

  readonly lookup = (address: string, options: dns.LookupOneOptions | number, callback: LookupCallback): void => {
    if (address === this.replyTo) {
      callback(null, address, typeof options === 'number' ? options : (options.family as number | undefined) ?? 0);
      return;
    }
    dns.lookup(address, options as dns.LookupOneOptions, callback);
  };
}

function bindUdp(host: string, port: number, answer: Answerer): Promise<dgram.Socket> {
  const replies = new ReplyLookup();
  const socket = dgram.createSocket({
    type: net.isIPv6(host) ? 'udp6' : 'udp4',
    lookup: replies.lookup as unknown as NonNullable<dgram.SocketOptions['lookup']>,
    // A burst (dnsperf opens with hundreds of queries at once; a GC pause queues a few hundred
    // more) overflowed the default 208 KiB, about 270 small datagrams, and lost queries.
    recvBufferSize: limits.udpReceiveBufferBytes,
    sendBufferSize: limits.udpSendBufferBytes,
  });
  const send = (bytes: Buffer, to: dgram.RemoteInfo): void => {
    replies.replyTo = to.address;
    socket.send(bytes, to.port, to.address);
  };
  socket.on('message', (msg, rinfo) => {
    answer(msg, rinfo.address, 'udp', send, rinfo);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {
        // Send errors (ICMP unreachable from a vanished client) concern one datagram only.
      });
      resolve(socket);
    });
  });
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
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUdp(host, options.port ?? 0, answer);
    const port = udp.address().port;
    try {
      await listenTcp(host, port, tcp);
    } catch (err) {
      udp.close();
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
      close: async () => {
        forwarder?.close();
        for (const s of sockets) s.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}
