// FrameDecoder (raft/transport/frame.ts): frames reassemble whatever the chunking, and an oversized
// length prefix is reported before any body byte is buffered.
import t from 'tap';
import { FrameDecoder, frameHeader } from '../../../raft/transport/frame.js';

const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('last frame')];
const stream = Buffer.concat(frames.flatMap((f) => [frameHeader(f.length), f]));

t.test('frames survive being split at every byte boundary and into single bytes', async (t) => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new FrameDecoder(1024);
    const out: Buffer[] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      d.push(part);
      for (let f = d.next(); f !== null; f = d.next()) out.push(f as Buffer);
    }
    if (!t.same(out, frames, `cut at ${cut}`)) break;
    t.equal(d.pendingBytes(), 0);
  }
  const d = new FrameDecoder(1024);
  const out: Buffer[] = [];
  for (const byte of stream) {
    d.push(Buffer.of(byte));
    for (let f = d.next(); f !== null; f = d.next()) out.push(f as Buffer);
  }
  t.same(out, frames);
});

t.test('an oversized length prefix is refused from the header alone', async (t) => {
  const d = new FrameDecoder(100);
  d.push(frameHeader(101));
  t.same(d.next(), { tooLarge: 101 });
  const ok = new FrameDecoder(100);
  ok.push(Buffer.concat([frameHeader(100), Buffer.alloc(50)]));
  t.equal(ok.next(), null, 'incomplete frame at the limit waits');
  t.equal(ok.pendingBytes(), 50);
});

t.test('a decoded body is a copy, not a view of the socket chunk', async (t) => {
  const chunk = Buffer.concat([frameHeader(3), Buffer.from('abc'), Buffer.alloc(1000)]);
  const d = new FrameDecoder(100);
  d.push(chunk);
  const body = d.next() as Buffer;
  chunk.fill(0); // the socket's chunk is recycled...
  t.equal(body.toString(), 'abc', '...and the body is unaffected');
});
