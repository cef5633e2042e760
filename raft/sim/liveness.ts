// The liveness phase. After the safety phase everything heals: partitions end, crashed nodes
// restart, the network stops dropping, duplicating and holding back messages, fsyncs stop stalling,
// and no new faults or client operations start. Within `livenessBoundUs` of virtual time the cluster
// must converge: a leader is elected, a fresh proposal made through it is acknowledged, and every
// member of the leader's configuration — voters and learners, all live — has applied it. Since that
// proposal comes last in the log, everything pending before it is then decided on every node too.

import type { SimNode } from './sim-node.js';
import type { Simulation } from './simulator.js';
import { propose } from './workload.js';

export class LivenessState {
  /** The final proposal is in some leader's log and not yet decided. */
  private placedOn: SimNode | null = null;
  private placedTerm = 0;
  private acked = false;
  private finalIndex = 0;

  constructor(
    readonly healedAt: number,
    /** Virtual time the cluster gets to converge after healing. */
    readonly boundUs: number,
  ) {}

  onCrash(node: SimNode): void {
    if (this.placedOn === node) this.placedOn = null;
  }

  /** A final proposal's index was applied on its node: ours (acknowledged) or someone else's. */
  onFinalResolved(index: number, ours: boolean): void {
    if (ours && !this.acked) {
      this.acked = true;
      this.finalIndex = index;
    }
    this.placedOn = null;
  }

  /** Places the final proposal when there is none in flight; true once it is acknowledged. */
  ensureFinal(sim: Simulation): boolean {
    if (this.acked) return true;
    // A client whose leader stepped down gives up and retries with the new one (its first attempt
    // may still commit: whichever is acknowledged first counts).
    if (this.placedOn !== null && this.placedOn.role === 'leader' && this.placedOn.term === this.placedTerm) return false;
    const leader = sim.leader();
    if (leader === null) return false;
    if (propose(sim, true)) {
      this.placedOn = leader;
      this.placedTerm = leader.term;
    }
    return false;
  }

  get index(): number {
    return this.finalIndex;
  }

  describe(sim: Simulation): string {
    const leader = sim.leader();
    const nodes = sim.all
      .filter((n) => n.started && !n.stopped)
      .map((n) => `${n.id}:${n.up ? n.role : 'down'} t${n.term} c${n.commit} a${n.sm.applied}`)
      .join(', ');
    const progress = (leader?.core?.status().progress ?? []).map((p) => `${p.id}:${p.state} match=${p.match} next=${p.next}${p.recentActive ? '' : ' inactive'}`).join(', ');
    return `leader ${leader?.id ?? 'none'} [${progress}], final proposal ${this.acked ? `acknowledged at ${this.finalIndex}` : 'not acknowledged'}; ${nodes}`;
  }
}

export function beginLiveness(sim: Simulation): LivenessState {
  sim.figure8?.reset(sim);
  for (const n of sim.all) n.pausedUntil = Math.min(n.pausedUntil, sim.now);
  sim.net.healAll();
  sim.net.reliable = true;
  for (const n of sim.all) if (n.started && !n.stopped && !n.up) sim.startNode(n);
  return new LivenessState(sim.now, livenessBound(sim));
}

/**
 * The bound: a number of election timeouts (options.livenessBoundUs), plus one worst-case round
 * trip (two message delays and a follower's fsync) per entry of backlog, because with the smallest
 * limits (one entry per append, one append in flight) a lagging follower catches up one entry per
 * round trip. A bound that grows with the work left is still a bound; without it, a seed that made
 * a long backlog in its safety phase would be reported as a liveness failure while it converges.
 */
function livenessBound(sim: Simulation): number {
  const live = sim.all.filter((n) => n.up);
  const last = Math.max(0, ...live.map((n) => n.log.lastIndex));
  const lowest = Math.min(last, ...live.map((n) => n.sm.applied));
  const roundTripUs = 2 * sim.opts.net.delayMaxUs + sim.opts.disk.syncMaxUs;
  return sim.opts.livenessBoundUs + (last - lowest) * roundTripUs;
}

/** Called on every clock tick of the liveness phase. */
export function checkConverged(sim: Simulation, state: LivenessState): boolean {
  if (!state.ensureFinal(sim)) return false;
  const leader = sim.leader();
  if (leader?.core == null) return false;
  for (const m of leader.core.status().membership.members) {
    const n = sim.nodes.get(m.id);
    if (n === undefined || !n.up || n.sm.applied < state.index) return false;
  }
  return true;
}
