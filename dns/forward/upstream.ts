// Forwarding to upstream resolvers: the client's query is sent as is (its EDNS and flags kept)
// under a fresh random ID over UDP; a truncated reply is retried over TCP (RFC 7766 §5); each
// attempt has a timeout and a failed attempt moves to the next upstream; the number of queries in
// flight is bounded (beyond it: SERVFAIL at once, not an unbounded queue). Replies are accepted only
// from the upstream asked, with the ID and question sent (RFC 5452 §9.1), and cached (cache.ts).
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import { DnsError } from '../errors.js';
import { limits } from '../limits.js';
import { flag, rcode } from '../wire/constants.js';
import { headerBytes, type ParsedQuery } from '../wire/query.js';
import { emptyReply } from '../wire/response.js';
import { AnswerCache, cacheKey } from './cache.js';
import { withoutEdnsOptions } from './options.js';

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

export interface ForwarderOptions {
  /** "127.0.0.1:53", "[::1]:53" or "10.0.0.2" (port 53). */
  readonly upstreams: readonly string[];
  readonly attemptMs?: number;
  readonly inFlightMax?: number;
  readonly cacheEntriesMax?: number;
  /** Milliseconds clock (injectable for cache tests). */
  readonly now?: () => number;
}

export interface ForwardResult {
  readonly bytes: Buffer;
  readonly rcode: number;
  readonly cached: boolean;
}

interface Pending {
  readonly upstream: Upstream;
  readonly question: Uint8Array;
  readonly done: (reply: Buffer | undefined) => void;
}

/** Parses an upstream address; throws DnsError `bad-config`. */
export function parseUpstream(text: string): Upstream {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text) ?? /^([0-9.]+)(?::(\d+))?$/.exec(text) ?? /^([0-9a-fA-F:]+)()$/.exec(text);
  const port = m?.[2] ? Number(m[2]) : 53;
  if (m === null || net.isIP(m[1]!) === 0 || port < 1 || port > 65535) {
    throw new DnsError('bad-config', `upstream ${JSON.stringify(text)} is not an address like "127.0.0.1:53" or "[::1]:53"`);
  }
  return { host: m[1]!, port };
}

/** Case-insensitive comparison of the question a reply carries with the one we sent. */
function sameQuestion(reply: Buffer, question: Uint8Array): boolean {
  if (reply.length < headerBytes + question.length || reply.readUInt16BE(4) !== 1) return false;
  for (let i = 0; i < question.length; i++) {
    const a = reply[headerBytes + i]!;
    const b = question[i]!;
    if (a !== b && (a | 0x20) !== (b | 0x20)) return false;
    if (a !== b && !((a | 0x20) >= 0x61 && (a | 0x20) <= 0x7a)) return false;
  }
  return true;
}

export class Forwarder {
  readonly upstreams: readonly Upstream[];
  private readonly attemptMs: number;
  private readonly inFlightMax: number;
  private readonly cache: AnswerCache;
  private readonly pending = new Map<number, Pending>();
  private readonly sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  private next = 0;
  private closed = false;

  constructor(options: ForwarderOptions) {
    if (options.upstreams.length === 0) throw new DnsError('bad-config', 'forwarding needs at least one upstream');
    this.upstreams = options.upstreams.map(parseUpstream);
    this.attemptMs = options.attemptMs ?? limits.forwardAttemptMs;
    this.inFlightMax = Math.min(options.inFlightMax ?? limits.forwardInFlightMax, limits.forwardInFlightMax);
    this.cache = new AnswerCache(options.now ?? Date.now, options.cacheEntriesMax ?? limits.forwardCacheEntriesMax);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Resolves `query` upstream; never rejects (failures become SERVFAIL). */
  async resolve(query: Uint8Array, q: ParsedQuery, limitBytes: number): Promise<ForwardResult> {
    const key = cacheKey(q);
    const hit = this.cache.get(key, query, q);
    if (hit !== undefined) return this.fit(query, q, hit, limitBytes, true);
    if (this.pending.size >= this.inFlightMax || this.closed) return this.fail(query, q);
    const attempts = Math.max(2, this.upstreams.length);
    const sent = withoutEdnsOptions(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
    for (let i = 0; i < attempts && !this.closed; i++) {
      const upstream = this.upstreams[(this.next + i) % this.upstreams.length]!;
      const raw = await this.attempt(upstream, sent, q);
      if (raw === undefined) continue;
      const reply = withoutEdnsOptions(raw);
      this.next = (this.next + i) % this.upstreams.length;
      this.cache.put(key, reply);
      return this.fit(query, q, reply, limitBytes, false);
    }
    return this.fail(query, q);
  }

  private fail(query: Uint8Array, q: ParsedQuery): ForwardResult {
    return { bytes: emptyReply(query, q, rcode.SERVFAIL, flag.RA), rcode: rcode.SERVFAIL, cached: false };
  }

  /** The upstream's reply for this client: its ID and question, TC if too big for its transport. */
  private fit(query: Uint8Array, q: ParsedQuery, reply: Buffer, limitBytes: number, cached: boolean): ForwardResult {
    if (reply.length > limitBytes) {
      return { bytes: emptyReply(query, q, rcode.NOERROR, flag.TC | flag.RA), rcode: rcode.NOERROR, cached };
    }
    const out = cached ? reply : Buffer.from(reply);
    out.writeUInt16BE(q.id, 0);
    out.set(query.subarray(headerBytes, q.questionEnd), headerBytes);
    return { bytes: out, rcode: out[3]! & 0xf, cached };
  }

  /** One attempt: UDP, then TCP if the UDP reply is truncated. undefined on timeout or error. */
  private async attempt(upstream: Upstream, query: Uint8Array, q: ParsedQuery): Promise<Buffer | undefined> {
    const udp = await this.udpAttempt(upstream, query, q);
    if (udp === undefined || (udp[2]! & 0x02) === 0) return udp;
    return this.tcpAttempt(upstream, query, q);
  }

  private freeId(): number {
    for (;;) {
      const id = randomInt(0, 0x10000);
      if (!this.pending.has(id)) return id;
    }
  }

  private socketFor(family: 'udp4' | 'udp6'): dgram.Socket {
    let socket = this.sockets.get(family);
    if (socket !== undefined) return socket;
    socket = dgram.createSocket(family);
    socket.on('message', (msg, rinfo) => this.onReply(msg, rinfo));
    socket.on('error', () => {
      // A send error on a connectionless socket (ICMP unreachable): the attempt times out.
    });
    socket.unref();
    this.sockets.set(family, socket);
    return socket;
  }

  private onReply(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < headerBytes || (msg[2]! & 0x80) === 0) return;
    const pending = this.pending.get(msg.readUInt16BE(0));
    if (pending === undefined) return;
    if (rinfo.address !== pending.upstream.host || rinfo.port !== pending.upstream.port) return;
    if (!sameQuestion(msg, pending.question)) return;
    pending.done(msg);
  }

  private udpAttempt(upstream: Upstream, query: Uint8Array, q: ParsedQuery): Promise<Buffer | undefined> {
    const id = this.freeId();
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), this.attemptMs);
      const finish = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(reply);
      };
      this.pending.set(id, { upstream, question: out.subarray(headerBytes, q.questionEnd), done: finish });
      const family = net.isIPv6(upstream.host) ? 'udp6' : 'udp4';
      this.socketFor(family).send(out, upstream.port, upstream.host, (err) => {
        if (err) finish(undefined);
      });
    });
  }

  private tcpAttempt(upstream: Upstream, query: Uint8Array, q: ParsedQuery): Promise<Buffer | undefined> {
    const id = this.freeId();
    const frame = Buffer.alloc(2 + query.length);
    frame.writeUInt16BE(query.length, 0);
    frame.set(query, 2);
    frame.writeUInt16BE(id, 2);
    const question = frame.subarray(2 + headerBytes, 2 + q.questionEnd);
    return new Promise((resolve) => {
      let buffered = Buffer.alloc(0);
      const socket = net.connect(upstream.port, upstream.host);
      const finish = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(reply);
      };
      const timer = setTimeout(() => finish(undefined), this.attemptMs);
      socket.on('connect', () => socket.write(frame));
      socket.on('error', () => finish(undefined));
      socket.on('close', () => finish(undefined));
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const reply = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + reply.length);
          if (reply.length >= headerBytes && reply.readUInt16BE(0) === id && sameQuestion(reply, question)) return finish(Buffer.from(reply));
        }
        if (buffered.length > 2 + limits.tcpMessageBytesMax) finish(undefined);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.done(undefined);
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
