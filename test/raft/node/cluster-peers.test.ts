// Hostile peers (DESIGN §6: peer frames are checked by size and shape; peers prove membership with
// the cluster secret): a connection sending garbage, an oversized frame, or a handshake with the
// wrong secret is cut off and counted, while the cluster keeps committing.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { nodeId, term } from '../../../raft/core/types.js';
import { TcpTransport } from '../../../raft/transport/index.js';
import type { TransportStats } from '../../../raft/transport/index.js';
import { Cluster, sleep } from './cluster.js';
import { Writers } from './clients.js';

const closeTimeoutMs = 10_000;

/** Connects, writes `bytes`, and resolves true when the server closes the connection. */
function sendAndAwaitClose(port: number, bytes: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, closeTimeoutMs);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

t.test('garbage, oversized frames and a wrong secret are cut off while the cluster commits', async (t) => {
  t.setTimeout(240_000);
  const c = new Cluster();
  t.teardown(() => c.close());
  await c.startCluster(['a', 'b', 'c']);
  const leader = await c.waitLeader();
  const port = c.procs.get(leader)!.raftPort;
  const w = new Writers(c, 4);
  t.teardown(() => w.stop());
  await w.waitAcks(10);

  const header = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  t.ok(await sendAndAwaitClose(port, Buffer.concat([header(32), randomBytes(32)])), 'garbage frame: connection closed');
  t.ok(await sendAndAwaitClose(port, header(0x7fff_ffff)), 'oversized frame: connection closed');
  t.ok(await sendAndAwaitClose(port, randomBytes(4096)), 'random bytes: connection closed');

  // A peer that claims to be a member but holds the wrong secret.
  const impostor = new TcpTransport({ id: nodeId(leader === 'a' ? 'b' : 'a'), listen: { host: '127.0.0.1', port: 0 }, secret: 'not-the-cluster-secret-at-all', log: () => {} });
  await impostor.start();
  t.teardown(() => impostor.close());
  impostor.setPeer(nodeId(leader), { host: '127.0.0.1', port });
  const deadline = Date.now() + closeTimeoutMs;
  while (impostor.stats().authFailures === 0 && Date.now() < deadline) {
    impostor.send({ type: 'heartbeat', from: nodeId(leader === 'a' ? 'b' : 'a'), to: nodeId(leader), term: term(999), commit: 0 as never, context: '' });
    await sleep(100);
  }
  t.ok(impostor.stats().authFailures > 0, 'the impostor could not authenticate');

  const before = w.acked.length;
  await w.waitAcks(30);
  t.ok(w.acked.length >= before + 30, 'the cluster kept committing');
  // (Leadership itself may move on this loaded machine; what must hold is that nothing from the
  // impostor reached a core.)
  for (const id of ['a', 'b', 'c']) {
    const st = await c.status(id);
    t.ok(st.term < 999, `${id}: term ${st.term}, the impostor's term 999 never reached its core`);
  }
  const ts = await c.call<TransportStats>(leader, 'GET', '/transport');
  t.ok(ts.ok, 'leader still serving');
  if (ts.ok) {
    const r = ts.value.rejectedFrames;
    t.ok(r.too_large >= 1, `oversized counted: ${JSON.stringify(r)}`);
    t.ok(r.decode + r.handshake + r.invalid_message + r.too_large >= 3, `garbage counted: ${JSON.stringify(r)}`);
    t.ok(ts.value.authFailures >= 1, `wrong secret counted: ${ts.value.authFailures}`);
  }
  await w.stop();
  for (const id of ['a', 'b', 'c']) t.ok(c.procs.get(id)!.child?.exitCode === null, `${id} still running`);
});
