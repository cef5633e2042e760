// The lean HTTP/1.1 path (issue 4): a connection read and answered without node:http's request,
// response and stream objects. It serves plain requests (http-wire.ts decides which) with keep-
// alive and pipelining, answers in request order, and keeps node:http's timeouts. The first
// request that is not plain (HEAD, chunked, Expect, malformed, ...) and everything after it on
// that connection go to node:http: once every earlier answer is written, the unread bytes are put
// back into the socket and node:http's own connection listener takes it, so it answers exactly
// as it did before this path existed.
//
// Why: profiled at 64 writes in flight, node:http's per-request machinery (llhttp callbacks,
// IncomingMessage and ServerResponse, their streams and events, writeHead and end) was the
// largest share of the leader's CPU that the API layer could remove.

import type { Socket } from 'node:net';
import { apiLimits } from './limits.js';
import { encodeHead, incomplete, other, parseHead } from './http-wire.js';
import type { LeanHead } from './http-wire.js';

/** An answer ready to write: `body` null for none (and no Content-Length with 204). */
export interface LeanAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer | null;
  /** The connection closes after this answer (e.g. 413). */
  readonly close: boolean;
  /** Called once the answer was handed to the socket (or dropped with a closed connection). */
  written(): void;
}

/** What a lean connection needs from its server. */
export interface LeanHost {
  /** Answers one request; never rejects (failures are answers). */
  serve(head: LeanHead, body: Buffer): Promise<LeanAnswer>;
  /** node:http's connection listener: takes the socket from here on. */
  handOver(socket: Socket): void;
  /** The server is stopping: answer what was asked, then close. */
  readonly stopping: boolean;
  /** The connection is gone or handed over (the host forgets it). */
  released(c: LeanConnection): void;
}

interface Slot {
  answer: LeanAnswer | null;
  readonly close: boolean;
}

let dateText = '';
let dateUntilMs = 0;

/** The IMF-fixdate for Date, made once per second (as node:http does). */
function httpDate(nowMs: number): string {
  if (nowMs >= dateUntilMs) {
    dateText = new Date(nowMs).toUTCString();
    dateUntilMs = nowMs - (nowMs % 1000) + 1000;
  }
  return dateText;
}

const requestTimeoutAnswer = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

export class LeanConnection {
  /** Bytes received and not yet consumed. */
  private buf: Buffer | null = null;
  /** The head of the request whose body is still arriving. */
  private head: LeanHead | null = null;
  /** Answers in request order; the first is written as soon as it is ready. */
  private readonly slots: Slot[] = [];
  /** When the current request's first byte arrived, or when the connection last became idle. */
  private sinceMs = Date.now();
  private served = 0;
  /** A request for node:http is waiting for the earlier answers. */
  private handing = false;
  /** No more requests are read: one asked to close, or the server stops. */
  private lastRead = false;
  private ended = false;
  private clientEnded = false;
  private paused = false;

  constructor(private readonly socket: Socket, private readonly host: LeanHost) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    // RFC 9112 §9.6: nothing after a request with "Connection: close" is read (nor kept).
    if (this.lastRead || this.ended) return;
    if (this.buf === null) {
      if (this.head === null) this.sinceMs = Date.now();
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf, chunk]);
    }
    this.pump();
  };

  /** Reads every complete request there is, within the pipelining and write-buffer limits. */
  private pump(): void {
    while (this.buf !== null && !this.handing && !this.lastRead && !this.ended) {
      if (this.slots.length >= apiLimits.pipelinedRequestsMax || this.socket.writableNeedDrain) return this.pause();
      if (this.head === null) {
        const h = parseHead(this.buf);
        if (h === incomplete) break;
        if (h === other) {
          this.handing = true;
          this.pause();
          return this.flush();
        }
        this.head = h;
      }
      const end = this.head.headBytes + this.head.bodyBytes;
      if (this.buf.length < end) break;
      const body = this.buf.subarray(this.head.headBytes, end);
      this.buf = end === this.buf.length ? null : this.buf.subarray(end);
      this.start(this.head, body);
      this.head = null;
      this.sinceMs = Date.now();
    }
    this.resume();
  }

  private start(head: LeanHead, body: Buffer): void {
    if (head.close) this.lastRead = true;
    const slot: Slot = { answer: null, close: head.close };
    this.slots.push(slot);
    void this.host.serve(head, body).then((answer) => {
      slot.answer = answer;
      this.flush();
    });
  }

  /** Writes the ready answers at the front, then hands over, ends or reads on. */
  private flush(): void {
    while (this.slots.length > 0 && this.slots[0]!.answer !== null) {
      const slot = this.slots.shift()!;
      this.write(slot.answer!, slot.close);
    }
    if (this.slots.length > 0) return;
    if (this.buf === null && this.head === null) this.sinceMs = Date.now();
    if (this.ended) return;
    if (this.handing) return this.handOver();
    if (this.lastRead || this.host.stopping) return this.end();
    this.pump();
    // A client that ended its side gets the answers to what it sent, then the end of ours.
    if (this.clientEnded && this.slots.length === 0 && !this.handing) this.end();
  }

  private write(a: LeanAnswer, askedClose: boolean): void {
    if (!this.ended && !this.socket.destroyed) {
      const close = a.close || askedClose || this.host.stopping;
      const bytes = a.body === null ? 0 : typeof a.body === 'string' ? Buffer.byteLength(a.body) : a.body.length;
      const head = encodeHead(a.status, a.headers, a.body === null && a.status === 204 ? null : bytes, httpDate(Date.now()), close);
      if (a.body === null) this.socket.write(head, 'latin1');
      else if (typeof a.body === 'string') this.socket.write(head + a.body);
      else {
        // One writev for head and bytes: written apart they could leave as two segments.
        this.socket.cork();
        this.socket.write(head, 'latin1');
        this.socket.write(a.body);
        this.socket.uncork();
      }
      this.served++;
      if (close) this.end();
    }
    a.written();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.sinceMs = Date.now();
    this.socket.end();
  }

  /** node:http takes the socket with the bytes not read here (RFC 9112 keeps their order). */
  private handOver(): void {
    const socket = this.socket;
    for (const [event, fn] of [['data', this.onData], ['end', this.onEnd], ['drain', this.onDrain], ['error', this.onError], ['close', this.onClose]] as const) {
      socket.off(event, fn);
    }
    this.host.released(this);
    socket.pause();
    if (this.buf !== null) socket.unshift(this.buf);
    this.buf = null;
    this.host.handOver(socket);
    // node:http's listener reads from here; the unshifted bytes reach it first (next tick).
    socket.resume();
  }

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    if (this.slots.length === 0) this.flush();
  };

  private readonly onDrain = (): void => this.pump();

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.ended = true;
    this.host.released(this);
  };

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /**
   * node:http's timeouts: a head within headersMsMax, a whole request within requestMsMax (both
   * answered 408 and closed), an idle keep-alive connection closed after keepAliveMs. A request
   * being answered is the handler's to bound.
   */
  sweep(nowMs: number): void {
    if (this.slots.length > 0 || this.handing) return;
    const waited = nowMs - this.sinceMs;
    if (this.ended) {
      // Our side is closed; a client that keeps its side open does not keep the socket.
      if (waited > apiLimits.keepAliveMs) this.socket.destroy();
    } else if (this.head !== null || this.buf !== null) {
      if (waited > (this.head === null ? apiLimits.headersMsMax : apiLimits.requestMsMax)) {
        this.ended = true;
        this.sinceMs = nowMs;
        this.socket.end(requestTimeoutAnswer, 'latin1');
      }
    } else if (waited > (this.served > 0 ? apiLimits.keepAliveMs : apiLimits.headersMsMax)) {
      this.socket.destroy();
    }
  }

  /** The server stops: idle connections close now, busy ones after their answers. */
  closeIdle(): void {
    if (this.slots.length === 0 && this.head === null && this.buf === null && !this.handing) this.socket.destroy();
    else this.lastRead = true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
