// The driver: runs a RaftCore against real time, disk and sockets (DESIGN §2). It owns the tick
// timer and the Ready loop, and turns the core's outputs into settled promises for callers.
//
// The Ready loop, strictly in this order for each Ready (raft/core/types.ts, Ready):
//   0. send `messages` at once (the leader's appends leave before its own fsync: its write runs in
//      parallel with replication);
//   1. persist snapshot + entries + hard state in ONE synced storage.save() (one fsync); while it
//      runs, apply the committed entries that earlier Readies already made durable;
//   2. send `messagesAfterPersist` (votes and append acks: only once durable, Raft §5.1);
//   3. restore the state machine from `snapshot`, apply `committed` in order, settle proposals;
//   4. hand `readStates` to readers once applied >= their index;
//   5. core.advance(ready); then maybe take a local snapshot and compact.
// Only one Ready is in flight, so there are never two saves at once. Proposals that arrive while a
// save is in flight go into the core and leave together in the next Ready: group commit.

import type { Entry, HardState, LogIndex, Member, Membership, Message, NodeId, Ready, RestoredState, Snapshot, SoftState, Term } from '../core/types.js';
import { logIndex, term } from '../core/types.js';
import { assert } from '../core/assert.js';
import type { RaftStorage } from '../storage/storage.js';
import type { Transport } from '../transport/transport.js';
import type { NodeStatus, PeerStatus, RaftErrorCode, RaftNodeApi, RaftNodeEvents, StateMachine } from './api.js';
import { RaftError } from './api.js';
import { applyConfChange, peerAddresses, unionMembers } from './membership.js';
import type { RaftNodeOptions, ResolvedOptions } from './options.js';
import { resolveOptions } from './options.js';
import { PendingProposals, PendingReads } from './pending.js';
import type { CoreLike, CoreProposeResult, CreateCore } from './ports.js';

type State = 'running' | 'stopping' | 'stopped' | 'failed';

/** Counters for benchmarks and status pages (the group-commit factor is entriesSaved / saves). */
export interface NodeStats {
  readonly saves: number;
  readonly entriesSaved: number;
  readonly entriesApplied: number;
  readonly snapshotsTaken: number;
  readonly snapshotsInstalled: number;
}

const raftErrorCodes: ReadonlySet<string> = new Set<RaftErrorCode>([
  'not_leader', 'timeout', 'transferring', 'change_pending', 'stopped', 'too_large', 'unknown_member', 'overloaded',
]);

export class RaftNode implements RaftNodeApi {
  readonly id: NodeId;
  private state: State = 'running';
  private timer: NodeJS.Timeout | null = null;
  private loopRunning = false;
  private loopScheduled = false;
  private loopIdle: (() => void)[] = [];
  private readonly proposals = new PendingProposals();
  private readonly reads = new PendingReads();
  private readSeq = 0;
  private readonly listeners: { [E in keyof RaftNodeEvents]: Set<RaftNodeEvents[E]> } = {
    applied: new Set(),
    leader: new Set(),
    membership: new Set(),
    snapshot: new Set(),
  };
  private soft: SoftState = { role: 'follower', leader: null };
  private appliedIndex: LogIndex;
  private appliedTerm: Term;
  private snapshotIndex: LogIndex;
  /** Membership as of the applied index (what a snapshot taken now must record). */
  private membership: Membership;
  /** The transport's peer table as last set: id -> "host:port". */
  private peers = new Map<NodeId, string>();
  /** The hard state as last synced, and a newer one that differs only in commit (see persist). */
  private savedHardState: HardState;
  private deferredHardState: HardState | null = null;
  /** The last log index on disk (entries or snapshot), as of the last completed save. */
  private persistedIndex: number;
  private counters = { saves: 0, entriesSaved: 0, entriesApplied: 0, snapshotsTaken: 0, snapshotsInstalled: 0 };
  /** Entry-less messages of the last Ready held back until its appliers have answered (see splitMessages). */
  private deferred: Message[] = [];
  /** Commit-only appends held for commitHoldMs, per peer (the newest: it carries the highest commit). */
  private held = new Map<NodeId, Message>();
  /** When the last entries were applied (Date.now()): a deferred snapshot waits for a quiet moment. */
  private lastAppliedMs = 0;
  private holdTimer: NodeJS.Timeout | null = null;
  /** forcedSnapshotEntries() and the membership it was computed for. */
  private forcedBound: { readonly of: Membership | null; readonly entries: number } = { of: null, entries: 0 };
  /** A local snapshot whose storage write is under way, whether it is done, and its end (maybeSnapshot). */
  private snapshotting: { readonly snap: Snapshot; saved: boolean; settled: Promise<void> } | null = null;

  private constructor(
    private readonly o: ResolvedOptions,
    private readonly core: CoreLike,
    private readonly storage: RaftStorage,
    private readonly transport: Transport,
    private readonly sm: StateMachine,
    private readonly knownPeers: readonly Member[],
    id: NodeId,
    restored: RestoredState,
  ) {
    this.id = id;
    this.appliedIndex = restored.snapshot.meta.index;
    this.appliedTerm = restored.snapshot.meta.term;
    this.snapshotIndex = restored.snapshot.meta.index;
    this.membership = restored.snapshot.meta.membership;
    this.savedHardState = restored.hardState;
    const lastRestored = restored.entries[restored.entries.length - 1];
    this.persistedIndex = lastRestored?.index ?? restored.snapshot.meta.index;
  }

  /** Loads (or bootstraps) storage, restores the state machine, and starts ticking. */
  static async open(options: RaftNodeOptions): Promise<RaftNode> {
    const o = resolveOptions(options);
    const restored = await loadOrBootstrap(options, o);
    if (restored.snapshot.meta.index > 0) {
      options.stateMachine.restore(restored.snapshot.data, restored.snapshot.meta.index);
    }
    const createCore: CreateCore = options.createCore ?? (await defaultCreateCore());
    const core = createCore(
      {
        id: options.id,
        electionTicks: o.electionTicks,
        heartbeatTicks: o.heartbeatTicks,
        preVote: true,
        checkQuorum: true,
        random: o.random,
        ...(options.coreLimits === undefined ? {} : { limits: options.coreLimits }),
        log: (event, fields) => o.logger({ level: 'info', msg: event, node: options.id, ...fields }),
      },
      restored,
    );
    const node = new RaftNode(o, core, options.storage, options.transport, options.stateMachine, options.knownPeers ?? [], options.id, restored);
    node.start(restored);
    return node;
  }

  private start(restored: RestoredState): void {
    this.syncPeers();
    this.transport.onMessage((msg) => this.onMessage(msg));
    this.timer = setInterval(() => this.onTick(), this.o.tickMs);
    this.o.logger({
      level: 'info', msg: 'node started', node: this.id, snapshotIndex: restored.snapshot.meta.index,
      entries: restored.entries.length, term: restored.hardState.term, commit: restored.hardState.commit,
      members: this.core.status().membership.members.map((m) => `${m.id}:${m.role}`),
    });
    this.schedule();
  }

  // ---- inputs ----------------------------------------------------------------------------------

  private onMessage(msg: Message): void {
    if (this.state !== 'running') return;
    this.core.step(msg);
    // An acknowledgement that may commit the only write waiting here runs an idle loop now rather
    // than after setImmediate, which on a busy leader came 80 µs later (traced at one write in
    // flight: 8% of a write's latency). With more writes waiting it goes through schedule(), so
    // that the proposals read in the same event-loop turn share the next Ready (running at once
    // cost 10% of the writes/s at 256 in flight in `bench ab`).
    if (msg.type === 'appendResp' && this.proposals.size <= 1 && !this.loopRunning && !this.loopScheduled && this.core.hasReady()) void this.runLoop();
    else this.schedule();
    this.applyTaken();
  }

  private onTick(): void {
    if (this.state !== 'running') return;
    this.core.tick();
    const now = Date.now();
    this.proposals.expire(now);
    this.reads.expire(now);
    this.schedule();
  }

  propose(command: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<unknown> {
    if (!(command instanceof Uint8Array) || command.length === 0) {
      // Empty data marks the entry a new leader appends (Raft §8); the state machine never sees it.
      return Promise.reject(new TypeError('propose: command must be a non-empty Uint8Array'));
    }
    return this.proposeWith((core) => core.propose(command), options?.timeoutMs);
  }

  read(options?: { readonly timeoutMs?: number }): Promise<LogIndex> {
    const refused = this.refusal(this.reads.size, this.o.limits.pendingReadsMax, 'reads');
    if (refused !== null) return Promise.reject(refused);
    if (this.soft.leader === null) {
      return Promise.reject(new RaftError('not_leader', 'no leader known: a linearizable read needs one'));
    }
    const deadlineMs = Date.now() + (options?.timeoutMs ?? this.o.proposalTimeoutMs);
    return new Promise<LogIndex>((resolve, reject) => {
      this.reads.add({ resolve, reject, deadlineMs });
      this.schedule();
    });
  }

  addLearner(id: NodeId, context: string): Promise<void> {
    return this.confChange((core) => core.proposeConfChange({ type: 'addLearner', id, context }));
  }

  async promote(id: NodeId): Promise<void> {
    const deadlineMs = Date.now() + this.o.proposalTimeoutMs;
    await this.waitCaughtUp(id, deadlineMs);
    await this.confChange((core) => core.proposeConfChange({ type: 'promote', id }), deadlineMs - Date.now());
  }

  removeMember(id: NodeId): Promise<void> {
    return this.confChange((core) => core.proposeConfChange({ type: 'remove', id }));
  }

  async transferLeadership(to: NodeId): Promise<void> {
    this.throwIfNotRunning();
    const r = this.core.transferLeadership(to);
    if (!r.ok) throw new RaftError(asRaftCode(r.code), r.message, this.leaderInfo(this.soft.leader));
    this.schedule();
    const deadlineMs = Date.now() + this.o.proposalTimeoutMs;
    await this.pollUntil(deadlineMs, () => this.soft.leader === to, `leadership did not move to ${to}`);
  }

  // ---- the Ready loop ----------------------------------------------------------------------------

  /** Runs the loop soon; setImmediate lets a burst of proposals from one event-loop turn share a Ready. */
  private schedule(): void {
    if (this.loopRunning || this.loopScheduled || this.state !== 'running') return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      void this.runLoop();
    });
  }

  private async runLoop(): Promise<void> {
    if (this.loopRunning || this.state !== 'running') return;
    this.loopRunning = true;
    try {
      this.flushReads();
      while (this.state === 'running') {
        if (!this.core.hasReady()) {
          // Nothing to do: the moment a deferred snapshot waits for (snapshotIdleMs), and for
          // compacting the log once a saved one is durable. Look again after compacting.
          if (this.maybeSnapshot()) continue;
          break;
        }
        await this.handleReady(this.core.ready());
        // Let socket input, proposals and timers in between Readies: a storage that settles
        // without I/O (MemoryStorage) must not starve the event loop, and what arrives joins the
        // next Ready (group commit).
        await new Promise<void>((r) => setImmediate(r));
        this.sendDeferred();
        this.flushReads();
      }
    } catch (err) {
      this.deferred = [];
      this.held.clear();
      this.fail(err);
    } finally {
      this.loopRunning = false;
      // A snapshot saved while this loop was ending would otherwise wait for the next Ready.
      if (this.snapshotting?.saved === true) this.schedule();
      const idle = this.loopIdle;
      this.loopIdle = [];
      for (const f of idle) f();
    }
  }

  private flushReads(): void {
    const context = `${this.id}/${++this.readSeq}`;
    if (this.reads.takeBatch(context)) this.core.readIndex(context);
  }

  private async handleReady(rd: Ready): Promise<void> {
    for (const m of this.splitMessages(rd)) this.transport.send(m);
    if (rd.softState !== null) this.onSoftState(rd.softState);
    if (rd.entries.length > 0 && this.soft.role !== 'leader') this.proposals.overwritten(rd.entries);
    const before = this.membership;
    const early = this.durablePrefix(rd);
    const saving = this.persist(rd);
    try {
      // Committed entries that an earlier Ready already made durable need not wait for this
      // Ready's fsync: apply them while it runs (it is I/O off the main thread), so a proposal
      // never waits behind the write of the proposals that came after it.
      this.applyCommitted(rd.committed.slice(0, early));
    } catch (err) {
      await saving.catch(() => undefined);
      throw err;
    }
    await saving;
    for (const m of rd.messagesAfterPersist) this.transport.send(m);
    // The transport writes what was sent in a microtask: let the acknowledgements (on the leader's
    // commit path) leave before this node applies and runs its 'applied' listeners.
    if (rd.messagesAfterPersist.length > 0 && rd.committed.length > 0) await Promise.resolve();
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot);
    this.applyCommitted(rd.committed.slice(early));
    for (const rs of rd.readStates) this.reads.answered(rs.context, rs.index, this.appliedIndex);
    this.core.advance(rd);
    if (rd.snapshot !== null || hasConf(rd.entries) || this.membership !== before) this.syncPeers();
    if (this.membership !== before) this.emit('membership', this.memberStatuses(this.membership.members, null));
    if (rd.committed.length > 0 || rd.snapshot !== null) this.emit('applied', this.appliedIndex);
    this.maybeSnapshot();
  }

  /**
   * Duty 0, and what may wait (only with commitHoldMs > 0). A Ready that applies entries settles
   * proposals whose callers answer in the microtasks that follow (an HTTP write's answer). An
   * entry-less message to a voter (the append that only carries the new commit index, a heartbeat)
   * wakes a follower that has nothing else to do; on the project's 2-core VMs the wake-up costs the
   * sending leader 50-90 µs of CPU, and the woken follower takes the CPU the leader needs to answer
   * (profiled: the answer waited 0.3-0.4 ms behind the followers' commit handling). So a voter's
   * heartbeat goes out at the start of the loop's next turn (after its setImmediate), and its
   * commit-only append is held for the next write's append to carry (hold()). Learners get every
   * message at once: they are the DNS servers on agents, where a new name should answer as soon as
   * possible (bench propagation). A peer that also gets a message with entries or a snapshot in
   * this Ready gets all of its messages now, in order. Returns the messages to send now.
   */
  private splitMessages(rd: Ready): readonly Message[] {
    if (rd.messages.length === 0 || this.o.commitHoldMs === 0) return rd.messages;
    // An append with entries carries the commit index too: a held commit-only append to that
    // peer is now redundant (and a follower that missed it learns the commit from the next heartbeat).
    if (this.held.size > 0) {
      for (const m of rd.messages) if (m.type === 'append' && m.entries.length > 0) this.held.delete(m.to);
      // The hold is timed from the oldest message still held, not from one already superseded.
      if (this.held.size === 0) this.clearHoldTimer();
    }
    if (rd.committed.length === 0) return rd.messages;
    const now: Message[] = [];
    for (const m of rd.messages) {
      if (!canWait(m) || this.isLearner(m.to) || rd.messages.some((o) => o.to === m.to && !canWait(o))) now.push(m);
      else if (m.type === 'append') this.hold(m);
      else this.deferred.push(m);
    }
    return now;
  }

  private isLearner(id: NodeId): boolean {
    return this.membership.members.some((m) => m.id === id && m.role === 'learner');
  }

  /**
   * A commit-only append waits up to commitHoldMs for the next write's append, which carries the
   * commit index anyway: at one write in flight that saves each follower a frame, a Ready and an
   * acknowledgement per write (half its wake-ups), and the leader two acknowledgements.
   */
  private hold(m: Message): void {
    this.held.set(m.to, m);
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = null;
      this.sendHeld();
    }, this.o.commitHoldMs);
  }

  private sendHeld(): void {
    this.clearHoldTimer();
    if (this.held.size === 0) return;
    const out = [...this.held.values()];
    this.held.clear();
    for (const m of out) this.transport.send(m);
  }

  private clearHoldTimer(): void {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
  }

  private sendDeferred(): void {
    if (this.deferred.length === 0) return;
    const out = this.deferred;
    this.deferred = [];
    for (const m of out) this.transport.send(m);
  }

  /** How many of `rd.committed` (a prefix) were durable here before this Ready: none if it installs a snapshot. */
  private durablePrefix(rd: Ready): number {
    if (rd.snapshot !== null) return 0;
    const firstNew = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
    const durable = Math.min(this.persistedIndex, firstNew - 1);
    let n = 0;
    while (n < rd.committed.length && rd.committed[n]!.index <= durable) n++;
    return n;
  }

  /**
   * Duty 1. Entries, a snapshot, or a new term or vote must be synced before anything that
   * depends on them leaves. A hard state whose only change is the commit index is not: Raft never
   * acknowledges a commit index, and a node that restarts with an older one learns it again from
   * the leader (etcd's MustSync makes the same cut). Such a hard state rides along with the next
   * synced save (or the final one in stop()), which keeps an fsync off every commit's path.
   */
  private async persist(rd: Ready): Promise<void> {
    const hs = rd.hardState ?? this.deferredHardState;
    const mustSync = rd.snapshot !== null || rd.entries.length > 0
      || (rd.hardState !== null && (rd.hardState.term !== this.savedHardState.term || rd.hardState.vote !== this.savedHardState.vote));
    if (!mustSync) {
      if (rd.hardState !== null) this.deferredHardState = rd.hardState;
      return;
    }
    await this.storage.save({ hardState: hs, entries: rd.entries, snapshot: rd.snapshot });
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.persistedIndex = last.index;
    else if (rd.snapshot !== null) this.persistedIndex = rd.snapshot.meta.index;
    if (hs !== null) this.savedHardState = hs;
    this.deferredHardState = null;
    this.counters.saves++;
    this.counters.entriesSaved += rd.entries.length;
  }

  private onSoftState(s: SoftState): void {
    const leaderChanged = s.leader !== this.soft.leader;
    if (s.role !== this.soft.role) this.o.logger({ level: 'info', msg: 'role', node: this.id, role: s.role, leader: s.leader });
    this.soft = s;
    if (leaderChanged) this.emit('leader', s.leader);
  }

  private installSnapshot(snap: Snapshot): void {
    const { index } = snap.meta;
    assert(index >= this.appliedIndex, () => `snapshot ${index} behind applied ${this.appliedIndex}`);
    // A leader that never compacted sends its bootstrap snapshot (index 0, empty data, the initial
    // members) to a joining node: it carries membership only, there is no state to restore.
    if (index > 0) this.runStateMachine(() => this.sm.restore(snap.data, index));
    this.appliedIndex = index;
    this.appliedTerm = snap.meta.term;
    this.snapshotIndex = index;
    this.membership = snap.meta.membership;
    this.counters.snapshotsInstalled++;
    this.proposals.coveredBySnapshot(index);
    this.o.logger({ level: 'info', msg: 'snapshot installed', node: this.id, index, term: snap.meta.term });
    this.emit('snapshot', { index, kind: 'installed' });
  }

  /**
   * While a Ready's save is in flight (the only time a message arrives with a Ready out), a message
   * (an acknowledgement on the leader, the commit index on a follower) may have committed entries
   * that earlier Readies made durable here. They are applied now (core.takeCommitted; nothing at
   * other times), not after this save: at 64 writes in flight the leader's callers of batch N
   * otherwise waited for the fsync of batch N+1 too.
   */
  private applyTaken(): void {
    try {
      const taken = this.core.takeCommitted(logIndex(this.appliedIndex));
      if (taken.length === 0) return;
      this.applyCommitted(taken);
      this.emit('applied', this.appliedIndex);
    } catch (err) {
      this.fail(err);
    }
  }

  private applyCommitted(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.appliedIndex) continue; // already in a snapshot installed in this Ready
      assert(e.index === this.appliedIndex + 1, () => `apply gap: entry ${e.index} after applied ${this.appliedIndex}`);
      let result: unknown = undefined;
      if (e.kind === 'conf') this.membership = applyConfChange(this.membership, e.change);
      else if (e.data.length > 0) result = this.runStateMachine(() => this.sm.apply(e.data, e.index));
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
      this.counters.entriesApplied++;
      this.proposals.applied(e, result);
    }
    if (entries.length > 0) this.lastAppliedMs = Date.now();
    this.reads.applied(this.appliedIndex);
  }

  /** The state machine must not throw (api.ts): a throw would let replicas diverge, so it is fatal. */
  private runStateMachine<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      throw new StateMachineError(err);
    }
  }

  /**
   * Takes a snapshot when one is due (snapshotEntries applied since the last), and, with
   * snapshotIdleMs, nothing was applied for that long or twice as many are due. The state machine
   * encodes it here; storage writes it while the loop goes on (a million tasks are tens of MB:
   * Readies must not wait for them), and a later turn compacts the log once it is durable.
   * Returns whether it compacted.
   */
  private maybeSnapshot(): boolean {
    if (this.snapshotting !== null) return this.finishSnapshot();
    const due = this.appliedIndex - this.snapshotIndex;
    if (due < this.o.snapshotEntries) return false;
    if (this.o.snapshotIdleMs > 0 && due < this.forcedSnapshotEntries() && Date.now() - this.lastAppliedMs < this.o.snapshotIdleMs) return false;
    const index = this.appliedIndex;
    const data = this.runStateMachine(() => this.sm.snapshot());
    const snap: Snapshot = { meta: { index, term: this.appliedTerm, membership: this.membership }, data };
    const pending = { snap, saved: false, settled: Promise.resolve() };
    pending.settled = this.storage.saveSnapshot(snap).then(
      () => {
        pending.saved = true;
        this.schedule();
      },
      (err: unknown) => {
        // A failed write is fatal while running; stop() waits for it and logs it.
        if (this.state === 'running') this.fail(err);
        else this.o.logger({ level: 'error', msg: 'snapshot write failed while stopping', node: this.id, index, err: String(err) });
      },
    );
    this.snapshotting = pending;
    return false;
  }

  /**
   * Entries due at which a snapshot waiting for a quiet moment (snapshotIdleMs) is taken anyway:
   * 2 x snapshotEntries for the voter (or learner) with the lowest id, less for each next one,
   * down to just above 1 x. Under continuous load every replica reaches the same index at the same time; a
   * common bound made all of them stop to encode together (1-1.5 s each at a million tasks), and
   * no write could commit until a quorum was done. Staggered, a follower encodes while the leader
   * and the other followers go on committing.
   */
  private forcedSnapshotEntries(): number {
    // Asked on every Ready while a snapshot is due: computed once per membership (replaced, never
    // changed in place), not a sort of every member each time.
    if (this.forcedBound.of !== this.membership) {
      // Ranked among members of this node's role: the voters' bounds must stay far apart however
      // many learners (agents) there are.
      const role = this.membership.members.find((m) => m.id === this.id)?.role;
      const ids = this.membership.members.filter((m) => m.role === role).map((m) => m.id).sort();
      const rank = Math.max(0, ids.indexOf(this.id));
      this.forcedBound = { of: this.membership, entries: this.o.snapshotEntries * (2 - rank / Math.max(1, ids.length)) };
    }
    return this.forcedBound.entries;
  }

  /** Compacts the core's log up to the snapshot being saved, once storage has it. */
  private finishSnapshot(): boolean {
    const pending = this.snapshotting;
    if (pending === null || !pending.saved) return false;
    this.snapshotting = null;
    const { index } = pending.snap.meta;
    // A leader's snapshot installed while this one was written covers it (storage ignored this one).
    if (index <= this.snapshotIndex) return false;
    this.core.compact(index, pending.snap.data);
    this.snapshotIndex = index;
    this.counters.snapshotsTaken++;
    this.o.logger({ level: 'info', msg: 'snapshot taken', node: this.id, index, bytes: pending.snap.data.length });
    this.emit('snapshot', { index, kind: 'local' });
    return true;
  }

  /** A bug below us (state machine throw, storage failure, broken invariant): stop serving at once. */
  private fail(err: unknown): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.clearHoldTimer();
    this.held.clear();
    const cause = err instanceof StateMachineError ? err.cause : err;
    this.o.logger({ level: 'error', msg: 'node failed', node: this.id, err: String(cause), stack: (cause as Error)?.stack });
    const stopped = new RaftError('stopped', `node ${this.id} failed: ${String(cause)}`);
    this.proposals.rejectAll(stopped);
    this.reads.rejectAll(stopped);
    this.o.onFatal(cause);
  }

  // ---- proposals and membership ----------------------------------------------------------------

  private proposeWith(submit: (core: CoreLike) => CoreProposeResult, timeoutMs?: number): Promise<unknown> {
    const refused = this.refusal(this.proposals.size, this.o.limits.pendingProposalsMax, 'proposals');
    if (refused !== null) return Promise.reject(refused);
    const r = submit(this.core);
    if (!r.ok) return Promise.reject(new RaftError(r.code, r.message, this.leaderInfo(r.leader)));
    const deadlineMs = Date.now() + Math.max(0, timeoutMs ?? this.o.proposalTimeoutMs);
    const p = new Promise<unknown>((resolve, reject) => {
      this.proposals.add(r.index, { term: r.term, resolve, reject, deadlineMs });
    });
    this.schedule();
    return p;
  }

  private async confChange(submit: (core: CoreLike) => CoreProposeResult, timeoutMs?: number): Promise<void> {
    await this.proposeWith(submit, timeoutMs);
  }

  private refusal(size: number, max: number, what: string): RaftError | null {
    if (this.state !== 'running') return new RaftError('stopped', `node ${this.id} is ${this.state}`);
    if (size >= max) return new RaftError('overloaded', `${size} ${what} pending (limit ${max}): retry later`);
    return null;
  }

  private throwIfNotRunning(): void {
    if (this.state !== 'running') throw new RaftError('stopped', `node ${this.id} is ${this.state}`);
  }

  /** Promote only a learner whose log is close to the leader's, so the quorum does not stall on it. */
  private async waitCaughtUp(id: NodeId, deadlineMs: number): Promise<void> {
    await this.pollUntil(deadlineMs, () => {
      const s = this.core.status();
      if (s.role !== 'leader') throw new RaftError('not_leader', 'promote must run on the leader', this.leaderInfo(s.leader));
      const member = s.membership.members.find((m) => m.id === id);
      if (member === undefined) throw new RaftError('unknown_member', `${id} is not a member`);
      if (member.role === 'voter') throw new RaftError('unknown_member', `${id} is already a voter`);
      const p = s.progress.find((x) => x.id === id);
      return p !== undefined && p.match + this.o.limits.promoteLagEntriesMax >= s.lastIndex;
    }, `learner ${id} did not catch up`);
  }

  /** Checks `done` every tick until it holds; there is no event for "a peer's match index moved". */
  private async pollUntil(deadlineMs: number, done: () => boolean, what: string): Promise<void> {
    for (;;) {
      this.throwIfNotRunning();
      if (done()) return;
      if (Date.now() >= deadlineMs) throw new RaftError('timeout', `${what} within the deadline`);
      await new Promise((r) => setTimeout(r, this.o.tickMs));
    }
  }

  private leaderInfo(leader: NodeId | null): { readonly id: NodeId; readonly context: string } | null {
    if (leader === null) return null;
    const m = this.core.status().membership.members.find((x) => x.id === leader)
      ?? this.membership.members.find((x) => x.id === leader);
    return { id: leader, context: m?.context ?? '' };
  }

  // ---- peers, status, events -------------------------------------------------------------------

  /** Keeps the transport's peers = members of the effective (core) or applied membership. */
  private syncPeers(): void {
    const effective = this.core.status().membership.members;
    let members = unionMembers(effective, this.membership.members);
    if (!effective.some((m) => m.id === this.id)) members = unionMembers(members, this.knownPeers);
    const next = peerAddresses(members, this.id, this.o.peerAddress);
    for (const [id, addr] of next) {
      if (this.peers.get(id) === addr) continue;
      const colon = addr.lastIndexOf(':');
      const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
      this.transport.setPeer(id, { host, port: Number(addr.slice(colon + 1)) });
    }
    for (const id of this.peers.keys()) if (!next.has(id)) this.transport.removePeer(id);
    this.peers = next;
  }

  status(): NodeStatus {
    const s = this.core.status();
    const match = new Map(s.progress.map((p) => [p.id, p.match] as const));
    return {
      id: this.id,
      role: s.isLearner ? 'learner' : s.role,
      term: s.term,
      leader: s.leader,
      commitIndex: s.commit,
      appliedIndex: this.appliedIndex,
      members: this.memberStatuses(s.membership.members, s.role === 'leader' ? match : null),
    };
  }

  stats(): NodeStats {
    return { ...this.counters };
  }

  private memberStatuses(members: readonly Member[], match: ReadonlyMap<NodeId, LogIndex> | null): PeerStatus[] {
    return members.map((m) => ({
      id: m.id,
      role: m.role,
      context: m.context,
      matchIndex: match === null ? null : m.id === this.id ? this.core.status().lastIndex : (match.get(m.id) ?? logIndex(0)),
      reachable: m.id === this.id || this.transport.isReachable(m.id),
    }));
  }

  on<E extends keyof RaftNodeEvents>(event: E, listener: RaftNodeEvents[E]): void {
    (this.listeners[event] as Set<RaftNodeEvents[E]>).add(listener);
  }

  off<E extends keyof RaftNodeEvents>(event: E, listener: RaftNodeEvents[E]): void {
    (this.listeners[event] as Set<RaftNodeEvents[E]>).delete(listener);
  }

  private emit<E extends keyof RaftNodeEvents>(event: E, ...args: Parameters<RaftNodeEvents[E]>): void {
    for (const l of this.listeners[event]) (l as (...a: Parameters<RaftNodeEvents[E]>) => void)(...args);
  }

  /** Stops ticking, rejects waiters with 'stopped', lets the in-flight save finish, closes transport and storage. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const failed = this.state === 'failed';
    this.state = 'stopping';
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const stopped = new RaftError('stopped', `node ${this.id} is stopping`);
    this.proposals.rejectAll(stopped);
    this.reads.rejectAll(stopped);
    if (this.loopRunning) await new Promise<void>((r) => this.loopIdle.push(r));
    if (!failed) {
      this.sendDeferred();
      this.sendHeld();
    }
    this.clearHoldTimer();
    if (this.deferredHardState !== null && !failed) {
      await this.storage.save({ hardState: this.deferredHardState, entries: [], snapshot: null });
      this.deferredHardState = null;
    }
    // A snapshot being written finishes first: the next start then restores from it.
    await this.snapshotting?.settled;
    await this.transport.close();
    await this.storage.close();
    this.state = 'stopped';
    this.o.logger({ level: 'info', msg: 'node stopped', node: this.id, failed, applied: this.appliedIndex });
  }
}

/** Wraps a state machine throw so the loop can tell it from its own failures. */
class StateMachineError extends Error {
  constructor(override readonly cause: unknown) {
    super(`state machine threw: ${String(cause)}`);
    this.name = 'StateMachineError';
  }
}

/** Messages that carry no entries and no snapshot: delaying them by one loop turn changes no safety property. */
function canWait(m: Message): boolean {
  return (m.type === 'append' && m.entries.length === 0) || m.type === 'heartbeat';
}

function hasConf(entries: readonly Entry[]): boolean {
  return entries.some((e) => e.kind === 'conf');
}

function asRaftCode(code: string): RaftErrorCode {
  return raftErrorCodes.has(code) ? (code as RaftErrorCode) : 'not_leader';
}

/** Storage's state, or for empty storage a bootstrap snapshot at index 0 (saved before use). */
async function loadOrBootstrap(options: RaftNodeOptions, o: ResolvedOptions): Promise<RestoredState> {
  const loaded = await options.storage.load();
  if (loaded !== null) return loaded;
  const members = options.bootstrap === 'join' ? [] : options.bootstrap.members;
  if (options.bootstrap !== 'join' && !members.some((m) => m.id === options.id && m.role === 'voter')) {
    throw new RangeError(`bootstrap.members must include this node (${options.id}) as a voter`);
  }
  const restored: RestoredState = {
    hardState: { term: term(0), vote: null, commit: logIndex(0) },
    snapshot: { meta: { index: logIndex(0), term: term(0), membership: { members } }, data: new Uint8Array(0) },
    entries: [],
  };
  await options.storage.save({ hardState: restored.hardState, entries: [], snapshot: restored.snapshot });
  o.logger({ level: 'info', msg: 'bootstrapped', node: options.id, mode: options.bootstrap === 'join' ? 'join' : 'new cluster', members: members.map((m) => m.id) });
  return restored;
}

/** raft/core is imported lazily so the driver's unit tests (fake core) do not depend on it. */
async function defaultCreateCore(): Promise<CreateCore> {
  const mod = await import('../core/raft.js');
  return (config, restored) => new mod.RaftCore(config as never, restored) as unknown as CoreLike;
}
