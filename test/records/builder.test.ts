// DnsRecords against the real IPAM state machine, read back through dns/'s responder: every row of
// DESIGN.md §1's table, NXDOMAIN vs NODATA (RFC 8020, RFC 2308 §2), releases, agent address
// changes, PTR (RFC 1035 §3.5, RFC 3596 §2.5), leader/master, the SOA serial, and reset().
import t from 'tap';
import fc from 'fast-check';
import { dual, harness, isMarked, net4, net6, ok } from './helpers.js';
import type { TaskAllocation } from '../../src/ipam/types.js';
import type { LogIndex } from '../../raft/core/types.js';
import { IpamStateMachine } from '../../src/ipam/index.js';
import { createRecordsZone, DnsRecords, taskDnsNames } from '../../src/records/index.js';

const agent = (id: string, ip: string, ip6?: string) => ({ type: 'registerAgent' as const, id, ip, ...(ip6 ? { ip6 } : {}) });

function task(id: string, name: string, extra: Record<string, unknown> = {}) {
  return { type: 'allocateTask' as const, id, name, framework: 'marathon', agent: 'a1', ...extra };
}

t.test('DESIGN.md §1: a task on a virtual network (no host ports)', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  const alloc = ok<TaskAllocation>(h.apply(task('t1', 'myapp.mygroup', { network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 8080 }] })));
  const ip = alloc.task.ip!;
  t.same(h.data('myapp-mygroup.marathon.containerip.dcos.', 'A'), [ip], 'containerip = container IP');
  t.same(h.data('myapp-mygroup.marathon.agentip.dcos.', 'A'), ['10.0.0.1'], 'agentip = agent IP');
  t.same(h.data('myapp-mygroup.marathon.autoip.dcos.', 'A'), [ip], 'autoip = container IP without host ports');
  t.same(h.data('myapp-mygroup.marathon.containerip.dcos.', 'AAAA'), [], 'NODATA for AAAA (RFC 2308 §2.2)');
  t.same(h.data('_myapp-mygroup._tcp.marathon.containerip.dcos.', 'SRV'), ['0 0 8080 myapp-mygroup.marathon.containerip.dcos.']);
  t.same(h.data('_myapp-mygroup._tcp.marathon.autoip.dcos.', 'SRV'), ['0 0 8080 myapp-mygroup.marathon.autoip.dcos.']);
  t.equal(h.data('_myapp-mygroup._tcp.marathon.agentip.dcos.', 'SRV'), undefined, 'no host mapping: not reachable at the agent');
  t.equal(h.data('_myapp-mygroup._udp.marathon.containerip.dcos.', 'SRV'), undefined, 'no udp port');
  const srv = h.ask('_myapp-mygroup._tcp.marathon.containerip.dcos.', 'SRV');
  t.same(srv.additionals.map((a) => `${a.name} ${a.data}`), [`myapp-mygroup.marathon.containerip.dcos. ${ip}`], 'target address in additional');
  t.same(h.data('marathon.containerip.dcos.', 'A'), [], 'empty non-terminal is NODATA (RFC 8020)');
  t.same(h.data('containerip.dcos.', 'A'), [], 'empty non-terminal is NODATA');
  t.equal(h.data('other.marathon.containerip.dcos.', 'A'), undefined, 'unknown task is NXDOMAIN');
});

t.test('DESIGN.md §1: host-port mappings make autoip answer the agent IP; SRV ports follow', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  const ports = [
    { protocol: 'tcp', containerPort: 80, hostPort: 31000 },
    { protocol: 'udp', containerPort: 53 },
  ];
  const alloc = ok<TaskAllocation>(h.apply(task('t1', 'web', { network: 'dcos', ports })));
  t.same(h.data('web.marathon.autoip.dcos.', 'A'), ['10.0.0.1']);
  t.same(h.data('web.marathon.containerip.dcos.', 'A'), [alloc.task.ip!]);
  t.same(h.data('_web._tcp.marathon.agentip.dcos.', 'SRV'), ['0 0 31000 web.marathon.agentip.dcos.'], 'host port at the agent');
  t.same(h.data('_web._tcp.marathon.autoip.dcos.', 'SRV'), ['0 0 31000 web.marathon.autoip.dcos.'], 'host-mapped autoip uses the host port');
  t.same(h.data('_web._tcp.marathon.containerip.dcos.', 'SRV'), ['0 0 80 web.marathon.containerip.dcos.'], 'container port');
  t.same(h.data('_web._udp.marathon.containerip.dcos.', 'SRV'), ['0 0 53 web.marathon.containerip.dcos.']);
  t.equal(h.data('_web._udp.marathon.autoip.dcos.', 'SRV'), undefined, 'unmapped port is not reachable at autoip = agent IP');
});

t.test('DESIGN.md §1: a host-network task: agentip and autoip are the agent, containerip is NODATA', async (t) => {
  const h = harness();
  h.apply(agent('a1', '10.0.0.1', 'fd00::1'));
  h.apply(task('t1', 'dns', { ports: [{ protocol: 'udp', containerPort: 53 }] }));
  t.same(h.data('dns.marathon.agentip.dcos.', 'A'), ['10.0.0.1']);
  t.same(h.data('dns.marathon.agentip.dcos.', 'AAAA'), ['fd00::1'], 'agent IPv6');
  t.same(h.data('dns.marathon.autoip.dcos.', 'A'), ['10.0.0.1'], 'no container IP: the agent IP');
  t.same(h.data('dns.marathon.containerip.dcos.', 'A'), [], 'NODATA, not NXDOMAIN ("NODATA if none")');
  t.same(h.data('dns.marathon.containerip.dcos.', 'AAAA'), []);
  const r = h.ask('dns.marathon.containerip.dcos.', 'A');
  t.equal(r.authorities[0]?.type, 'SOA', 'NODATA carries the SOA (RFC 2308 §2.2)');
  t.same(h.data('_dns._udp.marathon.agentip.dcos.', 'SRV'), ['0 0 53 dns.marathon.agentip.dcos.'], 'a host task listens on the agent');
  t.equal(h.data('_dns._udp.marathon.containerip.dcos.', 'SRV'), undefined, 'no container address, no containerip SRV');
  h.apply({ type: 'releaseTask', id: 't1' });
  t.equal(h.data('dns.marathon.containerip.dcos.', 'A'), undefined, 'released: NXDOMAIN');
  t.equal(h.data('containerip.dcos.', 'A'), undefined, 'no empty non-terminal left behind');
  t.notOk(isMarked(h.zone, 'dns.marathon.containerip.dcos.'));
  t.equal(h.zone.stats().names, 0, 'no name left, marked or not');
});

t.test('IPv6: containerip AAAA, autoip AAAA, ip6.arpa PTR', async (t) => {
  const h = harness();
  h.apply(dual);
  h.apply(net6);
  h.apply(agent('a1', '10.0.0.1'));
  const d = ok<TaskAllocation>(h.apply(task('t1', 'both', { network: 'dual' }))).task;
  const v6 = ok<TaskAllocation>(h.apply(task('t2', 'six', { network: 'dcos6' }))).task;
  t.same(h.data('both.marathon.containerip.dcos.', 'A'), [d.ip!]);
  t.same(h.data('both.marathon.containerip.dcos.', 'AAAA'), [d.ip6!]);
  t.same(h.data('six.marathon.containerip.dcos.', 'A'), [], 'IPv6-only task: A is NODATA');
  t.same(h.data('six.marathon.autoip.dcos.', 'AAAA'), [v6.ip6!]);
  t.same(h.data('six.marathon.autoip.dcos.', 'A'), []);
  t.same(h.data('six.marathon.agentip.dcos.', 'A'), ['10.0.0.1']);
  t.same(h.data(reverse6(v6.ip6!), 'PTR'), ['six.marathon.containerip.dcos.'], 'RFC 3596 §2.5 PTR');
  t.same(h.data(reverse4(d.ip!), 'PTR'), ['both.marathon.containerip.dcos.'], 'RFC 1035 §3.5 PTR');
  t.same(h.data(reverse6(d.ip6!), 'PTR'), ['both.marathon.containerip.dcos.']);
  h.apply({ type: 'releaseTask', id: 't2' });
  t.equal(h.data(reverse6(v6.ip6!), 'PTR'), undefined, 'PTR gone with the task');
});

function reverse4(ip: string): string {
  return ip.split('.').reverse().join('.') + '.in-addr.arpa.';
}

function reverse6(ip: string): string {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.') + '.ip6.arpa.';
}

t.test('DESIGN.md §1: tasks of the same name form one RRset; release removes only their share', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  h.apply(agent('a2', '10.0.0.2'));
  const ips: string[] = [];
  for (let i = 0; i < 4; i++) {
    const a = i < 3 ? 'a1' : 'a2';
    ips.push(ok<TaskAllocation>(h.apply(task(`t${i}`, 'web', { agent: a, network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 + i }] }))).task.ip!);
  }
  t.same(h.data('web.marathon.containerip.dcos.', 'A'), [...ips].sort());
  t.same(h.data('web.marathon.agentip.dcos.', 'A'), ['10.0.0.1', '10.0.0.2'], 'agent IPs deduplicated');
  t.same(h.data('_web._tcp.marathon.agentip.dcos.', 'SRV'), [0, 1, 2, 3].map((i) => `0 0 ${31000 + i} web.marathon.agentip.dcos.`));
  h.apply({ type: 'releaseTask', id: 't3' });
  t.same(h.data('web.marathon.agentip.dcos.', 'A'), ['10.0.0.1'], 'a2 no longer runs web');
  t.same(h.data('web.marathon.containerip.dcos.', 'A'), ips.slice(0, 3).sort());
  t.same(h.data('_web._tcp.marathon.agentip.dcos.', 'SRV'), [0, 1, 2].map((i) => `0 0 ${31000 + i} web.marathon.agentip.dcos.`));
  t.equal(h.data(reverse4(ips[3]!), 'PTR'), undefined);
  for (const id of ['t0', 't1', 't2']) h.apply({ type: 'releaseTask', id });
  for (const n of ['web.marathon.agentip.dcos.', 'web.marathon.containerip.dcos.', '_web._tcp.marathon.autoip.dcos.', 'marathon.agentip.dcos.', 'agentip.dcos.']) {
    t.equal(h.data(n, 'A'), undefined, `${n} NXDOMAIN after the last release`);
  }
  t.same(h.data('dcos.', 'A'), [], 'the apex stays');
  t.same(h.zone.stats().names, 0, 'nothing left in the index');
  t.same(h.records.stats().owners, 0);
});

t.test('names that mangle alike share an RRset; names that mangle to nothing get none', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  const a = ok<TaskAllocation>(h.apply(task('t1', 'My.App', { network: 'dcos' }))).task.ip!;
  const b = ok<TaskAllocation>(h.apply(task('t2', 'my_app', { network: 'dcos', framework: 'Marathon' }))).task.ip!;
  h.apply(task('t3', '$$$', { network: 'dcos' }));
  t.same(h.data('my-app.marathon.containerip.dcos.', 'A'), [a, b].sort());
  t.equal(h.records.stats().unnamedTasks, 1);
  h.apply({ type: 'releaseTask', id: 't3' });
  t.equal(h.records.stats().unnamedTasks, 0);
});

t.test('agent re-registration with a new IP updates agentip and host-mapped autoip only', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  h.apply(agent('a2', '10.0.0.2'));
  const c = ok<TaskAllocation>(h.apply(task('t1', 'web', { network: 'dcos' }))).task.ip!;
  h.apply(task('t2', 'mapped', { network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 }] }));
  h.apply(task('t3', 'web', { network: 'dcos', agent: 'a2' }));
  h.apply(task('t4', 'host'));
  h.apply(agent('a1', '10.0.9.9', 'fd00::9'));
  t.same(h.data('web.marathon.agentip.dcos.', 'A'), ['10.0.0.2', '10.0.9.9']);
  t.same(h.data('web.marathon.agentip.dcos.', 'AAAA'), ['fd00::9']);
  t.ok(h.data('web.marathon.autoip.dcos.', 'A')!.includes(c), 'unmapped autoip keeps the container IP');
  t.same(h.data('mapped.marathon.autoip.dcos.', 'A'), ['10.0.9.9']);
  t.same(h.data('mapped.marathon.agentip.dcos.', 'A'), ['10.0.9.9']);
  t.same(h.data('host.marathon.autoip.dcos.', 'A'), ['10.0.9.9']);
  t.same(h.data('host.marathon.autoip.dcos.', 'AAAA'), ['fd00::9']);
  const srv = h.ask('_mapped._tcp.marathon.agentip.dcos.', 'SRV');
  t.same(srv.additionals.map((a) => a.data).sort(), ['10.0.9.9', 'fd00::9'], 'SRV additional data follows the agent');
  h.apply({ type: 'deleteAgent', id: 'a1', force: true });
  t.equal(h.data('mapped.marathon.agentip.dcos.', 'A'), undefined, 'forced agent delete releases its names');
  t.same(h.data('web.marathon.agentip.dcos.', 'A'), ['10.0.0.2']);
});

t.test('forced network delete releases every task name on it', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  for (let i = 0; i < 20; i++) h.applyOnly(task(`t${i}`, `app${i % 3}`, { network: 'dcos' }));
  h.apply({ type: 'deleteNetwork', name: 'dcos', force: true });
  t.equal(h.zone.stats().names, 0);
  t.equal(h.data('app0.marathon.containerip.dcos.', 'A'), undefined);
});

t.test('SOA serial: the state machine\'s applied index (= X-Vnetd-Applied-Index), monotonic, also for failed commands', async (t) => {
  const h = harness();
  h.apply(net4);
  t.equal(h.zone.serial, 1);
  h.apply(agent('a1', '10.0.0.1'));
  h.apply({ type: 'releaseTask', id: 'nope' });
  t.equal(h.zone.serial, 3, 'a no-change command still advances the serial');
  const failed = h.apply(task('t1', 'x', { agent: 'missing' }));
  t.notOk(failed.ok);
  t.equal(h.zone.serial, 4);
  const soa = h.ask('dcos.', 'SOA').answers[0]!.data.split(' ');
  t.equal(soa[2], '4', 'SOA on the wire carries the serial');
  // Raft §8 no-op and membership entries never reach the state machine: the applied event says 6,
  // the state (and every answer) is still the one entry 4 built.
  h.records.onApplied(6);
  t.equal(h.zone.serial, 4, 'Raft-only entries do not move the serial');
  t.throws(() => h.records.onApplied(2), /behind the state machine/, 'an applied event behind the state machine is a bug');
  t.equal(h.zone.serial, 4, 'never decreases');
});

// Records derive from the groups at query time (builder.ts), so they are visible as soon as the
// apply returns; the serial follows at onApplied, or from a microtask when it is not called. A
// Raft batch is applied and published in one synchronous run, so no query sees the gap.
t.test('records are visible at once; the serial follows at onApplied, or from a microtask', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  h.applyOnly(task('t1', 'web', { network: 'dcos' }));
  t.equal(h.zone.exists('web.marathon.containerip.dcos.'), true, 'visible after the apply');
  t.equal(h.zone.serial, 2, 'serial not raised yet');
  await Promise.resolve();
  t.equal(h.zone.serial, 3, 'raised from the microtask: the serial follows the state machine');
});

t.test('leader.dcos and master.dcos from setMasters', async (t) => {
  const h = harness();
  h.records.setMasters({ leader: 'n2', voters: [{ id: 'n1', ip: '127.0.0.1' }, { id: 'n2', ip: '127.0.0.2' }, { id: 'n3', ip: '::1' }, { id: 'n4', ip: 'host.example' }, { id: 'n5', ip: '0.0.0.0' }] });
  t.same(h.data('leader.dcos.', 'A'), ['127.0.0.2']);
  t.same(h.data('master.dcos.', 'A'), ['127.0.0.1', '127.0.0.2']);
  t.same(h.data('master.dcos.', 'AAAA'), ['::1']);
  h.records.setMasters({ leader: null, voters: [{ id: 'n1', ip: '127.0.0.1' }] });
  t.equal(h.data('leader.dcos.', 'A'), undefined, 'no known leader: leader.dcos does not exist');
  t.same(h.data('master.dcos.', 'A'), ['127.0.0.1']);
});

t.test('aliases and reverse zones from the config', async (t) => {
  const h = harness({ aliases: ['dcos.thisdcos.directory.'], reverseZones: ['9.in-addr.arpa.'] });
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  h.apply(task('t0', 'host'));
  const ip = ok<TaskAllocation>(h.apply(task('t1', 'web', { network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80 }] }))).task.ip!;
  t.same(h.data('web.marathon.containerip.dcos.thisdcos.directory.', 'A'), [ip]);
  t.same(h.data('_web._tcp.marathon.containerip.dcos.thisdcos.directory.', 'SRV'), ['0 0 80 web.marathon.containerip.dcos.thisdcos.directory.']);
  t.same(h.data('host.marathon.containerip.dcos.thisdcos.directory.', 'A'), [], 'NODATA under the alias too');
  t.same(h.data(reverse4(ip), 'PTR'), ['web.marathon.containerip.dcos.']);
});

t.test('reset() after a snapshot restore rebuilds the same zone', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(dual);
  h.apply(agent('a1', '10.0.0.1'));
  h.apply(task('t1', 'web', { network: 'dcos', ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 31000 }] }));
  h.apply(task('t2', 'host'));
  const snap = h.sm.snapshot();
  const applied = h.sm.appliedIndex;
  // A fresh replica restoring the snapshot: its listener sees only reset().
  const sm2 = new IpamStateMachine();
  const zone2 = createRecordsZone({ origin: 'dcos.' });
  zone2.setReady(true);
  const records2 = new DnsRecords(zone2, sm2);
  sm2.addListener(records2);
  sm2.restore(snap, applied as LogIndex);
  t.equal(zone2.serial, applied, 'serial = restored index');
  for (const n of ['web.marathon.containerip.dcos.', 'web.marathon.agentip.dcos.', 'host.marathon.autoip.dcos.']) {
    t.same(zone2.get(n, 'A'), h.zone.get(n, 'A'), n);
  }
  t.same(zone2.get('_web._tcp.marathon.agentip.dcos.', 'SRV'), h.zone.get('_web._tcp.marathon.agentip.dcos.', 'SRV'));
  t.ok(isMarked(zone2, 'host.marathon.containerip.dcos.'));
  t.same(zone2.stats(), h.zone.stats());
  // Restoring an older state into the first replica drops what is gone.
  h.apply({ type: 'releaseTask', id: 't1' });
  h.apply(task('t3', 'later', { network: 'dcos' }));
  h.sm.restore(snap, applied as LogIndex);
  t.equal(h.zone.exists('later.marathon.containerip.dcos.'), false);
  t.ok(h.zone.exists('web.marathon.containerip.dcos.'));
});

t.test('any task name and framework: the listener never throws; names exist exactly when taskDnsNames says so (seeded)', async (t) => {
  const seed = Number(process.env['RECORDS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with RECORDS_SEED=${seed})`);
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  let n = 0;
  let accepted = 0;
  let named = 0;
  const text = fc.oneof(
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 255 }) },
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom('.', '_', '-', 'a', 'Z', '9', ' ', 'é'), minLength: 1, maxLength: 255 }) },
  );
  const result = fc.check(
    fc.property(text, text, (name, framework) => {
      const id = `p${n++}`;
      const r = h.apply({ type: 'allocateTask', id, name, framework, agent: 'a1', network: 'dcos' });
      if (!r.ok) return r.error.code === 'invalid'; // IPAM may refuse the text; then nothing to check
      accepted++;
      const names = taskDnsNames({ name, framework }, 'dcos');
      if (names !== undefined) named++;
      const exists = names !== undefined && h.zone.exists(names.containerip) && h.zone.exists(names.agentip) && h.zone.exists(names.autoip);
      h.apply({ type: 'releaseTask', id });
      return (names === undefined) === (h.records.stats().owners === 0 && !exists) && (names === undefined || exists);
    }),
    { seed, numRuns: 500 },
  );
  t.notOk(result.failed, `seed ${seed}: ${fc.defaultReportMessage(result) ?? ''}`);
  t.ok(accepted > 250 && named > 100, `${accepted} of 500 allocations accepted, ${named} with names`);
  t.equal(h.zone.stats().names, 0, 'every name left with its task');
});

// builder.ts keeps, for a name of several tasks, how many give each SRV name records: the name
// exists exactly while one does, whatever order tasks come and go in.
t.test('an SRV name of a shared task name exists while at least one of its tasks gives it a record', async (t) => {
  const h = harness();
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  const srv = '_web._udp.marathon.containerip.dcos.';
  h.apply(task('t1', 'web', { network: 'dcos' }));
  h.apply(task('t2', 'web', { network: 'dcos', ports: [{ protocol: 'udp', containerPort: 53 }] }));
  h.apply(task('t3', 'web', { network: 'dcos', ports: [{ protocol: 'udp', containerPort: 54 }] }));
  h.apply(task('t4', 'web', { network: 'dcos' }));
  t.same(h.data(srv, 'SRV'), ['0 0 53 web.marathon.containerip.dcos.', '0 0 54 web.marathon.containerip.dcos.']);
  h.apply({ type: 'releaseTask', id: 't2' });
  t.same(h.data(srv, 'SRV'), ['0 0 54 web.marathon.containerip.dcos.'], 'one left');
  h.apply({ type: 'releaseTask', id: 't3' });
  t.equal(h.data(srv, 'SRV'), undefined, 'none left among three tasks: NXDOMAIN');
  t.notOk(h.zone.exists('_udp.marathon.containerip.dcos.'), 'nor its empty non-terminal');
  h.apply(task('t5', 'web', { network: 'dcos', ports: [{ protocol: 'udp', containerPort: 55 }] }));
  h.apply({ type: 'releaseTask', id: 't1' });
  h.apply({ type: 'releaseTask', id: 't4' });
  t.same(h.data(srv, 'SRV'), ['0 0 55 web.marathon.containerip.dcos.'], 'back to one task, which gives it');
  h.apply({ type: 'releaseTask', id: 't5' });
  t.equal(h.data(srv, 'SRV'), undefined);
  t.equal(h.zone.stats().names, 0, 'every name left with its task');
});

// Issue 4 (detach O(1)): a release finds its task through the PTR table, and a task without a
// PTR slot (host networking, or an address outside every reverse zone) through a table by id;
// the same ids allocated again must find clean slots.
t.test('releases of tasks without a PTR slot, then the same ids again', async (t) => {
  const h = harness({ reverseZones: ['10.in-addr.arpa.'] }); // net4 is 9.0.0.0/8: outside
  h.apply(net4);
  h.apply(agent('a1', '10.0.0.1'));
  for (let round = 0; round < 3; round++) {
    ok(h.apply(task('h1', 'web')));
    const v = ok<TaskAllocation>(h.apply(task('v1', 'web', { network: 'dcos' })));
    t.same(h.data('web.marathon.containerip.dcos.', 'A'), [v.task.ip!], `round ${round}: allocated`);
    ok(h.apply({ type: 'releaseTask', id: 'h1' }));
    ok(h.apply({ type: 'releaseTask', id: 'v1' }));
    t.equal(h.data('web.marathon.agentip.dcos.', 'A'), undefined, `round ${round}: released`);
  }
  t.equal(h.records.stats().tasks, 0);
});
