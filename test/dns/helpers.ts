// Shared helpers for the DNS tests: our own client (dns-packet to build and read packets, raw UDP
// and TCP sockets), a dig runner whose text output is parsed into the same shape, and a sample zone.
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { createZoneIndex, type MemoryZoneIndex } from '../../dns/zone-index.js';
import type { ZoneConfig } from '../../dns/zone.js';

export interface Rr {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly data: string;
}

/** One decoded answer, the same shape from dns-packet and from dig. */
export interface Reply {
  readonly id: number;
  readonly rcode: string;
  readonly flags: { qr: boolean; aa: boolean; tc: boolean; rd: boolean; ra: boolean; cd: boolean };
  readonly question: { name: string; type: string } | undefined;
  readonly answers: Rr[];
  readonly authorities: Rr[];
  readonly additionals: Rr[];
  /** The OPT record if present: payload size, version, DO. */
  readonly opt: { udp: number; version: number; do: boolean; extendedRcode: number; options: number } | undefined;
}

export interface AskOptions {
  id?: number;
  rd?: boolean;
  cd?: boolean;
  klass?: 'IN' | 'CH';
  /** Add an OPT record. */
  edns?: { udp?: number; version?: number; do?: boolean; options?: dnsPacket.PacketOpt[] };
}

/** Builds a query with dns-packet (names keep their case). */
export function buildQuery(name: string, type: string, o: AskOptions = {}): Buffer {
  let flags = o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED;
  if (o.cd) flags |= dnsPacket.CHECKING_DISABLED;
  const additionals: dnsPacket.Answer[] = [];
  if (o.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: o.edns.udp ?? 1232,
      ednsVersion: o.edns.version ?? 0,
      flags: o.edns.do ? dnsPacket.DNSSEC_OK : 0,
      options: o.edns.options ?? [],
    } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    type: 'query',
    id: o.id ?? 4242,
    flags,
    questions: [{ name, type: type as dnsPacket.RecordType, class: o.klass ?? 'IN' }],
    additionals,
  });
}

function rrData(a: dnsPacket.Answer): string {
  const d = (a as { data?: unknown }).data;
  switch (a.type) {
    case 'SRV': {
      const s = d as dnsPacket.SrvData;
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${s.target}.`;
    }
    case 'SOA': {
      const s = d as dnsPacket.SoaData;
      return `${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case 'PTR':
    case 'NS':
    case 'CNAME':
      return `${String(d)}.`;
    case 'HINFO': {
      const h = d as dnsPacket.HInfoData;
      return `"${h.cpu}" "${h.os}"`;
    }
    default:
      return Buffer.isBuffer(d) ? d.toString('hex') : String(d);
  }
}

function rr(a: dnsPacket.Answer): Rr {
  return { name: a.name === '.' ? '.' : `${a.name}.`, type: a.type, ttl: (a as { ttl?: number }).ttl ?? 0, data: rrData(a) };
}

/** Decodes an answer with dns-packet into a Reply. */
export function decodeReply(bytes: Buffer): Reply {
  const p = dnsPacket.decode(bytes) as dnsPacket.DecodedPacket & { rcode: string };
  const optRr = (p.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const extendedRcode = optRr?.extendedRcode ?? 0;
  const rcode = extendedRcode === 1 && p.rcode === 'NOERROR' ? 'BADVERS' : p.rcode;
  const q = p.questions?.[0];
  return {
    id: p.id ?? -1,
    rcode,
    flags: { qr: p.flag_qr, aa: p.flag_aa, tc: p.flag_tc, rd: p.flag_rd, ra: p.flag_ra, cd: p.flag_cd },
    question: q === undefined ? undefined : { name: `${q.name}.`, type: q.type },
    answers: (p.answers ?? []).map(rr),
    authorities: (p.authorities ?? []).map(rr),
    additionals: (p.additionals ?? []).filter((a) => a.type !== 'OPT').map(rr),
    opt: optRr === undefined ? undefined : { udp: optRr.udpPayloadSize, version: optRr.ednsVersion, do: optRr.flag_do, extendedRcode, options: optRr.options.length },
  };
}

/** Sends one datagram to 127.0.0.1:port; resolves with the first reply, or undefined on timeout. */
export function udpExchange(port: number, query: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (reply: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    socket.on('message', (msg) => done(msg));
    socket.on('error', () => done(undefined));
    socket.send(query, port, '127.0.0.1');
  });
}

/** Attempts of askUdp: a stub resolver retries over UDP (RFC 1536 §1), and so do the tests, so a
 * datagram lost on a loaded machine is not taken for a missing answer. */
const udpAttempts = 3;

export async function askUdp(port: number, name: string, type: string, o: AskOptions = {}): Promise<Reply> {
  const query = buildQuery(name, type, o);
  for (let attempt = 1; attempt <= udpAttempts; attempt++) {
    const reply = await udpExchange(port, query, 1000 * attempt);
    if (reply !== undefined) return decodeReply(reply);
  }
  throw new Error(`no UDP answer for ${name} ${type} after ${udpAttempts} attempts`);
}

/** Frames messages for DNS over TCP (2-byte big-endian length). */
export function frame(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]));
}

/**
 * Opens a TCP connection, writes `chunks` (with `gapMs` between them), and collects `expect`
 * framed answers; rejects after `timeoutMs`.
 */
export function tcpExchange(port: number, chunks: Buffer[], expect: number, gapMs = 0, timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const answers: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`got ${answers.length} of ${expect} TCP answers`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        answers.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (answers.length >= expect) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answers);
      }
    });
    socket.on('connect', async () => {
      for (const c of chunks) {
        socket.write(c);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** Runs dig against 127.0.0.1:port with `args` and parses its text output into a Reply. */
export async function dig(port: number, args: string[]): Promise<Reply & { raw: string }> {
  const raw = await new Promise<string>((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args], { timeout: 10_000 }, (err, stdout) => {
      if (err && stdout === '') reject(err);
      else resolve(stdout);
    });
  });
  return { ...parseDig(raw), raw };
}

const sectionNames = { 'ANSWER SECTION:': 'answers', 'AUTHORITY SECTION:': 'authorities', 'ADDITIONAL SECTION:': 'additionals' } as const;

/** Parses dig's default text output (header, flags, EDNS pseudosection, sections). */
export function parseDig(raw: string): Reply {
  const header = /opcode: \w+, status: (\w+), id: (\d+)/.exec(raw);
  const flagLine = /;; flags:([^;]*);/.exec(raw);
  const flags = new Set((flagLine?.[1] ?? '').trim().split(/\s+/));
  const edns = /; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(raw);
  const sections: { answers: Rr[]; authorities: Rr[]; additionals: Rr[] } = { answers: [], authorities: [], additionals: [] };
  let current: keyof typeof sections | undefined;
  let question: Reply['question'];
  let inQuestion = false;
  for (const line of raw.split('\n')) {
    const s = line.trim();
    if (s.startsWith(';; QUESTION SECTION:')) {
      inQuestion = true;
      continue;
    }
    if (inQuestion && s.startsWith(';') && !s.startsWith(';;')) {
      const [name, , type] = s.slice(1).split(/\s+/);
      question = { name: name!, type: type! };
      inQuestion = false;
      continue;
    }
    const sec = Object.entries(sectionNames).find(([k]) => s.startsWith(`;; ${k}`));
    if (sec) {
      current = sec[1];
      continue;
    }
    if (s === '' || s.startsWith(';')) {
      if (s === '') current = undefined;
      continue;
    }
    if (current) {
      const [name, ttl, , type, ...data] = s.split(/\s+/);
      sections[current].push({ name: name!, type: type!, ttl: Number(ttl), data: data.join(' ') });
    }
  }
  return {
    id: Number(header?.[2] ?? -1),
    rcode: header?.[1] ?? 'NONE',
    flags: { qr: flags.has('qr'), aa: flags.has('aa'), tc: flags.has('tc'), rd: flags.has('rd'), ra: flags.has('ra'), cd: flags.has('cd') },
    question,
    ...sections,
    opt: edns === null ? undefined : { udp: Number(edns[3]), version: Number(edns[1]), do: edns[2]!.includes('do'), extendedRcode: 0, options: 0 },
  };
}

export const origin = 'dcos.';

/**
 * A small zone in the shape src/records will produce (DESIGN.md §1): agentip/containerip names,
 * SRV with targets, leader/master, PTR, and a big RRset for truncation tests.
 */
export function sampleZone(config: Partial<ZoneConfig> = {}): MemoryZoneIndex {
  const zone = createZoneIndex({ origin, aliases: ['dcos.thisdcos.directory.'], ...config });
  zone.setRRset('web.marathon.agentip.dcos.', 'A', ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  zone.setRRset('web.marathon.containerip.dcos.', 'A', ['9.0.1.2', '9.0.1.3']);
  zone.setRRset('web.marathon.containerip.dcos.', 'AAAA', ['fd01:b::2']);
  zone.setRRset('_web._tcp.marathon.containerip.dcos.', 'SRV', [
    { priority: 0, weight: 0, port: 8080, target: 'web.marathon.containerip.dcos.' },
  ]);
  zone.setRRset('leader.dcos.', 'A', ['127.0.0.1']);
  zone.setRRset('master.dcos.', 'A', ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  zone.setRRset('2.1.0.9.in-addr.arpa.', 'PTR', ['web.marathon.containerip.dcos.']);
  // 60 addresses under a 52-byte name: about 27 fit in 512 bytes with compression, not 60.
  const many = Array.from({ length: 60 }, (_, i) => `10.1.${i >> 8}.${i & 0xff}`);
  zone.setRRset('a-rather-long-task-name-here.some-framework.agentip.dcos.', 'A', many);
  zone.setSerial(17);
  zone.setReady(true);
  return zone;
}
