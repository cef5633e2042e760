// A small deterministic in-memory network for core tests. It plays the driver for every core: it
// performs the Ready duties in order (persist snapshot, entries and hard state into an in-memory
// "disk", send messages, apply committed entries, advance), and delivers messages FIFO. Tests
// shape delivery with `drop` (partitions, lost messages) and `hold` (delayed messages they
// release later). All randomness comes from one seeded PRNG.

import { RaftCore } from '../../../raft/core/raft.js';
import type { CoreConfig, CoreLimits } from '../../../raft/core/raft.js';
import type { Entry, HardState, Member, Message, NodeId, ReadState, Ready, Snapshot } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';

/** mulberry32: a tiny seeded PRNG with values in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Disk {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

export interface NetOptions {
  readonly voters: readonly string[];
  readonly learners?: readonly string[];
  /** Nodes that start outside the cluster (empty bootstrap membership), to be added later. */
  readonly joiners?: readonly string[];
  readonly seed?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly limits?: Partial<CoreLimits>;
  readonly unsafe?: CoreConfig['unsafe'];
  readonly log?: boolean;
}

const deliveryRoundsMax = 10_000;

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export class Network {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly disks = new Map<NodeId, Disk>();
  /** Each node's state machine: the normal commands applied, as text (empty entries omitted). */
  readonly applied = new Map<NodeId, string[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly events: string[] = [];
  queue: Message[] = [];
  held: Message[] = [];
  /** Return true to drop a message for good. */
  drop: (m: Message) => boolean = () => false;
  /** Return true to hold a message back until the test releases it. */
  hold: (m: Message) => boolean = () => false;
  readonly random: () => number;

  constructor(private readonly opts: NetOptions) {
    this.random = prng(opts.seed ?? 1);
    const members: Member[] = [
      ...opts.voters.map((id) => ({ id: nodeId(id), role: 'voter' as const, context: '' })),
      ...(opts.learners ?? []).map((id) => ({ id: nodeId(id), role: 'learner' as const, context: '' })),
    ];
    for (const m of members) this.boot(m.id, members);
    for (const id of opts.joiners ?? []) this.boot(nodeId(id), []);
  }

  private boot(id: NodeId, members: Member[]): void {
    this.disks.set(id, {
      hardState: { term: term(0), vote: null, commit: logIndex(0) },
      snapshot: { meta: { index: logIndex(0), term: term(0), membership: { members } }, data: new Uint8Array(0) },
      entries: [],
    });
    this.start(id);
  }

  /** Replaces a node's disk with a log of the given terms (entries as in helpers.ent) and restarts it. */
  setLog(id: string, terms: readonly number[], hardTerm: number, commit = 0): RaftCore {
    const disk = this.disks.get(nodeId(id));
    if (disk === undefined) throw new Error(`no disk for ${id}`);
    disk.entries = terms.map((t, k) => ({ kind: 'normal', index: logIndex(k + 1), term: term(t), data: bytes(`e${k + 1}t${t}`) }));
    disk.hardState = { term: term(hardTerm), vote: null, commit: logIndex(commit) };
    return this.start(nodeId(id));
  }

  /** (Re)starts a node from its disk, as after a crash. */
  start(id: NodeId): RaftCore {
    const disk = this.disks.get(id);
    if (disk === undefined) throw new Error(`no disk for ${id}`);
    const cfg: CoreConfig = {
      id,
      electionTicks: this.opts.electionTicks ?? 10,
      heartbeatTicks: this.opts.heartbeatTicks ?? 1,
      preVote: this.opts.preVote ?? false,
      checkQuorum: this.opts.checkQuorum ?? false,
      random: this.random,
      ...(this.opts.limits !== undefined ? { limits: this.opts.limits } : {}),
      ...(this.opts.unsafe !== undefined ? { unsafe: this.opts.unsafe } : {}),
      log: (event, fields) => {
        const line = `${event} ${JSON.stringify(fields)}`;
        this.events.push(line);
        if (this.opts.log === true) console.error(line);
      },
    };
    const core = new RaftCore(cfg, { hardState: disk.hardState, snapshot: disk.snapshot, entries: [...disk.entries] });
    this.cores.set(id, core);
    this.applied.set(id, stateOf(disk.snapshot));
    this.readStates.set(id, []);
    return core;
  }

  core(id: string): RaftCore {
    const c = this.cores.get(nodeId(id));
    if (c === undefined) throw new Error(`no core ${id}`);
    return c;
  }

  /** Performs the Ready duties for one node: persist, send, apply, advance. */
  processReady(id: NodeId): boolean {
    const core = this.cores.get(id);
    const disk = this.disks.get(id);
    if (core === undefined || disk === undefined || !core.hasReady()) return false;
    const rd = core.ready();
    persist(disk, rd);
    this.queue.push(...rd.messages, ...rd.messagesAfterPersist);
    if (rd.snapshot !== null) this.applied.set(id, stateOf(rd.snapshot));
    const applied = this.applied.get(id) ?? [];
    for (const e of rd.committed) if (e.kind === 'normal' && e.data.byteLength > 0) applied.push(text(e.data));
    this.readStates.get(id)?.push(...rd.readStates);
    core.advance(rd);
    return true;
  }

  /** Processes every node's Ready until none has one. */
  drainReady(): void {
    for (let round = 0; round < deliveryRoundsMax; round++) {
      let any = false;
      for (const id of this.cores.keys()) any = this.processReady(id) || any;
      if (!any) return;
    }
    throw new Error('drainReady did not settle');
  }

  /** Delivers one message (after the drop and hold filters). */
  deliver(m: Message): void {
    if (this.drop(m)) return;
    if (this.hold(m)) {
      this.held.push(m);
      return;
    }
    this.cores.get(m.to)?.step(m);
  }

  /** Delivers messages and processes Readies until nothing is in flight. */
  stabilize(): void {
    for (let round = 0; round < deliveryRoundsMax; round++) {
      this.drainReady();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m);
    }
    throw new Error('stabilize did not settle');
  }

  /** Releases held messages (those matching `which`, default all) into delivery. */
  release(which: (m: Message) => boolean = () => true): void {
    const out = this.held.filter(which);
    this.held = this.held.filter((m) => !which(m));
    for (const m of out) this.cores.get(m.to)?.step(m);
  }

  tick(id: string, n = 1): void {
    for (let k = 0; k < n; k++) this.core(id).tick();
  }

  /** Ticks every node `n` times, stabilizing after each tick. */
  tickAll(n = 1): void {
    for (let k = 0; k < n; k++) {
      for (const c of this.cores.values()) c.tick();
      this.stabilize();
    }
  }

  /** Makes `id` campaign now (by ticking it alone past its timeout) and settles. */
  elect(id: string): void {
    const c = this.core(id);
    for (let k = 0; k < 4 * (this.opts.electionTicks ?? 10) && c.status().role !== 'leader'; k++) {
      c.tick();
      this.stabilize();
    }
    if (c.status().role !== 'leader') throw new Error(`${id} did not become leader: ${JSON.stringify(c.status().role)}`);
  }

  /** Cuts every link to and from `ids` (messages dropped). */
  isolate(...ids: string[]): void {
    const cut = new Set(ids);
    this.drop = (m) => cut.has(m.from) !== cut.has(m.to);
  }

  heal(): void {
    this.drop = () => false;
    this.hold = () => false;
  }

  leaders(): NodeId[] {
    return [...this.cores.values()].filter((c) => c.status().role === 'leader').map((c) => c.id);
  }

  /**
   * The application snapshots node `id` at its applied index (its state is the list of applied
   * commands, joined) and the core drops the log up to there, as a driver does.
   */
  compact(id: string): void {
    const core = this.core(id);
    const disk = this.disks.get(core.id);
    if (disk === undefined) throw new Error(`no disk for ${id}`);
    const index = core.status().applied;
    const data = bytes(this.appliedOf(id).join(','));
    core.compact(index, data);
    disk.snapshot = core.log.snapshot;
    disk.entries = disk.entries.filter((e) => e.index > index);
  }

  appliedOf(id: string): string[] {
    return this.applied.get(nodeId(id)) ?? [];
  }
}

/** The test state machine's snapshot format: its commands joined by commas. */
function stateOf(s: Snapshot): string[] {
  const t = text(s.data);
  return t === '' ? [] : t.split(',');
}

function persist(disk: Disk, rd: Ready): void {
  if (rd.snapshot !== null) {
    // A snapshot from the leader replaces the whole log.
    disk.snapshot = rd.snapshot;
    disk.entries = [];
  }
  const first = rd.entries[0];
  if (first !== undefined) {
    disk.entries = disk.entries.filter((e) => e.index < first.index);
    disk.entries.push(...rd.entries);
  }
  if (rd.hardState !== null) disk.hardState = rd.hardState;
}
