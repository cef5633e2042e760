// Every limit of dns/ in one place, named with its unit (STYLE.md rule 6). Relations between them
// are asserted at load.
import { assert } from './assert.js';

export const limits = {
  /** RFC 1035 §4.2.1: a UDP message without EDNS is at most 512 bytes. */
  udpPayloadBytesPlain: 512,
  /** The EDNS payload size we advertise and the most we send over UDP (DNS flag day 2020). */
  udpPayloadBytesEdns: 1232,
  /**
   * UDP socket buffers (SO_RCVBUF/SO_SNDBUF; Linux caps them at net.core.rmem_max/wmem_max, 4 MiB
   * on the Debian default, and counts ~1 KiB of overhead per small datagram): the receive buffer
   * holds a burst of a few thousand queries while the event loop is busy (GC, a zone change) instead
   * of dropping them.
   */
  udpReceiveBufferBytes: 4 << 20,
  udpSendBufferBytes: 1 << 20,
  /**
   * Batched UDP (dns/native): datagrams per recvmmsg/sendmmsg and per call into JavaScript; bytes
   * of a receive slot (a longer query is dropped: no client sends one); bytes of an answer slot
   * (longer answers, from upstreams, go out one by one); batches per socket readiness before the
   * event loop gets a turn (Raft and HTTP share it).
   */
  udpBatchSlots: 64,
  udpQueryBytesMax: 4096,
  udpAnswerSlotBytes: 2048,
  udpBatchRoundsMax: 4,
  /** RFC 1035 §4.2.2: TCP messages carry a 2-byte length. */
  tcpMessageBytesMax: 65535,
  /** RFC 1035 §2.3.4. */
  nameBytesMax: 255,
  labelBytesMax: 63,
  /** Compression pointers have 14 bits of offset (RFC 1035 §4.1.4). */
  compressionOffsetMax: 0x3fff,
  /** Records per RRset the index accepts; more could never be answered even over TCP. */
  rrsetRecordsMax: 4096,
  /** Resource records a query may carry in its answer/authority/additional sections. */
  queryRecordsMax: 64,
  /** Client addresses whose allowRecursion verdict is cached. */
  recursionVerdictsMax: 4096,
  /** TCP: concurrent connections per server, idle time before closing, queries in flight each. */
  tcpConnectionsMax: 256,
  tcpIdleMs: 10_000,
  tcpQueriesInFlightMax: 64,
  /** Bytes queued for writing on one TCP connection before reading pauses. */
  tcpWriteQueueBytesMax: 1 << 20,
  /** Forwarding: queries in flight to upstreams, per-attempt timeout, cache entries, TTL cap. */
  forwardInFlightMax: 1024,
  forwardAttemptMs: 1500,
  forwardCacheEntriesMax: 10_000,
  forwardCacheTtlSecondsMax: 3600,
} as const;

assert(limits.udpPayloadBytesEdns >= limits.udpPayloadBytesPlain, 'EDNS payload below 512');
assert(limits.udpPayloadBytesEdns <= limits.tcpMessageBytesMax, 'EDNS payload above TCP max');
assert(limits.udpAnswerSlotBytes >= limits.udpPayloadBytesEdns, 'an answer slot must hold the largest UDP answer we build');
assert(limits.udpQueryBytesMax >= limits.udpPayloadBytesEdns, 'a receive slot must hold any query a client may send under our payload size');
assert(limits.forwardInFlightMax < 65536, 'in-flight forwards must fit in 16-bit IDs');
