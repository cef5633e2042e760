// raft/transport/append-reader.ts reads append frames without msgpackr. A follower must build the
// same message whichever path a frame takes, so for any body the reader either declines
// (undefined) or returns exactly what msgpackr plus parseMessage return; and it must take every
// frame the hand-written encoder writes for a valid append. Replay with APPEND_READER_SEED=<seed>.
import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import type { Entry, Message } from '../../../raft/core/types.js';
import { encodeAppendFrame } from '../../../raft/transport/append-codec.js';
import { readAppendBody } from '../../../raft/transport/append-reader.js';
import { isParseError, parseMessage } from '../../../raft/transport/parse-message.js';
import { packr } from '../../../raft/transport/wire.js';

const seed = process.env['APPEND_READER_SEED'] !== undefined ? Number(process.env['APPEND_READER_SEED']) : Math.floor(Math.random() * 2 ** 31);

type Append = Extract<Message, { type: 'append' }>;

/** What the generic path makes of a body. */
function generic(body: Buffer): Message | { error: string } {
  let raw: unknown;
  try {
    raw = packr.unpack(body);
  } catch (e) {
    return { error: `undecodable: ${String(e)}` };
  }
  return parseMessage(raw);
}

/** The reader declines, or agrees with the generic path (same values, types and key order). */
function agrees(t: Test, body: Buffer, what: string): boolean {
  const read = readAppendBody(body);
  if (read === undefined) return false;
  const g = generic(body);
  const same = !isParseError(g) && isDeepStrictEqual(read, g) && JSON.stringify(read) === JSON.stringify(g);
  if (!same) t.fail(`${what}: reader ${JSON.stringify(read)} vs generic ${JSON.stringify(g)} for ${body.toString('hex').slice(0, 200)}`);
  return true;
}

function bodyOf(m: Append): Buffer {
  const frame = encodeAppendFrame(m);
  if (frame === null) throw new Error('not on the encoder fast path');
  return frame[1]!;
}

const u32 = fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000), fc.nat({ max: 0xffffffff - 70_000 }));
const id = fc.oneof(fc.constantFrom('n1', 'n2', 'a'.repeat(31), '~x!'), fc.string({ minLength: 1, maxLength: 8, unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) }));
const dataBytes = fc.oneof(fc.constantFrom(0, 1, 255, 256, 70_000), fc.nat({ max: 120 }));

/** A valid append: contiguous entries after prevLogIndex, terms in [prevLogTerm, term]. */
const validAppend = fc.record({ from: id, to: id, term: u32, prevLogIndex: u32, commit: u32, spread: fc.array(fc.tuple(fc.nat({ max: 3 }), dataBytes), { maxLength: 20 }), big: fc.boolean() })
  .map(({ from, to, term, prevLogIndex, commit, spread, big }) => {
    let entryTerm = Math.max(0, term - spread.reduce((a, [d]) => a + d, 0));
    const prevLogTerm = entryTerm;
    const list = big ? Array.from({ length: 300 }, () => [0, 8] as [number, number]) : spread;
    const entries = list.map(([d, n], i) => {
      entryTerm = Math.min(term, entryTerm + d);
      return { kind: 'normal', term: entryTerm, index: prevLogIndex + 1 + i, data: Buffer.alloc(n, i & 0xff) } as unknown as Entry;
    });
    // The field order of raft/core/replication.ts (sendAppend).
    return { type: 'append', from, to, term, prevLogIndex, prevLogTerm, entries, commit } as unknown as Append;
  });

t.test('the reader takes every valid append the encoder writes, and agrees (seeded)', async (t) => {
  t.comment(`seed ${seed} (replay with APPEND_READER_SEED=${seed})`);
  let read = 0;
  fc.assert(fc.property(validAppend, (m) => {
    const body = bodyOf(m);
    if (agrees(t, body, 'valid')) read++;
    else t.fail(`declined a valid append ${JSON.stringify({ ...m, entries: m.entries.length })}`);
    return true;
  }), { seed, numRuns: 500 });
  t.equal(read, 500);
});

t.test('an append that breaks a rule is declined, and the generic path names it', async (t) => {
  const base = { type: 'append', from: 'n1', to: 'n2', term: 5, prevLogIndex: 10, prevLogTerm: 3 } as const;
  const e = (term: number, index: number): Entry => ({ kind: 'normal', term, index, data: Buffer.of(1) }) as unknown as Entry;
  const cases: [string, Entry[], RegExp][] = [
    ['a gap after prevLogIndex', [e(3, 12)], /entries\[0\]\.index: expected 11/],
    ['entries out of order', [e(3, 11), e(3, 13)], /entries\[1\]\.index: expected 12/],
    ['a term going down', [e(4, 11), e(3, 12)], /entries\[1\]\.term: 3 is below/],
    ['a term above the message term', [e(6, 11)], /entries\[0\]\.term: 6 is above/],
    ['a first term below prevLogTerm', [e(2, 11)], /entries\[0\]\.term: 2 is below prevLogTerm 3/],
  ];
  for (const [what, entries, message] of cases) {
    const body = bodyOf({ ...base, entries, commit: 9 } as unknown as Append);
    t.equal(readAppendBody(body), undefined, `${what}: declined`);
    const g = generic(body);
    t.ok(isParseError(g) && message.test(g.error), `${what}: ${isParseError(g) ? g.error : 'parsed'}`);
  }
  for (const badId of ['', 'a b', 'n\u00e9']) {
    const m = { ...base, from: badId, entries: [], commit: 9 };
    // msgpackr's own packing (the encoder takes only short ASCII ids): declined either way.
    t.equal(readAppendBody(Buffer.from(packr.pack(m))), undefined, `node id ${JSON.stringify(badId)}: declined`);
  }
});

t.test('property: any mutated, cut, extended or re-packed body is declined or read the same (seeded)', async (t) => {
  t.comment(`seed ${seed} (replay with APPEND_READER_SEED=${seed})`);
  let read = 0;
  let declined = 0;
  const small = validAppend.filter((m) => m.entries.length < 40);
  const bodies = fc.oneof(
    fc.tuple(small, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([m, at, v]) => {
      const b = Buffer.from(bodyOf(m));
      b[at % b.length] = v;
      return b;
    }),
    fc.tuple(small, fc.nat()).map(([m, n]) => {
      const b = bodyOf(m);
      return b.subarray(0, n % b.length);
    }),
    fc.tuple(small, fc.uint8Array({ minLength: 1, maxLength: 3 })).map(([m, tail]) => Buffer.concat([bodyOf(m), tail])),
    // msgpackr's packing of the same message: the same bytes, or another layout (key order).
    fc.tuple(small, fc.boolean()).map(([m, reorder]) => Buffer.from(packr.pack(reorder ? Object.assign({ commit: 0 }, m) : m))),
  );
  fc.assert(fc.property(bodies, (body) => {
    if (agrees(t, body, 'any')) read++;
    else declined++;
    return true;
  }), { seed, numRuns: 4000 });
  t.ok(read > 200 && declined > 200, `both outcomes exercised (read ${read}, declined ${declined})`);
});
