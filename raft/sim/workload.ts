// The clients of the simulated cluster: proposals, ReadIndex reads, membership changes,
// leadership transfers and compactions, drawn by weight at exponentially distributed times.
// Membership changes keep the cluster able to recover in the liveness phase: never fewer than three
// voters, and always a majority of the original voters among them.

import { assertNever } from '../core/assert.js';
import type { ConfChange, NodeId } from '../core/types.js';
import { logIndex, term as asTerm } from '../core/types.js';
import { encodeWrite, KV_KEYS } from './kv.js';
import type { SimNode } from './sim-node.js';
import type { Simulation } from './simulator.js';

const OPS = ['propose', 'read', 'confChange', 'transfer', 'compact'] as const;
type Op = (typeof OPS)[number];

/** Voters never drop below this, so one crashed voter never costs the cluster its quorum. */
const VOTERS_MIN = 3;

export function workloadStep(sim: Simulation): void {
  const op = pickOp(sim);
  switch (op) {
    case 'propose':
      propose(sim, false);
      return;
    case 'read':
      read(sim);
      return;
    case 'confChange':
      confChange(sim);
      return;
    case 'transfer':
      transfer(sim);
      return;
    case 'compact':
      compact(sim);
      return;
    default:
      assertNever(op);
  }
}

function pickOp(sim: Simulation): Op {
  const w = sim.opts.workload;
  const weights: Record<Op, number> = { propose: w.propose, read: w.read, confChange: w.confChange, transfer: w.transfer, compact: w.compact };
  let total = 0;
  for (const op of OPS) total += weights[op];
  let x = sim.rng.workload.float() * total;
  for (const op of OPS) {
    x -= weights[op];
    if (x < 0) return op;
  }
  return 'propose';
}

/**
 * A client sends a write to a random live node and follows one not-leader redirect, as a real
 * client would. Returns whether a leader accepted it.
 */
export function propose(sim: Simulation, final: boolean): boolean {
  const live = sim.liveNodes();
  if (live.length === 0) return false;
  let node = final ? (sim.leader() ?? sim.rng.workload.pick(live)) : sim.rng.workload.pick(live);
  const writeId = sim.nextWriteId++;
  const data = encodeWrite({ key: sim.rng.workload.int(KV_KEYS), writeId });
  for (let attempt = 0; attempt < 2; attempt++) {
    const core = node.core;
    if (core === null) return false;
    const r = core.propose(data);
    if (r.ok) {
      node.proposals.set(r.index, { term: r.term, writeId, final });
      sim.stats.proposed++;
      sim.pump(node);
      return true;
    }
    const next = r.leader === null ? undefined : sim.nodes.get(r.leader);
    if (r.code !== 'not_leader' || next === undefined || next === node) return false;
    node = next;
  }
  return false;
}

/** A ReadIndex read on a random live node; it must see every write acknowledged before now. */
function read(sim: Simulation): void {
  const live = sim.liveNodes();
  if (live.length === 0) return;
  const node = sim.rng.workload.pick(live);
  const context = `r${sim.nextRead++}`;
  const floor = sim.checkers.reads.start();
  if (sim.opts.driverBugs.includes('localReads')) {
    sim.checkers.reads.onServed(node.id, context, floor, node.sm.applied);
    return;
  }
  if (sim.opts.driverBugs.includes('leaderReads') && node.role === 'leader') {
    sim.checkers.reads.onReadIndex(node.id, context, floor, node.commit);
    node.reads.set(context, { floor, index: node.commit });
    return;
  }
  node.reads.set(context, { floor, index: null });
  node.core?.readIndex(context);
  sim.pump(node);
}

function transfer(sim: Simulation): void {
  const leader = sim.leader();
  if (leader?.core == null) return;
  const voters = leader.core.status().membership.members.filter((m) => m.role === 'voter' && m.id !== leader.id);
  if (voters.length === 0) return;
  const to = sim.rng.workload.pick(voters).id;
  if (leader.core.transferLeadership(to).ok) sim.stats.transfers++;
  sim.pump(leader);
}

/** The application snapshots its state at its applied index and lets the core drop the log below. */
function compact(sim: Simulation): void {
  const candidates = sim.liveNodes().filter((n) => n.inflight === null && n.sm.applied > n.disk.durable.snapshot.meta.index);
  if (candidates.length === 0) return;
  const node = sim.rng.workload.pick(candidates);
  const core = node.core;
  const index = node.sm.applied;
  const term = node.log.termAt(index);
  if (core === null || term === undefined) return;
  const data = node.sm.snapshot();
  core.compact(logIndex(index), data);
  const snapshot = { meta: { index: logIndex(index), term: asTerm(term), membership: node.sm.membership }, data };
  const w = node.disk.submit({ kind: 'compact', snapshot }, sim.now, sim.syncDelay());
  sim.schedule({ kind: 'disk', node, incarnation: node.incarnation, writeId: w.id, time: w.doneAt, seq: 0 });
  sim.stats.compactions++;
  sim.pump(node);
}

function confChange(sim: Simulation): void {
  const leader = sim.leader();
  if (leader?.core == null) return;
  const change = chooseChange(sim, leader);
  if (change === null) return;
  if (change.type === 'addLearner') {
    const joining = sim.nodes.get(change.id);
    if (joining !== undefined && !joining.started) sim.startNode(joining);
  }
  const r = leader.core.proposeConfChange(change);
  if (r.ok && change.type === 'remove') {
    const target = sim.nodes.get(change.id);
    if (target !== undefined) target.removalProposed = true;
  }
  sim.pump(leader);
}

function chooseChange(sim: Simulation, leader: SimNode): ConfChange | null {
  const core = leader.core;
  if (core === null) return null;
  const members = core.status().membership.members;
  const isMember = (id: NodeId): boolean => members.some((m) => m.id === id);
  const voters = members.filter((m) => m.role === 'voter');
  const learners = members.filter((m) => m.role === 'learner');
  const originalVoters = voters.filter((m) => sim.originalVoters.includes(m.id)).length;
  const originalMajority = Math.floor(sim.originalVoters.length / 2) + 1;
  const options: ConfChange[] = [];
  for (const n of sim.all) {
    if (!n.removalProposed && !n.stopped && !isMember(n.id) && !sim.originalVoters.includes(n.id)) options.push({ type: 'addLearner', id: n.id, context: '' });
  }
  for (const l of learners) options.push({ type: 'promote', id: l.id });
  for (const l of learners) options.push({ type: 'remove', id: l.id });
  for (const v of voters) {
    const original = sim.originalVoters.includes(v.id);
    if (voters.length - 1 >= VOTERS_MIN && (!original || originalVoters - 1 >= originalMajority)) {
      options.push({ type: 'remove', id: v.id });
    }
  }
  return options.length === 0 ? null : sim.rng.workload.pick(options);
}
