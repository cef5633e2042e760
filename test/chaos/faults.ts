// The nemesis: one fault at a time, at seeded random moments, each healed before the next starts
// (so at most a minority of voters is ever down, except in the one round that kills every node on
// purpose). Every fault is logged with its start and end time into the run's event list, which
// the report prints next to violations.

import type { Prng } from '../../raft/sim/prng.js';
import { assertNever } from '../../raft/core/assert.js';
import type { ChaosCluster } from './chaos-cluster.js';
import { chaosTiming, http, poll } from './chaos-cluster.js';
import type { CutMode } from './proxy.js';

export const faultKinds = ['kill', 'pause', 'partition', 'restart', 'leader', 'membership'] as const;
export type FaultKind = (typeof faultKinds)[number];

const electionTimeoutMaxMs = 2 * chaosTiming.tickMs * chaosTiming.electionTicks;

export const faultLimits = {
  /** Mean quiet time between faults (exponential), and its floor. */
  gapMsMean: 3_000,
  gapMsMin: 500,
  /** Down time of killed nodes. */
  downMsMin: 500,
  downMsMax: 4_000,
  /** Pauses are longer than the longest election timeout, so the others elect without the paused node. */
  pauseMsMin: electionTimeoutMaxMs + 500,
  pauseMsMax: 3 * electionTimeoutMaxMs,
  partitionMsMin: 2_000,
  partitionMsMax: 7_000,
  /** Extra latency on delayed links. */
  delayMsMin: 50,
  delayMsMax: 400,
  /** The spare voter's join (catch-up and promotion) is waited for at most this long. */
  joinWaitMs: 30_000,
} as const;

export interface FaultEvent {
  readonly at: number;
  readonly end: number;
  readonly kind: FaultKind;
  readonly what: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly events: FaultEvent[] = [];
  private allKilled = false;

  constructor(
    private readonly c: ChaosCluster,
    private readonly kinds: readonly FaultKind[],
    private readonly prng: Prng,
    private readonly now: () => number,
    private readonly durationMs: number,
  ) {}

  /** Runs faults until `stop()`; the last fault is healed before it returns. */
  async run(stop: () => boolean): Promise<void> {
    if (this.kinds.length === 0) return;
    while (!stop()) {
      await sleep(Math.max(faultLimits.gapMsMin, this.prng.exponential(faultLimits.gapMsMean)));
      if (stop()) break;
      const kind = this.pickKind();
      const at = this.now();
      let what: string;
      try {
        what = await this.inject(kind);
      } catch (err) {
        what = `failed to inject: ${(err as Error).message}`;
      }
      this.events.push({ at, end: this.now(), kind, what });
    }
  }

  private pickKind(): FaultKind {
    // The all-nodes round happens once, in the middle third of the run.
    const t = this.now();
    if (this.kinds.includes('restart') && !this.allKilled && t > this.durationMs / 3) return 'restart';
    return this.prng.pick(this.kinds);
  }

  private inject(kind: FaultKind): Promise<string> {
    switch (kind) {
      case 'kill':
        return this.kill();
      case 'pause':
        return this.pause();
      case 'partition':
        return this.partition();
      case 'restart':
        return this.restart();
      case 'leader':
        return this.transfer();
      case 'membership':
        return this.membership();
      default:
        return assertNever(kind);
    }
  }

  /** Running voters, the leader first when `leaderFirst` (a fault on the leader tests the most). */
  private async targets(): Promise<{ leader: string | null; voters: string[] }> {
    const leader = await this.c.leader();
    const voters = (await this.c.currentVoters()).filter((id) => this.c.group.nodes.get(id)?.running === true);
    return { leader, voters };
  }

  /** kill -9 of a minority of voters (the leader half of the time), restarted after a while. */
  private async kill(): Promise<string> {
    const { leader, voters } = await this.targets();
    const all = await this.c.currentVoters();
    const down = all.length - voters.length;
    const max = Math.floor((all.length - 1) / 2) - down;
    if (max < 1) return 'skipped: no voter can be spared';
    const victims = this.choose(voters, this.prng.between(1, max), leader);
    for (const id of victims) await this.c.node(id).kill9();
    const downMs = this.prng.between(faultLimits.downMsMin, faultLimits.downMsMax);
    await sleep(downMs);
    for (const id of victims) this.c.node(id).start();
    return `kill -9 ${victims.join(',')} (leader ${leader}) for ${downMs} ms`;
  }

  /** `k` distinct ids from `ids`, with `preferred` first half of the time. */
  private choose(ids: readonly string[], k: number, preferred: string | null): string[] {
    const pool = [...ids];
    const out: string[] = [];
    if (preferred !== null && pool.includes(preferred) && this.prng.chance(0.5)) {
      out.push(preferred);
      pool.splice(pool.indexOf(preferred), 1);
    }
    while (out.length < k && pool.length > 0) out.push(pool.splice(this.prng.int(pool.length), 1)[0]!);
    return out;
  }

  /** SIGSTOP longer than an election timeout, then SIGCONT: the paused node wakes up deposed. */
  private async pause(): Promise<string> {
    const { leader, voters } = await this.targets();
    if (voters.length === 0) return 'skipped: nothing running';
    const id = leader !== null && voters.includes(leader) && this.prng.chance(0.6) ? leader : this.prng.pick(voters);
    const ms = this.prng.between(faultLimits.pauseMsMin, faultLimits.pauseMsMax);
    this.c.node(id).pause();
    await sleep(ms);
    this.c.node(id).resume();
    return `SIGSTOP ${id} (leader ${leader}) for ${ms} ms`;
  }

  /** Symmetric, one-way, leader-isolating or delaying faults on the proxied voter links. */
  private async partition(): Promise<string> {
    const leader = await this.c.leader();
    const ids = [...this.c.voterIds];
    const mode: CutMode = this.prng.chance(0.5) ? 'drop' : 'hang';
    const ms = this.prng.between(faultLimits.partitionMsMin, faultLimits.partitionMsMax);
    const target = leader !== null && ids.includes(leader) && this.prng.chance(0.6) ? leader : this.prng.pick(ids);
    const others = ids.filter((x) => x !== target);
    const variant = this.prng.int(4);
    let what: string;
    if (variant === 0) {
      this.c.net.partition([target], others, mode);
      what = `isolate ${target}`;
    } else if (variant === 1) {
      const minority = this.choose(ids, this.prng.between(1, Math.floor((ids.length - 1) / 2)), target);
      this.c.net.partition(minority, ids.filter((x) => !minority.includes(x)), mode);
      what = `split ${minority.join(',')} | ${ids.filter((x) => !minority.includes(x)).join(',')}`;
    } else if (variant === 2) {
      const outgoing = this.prng.chance(0.5);
      for (const o of others) {
        if (outgoing) this.c.net.cut(target, o, mode);
        else this.c.net.cut(o, target, mode);
      }
      what = outgoing ? `one-way: ${target} cannot send` : `one-way: ${target} cannot receive`;
    } else {
      const d = this.prng.between(faultLimits.delayMsMin, faultLimits.delayMsMax);
      for (const o of others) {
        this.c.net.delay(target, o, d);
        this.c.net.delay(o, target, d);
      }
      what = `delay ${d} ms on ${target}'s links`;
    }
    await sleep(ms);
    this.c.net.heal();
    return `${what} (${variant === 3 ? 'delay' : mode}, leader ${leader}) for ${ms} ms`;
  }

  /** Once: every node killed at once and restarted (all state comes back from disk). Otherwise a graceful restart of one node. */
  private async restart(): Promise<string> {
    if (!this.allKilled && this.kinds.includes('restart') && this.now() > this.durationMs / 3) {
      this.allKilled = true;
      const nodes = this.c.all().filter((n) => n.running);
      await Promise.all(nodes.map((n) => n.kill9()));
      const ms = this.prng.between(faultLimits.downMsMin, 2_000);
      await sleep(ms);
      for (const n of nodes) n.start();
      return `kill -9 of all ${nodes.length} nodes for ${ms} ms`;
    }
    const { voters } = await this.targets();
    const all = await this.c.currentVoters();
    if (all.length - voters.length > 0 || voters.length === 0) return 'skipped: a voter is already down';
    const id = this.prng.pick(voters);
    await this.c.node(id).stop();
    this.c.node(id).start();
    return `SIGTERM and restart ${id}`;
  }

  private async transfer(): Promise<string> {
    const { leader, voters } = await this.targets();
    const candidates = voters.filter((v) => v !== leader);
    if (candidates.length === 0) return 'skipped: no other voter';
    const to = this.prng.pick(candidates);
    const via = this.prng.pick(this.c.live());
    const r = await http(via.url, 'POST', '/v1/cluster/leadership', { to }).catch((err: Error) => ({ status: 0, body: err.message }));
    await sleep(this.prng.between(500, 2_000));
    return `transfer leadership ${leader} → ${to} via ${via.id}: ${r.status}`;
  }

  /** Adds the spare as a voter (a fresh node joining under load), or removes it again and stops it. */
  private async membership(): Promise<string> {
    const spare = this.c.node(this.c.spareId);
    const via = this.prng.pick(this.c.voters().filter((n) => n.running && !n.isPaused));
    if (via === undefined) return 'skipped: no voter to ask';
    if (!spare.running) {
      this.c.startSpare(via.url);
      const ok = await poll(async () => {
        if (!spare.running) return 'exited';
        return (await this.c.currentVoters()).includes(this.c.spareId) ? 'promoted' : undefined;
      }, faultLimits.joinWaitMs, 500);
      return `add ${this.c.spareId} as a voter via ${via.id}: ${ok ?? 'not promoted in time'}`;
    }
    const r = await http(via.url, 'DELETE', `/v1/cluster/members/${this.c.spareId}`).catch((err: Error) => ({ status: 0, body: err.message }));
    if (r.status === 200 || r.status === 404) {
      await this.c.stopSpare();
      return `remove ${this.c.spareId} via ${via.id}: ${r.status}, stopped`;
    }
    return `remove ${this.c.spareId} via ${via.id}: ${r.status} (kept running)`;
  }
}
