// The fault schedule of the safety phase. Two kinds:
//  - scheduled faults at exponentially distributed times: crash a node (or the leader), partition
//    the nodes in two, isolate the leader, cut links one way; each heals or restarts later;
//  - targeted faults, fired with a small probability at the moment a class of bug becomes visible:
//    a voter crashes right after granting a vote (a forgotten vote lets it vote twice in a term),
//    a node crashes while its disk holds unsynced writes (an acknowledgement sent before the fsync
//    is then a lie), a leader is cut off right after appending entries (so an old leader holds
//    uncommitted entries of its term: the setup of Raft Figure 8), and a leader crashes right
//    after advancing its commit index (before its followers learn it).

import { assertNever } from '../core/assert.js';
import type { NodeId } from '../core/types.js';
import type { SimNode } from './sim-node.js';
import type { Simulation } from './simulator.js';

const FAULTS = ['crash', 'crashLeader', 'partition', 'isolateLeader', 'oneWay', 'pause'] as const;
type Fault = (typeof FAULTS)[number];

/** Crashes scheduled "right after" an event land within this much virtual time. */
const PROMPT_US = 200;

export function faultStep(sim: Simulation): void {
  const f = sim.opts.faults;
  const rng = sim.rng.faults;
  if (rng.chance(f.crashWithUnsynced)) {
    const unsynced = sim.liveNodes().filter((n) => n.disk.hasPending);
    if (unsynced.length > 0) {
      crashSoon(sim, rng.pick(unsynced), 0);
      return;
    }
  }
  const fault = pickFault(sim);
  switch (fault) {
    case 'crash': {
      const live = sim.liveNodes();
      if (live.length > 0) crashSoon(sim, rng.pick(live), 0);
      return;
    }
    case 'crashLeader': {
      const leader = sim.leader();
      if (leader !== null) crashSoon(sim, leader, 0);
      return;
    }
    case 'partition':
      partition(sim);
      return;
    case 'isolateLeader': {
      const leader = sim.leader();
      if (leader !== null) isolate(sim, leader);
      return;
    }
    case 'oneWay':
      oneWay(sim);
      return;
    case 'pause':
      pause(sim);
      return;
    default:
      assertNever(fault);
  }
}

function pickFault(sim: Simulation): Fault {
  const f = sim.opts.faults;
  const weights: Record<Fault, number> = {
    crash: f.crash, crashLeader: f.crashLeader, partition: f.partition, isolateLeader: f.isolateLeader, oneWay: f.oneWay, pause: f.pause,
  };
  let total = 0;
  for (const x of FAULTS) total += weights[x];
  let r = sim.rng.faults.float() * total;
  for (const x of FAULTS) {
    r -= weights[x];
    if (r < 0) return x;
  }
  return 'crash';
}

/** Crashes `node` after `afterUs`; it restarts after a drawn downtime. */
function crashSoon(sim: Simulation, node: SimNode, afterUs: number, downUs?: number): void {
  const f = sim.opts.faults;
  const down = downUs ?? sim.rng.faults.between(f.downMinUs, Math.max(f.downMinUs, f.downMaxUs));
  sim.schedule({ kind: 'crash', node, downUs: down, time: sim.now + afterUs, seq: 0 });
}

function healLater(sim: Simulation, cut: number): void {
  const f = sim.opts.faults;
  sim.stats.cuts++;
  sim.schedule({ kind: 'heal', cut, time: sim.now + sim.rng.faults.between(f.partitionMinUs, f.partitionMaxUs), seq: 0 });
}

function startedIds(sim: Simulation): NodeId[] {
  return sim.all.filter((n) => n.started && !n.stopped).map((n) => n.id);
}

/** Splits the nodes in two random non-empty groups, cut from each other both ways. */
function partition(sim: Simulation): void {
  const rng = sim.rng.faults;
  const ids = startedIds(sim);
  if (ids.length < 2) return;
  const a: NodeId[] = [];
  const b: NodeId[] = [];
  for (const id of ids) (rng.chance(0.5) ? a : b).push(id);
  if (a.length === 0) a.push(b.pop() as NodeId);
  if (b.length === 0) b.push(a.pop() as NodeId);
  healLater(sim, sim.net.cut(a, b, true));
}

function isolate(sim: Simulation, node: SimNode): void {
  const others = startedIds(sim).filter((id) => id !== node.id);
  if (others.length === 0) return;
  healLater(sim, sim.net.cut([node.id], others, true));
}

/** A node that cannot send, or cannot receive, or one broken link in one direction. */
function oneWay(sim: Simulation): void {
  const rng = sim.rng.faults;
  const ids = startedIds(sim);
  if (ids.length < 2) return;
  const x = rng.pick(ids);
  const others = ids.filter((id) => id !== x);
  const kind = rng.int(3);
  if (kind === 0) healLater(sim, sim.net.cut([x], others, false));
  else if (kind === 1) healLater(sim, sim.net.cut(others, [x], false));
  else healLater(sim, sim.net.cut([x], [rng.pick(others)], false));
}

/**
 * A process pause (a long GC, a stalled VM), half the time of the leader: the node keeps its state
 * but runs nothing — no ticks, no messages, no fsync completions — for one to three election
 * timeouts, then wakes up to a burst of old messages, possibly still believing it leads. This is
 * the classic setting for stale reads from a deposed leader.
 */
function pause(sim: Simulation): void {
  const rng = sim.rng.faults;
  const leader = sim.leader();
  const live = sim.liveNodes();
  const node = leader !== null && rng.chance(0.5) ? leader : live.length > 0 ? rng.pick(live) : null;
  if (node === null) return;
  const electionUs = sim.opts.electionTicks * sim.opts.tickUs;
  node.pausedUntil = sim.now + rng.between(electionUs, 3 * electionUs);
}

// ---- targeted faults (hooks called by the simulator) -------------------------------------------

/** `voter` just sent a granted vote. */
export function onVoteGranted(sim: Simulation, voter: NodeId): void {
  if (sim.phase !== 'safety' || !sim.rng.faults.chance(sim.opts.faults.crashAfterVote)) return;
  const node = sim.nodes.get(voter);
  // An instant restart: the voter must be back before another candidate's request of the same
  // term reaches it (a candidate never resends its request within a term).
  if (node !== undefined) crashSoon(sim, node, sim.rng.faults.int(PROMPT_US), sim.rng.faults.between(1, sim.opts.net.delayMinUs));
}

/**
 * `follower` just acknowledged entries to `leader`. It crashes at once — which loses nothing if the
 * acknowledgement waited for the fsync, as it must — and half the time its leader is cut off from
 * everyone as well, so the next leader is elected by nodes that may have lost the acknowledged
 * entries.
 */
export function onEntriesAcked(sim: Simulation, follower: NodeId, leader: NodeId): void {
  if (sim.phase !== 'safety' || !sim.rng.faults.chance(sim.opts.faults.crashAfterAck)) return;
  const f = sim.nodes.get(follower);
  const l = sim.nodes.get(leader);
  if (f === undefined || l === undefined) return;
  crashSoon(sim, f, sim.rng.faults.int(PROMPT_US), sim.rng.faults.between(1, sim.opts.faults.downMaxUs));
  if (sim.rng.faults.chance(0.5)) isolate(sim, l);
}

/** `leader` just appended entries to its log. */
export function onLeaderAppended(sim: Simulation, leader: SimNode): void {
  if (sim.phase !== 'safety' || !sim.rng.faults.chance(sim.opts.faults.isolateOnAppend)) return;
  isolate(sim, leader);
}

/** `leader` just advanced its commit index. */
export function onLeaderCommitted(sim: Simulation, leader: SimNode): void {
  if (sim.phase !== 'safety' || !sim.rng.faults.chance(sim.opts.faults.crashLeaderOnCommit)) return;
  crashSoon(sim, leader, sim.rng.faults.int(PROMPT_US));
}
