// The batching UDP addon (dns/native/udp-batch.c, dns/server/udp-native.ts): built and used where
// a C compiler is (CI installs gcc), answering bursts larger than a batch in order, dropping
// datagrams longer than a receive slot without losing the next one, freeing the port on close,
// and spelling client addresses as node:dgram does. The protocol itself is checked through this
// path by server-dig, tcp, forward and fuzz (default udpIo 'auto'), and through node:dgram by
// server-dig-dgram.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { limits } from '../../dns/limits.js';
import { loadUdpBatch } from '../../dns/native/udp-batch.js';
import { startDnsServer } from '../../dns/server/dns-server.js';
import { nativeAddressText } from '../../dns/server/udp-native.js';
import { buildQuery, sampleZone } from './helpers.js';

type Decoded = dnsPacket.Packet & { rcode?: string };

const compilerPresent = spawnSync(process.env['CC'] ?? 'cc', ['--version']).status === 0;
const addon = loadUdpBatch();
const zone = sampleZone();

t.test('the addon is built and "auto" uses it wherever a C compiler is present', async (t) => {
  if (!compilerPresent) {
    t.ok(addon instanceof Error, 'no compiler here: the build script skipped the addon');
    return;
  }
  t.notOk(addon instanceof Error, addon instanceof Error ? addon.message : 'loaded');
  const server = await startDnsServer({ zone, udpIo: 'auto' });
  t.teardown(() => server.close());
  t.equal(server.udp.io, 'native');
  t.equal(server.udp.fallback, undefined);
});

t.test('udpIo "dgram" uses node:dgram; "native" with a host name is refused with the reason', async (t) => {
  const server = await startDnsServer({ zone, udpIo: 'dgram' });
  t.teardown(() => server.close());
  t.equal(server.udp.io, 'dgram');
  t.equal(server.udp.stats(), undefined);
  await t.rejects(startDnsServer({ zone, host: 'localhost', udpIo: 'native' }), /udpIo "native": (host localhost is not an IP literal|.*not loadable)/);
});

/** Sends every datagram from one socket back to back; resolves with the replies by ID once `expected` arrived. */
function burst(port: number, datagrams: Buffer[], expected: number): Promise<Map<number, Decoded>> {
  const socket = dgram.createSocket('udp4');
  const replies = new Map<number, Decoded>();
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('message', (msg) => {
      const p = dnsPacket.decode(msg) as Decoded;
      replies.set(p.id ?? -1, p);
      if (replies.size === expected) {
        socket.close();
        resolve(replies);
      }
    });
    socket.bind(0, '127.0.0.1', () => {
      socket.setRecvBufferSize(4 << 20);
      for (const d of datagrams) socket.send(d, port, '127.0.0.1');
    });
  });
}

t.test('a burst of 3 batches and more is answered, each reply to its own query', { skip: addon instanceof Error ? 'addon not built' : false }, async (t) => {
  const server = await startDnsServer({ zone, udpIo: 'native' });
  t.teardown(() => server.close());
  const count = limits.udpBatchSlots * limits.udpBatchRoundsMax + 37;
  const names = ['web.marathon.agentip.dcos.', 'web.marathon.containerip.dcos.', 'leader.dcos.', 'nope.dcos.'];
  const queries = Array.from({ length: count }, (_, i) => {
    const q = buildQuery(names[i % names.length]!, 'A');
    q.writeUInt16BE(i, 0);
    return q;
  });
  const replies = await burst(server.port, queries, count);
  for (let i = 0; i < count; i++) {
    const r = replies.get(i);
    const name = names[i % names.length]!;
    if (r === undefined || r.questions?.[0]?.name !== name.slice(0, -1)) {
      t.fail(`reply ${i} for ${name} missing or for another question: ${JSON.stringify(r?.questions)}`);
      return;
    }
    const want = name === 'nope.dcos.' ? 'NXDOMAIN' : 'NOERROR';
    if (r.rcode !== want) t.fail(`reply ${i} for ${name}: ${r.rcode}, expected ${want}`);
  }
  const stats = server.udp.stats()!;
  t.equal(stats.datagrams, count);
  t.ok(stats.batches < count / 4, `${stats.batches} batches for ${count} datagrams: received in batches`);
  t.equal(stats.sendDropped + stats.sendInvalid + stats.truncated + stats.recvErrors, 0);
});

t.test('a datagram longer than a receive slot is dropped and counted; the next query is answered', { skip: addon instanceof Error ? 'addon not built' : false }, async (t) => {
  const server = await startDnsServer({ zone, udpIo: 'native' });
  t.teardown(() => server.close());
  const long = Buffer.concat([buildQuery('leader.dcos.', 'A'), Buffer.alloc(limits.udpQueryBytesMax + 100)]);
  long.writeUInt16BE(1, 0);
  const next = buildQuery('leader.dcos.', 'A');
  next.writeUInt16BE(2, 0);
  // Both from one socket: the second reply arrives only after the first datagram was handled.
  const replies = await burst(server.port, [long, next], 1);
  t.same([...replies.keys()], [2]);
  t.equal(server.udp.stats()!.truncated, 1);
  t.equal(server.metrics.snapshot().dropped, 1);
});

t.test('close() frees the port for UDP and TCP', { skip: addon instanceof Error ? 'addon not built' : false }, async (t) => {
  const server = await startDnsServer({ zone, udpIo: 'native' });
  const port = server.port;
  await server.close();
  const again = await startDnsServer({ zone, udpIo: 'native', port });
  t.equal(again.port, port);
  await again.close();
});

t.test('client addresses are spelled as node:dgram reports them (RFC 5952, IPv4-mapped)', async (t) => {
  const v6 = (text: string): Uint8Array => {
    // Expand a literal into 16 bytes with the URL parser's IPv6 handling, independent of ours.
    const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    const [head, tail = ''] = host.includes('::') ? host.split('::') : [host, ''];
    const h = head === '' ? [] : head!.split(':');
    const tl = tail === '' ? [] : tail.split(':');
    const groups = [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl].map((g) => parseInt(g, 16));
    return new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));
  };
  const cases: [string, string][] = [
    ['::1', '::1'],
    ['::', '::'],
    ['fe80::1', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['FD00:0:0:0:0:0:0:AB', 'fd00::ab'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
  ];
  for (const [input, want] of cases) t.equal(nativeAddressText(v6(input), 6), want, input);
  t.equal(nativeAddressText(new Uint8Array([127, 0, 0, 53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 4), '127.0.0.53');
  // The same spelling node:dgram reports for a real IPv6 client, where ::1 is configured.
  const server = await startDnsServer({ zone, host: '::1' }).catch(() => undefined);
  if (server === undefined) return;
  t.teardown(() => server.close());
  const reply = await new Promise<Buffer>((resolve) => {
    const s = dgram.createSocket('udp6');
    s.on('message', (m) => {
      s.close();
      resolve(m);
    });
    s.send(buildQuery('leader.dcos.', 'A'), server.port, '::1');
  });
  t.equal((dnsPacket.decode(reply) as Decoded).rcode, 'NOERROR');
});
