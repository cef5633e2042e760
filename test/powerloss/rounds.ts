// One power-loss scenario on a 3-voter cluster (powerloss.test.ts, powerloss-nofsync.test.ts):
// set up (and restarted gracefully, for the no-fsync run), then rounds of load -> power cut of all
// nodes -> restart -> every allocation acknowledged so far read back.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { http, poll } from '../chaos/chaos-cluster.js';
import { mulberry32 } from '../util/prng.js';
import { PowerLossCluster } from './cluster.js';
import { type KeepUnsynced, type Truncation, dropUnsynced, randomPrefix } from './journal.js';

export const roundLimits = {
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
export interface Ack {
  readonly id: string;
  readonly ip: string;
  readonly round: number;
}

export interface Lost extends Ack {
  /** What the cluster answered instead: the status, and the IP when it had another one. */
  readonly got: string;
}

const taskBody = (i: number): Record<string, unknown> => ({ name: `app${i % 5}`, framework: 'powerloss', agent: `ag${i % roundLimits.agents}`, network: 'dcos' });

async function registerAgents(c: PowerLossCluster): Promise<void> {
  for (let a = 0; a < roundLimits.agents; a++) {
    const ok = await poll(async () => ((await http(c.nodes()[0]!.url, 'PUT', `/v1/agents/ag${a}`, { ip: `10.1.0.${a + 1}` }, roundLimits.httpTimeoutMs)).status < 300 ? true : undefined), roundLimits.setupWaitMs);
    if (ok !== true) throw new Error(`agent ag${a} not registered`);
  }
}

/**
 * Clients allocate (spread over all nodes; followers forward) until `acksPerCut` allocations are
 * acknowledged, then the power is cut at once, in the callback that saw the ack, while the other
 * clients' requests are in flight. A response that still arrives was sent before the kill: it
 * counts as acknowledged too. Refused or unanswered requests (`unacked`) are not checked.
 */
async function loadThenCut(c: PowerLossCluster, round: number, acked: Ack[], keep: KeepUnsynced): Promise<{ cuts: Truncation[]; acks: number; unacked: number }> {
  let cut: Promise<Truncation[]> | null = null;
  let acks = 0;
  let unacked = 0;
  const nodes = c.nodes();
  const client = async (k: number): Promise<void> => {
    for (let seq = 0; cut === null && seq < roundLimits.requestsPerClientMax; seq++) {
      const id = `r${round}-c${k}-${seq}`;
      try {
        const r = await http(nodes[(k + seq) % nodes.length]!.url, 'PUT', `/v1/tasks/${id}`, taskBody(seq + k), roundLimits.httpTimeoutMs);
        if (r.status !== 201 && r.status !== 200) {
          unacked++;
          continue;
        }
        acked.push({ id, ip: String(r.body.ip), round });
        acks++;
        if (acks >= roundLimits.acksPerCut && cut === null) cut = c.powerCut(keep);
      } catch {
        unacked++;
      }
    }
  };
  await Promise.all(Array.from({ length: roundLimits.clients }, (_, k) => client(k)));
  if (cut === null) throw new Error(`round ${round}: only ${acks} of ${roundLimits.acksPerCut} allocations acknowledged (${unacked} not)`);
  return { cuts: await cut, acks, unacked };
}

/** Every acknowledged allocation read back (linearizable read) after the restart; the missing ones. */
async function lostAfterRestart(c: PowerLossCluster, acked: readonly Ack[]): Promise<Lost[]> {
  const lost: Lost[] = [];
  const nodes = c.nodes();
  for (const [i, a] of acked.entries()) {
    const r = await poll(async () => {
      const res = await http(nodes[i % nodes.length]!.url, 'GET', `/v1/tasks/${encodeURIComponent(a.id)}?consistent=true`, undefined, roundLimits.httpTimeoutMs);
      return res.status === 200 || res.status === 404 ? res : undefined;
    }, roundLimits.readBackMs);
    if (r === null) throw new Error(`${a.id}: no answer within ${roundLimits.readBackMs} ms`);
    if (r.status === 404) lost.push({ ...a, got: '404' });
    else if (r.body?.ip !== a.ip) lost.push({ ...a, got: `200 ip ${String(r.body?.ip)}` });
  }
  return lost;
}

function describeCuts(cuts: readonly Truncation[], root: string): string {
  return cuts.map((x) => `${x.path.slice(root.length + 1)} ${x.size}->${x.to}${x.to === x.durable ? '' : ` (synced ${x.durable})`}`).join(', ');
}

export interface RoundsOptions {
  readonly root: string;
  readonly shim: string;
  /** Names the run's directory and its nodes (`pl${name}1`..). */
  readonly name: string;
  readonly extraArgs: readonly string[];
  readonly cuts: number;
  /**
   * Restart gracefully after the setup, so that the setup is durable even without fsync (reopening
   * LevelDB writes its log into a synced table) and a loss found is the workload's.
   */
  readonly restartAfterSetup: boolean;
  /**
   * With a seed, rounds after the first keep a seeded random prefix of each file's unsynced tail
   * (journal.ts randomPrefix: torn LevelDB records included); without, every round drops it all.
   */
  readonly tailSeed?: number;
  /** A launcher instead of the real CLI (broken/*.ts). */
  readonly entry?: string;
}

/** A cluster set up (and restarted, with `o.restartAfterSetup`), then `o.cuts` rounds. */
export async function runRounds(t: Test, o: RoundsOptions): Promise<{ acked: Ack[]; lostByRound: Lost[][] }> {
  const { shim, name, extraArgs, cuts } = o;
  const dir = join(o.root, name);
  mkdirSync(dir);
  const began = Date.now();
  const at = (): string => `${((Date.now() - began) / 1000).toFixed(1)} s`;
  const c = await PowerLossCluster.create({ root: dir, shim, voters: roundLimits.voters, prefix: `pl${name}`, extraArgs, ...(o.entry === undefined ? {} : { entry: o.entry }) });
  t.teardown(() => c.group.destroy());
  await c.start();
  await registerAgents(c);
  if (o.restartAfterSetup) await c.restart();
  t.comment(`${name}: set up${o.restartAfterSetup ? ' and restarted' : ''} at ${at()}`);
  const acked: Ack[] = [];
  const lostByRound: Lost[][] = [];
  const random = o.tailSeed === undefined ? null : mulberry32(o.tailSeed);
  for (let round = 1; round <= cuts; round++) {
    const keep = random === null || round === 1 ? dropUnsynced : randomPrefix(random);
    const r = await loadThenCut(c, round, acked, keep);
    t.comment(`${name} round ${round} (${at()}): ${r.acks} acknowledged, ${r.unacked} refused or unanswered; cut: ${describeCuts(r.cuts, dir) || 'nothing unsynced'}`);
    await c.start();
    const restarted = at();
    const lost = await lostAfterRestart(c, acked);
    t.comment(`${name} round ${round}: restarted at ${restarted}, ${acked.length} read back at ${at()}`);
    t.same(c.group.crashes(), [], `round ${round}: no node exited on its own, before the cut or after the restart`);
    lostByRound.push(lost);
    if (lost.length > 0) t.comment(`${name} round ${round}: lost ${lost.length} of ${acked.length}: ${lost.slice(0, 8).map((l) => `${l.id}=${l.ip} (${l.got})`).join(', ')}`);
  }
  return { acked, lostByRound };
}

