// UDP through the batching addon (dns/native/udp-batch.c): the kernel hands over up to
// `udpBatchSlots` datagrams per recvmmsg, JavaScript answers them all in one call, and the answers
// leave in one sendmmsg. Per datagram that saves node:dgram's event, Buffer, rinfo object and
// send call: most of what a Node UDP echo spends (bench `dns`).
//
// Slots: query i is read from inData at i * udpQueryBytesMax, its answer j written to outData at
// j * udpAnswerSlotBytes with (length, i) in outMeta. Answers that do not fit a slot, and answers
// to forwarded queries (sent after their batch), go out one by one through sendTo().
import { performance } from 'node:perf_hooks';
import { limits } from '../limits.js';
import { loadUdpBatch, meta, metaFlagTruncated, type UdpBatchAddon, type UdpBatchHandle, type UdpBatchStats } from '../native/udp-batch.js';
import type { Answerer, ReplyChannel } from './answerer.js';
import type { DnsMetrics } from './metrics.js';

/** A bound UDP socket answering queries, whichever I/O it uses. */
export interface UdpListener {
  readonly io: 'native' | 'dgram';
  readonly port: number;
  /** The addon's counters (native only). */
  stats(): UdpBatchStats | undefined;
  close(): Promise<void>;
}

/** Where a held (forwarded) answer goes: the client's address copied out of the batch. */
interface HeldClient {
  readonly family: 4 | 6;
  readonly address: Uint8Array;
  readonly port: number;
}

/** `to` for an answer: the receive slot while its batch runs, a HeldClient after. */
type Destination = number | HeldClient;

/** An IPv4 or IPv6 address from 16 bytes of inMeta, as node:dgram would spell it. */
function addressText(bytes: Uint8Array, family: number): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  // IPv4-mapped (a "::" socket taking IPv4): "::ffff:a.b.c.d", as inet_ntop writes it.
  if (bytes[10] === 0xff && bytes[11] === 0xff && bytes.subarray(0, 10).every((b) => b === 0)) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export { addressText as nativeAddressText };

/** Opens the socket; throws (EADDRINUSE, ...) as bind would, or if the addon is not built. */
export function bindNative(host: string, port: number, answer: Answerer, metrics: DnsMetrics, addon: UdpBatchAddon = requireAddon()): UdpListener {
  const slots = limits.udpBatchSlots;
  const inSlotBytes = limits.udpQueryBytesMax;
  const outSlotBytes = limits.udpAnswerSlotBytes;
  const inData = Buffer.alloc(slots * inSlotBytes);
  const inMeta = new Int32Array(slots * addon.metaInts);
  const inMetaBytes = new Uint8Array(inMeta.buffer);
  const outData = Buffer.alloc(slots * outSlotBytes);
  const outMeta = new Int32Array(slots * 2);
  let handle: UdpBatchHandle | undefined;
  let answers = 0;
  let batchOpen = false;
  let slot = 0;

  const addressOf = (i: number): Uint8Array => inMetaBytes.subarray((i * addon.metaInts + meta.address) * 4, (i * addon.metaInts + meta.address) * 4 + 16);
  const client = (): string => addressText(addressOf(slot), inMeta[slot * addon.metaInts + meta.family]!);

  const holdSlot = (i: number): HeldClient => {
    const m = i * addon.metaInts;
    return { family: inMeta[m + meta.family] === 6 ? 6 : 4, address: addressOf(i).slice(), port: inMeta[m + meta.port]! };
  };

  const channel: ReplyChannel<Destination> = {
    send: (bytes, to) => {
      if (typeof to === 'number' && batchOpen && bytes.length <= outSlotBytes) {
        outData.set(bytes, answers * outSlotBytes);
        outMeta[2 * answers] = bytes.length;
        outMeta[2 * answers + 1] = to;
        answers++;
        return;
      }
      if (handle === undefined) return;
      const held = typeof to === 'number' ? holdSlot(to) : to;
      addon.sendTo(handle, bytes, held.family, held.address, held.port);
    },
    hold: (to) => (typeof to === 'number' ? holdSlot(to) : to),
  };

  const onBatch = (received: number): number => {
    const started = performance.now();
    answers = 0;
    batchOpen = true;
    try {
      for (slot = 0; slot < received; slot++) {
        const m = slot * addon.metaInts;
        if ((inMeta[m + meta.flags]! & metaFlagTruncated) !== 0) {
          metrics.dropped++; // longer than any query we accept over UDP
          continue;
        }
        const offset = slot * inSlotBytes;
        answer(inData.subarray(offset, offset + inMeta[m + meta.length]!), client, 'udp', channel, slot, started);
      }
    } finally {
      // answer() never throws; if it ever did, later sends must not land in a closed batch.
      batchOpen = false;
    }
    return answers;
  };

  handle = addon.open(host, port, limits.udpReceiveBufferBytes, limits.udpSendBufferBytes, inData, inMeta, outData, outMeta, slots, inSlotBytes, outSlotBytes, limits.udpBatchRoundsMax, onBatch);
  const opened = handle;
  return {
    io: 'native',
    port: addon.localPort(opened),
    stats: () => addon.stats(opened),
    close: async () => {
      handle = undefined;
      addon.close(opened);
      // The fd closes on the next loop turn (uv_close); resolve after it, as dgram's close does.
      await new Promise<void>((r) => setImmediate(r));
    },
  };
}

function requireAddon(): UdpBatchAddon {
  const addon = loadUdpBatch();
  if (addon instanceof Error) throw addon;
  return addon;
}
