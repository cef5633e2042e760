// One DNS-over-TCP connection (RFC 1035 §4.2.2, RFC 7766): 2-byte big-endian length framing,
// several queries per connection, pipelined (answers may leave out of order once forwarding is
// involved, RFC 7766 §6.2.1.1), frames split across reads or several in one read, an idle timeout,
// and backpressure: reading pauses while too many queries are unanswered or too many bytes queued.
import type net from 'node:net';
import { limits } from '../limits.js';
import { performance } from 'node:perf_hooks';
import type { Answerer, ReplyChannel } from './answerer.js';

export function serveTcpConnection(socket: net.Socket, answer: Answerer, idleMs: number): void {
  const client = socket.remoteAddress ?? '';
  let buffered: Buffer = Buffer.alloc(0);
  let inFlight = 0;
  let paused = false;
  let ended = false;
  socket.setNoDelay(true);
  socket.setTimeout(idleMs, () => socket.destroy());
  socket.on('error', () => {
    // Resets and timeouts end this connection only.
  });

  const updateFlow = (): void => {
    const busy = inFlight >= limits.tcpQueriesInFlightMax || socket.writableLength > limits.tcpWriteQueueBytesMax;
    if (busy && !paused) socket.pause();
    else if (!busy && paused) socket.resume();
    paused = busy;
  };

  const channel: ReplyChannel<undefined> = { send: (bytes) => send(bytes), hold: () => undefined };
  const send = (bytes: Buffer): void => {
    inFlight--;
    if (socket.destroyed) return;
    const frame = Buffer.allocUnsafe(2 + bytes.length);
    frame.writeUInt16BE(bytes.length, 0);
    bytes.copy(frame, 2);
    socket.write(frame);
    updateFlow();
    if (ended && inFlight === 0) socket.end();
  };

  // A client may half-close after its last query (allowHalfOpen on the server): answer every
  // query still in flight, then close our side.
  socket.on('end', () => {
    ended = true;
    if (inFlight === 0) socket.end();
  });

  socket.on('drain', updateFlow);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const query = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      inFlight++;
      // Dropped packets (QR set, too short) get no answer and leave nothing in flight.
      if (!answer(query, client, 'tcp', channel, undefined, performance.now())) inFlight--;
    }
    updateFlow();
  });
}

