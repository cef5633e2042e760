// The simulation of one seed: virtual time, the event loop, and each simulated node's honest
// driver for the Ready contract (raft/core/types.ts):
//   1. persist snapshot, entries and hard state in one write to the simulated disk; the core is
//      blocked until that write is durable (a simulated fsync delay later);
//   2. only then send messagesAfterPersist (`messages` leave at once);
//   3. restore the state machine from the snapshot, apply the committed entries;
//   4. serve reads whose read index has been applied, then advance().
// Every observation is handed to the checkers as it happens, so invariants are checked after every
// step. A step is one event: a clock tick (all live nodes tick), a message delivery, a disk write
// becoming durable, a client operation, or a fault.

import { AssertionError } from '../core/assert.js';
import { RaftCore, type CoreConfig } from '../core/raft.js';
import type { Entry, Member, Message, NodeId, Ready, Snapshot } from '../core/types.js';
import { logIndex, nodeId, term as asTerm } from '../core/types.js';
import { Checkers } from './checkers/index.js';
import { SimDisk } from './disk.js';
import { EventQueue, type Timed } from './event-queue.js';
import { faultStep, onEntriesAcked, onLeaderAppended, onLeaderCommitted, onVoteGranted } from './faults.js';
import { Figure8Nemesis } from './figure8.js';
import { Hasher, hashHex } from './hash.js';
import { decodeWrite } from './kv.js';
import { beginLiveness, checkConverged, type LivenessState } from './liveness.js';
import { SimNetwork } from './network.js';
import { deriveOptions, type SimArgs, type SimOptions } from './options.js';
import { Prng } from './prng.js';
import { SimNode } from './sim-node.js';
import { Violation, exitCodeOf, type ViolationKind } from './violation.js';
import { workloadStep } from './workload.js';

export type SimEvent = Timed &
  (
    | { readonly kind: 'tick' }
    | { readonly kind: 'deliver'; readonly msg: Message }
    | { readonly kind: 'disk'; readonly node: SimNode; readonly incarnation: number; readonly writeId: number }
    | { readonly kind: 'workload' }
    | { readonly kind: 'fault' }
    | { readonly kind: 'crash'; readonly node: SimNode; readonly downUs: number }
    | { readonly kind: 'restart'; readonly node: SimNode }
    | { readonly kind: 'heal'; readonly cut: number }
    | { readonly kind: 'stop'; readonly node: SimNode }
  );

export interface SimStats {
  leaders: number;
  maxTerm: number;
  committed: number;
  proposed: number;
  acknowledged: number;
  readsServed: number;
  crashes: number;
  lostWrites: number;
  cuts: number;
  snapshotsInstalled: number;
  compactions: number;
  confChanges: number;
  transfers: number;
  messages: number;
  dropped: number;
  /** Committed entries applied while their node's Ready write was in flight (core.takeCommitted). */
  entriesTaken: number;
}

export interface SimResult {
  readonly seed: number;
  readonly options: SimOptions;
  readonly violation: { readonly kind: ViolationKind; readonly message: string; readonly step: number; readonly timeUs: number } | null;
  readonly exitCode: number;
  /** Events processed in the safety phase (the run's `steps` unless it stopped early). */
  readonly steps: number;
  /** Events processed in the liveness phase. */
  readonly livenessEvents: number;
  readonly traceHash: string;
  readonly stats: SimStats;
}

/** A bound on the liveness phase in events, in case virtual time stops advancing (a message storm). */
const LIVENESS_EVENTS_MAX = 500_000;

const MESSAGE_CODES: Record<Message['type'], number> = {
  preVote: 1, preVoteResp: 2, vote: 3, voteResp: 4, append: 5, appendResp: 6, heartbeat: 7,
  heartbeatResp: 8, snapshot: 9, snapshotResp: 10, readIndex: 11, readIndexResp: 12, timeoutNow: 13,
};

export class Simulation {
  readonly opts: SimOptions;
  readonly rng: { readonly net: Prng; readonly disk: Prng; readonly workload: Prng; readonly faults: Prng; readonly nodes: Prng };
  readonly queue = new EventQueue<SimEvent>();
  readonly nodes = new Map<NodeId, SimNode>();
  /** Every node in creation order (deterministic iteration). */
  readonly all: SimNode[] = [];
  readonly originalVoters: readonly NodeId[];
  readonly net: SimNetwork;
  readonly checkers = new Checkers();
  readonly stats: SimStats = {
    leaders: 0, maxTerm: 0, committed: 0, proposed: 0, acknowledged: 0, readsServed: 0, crashes: 0,
    lostWrites: 0, cuts: 0, snapshotsInstalled: 0, compactions: 0, confChanges: 0, transfers: 0,
    messages: 0, dropped: 0, entriesTaken: 0,
  };
  phase: 'safety' | 'liveness' = 'safety';
  liveness: LivenessState | null = null;
  /** The scripted Figure 8 sequence, in seeds that arm it. */
  readonly figure8: Figure8Nemesis | null;
  now = 0;
  nextWriteId = 1;
  nextRead = 1;
  private readonly trace = new Hasher();
  private readonly bootstrap: readonly Member[];

  constructor(
    args: SimArgs,
    private readonly log?: (line: string) => void,
  ) {
    const master = Prng.fromSeed(args.seed);
    this.opts = deriveOptions(master, args);
    this.rng = { net: master.fork(), disk: master.fork(), workload: master.fork(), faults: master.fork(), nodes: master.fork() };
    this.net = new SimNetwork(this.rng.net, this.opts.net);
    this.figure8 = this.opts.faults.figure8 ? new Figure8Nemesis() : null;
    const o = this.opts;
    const ids = (from: number, count: number): NodeId[] => Array.from({ length: count }, (_, i) => nodeId(`n${from + i}`));
    this.originalVoters = ids(1, o.voters);
    const learners = ids(o.voters + 1, o.learners);
    this.bootstrap = [
      ...this.originalVoters.map((id): Member => ({ id, role: 'voter', context: '' })),
      ...learners.map((id): Member => ({ id, role: 'learner', context: '' })),
    ];
    for (const id of [...this.originalVoters, ...learners]) this.addNode(id, this.bootstrap);
    for (const id of ids(o.voters + o.learners + 1, o.spares)) this.addNode(id, []);
  }

  run(): SimResult {
    const o = this.opts;
    this.schedule({ kind: 'tick', time: o.tickUs, seq: 0 });
    this.schedule({ kind: 'workload', time: this.rng.workload.exponential(o.workload.meanIntervalUs), seq: 0 });
    this.schedule({ kind: 'fault', time: this.rng.faults.exponential(o.faults.meanIntervalUs), seq: 0 });
    let steps = 0;
    let livenessEvents = 0;
    let violation: SimResult['violation'] = null;
    try {
      // The bootstrap members start at time 0; spares start when they are added (workload.ts).
      for (const n of this.all) if (n.disk.durable.snapshot.meta.membership.members.length > 0) this.startNode(n);
      for (; steps < o.steps; steps++) this.handle(this.next());
      this.phase = 'liveness';
      this.liveness = beginLiveness(this);
      for (;;) {
        const ev = this.next();
        if (ev.time - this.liveness.healedAt > this.liveness.boundUs || livenessEvents >= LIVENESS_EVENTS_MAX) {
          throw new Violation('liveness', `no convergence ${this.liveness.boundUs}us after healing: ${this.liveness.describe(this)}`);
        }
        this.handle(ev);
        livenessEvents++;
        if (ev.kind === 'tick' && checkConverged(this, this.liveness)) break;
      }
    } catch (e) {
      violation = { ...classify(e), step: steps + livenessEvents, timeUs: this.now };
    }
    this.stats.messages = this.net.sent;
    this.stats.dropped = this.net.dropped;
    this.stats.committed = this.checkers.completeness.highestCommitted;
    this.stats.acknowledged = this.checkers.reads.acknowledged;
    this.stats.readsServed = this.checkers.reads.served;
    this.trace.num(this.stats.committed).num(steps).num(livenessEvents);
    return {
      seed: o.seed,
      options: o,
      violation,
      exitCode: violation === null ? 0 : exitCodeOf(violation.kind),
      steps,
      livenessEvents,
      traceHash: hashHex(this.trace.digest()),
      stats: this.stats,
    };
  }

  schedule(ev: SimEvent): void {
    this.queue.push(ev);
  }

  private next(): SimEvent {
    const ev = this.queue.pop();
    // The clock tick reschedules itself, so the queue is never empty.
    if (ev === undefined) throw new Violation('crash', 'event queue ran dry');
    this.now = ev.time;
    return ev;
  }

  private handle(ev: SimEvent): void {
    this.trace.num(ev.time);
    switch (ev.kind) {
      case 'tick':
        this.trace.num(1);
        for (const n of this.all) {
          if (n.core === null || n.pausedUntil > this.now) continue;
          // A drifting clock: a fast node sometimes ticks twice, a slow one sometimes not at all.
          n.tickCarry += n.clockRate;
          for (; n.tickCarry >= 1 && n.core !== null; n.tickCarry--) n.core.tick();
          this.pump(n);
        }
        this.schedule({ kind: 'tick', time: this.now + this.opts.tickUs, seq: 0 });
        return;
      case 'deliver': {
        // A paused process reads its socket when it wakes up.
        const to = this.nodes.get(ev.msg.to);
        if (to !== undefined && to.pausedUntil > this.now) this.schedule({ ...ev, time: to.pausedUntil });
        else this.deliver(ev.msg);
        return;
      }
      case 'disk':
        this.trace.num(3).num(ev.node.ordinal);
        // The fsync finishes in the kernel, but the paused process learns of it when it wakes up.
        if (ev.node.pausedUntil > this.now) this.schedule({ ...ev, time: ev.node.pausedUntil });
        else this.diskDone(ev.node, ev.incarnation, ev.writeId);
        return;
      case 'workload':
        this.trace.num(4);
        if (this.phase === 'safety') workloadStep(this);
        this.schedule({ kind: 'workload', time: this.now + this.rng.workload.exponential(this.opts.workload.meanIntervalUs), seq: 0 });
        return;
      case 'fault':
        this.trace.num(5);
        if (this.phase !== 'safety') return;
        this.figure8?.expire(this);
        faultStep(this);
        this.schedule({ kind: 'fault', time: this.now + this.rng.faults.exponential(this.opts.faults.meanIntervalUs), seq: 0 });
        return;
      case 'crash':
        this.trace.num(6).num(ev.node.ordinal);
        if (this.phase !== 'safety' || !ev.node.up) return;
        this.crash(ev.node);
        this.schedule({ kind: 'restart', node: ev.node, time: this.now + ev.downUs, seq: 0 });
        return;
      case 'restart':
        this.trace.num(7).num(ev.node.ordinal);
        if (!ev.node.up && !ev.node.stopped) this.startNode(ev.node);
        return;
      case 'heal':
        this.trace.num(8).num(ev.cut);
        this.net.heal(ev.cut);
        return;
      case 'stop':
        this.trace.num(9).num(ev.node.ordinal);
        this.crash(ev.node);
        ev.node.stopped = true;
        return;
      default:
        assertNeverEvent(ev);
    }
  }

  // ---- nodes ----------------------------------------------------------------------------------

  private addNode(id: NodeId, members: readonly Member[]): SimNode {
    const snapshot: Snapshot = { meta: { index: logIndex(0), term: asTerm(0), membership: { members } }, data: new Uint8Array(0) };
    const disk = new SimDisk(id, { snapshot, hardState: { term: asTerm(0), vote: null, commit: logIndex(0) }, entries: [] });
    const node = new SimNode(id, this.all.length, disk, this.rng.nodes.fork());
    node.clockRate = 1 + (2 * this.rng.nodes.float() - 1) * this.opts.clockDrift;
    this.nodes.set(id, node);
    this.all.push(node);
    return node;
  }

  /** Boots or reboots a node from what its disk holds, and nothing else. */
  startNode(node: SimNode): void {
    const restored = node.disk.restore();
    const hs = restored.hardState;
    const meta = restored.snapshot.meta;
    const last = meta.index + restored.entries.length;
    if (hs.commit > last) {
      throw new Violation('contract', `${node.id}: durable commit ${hs.commit} beyond its durable log (last index ${last})`);
    }
    node.started = true;
    node.incarnation++;
    node.log.reset(meta, restored.entries);
    this.restoreStateMachine(node, restored.snapshot);
    // What the disk says is committed must be what everyone else committed there.
    this.checkers.completeness.onCommit(node.id, node.log, meta.index, hs.commit, hs.term);
    const core = new RaftCore(this.coreConfig(node), restored);
    node.core = core;
    const st = core.status();
    this.checkers.monotonic.onRestart(node.id, st.commit, st.applied);
    node.role = st.role;
    node.term = st.term;
    node.commit = st.commit;
    this.log?.(`${this.now} ${node.id} start term=${st.term} commit=${st.commit} last=${st.lastIndex}`);
    this.pump(node);
  }

  private coreConfig(node: SimNode): CoreConfig {
    const o = this.opts;
    const rng = node.rng;
    return {
      id: node.id,
      electionTicks: o.electionTicks,
      heartbeatTicks: o.heartbeatTicks,
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      random: () => rng.float(),
      limits: o.limits,
      ...(this.log === undefined ? {} : { log: (event: string, fields: Record<string, unknown>) => this.log?.(`${this.now} ${node.id} ${event} ${JSON.stringify(fields)}`) }),
      unsafe: {
        ackBeforeSync: o.unsafe.includes('ackBeforeSync'),
        commitOldTermByCount: o.unsafe.includes('commitOldTermByCount'),
        forgetVote: o.unsafe.includes('forgetVote'),
      },
    };
  }

  /** Power loss: the core and everything volatile go; the disk keeps what was durable. */
  crash(node: SimNode): void {
    if (node.core === null) return;
    this.stats.crashes++;
    this.stats.lostWrites += node.disk.crash();
    node.core = null;
    node.pausedUntil = 0;
    node.incarnation++;
    node.inflight = null;
    node.proposals.clear();
    node.reads.clear();
    node.role = 'follower';
    this.liveness?.onCrash(node);
    this.log?.(`${this.now} ${node.id} crash`);
  }

  private restoreStateMachine(node: SimNode, snapshot: Snapshot): void {
    try {
      node.sm.restore(snapshot.data, snapshot.meta.index, snapshot.meta.membership);
    } catch (e) {
      throw new Violation('contract', `${node.id}: snapshot ${snapshot.meta.index} does not restore: ${String(e)}`);
    }
    this.checkers.stateMachine.onRestore(node.id, snapshot.meta.index, node.sm.hash);
  }

  // ---- the Ready loop -------------------------------------------------------------------------

  /** Drains the core's Readies until it must wait for the disk or has nothing more. */
  pump(node: SimNode): void {
    const core = node.core;
    if (core === null) return;
    while (node.inflight === null && core.hasReady()) {
      const rd = core.ready();
      this.observe(node, rd);
      this.send(rd.messages);
      if (this.opts.driverBugs.includes('sendBeforePersist')) this.send(rd.messagesAfterPersist);
      if (rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null) {
        const syncUs = this.syncDelay();
        const w = node.disk.submit({ kind: 'ready', snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState }, this.now, syncUs);
        node.inflight = { ready: rd, writeId: w.id };
        this.schedule({ kind: 'disk', node, incarnation: node.incarnation, writeId: w.id, time: w.doneAt, seq: 0 });
        return;
      }
      this.finish(node, rd);
    }
  }

  syncDelay(): number {
    const d = this.opts.disk;
    const r = this.rng.disk;
    let us = d.syncMinUs + r.int(Math.max(1, d.syncMaxUs - d.syncMinUs + 1));
    if (this.phase === 'safety' && r.chance(d.slowRate)) us += r.int(d.slowMaxUs + 1);
    return us;
  }

  private diskDone(node: SimNode, incarnation: number, writeId: number): void {
    if (node.incarnation !== incarnation || !node.disk.complete(writeId)) return;
    const durable = node.disk.durable;
    this.checkers.monotonic.onDurable(node.id, durable.hardState.commit, durable.snapshot.meta.index);
    const inflight = node.inflight;
    if (inflight === null || inflight.writeId !== writeId) return;
    node.inflight = null;
    this.finish(node, inflight.ready);
    this.pump(node);
  }

  /** Steps 2–4 of the contract, once the Ready's write is durable. */
  private finish(node: SimNode, rd: Ready): void {
    const core = node.core;
    if (core === null) return;
    const bugs = this.opts.driverBugs;
    if (!bugs.includes('sendBeforePersist') && !bugs.includes('dropAcks')) this.send(rd.messagesAfterPersist);
    if (rd.snapshot !== null) {
      this.restoreStateMachine(node, rd.snapshot);
      this.checkers.monotonic.onApplied(node.id, rd.snapshot.meta.index);
      for (const index of [...node.proposals.keys()]) if (index <= rd.snapshot.meta.index) node.proposals.delete(index);
      this.stats.snapshotsInstalled++;
    }
    for (const e of rd.committed) this.apply(node, e);
    for (const rs of rd.readStates) {
      const r = node.reads.get(rs.context);
      if (r === undefined || r.index !== null) continue; // a late duplicate of an answered read
      this.checkers.reads.onReadIndex(node.id, rs.context, r.floor, rs.index);
      r.index = rs.index;
    }
    core.advance(rd);
    this.serveReads(node);
  }

  private apply(node: SimNode, e: Entry): void {
    if (e.index !== node.sm.applied + 1) {
      throw new Violation('contract', `${node.id}: committed entry ${e.index} handed out after applied ${node.sm.applied}`);
    }
    if (node.log.termAt(e.index) !== e.term) {
      throw new Violation('contract', `${node.id}: committed entry ${e.index} term ${e.term} is not the one in its log (term ${node.log.termAt(e.index)})`);
    }
    const durable = this.durableTermAt(node.id, e.index);
    if (durable !== e.term && durable !== -1) {
      throw new Violation('contract', `${node.id}: committed entry ${e.index} handed out for applying but not durable on its disk (disk has term ${durable})`);
    }
    if (e.index > node.commit) {
      throw new Violation('contract', `${node.id}: entry ${e.index} handed out for applying above commit ${node.commit}`);
    }
    const state = node.sm.apply(e);
    this.checkers.stateMachine.onApply(node.id, e.index, state);
    this.checkers.monotonic.onApplied(node.id, e.index);
    const p = node.proposals.get(e.index);
    if (p !== undefined) {
      node.proposals.delete(e.index);
      const ours = e.kind === 'normal' && e.term === p.term && decodeWrite(e.data)?.writeId === p.writeId;
      if (ours) this.checkers.reads.onAck(e.index);
      if (p.final) this.liveness?.onFinalResolved(e.index, ours);
    }
    if (e.kind === 'conf') {
      this.stats.confChanges++;
      const target = this.nodes.get(e.change.id);
      if (e.change.type === 'remove' && target !== undefined && !target.stopped) {
        this.schedule({ kind: 'stop', node: target, time: this.now + 1, seq: 0 });
      }
    }
  }

  private serveReads(node: SimNode): void {
    if (node.reads.size === 0) return;
    for (const [context, r] of node.reads) {
      if (r.index === null || r.index > node.sm.applied) continue;
      node.reads.delete(context);
      this.checkers.reads.onServed(node.id, context, r.floor, node.sm.applied);
    }
  }

  /** Feeds what a Ready reveals to the checkers, in the order the core produced it. */
  private observe(node: SimNode, rd: Ready): void {
    const wasLeader = node.role === 'leader';
    this.trace.num(node.ordinal).num(rd.entries.length).num(rd.committed.length);
    if (rd.hardState !== null) {
      node.term = rd.hardState.term;
      this.trace.num(rd.hardState.term).num(rd.hardState.commit);
    }
    if (rd.snapshot !== null) {
      const meta = rd.snapshot.meta;
      node.log.installSnapshot(meta);
      this.checkers.completeness.onSnapshot(node.id, meta.index, meta.term, node.term);
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      if (wasLeader && rd.softState === null && first.index <= node.log.lastIndex) {
        throw new Violation('leader-completeness', `leader ${node.id} overwrote its own log from index ${first.index} (last ${node.log.lastIndex})`);
      }
      const prevTerm = node.log.termAt(first.index - 1);
      if (prevTerm === undefined) {
        throw new Violation('contract', `${node.id}: Ready.entries start at ${first.index}, not after its log (${node.log.snapIndex}..${node.log.lastIndex})`);
      }
      this.checkers.logMatching.onAppend(node.id, prevTerm, rd.entries);
      node.log.write(node.id, rd.entries);
      if (wasLeader) {
        onLeaderAppended(this, node);
        if (this.phase === 'safety') this.figure8?.onLeaderAppended(this, node);
      }
    }
    if (rd.hardState !== null && rd.hardState.commit !== node.commit) this.observeCommit(node, rd.hardState.commit, wasLeader && rd.softState === null);
    if (rd.softState !== null) this.observeRole(node, rd.softState.role);
  }

  /** A commit index the core revealed; `leading`: it is the leader's own, in the term the checkers know. */
  private observeCommit(node: SimNode, commit: number, leading: boolean): void {
    this.checkers.monotonic.onCommit(node.id, commit);
    this.checkers.completeness.onCommit(node.id, node.log, node.commit, commit, node.term);
    if (leading && this.opts.checks === 'all') this.checkLeaderCommit(node, commit);
    node.commit = commit;
    if (node.role === 'leader') {
      onLeaderCommitted(this, node);
      if (this.phase === 'safety') this.figure8?.onLeaderCommitted(this, node);
    }
  }

  /**
   * The driver's early apply (raft/node's applyTaken): after every step, the committed entries
   * core.takeCommitted hands out (only while a Ready's write is in flight) are applied at once. apply() checks each is
   * durable here, committed, and next in order.
   */
  private applyTaken(node: SimNode): void {
    const core = node.core;
    if (core === null) return;
    const taken = core.takeCommitted(logIndex(node.sm.applied));
    if (taken.length === 0) return;
    // What the driver learns is committed: up to the last taken entry. The core's commit index may
    // be further, beyond the log of its last Ready (which is what the checkers know); the leader's
    // checks (Figure 8's rule, majority durability) apply only when it is that commit index itself.
    const commit = taken[taken.length - 1]!.index;
    const st = core.status();
    const leading = node.role === 'leader' && st.role === 'leader' && st.term === node.term && st.commit === commit;
    if (commit > node.commit) this.observeCommit(node, commit, leading);
    this.trace.num(6).num(node.ordinal).num(taken.length);
    this.stats.entriesTaken += taken.length;
    for (const e of taken) this.apply(node, e);
    this.serveReads(node);
  }

  /** The direct checks on a leader's commit advance: Figure 8's rule, and durability on a majority. */
  private checkLeaderCommit(node: SimNode, commit: number): void {
    this.checkers.commitRule.onLeaderCommit(node.id, node.term, node.log, commit);
    const t = node.log.termAt(commit);
    if (t === undefined || node.core === null) return;
    const configs = [node.log.membershipAt(commit), node.core.status().membership];
    this.checkers.durability.onLeaderCommit(node.id, commit, t, configs, (id, index) => this.durableTermAt(id, index));
  }

  private durableTermAt(id: NodeId, index: number): number | undefined {
    const d = this.nodes.get(id)?.disk.durable;
    if (d === undefined) return undefined;
    const base = d.snapshot.meta.index;
    if (index < base) return -1;
    if (index === base) return d.snapshot.meta.term;
    return d.entries[index - base - 1]?.term;
  }

  private observeRole(node: SimNode, role: SimNode['role']): void {
    node.role = role;
    if (role !== 'leader' || node.core === null) return;
    const t = node.core.status().term;
    node.term = t;
    this.stats.leaders++;
    if (t > this.stats.maxTerm) this.stats.maxTerm = t;
    this.log?.(`${this.now} ${node.id} leader term=${t} last=${node.log.lastIndex}`);
    this.checkers.election.onLeader(node.id, t);
    this.checkers.completeness.onLeader(node.id, t, node.log);
    if (this.phase === 'safety') this.figure8?.onLeader(this, node);
  }

  // ---- the network ----------------------------------------------------------------------------

  send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      if (!this.nodes.has(m.to)) continue;
      if (m.type === 'voteResp' && !m.reject) {
        if (this.opts.checks === 'all') this.checkers.votes.onVoteGranted(m.from, m.to, m.term);
        onVoteGranted(this, m.from);
      }
      if (m.type === 'appendResp' && !m.reject) onEntriesAcked(this, m.from, m.to);
      const replayable = m.type === 'heartbeatResp' || m.type === 'readIndex' || m.type === 'readIndexResp';
      for (const delay of this.net.route(m.from, m.to, replayable)) {
        this.schedule({ kind: 'deliver', msg: m, time: this.now + delay, seq: 0 });
      }
    }
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    const from = this.nodes.get(m.from);
    this.trace.num(2).num(MESSAGE_CODES[m.type]).num(from?.ordinal ?? -1).num(to?.ordinal ?? -1).num(m.term);
    if (to?.core == null || this.net.isCut(m.from, m.to)) return;
    if (this.log !== undefined) this.log(`${this.now} ${m.to} <- ${describeMessage(m)}`);
    to.core.step(m);
    this.applyTaken(to);
    this.pump(to);
  }

  // ---- queries for the workload, the faults and the liveness phase ----------------------------

  /** The active (up, not paused) leader of the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.all) {
      if (n.active(this.now) && n.role === 'leader' && (best === null || n.term > best.term)) best = n;
    }
    return best;
  }

  /** Nodes that are up and not paused. */
  liveNodes(): SimNode[] {
    return this.all.filter((n) => n.active(this.now));
  }
}

function classify(e: unknown): { kind: ViolationKind; message: string } {
  if (e instanceof Violation) return { kind: e.kind, message: e.message };
  if (e instanceof AssertionError) return { kind: 'core-assertion', message: `${e.message}\n${firstFrames(e)}` };
  if (e instanceof Error) return { kind: 'crash', message: `${e.name}: ${e.message}\n${firstFrames(e)}` };
  return { kind: 'crash', message: String(e) };
}

function firstFrames(e: Error): string {
  return (e.stack ?? '').split('\n').slice(1, 6).join('\n');
}

function describeMessage(m: Message): string {
  const { from, type, term } = m;
  switch (m.type) {
    case 'append':
      return `${from} ${type} t${term} prev=${m.prevLogIndex}/${m.prevLogTerm} n=${m.entries.length} commit=${m.commit}`;
    case 'appendResp':
      return `${from} ${type} t${term} reject=${m.reject} index=${m.index} hint=${m.hintIndex}/${m.hintTerm}`;
    case 'snapshot':
      return `${from} ${type} t${term} index=${m.meta.index} offset=${m.offset} bytes=${m.data.length}/${m.totalBytes}`;
    case 'snapshotResp':
      return `${from} ${type} t${term} index=${m.snapshotIndex} offset=${m.offset} reject=${m.reject}`;
    default:
      return `${from} ${type} t${term}`;
  }
}

function assertNeverEvent(ev: never): never {
  throw new Violation('crash', `unknown event ${JSON.stringify(ev)}`);
}

/** Runs one seed to completion. `log`, when given, receives a line per notable event. */
export function runSeed(args: SimArgs, log?: (line: string) => void): SimResult {
  return new Simulation(args, log).run();
}
