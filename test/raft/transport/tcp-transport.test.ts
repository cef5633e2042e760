// TcpTransport over real loopback sockets (raft/transport/README.md): delivery both ways, in order;
// reconnection; the cluster-secret handshake; bad frames cut off only their own connection;
// a dead or stalled peer cannot grow memory past peerQueueBytesMax.
import net from 'node:net';
import t from 'tap';
import type { Message } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import { frameHeader } from '../../../raft/transport/frame.js';
import { HANDSHAKE_VERSION, newNonce } from '../../../raft/transport/handshake.js';
import { TcpTransport } from '../../../raft/transport/tcp-transport.js';
import { SECRET, closed, frame, heartbeat, link, rawAuthenticated, stalledPeer, startNode, until } from './helpers.js';

const append = (from: string, to: string, index: number, bytes: number): Message => ({
  type: 'append',
  from: nodeId(from),
  to: nodeId(to),
  term: term(3),
  prevLogIndex: logIndex(index - 1),
  prevLogTerm: term(3),
  commit: logIndex(0),
  entries: [{ kind: 'normal', term: term(3), index: logIndex(index), data: Buffer.alloc(bytes, index & 0xff) }],
});

t.test('two transports exchange messages both ways, in send order', async (t) => {
  const a = await startNode(t, 'a');
  const b = await startNode(t, 'b');
  link(a, 'a', b, 'b');
  const N = 500;
  for (let i = 1; i <= N; i++) a.transport.send(append('a', 'b', i, i % 100));
  for (let i = 1; i <= N; i++) b.transport.send(heartbeat('b', 'a', `hb${i}`));
  await until(() => b.received.length === N && a.received.length === N, 5000, 'all messages');
  t.same(
    b.received.map((m) => (m.type === 'append' ? m.entries[0]!.index : -1)),
    Array.from({ length: N }, (_, i) => i + 1),
  );
  const m = b.received[41]!;
  t.ok(m.type === 'append' && m.entries[0]!.kind === 'normal' && m.entries[0]!.data instanceof Uint8Array);
  t.ok(m.type === 'append' && m.entries[0]!.kind === 'normal' && Buffer.from(m.entries[0]!.data).equals(Buffer.alloc(42, 42)));
  t.same(a.received.map((x) => (x.type === 'heartbeat' ? x.context : '')).slice(0, 3), ['hb1', 'hb2', 'hb3']);
  t.ok(a.transport.isReachable(nodeId('b')));
  t.ok(b.transport.isReachable(nodeId('a')));
  const s = a.transport.stats();
  t.equal(s.framesSent, N);
  t.equal(s.framesReceived, N);
  t.equal(s.dropped, 0);
  t.equal(b.transport.stats().bytesReceived, s.bytesSent);
  // Coalescing: 500 frames sent in one turn went out in far fewer writes; we can at least check
  // nothing was left queued.
  t.same(s.queuedBytes, { b: 0 });
});

t.test('reconnects after the peer restarts on the same address', async (t) => {
  const a = await startNode(t, 'a');
  let b = await startNode(t, 'b');
  const port = b.transport.address().port;
  link(a, 'a', b, 'b');
  a.transport.send(heartbeat('a', 'b', 'before'));
  await until(() => b.received.length === 1, 5000, 'first message');
  await b.transport.close();
  await until(() => !a.transport.isReachable(nodeId('b')), 5000, 'a notices b is gone');
  b = await startNode(t, 'b', { port });
  b.transport.setPeer(nodeId('a'), a.transport.address());
  // Raft retransmits; so does this test, until the new process hears one.
  await until(() => {
    a.transport.send(heartbeat('a', 'b', 'after'));
    return b.received.length > 0;
  }, 5000, 'delivery after restart');
  t.equal(b.received[0]!.type, 'heartbeat');
  t.ok(a.transport.stats().outboundConnects >= 2);
  await until(() => a.transport.isReachable(nodeId('b')), 5000, 'reachable again');
});

t.test('a wrong secret is refused on both ends, logged, and nothing is delivered', async (t) => {
  const b = await startNode(t, 'b');
  const intruder = await startNode(t, 'x', { secret: 'not the cluster secret, sorry' });
  intruder.transport.setPeer(nodeId('b'), b.transport.address());
  b.transport.setPeer(nodeId('x'), intruder.transport.address());
  for (let i = 0; i < 10; i++) intruder.transport.send(heartbeat('x', 'b'));
  b.transport.send(heartbeat('b', 'x'));
  await until(() => b.transport.stats().authFailures >= 2 && intruder.transport.stats().authFailures >= 2, 5000, 'auth failures');
  t.equal(b.received.length, 0);
  t.equal(intruder.received.length, 0);
  t.notOk(b.transport.isReachable(nodeId('x')));
  t.notOk(intruder.transport.isReachable(nodeId('b')));
  t.ok(b.events.some(([e, f]) => e === 'auth_failed' && f['direction'] === 'inbound' && f['claimed'] === 'x'));
  t.ok(b.events.some(([e, f]) => e === 'auth_failed' && f['direction'] === 'outbound' && f['peer'] === 'x'));
});

t.test('bad frames close only their own connection and are counted', async (t) => {
  const a = await startNode(t, 'a');
  const b = await startNode(t, 'b', { limits: { frameBytesMax: 64 * 1024, peerQueueBytesMax: 1024 * 1024, handshakeTimeoutMs: 300 } });
  link(a, 'a', b, 'b');
  const port = b.transport.address().port;
  let sent = 0;
  const stillWorks = async (what: string): Promise<void> => {
    sent += 1;
    a.transport.send(heartbeat('a', 'b', what));
    await until(() => b.received.length === sent, 5000, `delivery after ${what}`);
  };
  const rejected = (reason: string): number => (b.transport.stats().rejectedFrames as Record<string, number>)[reason]!;
  await stillWorks('start');

  const cases: Array<[string, string, () => Promise<net.Socket>]> = [
    ['HTTP garbage before the handshake', 'too_large', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      return s;
    }],
    ['undecodable body before the handshake', 'decode', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write(Buffer.concat([frameHeader(3), Buffer.from([0x92, 0x01, 0xdc])]));
      return s;
    }],
    ['a hello for another node', 'handshake', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write(frame({ t: 'hello', v: HANDSHAKE_VERSION, from: 'evil', to: 'c', nonce: newNonce() }));
      return s;
    }],
    ['a hello claiming to be the acceptor itself (reflection)', 'handshake', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write(frame({ t: 'hello', v: HANDSHAKE_VERSION, from: 'b', to: 'b', nonce: newNonce() }));
      return s;
    }],
    ['a proof before any hello', 'handshake', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write(frame({ t: 'proof', proof: Buffer.alloc(32) }));
      return s;
    }],
    ['silence (handshake timeout)', 'handshake', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      return s;
    }],
    ['a frame over frameBytesMax after authenticating', 'too_large', async () => {
      const s = await rawAuthenticated(t, port, 'evil', 'b');
      s.write(frameHeader(64 * 1024 + 1));
      return s;
    }],
    ['a frame that decodes to a non-message', 'invalid_message', async () => {
      const s = await rawAuthenticated(t, port, 'evil', 'b');
      s.write(frame({ hello: 'world', type: 'append' }));
      return s;
    }],
    ['garbage bytes after authenticating', 'decode', async () => {
      const s = await rawAuthenticated(t, port, 'evil', 'b');
      s.write(Buffer.concat([frameHeader(5), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])]));
      return s;
    }],
    ['a message whose from is not the authenticated peer', 'from_mismatch', async () => {
      const s = await rawAuthenticated(t, port, 'evil', 'b');
      s.write(frame(heartbeat('a', 'b')));
      return s;
    }],
    ['a message for another node', 'to_mismatch', async () => {
      const s = await rawAuthenticated(t, port, 'evil', 'b');
      s.write(frame(heartbeat('evil', 'c')));
      return s;
    }],
    ['a truncated frame', 'truncated', async () => {
      const s = await rawAuthenticated(t, port, 'evil', 'b');
      s.end(Buffer.concat([frameHeader(100), Buffer.alloc(10)]));
      return s;
    }],
  ];
  for (const [name, reason, attack] of cases) {
    const before = rejected(reason);
    const s = await attack();
    await closed(s);
    await until(() => rejected(reason) === before + 1, 5000, `${name} counted as ${reason}`);
    t.pass(`${name}: closed and counted as ${reason}`);
    await stillWorks(name);
  }
  // A valid message from an authenticated raw peer is delivered: the rejections above are not
  // just "everything from a raw socket fails".
  const s = await rawAuthenticated(t, port, 'evil', 'b');
  s.write(frame(heartbeat('evil', 'b', 'legit')));
  await until(() => b.received.some((m) => m.from === 'evil'), 5000, 'legit raw message');
  t.equal(b.received.filter((m) => m.from === 'evil').length, 1);
  t.equal(b.received.length, sent + 1);
});

t.test('a dead peer cannot grow the queue past peerQueueBytesMax; drops are counted', async (t) => {
  const limits = { frameBytesMax: 16 * 1024, peerQueueBytesMax: 64 * 1024 };
  const a = await startNode(t, 'a', { limits });
  // A port with nothing listening: connections are refused, reconnects back off.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  a.transport.setPeer(nodeId('dead'), { host: '127.0.0.1', port: deadPort });
  for (let i = 1; i <= 1000; i++) a.transport.send(append('a', 'dead', i, 1000));
  const s = a.transport.stats();
  t.ok(s.queuedBytes['dead']! <= limits.peerQueueBytesMax, `queued ${s.queuedBytes['dead']} <= ${limits.peerQueueBytesMax}`);
  t.ok(s.queuedBytes['dead']! > limits.peerQueueBytesMax - 2000, 'the queue was used up to the bound');
  t.ok(s.droppedBy.queue_full > 900, `dropped ${s.droppedBy.queue_full}`);
  t.equal(s.dropped, s.droppedBy.queue_full);
  // Too large for a frame and unknown peers are drops too, never throws.
  a.transport.send(append('a', 'dead', 1, 20 * 1024));
  a.transport.send(heartbeat('a', 'nobody'));
  t.equal(a.transport.stats().droppedBy.too_large, 1);
  t.equal(a.transport.stats().droppedBy.unknown_peer, 1);
  t.notOk(a.transport.isReachable(nodeId('dead')));
  a.transport.removePeer(nodeId('dead'));
  a.transport.send(heartbeat('a', 'dead'));
  t.equal(a.transport.stats().droppedBy.unknown_peer, 2);
});

t.test('a stalled peer (connected, not reading) is bounded by the socket buffer plus the queue', async (t) => {
  const limits = { frameBytesMax: 64 * 1024, peerQueueBytesMax: 256 * 1024 };
  const a = await startNode(t, 'a', { limits });
  const stalled = await stalledPeer(t, 'slow');
  a.transport.setPeer(nodeId('slow'), { host: '127.0.0.1', port: stalled.port });
  await until(() => a.transport.isReachable(nodeId('slow')), 5000, 'connected to the stalled peer');
  // 64 MiB offered in 32 KiB messages, 128 KiB per turn of the event loop: each turn alone fits
  // the bound, so only honouring backpressure across turns (socket 'drain') produces drops.
  let maxHeld = 0;
  for (let turn = 0; turn < 512; turn++) {
    for (let i = 0; i < 4; i++) a.transport.send(append('a', 'slow', turn * 4 + i + 1, 32 * 1024));
    maxHeld = Math.max(maxHeld, a.transport.stats().queuedBytes['slow']!);
    await new Promise((r) => setImmediate(r));
  }
  const s = a.transport.stats();
  t.ok(maxHeld <= limits.peerQueueBytesMax, `held at most ${maxHeld} bytes`);
  t.ok(s.droppedBy.queue_full > 0, `dropped ${s.droppedBy.queue_full}`);
  // Loopback socket buffers hold a few MiB; anything written beyond that would sit in memory.
  t.ok(s.bytesSent < 32 * 1024 * 1024, `only ${s.bytesSent} bytes were handed to the socket`);
});

t.test('configuration errors are refused at construction', async (t) => {
  const base = { id: nodeId('a'), listen: { host: '127.0.0.1', port: 0 } };
  t.throws(() => new TcpTransport({ ...base, secret: 'short' }), { name: 'TransportError', code: 'invalid_config' });
  t.throws(() => new TcpTransport({ ...base, secret: SECRET, limits: { frameBytesMax: 0 } }), { code: 'invalid_config', message: /frameBytesMax/ });
  t.throws(() => new TcpTransport({ ...base, secret: SECRET, limits: { frameBytesMax: 1024, peerQueueBytesMax: 1024 } }), { message: /peerQueueBytesMax/ });
});

t.test('an invalid peer address is logged and ignored, never thrown later from a timer', async (t) => {
  const a = await startNode(t, 'a');
  a.transport.setPeer(nodeId('p'), { host: '127.0.0.1', port: 70000 });
  a.transport.setPeer(nodeId('q'), { host: '', port: 1 });
  t.same(a.events.filter(([e]) => e === 'invalid_peer_address').map(([, f]) => f['peer']), ['p', 'q']);
  a.transport.send(heartbeat('a', 'p'));
  t.equal(a.transport.stats().droppedBy.unknown_peer, 1);
  await new Promise((r) => setTimeout(r, 100));
});

t.test('a peer that only sends to us (inbound only) is reachable while it keeps delivering', async (t) => {
  const b = await startNode(t, 'b', { limits: { reachableWindowMs: 300 } });
  const s = await rawAuthenticated(t, b.transport.address().port, 'c', 'b');
  t.notOk(b.transport.isReachable(nodeId('c')), 'authenticated but silent');
  s.write(frame(heartbeat('c', 'b')));
  await until(() => b.received.length === 1, 5000, 'delivery');
  t.ok(b.transport.isReachable(nodeId('c')));
  await until(() => !b.transport.isReachable(nodeId('c')), 5000, 'window passes');
  s.write(frame(heartbeat('c', 'b')));
  await until(() => b.received.length === 2 && b.transport.isReachable(nodeId('c')), 5000, 'reachable again');
  s.destroy();
  await until(() => !b.transport.isReachable(nodeId('c')), 5000, 'closed connection is not reachable');
});
