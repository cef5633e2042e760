// The allocation reader (src/ipam/task-reader.ts) reads task commands from their msgpack bytes
// without msgpackr. Every replica must reach the same command whichever path it takes, so for any
// bytes the reader either declines (undefined) or returns exactly what msgpackr plus the full
// validation return: the same fields, values and key order.
import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { packr, decodeCommand } from '../../src/ipam/codec.js';
import { readAllocateTask } from '../../src/ipam/task-reader.js';
import { validateCommand } from '../../src/ipam/validate.js';

/** What the generic path makes of the bytes: msgpackr, then validate.ts. */
function generic(bytes: Uint8Array): ReturnType<typeof validateCommand> | 'undecodable' {
  let raw: unknown;
  try {
    raw = packr.unpack(Buffer.from(bytes));
  } catch {
    return 'undecodable';
  }
  return validateCommand(raw);
}

/** Same values and the same key order (a snapshot writes fields in object order). */
function same(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) && JSON.stringify(a) === JSON.stringify(b);
}

/** The check of the file's header: the reader declines or agrees. Returns whether it read. */
function agrees(t: Test, bytes: Uint8Array, what: string): boolean {
  const read = readAllocateTask(bytes);
  if (read === undefined) return false;
  const g = generic(bytes);
  const ok = g !== 'undecodable' && g.ok && same(read, g.value);
  if (!ok) t.fail(`${what}: reader ${JSON.stringify(read)} vs generic ${JSON.stringify(g)} for ${Buffer.from(bytes).toString('hex')}`);
  return true;
}

/** msgpackr writes objects as map16; the same map as a fixmap is valid msgpack too. */
function asFixmap(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes[0] !== 0xde || bytes[1] !== 0 || bytes[2]! > 15) return undefined;
  return Buffer.concat([Buffer.of(0x80 | bytes[2]!), bytes.subarray(3)]);
}

const text = fc.oneof(
  fc.constantFrom('web', 't1', 'agent-7', 'a/b', 'a b', ' ', '', 'x'.repeat(40), 'x'.repeat(300), 'tab\there', 'del\x7f', 'ünï', 'host', 'dcos', 'Upper', 'ab-', '-ab', 'a'.repeat(14), 'mesos', 'docker'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const value = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(undefined), fc.constant(null), fc.constant([]), fc.constant({}));
const fields = fc.record(
  {
    type: fc.oneof(fc.constant('allocateTask'), fc.constant('allocateTask'), fc.constantFrom('releaseTask', 'allocatetask'), value),
    id: value,
    name: value,
    framework: value,
    agent: value,
    network: fc.oneof(value, fc.constantFrom('dcos', 'n1', 'host')),
    containerizer: fc.oneof(value, fc.constantFrom('mesos', 'docker')),
    ports: fc.oneof(fc.constant([]), fc.constant([{ protocol: 'tcp', containerPort: 80 }]), value),
    labels: fc.oneof(fc.constant({}), fc.constant({ a: 'b' }), value),
    extra: value,
  },
  { requiredKeys: [] },
);
/** The common shape, fields in any order: the reader must take these. */
const common = fc.record({
  type: fc.constant('allocateTask'),
  id: fc.constantFrom('t1', 'a/b:c', 'web.1-abc', '~!'),
  name: fc.constantFrom('web', 'My App', '{x}'),
  framework: fc.constantFrom('marathon', 'bench'),
  agent: fc.constantFrom('a1', 'agent-7'),
  network: fc.constantFrom('dcos', 'n1', undefined),
  containerizer: fc.constantFrom('mesos', 'docker', undefined),
  ports: fc.constantFrom([], undefined),
  labels: fc.constantFrom({}, undefined),
}, { requiredKeys: ['type', 'id', 'name', 'framework', 'agent'] }).chain((x) => fc.shuffledSubarray(Object.keys(x), { minLength: Object.keys(x).length }).map((order) => {
  const out: Record<string, unknown> = {};
  for (const k of order) if ((x as Record<string, unknown>)[k] !== undefined) out[k] = (x as Record<string, unknown>)[k];
  return out;
}));

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);

t.test('the reader takes the common shape, in any field order, as map16 and fixmap', async (t) => {
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  let read = 0;
  fc.assert(fc.property(common, (cmd) => {
    const bytes = packr.pack(cmd);
    const fix = asFixmap(bytes);
    const both = agrees(t, bytes, 'map16') && fix !== undefined && agrees(t, fix, 'fixmap');
    if (both) read++;
    return both;
  }), { seed, numRuns: 2000 });
  t.equal(read, 2000, 'every common command read by the reader');
});

t.test('property: on any command, mutated or cut bytes, the reader declines or agrees (seeded)', async (t) => {
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  let read = 0;
  let declined = 0;
  const bytesOf = fc.oneof(
    fields.map((x) => packr.pack(x)),
    common.map((x) => packr.pack(x)),
    // One field of a common command replaced: each rule met on its own.
    fc.tuple(common, fc.constantFrom('type', 'id', 'name', 'framework', 'agent', 'network', 'containerizer', 'ports', 'labels', 'x'), value)
      .map(([x, key, v]) => packr.pack({ ...x, [key]: v })),
    // A field twice (msgpackr keeps the last).
    fc.tuple(common, fc.constantFrom('id', 'name', 'agent', 'network'), text).map(([x, key, v]) => {
      const b = Buffer.from(packr.pack(x));
      const extra = Buffer.from(packr.pack({ [key]: v })).subarray(3);
      b[2] = b[2]! + 1;
      return Buffer.concat([b, extra]);
    }),
    // Mostly characters around the printable range: inside a string they test the byte classes.
    fc.tuple(common.map((x) => packr.pack(x)), fc.nat(), fc.oneof(fc.integer({ min: 0x1f, max: 0x80 }), fc.integer({ min: 0, max: 255 }))).map(([b, at, v]) => {
      const copy = Buffer.from(b);
      copy[at % copy.length] = v;
      return copy;
    }),
    fc.tuple(common.map((x) => packr.pack(x)), fc.nat()).map(([b, n]) => b.subarray(0, n % b.length)),
    fc.tuple(common.map((x) => packr.pack(x)), fc.uint8Array({ minLength: 1, maxLength: 3 })).map(([b, tail]) => Buffer.concat([b, tail])),
  );
  fc.assert(fc.property(bytesOf, (bytes) => {
    if (agrees(t, bytes, 'any')) read++;
    else declined++;
    return true;
  }), { seed, numRuns: 5000 });
  t.ok(read > 100 && declined > 100, `both outcomes exercised (read ${read}, declined ${declined})`);
});

t.test('decodeCommand answers through the reader what the generic path answers', async (t) => {
  const cmd = { name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos', type: 'allocateTask', id: 'web.1' };
  const bytes = packr.pack(cmd);
  t.ok(readAllocateTask(bytes) !== undefined);
  t.same(decodeCommand(bytes), generic(bytes));
  // A network or framework remembered from an earlier command is not reused for different bytes.
  const other = packr.pack({ ...cmd, network: 'dcoz', framework: 'marathoN' });
  const r = decodeCommand(other);
  t.ok(r.ok && r.value.type === 'allocateTask' && r.value.network === 'dcoz' && r.value.framework === 'marathoN');
  // The reader declines a command whose network the full checks reject; the error names the field.
  const bad = decodeCommand(packr.pack({ ...cmd, network: 'host' }));
  t.ok(!bad.ok && bad.error.code === 'invalid' && bad.error.field === '/network');
  const slash = decodeCommand(packr.pack({ ...cmd, agent: 'a/1' }));
  t.ok(!slash.ok && 'field' in slash.error && slash.error.field === '/agent');
});
