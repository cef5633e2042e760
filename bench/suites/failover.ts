// `npm run bench -- failover [--repeats 3] [--qps 500]`
//
// Availability across a leader crash: 3 voters + 2 learners (followers while a learner cannot
// join), fsync on. A UDP client asks a learner for an existing task's containerip name at a fixed
// rate; after a baseline the leader is killed with SIGKILL. Reported per run, then as medians:
// the DNS success rate from the kill to the end of the run and the longest gap between two
// answered queries; the time from the kill to a new leader (as seen by the DNS node's
// /v1/cluster) and to the first acknowledged write (PUT /v1/tasks through the DNS node, which
// forwards to whoever leads). A fresh cluster per run.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type dgram from 'node:dgram';
import { medianOf, printTable, round, writeResults } from '../harness.js';
import type { SuiteContext } from '../run.js';
import { parseSuiteArgs } from '../lib/args.js';
import { dnsQuery, udpClient } from '../lib/dns-tools.js';
import { httpCall, hostPort } from '../lib/http-load.js';
import { hostLoad, sleep } from '../lib/proc.js';
import { VnetdCluster } from '../lib/vnetd-cluster.js';
import type { VnetdNode } from '../lib/vnetd-cluster.js';

export const failoverBench = {
  voters: 3,
  learners: 2,
  qpsDefault: 500,
  baselineMs: 2_000,
  /** The run goes on this long after the first acknowledged write. */
  tailMs: 2_000,
  /** Give up on a run (and report it) after this long without a new leader or write. */
  runMsMax: 30_000,
  queryTimeoutMs: 250,
  leaderPollMs: 10,
  writeTimeoutMs: 6_000,
  network: { name: 'bench', subnet: '10.0.0.0/8', prefix: 22 },
} as const;

type Fig = 'dnsSuccessPercent' | 'longestGapMs' | 'newLeaderMs' | 'firstWriteMs' | 'queriesAfterKill';

/** Fixed-rate DNS queries; records when each answered query was sent and how it went. */
class DnsProbe {
  private timer: NodeJS.Timeout | null = null;
  private id = 0;
  readonly sent: { at: number; ok: boolean | null }[] = [];

  constructor(private readonly socket: dgram.Socket, private readonly port: number, private readonly name: string) {}

  start(qps: number): void {
    const intervalMs = 1000 / qps;
    let next = performance.now();
    // A coarse timer sends the queries that are due: setInterval alone cannot keep a 2 ms pace.
    this.timer = setInterval(() => {
      const now = performance.now();
      while (next <= now) {
        this.fire(next);
        next += intervalMs;
      }
    }, 5);
  }

  private fire(at: number): void {
    const slot = { at, ok: null as boolean | null };
    this.sent.push(slot);
    this.id = (this.id + 1) & 0xffff;
    void dnsQuery(this.socket, this.port, this.name, 'A', this.id, failoverBench.queryTimeoutMs).then((p) => {
      slot.ok = p !== null && (p.answers ?? []).some((a) => a.type === 'A');
    });
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Success rate of queries sent at or after `from`, and the longest gap between answered queries. */
  figures(from: number): { successPercent: number; longestGapMs: number; count: number } {
    const after = this.sent.filter((s) => s.at >= from && s.ok !== null);
    const ok = after.filter((s) => s.ok === true).length;
    let last: number | null = null;
    let gap = 0;
    for (const s of this.sent) {
      if (s.ok !== true) continue;
      if (last !== null) gap = Math.max(gap, s.at - last);
      last = s.at;
    }
    return { successPercent: after.length === 0 ? 0 : round((ok / after.length) * 100, 3), longestGapMs: round(gap, 1), count: after.length };
  }
}

async function waitNewLeader(via: VnetdNode, old: string, cluster: VnetdCluster, deadline: number): Promise<number | null> {
  while (performance.now() < deadline) {
    const v = await cluster.view(via).catch(() => null);
    if (v !== null && v.leader !== null && v.leader !== old) return performance.now();
    await sleep(failoverBench.leaderPollMs);
  }
  return null;
}

async function firstWrite(via: VnetdNode, deadline: number): Promise<number | null> {
  const { host, port } = hostPort(via.http);
  for (let k = 0; performance.now() < deadline; k++) {
    const id = `after-${k}`;
    try {
      await httpCall(host, port, 'PUT', `/v1/tasks/${id}`, { name: id, framework: 'bench', agent: 'agent-0', network: failoverBench.network.name }, [201]);
      return performance.now();
    } catch {
      await sleep(failoverBench.leaderPollMs);
    }
  }
  return null;
}

async function once(workDir: string, qps: number): Promise<{ figures: Record<Fig, number>; measuredOn: string }> {
  const { cluster, fallback } = await VnetdCluster.startWithLearners({ voters: failoverBench.voters, learners: failoverBench.learners, workDir });
  const socket = await udpClient();
  try {
    const leader = await cluster.leader();
    const { host, port } = hostPort(leader.http);
    await httpCall(host, port, 'POST', '/v1/networks', failoverBench.network, [201]);
    await httpCall(host, port, 'PUT', '/v1/agents/agent-0', { ip: '172.16.0.1' }, [201]);
    const task = (await httpCall(host, port, 'PUT', '/v1/tasks/probe', { name: 'probe', framework: 'bench', agent: 'agent-0', network: failoverBench.network.name }, [201])) as { dns: { containerip: string } };
    const dnsNode = cluster.learners[0] ?? cluster.nodes.find((n) => n.id !== leader.id);
    if (dnsNode === undefined) throw new Error('no node to query');
    const probe = new DnsProbe(socket, hostPort(dnsNode.dns).port, task.dns.containerip);
    probe.start(qps);
    await sleep(failoverBench.baselineMs);
    const killedAt = performance.now();
    await leader.child.kill9();
    const deadline = killedAt + failoverBench.runMsMax;
    const [leaderAt, writeAt] = await Promise.all([waitNewLeader(dnsNode, leader.id, cluster, deadline), firstWrite(dnsNode, deadline)]);
    await sleep(failoverBench.tailMs);
    probe.stop();
    await sleep(failoverBench.queryTimeoutMs * 2);
    const d = probe.figures(killedAt);
    return {
      figures: {
        dnsSuccessPercent: d.successPercent,
        longestGapMs: d.longestGapMs,
        newLeaderMs: leaderAt === null ? -1 : round(leaderAt - killedAt, 1),
        firstWriteMs: writeAt === null ? -1 : round(writeAt - killedAt, 1),
        queriesAfterKill: d.count,
      },
      measuredOn: fallback === null ? `learner ${dnsNode.id}` : `follower ${dnsNode.id}: ${fallback}`,
    };
  } finally {
    socket.close();
    await cluster.stop();
  }
}

export async function run(args: readonly string[], context: SuiteContext): Promise<void> {
  const o = parseSuiteArgs(args, { seconds: 10, repeats: 3, warmupSeconds: 0 }, ['qps'] as const);
  const qps = Number(o.extra.qps ?? failoverBench.qpsDefault);
  const workDir = path.join(context.workDir, `failover-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const loadBefore = hostLoad();
  let measuredOn = '';
  const { median, runs } = await medianOf(o.repeats, async (r) => {
    const res = await once(path.join(workDir, `run${r}`), qps);
    measuredOn = res.measuredOn;
    console.log(`  run ${r + 1}: ${JSON.stringify(res.figures)}`);
    return res.figures;
  });
  printTable([{ ...median }]);
  console.log(`DNS load on ${measuredOn}; -1 = did not happen within ${failoverBench.runMsMax} ms`);
  const file = writeResults('failover', {
    parameters: { repeats: o.repeats, qps, voters: failoverBench.voters, learners: failoverBench.learners, measuredOn, baselineMs: failoverBench.baselineMs, queryTimeoutMs: failoverBench.queryTimeoutMs, kill: 'SIGKILL of the leader', fsync: true, hostLoadBefore: loadBefore, hostLoadAfter: hostLoad() },
    machine: context.machine,
    figures: { median, runs },
  });
  console.log(`wrote ${file}`);
  rmSync(workDir, { recursive: true, force: true });
}
