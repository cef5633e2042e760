// One chaos run: start the cluster, set up networks and a DNS probe name, run clients and the
// nemesis for the duration, heal everything, wait for the cluster to settle, read the final
// state of every node, then check (checks.ts). Returns the counts for the one summary line.

import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Prng } from '../../raft/sim/prng.js';
import { ChaosCluster, chaosTiming, http, poll } from './chaos-cluster.js';
import type { NodeProcess } from '../util/cluster.js';
import { checkAcknowledgedPresent, checkIpsInBlocks, checkLinearizable, checkListReads, checkNoDuplicateIps } from './checks.js';
import type { FinalState } from './checks.js';
import { compareDns, LearnerProbe } from './dns-probe.js';
import type { LearnerDnsStats } from './dns-probe.js';
import { Nemesis } from './faults.js';
import type { FaultEvent, FaultKind } from './faults.js';
import { HistoryWriter } from './history.js';
import type { HistoryOp } from './history.js';
import { Client, blocksText, listPairs, makeWorkload } from './workload.js';
import type { WorkloadSpec } from './workload.js';

export interface ChaosOptions {
  readonly voters: number;
  readonly learners: number;
  readonly durationS: number;
  readonly clients: number;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  /** The run directory: data dirs, node logs, history.jsonl, events. */
  readonly dir: string;
  readonly tasks?: number;
  readonly agents?: number;
  readonly entry?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly ops: number;
  readonly ok: number;
  readonly failed: number;
  readonly indeterminate: number;
  readonly violations: string[];
  readonly unchecked: string[];
  readonly learnersDns: LearnerDnsStats[];
  readonly events: FaultEvent[];
  readonly historyPath: string;
  readonly summary: string;
}

export const runLimits = {
  /** After healing: every node must be ready and at one applied index within this. */
  settleMs: 120_000,
  /** Clients stop issuing at the end; in-flight requests finish within the request timeout. */
  finalListLimit: 100_000,
  /** DNS names compared across nodes at the end. */
  dnsSampleMax: 24,
} as const;

const networks = ['dcos', 'chaos'] as const;
/** The second network: small blocks (a /26 per agent, 32 addresses per half) so exhaustion happens. */
const chaosNetwork = { name: 'chaos', subnet: '10.128.0.0/16', prefix: 26 };
const probeTask = { id: 'probe', body: { name: 'probe', framework: 'probe', agent: 'probe-agent', network: 'dcos' } };

async function setup(c: ChaosCluster, log: (l: string) => void): Promise<string> {
  const via = c.voters()[0]!;
  // The first leader creates the default network, unless a client wrote first (then it leaves the
  // state alone): wait for it, then create it ourselves if it never came.
  const dcos = await poll(async () => ((await http(via.url, 'GET', '/v1/networks/dcos')).status === 200 ? true : undefined), 10_000, 250);
  if (dcos === null) {
    const made = await poll(async () => {
      const r = await http(via.url, 'POST', '/v1/networks', { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 });
      return r.status === 201 || r.status === 409 ? r.status : undefined;
    }, chaosTiming.readyWaitMs, 500);
    log(`setup: the default network was not created by the first leader; created it (${made})`);
  }
  const net = await poll(async () => {
    const r = await http(via.url, 'POST', '/v1/networks', chaosNetwork);
    return r.status === 201 || r.status === 409 ? r.status : undefined;
  }, chaosTiming.readyWaitMs, 500);
  if (net === null) throw new Error('could not create the chaos network');
  const agent = await poll(async () => ((await http(via.url, 'PUT', '/v1/agents/probe-agent', { ip: '10.0.1.1' })).status < 300 ? true : undefined), chaosTiming.readyWaitMs, 500);
  const task = await poll(async () => {
    const r = await http(via.url, 'PUT', `/v1/tasks/${probeTask.id}`, probeTask.body);
    return r.status < 300 ? (r.body?.dns?.containerip as string | undefined) : undefined;
  }, chaosTiming.readyWaitMs, 500);
  if (agent === null || task === null) throw new Error('could not register the probe agent and task');
  log(`setup: network chaos ${net}, probe name ${task}`);
  return task;
}

/**
 * Waits until every node is ready and all report the same applied index twice in a row; a node
 * that never becomes ready (GET /v1/ready stays 503: DNS answers SERVFAIL) is a violation.
 */
async function settle(c: ChaosCluster, nodes: readonly NodeProcess[], violations: string[]): Promise<number | null> {
  await Promise.all(nodes.map((n) => c.waitReady([n], runLimits.settleMs).catch((err: Error) => {
    violations.push(`after healing, ${err.message.split(';')[0]} (GET /v1/ready is not 200, so its DNS answers SERVFAIL)`);
  })));
  let previous = -1;
  return poll(async () => {
    const idx = await Promise.all(nodes.map(async (n) => Number((await http(n.url, 'GET', '/v1/cluster', undefined, 3_000)).body?.appliedIndex)));
    const first = idx[0]!;
    if (!idx.every((i) => i === first) || !Number.isFinite(first)) return undefined;
    if (first !== previous) {
      previous = first;
      return undefined;
    }
    return first;
  }, runLimits.settleMs, 500);
}

interface NodeFinal {
  readonly id: string;
  readonly index: string | null;
  readonly tasks: string;
  readonly agents: string;
  readonly networks: string;
  readonly state: FinalState;
}

async function readFinal(n: NodeProcess): Promise<NodeFinal> {
  const tasks = await http(n.url, 'GET', `/v1/tasks?limit=${runLimits.finalListLimit}`);
  const agents = await http(n.url, 'GET', '/v1/agents');
  const networks = await http(n.url, 'GET', '/v1/networks');
  return {
    id: n.id,
    index: tasks.headers.get('x-vnetd-applied-index'),
    tasks: JSON.stringify(tasks.body),
    agents: JSON.stringify(agents.body),
    networks: JSON.stringify(networks.body),
    state: { tasks: tasks.body?.tasks ?? [], agents: agents.body?.agents ?? [] },
  };
}

function compareFinals(finals: readonly NodeFinal[]): string[] {
  const out: string[] = [];
  const ref = finals[0];
  if (ref === undefined) return ['no node answered at the end'];
  for (const f of finals.slice(1)) {
    for (const k of ['index', 'tasks', 'agents', 'networks'] as const) {
      if (f[k] !== ref[k]) out.push(`final ${k} differ: ${ref.id} and ${f.id} (${ref.id}: ${String(ref[k]).slice(0, 200)} / ${f.id}: ${String(f[k]).slice(0, 200)})`);
    }
  }
  return out;
}

/** Final reads appended to the history: the settled state is a read after everything else. */
function finalReads(spec: WorkloadSpec, final: NodeFinal, at: number): HistoryOp[] {
  const ips = new Map(final.state.tasks.map((t) => [t.id, t.ip ?? null]));
  const agents = new Map(final.state.agents.map((a) => [a.id, blocksText(a)]));
  return [
    ...spec.tasks.map((t): HistoryOp => ({ kind: 'task', f: 'read', client: -1, node: final.id, key: t.id, call: at, ret: at + 1, outcome: { kind: 'ok', value: ips.get(t.id) ?? null }, detail: 'final' })),
    ...spec.agents.map((a): HistoryOp => ({ kind: 'agent', f: 'read', client: -1, node: final.id, key: a.id, call: at, ret: at + 1, outcome: { kind: 'ok', value: agents.get(a.id) ?? null }, detail: 'final' })),
  ];
}

function dnsQuestions(final: NodeFinal, probeName: string): { name: string; type: string }[] {
  const names = final.state.tasks.flatMap((t) => {
    const dns = (t as { dns?: { containerip: string; autoip: string; agentip: string } }).dns;
    return dns === undefined ? [] : [dns.containerip, dns.autoip];
  });
  const sample = names.slice(0, runLimits.dnsSampleMax);
  return [
    { name: 'dcos.', type: 'SOA' },
    { name: probeName, type: 'A' },
    { name: 'nothing-here.chaos.containerip.dcos.', type: 'A' },
    { name: 'leader.dcos.', type: 'A' },
    ...sample.map((name) => ({ name, type: 'A' })),
  ];
}

/** Clients, nemesis and DNS probe together for the duration; the last fault is healed when it returns. */
async function load(c: ChaosCluster, o: ChaosOptions, spec: WorkloadSpec, history: HistoryWriter, prng: Prng, probeName: string): Promise<{ nemesis: Nemesis; probe: LearnerProbe; now: () => number }> {
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const durationMs = o.durationS * 1000;
  const stop = (): boolean => now() >= durationMs;
  const targets = (): { id: string; url: string }[] => c.all().filter((n) => n.running).map((n) => ({ id: n.id, url: n.url }));
  const clients = Array.from({ length: o.clients }, (_, i) => new Client(i, spec, targets, prng.fork(), history, t0));
  const nemesis = new Nemesis(c, o.faults, prng.fork(), now, durationMs);
  const probe = new LearnerProbe(c.learners(), probeName);
  const flusher = setInterval(() => history.flush(), 1_000);
  try {
    await Promise.all([...clients.map((cl) => cl.run(stop)), nemesis.run(stop), probe.run(stop)]);
  } finally {
    clearInterval(flusher);
  }
  return { nemesis, probe, now };
}

/** Heals everything, waits for one applied index, reads every node, and runs the state checks. */
async function settleAndCompare(c: ChaosCluster, spec: WorkloadSpec, history: HistoryWriter, probeName: string, at: () => number, log: (l: string) => void): Promise<string[]> {
  c.net.heal();
  for (const n of c.all()) {
    n.resume();
    if (!n.running && n.id !== c.spareId) n.start();
  }
  const nodes = c.all();
  const violations: string[] = [];
  const index = await settle(c, nodes, violations);
  if (index === null) violations.push(`the cluster did not settle within ${runLimits.settleMs} ms (nodes ${nodes.map((n) => n.id).join(',')})`);
  const finals = await Promise.all(nodes.map((n) => readFinal(n).catch(() => null)));
  const answered = finals.filter((f): f is NodeFinal => f !== null);
  if (answered.length < nodes.length) violations.push(`final state: ${nodes.length - answered.length} node(s) did not answer`);
  violations.push(...compareFinals(answered));
  const ref = answered[0];
  if (ref === undefined) return violations;
  const ops = history.ops.slice();
  for (const r of finalReads(spec, ref, at())) history.add(r);
  violations.push(...checkAcknowledgedPresent(ops, ref.state));
  violations.push(...checkNoDuplicateIps(listPairs({ tasks: ref.state.tasks }), 'the final state'));
  violations.push(...checkIpsInBlocks(ref.state));
  violations.push(...(await compareDns(nodes, dnsQuestions(ref, probeName), log)));
  return violations;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const prng = Prng.fromSeed(o.seed);
  const spec = makeWorkload(o.tasks ?? 48, o.agents ?? 6, networks);
  const c = await ChaosCluster.create({ voters: o.voters, learners: o.learners, dir: o.dir, ...(o.entry === undefined ? {} : { entry: o.entry }), ...(o.env === undefined ? {} : { env: o.env }) });
  // However this process ends (Ctrl-C, an uncaught error), no vnetd child outlives it.
  const killChildren = (): void => c.group.killAllNow();
  process.once('exit', killChildren);
  const historyPath = join(o.dir, 'history.jsonl');
  const history = new HistoryWriter(historyPath, { seed: o.seed, voters: o.voters, learners: o.learners, durationS: o.durationS, clients: o.clients, faults: o.faults });
  try {
    log(`chaos: seed ${o.seed}, ${o.voters} voters, ${o.learners} learners, ${o.clients} clients, ${o.durationS} s, faults ${o.faults.join(',') || 'none'}; run dir ${o.dir}`);
    await c.startVoters();
    const probeName = await setup(c, log);
    const violations = await c.startLearners();
    const { nemesis, probe, now } = await load(c, o, spec, history, prng, probeName);
    for (const e of nemesis.events) log(`fault @${(e.at / 1000).toFixed(1)}s-${(e.end / 1000).toFixed(1)}s ${e.kind}: ${e.what}`);
    const ops = history.ops.slice();
    violations.push(...(await settleAndCompare(c, spec, history, probeName, now, log)));
    history.flush();
    violations.push(...checkListReads(ops));
    const lin = checkLinearizable(history.ops, spec.tasks.map((t) => t.id));
    violations.push(...lin.violations);
    for (const e of c.group.crashes()) violations.push(`crash: ${e.id} (pid ${e.pid}) exited with code ${e.code} signal ${e.signal}; its log (${c.node(e.id).addr.id}.log) ends with: ${c.node(e.id).errorLines(3).join(' | ')}`);
    const count = (k: string): number => ops.filter((x) => x.outcome.kind === k).length;
    const r = { ops: ops.length, ok: count('ok'), failed: count('refused'), indeterminate: count('unknown') };
    for (const s of probe.stats) log(`learner ${s.id} DNS: ${s.answered}/${s.asked} answered (${s.asked === 0 ? '-' : ((100 * s.answered) / s.asked).toFixed(1)}%), longest gap ${s.longestGapMs} ms`);
    log(`linearizability: ${lin.partitions} keys checked, ${lin.unknownKeys.length} undecided within the search budget${lin.unknownKeys.length > 0 ? ` (${lin.unknownKeys.slice(0, 5).join(', ')})` : ''}`);
    for (const v of violations) log(`VIOLATION ${v}`);
    const summary = `chaos: ops=${r.ops} ok=${r.ok} failed=${r.failed} indeterminate=${r.indeterminate} violations=${violations.length}`;
    return { ...r, violations, unchecked: lin.unknownKeys, learnersDns: probe.stats, events: nemesis.events, historyPath, summary };
  } finally {
    history.flush();
    await c.destroy();
    process.off('exit', killChildren);
  }
}
