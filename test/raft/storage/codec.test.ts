// raft/storage/codec.ts, encodeEntry: normal entries are written by hand (encodeNormalEntry) rather
// than through msgpackr. The on-disk format must not change, so the bytes are compared with the
// generic path, seal(msgpackr.pack([0, term, index, data])), at every integer and length boundary
// of msgpack and for seeded random entries; and every record must decode back to its entry.
// Replay a failure with CODEC_SEED=<seed>.
import t from 'tap';
import type { Test } from 'tap';
import { Packr } from 'msgpackr';
import type { Entry } from '../../../raft/core/types.js';
import { logIndex, term } from '../../../raft/core/types.js';
import { decodeEntry, encodeEntry, seal } from '../../../raft/storage/codec.js';
import { mulberry32 } from '../../util/prng.js';
import { plain } from './helpers.js';

const packr = new Packr({ useRecords: false });
const seed = process.env['CODEC_SEED'] !== undefined ? Number(process.env['CODEC_SEED']) : Math.floor(Math.random() * 2 ** 31);

function generic(e: Entry & { kind: 'normal' }): Uint8Array {
  return seal(packr.pack([0, e.term, e.index, e.data]));
}

function normal(t: number, index: number, data: Uint8Array): Entry & { kind: 'normal' } {
  return { kind: 'normal', term: term(t), index: logIndex(index), data };
}

function check(t: Test, e: Entry & { kind: 'normal' }, what: string): boolean {
  const fast = encodeEntry(e);
  const same = Buffer.compare(Buffer.from(fast), Buffer.from(generic(e))) === 0;
  const back = decodeEntry(fast, e.index);
  return t.ok(same, `${what}: same bytes as msgpackr`) && t.same(plain(back), plain(e), `${what}: decodes back`);
}

const uints = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 2 ** 32, 2 ** 40 + 3];
const lengths = [0, 1, 0xff, 0x100, 0xffff, 0x10000, 70_000];

t.test('encodeEntry writes the same bytes as msgpackr at every msgpack boundary', async (t) => {
  for (const n of uints) {
    check(t, normal(n, 1, Buffer.from('x')), `term ${n}`);
    check(t, normal(1, n, Buffer.from('x')), `index ${n}`);
  }
  for (const len of lengths) {
    const data = Buffer.alloc(len, 0xab);
    check(t, normal(3, 9, data), `Buffer of ${len} bytes`);
    check(t, normal(3, 9, new Uint8Array(data)), `Uint8Array of ${len} bytes`);
    check(t, normal(3, 9, Buffer.concat([Buffer.alloc(5), data]).subarray(5)), `offset view of ${len} bytes`);
  }
});

t.test(`encodeEntry matches msgpackr for random entries, seed ${seed} (replay: CODEC_SEED=${seed})`, async (t) => {
  const random = mulberry32(seed);
  const pick = (xs: readonly number[]): number => xs[Math.floor(random() * xs.length)]!;
  let failed = false;
  for (let i = 0; i < 500 && !failed; i++) {
    const around = (x: number): number => Math.max(0, x + Math.floor(random() * 5) - 2);
    const data = Buffer.alloc(around(pick([0, 64, 0xff, 0x100, 0xffff, 0x10000])) % 70_000);
    for (let b = 0; b < data.length; b++) data[b] = Math.floor(random() * 256);
    failed = !check(t, normal(around(pick(uints)), Math.max(1, around(pick(uints))), data), `case ${i}`);
  }
  if (failed) t.comment(`replay with CODEC_SEED=${seed}`);
});
