// Helpers for tests that drive one core directly with hand-made messages (the paper tests).
import { RaftCore } from '../../../raft/core/raft.js';
import type { CoreConfig, CoreLimits } from '../../../raft/core/raft.js';
import type { Entry, Member, Message, Ready } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import { bytes, prng } from './network.js';

export interface CoreOptions {
  readonly voters: readonly string[];
  readonly learners?: readonly string[];
  /** The log as the term of each entry, from index 1. */
  readonly terms?: readonly number[];
  readonly term?: number;
  readonly vote?: string;
  readonly commit?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly seed?: number;
  readonly limits?: Partial<CoreLimits>;
  readonly unsafe?: CoreConfig['unsafe'];
  readonly events?: string[];
}

/** The entry every node holds at (index, term) in these tests: same index and term, same data. */
export function ent(index: number, t: number): Entry {
  return { kind: 'normal', index: logIndex(index), term: term(t), data: bytes(`e${index}t${t}`) };
}

export function entries(terms: readonly number[], from = 1): Entry[] {
  return terms.map((t, k) => ent(from + k, t));
}

export function makeCore(id: string, o: CoreOptions): RaftCore {
  const members: Member[] = [
    ...o.voters.map((v) => ({ id: nodeId(v), role: 'voter' as const, context: '' })),
    ...(o.learners ?? []).map((v) => ({ id: nodeId(v), role: 'learner' as const, context: '' })),
  ];
  const log = entries(o.terms ?? []);
  const cfg: CoreConfig = {
    id: nodeId(id),
    electionTicks: o.electionTicks ?? 10,
    heartbeatTicks: o.heartbeatTicks ?? 1,
    preVote: o.preVote ?? false,
    checkQuorum: o.checkQuorum ?? false,
    random: prng(o.seed ?? 1),
    ...(o.limits !== undefined ? { limits: o.limits } : {}),
    ...(o.unsafe !== undefined ? { unsafe: o.unsafe } : {}),
    log: (event, fields) => o.events?.push(`${event} ${JSON.stringify(fields)}`),
  };
  return new RaftCore(cfg, {
    hardState: { term: term(o.term ?? log.at(-1)?.term ?? 0), vote: o.vote === undefined ? null : nodeId(o.vote), commit: logIndex(o.commit ?? 0) },
    snapshot: { meta: { index: logIndex(0), term: term(0), membership: { members } }, data: new Uint8Array(0) },
    entries: log,
  });
}

/** Takes a Ready, "persists" it, advances, and returns it. */
export function flushReady(c: RaftCore): Ready | null {
  if (!c.hasReady()) return null;
  const rd = c.ready();
  c.advance(rd);
  return rd;
}

/** Flushes Readies until none is left and returns every message, in order. */
export function drain(c: RaftCore): Message[] {
  const out: Message[] = [];
  for (let k = 0; k < 100; k++) {
    const rd = flushReady(c);
    if (rd === null) return out;
    out.push(...rd.messages, ...rd.messagesAfterPersist);
  }
  throw new Error('drain did not settle');
}

/** Ticks `c` until its role is `role` (bounded), flushing Readies; returns the messages. */
export function tickUntil(c: RaftCore, role: string, ticksMax = 100): Message[] {
  const out: Message[] = [];
  for (let k = 0; k < ticksMax && c.status().role !== role; k++) {
    c.tick();
    out.push(...drain(c));
  }
  if (c.status().role !== role) throw new Error(`${c.id} did not become ${role} in ${ticksMax} ticks`);
  return out;
}

const base = (from: string, to: string, t: number) => ({ from: nodeId(from), to: nodeId(to), term: term(t) });

export const msg = {
  append: (from: string, to: string, t: number, prevLogIndex: number, prevLogTerm: number, ents: Entry[], commit: number): Message => ({
    ...base(from, to, t),
    type: 'append',
    prevLogIndex: logIndex(prevLogIndex),
    prevLogTerm: term(prevLogTerm),
    entries: ents,
    commit: logIndex(commit),
  }),
  appendResp: (from: string, to: string, t: number, index: number, reject = false, hintIndex = 0, hintTerm = 0): Message => ({
    ...base(from, to, t),
    type: 'appendResp',
    reject,
    index: logIndex(index),
    hintIndex: logIndex(hintIndex),
    hintTerm: term(hintTerm),
  }),
  vote: (from: string, to: string, t: number, lastLogIndex: number, lastLogTerm: number, transfer = false): Message => ({
    ...base(from, to, t),
    type: 'vote',
    lastLogIndex: logIndex(lastLogIndex),
    lastLogTerm: term(lastLogTerm),
    transfer,
  }),
  preVote: (from: string, to: string, t: number, lastLogIndex: number, lastLogTerm: number): Message => ({
    ...base(from, to, t),
    type: 'preVote',
    lastLogIndex: logIndex(lastLogIndex),
    lastLogTerm: term(lastLogTerm),
  }),
  voteResp: (from: string, to: string, t: number, reject: boolean): Message => ({ ...base(from, to, t), type: 'voteResp', reject }),
  heartbeat: (from: string, to: string, t: number, commit: number, context = ''): Message => ({
    ...base(from, to, t),
    type: 'heartbeat',
    commit: logIndex(commit),
    context,
  }),
  heartbeatResp: (from: string, to: string, t: number, context = ''): Message => ({ ...base(from, to, t), type: 'heartbeatResp', context }),
};

/** Messages of one type, narrowed. */
export function ofType<T extends Message['type']>(ms: readonly Message[], type: T): Extract<Message, { type: T }>[] {
  return ms.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/** The terms of a core's log from index 1 (test helper; reads the core's in-memory log). */
export function logTerms(c: RaftCore): number[] {
  const out: number[] = [];
  for (let i = c.log.firstIndex(); i <= c.log.lastIndex(); i++) out.push(c.log.term(i) ?? -1);
  return out;
}
