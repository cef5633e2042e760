// raft/transport/append-codec.ts: append frames are written by hand. The wire format must not
// change, so each frame's body is compared byte for byte with msgpackr's packing of the same
// message (fields in the order raft/core/replication.ts builds them), at every msgpack size
// boundary and for seeded random appends; the body must parse back to the message; and messages
// off the fast path (conf entries, large integers, long or non-ASCII ids, other types) must be
// left to msgpackr. Replay a failure with APPEND_CODEC_SEED=<seed>.
import t from 'tap';
import type { Test } from 'tap';
import type { Entry, Message } from '../../../raft/core/types.js';
import { encodeAppendFrame } from '../../../raft/transport/append-codec.js';
import { isParseError, parseMessage } from '../../../raft/transport/parse-message.js';
import { encodeFrame, packr } from '../../../raft/transport/wire.js';
import { mulberry32 } from '../../util/prng.js';

const seed = process.env['APPEND_CODEC_SEED'] !== undefined ? Number(process.env['APPEND_CODEC_SEED']) : Math.floor(Math.random() * 2 ** 31);

type Append = Extract<Message, { type: 'append' }>;

function append(o: { from?: string; to?: string; term: number; prevLogIndex: number; prevLogTerm: number; entries: Entry[]; commit: number }): Append {
  // The field order of raft/core/replication.ts, sendAppend.
  return { type: 'append', from: o.from ?? 'n1', to: o.to ?? 'n2', term: o.term, prevLogIndex: o.prevLogIndex, prevLogTerm: o.prevLogTerm, entries: o.entries, commit: o.commit } as unknown as Append;
}

function normals(first: number, count: number, term: number, bytes: (i: number) => number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ kind: 'normal', term, index: first + i, data: Buffer.alloc(bytes(i), i & 0xff) }) as unknown as Entry);
}

function check(t: Test, m: Append, what: string): boolean {
  const frame = encodeAppendFrame(m);
  if (!t.ok(frame !== null, `${what}: takes the fast path`) || frame === null) return false;
  const [header, body] = frame as [Buffer, Buffer];
  const expected = packr.pack(m);
  const sameBody = Buffer.compare(body, expected) === 0;
  const parsed = parseMessage(packr.unpack(body));
  const last = isParseError(parsed) || parsed.type !== 'append' ? undefined : parsed.entries.at(-1);
  // Byte equality with msgpackr is the whole contract; parsing shows the bytes are a valid message.
  return t.ok(sameBody, `${what}: same bytes as msgpackr`)
    && t.equal(header.readUInt32BE(0), body.length, `${what}: header holds the body length`)
    && t.notOk(isParseError(parsed), `${what}: parses`)
    && t.equal(last?.index, m.entries.at(-1)?.index, `${what}: parses to the same last entry`);
}

const boundaries = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff - 70_000];

t.test('append frames match msgpackr at every msgpack boundary', async (t) => {
  for (const n of boundaries) {
    const term = Math.max(n, 1);
    check(t, append({ term, prevLogIndex: n, prevLogTerm: n, entries: normals(n + 1, 2, term, () => 3), commit: n }), `numbers ${n}`);
  }
  for (const count of [0, 1, 15, 16, 300]) check(t, append({ term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: normals(6, count, 2, () => 10), commit: 4 }), `${count} entries`);
  for (const bytes of [0, 0xff, 0x100, 0xffff, 0x10000]) check(t, append({ term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: normals(6, 2, 2, () => bytes), commit: 4 }), `data of ${bytes} bytes`);
  check(t, append({ from: 'a'.repeat(31), to: 'node-2', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 }), '31-character id');
});

t.test(`append frames match msgpackr for random appends, seed ${seed} (replay: APPEND_CODEC_SEED=${seed})`, async (t) => {
  const random = mulberry32(seed);
  const pick = (xs: readonly number[]): number => xs[Math.floor(random() * xs.length)]!;
  const near = (x: number): number => Math.max(0, x + Math.floor(random() * 5) - 2);
  let failed = false;
  for (let i = 0; i < 300 && !failed; i++) {
    const term = Math.max(1, near(pick(boundaries)));
    const prevLogIndex = near(pick(boundaries));
    const entries = normals(prevLogIndex + 1, Math.floor(random() * 40), term, () => near(pick([0, 64, 0xff, 0x100])));
    failed = !check(t, append({ term, prevLogIndex, prevLogTerm: Math.min(term, near(pick(boundaries))), entries, commit: near(pick(boundaries)) }), `case ${i}`);
  }
  if (failed) t.comment(`replay with APPEND_CODEC_SEED=${seed}`);
});

t.test('messages off the fast path are left to msgpackr and still encode the same', async (t) => {
  const conf: Entry = { kind: 'conf', term: 2, index: 6, change: { type: 'remove', id: 'n3' } } as unknown as Entry;
  const offPath: Array<[string, unknown]> = [
    ['a conf entry', append({ term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: [conf], commit: 4 })],
    ['an index of 2^32', append({ term: 2, prevLogIndex: 2 ** 32, prevLogTerm: 2, entries: [], commit: 4 })],
    ['an entry term of 2^32', append({ term: 2 ** 32, prevLogIndex: 5, prevLogTerm: 2, entries: normals(6, 1, 2 ** 32, () => 1), commit: 4 })],
    ['a 32-character id', append({ from: 'a'.repeat(32), term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: [], commit: 4 })],
    ['a non-ASCII id', append({ to: 'nœud', term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: [], commit: 4 })],
    ['a heartbeat', { type: 'heartbeat', from: 'n1', to: 'n2', term: 5, commit: 4, context: '' }],
    ['a handshake value', { t: 'hello', v: 1 }],
    ['null', null],
  ];
  for (const [what, value] of offPath) {
    t.equal(encodeAppendFrame(value), null, `${what}: not on the fast path`);
    const [header, body] = encodeFrame(value) as [Buffer, Buffer];
    t.ok(Buffer.compare(body, packr.pack(value)) === 0 && header.readUInt32BE(0) === body.length, `${what}: msgpackr frame`);
  }
});
