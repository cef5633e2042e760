// Micro-benchmark of the records path inside the Raft apply loop: CPU µs that src/records plus
// dns/'s zone index spend on one task's allocation or release (its agentip/containerip/autoip
// A/AAAA names, its SRV names, its PTR names, with the alias zone dcos.thisdcos.directory.), at
// 1,000 and 100,000 tasks, and on changing one member of a name shared by 1,000 tasks.
//
//   npx tsc -b && node dist/bench/zone-micro.js [--sizes 1000,100000] [--rounds 30] [--batch 100]
//
// How: the IPAM state machine applies the commands with a listener that only captures the events
// (untimed: that is the IPAM cost, reported beside); the captured events are then fed to
// DnsRecords, one `flush()` per event as when every entry is its own applied batch (the worst
// case), and only that part is timed, in CPU time of this process (process.cpuUsage(): on the
// shared 2-core machine wall time also counts other processes). Figures are the median and the
// best of `rounds` batches of `batch` events.
import { parseArgs } from 'node:util';
import { IpamStateMachine, encodeCommand, type IpamCommand } from '../src/ipam/index.js';
import type { AgentView, IpamListener, TaskView } from '../src/ipam/types.js';
import { DnsRecords, createRecordsZone, type RecordsZoneIndex } from '../src/records/index.js';
import { logIndex } from '../raft/core/types.js';
import { respond } from '../dns/respond.js';
import dnsPacket from 'dns-packet';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,100000' },
    rounds: { type: 'string', default: '30' },
    batch: { type: 'string', default: '100' },
    shared: { type: 'string', default: '1000' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const sharedTasks = Number(values.shared);
if (sizes.some((s) => !Number.isInteger(s) || s < 0) || !(rounds > 0) || !(batch > 0) || !(sharedTasks === 0 || sharedTasks > 1)) {
  throw new Error('--sizes must be integers >= 0, --rounds, --batch positive, --shared 0 (skip) or > 1');
}

const bench = {
  agents: 256,
  /** 10.0.0.0/8 in /20 blocks per agent (2,045 Mesos addresses each); IPv6 /80 per agent. */
  subnet: '10.0.0.0/8',
  prefix: 20,
  subnet6: 'fd01:b::/64',
  prefix6: 80,
} as const;

const warmupRounds = 5;

type Event = { readonly kind: 'up' | 'down'; readonly task: TaskView };

/** Captures the state machine's task events for replaying into DnsRecords under the timer. */
class Capture implements IpamListener {
  events: Event[] = [];
  taskUpserted(task: TaskView): void {
    this.events.push({ kind: 'up', task });
  }
  taskRemoved(task: TaskView): void {
    this.events.push({ kind: 'down', task });
  }
  agentChanged(_agent: AgentView): void {}
  agentRemoved(_agent: AgentView): void {}
  reset(): void {}
  take(): Event[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}

class Node {
  private index = 0;
  readonly sm = new IpamStateMachine();
  readonly zone: RecordsZoneIndex = createRecordsZone({ origin: 'dcos.', aliases: ['dcos.thisdcos.directory.'], ttlSeconds: 5 });
  readonly records = new DnsRecords(this.zone, this.sm);
  readonly capture = new Capture();

  constructor() {
    this.sm.addListener(this.capture);
    this.zone.setReady(true);
    this.apply({ type: 'createNetwork', name: 'bench', subnet: bench.subnet, prefix: bench.prefix, subnet6: bench.subnet6, prefix6: bench.prefix6 });
    for (let a = 0; a < bench.agents; a++) {
      this.apply({ type: 'registerAgent', id: `agent-${a}`, ip: `172.16.${a >> 7}.${(a & 0x7f) + 1}`, ip6: `fd00::${(a + 1).toString(16)}` });
    }
  }

  apply(cmd: IpamCommand): void {
    const r = this.sm.apply(encodeCommand(cmd), logIndex(++this.index));
    if (!r.ok) throw new Error(`apply failed: ${JSON.stringify(r.error)}`);
  }

  /** Applies commands; returns the CPU µs spent (IPAM apply only: the capture is trivial). */
  applyAll(cmds: readonly IpamCommand[]): number {
    const cpu = process.cpuUsage();
    for (const c of cmds) this.apply(c);
    const used = process.cpuUsage(cpu);
    return used.user + used.system;
  }

  /** Feeds captured events to DnsRecords, one flush per event; returns CPU µs. */
  feed(events: readonly Event[]): number {
    const cpu = process.cpuUsage();
    for (const e of events) {
      if (e.kind === 'up') this.records.taskUpserted(e.task);
      else this.records.taskRemoved(e.task);
      this.records.flush();
    }
    const used = process.cpuUsage(cpu);
    return used.user + used.system;
  }
}

const ports = (i: number) => [{ protocol: 'tcp' as const, containerPort: 8080, hostPort: 10_000 + (i % 20_000) }];

function allocate(i: number, name = `task-${i}`): IpamCommand {
  return { type: 'allocateTask', id: `task-${i}`, name, framework: 'marathon', agent: `agent-${i % bench.agents}`, network: 'bench', ports: ports(i) };
}

const release = (i: number): IpamCommand => ({ type: 'releaseTask', id: `task-${i}` });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Figures {
  readonly allocMedianUs: number;
  readonly allocBestUs: number;
  readonly releaseMedianUs: number;
  readonly releaseBestUs: number;
  readonly ipamUs: number;
}

/** Rounds of `batch` allocations then their releases, of tasks made by `make(id)`. */
function measure(node: Node, make: (id: number) => IpamCommand, nextId: () => number, perRound: number): Figures {
  const alloc: number[] = [];
  const rel: number[] = [];
  const ipam: number[] = [];
  // The first rounds warm the JIT up (and the heap settles after the fill): not counted.
  for (let r = -warmupRounds; r < rounds; r++) {
    const ids = Array.from({ length: perRound }, nextId);
    const ipamUs = node.applyAll(ids.map(make)) / perRound;
    const allocUs = node.feed(node.capture.take()) / perRound;
    node.applyAll(ids.map(release));
    const releaseUs = node.feed(node.capture.take()) / perRound;
    if (r < 0) continue;
    ipam.push(ipamUs);
    alloc.push(allocUs);
    rel.push(releaseUs);
  }
  return {
    allocMedianUs: median(alloc),
    allocBestUs: Math.min(...alloc),
    releaseMedianUs: median(rel),
    releaseBestUs: Math.min(...rel),
    ipamUs: median(ipam),
  };
}

function fill(node: Node, from: number, to: number): void {
  const chunk = 1000;
  for (let i = from; i < to; i += chunk) {
    const cmds: IpamCommand[] = [];
    for (let j = i; j < Math.min(to, i + chunk); j++) cmds.push(allocate(j));
    node.applyAll(cmds);
    const events = node.capture.take();
    for (const e of events) node.records.taskUpserted(e.task);
    node.records.flush();
  }
}

const fmt = (x: number) => x.toFixed(1).padStart(8);

function report(label: string, f: Figures): void {
  console.log(
    `${label.padEnd(44)} alloc ${fmt(f.allocMedianUs)} µs (best ${fmt(f.allocBestUs)})   release ${fmt(f.releaseMedianUs)} µs (best ${fmt(f.releaseBestUs)})   [IPAM apply ${f.ipamUs.toFixed(1)} µs]`,
  );
}

/**
 * The first query after a change pays for the lazily rebuilt answer: `rounds` times, one task
 * joins (and then leaves) the shared name and one A query for `name` is answered; CPU µs of that
 * query, median. A second query right after shows the cached cost.
 */
function queryAfterChange(node: Node, name: string, nextId: () => number): { first: number; cached: number } {
  const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name, type: 'A', class: 'IN' }] });
  const options = { transport: 'tcp' as const, client: '127.0.0.1' };
  const ask = (): number => {
    const cpu = process.cpuUsage();
    const o = respond(query, node.zone, options);
    const used = process.cpuUsage(cpu);
    if (o.kind !== 'answer') throw new Error('no answer');
    return used.user + used.system;
  };
  const first: number[] = [];
  const cached: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const id = nextId();
    node.applyAll([allocate(id, 'shared')]);
    node.feed(node.capture.take());
    first.push(ask());
    cached.push(ask());
    node.applyAll([release(id)]);
    node.feed(node.capture.take());
  }
  return { first: median(first), cached: median(cached) };
}

function main(): void {
  console.log(`records + zone CPU per task event (one flush each), ${rounds} rounds × ${batch}; zone dcos. + alias dcos.thisdcos.directory.; tasks dual-stack with one tcp port (host-mapped)`);
  const node = new Node();
  let filled = 0;
  let nextId = 100_000_000;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const t0 = performance.now();
    fill(node, filled, size);
    filled = size;
    const fillMs = performance.now() - t0;
    report(`${size} tasks (filled in ${(fillMs / 1000).toFixed(1)} s)`, measure(node, (i) => allocate(i), () => nextId++, batch));
  }
  if (sharedTasks > 0) measureShared();
  const z = node.zone.stats();
  const mem = process.memoryUsage();
  console.log(`zone: ${z.names} names, ${z.rrsets} RRsets, ${(z.encodedBytes / 1e6).toFixed(1)} MB encoded; heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`);
}

function measureShared(): void {
  // One name shared by `sharedTasks` tasks: containerip/autoip RRsets of that many records, SRV of
  // 20 ports with that many glue records; one task joining or leaving changes one member.
  const shared = new Node();
  const cmds: IpamCommand[] = [];
  for (let i = 0; i < sharedTasks; i++) cmds.push(allocate(i, 'shared'));
  shared.applyAll(cmds);
  for (const e of shared.capture.take()) shared.records.taskUpserted(e.task);
  shared.records.flush();
  let sharedId = 200_000_000;
  const f = measure(shared, (i) => allocate(i, 'shared'), () => sharedId++, Math.max(1, Math.floor(batch / 10)));
  report(`one member of a ${sharedTasks}-task name`, f);
  const q = queryAfterChange(shared, 'shared.marathon.containerip.dcos.thisdcos.directory.', () => sharedId++);
  console.log(`A query (TCP) for the ${sharedTasks}-record name: first after a change ${q.first.toFixed(0)} µs CPU (encodes it), then ${q.cached.toFixed(0)} µs (cached)`);
}

main();
