// Test doubles for the driver's unit tests: a scripted single-node core that follows the Ready
// contract (raft/core/types.ts), an in-memory storage that records every call and catches
// overlapping saves, and a transport that records what was sent and when.

import type { ConfChange, Entry, HardState, LogIndex, Membership, Message, NodeId, Ready, ReadState, RestoredState, Snapshot, SoftState, Term } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import type { CoreLike, CoreProgress, CoreProposeResult, CoreStatusLike, CoreConfigLike } from '../../../raft/node/ports.js';
import type { RaftStorage, StorageStats, StorageUpdate } from '../../../raft/storage/storage.js';
import type { PeerAddress, Transport, TransportStats } from '../../../raft/transport/transport.js';
import { applyConfChange } from '../../../raft/node/membership.js';

/**
 * A one-voter "leader" core: an entry commits in the Ready after the one that persisted it (the
 * leader counts itself only once durable). Knobs let a test depose it or overwrite its log.
 */
export class FakeCore implements CoreLike {
  leader = true;
  /** False: persisted entries stay uncommitted (as while a leader waits for its followers). */
  autoCommit = true;
  leaderId: NodeId | null;
  term: Term = term(1);
  log: Entry[] = [];
  firstIndex: number;
  stableIndex: number;
  commit: number;
  applied: number;
  membership: Membership;
  private readStates: ReadState[] = [];
  private messages: Message[] = [];
  private afterPersist: Message[] = [];
  private soft: SoftState | null;
  private snapshot: Snapshot | null = null;
  private readyOut = false;
  compacted: { index: LogIndex; bytes: number }[] = [];
  ticks = 0;
  steps: Message[] = [];
  /** What status() reports as the leader's view of its peers (a test moves match indexes). */
  progress: CoreProgress[] = [];

  constructor(readonly config: CoreConfigLike, restored: RestoredState) {
    this.leaderId = config.id;
    this.firstIndex = restored.snapshot.meta.index + 1;
    this.log = [...restored.entries];
    this.stableIndex = this.lastIndex();
    this.commit = restored.hardState.commit;
    this.applied = restored.snapshot.meta.index;
    this.membership = restored.snapshot.meta.membership;
    this.soft = { role: 'leader', leader: config.id };
  }

  lastIndex(): number {
    return this.firstIndex - 1 + this.log.length;
  }

  tick(): void { this.ticks++; }
  step(msg: Message): void { this.steps.push(msg); }

  propose(data: Uint8Array): CoreProposeResult {
    if (!this.leader) return { ok: false, code: 'not_leader', leader: this.leaderId, message: 'not leader' };
    return this.append({ kind: 'normal', term: this.term, index: logIndex(this.lastIndex() + 1), data });
  }

  proposeConfChange(change: ConfChange): CoreProposeResult {
    if (!this.leader) return { ok: false, code: 'not_leader', leader: this.leaderId, message: 'not leader' };
    const r = this.append({ kind: 'conf', term: this.term, index: logIndex(this.lastIndex() + 1), change });
    this.membership = applyConfChange(this.membership, change);
    return r;
  }

  private append(e: Entry): CoreProposeResult {
    this.log.push(e);
    // Replication goes out at once; its ack would go after persist.
    this.messages.push({ type: 'heartbeat', from: this.config.id, to: nodeId('peer'), term: this.term, commit: logIndex(this.commit), context: `e${e.index}` });
    this.afterPersist.push({ type: 'heartbeatResp', from: this.config.id, to: nodeId('peer'), term: this.term, context: `ack${e.index}` });
    return { ok: true, index: e.index, term: e.term };
  }

  readIndex(context: string): void {
    this.readStates.push({ index: logIndex(this.commit), context });
  }

  transferLeadership(): { readonly ok: false; readonly code: string; readonly message: string } {
    return { ok: false, code: 'not_leader', message: 'fake' };
  }

  compact(index: LogIndex, data: Uint8Array): void {
    this.compacted.push({ index, bytes: data.length });
    this.log = this.log.filter((e) => e.index > index);
    this.firstIndex = index + 1;
  }

  /** A new leader's log replaces ours from `entries[0].index` on (we become a follower). */
  overwrite(entries: Entry[], newTerm: Term): void {
    this.leader = false;
    this.leaderId = nodeId('other');
    this.term = newTerm;
    const from = entries[0]!.index;
    this.log = this.log.filter((e) => e.index < from).concat(entries);
    this.stableIndex = Math.min(this.stableIndex, from - 1);
    this.soft = { role: 'follower', leader: this.leaderId };
  }

  /** A snapshot arrives from a leader. */
  installSnapshot(s: Snapshot): void {
    this.snapshot = s;
    this.log = [];
    this.firstIndex = s.meta.index + 1;
    this.stableIndex = s.meta.index;
    this.commit = Math.max(this.commit, s.meta.index);
    this.membership = s.meta.membership;
  }

  private unstable(): Entry[] {
    return this.log.filter((e) => e.index > this.stableIndex);
  }

  hasReady(): boolean {
    return this.unstable().length > 0 || this.commit > this.applied || (this.leader && this.autoCommit && this.stableIndex > this.commit)
      || this.readStates.length > 0 || this.messages.length > 0 || this.soft !== null || this.snapshot !== null;
  }

  ready(): Ready {
    if (this.readyOut) throw new Error('ready() called twice before advance()');
    this.readyOut = true;
    // Entries persisted in an earlier Ready are durable: a single voter commits them now.
    if (this.leader && this.autoCommit) this.commit = Math.max(this.commit, this.stableIndex);
    const committed = this.log.filter((e) => e.index > this.applied && e.index <= this.commit);
    const hs: HardState = { term: this.term, vote: this.config.id, commit: logIndex(this.commit) };
    const rd: Ready = {
      softState: this.soft, hardState: hs, snapshot: this.snapshot, entries: this.unstable(),
      messages: this.messages, messagesAfterPersist: this.afterPersist, committed, readStates: this.readStates,
    };
    this.soft = null; this.snapshot = null; this.messages = []; this.afterPersist = []; this.readStates = [];
    return rd;
  }

  advance(rd: Ready): void {
    this.readyOut = false;
    const last = rd.entries[rd.entries.length - 1];
    // Entries overwritten while their save was in flight stay unstable (they are not in the log any more).
    const now = last === undefined ? undefined : this.log[last.index - this.firstIndex];
    if (last !== undefined && now?.term === last.term) this.stableIndex = Math.max(this.stableIndex, last.index);
    const lastC = rd.committed[rd.committed.length - 1];
    if (lastC !== undefined) this.applied = lastC.index;
    if (rd.snapshot !== null) this.applied = Math.max(this.applied, rd.snapshot.meta.index);
  }

  /** Commits only in ready(): nothing is ever committed while a save is in flight. */
  takeCommitted(_applied: LogIndex): readonly Entry[] {
    return [];
  }

  status(): CoreStatusLike {
    return {
      id: this.config.id, role: this.leader ? 'leader' : 'follower', isLearner: false, term: this.term,
      leader: this.leaderId, commit: logIndex(this.commit), applied: logIndex(this.applied),
      firstIndex: logIndex(this.firstIndex), lastIndex: logIndex(this.lastIndex()), membership: this.membership,
      progress: this.progress, transferringTo: null,
    };
  }
}

/** Records every call; a save that starts while another is in flight is a test failure. */
export class RecordingStorage implements RaftStorage {
  saves: StorageUpdate[] = [];
  snapshots: Snapshot[] = [];
  events: string[] = [];
  inFlight = 0;
  overlapped = false;
  saveDelayMs = 0;
  closed = false;
  state: RestoredState | null = null;

  async load(): Promise<RestoredState | null> {
    return this.state;
  }
  async save(u: StorageUpdate): Promise<void> {
    if (this.inFlight > 0) this.overlapped = true;
    this.inFlight++;
    this.events.push(`save:${u.entries.length}`);
    if (this.saveDelayMs > 0) await new Promise((r) => setTimeout(r, this.saveDelayMs));
    this.saves.push(u);
    this.inFlight--;
    this.events.push('saved');
  }
  /** saveSnapshot waits for it (null: resolves at once), then fails with snapshotError if set. */
  snapshotGate: Promise<void> | null = null;
  snapshotError: Error | null = null;
  async saveSnapshot(s: Snapshot): Promise<void> {
    if (this.inFlight > 0) this.overlapped = true;
    this.snapshots.push(s);
    this.events.push(`snapshot:${s.meta.index}`);
    if (this.snapshotGate !== null) await this.snapshotGate;
    if (this.snapshotError !== null) throw this.snapshotError;
  }
  firstIndex(): LogIndex { return logIndex(1); }
  lastIndex(): LogIndex { return logIndex(0); }
  async getMeta(): Promise<Uint8Array | null> { return null; }
  async putMeta(): Promise<void> {}
  stats(): StorageStats {
    return { batches: this.saves.length, entriesWritten: 0, bytesWritten: 0, batchMsTotal: 0, truncatedOnLoad: 0, dirSyncs: 0 };
  }
  async close(): Promise<void> {
    this.events.push('close');
    this.closed = true;
  }
}

export class RecordingTransport implements Transport {
  sent: Message[] = [];
  events: string[] = [];
  peers = new Map<NodeId, PeerAddress>();
  handler: ((m: Message) => void) | null = null;
  closed = false;
  constructor(private readonly storage: RecordingStorage | null = null) {}
  async start(): Promise<void> {}
  address(): PeerAddress { return { host: '127.0.0.1', port: 1 }; }
  send(msg: Message): void {
    this.sent.push(msg);
    // Interleave with the storage's events so tests can check ordering against saves.
    this.storage?.events.push(`send:${msg.type === 'heartbeat' || msg.type === 'heartbeatResp' ? msg.context : msg.type}`);
  }
  setPeer(id: NodeId, address: PeerAddress): void { this.peers.set(id, address); }
  removePeer(id: NodeId): void { this.peers.delete(id); }
  onMessage(handler: (msg: Message) => void): void { this.handler = handler; }
  isReachable(id: NodeId): boolean { return this.peers.has(id); }
  stats(): TransportStats { throw new Error('not used'); }
  async close(): Promise<void> {
    this.closed = true;
    this.storage?.events.push('transport-close');
  }
}

/** Polls `cond` every millisecond or so until it holds; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: condition not met');
    await new Promise((r) => setTimeout(r, 1));
  }
}
