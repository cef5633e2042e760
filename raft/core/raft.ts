// RaftCore: the consensus algorithm as a pure, deterministic state machine in the shape of etcd's
// raft. The driver feeds it ticks, messages and proposals, and drains `ready()` — see
// raft/README.md for the duties that come with each Ready. This file holds the state, the public
// API, the role transitions (only the becomeX functions change the role, and each logs it) and the
// term checks every role shares; the per-role logic lives in election.ts, leader.ts and
// follower.ts.

import { assert, assertNever } from './assert.js';
import { campaign, handleVoteRequest, pollSelfAfterPersist, stepCandidate } from './election.js';
import { advanceLeader, flushAppends, initLeader, leaderPropose, leaderProposeConf, stepLeader, tickLeader } from './leader.js';
import { leaderReadIndex } from './leader-reads.js';
import { leaderTransfer } from './transfer.js';
import { stepFollower } from './follower.js';
import { resolveLimits } from './limits.js';

import { isVoter, roleOf } from './membership.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import type {
  ConfChange,
  Entry,
  HardState,
  LogIndex,
  Membership,
  Message,
  NodeId,
  ReadState,
  Ready,
  RestoredState,
  SoftState,
  Term,
} from './types.js';
import { logIndex, term as asTerm } from './types.js';

export type { CoreConfig, CoreLimits, CoreStatus, LeaderState, ProgressStatus, ProposeErrorCode, ProposeResult, RoleState, TransferResult } from './core-types.js';
import type { CoreConfig, CoreLimits, CoreStatus, LeaderState, ProgressStatus, ProposeResult, RoleState, TransferResult } from './core-types.js';

const electionTicksMin = 2;

/**
 * The members of this class not documented as public API are internal to raft/core (they are
 * public only so election.ts, leader.ts and follower.ts can share them); drivers must use the
 * methods of the contract in /tmp/core-api.md and raft/README.md.
 */
export class RaftCore {
  readonly id: NodeId;
  readonly config: CoreConfig;
  readonly limits: CoreLimits;
  term: Term;
  vote: NodeId | null;
  readonly log: RaftLog;
  role: RoleState = { kind: 'follower', leader: null };
  electionElapsed = 0;
  randomizedElectionTimeout = 0;
  applied: LogIndex;
  readonly snapshotReceiver: SnapshotReceiver;
  private msgs: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** The term and vote known durable (the real ones, even when `unsafe.forgetVote` hides the vote). */
  durable: { term: Term; vote: NodeId | null };
  /** The Ready out: its term and vote, and the last index handed out for applying (its own or taken since). */
  private readyOut: { readonly term: Term; readonly vote: NodeId | null; handedTo: LogIndex } | null = null;

  constructor(config: CoreConfig, restored: RestoredState) {
    assert(config.electionTicks >= electionTicksMin, `electionTicks ${config.electionTicks} < ${electionTicksMin}`);
    assert(
      config.heartbeatTicks >= 1 && config.heartbeatTicks < config.electionTicks,
      `heartbeatTicks ${config.heartbeatTicks} outside [1, electionTicks ${config.electionTicks})`,
    );
    this.id = config.id;
    this.config = config;
    this.limits = resolveLimits(config.limits);
    const hs = restored.hardState;
    const snapIndex = restored.snapshot.meta.index;
    this.log = new RaftLog(restored.snapshot, restored.entries, logIndex(Math.max(hs.commit, snapIndex)));
    assert(hs.term >= this.log.lastTerm(), `hard state term ${hs.term} < last log term ${this.log.lastTerm()}`);
    this.term = hs.term;
    this.vote = hs.vote;
    this.applied = snapIndex;
    this.durable = { term: hs.term, vote: hs.vote };
    this.prevHard = hs;
    this.snapshotReceiver = new SnapshotReceiver(this.limits.snapshotBytesMax);
    this.prevSoft = this.softState();
    this.resetElection();
    this.emit('start', { term: this.term, commit: this.log.committed, last: this.log.lastIndex() });
  }

  // ---- public API ---------------------------------------------------------------------------

  tick(): void {
    if (this.role.kind === 'leader') {
      tickLeader(this, this.role);
      return;
    }
    this.electionElapsed++;
    // Reset the timer only when campaigning (as etcd's tickElection does): a node that may not
    // campaign must let its check-quorum lease run out, or it refuses every vote forever while
    // remembering a leader that is gone (found by the simulator, seed 3000967).
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      campaign(this, this.config.preVote ? 'pre' : 'normal');
    }
  }

  /** Ignores messages not addressed to it and stale ones; never throws on peer input. */
  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (!Number.isSafeInteger(m.term) || m.term < 0) return;
    if (m.term > this.term && !this.onHigherTerm(m)) return;
    if (m.term < this.term) {
      this.onLowerTerm(m);
      return;
    }
    if (m.type === 'preVote' || m.type === 'vote') {
      handleVoteRequest(this, m);
      return;
    }
    const role = this.role;
    switch (role.kind) {
      case 'leader':
        return stepLeader(this, role, m);
      case 'candidate':
      case 'precandidate':
        return stepCandidate(this, role, m);
      case 'follower':
        return stepFollower(this, role, m);
      default:
        return assertNever(role);
    }
  }

  propose(data: Uint8Array): ProposeResult {
    const role = this.role;
    if (role.kind !== 'leader') return this.notLeader();
    return leaderPropose(this, role, data);
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const role = this.role;
    if (role.kind !== 'leader') return this.notLeader();
    return leaderProposeConf(this, role, change);
  }

  /** The answer arrives later in Ready.readStates; it may be dropped (the caller times out). */
  readIndex(context: string): void {
    const role = this.role;
    if (role.kind === 'leader') {
      leaderReadIndex(this, role, context, this.id);
      return;
    }
    const leader = this.leader();
    if (leader === null) this.emit('readDropped', { context, reason: 'no leader known' });
    else this.send({ type: 'readIndex', from: this.id, to: leader, term: this.term, context });
  }

  transferLeadership(to: NodeId): TransferResult {
    const role = this.role;
    if (role.kind !== 'leader') return { ok: false, code: 'not_leader', message: `${this.id} is not the leader` };
    return leaderTransfer(this, role, to);
  }

  /** The application snapshotted its state at applied index `index`: drop entries <= index. */
  compact(index: LogIndex, data: Uint8Array): void {
    assert(index <= this.applied, () => `compact(${index}) beyond applied ${this.applied}`);
    this.log.compact(index, data);
  }

  /** False while a Ready is out (between ready() and advance()). */
  hasReady(): boolean {
    if (this.readyOut !== null) return false;
    return (
      (this.role.kind === 'leader' && this.role.bcastPending) ||
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.log.pendingSnapshot !== null ||
      this.log.hasUnstable() ||
      this.log.committed > this.applyFloor() ||
      !sameSoft(this.softState(), this.prevSoft) ||
      !sameHard(this.hardState(), this.prevHard)
    );
  }

  ready(): Ready {
    assert(this.readyOut === null, 'ready() called again before advance()');
    if (this.role.kind === 'leader') flushAppends(this, this.role);
    const soft = this.softState();
    const hard = this.hardState();
    const floor = this.applyFloor();
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      hardState: sameHard(hard, this.prevHard) ? null : hard,
      snapshot: this.log.pendingSnapshot,
      entries: this.log.unstableEntries(),
      messages: this.msgs,
      messagesAfterPersist: this.msgsAfterPersist,
      committed: this.log.between(floor + 1, this.log.committed),
      readStates: this.readStates,
    };
    this.prevSoft = soft;
    this.prevHard = hard;
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    this.readyOut = { term: this.term, vote: this.vote, handedTo: rd.committed.at(-1)?.index ?? logIndex(floor) };
    return rd;
  }

  /**
   * While a Ready is out (its save in flight), the committed entries that follow everything handed
   * out so far and are durable here already, from earlier Readies; the driver applies them now, in
   * order, instead of after this Ready's save. `applied` is the driver's applied index: nothing is
   * taken until it has applied all that was handed out before (the Ready's own `committed`).
   *
   * Why: at many writes in flight a follower's acknowledgement of batch N commits it while the
   * leader syncs batch N+1, and N's callers would otherwise wait for that fsync as well (etcd raft's
   * asynchronous storage writes apply only locally durable entries for the same reason). Nothing
   * while a snapshot is pending: it is restored after the save. The Ready's advance() is unchanged.
   */
  takeCommitted(applied: LogIndex): readonly Entry[] {
    const out = this.readyOut;
    if (out === null || applied < out.handedTo || this.log.pendingSnapshot !== null) return [];
    const to = Math.min(this.log.committed, this.log.stableLastIndex());
    if (to <= out.handedTo) return [];
    const taken = this.log.between(out.handedTo + 1, to);
    out.handedTo = logIndex(to);
    this.applied = logIndex(Math.max(this.applied, to));
    return taken;
  }

  /** Everything in `rd` is durable, sent and applied. */
  advance(rd: Ready): void {
    assert(this.readyOut !== null, 'advance() without an outstanding ready()');
    if (rd.snapshot !== null) {
      this.log.stableSnapshot(rd.snapshot);
      this.applied = logIndex(Math.max(this.applied, rd.snapshot.meta.index));
    }
    const last = rd.entries.at(-1);
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    const lastApplied = rd.committed.at(-1);
    if (lastApplied !== undefined) this.applied = logIndex(Math.max(this.applied, lastApplied.index));
    this.durable = this.readyOut;
    this.readyOut = null;
    const role = this.role;
    if (role.kind === 'leader') advanceLeader(this, role);
    if (role.kind === 'candidate') pollSelfAfterPersist(this, role);
  }

  status(): CoreStatus {
    const role = this.role;
    const m = this.log.membership();
    return {
      id: this.id,
      role: role.kind,
      isLearner: roleOf(m, this.id) === 'learner',
      term: this.term,
      vote: this.vote,
      leader: this.leader(),
      commit: this.log.committed,
      applied: this.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      membership: m,
      progress: role.kind === 'leader' ? progressStatus(role, m) : [],
      transferringTo: role.kind === 'leader' ? role.transferee : null,
    };
  }

  // ---- role transitions (the only places the role changes) ----------------------------------

  becomeFollower(t: Term, leader: NodeId | null): void {
    assert(t >= this.term, () => `becomeFollower(${t}) below term ${this.term}`);
    if (t > this.term) {
      this.term = t;
      this.vote = null;
    }
    this.setRole({ kind: 'follower', leader });
  }

  becomePreCandidate(): void {
    assert(this.role.kind !== 'leader', 'a leader cannot become a pre-candidate');
    // Pre-vote changes neither term nor vote (dissertation §9.6): a failed pre-campaign leaves
    // no trace that could disrupt the cluster.
    this.setRole({ kind: 'precandidate', votes: new Map() });
  }

  becomeCandidate(): void {
    assert(this.role.kind !== 'leader', 'a leader cannot become a candidate');
    this.term = asTerm(this.term + 1);
    this.vote = this.id;
    this.setRole({ kind: 'candidate', votes: new Map() });
  }

  becomeLeader(): void {
    assert(this.role.kind === 'candidate', () => `becomeLeader from ${this.role.kind}`);
    assert(this.vote === this.id, () => `becomeLeader in term ${this.term} having voted for ${this.vote}`);
    const role: LeaderState = {
      kind: 'leader',
      progress: new Map(),
      reads: new ReadOnly(this.id),
      transferee: null,
      heartbeatElapsed: 0,
      bcastPending: false,
    };
    this.setRole(role);
    initLeader(this, role);
  }

  private setRole(role: RoleState): void {
    const from = this.role.kind;
    this.role = role;
    this.resetElection();
    if (from !== role.kind || role.kind === 'follower') {
      this.emit('role', { from, to: role.kind, term: this.term, leader: this.leader() });
    }
  }

  // ---- shared helpers (internal) --------------------------------------------------------------

  resetElection(): void {
    this.electionElapsed = 0;
    const span = this.config.electionTicks;
    this.randomizedElectionTimeout = span + Math.floor(this.config.random() * span);
  }

  /** Only a voter of the effective membership campaigns (never a learner or a non-member). */
  promotable(): boolean {
    return isVoter(this.log.membership(), this.id) && this.log.pendingSnapshot === null;
  }

  leader(): NodeId | null {
    const role = this.role;
    if (role.kind === 'leader') return this.id;
    return role.kind === 'follower' ? role.leader : null;
  }

  /** Check-quorum lease (etcd): heard from a leader within the election timeout. */
  inLease(): boolean {
    return this.config.checkQuorum && this.leader() !== null && this.electionElapsed < this.config.electionTicks;
  }

  /** Safe to send at once. */
  send(m: Message): void {
    this.msgs.push(m);
  }

  /** Send only after this Ready's entries and hard state are durable (vote and append responses). */
  sendAfterPersist(m: Message): void {
    if (this.config.unsafe?.ackBeforeSync === true) this.msgs.push(m);
    else this.msgsAfterPersist.push(m);
  }

  emit(event: string, fields: Record<string, unknown>): void {
    this.config.log?.(event, { id: this.id, ...fields });
  }

  notLeader(): ProposeResult {
    const leader = this.leader();
    const where = leader === null ? 'no leader is known' : `the leader is ${leader}`;
    return { ok: false, code: 'not_leader', leader, message: `${this.id} is not the leader; ${where}` };
  }

  private applyFloor(): number {
    const s = this.log.pendingSnapshot;
    return s === null ? this.applied : Math.max(this.applied, s.meta.index);
  }

  private softState(): SoftState {
    return { role: this.role.kind, leader: this.leader() };
  }

  private hardState(): HardState {
    const vote = this.config.unsafe?.forgetVote === true ? null : this.vote;
    return { term: this.term, vote, commit: this.log.committed };
  }

  /** A message from a later term: returns whether to go on processing it. */
  private onHigherTerm(m: Message): boolean {
    if (m.type === 'preVote' || m.type === 'vote') {
      const transfer = m.type === 'vote' && m.transfer;
      // A node that heard from a leader within the election timeout ignores requests to elect
      // another (dissertation §4.2.3), so a node rejoining after a partition cannot depose a
      // healthy leader; a leadership transfer is the one deliberate exception.
      if (!transfer && this.inLease()) {
        this.emit('voteRejectedInLease', { from: m.from, type: m.type, term: m.term, ourTerm: this.term });
        // A pre-candidate counts the refusal (in our term, which is its own) and gives up early;
        // a candidate has moved past our term and ignores it, so it gets no answer.
        if (m.type === 'preVote') this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
        return false;
      }
      if (m.type === 'preVote') return true;
    }
    // A granted pre-vote is answered in the requested (future) term; it does not move ours.
    if (m.type === 'preVoteResp' && !m.reject) return true;
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  /** A message from an earlier term is ignored, except where answering helps the sender. */
  private onLowerTerm(m: Message): void {
    const fromStaleLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    if (fromStaleLeader) {
      // Raft §5.1: a stale request is rejected with the current term, so the stale leader steps
      // down. A leader cut off by a partition may never hear a higher term otherwise (with
      // pre-vote the rest of the cluster does not bump terms while its leader is alive; without
      // it, a node that may not campaign never tells the old leader — sim bug 3).
      this.send(rejectAppend(this, m.from));
    } else if (this.config.preVote && m.type === 'preVote') {
      this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
    }
  }
}

function rejectAppend(r: RaftCore, to: NodeId): Message {
  const zero = logIndex(0);
  return { type: 'appendResp', from: r.id, to, term: r.term, reject: true, index: zero, hintIndex: zero, hintTerm: asTerm(0) };
}

function progressStatus(role: LeaderState, m: Membership): ProgressStatus[] {
  const out: ProgressStatus[] = [];
  for (const [id, pr] of role.progress) {
    out.push({
      id,
      role: roleOf(m, id) ?? 'learner',
      match: logIndex(pr.match),
      next: logIndex(pr.next),
      state: pr.state,
      recentActive: pr.recentActive,
    });
  }
  return out;
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

