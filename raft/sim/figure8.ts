// A scripted nemesis for the sequence of Raft Figure 8 (§5.4.2), armed in some seeds:
//  1. a leader A has just appended entries of its term: cut A off from everyone, so they stay
//     uncommitted on A alone;
//  2. the others elect B; cut B off the moment it leads, so its own empty entry, which takes A's
//     entry's index, stays on B alone; and let A back in;
//  3. A is elected again with a higher term and replicates its old entry; the moment A advances its
//     commit index, crash A and let B back in.
// A correct leader advances its commit only through an entry of its new term (so the voters that
// acknowledged it hold that newer entry and will never elect B); a leader that commits the old
// entry by counting replicas lets B win and overwrite a committed entry, which Leader Completeness
// and State Machine Safety then report. Any step that does not happen within a bound resets it.

import type { SimNode } from './sim-node.js';
import type { Simulation } from './simulator.js';

type Stage =
  | { readonly kind: 'idle' }
  | { readonly kind: 'oldCut'; readonly old: SimNode; readonly oldTerm: number; readonly cut: number; readonly since: number }
  | { readonly kind: 'midCut'; readonly old: SimNode; readonly midTerm: number; readonly cut: number; readonly since: number };

/** Chance that a leader's append starts the sequence, while idle. */
const START_CHANCE = 0.05;
/** A stage that has not moved on after this many election timeouts is abandoned. */
const STAGE_ELECTIONS_MAX = 20;

export class Figure8Nemesis {
  private stage: Stage = { kind: 'idle' };
  runs = 0;

  /** `leader` appended entries while leading. */
  onLeaderAppended(sim: Simulation, leader: SimNode): void {
    if (this.stage.kind !== 'idle' || !sim.rng.faults.chance(START_CHANCE)) return;
    this.runs++;
    this.stage = { kind: 'oldCut', old: leader, oldTerm: leader.term, cut: isolate(sim, leader), since: sim.now };
  }

  /** `node` became leader of its current term. */
  onLeader(sim: Simulation, node: SimNode): void {
    const s = this.stage;
    if (s.kind === 'oldCut' && node !== s.old && node.term > s.oldTerm) {
      const cut = isolate(sim, node);
      sim.net.heal(s.cut);
      this.stage = { kind: 'midCut', old: s.old, midTerm: node.term, cut, since: sim.now };
    } else if (s.kind === 'midCut' && node !== s.old && node.term > s.midTerm) {
      this.reset(sim); // a third node won instead: the sequence is off
    }
  }

  /** `leader` advanced its commit index while leading. */
  onLeaderCommitted(sim: Simulation, leader: SimNode): void {
    const s = this.stage;
    if (s.kind !== 'midCut' || leader !== s.old || leader.term <= s.midTerm) return;
    sim.schedule({ kind: 'crash', node: leader, downUs: sim.opts.faults.partitionMaxUs, time: sim.now, seq: 0 });
    this.reset(sim);
  }

  /** Called on every fault event: abandons a sequence stuck in one stage. */
  expire(sim: Simulation): void {
    const s = this.stage;
    if (s.kind === 'idle') return;
    if (sim.now - s.since > STAGE_ELECTIONS_MAX * sim.opts.electionTicks * sim.opts.tickUs) this.reset(sim);
  }

  reset(sim: Simulation): void {
    const s = this.stage;
    if (s.kind !== 'idle') sim.net.heal(s.cut);
    this.stage = { kind: 'idle' };
  }
}

function isolate(sim: Simulation, node: SimNode): number {
  const others = sim.all.filter((n) => n !== node && n.started && !n.stopped).map((n) => n.id);
  sim.stats.cuts++;
  return sim.net.cut([node.id], others, true);
}
