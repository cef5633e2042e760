// Incremental build == full rebuild: random command sequences (with forced deletes, agent address
// changes, batches flushed at random points and snapshot restores in between) go through an
// IpamStateMachine with DnsRecords attached; at the end the zone must equal (1) one built by
// reset() from the final state and (2) an oracle that applies DESIGN.md §1's table to the final
// task list directly. Seeded: RECORDS_SEED=<n> replays a failure (the seed is printed).
import t from 'tap';
import fc from 'fast-check';
import { IpamStateMachine, encodeCommand, type IpamCommand } from '../../src/ipam/index.js';
import type { TaskView } from '../../src/ipam/types.js';
import { createRecordsZone, DnsRecords, type RecordsZoneIndex } from '../../src/records/index.js';
import { hostKinds, hostName, reverseName, srvName, taskLabels } from '../../src/records/naming.js';
import type { RecordType } from '../../dns/zone.js';
import type { LogIndex } from '../../raft/core/types.js';
import { isMarked, writtenName, zoneWriteMethods } from './helpers.js';

const agents = ['a0', 'a1', 'a2', 'a3'];
const taskIds = Array.from({ length: 14 }, (_, i) => `t${i}`);
const networks: IpamCommand[] = [
  { type: 'createNetwork', name: 'n4', subnet: '9.0.0.0/8', prefix: 26 },
  { type: 'createNetwork', name: 'n6', subnet6: 'fd01:b::/64', prefix6: 80 },
  { type: 'createNetwork', name: 'nd', subnet: '10.200.0.0/16', prefix: 28, subnet6: 'fd02::/64', prefix6: 120 },
  { type: 'createNetwork', name: 'sh', subnet: '10.100.0.0/16', prefix: 29, split: 'shared' },
];

type Step = { readonly cmd: IpamCommand | 'restore'; readonly flush: boolean };

const portArb = fc.record(
  {
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
    containerPort: fc.constantFrom(53, 80, 8080),
    hostPort: fc.constantFrom(31000, 31001),
  },
  { requiredKeys: ['protocol', 'containerPort'] },
);

const commandArb: fc.Arbitrary<IpamCommand | 'restore'> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('registerAgent' as const), id: fc.constantFrom(...agents), ip: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3') }, { requiredKeys: ['type', 'id', 'ip'] }).chain((c) => fc.option(fc.constantFrom('fd00::1', 'fd00::2'), { nil: undefined }).map((ip6) => (ip6 === undefined ? c : { ...c, ip6 }))) },
  {
    weight: 8,
    arbitrary: fc
      .record({
        id: fc.constantFrom(...taskIds),
        name: fc.constantFrom('web', 'Web', 'web.x', 'web_x', 'api', '$$', 'x'.repeat(70)),
        framework: fc.constantFrom('marathon', 'Marathon', 'kafka.prod'),
        agent: fc.constantFrom(...agents),
        network: fc.option(fc.constantFrom('n4', 'n6', 'nd', 'sh'), { nil: undefined }),
        containerizer: fc.constantFrom('mesos' as const, 'docker' as const),
        ports: fc.array(portArb, { maxLength: 2 }),
      })
      .map((r): IpamCommand => {
        const { network, ...rest } = r;
        return network === undefined ? { type: 'allocateTask', ...rest } : { type: 'allocateTask', ...rest, network };
      }),
  },
  { weight: 4, arbitrary: fc.constantFrom(...taskIds).map((id): IpamCommand => ({ type: 'releaseTask', id })) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('deleteAgent' as const), id: fc.constantFrom(...agents), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('deleteNetwork' as const), name: fc.constantFrom('n4', 'n6', 'nd', 'sh'), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('patchNetwork' as const), name: fc.constantFrom('n4', 'nd'), enabled: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constantFrom(...networks) },
  { weight: 1, arbitrary: fc.constant('restore' as const) },
);

const stepsArb = fc.array(fc.record({ cmd: commandArb, flush: fc.boolean() }), { minLength: 1, maxLength: 60 });

/** Records every name a zone was asked to change, to compare zones without enumerating them. */
function spyNames(zone: RecordsZoneIndex, names: Set<string>): void {
  const z = zone as unknown as Record<string, (name: string, ...rest: unknown[]) => unknown>;
  for (const m of zoneWriteMethods) {
    const original = z[m]!.bind(zone);
    z[m] = (name: string, ...rest: unknown[]) => {
      names.add(writtenName(m, name));
      return original(name, ...rest);
    };
  }
}

function withAncestors(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const n of names) {
    const labels = n.slice(0, -1).split('.');
    for (let i = 0; i < labels.length; i++) out.add(labels.slice(i).join('.') + '.');
  }
  return out;
}

const types: readonly RecordType[] = ['A', 'AAAA', 'SRV', 'PTR'];

function describe(zone: RecordsZoneIndex, name: string): string {
  const parts = [`exists=${zone.exists(name)}`, `marked=${isMarked(zone, name)}`];
  for (const type of types) {
    const rs = zone.get(name, type);
    if (rs !== undefined) parts.push(`${type}=${JSON.stringify([...rs].map((r) => JSON.stringify(r)).sort())}`);
  }
  return parts.join(' ');
}

// ----- the oracle: DESIGN.md §1's table applied to the final task list, written independently -----

type Expected = Map<string, Map<RecordType, Set<string>>>;

function put(e: Expected, name: string, type: RecordType, value: string): void {
  let byType = e.get(name);
  if (byType === undefined) e.set(name, (byType = new Map()));
  let set = byType.get(type);
  if (set === undefined) byType.set(type, (set = new Set()));
  set.add(value);
}

function oracle(tasks: readonly TaskView[], reverseZones: readonly string[]): { expected: Expected; dataLess: Set<string> } {
  const expected: Expected = new Map();
  const hostNames = new Set<string>();
  for (const task of tasks) {
    const l = taskLabels(task);
    if (l === undefined) continue;
    const names = hostKinds.map((k) => hostName(l, k, ['dcos']));
    if (names.some((n) => n === undefined)) continue;
    const mapped = task.ports.some((p) => p.hostPort !== undefined);
    const container = { A: task.ip, AAAA: task.ip6 };
    const agent = { A: task.agentIp, AAAA: task.agentIp6 };
    hostKinds.forEach((kind, i) => {
      const name = names[i]!;
      hostNames.add(name);
      const onAgent = kind === 'agentip' || (kind === 'autoip' && (mapped || task.ips.length === 0));
      const src = onAgent ? agent : container;
      if (src.A !== undefined) put(expected, name, 'A', src.A);
      if (src.AAAA !== undefined) put(expected, name, 'AAAA', src.AAAA);
      for (const p of task.ports) {
        let port: number | undefined;
        if (onAgent) port = p.hostPort ?? (task.network === undefined ? p.containerPort : undefined);
        else port = task.ips.length > 0 ? p.containerPort : undefined;
        const srv = srvName(l, p.protocol, kind, ['dcos']);
        if (port !== undefined && srv !== undefined) put(expected, srv, 'SRV', JSON.stringify({ priority: 0, weight: 0, port, target: name }));
      }
    });
    for (const ip of task.ips) {
      const rev = reverseName(ip)!;
      if (reverseZones.some((z) => rev.endsWith('.' + z))) put(expected, rev, 'PTR', names[1]!);
    }
  }
  const dataLess = new Set([...hostNames].filter((n) => !expected.has(n)));
  return { expected, dataLess };
}

function compareWithOracle(zone: RecordsZoneIndex, sm: IpamStateMachine, touched: Set<string>): string | undefined {
  const { expected, dataLess } = oracle(sm.listTasks(), zone.config.reverseZones);
  const all = withAncestors([...touched, ...expected.keys(), ...dataLess]);
  const holders = withAncestors([...expected.keys(), ...dataLess]);
  for (const name of all) {
    const want = expected.get(name);
    for (const type of types) {
      const got = zone.get(name, type);
      const gotSet = got === undefined ? undefined : [...got].map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).sort();
      const wantSet = want?.get(type) === undefined ? undefined : [...want.get(type)!].sort();
      if (JSON.stringify(gotSet) !== JSON.stringify(wantSet)) return `${name} ${type}: got ${JSON.stringify(gotSet)}, oracle ${JSON.stringify(wantSet)}`;
    }
    const apexes = ['dcos.', ...zone.config.reverseZones];
    const below = apexes.some((a) => name.endsWith('.' + a));
    if (below && zone.exists(name) !== holders.has(name)) return `${name}: exists=${zone.exists(name)}, oracle ${holders.has(name)}`;
    if (dataLess.has(name) !== isMarked(zone, name)) return `${name}: marked=${isMarked(zone, name)}, oracle data-less=${dataLess.has(name)}`;
  }
  return undefined;
}

/**
 * Reverse zones of a run: both families, or only some addresses (a task whose address is outside
 * every reverse zone has no PTR slot, and the builder finds it by id instead on release).
 */
const reverseZoneSets: readonly (readonly string[])[] = [['in-addr.arpa.', 'ip6.arpa.'], ['10.in-addr.arpa.'], ['ip6.arpa.']];

function run(steps: readonly Step[], reverseZones: readonly string[]): string | undefined {
  const sm = new IpamStateMachine();
  const zone = createRecordsZone({ origin: 'dcos.', reverseZones });
  const touched = new Set<string>();
  spyNames(zone, touched);
  const records = new DnsRecords(zone, sm);
  sm.addListener(records);
  let index = 0;
  // Most allocations should succeed: start with every network and two agents.
  const setup: Step[] = [...networks, ...['a0', 'a1'].map((id, i): IpamCommand => ({ type: 'registerAgent', id, ip: `10.0.0.${i + 1}` }))].map((cmd) => ({ cmd, flush: true }));
  const all: Step[] = [...setup, ...steps];
  for (const step of all) {
    if (step.cmd === 'restore') {
      sm.restore(sm.snapshot(), sm.appliedIndex as LogIndex);
    } else {
      sm.apply(encodeCommand(step.cmd), ++index as LogIndex);
    }
    if (step.flush) {
      records.onApplied(sm.appliedIndex);
      // Read every name seen so far: the index caches derived answers, and a cache entry that
      // outlived a change would show as a difference from the rebuilt zone at the end.
      for (const name of withAncestors(touched)) describe(zone, name);
    }
  }
  records.onApplied(sm.appliedIndex);
  if (zone.serial !== sm.appliedIndex) return `serial ${zone.serial} != applied ${sm.appliedIndex}`;

  const full = createRecordsZone({ origin: 'dcos.', reverseZones });
  const fullTouched = new Set<string>();
  spyNames(full, fullTouched);
  const fullRecords = new DnsRecords(full, sm);
  fullRecords.reset();
  for (const name of withAncestors([...touched, ...fullTouched])) {
    const a = describe(zone, name);
    const b = describe(full, name);
    if (a !== b) return `${name}: incremental ${a} / rebuilt ${b}`;
  }
  if (JSON.stringify(zone.stats()) !== JSON.stringify(full.stats())) return `stats ${JSON.stringify(zone.stats())} vs ${JSON.stringify(full.stats())}`;
  return compareWithOracle(zone, sm, touched);
}

t.test('incremental records equal a reset() rebuild and the DESIGN.md §1 oracle (seeded)', async (t) => {
  const seed = Number(process.env['RECORDS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with RECORDS_SEED=${seed})`);
  const numRuns = Number(process.env['RECORDS_RUNS'] ?? 300);
  let ran = 0;
  const result = fc.check(
    fc.property(stepsArb, fc.constantFrom(...reverseZoneSets), (steps, reverseZones) => {
      ran++;
      const problem = run(steps, reverseZones);
      if (problem !== undefined) throw new Error(problem);
    }),
    { seed, numRuns },
  );
  if (result.failed) {
    const cause = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
    t.fail(`seed ${seed}: ${cause}\n${fc.defaultReportMessage(result) ?? ""}`);
  } else {
    t.pass(`${ran} random sequences, seed ${seed}`);
  }
});
