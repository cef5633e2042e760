// Validation: every network, agent and task rule of issue 4 / DESIGN.md §1 has its own clear
// error, and a rejected command changes nothing (the snapshot is byte-identical afterwards).
import t from 'tap';
import fc from 'fast-check';
import type { Test } from 'tap';
import { Harness, agent, dcos } from './harness.js';
import { decodeCommand } from '../../src/ipam/index.js';
import { packr } from '../../src/ipam/codec.js';
import { checkAllocateTask, validateCommand } from '../../src/ipam/validate.js';
import type { IpamError } from '../../src/ipam/index.js';

/** Expects `cmd` to fail with `code` (and `field`, and a message matching `message`), changing nothing. */
function rejects(
  t: Test,
  h: Harness,
  cmd: Record<string, unknown>,
  expect: { code: IpamError['code']; field?: string; message?: RegExp },
  rule: string,
): void {
  const before = Buffer.from(h.sm.snapshot()).subarray(0);
  const appliedBefore = h.index;
  const e = h.err(cmd);
  t.equal(e.code, expect.code, `${rule}: code`);
  if (expect.field !== undefined) t.equal('field' in e ? e.field : undefined, expect.field, `${rule}: field`);
  if (expect.message !== undefined) t.match(e.message, expect.message, `${rule}: message`);
  // Only the applied index moves; compare snapshots with the index patched back.
  const restored = h.sm.snapshot();
  t.equal(h.index, appliedBefore + 1);
  t.ok(sameExceptIndex(before, Buffer.from(restored)), `${rule}: nothing changed`);
}

/** Snapshots differ only in the applied index field (3rd element of the root array). */
function sameExceptIndex(a: Buffer, b: Buffer): boolean {
  const ra = packr.unpack(a) as unknown[];
  const rb = packr.unpack(b) as unknown[];
  ra[2] = 0;
  rb[2] = 0;
  return Buffer.compare(Buffer.from(packr.pack(ra)), Buffer.from(packr.pack(rb))) === 0;
}


const net = (fields: Record<string, unknown>) => ({ type: 'createNetwork', name: 'n1', subnet: '10.0.0.0/16', prefix: 24, ...fields });

t.test('network rules', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  h.ok({ type: 'createNetwork', name: 'v6', subnet6: 'fd01:b::/64', prefix6: 80 });
  // DC/OS limitation: 13-char names (15-char Linux device names minus m-/d-).
  rejects(t, h, net({ name: 'abcdefghijklmn' }), { code: 'invalid', field: '/name', message: /1\.\.13 characters/ }, 'name longer than 13');
  rejects(t, h, net({ name: '' }), { code: 'invalid', field: '/name', message: /1\.\.13/ }, 'empty name');
  rejects(t, h, net({ name: 'Upper' }), { code: 'invalid', field: '/name', message: /lowercase/ }, 'name with uppercase');
  rejects(t, h, net({ name: 'a_b' }), { code: 'invalid', field: '/name', message: /lowercase/ }, 'name with _');
  rejects(t, h, net({ name: '-ab' }), { code: 'invalid', field: '/name', message: /not starting or ending/ }, 'name starting with -');
  rejects(t, h, net({ name: 'ab-' }), { code: 'invalid', field: '/name', message: /not starting or ending/ }, 'name ending with -');
  for (const reserved of ['host', 'bridge', 'default', 'none']) {
    rejects(t, h, net({ name: reserved }), { code: 'invalid', field: '/name', message: /reserved/ }, `reserved name ${reserved}`);
  }
  rejects(t, h, net({ name: 'dcos', subnet: '11.0.0.0/8' }), { code: 'conflict', field: '/name', message: /already exists/ }, 'duplicate name');
  rejects(t, h, net({ subnet: '9.5.0.0/16' }), { code: 'conflict', field: '/subnet', message: /overlaps network dcos/ }, 'IPv4 overlap (inside)');
  rejects(t, h, net({ subnet: '8.0.0.0/7' }), { code: 'conflict', field: '/subnet', message: /overlaps network dcos/ }, 'IPv4 overlap (around)');
  rejects(t, h, net({ subnet: undefined, prefix: undefined, subnet6: 'fd01:b:0:0:1::/80', prefix6: 96 }), { code: 'conflict', field: '/subnet6', message: /overlaps network v6/ }, 'IPv6 overlap');
  rejects(t, h, net({ subnet: '44.128.0.0/24' }), { code: 'conflict', field: '/subnet', message: /VTEP subnet 44\.128\.0\.0\/20/ }, 'overlap with the VTEP subnet');
  rejects(t, h, net({ subnet: '10.0.0.1/16' }), { code: 'invalid', field: '/subnet', message: /host bits set: did you mean 10\.0\.0\.0\/16/ }, 'IPv4 host bits set');
  rejects(t, h, net({ subnet: undefined, prefix: undefined, subnet6: 'fd02::1/64', prefix6: 80 }), { code: 'invalid', field: '/subnet6', message: /host bits set/ }, 'IPv6 host bits set');
  rejects(t, h, net({ subnet: '10.0.0.0/33' }), { code: 'invalid', field: '/subnet', message: /0\.\.32/ }, 'IPv4 subnet length');
  rejects(t, h, net({ subnet: 'ten/8' }), { code: 'invalid', field: '/subnet', message: /not an IPv4 address/ }, 'IPv4 subnet text');
  rejects(t, h, net({ prefix: 15 }), { code: 'invalid', field: '/prefix', message: /at least the subnet's length \/16/ }, 'prefix shorter than the subnet');
  rejects(t, h, net({ prefix: 29 }), { code: 'invalid', field: '/prefix', message: /at most 28/ }, 'IPv4 half smaller than /29');
  rejects(t, h, net({ prefix: 30, split: 'shared' }), { code: 'invalid', field: '/prefix', message: /at most 29/ }, 'IPv4 shared block smaller than /29');
  rejects(t, h, net({ prefix: 24.5 }), { code: 'invalid', field: '/prefix', message: /integer/ }, 'fractional prefix');
  rejects(t, h, net({ subnet: undefined, prefix: undefined, subnet6: 'fd02::/64', prefix6: 63 }), { code: 'invalid', field: '/prefix6', message: /at least the subnet's length \/64/ }, 'prefix6 shorter than subnet6');
  rejects(t, h, net({ subnet: undefined, prefix: undefined, subnet6: 'fd02::/64', prefix6: 125 }), { code: 'invalid', field: '/prefix6', message: /at most 124/ }, 'IPv6 half too small');
  rejects(t, h, net({ subnet: undefined, prefix: undefined }), { code: 'invalid', field: '/subnet', message: /subnet .*subnet6/ }, 'no subnet at all');
  rejects(t, h, net({ prefix: undefined }), { code: 'invalid', field: '/prefix', message: /needs prefix/ }, 'subnet without prefix');
  rejects(t, h, net({ subnet: undefined }), { code: 'invalid', field: '/subnet', message: /needs subnet/ }, 'prefix without subnet');
  rejects(t, h, net({ split: 'thirds' }), { code: 'invalid', field: '/split', message: /halves, shared/ }, 'split value');
  rejects(t, h, net({ colour: 'red' }), { code: 'invalid', field: '/colour', message: /unknown field/ }, 'unknown field');
  // The boundaries themselves are accepted: a /28 block gives two /29 halves.
  h.ok({ type: 'createNetwork', name: 'small', subnet: '10.9.0.0/24', prefix: 28 });
  h.ok({ type: 'createNetwork', name: 'small-shared', subnet: '10.8.0.0/24', prefix: 29, split: 'shared' });
  h.ok({ type: 'createNetwork', name: 'a1234567890bc', subnet6: 'fd03::/64', prefix6: 124 });
  t.same(h.sm.listNetworks().map((n) => n.name), ['a1234567890bc', 'dcos', 'small', 'small-shared', 'v6']);
});

t.test('patch and delete network', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  h.ok(agent('a1', '10.0.0.1'));
  h.ok({ type: 'allocateTask', id: 't1', name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos' });
  rejects(t, h, { type: 'patchNetwork', name: 'nope', enabled: false }, { code: 'not_found' }, 'patch unknown network');
  rejects(t, h, { type: 'patchNetwork', name: 'dcos', enabled: 'no' }, { code: 'invalid', field: '/enabled' }, 'patch enabled not boolean');
  rejects(t, h, { type: 'deleteNetwork', name: 'dcos', force: false }, { code: 'in_use', message: /1 allocations/ }, 'delete with allocations needs force');
  rejects(t, h, { type: 'deleteNetwork', name: 'nope', force: true }, { code: 'not_found' }, 'delete unknown network');
  // Disabled: no new allocations, existing ones keep working (and stay idempotent).
  h.ok({ type: 'patchNetwork', name: 'dcos', enabled: false });
  rejects(t, h, { type: 'allocateTask', id: 't2', name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos' }, { code: 'disabled' }, 'allocation on a disabled network');
  const again = h.ok({ type: 'allocateTask', id: 't1', name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos' });
  t.equal(again.created, false, 'an existing allocation keeps working while disabled');
  t.equal(h.sm.getTask('t1')?.ip, '9.0.0.2');
  const del = h.ok({ type: 'deleteNetwork', name: 'dcos', force: true });
  t.same(del, { name: 'dcos', releasedTasks: 1 });
  t.equal(h.sm.getTask('t1'), undefined, 'force released the task');
  t.same(h.sm.getAgent('a1')?.blocks, [], 'the block is gone with the network');
});

t.test('agent rules', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  rejects(t, h, { type: 'registerAgent', id: 'a1', ip: '10.0.0.256' }, { code: 'invalid', field: '/ip' }, 'agent ip not IPv4');
  rejects(t, h, { type: 'registerAgent', id: 'a1', ip: '10.0.0.1', ip6: 'fd00::g' }, { code: 'invalid', field: '/ip6' }, 'agent ip6 not IPv6');
  rejects(t, h, { type: 'registerAgent', id: 'a/1', ip: '10.0.0.1' }, { code: 'invalid', field: '/id' }, 'agent id with /');
  rejects(t, h, { type: 'registerAgent', id: '', ip: '10.0.0.1' }, { code: 'invalid', field: '/id' }, 'empty agent id');
  rejects(t, h, { type: 'registerAgent', id: 'x'.repeat(256), ip: '10.0.0.1' }, { code: 'invalid', field: '/id', message: /at most 255/ }, 'agent id too long');
  rejects(t, h, { type: 'deleteAgent', id: 'ghost', force: false }, { code: 'not_found' }, 'delete unknown agent');
  h.ok(agent('a1', '10.0.0.1'));
  h.ok({ type: 'allocateTask', id: 'h1', name: 'host-task', framework: 'marathon', agent: 'a1' });
  rejects(t, h, { type: 'deleteAgent', id: 'a1', force: false }, { code: 'in_use', message: /1 tasks/ }, 'delete agent with tasks needs force');
});

t.test('task rules', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  h.ok(agent('a1', '10.0.0.1'));
  const base = { type: 'allocateTask', id: 't1', name: 'web', framework: 'marathon', agent: 'a1', network: 'dcos' };
  rejects(t, h, { ...base, agent: 'ghost' }, { code: 'not_found', message: /no agent ghost/ }, 'unknown agent');
  rejects(t, h, { ...base, network: 'ghost' }, { code: 'not_found', message: /no network ghost/ }, 'unknown network');
  rejects(t, h, { ...base, network: 'host' }, { code: 'invalid', field: '/network', message: /reserved/ }, 'reserved network name');
  rejects(t, h, { ...base, containerizer: 'rkt' }, { code: 'invalid', field: '/containerizer' }, 'containerizer value');
  rejects(t, h, { ...base, ports: [{ protocol: 'tcp', containerPort: 80 }, { protocol: 'tcp', containerPort: 80, hostPort: 70000 }] }, { code: 'invalid', field: '/ports/1/hostPort' }, 'host port range');
  rejects(t, h, { ...base, ports: [{ protocol: 'sctp', containerPort: 80 }] }, { code: 'invalid', field: '/ports/0/protocol' }, 'port protocol');
  rejects(t, h, { ...base, ports: [{ protocol: 'tcp', containerPort: 0 }] }, { code: 'invalid', field: '/ports/0/containerPort' }, 'container port range');
  rejects(t, h, { ...base, ports: [{ protocol: 'tcp', containerPort: 80, extra: 1 }] }, { code: 'invalid', field: '/ports/0/extra' }, 'unknown port field');
  rejects(t, h, { ...base, ports: new Array(65).fill({ protocol: 'tcp', containerPort: 80 }) }, { code: 'invalid', field: '/ports', message: /at most 64/ }, 'too many ports');
  rejects(t, h, { ...base, labels: { a: 1 } }, { code: 'invalid', field: '/labels/a' }, 'label value not a string');
  rejects(t, h, { ...base, labels: ['a'] }, { code: 'invalid', field: '/labels' }, 'labels not a map');
  rejects(t, h, { ...base, name: '' }, { code: 'invalid', field: '/name' }, 'empty task name');
  rejects(t, h, { ...base, name: 'a\nb' }, { code: 'invalid', field: '/name', message: /control/ }, 'control characters in a name');
  rejects(t, h, { ...base, framework: 42 }, { code: 'invalid', field: '/framework' }, 'framework not a string');
  h.ok(base as never);
  rejects(t, h, { ...base, name: 'other' }, { code: 'conflict', field: '/id', message: /different body/ }, 'same id, different body');
  rejects(t, h, { ...base, containerizer: 'docker' }, { code: 'conflict' }, 'same id, different containerizer');
  const same = h.ok({ ...base, containerizer: 'mesos' } as never) as { created: boolean };
  t.equal(same.created, false, 'the default containerizer is part of the normalised body');
});

t.test('malformed commands never throw and change nothing', async (t) => {
  const h = new Harness();
  h.ok(dcos);
  const before = h.sm.snapshot();
  const garbage: Uint8Array[] = [
    new Uint8Array([0xc1]),
    new Uint8Array([0x93, 0x01]),
    packr.pack('createNetwork'),
    packr.pack(null),
    packr.pack([1, 2, 3]),
    packr.pack({ type: 'noSuchCommand' }),
    packr.pack({ type: 'createNetwork', name: 'x', subnet: 12, prefix: 8 }),
    packr.pack({ type: 'releaseTask', id: { nested: true } }),
    // 64-bit integers decode as bigints, which JSON.stringify refuses: the error text must not throw.
    packr.pack({ type: 2n ** 32n, id: 'a' }),
    packr.pack({ type: 'createNetwork', name: 'x', subnet: '10.0.0.0/16', prefix: 2n ** 60n }),
    new Uint8Array(70 * 1024),
  ];
  for (const bytes of garbage) {
    const r = decodeCommand(bytes);
    t.equal(r.ok, false, `decode rejects ${Buffer.from(bytes.subarray(0, 16)).toString('hex')}`);
    const applied = h.sm.apply(bytes, (++h.index) as never);
    t.equal(applied.ok, false);
    if (!applied.ok) t.equal(applied.error.code, 'invalid');
  }
  t.ok(sameExceptIndex(Buffer.from(before), Buffer.from(h.sm.snapshot())), 'state unchanged');
  t.same(h.sm.apply(new Uint8Array(0), (++h.index) as never), { ok: true, value: null }, 'an empty entry is a no-op');
});

t.test('decoding leaves the command bytes as they were (they stay in the Raft log until compaction)', async (t) => {
  const bytes = packr.pack({ type: 'releaseTask', id: 'web.1' });
  const entry = Buffer.from(bytes); // a log entry's data: a Buffer of its own
  const keys = Reflect.ownKeys(entry).length;
  t.equal(decodeCommand(entry).ok, true);
  t.equal(Reflect.ownKeys(entry).length, keys, 'no property added (msgpackr would cache a DataView on it)');
  t.notOk('dataView' in entry);
});

t.test('a label named __proto__ stays a label and pollutes nothing', async (t) => {
  const h = new Harness();
  h.ok(agent('a1', '10.0.0.1'));
  const labels = JSON.parse('{"__proto__": {"polluted": "yes"}, "b": "2"}') as Record<string, unknown>;
  const r = h.apply({ type: 'allocateTask', id: 't', name: 'n', framework: 'f', agent: 'a1', labels });
  // msgpackr may rename the key or the value may be rejected; either way no prototype changes.
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  if (r.ok) t.equal(Object.getPrototypeOf(h.sm.getTask('t')?.labels), Object.prototype);
  else t.equal(r.error.code, 'invalid');
});

t.test('cluster configuration (VTEP)', async (t) => {
  const h = new Harness();
  rejects(t, h, { type: 'configure', vtepSubnet: '44.0.0.0/7', vtepMacOui: '70:b3:d5' }, { code: 'invalid', field: '/vtepSubnet', message: /8\.\.30/ }, 'VTEP subnet wider than /8');
  rejects(t, h, { type: 'configure', vtepSubnet: '44.128.0.0/20', vtepMacOui: '70:b3' }, { code: 'invalid', field: '/vtepMacOui' }, 'OUI form');
  h.ok({ type: 'configure', vtepSubnet: '44.129.0.0/24', vtepMacOui: '70:B3:D5:00:00:00' });
  t.same(h.sm.config(), { vtepSubnet: '44.129.0.0/24', vtepMacOui: '70:b3:d5' });
  rejects(t, h, { type: 'createNetwork', name: 'n', subnet: '44.0.0.0/8', prefix: 24 }, { code: 'conflict', message: /VTEP/ }, 'network overlapping the configured VTEP subnet');
  h.ok(dcos);
  rejects(t, h, { type: 'configure', vtepSubnet: '9.0.0.0/16', vtepMacOui: '70:b3:d5' }, { code: 'conflict', message: /overlaps network dcos/ }, 'VTEP subnet overlapping a network');
  h.ok(agent('a1', '10.0.0.1'));
  rejects(t, h, { type: 'configure', vtepSubnet: '44.130.0.0/24', vtepMacOui: '70:b3:d5' }, { code: 'conflict', message: /cannot change while 1 agents/ }, 'VTEP change with agents');
  h.ok({ type: 'configure', vtepSubnet: '44.129.0.0/24', vtepMacOui: '70:b3:d5' });
  t.equal(h.sm.getAgent('a1')?.vtepIp, '44.129.0.1');
});

t.test('fuzz: apply never throws on random bytes or random msgpack values', async (t) => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
  const h = new Harness();
  h.ok(dcos);
  h.ok(agent('a1', '10.0.0.1'));
  const types = ['configure', 'createNetwork', 'patchNetwork', 'deleteNetwork', 'registerAgent', 'deleteAgent', 'allocateTask', 'releaseTask'];
  // Values shaped like commands (a valid type, random fields) reach the field validators.
  // With bigints: msgpack carries 64-bit integers, and decodes them as bigints.
  const anything = fc.oneof(fc.anything(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }));
  const shaped = fc.record({ type: fc.oneof(fc.constantFrom(...types), anything), rest: fc.dictionary(fc.constantFrom('id', 'name', 'subnet', 'prefix', 'ip', 'agent', 'framework', 'ports', 'labels', 'force', 'enabled', 'network', 'x'), anything) }).map(({ type, rest }) => ({ ...rest, type }));
  const result = fc.check(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), anything.map((v) => packr.pack(v)), shaped.map((v) => packr.pack(v))), (bytes) => {
      const r = h.sm.apply(bytes, (++h.index) as never);
      // Shaped values may be valid commands; anything that fails must fail cleanly.
      return r.ok || typeof r.error.message === 'string';
    }),
    { seed, numRuns: 3000 },
  );
  t.notOk(result.failed, `seed ${seed}: ${String(result.errorInstance)} ${JSON.stringify(result.counterexample)}`);
});

// Issue 4: allocations are validated on the fast path (validate.ts allocateTaskFast) and only a
// failure takes the full checks. Whatever the input, the outcome must be what the full checks
// give, field for field and in the same key order: every replica must reach the same result.
t.test('property: the allocation fast path agrees with the full checks (seeded)', async (t) => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  const text = fc.oneof(
    fc.constantFrom('web', 't1', 'agent-7', 'a/b', 'a b', '', 'x'.repeat(300), 'tab\there', 'ünï', 'host', 'dcos', 'Upper', 'ab-', '-ab', 'a'.repeat(14)),
    fc.string({ maxLength: 20 }),
  );
  const value = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(undefined), fc.constant(null));
  const port = fc.record(
    { name: fc.oneof(text, fc.constant(undefined)), protocol: fc.constantFrom('tcp', 'udp', 'sctp'), containerPort: fc.oneof(fc.integer({ min: 0, max: 70000 }), text), hostPort: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 70000 })) },
    { requiredKeys: ['protocol', 'containerPort'] },
  );
  const cmd = fc.record(
    {
      id: value,
      name: value,
      framework: value,
      agent: value,
      network: fc.oneof(value, fc.constantFrom('dcos', 'n1', 'host')),
      containerizer: fc.oneof(value, fc.constantFrom('mesos', 'docker')),
      ports: fc.oneof(fc.array(port, { maxLength: 3 }), value),
      labels: fc.oneof(fc.dictionary(text, fc.oneof(text, fc.integer()), { maxKeys: 3 }), value),
      extra: value,
    },
    { requiredKeys: [] },
  );
  const valid = fc.record({ id: fc.constantFrom('t1', 'a/b:c'), name: fc.constantFrom('web', 'My App'), framework: fc.constant('marathon'), agent: fc.constantFrom('a1', 'agent-7'), network: fc.constantFrom('dcos', undefined), containerizer: fc.constantFrom('mesos', 'docker', undefined) }, { requiredKeys: ['id', 'name', 'framework', 'agent'] });
  const run = (x: Record<string, unknown>): boolean => {
    const input = { type: 'allocateTask', ...x };
    return JSON.stringify(validateCommand(input)) === JSON.stringify(checkAllocateTask(input));
  };
  fc.assert(fc.property(fc.oneof(cmd, valid), run), { seed, numRuns: 3000 });
});
