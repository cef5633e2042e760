// DNS pieces the suites share: dnsperf runs (pinned with taskset) and their parsed figures, Knot DNS
// serving a zone file with one worker, and a small UDP client for readiness and propagation probes.
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { ensureTools, tools } from './install.js';
import { runAsync, start, waitFor } from './proc.js';
import type { Child } from './proc.js';

export interface DnsperfFigures {
  readonly qps: number;
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly lossPercent: number;
  readonly avgLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly stddevLatencyMs: number;
}

export interface DnsperfOptions {
  readonly port: number;
  readonly queryFile: string;
  readonly seconds: number;
  /** dnsperf's CPU (taskset -c). */
  readonly cpus: string;
  /** -Q: a fixed offered rate instead of as fast as possible. */
  readonly maxQps?: number;
  /** -c clients (sockets) and -q outstanding queries. */
  readonly clients: number;
  readonly outstanding: number;
}

function num(text: string, re: RegExp, what: string): number {
  const m = re.exec(text);
  if (m === null) throw new Error(`dnsperf output has no ${what}:\n${text.slice(-1500)}`);
  return Number(m[1]);
}

export function parseDnsperf(out: string): DnsperfFigures {
  const sent = num(out, /Queries sent:\s+(\d+)/, 'queries sent');
  const completed = num(out, /Queries completed:\s+(\d+)/, 'queries completed');
  const lost = num(out, /Queries lost:\s+(\d+)/, 'queries lost');
  return {
    qps: Math.round(num(out, /Queries per second:\s+([\d.]+)/, 'queries per second')),
    sent,
    completed,
    lost,
    lossPercent: sent === 0 ? 0 : Math.round((lost / sent) * 1e5) / 1e3,
    avgLatencyMs: Math.round(num(out, /Average Latency \(s\):\s+([\d.]+)/, 'average latency') * 1e6) / 1e3,
    maxLatencyMs: Math.round(num(out, /Average Latency \(s\):\s+[\d.]+ \(min [\d.]+, max ([\d.]+)\)/, 'max latency') * 1e6) / 1e3,
    stddevLatencyMs: Math.round(num(out, /Latency StdDev \(s\):\s+([\d.]+)/, 'latency stddev') * 1e6) / 1e3,
  };
}

export async function dnsperf(o: DnsperfOptions): Promise<DnsperfFigures> {
  ensureTools([tools.dnsperf, tools.taskset]);
  const args = ['-c', o.cpus, tools.dnsperf.binary, '-s', '127.0.0.1', '-p', String(o.port), '-d', o.queryFile, '-l', String(o.seconds), '-c', String(o.clients), '-T', '1', '-q', String(o.outstanding), '-t', '2'];
  if (o.maxQps !== undefined) args.push('-Q', String(o.maxQps));
  const r = await runAsync(tools.taskset.binary, args);
  if (r.code !== 0) throw new Error(`dnsperf exited ${r.code}: ${r.stderr.slice(-1000)}`);
  return parseDnsperf(r.stdout);
}

/** One UDP query; resolves with the decoded answer, or null after `timeoutMs`. */
export function dnsQuery(socket: dgram.Socket, port: number, name: string, type: 'A' | 'AAAA', id: number, timeoutMs: number): Promise<dnsPacket.Packet | null> {
  return new Promise((resolve) => {
    const onMessage = (msg: Buffer): void => {
      let p: dnsPacket.Packet;
      try {
        p = dnsPacket.decode(msg);
      } catch {
        return;
      }
      if (p.id !== id) return; // a late answer to an earlier probe
      done(p);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (p: dnsPacket.Packet | null): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(p);
    };
    socket.on('message', onMessage);
    socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }), port, '127.0.0.1');
  });
}

export function udpClient(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.setMaxListeners(1000); // one listener per query in flight (failover probes at a fixed rate)
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** Waits until the server on `port` answers `name` A with an address. */
export async function waitAnswers(port: number, name: string, child?: Child): Promise<void> {
  const socket = await udpClient();
  let id = 1;
  try {
    await waitFor(`DNS answers on ${port}`, async () => {
      const p = await dnsQuery(socket, port, name, 'A', id++ & 0xffff, 500);
      return p !== null && (p.answers?.length ?? 0) > 0;
    }, child);
  } finally {
    socket.close();
  }
}

/** Knot DNS (1 UDP worker) serving `zoneText` as `origin` on 127.0.0.1:port, pinned to `cpus`. */
export async function startKnot(workDir: string, origin: string, zoneText: string, port: number, cpus: string, probeName: string): Promise<Child> {
  ensureTools([tools.knotd]);
  const dir = path.join(workDir, 'knot');
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  mkdirSync(path.join(dir, 'db'), { recursive: true });
  writeFileSync(path.join(dir, 'zone.txt'), zoneText);
  writeFileSync(path.join(dir, 'knot.conf'), [
    'server:',
    `    rundir: "${path.join(dir, 'run')}"`,
    `    listen: 127.0.0.1@${port}`,
    '    udp-workers: 1',
    '    tcp-workers: 1',
    '    background-workers: 1',
    'database:',
    `    storage: "${path.join(dir, 'db')}"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'zone:',
    `  - domain: ${origin}`,
    `    storage: "${dir}"`,
    '    file: "zone.txt"',
    '    journal-content: none',
    '    zonefile-sync: -1',
    '',
  ].join('\n'));
  const child = start('knotd', tools.knotd.binary, ['-c', path.join(dir, 'knot.conf')], { logFile: path.join(dir, 'knotd.log'), cpus });
  await waitAnswers(port, probeName, child);
  return child;
}
