// UDP through node:dgram: one 'message' event and one send per datagram. The fallback where the
// batching addon (udp-native.ts) is not built, and the choice for host names that are not IP literals.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { limits } from '../limits.js';
import type { Answerer, ReplyChannel } from './answerer.js';
import type { UdpListener } from './udp-native.js';

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

export function bindDgram(host: string, port: number, answer: Answerer): Promise<UdpListener> {
  const replies = new ReplyLookup();
  const socket = dgram.createSocket({
    type: net.isIPv6(host) ? 'udp6' : 'udp4',
    lookup: replies.lookup as unknown as NonNullable<dgram.SocketOptions['lookup']>,
    // A burst (dnsperf opens with hundreds of queries at once; a GC pause queues a few hundred
    // more) overflowed the default 208 KiB, about 270 small datagrams, and lost queries.
    recvBufferSize: limits.udpReceiveBufferBytes,
    sendBufferSize: limits.udpSendBufferBytes,
  });
  const channel: ReplyChannel<dgram.RemoteInfo> = {
    send: (bytes, to) => {
      replies.replyTo = to.address;
      socket.send(bytes, to.port, to.address);
    },
    hold: (to) => to,
  };
  socket.on('message', (msg, rinfo) => {
    answer(msg, rinfo.address, 'udp', channel, rinfo, performance.now());
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {
        // Send errors (ICMP unreachable from a vanished client) concern one datagram only.
      });
      resolve({
        io: 'dgram',
        port: socket.address().port,
        stats: () => undefined,
        close: () => new Promise<void>((r) => socket.close(() => r())),
      });
    });
  });
}
