// The bad-input fuzzer (issue 7): while one client runs a valid sequential workload against a
// 3-voter cluster, fuzz loops send the HTTP API bad requests (fuzz-cases.ts), the peer ports
// random and truncated frames, and the DNS ports random and mutated packets. Afterwards:
//   - no node crashed, and each node's RSS grew by at most fuzzLimits.rssGrowthKiBMax;
//   - every bad HTTP request got a 4xx (or, for an incomplete message, a hang-up);
//   - every DNS answer to a packet that is not a DNS message is an error code (or no answer);
//   - the cluster's state equals that of a reference node that received only the valid operations.
//
//   node dist/test/chaos/fuzz.js [--seed X] [--duration S] [--dir DIR]
// ends with one line `fuzz: http=N peer=M dns=K valid=V violations=X` (exit 1 when X > 0).

import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { Prng } from '../../raft/sim/prng.js';
import { ProcessGroup } from '../util/cluster.js';
import type { NodeProcess } from '../util/cluster.js';
import { freePorts } from '../util/ports.js';
import { ChaosCluster, http, poll } from './chaos-cluster.js';
import { dnsCase, httpCases, peerCase } from './fuzz-cases.js';
import type { HttpCase } from './fuzz-cases.js';

export const fuzzRunLimits = {
  /** RSS growth allowed per node over the fuzz round (a leak of per-request state would exceed it). */
  rssGrowthKiBMax: 200 * 1024,
  /** A bad request with no answer after this is a finding (an incomplete message may be hung up on). */
  httpAnswerMs: 20_000,
  dnsAnswerMs: 500,
  /** A peer connection is dropped by us after this if the node has not closed it. */
  peerHoldMs: 1_000,
  settleMs: 90_000,
} as const;

export interface FuzzOptions {
  readonly seed: number;
  readonly durationS: number;
  readonly dir: string;
  readonly log?: (line: string) => void;
}

export interface FuzzResult {
  readonly http: number;
  readonly peer: number;
  readonly dns: number;
  readonly valid: number;
  readonly violations: string[];
  readonly summary: string;
}

const portOf = (hostPort: string): number => Number(hostPort.split(':').pop());

/** Sends raw bytes; resolves with the HTTP status of the answer, or 'closed' / 'timeout'. */
function sendHttp(port: number, c: HttpCase): Promise<number | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => done('timeout'), fuzzRunLimits.httpAnswerMs);
    const done = (v: number | 'closed' | 'timeout'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m !== null) done(Number(m[1]));
    });
    socket.on('error', () => done('closed'));
    socket.on('close', () => done('closed'));
    socket.write(c.bytes, () => {
      if (c.expect === 'closed-ok') socket.end();
    });
  });
}

function sendDns(port: number, bytes: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => done(null), fuzzRunLimits.dnsAnswerMs);
    const done = (v: Buffer | null): void => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    s.on('message', (m) => done(m));
    s.on('error', () => done(null));
    s.send(bytes, port, '127.0.0.1');
  });
}

/** Raw bytes to a TCP port, held open up to peerHoldMs (peer frames, DNS over TCP). */
function sendPeer(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(), fuzzRunLimits.peerHoldMs);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('data', () => undefined);
    socket.write(bytes);
  });
}

const decodes = (b: Buffer): boolean => {
  try {
    dnsPacket.decode(b);
    return true;
  } catch {
    return false;
  }
};

interface ValidOp {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

/** The valid workload: agents first, then allocations and releases over a few agents and both networks. */
function validOps(p: Prng, n: number): ValidOp[] {
  const ops: ValidOp[] = [];
  for (let i = 0; i < 4; i++) ops.push({ method: 'PUT', path: `/v1/agents/a${i}`, body: { ip: `10.0.0.${10 + i}` } });
  while (ops.length < n) {
    const t = p.int(24);
    const body = { name: `app${t}`, framework: 'fuzz', agent: `a${t % 4}`, network: t % 2 === 0 ? 'dcos' : 'chaos' };
    ops.push(p.chance(0.7) ? { method: 'PUT', path: `/v1/tasks/t${t}`, body } : { method: 'DELETE', path: `/v1/tasks/t${t}` });
  }
  return ops;
}

/** Runs `op` until it has a definite answer (2xx or 4xx: writes are idempotent per id); returns the status. */
async function definite(url: () => string, op: ValidOp, deadlineMs: number): Promise<number> {
  for (;;) {
    const r = await http(url(), op.method, op.path, op.body).catch(() => null);
    if (r !== null && r.status < 500) return r.status;
    if (Date.now() > deadlineMs) throw new Error(`valid ${op.method} ${op.path} got no definite answer (last ${r?.status ?? 'no answer'})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function prepare(url: string): Promise<void> {
  const dcos = await poll(async () => ((await http(url, 'GET', '/v1/networks/dcos')).status === 200 ? true : undefined), 60_000);
  if (dcos === null) throw new Error(`${url}: no default network`);
  const made = await poll(async () => {
    const r = await http(url, 'POST', '/v1/networks', { name: 'chaos', subnet: '10.128.0.0/16', prefix: 26 });
    return r.status === 201 || r.status === 409 ? true : undefined;
  }, 60_000, 500);
  if (made === null) throw new Error(`${url}: could not create the chaos network`);
}

/** Where two state texts part, with some context from each. */
function firstDifference(got: string, want: string): string {
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const from = Math.max(0, i - 60);
  return `at character ${i}: cluster "…${got.slice(from, i + 140)}…" / reference "…${want.slice(from, i + 140)}…"`;
}

async function stateOf(url: string): Promise<string> {
  const parts = await Promise.all(['/v1/tasks', '/v1/agents', '/v1/networks'].map(async (p) => JSON.stringify((await http(url, 'GET', p)).body)));
  return parts.join('\n');
}

/** The fuzz loops of one round, sharing the node list, the deadline and the findings. */
class Round {
  readonly violations: string[] = [];
  readonly counts = { http: 0, peer: 0, dns: 0, valid: 0 };
  /** The valid operations in the order the cluster answered them (the client is sequential). */
  readonly applied: { op: ValidOp; status: number }[] = [];

  constructor(
    private readonly nodes: readonly NodeProcess[],
    private readonly stop: () => boolean,
  ) {}

  private pick(p: Prng): NodeProcess {
    return p.pick(this.nodes);
  }

  async valid(p: Prng): Promise<void> {
    for (const op of validOps(p.fork(), 100_000)) {
      if (this.stop()) return;
      const status = await definite(() => this.pick(p).url, op, Date.now() + 60_000);
      this.applied.push({ op, status });
      this.counts.valid++;
    }
  }

  async http(p: Prng): Promise<void> {
    while (!this.stop()) {
      for (const hc of httpCases(p, 20)) {
        const got = await sendHttp(portOf(this.pick(p).addr.http), hc);
        this.counts.http++;
        const ok = typeof got === 'number' ? got >= 400 && got < 500 : got === 'closed' && hc.expect === 'closed-ok';
        if (!ok) this.violations.push(`bad request "${hc.what}" got ${got} (expected ${hc.expect === '4xx' ? 'a 4xx' : 'a 4xx or a hang-up'})`);
        if (this.stop()) return;
      }
    }
  }

  async dns(p: Prng): Promise<void> {
    while (!this.stop()) {
      const dc = dnsCase(p);
      const port = portOf(this.pick(p).addr.dns);
      this.counts.dns++;
      if (p.chance(0.1)) {
        // DNS over TCP (RFC 7766): the same bytes behind a length prefix that may lie.
        const len = Buffer.alloc(2);
        len.writeUInt16BE(p.chance(0.5) ? dc.bytes.length : p.int(65536), 0);
        await sendPeer(port, Buffer.concat([len, dc.bytes]));
        continue;
      }
      const reply = await sendDns(port, dc.bytes);
      if (reply === null) continue;
      let rcode: string;
      try {
        rcode = (dnsPacket.decode(reply) as { rcode?: string }).rcode ?? 'NOERROR';
      } catch {
        this.violations.push(`DNS ${dc.what}: the answer does not decode`);
        continue;
      }
      if (!decodes(dc.bytes) && rcode === 'NOERROR') this.violations.push(`DNS ${dc.what}: a packet that is not a DNS message got NOERROR`);
    }
  }

  async peer(p: Prng): Promise<void> {
    while (!this.stop()) {
      await sendPeer(portOf(this.pick(p).addr.raft), peerCase(p).bytes);
      this.counts.peer++;
    }
  }

  /** The reference gets only the valid operations, in the same order: same answers, same state. */
  async compareWithReference(ref: NodeProcess): Promise<void> {
    for (const a of this.applied) {
      const status = await definite(() => ref.url, a.op, Date.now() + 60_000);
      if (Math.floor(status / 100) !== Math.floor(a.status / 100) || (status >= 400 && status !== a.status)) this.violations.push(`valid ${a.op.method} ${a.op.path}: cluster answered ${a.status}, reference ${status}`);
    }
    const settled = await poll(async () => {
      const idx = await Promise.all(this.nodes.map(async (n) => (await http(n.url, 'GET', '/v1/cluster')).body?.appliedIndex as number));
      return idx.every((i) => i === idx[0]) ? true : undefined;
    }, fuzzRunLimits.settleMs, 500);
    if (settled === null) this.violations.push('the cluster did not settle at one applied index');
    const want = await stateOf(ref.url);
    for (const n of this.nodes) {
      const got = await stateOf(n.url).catch((err: Error) => `unreachable: ${err.message}`);
      if (got !== want) this.violations.push(`${n.id}: state differs from the reference that saw only the valid operations: ${firstDifference(got, want)}`);
    }
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => {});
  const prng = Prng.fromSeed(o.seed);
  const c = await ChaosCluster.create({ voters: 3, learners: 0, dir: join(o.dir, 'cluster') });
  mkdirSync(join(o.dir, 'ref'), { recursive: true });
  const refGroup = new ProcessGroup(join(o.dir, 'ref'));
  const rp = await freePorts(3);
  const ref = refGroup.add({ id: 'ref', raft: `127.0.0.1:${rp[0]}`, http: `127.0.0.1:${rp[1]}`, dns: `127.0.0.1:${rp[2]}` }, join(o.dir, 'ref', 'data'), ['--log-level', 'warn']);
  const killChildren = (): void => {
    c.group.killAllNow();
    refGroup.killAllNow();
  };
  process.once('exit', killChildren);
  try {
    log(`fuzz: seed ${o.seed}, ${o.durationS} s, 3 voters; run dir ${o.dir}`);
    ref.start();
    await Promise.all([c.startVoters(), c.waitReady([ref])]);
    await prepare(c.voters()[0]!.url);
    await prepare(ref.url);
    const nodes = c.voters();
    const rss0 = new Map(nodes.map((n) => [n.id, n.rssKiB() ?? 0]));
    const deadline = Date.now() + o.durationS * 1000;
    const round = new Round(nodes, () => Date.now() >= deadline);
    await Promise.all([round.valid(prng.fork()), round.http(prng.fork()), round.http(prng.fork()), round.dns(prng.fork()), round.dns(prng.fork()), round.peer(prng.fork())]);
    const { counts, violations } = round;
    log(`fuzz: ${counts.http} bad HTTP requests, ${counts.peer} bad peer connections, ${counts.dns} bad DNS packets, ${counts.valid} valid operations`);
    for (const n of nodes) {
      const rss = n.rssKiB();
      const grew = rss === null ? null : rss - (rss0.get(n.id) ?? 0);
      log(`fuzz: ${n.id} RSS ${rss0.get(n.id)} → ${rss} KiB`);
      if (grew !== null && grew > fuzzRunLimits.rssGrowthKiBMax) violations.push(`${n.id}: RSS grew by ${grew} KiB (at most ${fuzzRunLimits.rssGrowthKiBMax})`);
    }
    await round.compareWithReference(ref);
    for (const e of [...c.group.crashes(), ...refGroup.crashes()]) violations.push(`crash: ${e.id} exited with code ${e.code} signal ${e.signal}`);
    const grouped = new Map<string, number>();
    for (const v of violations) grouped.set(v, (grouped.get(v) ?? 0) + 1);
    for (const [v, n] of grouped) log(`VIOLATION ${v}${n > 1 ? ` (×${n})` : ''}`);
    const summary = `fuzz: http=${counts.http} peer=${counts.peer} dns=${counts.dns} valid=${counts.valid} violations=${violations.length}`;
    return { ...counts, violations, summary };
  } finally {
    await c.destroy();
    await refGroup.destroy();
    process.off('exit', killChildren);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, duration: { type: 'string' }, dir: { type: 'string' } }, strict: true });
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const durationS = values.duration === undefined ? 30 : Number(values.duration);
  if (!Number.isSafeInteger(seed) || seed < 0 || !Number.isSafeInteger(durationS) || durationS < 1) {
    process.stderr.write('fuzz: --seed must be a non-negative integer and --duration a positive integer\n');
    return 2;
  }
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), `vnetd-fuzz-seed-${seed}-`));
  const r = await runFuzz({ seed, durationS, dir, log: (l) => process.stdout.write(`${l}\n`) });
  if (r.violations.length === 0 && values.dir === undefined) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`seed ${seed}; run directory ${dir}\n`);
  process.stdout.write(`${r.summary}\n`);
  return r.violations.length > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fuzz: the run failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(2);
    },
  );
}
