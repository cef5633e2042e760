// The Node.js reference servers of the `dns` suite, one process each:
//   --mode echo   a bare UDP echo (the QR bit set, nothing else touched): the most a Node process
//                 can answer on this machine, the ceiling for vnetd's own server;
//   --mode naive  the naive responder vnetd must beat by 1.5×: decode with dns-packet, look the
//                 name up in a Map, encode a fresh answer with dns-packet;
//   --mode dnslib vnetd's own DNS layer alone: dns/'s zone index filled directly and startDnsServer
//                 without the vnetd process around it (no Raft, HTTP or per-query Prometheus
//                 metrics), to tell the server's cost from the node's.
//
//   node dist/bench/lib/dns-ref-server.js --mode echo|naive|dnslib --port P [--names FILE]
// FILE is JSON: [[name, ipv4], ...] (names without the trailing dot). Prints "listening PORT".
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { createZoneIndex, startDnsServer } from '../../dns/index.js';

const qrBit = 0x80;
const ttlSeconds = 5;
const rcodeNxDomain = 3;

function echo(socket: dgram.Socket): void {
  socket.on('message', (msg, rinfo) => {
    if (msg.length >= 3) msg[2] = (msg[2] as number) | qrBit;
    socket.send(msg, rinfo.port, rinfo.address);
  });
}

function naive(socket: dgram.Socket, names: Map<string, string>): void {
  socket.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: drop, as a careless server would
    }
    const question = q.questions?.[0];
    if (question === undefined) return;
    const key = question.name.toLowerCase();
    const ip = names.get(key);
    const answers: dnsPacket.Answer[] = ip !== undefined && question.type === 'A' ? [{ type: 'A', name: question.name, ttl: ttlSeconds, data: ip }] : [];
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (ip === undefined ? rcodeNxDomain : 0),
      questions: [question],
      answers,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
}

async function dnslib(port: number, list: readonly [string, string][]): Promise<void> {
  const zone = createZoneIndex({ origin: 'dcos.' });
  for (const [name, ip] of list) zone.setRRset(`${name}.`, 'A', [ip]);
  zone.setSerial(1);
  zone.setReady(true);
  const server = await startDnsServer({ zone, host: '127.0.0.1', port });
  process.stdout.write(`listening ${server.port}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

function readNames(file: string | undefined): [string, string][] {
  if (file === undefined) throw new Error('this mode needs --names FILE');
  return JSON.parse(readFileSync(file, 'utf8')) as [string, string][];
}

function main(): void {
  const { values } = parseArgs({ options: { mode: { type: 'string' }, port: { type: 'string', default: '0' }, names: { type: 'string' } } });
  if (values.mode === 'dnslib') {
    void dnslib(Number(values.port), readNames(values.names));
    return;
  }
  // Default socket buffers, like vnetd's and Knot's: a bigger receive buffer alone would hide loss.
  const socket = dgram.createSocket('udp4');
  if (values.mode === 'echo') echo(socket);
  else if (values.mode === 'naive') {
    naive(socket, new Map(readNames(values.names).map(([n, ip]) => [n.toLowerCase(), ip])));
  } else throw new Error(`--mode must be echo, naive or dnslib, got ${String(values.mode)}`);
  socket.bind(Number(values.port), '127.0.0.1', () => process.stdout.write(`listening ${socket.address().port}\n`));
  process.on('SIGTERM', () => socket.close(() => process.exit(0)));
}

main();
