// Shape validation of Raft data that arrives from outside the process: Messages from peers (after
// msgpack decoding) and, through the exported part parsers, entries and snapshot metadata read
// back from disk. This is the only place where brands (NodeId, Term, LogIndex) are created for
// network input (STYLE.md rule 5). Hand-written checks, no ajv: it runs for every frame on the
// Raft path. Each parser builds a fresh object with exactly the known fields, so nothing a peer
// adds (extra keys, prototypes) travels further.

import type {
  ConfChange,
  Entry,
  LogIndex,
  Member,
  Membership,
  Message,
  MessageType,
  NodeId,
  Role,
  SnapshotMeta,
  Term,
} from '../core/types.js';

export const parseLimits = {
  /** Node ids: 1..nodeIdCharsMax visible ASCII characters (no spaces or control characters). */
  nodeIdCharsMax: 128,
  /** Heartbeat / readIndex contexts and member contexts (JSON addresses in vnetd). */
  contextCharsMax: 64 * 1024,
  /** Members in one membership. */
  membersMax: 1024,
  /** Entries in one append message. */
  entriesPerMessageMax: 65_536,
} as const;

export type ParseError = { readonly error: string };

/** True for the error arm of a parse result. */
export function isParseError(x: unknown): x is ParseError {
  return typeof x === 'object' && x !== null && 'error' in x;
}

/** Thrown inside this module only; every exported parser catches it and returns `{ error }`. */
class Invalid {
  constructor(readonly message: string) {}
}

function fail(message: string): never {
  throw new Invalid(message);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'string') return v.length > 40 ? 'a long string' : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  return typeof v;
}

type Obj = Readonly<Record<string, unknown>>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    fail(`${path}: expected an object, got ${describe(v)}`);
  }
  return v as Obj;
}

function arr(v: unknown, path: string, maxLength: number): readonly unknown[] {
  if (!Array.isArray(v)) fail(`${path}: expected an array, got ${describe(v)}`);
  if (v.length > maxLength) fail(`${path}: ${v.length} items, at most ${maxLength} allowed`);
  return v;
}

function uint(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(`${path}: expected an integer in [0, 2^53), got ${describe(v)}`);
  }
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(`${path}: expected a boolean, got ${describe(v)}`);
  return v;
}

function str(v: unknown, path: string, maxChars: number): string {
  if (typeof v !== 'string') fail(`${path}: expected a string, got ${describe(v)}`);
  if (v.length > maxChars) fail(`${path}: ${v.length} characters, at most ${maxChars} allowed`);
  return v;
}

function bytes(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${path}: expected bytes, got ${describe(v)}`);
  return v;
}

const NODE_ID = /^[\x21-\x7e]+$/;

function nodeIdAt(v: unknown, path: string): NodeId {
  const s = str(v, path, parseLimits.nodeIdCharsMax);
  if (!NODE_ID.test(s)) fail(`${path}: a node id is 1..${parseLimits.nodeIdCharsMax} visible ASCII characters`);
  return s as NodeId;
}

const termAt = (v: unknown, path: string): Term => uint(v, path) as Term;
const indexAt = (v: unknown, path: string): LogIndex => uint(v, path) as LogIndex;
const contextAt = (v: unknown, path: string): string => str(v, path, parseLimits.contextCharsMax);

function roleAt(v: unknown, path: string): Role {
  if (v === 'voter' || v === 'learner') return v;
  return fail(`${path}: expected "voter" or "learner", got ${describe(v)}`);
}

function confChangeAt(v: unknown, path: string): ConfChange {
  const o = obj(v, path);
  const id = nodeIdAt(o['id'], `${path}.id`);
  switch (o['type']) {
    case 'addLearner':
      return { type: 'addLearner', id, context: contextAt(o['context'], `${path}.context`) };
    case 'promote':
      return { type: 'promote', id };
    case 'remove':
      return { type: 'remove', id };
    default:
      return fail(`${path}.type: expected addLearner, promote or remove, got ${describe(o['type'])}`);
  }
}

function entryAt(v: unknown, path: string): Entry {
  const o = obj(v, path);
  const term = termAt(o['term'], `${path}.term`);
  const index = indexAt(o['index'], `${path}.index`);
  if (index === 0) fail(`${path}.index: entries start at index 1`);
  if (o['kind'] === 'normal') return { kind: 'normal', term, index, data: bytes(o['data'], `${path}.data`) };
  if (o['kind'] === 'conf') return { kind: 'conf', term, index, change: confChangeAt(o['change'], `${path}.change`) };
  return fail(`${path}.kind: expected "normal" or "conf", got ${describe(o['kind'])}`);
}

function membershipAt(v: unknown, path: string): Membership {
  const list = arr(obj(v, path)['members'], `${path}.members`, parseLimits.membersMax);
  const members: Member[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const p = `${path}.members[${i}]`;
    const m = obj(list[i], p);
    const id = nodeIdAt(m['id'], `${p}.id`);
    if (seen.has(id)) fail(`${p}.id: duplicate member ${id}`);
    seen.add(id);
    members.push({ id, role: roleAt(m['role'], `${p}.role`), context: contextAt(m['context'], `${p}.context`) });
  }
  return { members };
}

function snapshotMetaAt(v: unknown, path: string): SnapshotMeta {
  const o = obj(v, path);
  return {
    index: indexAt(o['index'], `${path}.index`),
    term: termAt(o['term'], `${path}.term`),
    membership: membershipAt(o['membership'], `${path}.membership`),
  };
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * `entries[i]`: a well-formed normal entry is accepted without building the error paths (four
 * strings per entry, the largest allocation on a follower's receive path); anything else goes
 * through entryAt, which applies the same checks and names what is wrong.
 */
function appendedEntryAt(v: unknown, i: number): Entry {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    const o = v as Obj;
    const term = o['term'];
    const index = o['index'];
    const data = o['data'];
    if (o['kind'] === 'normal' && isUint(term) && isUint(index) && index !== 0 && data instanceof Uint8Array) {
      return { kind: 'normal', term: term as Term, index: index as LogIndex, data };
    }
  }
  return entryAt(v, `entries[${i}]`);
}

/**
 * An append's entries must be the contiguous run after prevLogIndex, with terms that never
 * decrease and never exceed the sender's term (Raft §5.3: a leader only sends its own log, and
 * every entry in it has a term <= the leader's current term).
 */
function appendEntriesAt(v: unknown, prevLogIndex: number, msgTerm: number): Entry[] {
  const list = arr(v, 'entries', parseLimits.entriesPerMessageMax);
  const entries: Entry[] = [];
  let lastTerm = 0;
  for (let i = 0; i < list.length; i++) {
    const e = appendedEntryAt(list[i], i);
    if (e.index !== prevLogIndex + 1 + i) fail(`entries[${i}].index: expected ${prevLogIndex + 1 + i}, got ${e.index}`);
    if (e.term < lastTerm) fail(`entries[${i}].term: ${e.term} is below the previous entry's term ${lastTerm}`);
    if (e.term > msgTerm) fail(`entries[${i}].term: ${e.term} is above the message term ${msgTerm}`);
    lastTerm = e.term;
    entries.push(e);
  }
  return entries;
}

/**
 * The fields every message has. The variants copy them by name (`from: base.from, ...`), not with
 * `{ ...base }`: in this V8 (Node 20) an object spread followed by more properties made a new
 * hidden class and descriptor array for every message, and those, allocated in the old
 * generation, were most of a busy leader's old-generation garbage (issue 4: the leader's heap
 * grew to twice its live set).
 */
interface Base {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

function snapshotAt(o: Obj, base: Base): Message {
  const offset = uint(o['offset'], 'offset');
  const data = bytes(o['data'], 'data');
  const totalBytes = uint(o['totalBytes'], 'totalBytes');
  if (offset + data.length > totalBytes) {
    fail(`totalBytes: ${totalBytes} is less than offset ${offset} + chunk ${data.length}`);
  }
  return { from: base.from, to: base.to, term: base.term, type: 'snapshot', meta: snapshotMetaAt(o['meta'], 'meta'), offset, data, totalBytes };
}

function appendAt(o: Obj, base: Base): Message {
  const prevLogIndex = indexAt(o['prevLogIndex'], 'prevLogIndex');
  const prevLogTerm = termAt(o['prevLogTerm'], 'prevLogTerm');
  const commit = indexAt(o['commit'], 'commit');
  const entries = appendEntriesAt(o['entries'], prevLogIndex, base.term);
  if (entries.length > 0 && entries[0]!.term < prevLogTerm) {
    fail(`entries[0].term: ${entries[0]!.term} is below prevLogTerm ${prevLogTerm}`);
  }
  return { from: base.from, to: base.to, term: base.term, type: 'append', prevLogIndex, prevLogTerm, entries, commit };
}

function variantAt(type: MessageType, o: Obj, base: Base): Message {
  switch (type) {
    case 'preVote':
    case 'vote': {
      const lastLogIndex = indexAt(o['lastLogIndex'], 'lastLogIndex');
      const lastLogTerm = termAt(o['lastLogTerm'], 'lastLogTerm');
      if (type === 'preVote') return { from: base.from, to: base.to, term: base.term, type, lastLogIndex, lastLogTerm };
      return { from: base.from, to: base.to, term: base.term, type, lastLogIndex, lastLogTerm, transfer: bool(o['transfer'], 'transfer') };
    }
    case 'preVoteResp':
    case 'voteResp':
      return { from: base.from, to: base.to, term: base.term, type, reject: bool(o['reject'], 'reject') };
    case 'append':
      return appendAt(o, base);
    case 'appendResp':
      return {
        from: base.from, to: base.to, term: base.term,
        type,
        reject: bool(o['reject'], 'reject'),
        index: indexAt(o['index'], 'index'),
        hintIndex: indexAt(o['hintIndex'], 'hintIndex'),
        hintTerm: termAt(o['hintTerm'], 'hintTerm'),
      };
    case 'heartbeat':
      return { from: base.from, to: base.to, term: base.term, type, commit: indexAt(o['commit'], 'commit'), context: contextAt(o['context'], 'context') };
    case 'heartbeatResp':
    case 'readIndex':
      return { from: base.from, to: base.to, term: base.term, type, context: contextAt(o['context'], 'context') };
    case 'snapshot':
      return snapshotAt(o, base);
    case 'snapshotResp':
      return {
        from: base.from, to: base.to, term: base.term,
        type,
        snapshotIndex: indexAt(o['snapshotIndex'], 'snapshotIndex'),
        offset: uint(o['offset'], 'offset'),
        reject: bool(o['reject'], 'reject'),
      };
    case 'readIndexResp':
      return {
        from: base.from, to: base.to, term: base.term,
        type,
        context: contextAt(o['context'], 'context'),
        index: indexAt(o['index'], 'index'),
        reject: bool(o['reject'], 'reject'),
      };
    case 'timeoutNow':
      return { from: base.from, to: base.to, term: base.term, type };
    default:
      return assertNeverType(type);
  }
}

// Not assertNever from raft/core/assert: an unknown type is checked before the switch, so reaching
// here would be a bug in this file, but the exhaustiveness proof is what matters.
function assertNeverType(x: never): never {
  return fail(`type: unknown message type ${describe(x)}`);
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  'preVote',
  'preVoteResp',
  'vote',
  'voteResp',
  'append',
  'appendResp',
  'heartbeat',
  'heartbeatResp',
  'snapshot',
  'snapshotResp',
  'readIndex',
  'readIndexResp',
  'timeoutNow',
]);

function messageAt(x: unknown): Message {
  const o = obj(x, 'message');
  const type = o['type'];
  if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) fail(`type: unknown message type ${describe(type)}`);
  const base: Base = {
    from: nodeIdAt(o['from'], 'from'),
    to: nodeIdAt(o['to'], 'to'),
    term: termAt(o['term'], 'term'),
  };
  return variantAt(type as MessageType, o, base);
}

function run<T>(f: () => T): T | ParseError {
  try {
    return f();
  } catch (e) {
    if (e instanceof Invalid) return { error: e.message };
    throw e;
  }
}

/** Validates a decoded frame as a Message; the error names the offending field. */
export function parseMessage(x: unknown): Message | ParseError {
  return run(() => messageAt(x));
}

/** Validates one log entry (e.g. read back from disk); `path` prefixes the error. */
export function parseEntry(x: unknown, path = 'entry'): Entry | ParseError {
  return run(() => entryAt(x, path));
}

export function parseSnapshotMeta(x: unknown, path = 'meta'): SnapshotMeta | ParseError {
  return run(() => snapshotMetaAt(x, path));
}

export function parseConfChange(x: unknown, path = 'change'): ConfChange | ParseError {
  return run(() => confChangeAt(x, path));
}

/** For storage: NodeId / Term / LogIndex from a trusted-but-verified source. */
export function parseNodeId(x: unknown, path = 'id'): NodeId | ParseError {
  return run(() => nodeIdAt(x, path));
}

export function parseUint(x: unknown, path: string): number | ParseError {
  return run(() => uint(x, path));
}
