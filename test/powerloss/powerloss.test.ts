// Power loss of a whole cluster (DESIGN.md §6: "Durable means `sync: true`. An `--unsafe-no-fsync`
// switch may exist for benchmarks only, and the fault tests must catch it losing data").
//
// Three real `vnetd start` voters on loopback, each under the power-loss shim (shim/powerloss.c)
// watching its `<data-dir>/raft`. Clients allocate tasks over HTTP; once enough allocations are
// acknowledged the power of ALL nodes is cut at once (SIGKILL, then every LevelDB file cut back
// to what was fsynced, README.md), with requests still in flight. The nodes restart and every
// allocation ever acknowledged must be readable with its IP (Raft §5.4.2: committed entries are on
// a majority's durable logs, and only such a node can win the next election).
//
// - fsync on (the default): no acknowledged allocation is lost, over several cuts in a row.
// - --unsafe-no-fsync: the cut loses acknowledged allocations and this test must see it. It does
//   not depend on timing: LevelDB then never syncs its log, so everything written since the last
//   open (which writes the old log into a synced table) is gone on every node.

import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { http, poll } from '../chaos/chaos-cluster.js';
import { PowerLossCluster } from './cluster.js';
import type { Truncation } from './journal.js';
import { buildShim } from './power-cut.js';

const limits = {
  voters: 3,
  clients: 4,
  agents: 4,
  /** The cut comes once this many allocations of the round are acknowledged. */
  acksPerCut: 24,
  /** Allocations one client sends in a round at most (the round normally ends at the cut). */
  requestsPerClientMax: 200,
  /** Registering the agents right after the start. */
  setupWaitMs: 30_000,
  httpTimeoutMs: 5_000,
  /** Reading one acknowledged task back: a 503 during an election is retried, a 404 is not. */
  readBackMs: 15_000,
} as const;

/** One allocation the cluster acknowledged: it must survive every later cut. */
interface Ack {
  readonly id: string;
  readonly ip: string;
  readonly round: number;
}

interface Lost extends Ack {
  /** What the cluster answered instead: the status, and the IP when it had another one. */
  readonly got: string;
}

const taskBody = (i: number): Record<string, unknown> => ({ name: `app${i % 5}`, framework: 'powerloss', agent: `ag${i % limits.agents}`, network: 'dcos' });

async function registerAgents(c: PowerLossCluster): Promise<void> {
  for (let a = 0; a < limits.agents; a++) {
    const ok = await poll(async () => ((await http(c.nodes()[0]!.url, 'PUT', `/v1/agents/ag${a}`, { ip: `10.1.0.${a + 1}` }, limits.httpTimeoutMs)).status < 300 ? true : undefined), limits.setupWaitMs);
    if (ok !== true) throw new Error(`agent ag${a} not registered`);
  }
}

/**
 * Clients allocate (spread over all nodes; followers forward) until `acksPerCut` allocations are
 * acknowledged, then the power is cut at once, in the callback that saw the ack, while the other
 * clients' requests are in flight. A response that still arrives was sent before the kill: it
 * counts as acknowledged too. Failed or unanswered requests are indeterminate and not checked.
 */
async function loadThenCut(c: PowerLossCluster, round: number, acked: Ack[]): Promise<{ cuts: Truncation[]; acks: number; indeterminate: number }> {
  let cut: Promise<Truncation[]> | null = null;
  let acks = 0;
  let indeterminate = 0;
  const nodes = c.nodes();
  const client = async (k: number): Promise<void> => {
    for (let seq = 0; cut === null && seq < limits.requestsPerClientMax; seq++) {
      const id = `r${round}-c${k}-${seq}`;
      try {
        const r = await http(nodes[(k + seq) % nodes.length]!.url, 'PUT', `/v1/tasks/${id}`, taskBody(seq + k), limits.httpTimeoutMs);
        if (r.status !== 201 && r.status !== 200) {
          indeterminate++;
          continue;
        }
        acked.push({ id, ip: String(r.body.ip), round });
        acks++;
        if (acks >= limits.acksPerCut && cut === null) cut = c.powerCut();
      } catch {
        indeterminate++;
      }
    }
  };
  await Promise.all(Array.from({ length: limits.clients }, (_, k) => client(k)));
  if (cut === null) throw new Error(`round ${round}: only ${acks} of ${limits.acksPerCut} allocations acknowledged (${indeterminate} failed)`);
  return { cuts: await cut, acks, indeterminate };
}

/** Every acknowledged allocation read back (linearizable read) after the restart; the missing ones. */
async function lostAfterRestart(c: PowerLossCluster, acked: readonly Ack[]): Promise<Lost[]> {
  const lost: Lost[] = [];
  const nodes = c.nodes();
  for (const [i, a] of acked.entries()) {
    const r = await poll(async () => {
      const res = await http(nodes[i % nodes.length]!.url, 'GET', `/v1/tasks/${encodeURIComponent(a.id)}?consistent=true`, undefined, limits.httpTimeoutMs);
      return res.status === 200 || res.status === 404 ? res : undefined;
    }, limits.readBackMs);
    if (r === null) throw new Error(`${a.id}: no answer within ${limits.readBackMs} ms`);
    if (r.status === 404) lost.push({ ...a, got: '404' });
    else if (r.body?.ip !== a.ip) lost.push({ ...a, got: `200 ip ${String(r.body?.ip)}` });
  }
  return lost;
}

function describeCuts(cuts: readonly Truncation[], root: string): string {
  return cuts.map((x) => `${x.path.slice(root.length + 1)} ${x.size}->${x.durable}`).join(', ');
}

const root = realpathSync(mkdtempSync(join(tmpdir(), 'vnetd-powerloss-')));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const shim = buildShim(root);

/** A cluster set up and restarted once (so the setup is durable whatever the sync mode), then `cuts` rounds. */
async function run(t: Test, name: string, extraArgs: readonly string[], cuts: number): Promise<{ acked: Ack[]; lostByRound: Lost[][] }> {
  const dir = join(root, name);
  mkdirSync(dir);
  const began = Date.now();
  const at = (): string => `${((Date.now() - began) / 1000).toFixed(1)} s`;
  const c = await PowerLossCluster.create({ root: dir, shim, voters: limits.voters, prefix: `pl${name}`, extraArgs });
  t.teardown(() => c.group.destroy());
  await c.start();
  await registerAgents(c);
  // Setup durable in both modes: reopening LevelDB writes its log into a synced table.
  await c.restart();
  t.comment(`${name}: set up and restarted at ${at()}`);
  const acked: Ack[] = [];
  const lostByRound: Lost[][] = [];
  for (let round = 1; round <= cuts; round++) {
    const r = await loadThenCut(c, round, acked);
    t.comment(`${name} round ${round} (${at()}): ${r.acks} acknowledged, ${r.indeterminate} indeterminate; cut: ${describeCuts(r.cuts, dir) || 'nothing unsynced'}`);
    t.same(c.group.crashes(), [], 'no node exited on its own');
    await c.start();
    t.comment(`${name} round ${round}: restarted at ${at()}`);
    const lost = await lostAfterRestart(c, acked);
    t.comment(`${name} round ${round}: read back at ${at()}`);
    lostByRound.push(lost);
    if (lost.length > 0) t.comment(`${name} round ${round}: lost ${lost.length} of ${acked.length}: ${lost.slice(0, 8).map((l) => `${l.id}=${l.ip} (${l.got})`).join(', ')}`);
  }
  return { acked, lostByRound };
}

t.test('fsync on: no acknowledged allocation is lost over repeated power cuts of all nodes', async (t) => {
  const { acked, lostByRound } = await run(t, 'fsync', [], 3);
  t.ok(acked.length >= 3 * limits.acksPerCut, `${acked.length} allocations acknowledged`);
  lostByRound.forEach((lost, i) => t.same(lost, [], `round ${i + 1}: every acknowledged allocation kept its IP`));
});

t.test('--unsafe-no-fsync: a power cut loses acknowledged allocations, and the check catches it', async (t) => {
  const { acked, lostByRound } = await run(t, 'nofsync', ['--unsafe-no-fsync'], 1);
  const lost = lostByRound[0]!;
  t.ok(lost.length > 0, `lost acknowledged allocations detected: ${lost.length} of ${acked.length}`);
  // Nothing after the last LevelDB open was synced anywhere, so the whole round is gone.
  t.equal(lost.length, acked.length, 'every allocation acknowledged since the restart is gone');
});
