// The fault proxy on plain sockets: it learns the directed link from the handshake hello
// (raft/transport/README.md), forwards, delays, holds ('hang') and resets ('drop') per direction.

import net from 'node:net';
import { pack } from 'msgpackr';
import t from 'tap';
import { freePorts } from '../util/ports.js';
import { FaultNet, helloFrom } from './proxy.js';

function frame(v: unknown): Buffer {
  const body = pack(v);
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length, 0);
  return Buffer.concat([h, body]);
}

const hello = (from: string, to: string): Buffer => frame({ t: 'hello', v: 1, from, to, nonce: Buffer.alloc(32) });

/** A sink server that collects everything it receives. */
async function sink(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; received: () => Buffer; connections: () => number }> {
  const chunks: Buffer[] = [];
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, received: () => Buffer.concat(chunks), connections: () => connections };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(p: () => boolean, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!p() && Date.now() < end) await sleep(20);
  return p();
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

t.test('helloFrom reads the directed link, asks for more bytes, refuses non-hellos', async (t) => {
  t.same(helloFrom(hello('n1', 'n2')), { from: 'n1', to: 'n2' });
  t.equal(helloFrom(hello('n1', 'n2').subarray(0, 10)), 'more');
  t.equal(helloFrom(frame({ t: 'append' })), null);
  t.equal(helloFrom(Buffer.from([0xff, 0xff, 0xff, 0xff, 1])), null, 'a length over the hello limit');
});

t.test('forwarding, a one-way cut in hang mode, and heal', async (t) => {
  const s = await sink(t);
  const fnet = new FaultNet();
  t.teardown(() => fnet.close());
  const [port] = await freePorts(1);
  await fnet.addNode('n2', { host: '127.0.0.1', port: s.port }, port!);
  const c = await connect(port!);
  t.teardown(() => c.destroy());
  c.write(Buffer.concat([hello('n1', 'n2'), Buffer.from('one')]));
  t.ok(await until(() => s.received().includes('one')), 'bytes pass when nothing is cut');
  fnet.cut('n3', 'n2', 'hang');
  c.write('two');
  t.ok(await until(() => s.received().includes('two')), 'a cut of another link does not touch this one');
  fnet.cut('n1', 'n2', 'hang');
  c.write('three');
  await sleep(300);
  t.notOk(s.received().includes('three'), 'held while n1 → n2 hangs');
  fnet.heal();
  t.ok(await until(() => s.received().includes('three')), 'delivered after heal');
});

t.test('drop mode resets the link and refuses new connections on it', async (t) => {
  const s = await sink(t);
  const fnet = new FaultNet();
  t.teardown(() => fnet.close());
  const [port] = await freePorts(1);
  await fnet.addNode('n2', { host: '127.0.0.1', port: s.port }, port!);
  const c = await connect(port!);
  const closed = new Promise<void>((r) => c.on('close', () => r()));
  c.on('error', () => undefined);
  c.write(hello('n1', 'n2'));
  await until(() => s.connections() === 1);
  fnet.cut('n1', 'n2', 'drop');
  await closed;
  t.pass('the existing connection was reset');
  const again = await connect(port!);
  again.on('error', () => undefined);
  const closedAgain = new Promise<void>((r) => again.on('close', () => r()));
  again.write(Buffer.concat([hello('n1', 'n2'), Buffer.from('nope')]));
  await closedAgain;
  t.notOk(s.received().includes('nope'), 'a new connection on the cut link is closed before forwarding');
});

t.test('delay keeps order and adds latency', async (t) => {
  const s = await sink(t);
  const fnet = new FaultNet();
  t.teardown(() => fnet.close());
  const [port] = await freePorts(1);
  await fnet.addNode('n2', { host: '127.0.0.1', port: s.port }, port!);
  const c = await connect(port!);
  t.teardown(() => c.destroy());
  c.write(hello('n1', 'n2'));
  await until(() => s.connections() === 1);
  fnet.delay('n1', 'n2', 300);
  const started = Date.now();
  c.write('a');
  c.write('b');
  t.ok(await until(() => s.received().includes('b')));
  t.ok(Date.now() - started >= 250, `delayed ${Date.now() - started} ms`);
  t.ok(s.received().indexOf('a') < s.received().indexOf('b'), 'order kept');
});
