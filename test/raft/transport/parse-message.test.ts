// parseMessage (raft/transport/parse-message.ts): every Message variant of raft/core/types.ts is
// accepted after a msgpack round trip, and each kind of malformation is refused with an error that
// names the field. Nothing a peer sends may throw.
import fc from 'fast-check';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import type { Message } from '../../../raft/core/types.js';
import { isParseError, parseMessage } from '../../../raft/transport/parse-message.js';
import { packr } from '../../../raft/transport/wire.js';

const base = { from: 'n1', to: 'n2', term: 5 };
const membership = { members: [{ id: 'n1', role: 'voter', context: '{}' }, { id: 'n9', role: 'learner', context: '' }] };
const valid: Record<Message['type'], Record<string, unknown>> = {
  preVote: { ...base, type: 'preVote', lastLogIndex: 10, lastLogTerm: 4 },
  preVoteResp: { ...base, type: 'preVoteResp', reject: false },
  vote: { ...base, type: 'vote', lastLogIndex: 10, lastLogTerm: 4, transfer: true },
  voteResp: { ...base, type: 'voteResp', reject: true },
  append: {
    ...base,
    type: 'append',
    prevLogIndex: 7,
    prevLogTerm: 4,
    commit: 6,
    entries: [
      { kind: 'normal', term: 4, index: 8, data: Buffer.from('x') },
      { kind: 'conf', term: 5, index: 9, change: { type: 'addLearner', id: 'n9', context: '{"raft":"h:1"}' } },
      { kind: 'conf', term: 5, index: 10, change: { type: 'promote', id: 'n9' } },
      { kind: 'conf', term: 5, index: 11, change: { type: 'remove', id: 'n3' } },
    ],
  },
  appendResp: { ...base, type: 'appendResp', reject: true, index: 9, hintIndex: 3, hintTerm: 2 },
  heartbeat: { ...base, type: 'heartbeat', commit: 4, context: '' },
  heartbeatResp: { ...base, type: 'heartbeatResp', context: 'r1' },
  snapshot: { ...base, type: 'snapshot', meta: { index: 100, term: 4, membership }, offset: 10, data: Buffer.alloc(5), totalBytes: 15 },
  snapshotResp: { ...base, type: 'snapshotResp', snapshotIndex: 100, offset: 15, reject: false },
  readIndex: { ...base, type: 'readIndex', context: 'q' },
  readIndexResp: { ...base, type: 'readIndexResp', context: 'q', index: 12, reject: false },
  timeoutNow: { ...base, type: 'timeoutNow' },
};

const roundTrip = (x: unknown): unknown => packr.unpack(packr.pack(x));

t.test('every valid variant parses to itself after a msgpack round trip', async (t) => {
  for (const [type, msg] of Object.entries(valid)) {
    const parsed = parseMessage(roundTrip(msg));
    t.notOk(isParseError(parsed), `${type}: ${JSON.stringify(parsed).slice(0, 200)}`);
    t.same(parsed, msg, type);
  }
});

t.test('extra fields are dropped, not carried along', async (t) => {
  const parsed = parseMessage(roundTrip({ ...valid.heartbeat, evil: 'x', __proto__x: 1 }));
  t.notOk(isParseError(parsed));
  t.notOk('evil' in (parsed as object));
});

// [description, mutation of a valid message, field the error must name]
type Case = [string, Message['type'], (m: Record<string, unknown>) => unknown, RegExp];
const set = (k: string, v: unknown) => (m: Record<string, unknown>) => ({ ...m, [k]: v });
const del = (k: string) => (m: Record<string, unknown>) => {
  const c = { ...m };
  delete c[k];
  return c;
};
const entry = (i: number, patch: Record<string, unknown>) => (m: Record<string, unknown>) => {
  const entries = [...(m['entries'] as Array<Record<string, unknown>>)];
  entries[i] = { ...entries[i], ...patch };
  return { ...m, entries };
};
const cases: Case[] = [
  ['not an object', 'heartbeat', () => [1, 2], /^message: expected an object/],
  ['bytes instead of an object', 'heartbeat', () => Buffer.from('x'), /^message: expected an object, got bytes/],
  ['unknown type', 'heartbeat', set('type', 'gossip'), /^type: unknown message type "gossip"/],
  ['missing type', 'heartbeat', del('type'), /^type:/],
  ['empty from', 'vote', set('from', ''), /^from:/],
  ['from with a space', 'vote', set('from', 'n 1'), /^from: a node id/],
  ['from too long', 'vote', set('from', 'n'.repeat(129)), /^from: 129 characters/],
  ['to not a string', 'vote', set('to', 7), /^to: expected a string/],
  ['negative term', 'vote', set('term', -1), /^term: expected an integer/],
  ['fractional term', 'vote', set('term', 1.5), /^term:/],
  ['term beyond 2^53', 'vote', set('term', 2 ** 53), /^term:/],
  ['term as a string', 'vote', set('term', '5'), /^term:/],
  ['vote without transfer', 'vote', del('transfer'), /^transfer: expected a boolean/],
  ['preVote lastLogIndex negative', 'preVote', set('lastLogIndex', -3), /^lastLogIndex:/],
  ['preVote lastLogTerm null', 'preVote', set('lastLogTerm', null), /^lastLogTerm:/],
  ['voteResp reject as 0', 'voteResp', set('reject', 0), /^reject: expected a boolean/],
  ['preVoteResp missing reject', 'preVoteResp', del('reject'), /^reject:/],
  ['append entries not an array', 'append', set('entries', {}), /^entries: expected an array/],
  ['append too many entries', 'append', set('entries', new Array(65_537).fill(0)), /^entries: 65537 items/],
  ['append entry not an object', 'append', set('entries', [5]), /^entries\[0\]: expected an object/],
  ['append entry unknown kind', 'append', entry(0, { kind: 'weird' }), /^entries\[0\]\.kind/],
  ['append entry data not bytes', 'append', entry(0, { data: 'x' }), /^entries\[0\]\.data: expected bytes/],
  // A normal entry takes a fast path in parse-message.ts (appendedEntryAt); a bad one must still be named.
  ['append normal entry term fractional', 'append', entry(0, { term: 4.5 }), /^entries\[0\]\.term: expected an integer/],
  ['append normal entry index 0', 'append', entry(0, { index: 0 }), /^entries\[0\]\.index: entries start at index 1/],
  ['append normal entry index beyond 2^53', 'append', entry(0, { index: 2 ** 53 }), /^entries\[0\]\.index: expected an integer/],
  ['append normal entry data missing', 'append', entry(0, { data: null }), /^entries\[0\]\.data: expected bytes, got null/],
  ['append normal entry as an array', 'append', set('entries', [[0, 4, 8, Buffer.from('x')]]), /^entries\[0\]: expected an object, got an array/],
  ['append prevLogIndex negative', 'append', set('prevLogIndex', -1), /^prevLogIndex: expected an integer/],
  ['append entries not contiguous', 'append', entry(1, { index: 10 }), /^entries\[1\]\.index: expected 9, got 10/],
  ['append entry term decreasing', 'append', entry(1, { term: 3 }), /^entries\[1\]\.term: 3 is below/],
  ['append entry term above message term', 'append', entry(3, { term: 6 }), /^entries\[3\]\.term: 6 is above the message term 5/],
  ['append first entry below prevLogTerm', 'append', set('prevLogTerm', 5), /^entries\[0\]\.term: 4 is below prevLogTerm 5/],
  ['conf change unknown type', 'append', entry(1, { change: { type: 'rename', id: 'n9' } }), /^entries\[1\]\.change\.type/],
  ['addLearner without context', 'append', entry(1, { change: { type: 'addLearner', id: 'n9' } }), /^entries\[1\]\.change\.context/],
  ['conf change bad id', 'append', entry(2, { change: { type: 'promote', id: '' } }), /^entries\[2\]\.change\.id/],
  ['append commit missing', 'append', del('commit'), /^commit:/],
  ['appendResp hintTerm float', 'appendResp', set('hintTerm', 0.5), /^hintTerm:/],
  ['appendResp index missing', 'appendResp', del('index'), /^index:/],
  ['heartbeat context not a string', 'heartbeat', set('context', 1), /^context: expected a string/],
  ['heartbeat context too long', 'heartbeat', set('context', 'x'.repeat(64 * 1024 + 1)), /^context: 65537 characters/],
  ['heartbeatResp context missing', 'heartbeatResp', del('context'), /^context:/],
  ['snapshot data not bytes', 'snapshot', set('data', [1, 2]), /^data: expected bytes/],
  ['snapshot chunk beyond totalBytes', 'snapshot', set('totalBytes', 14), /^totalBytes: 14 is less than offset 10 \+ chunk 5/],
  ['snapshot meta missing', 'snapshot', del('meta'), /^meta: expected an object/],
  ['snapshot meta index negative', 'snapshot', (m) => ({ ...m, meta: { ...(m['meta'] as object), index: -1 } }), /^meta\.index/],
  ['snapshot membership not an object', 'snapshot', (m) => ({ ...m, meta: { ...(m['meta'] as object), membership: [] } }), /^meta\.membership: expected an object/],
  ['snapshot member bad role', 'snapshot', (m) => ({ ...m, meta: { index: 1, term: 1, membership: { members: [{ id: 'a', role: 'boss', context: '' }] } } }), /^meta\.membership\.members\[0\]\.role/],
  ['snapshot duplicate member', 'snapshot', (m) => ({ ...m, meta: { index: 1, term: 1, membership: { members: [{ id: 'a', role: 'voter', context: '' }, { id: 'a', role: 'learner', context: '' }] } } }), /^meta\.membership\.members\[1\]\.id: duplicate member a/],
  ['snapshot offset negative', 'snapshot', set('offset', -1), /^offset:/],
  ['snapshotResp reject missing', 'snapshotResp', del('reject'), /^reject:/],
  ['snapshotResp snapshotIndex string', 'snapshotResp', set('snapshotIndex', '1'), /^snapshotIndex:/],
  ['readIndex context missing', 'readIndex', del('context'), /^context:/],
  ['readIndexResp index missing', 'readIndexResp', del('index'), /^index:/],
  ['timeoutNow term missing', 'timeoutNow', del('term'), /^term:/],
];

t.test('each malformation is refused with an error naming the field', async (t) => {
  for (const [name, type, mutate, expected] of cases) {
    const result = parseMessage(roundTrip(mutate(valid[type])));
    t.ok(isParseError(result), name);
    if (isParseError(result)) t.match(result.error, expected, name);
  }
});

t.test('arbitrary decoded values never throw (fast-check; replay with the printed seed)', async (t) => {
  const seed = Number(process.env['PARSE_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay: PARSE_SEED=${seed})`);
  // Mutations of valid messages reach deeper checks than random objects alone.
  const mutated = fc.tuple(fc.constantFrom(...Object.values(valid)), fc.string(), fc.anything()).map(([m, k, v]) => {
    const keys = Object.keys(m);
    const key = keys[k.length % keys.length]!;
    return { ...m, [key]: v };
  });
  fc.assert(
    fc.property(fc.oneof(fc.anything(), mutated), (x) => {
      const r = parseMessage(roundTrip(x));
      return isParseError(r) || typeof r.type === 'string';
    }),
    { seed, numRuns: 2000 },
  );
  t.pass('no throw');
});

// Issue 4: `{ ...base, type, ... }` made a new hidden class (and descriptor array, in the old
// generation) for every parsed message in Node 20's V8: a busy leader's heap filled with them.
// Messages of one type must share one hidden class; V8's %HaveSameMap says so, in a child process
// started with --allow-natives-syntax.
t.test('parsed messages of one type share a hidden class', async (t) => {
  const module = new URL('../../../raft/transport/parse-message.js', import.meta.url).href;
  const script = `
    const { parseMessage } = await import(${JSON.stringify(module)});
    const base = (i) => ({ from: 'n2', to: 'n1', term: 3 });
    const appendResp = (i) => parseMessage({ ...base(i), type: 'appendResp', reject: false, index: 100 + i, hintIndex: 0, hintTerm: 0 });
    const append = (i) => parseMessage({ ...base(i), type: 'append', prevLogIndex: i, prevLogTerm: 3, entries: [], commit: i });
    const heartbeat = (i) => parseMessage({ ...base(i), type: 'heartbeat', commit: i, context: '' });
    // Many rounds, so the parser runs optimized as it does on a busy node.
    const same = (make) => {
      const first = make(0);
      if ('error' in first) throw new Error(first.error);
      let last = first;
      for (let i = 1; i < 20000; i++) last = make(i);
      return %HaveSameMap(first, last) && %HaveSameMap(last, make(20000));
    };
    console.log(JSON.stringify({ appendResp: same(appendResp), append: same(append), heartbeat: same(heartbeat) }));`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { appendResp: true, append: true, heartbeat: true });
});
