// `npm run bench -- propagation [--samples 1000] [--poll-ms 1]`
//
// How soon a new allocation answers in DNS on the learners (issue 5): a 3-voter cluster plus 2
// learners (joined with --join --role learner), fsync on. One allocation at a time through the
// leader's HTTP API; from the moment its `PUT /v1/tasks/{id}` returns, a UDP client asks every
// learner for the task's containerip name every --poll-ms until it answers with an address. The
// figure per sample and learner is that delay; reported as p50, p99 and max over all of them (and
// per learner). Target: p99 < 50 ms.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type dgram from 'node:dgram';
import { Latencies, printTable, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs } from '../lib/args.js';
import { dnsQuery, udpClient } from '../lib/dns-tools.js';
import { httpCall, hostPort } from '../lib/http-load.js';
import { hostLoad, sleep } from '../lib/proc.js';
import { VnetdCluster } from '../lib/vnetd-cluster.js';

export const propagationBench = {
  voters: 3,
  learners: 2,
  samplesDefault: 1_000,
  pollMsDefault: 1,
  agents: 10,
  network: { name: 'bench', subnet: '10.0.0.0/8', prefix: 22 },
  /** A name not answering within this long counts as missed (and as this long in the figures). */
  answerWaitMs: 5_000,
  /** Each probe's own answer deadline (loopback: a lost datagram is rare, but must not hang a sample). */
  probeTimeoutMs: 200,
  targets: { p99MsMax: 50 },
} as const;

function put(agent: http.Agent, address: string, pathName: string, body: unknown): Promise<{ status: number; body: string }> {
  const { host, port } = hostPort(address);
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method: 'PUT', path: pathName, agent, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

let probeId = 1;

/** Ms from `t0` until `port` answers `name` with an A record; answerWaitMs when it never does. */
async function untilAnswered(socket: dgram.Socket, port: number, name: string, t0: number, pollMs: number): Promise<{ ms: number; answered: boolean }> {
  const deadline = t0 + propagationBench.answerWaitMs;
  for (;;) {
    const p = await dnsQuery(socket, port, name, 'A', (probeId = (probeId + 1) & 0xffff), propagationBench.probeTimeoutMs);
    const now = performance.now();
    if (p !== null && (p.answers ?? []).some((a) => a.type === 'A')) return { ms: now - t0, answered: true };
    if (now > deadline) return { ms: propagationBench.answerWaitMs, answered: false };
    await sleep(pollMs);
  }
}

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 10, repeats: 1, warmupSeconds: 2 }, ['samples', 'poll-ms'] as const);
  const samples = Number(o.extra.samples ?? propagationBench.samplesDefault);
  const pollMs = Number(o.extra['poll-ms'] ?? propagationBench.pollMsDefault);
  const workDir = path.join(context.workDir, `propagation-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const loadBefore = hostLoad();
  // Learners are the target; while a learner cannot join, measure on the two followers and say so.
  const started = await VnetdCluster.startWithLearners({ voters: propagationBench.voters, learners: propagationBench.learners, workDir });
  const cluster = started.cluster;
  const measuredOn = started.fallback === null ? 'learners (joined with --join --role learner)' : `followers: ${started.fallback}`;
  if (started.fallback !== null) console.log(`bench: measuring on ${measuredOn}`);
  const all = new Latencies();
  const perLearner = new Map<string, Latencies>();
  let missed = 0;
  let allocMs = new Latencies();
  const sockets: dgram.Socket[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const leader = await cluster.leader();
    const { host, port } = hostPort(leader.http);
    await httpCall(host, port, 'POST', '/v1/networks', propagationBench.network, [201]);
    for (let a = 0; a < propagationBench.agents; a++) await httpCall(host, port, 'PUT', `/v1/agents/agent-${a}`, { ip: `172.16.0.${a + 1}` }, [201]);
    const learners = cluster.learners.length > 0 ? cluster.learners : cluster.nodes.filter((n) => n.id !== leader.id);
    for (const l of learners) {
      perLearner.set(l.id, new Latencies());
      sockets.push(await udpClient());
    }
    // Warm-up: the first allocations pay for JIT and connection set-up.
    const warm = Math.min(50, samples);
    for (let i = -warm; i < samples; i++) {
      const id = `p${i + warm}`;
      const a0 = performance.now();
      const r = await put(agent, leader.http, `/v1/tasks/${id}`, { name: id, framework: 'bench', agent: `agent-${(i + warm) % propagationBench.agents}`, network: propagationBench.network.name });
      const t0 = performance.now();
      if (r.status !== 201) throw new Error(`PUT /v1/tasks/${id}: ${r.status} ${r.body.slice(0, 300)}`);
      const name = (JSON.parse(r.body) as { dns: { containerip: string } }).dns.containerip;
      const results = await Promise.all(learners.map((l, k) => untilAnswered(sockets[k] as dgram.Socket, hostPort(l.dns).port, name, t0, pollMs)));
      if (i < 0) continue;
      allocMs.record(t0 - a0);
      results.forEach((res, k) => {
        all.record(res.ms);
        perLearner.get((learners[k] as { id: string }).id)?.record(res.ms);
        if (!res.answered) missed++;
      });
    }
  } finally {
    agent.destroy();
    for (const s of sockets) s.close();
    await cluster.stop();
  }
  const summary = all.summary();
  const rows = [{ node: 'all', ...summary }, ...[...perLearner].map(([id, l]) => ({ node: id, ...l.summary() }))];
  console.log(`measured on ${measuredOn}`);
  printTable(rows);
  const targets = { p99Under50Ms: { value: summary.p99Ms, met: summary.p99Ms < propagationBench.targets.p99MsMax && missed === 0 } };
  console.log(`allocation (HTTP on the leader): ${JSON.stringify(allocMs.summary())}; missed ${missed}`);
  for (const [name, v] of Object.entries(targets)) console.log(`target ${name}: ${v.value} ${v.met ? 'MET' : 'MISSED'}`);
  const file = writeResults('propagation', {
    parameters: { samples, pollMs, voters: propagationBench.voters, learners: propagationBench.learners, measuredOn, fsync: true, hostLoadBefore: loadBefore, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { all: summary, perLearner: Object.fromEntries([...perLearner].map(([id, l]) => [id, l.summary()])), missed, allocationHttpMs: allocMs.summary(), targets },
  });
  console.log(`wrote ${file}`);
  allocMs = new Latencies();
  rmSync(workDir, { recursive: true, force: true });
}
