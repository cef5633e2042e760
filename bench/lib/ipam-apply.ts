// Apply cost and memory of the IPAM state machine in one process (`ipam` and `scale` suites): the
// cost of one allocateTask apply with 1,000 and with 1,000,000 tasks already allocated, and heap /
// RSS at each size. With --records the DNS records builder and zone index are attached as in a
// vnetd node (src/server.ts), so the figures are a node's: state machine + DNS names.
//
//   node --expose-gc dist/bench/lib/ipam-apply.js --sizes 1000,1000000 [--records] [--dual] [--rounds 200]
//   node --expose-gc dist/bench/lib/ipam-apply.js --sizes 1000000 --serve   (rounds on request, over IPC)
//
// --dual: a dual-stack network and one host-mapped TCP port per task, so each task has every name
// DESIGN.md §1 gives (agentip/containerip/autoip A and containerip AAAA, three SRV names, PTR v4
// and v6); without it, IPv4 tasks without ports (four names each).
// prints one JSON line: {sizes: [{tasks, medianUs, meanUs, heapMiB, rssMiB}], fillSeconds}
import { parseArgs } from 'node:util';
import { IpamStateMachine, encodeCommand } from '../../src/ipam/index.js';
import { DnsRecords, createRecordsZone } from '../../src/records/index.js';
import { logIndex } from '../../raft/core/types.js';
import { round } from '../harness.js';
import { sizeFigures } from './apply-figures.js';
import type { Rounds, ServeReply, ServeRequest, SizeFigures } from './apply-figures.js';

export const applyBench = {
  agents: 1_000,
  /** 10.0.0.0/8 in /20 blocks: 2,045 Mesos addresses per agent, 2.045M over 1,000 agents. */
  subnet: '10.0.0.0/8',
  prefix: 20,
  /** --dual: a /64 per agent. */
  subnet6: 'fd00::/48',
  prefix6: 64,
  /** Allocations timed together (then released untimed, so the size stays put). */
  batch: 100,
  /** Applies between two onApplied() calls while filling (a Ready's worth). */
  fillBatch: 256,
} as const;

class Driver {
  private index = 0;
  readonly sm = new IpamStateMachine();
  private readonly records: DnsRecords | null;

  constructor(withRecords: boolean) {
    if (withRecords) {
      const zone = createRecordsZone({ origin: 'dcos.', aliases: ['dcos.thisdcos.directory.'], ttlSeconds: 5 });
      this.records = new DnsRecords(zone, this.sm);
      this.sm.addListener(this.records);
    } else {
      this.records = null;
    }
  }

  apply(bytes: Uint8Array): void {
    const r = this.sm.apply(bytes, logIndex(++this.index));
    if (!r.ok) throw new Error(`apply failed: ${JSON.stringify(r.error)}`);
  }

  published(): void {
    this.records?.onApplied(this.index);
  }
}

let dual = false;

const allocate = (i: number): Uint8Array =>
  encodeCommand({
    type: 'allocateTask',
    id: `task-${i}`,
    name: `task-${i}`,
    framework: 'marathon',
    agent: `agent-${i % applyBench.agents}`,
    network: 'bench',
    ...(dual && { ports: [{ protocol: 'tcp' as const, containerPort: 8080, hostPort: 10_000 + (i % 20_000) }] }),
  });

function setup(d: Driver): void {
  const v6 = dual ? { subnet6: applyBench.subnet6, prefix6: applyBench.prefix6 } : {};
  d.apply(encodeCommand({ type: 'createNetwork', name: 'bench', subnet: applyBench.subnet, prefix: applyBench.prefix, ...v6 }));
  for (let a = 0; a < applyBench.agents; a++) {
    d.apply(encodeCommand({ type: 'registerAgent', id: `agent-${a}`, ip: `172.16.${a >> 7}.${(a & 0x7f) + 1}` }));
  }
  d.published();
}

function fill(d: Driver, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    d.apply(allocate(i));
    if (i % applyBench.fillBatch === 0) d.published();
  }
  d.published();
}

/** `rounds` timed batches of allocations (records published inside the timing), each released after. */
function timeRounds(d: Driver, rounds: number, nextId: () => number): Rounds {
  const out: Rounds = { wallUs: [], cpuUs: [] };
  for (let r = 0; r < rounds; r++) {
    const ids = Array.from({ length: applyBench.batch }, nextId);
    const commands = ids.map(allocate);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const c of commands) d.apply(c);
    d.published();
    out.wallUs.push(Number(process.hrtime.bigint() - t0) / 1e3 / applyBench.batch);
    const cpu = process.cpuUsage(cpu0);
    out.cpuUs.push((cpu.user + cpu.system) / applyBench.batch);
    for (const id of ids) d.apply(encodeCommand({ type: 'releaseTask', id: `task-${id}` }));
    d.published();
  }
  return out;
}

function memoryAfterGc(): { heapUsed: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

/**
 * --serve: one size, filled once; then timed rounds on request, so that a parent can alternate
 * two sizes in two processes (each with its own heap) and both see the same moments of a shared
 * machine.
 */
function serve(d: Driver, size: number): void {
  const t0 = performance.now();
  fill(d, 0, size);
  const fillSeconds = round((performance.now() - t0) / 1000, 1);
  let measuredId = 100_000_000;
  // Requests sent during the fill wait in the channel until here: the first reply means "filled".
  process.on('message', (raw) => {
    const req = raw as ServeRequest;
    const reply: ServeReply = 'measure' in req ? timeRounds(d, req.measure, () => measuredId++) : { ...memoryAfterGc(), fillSeconds };
    process.send?.(reply);
  });
}

function main(): void {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,1000000' }, records: { type: 'boolean', default: false }, dual: { type: 'boolean', default: false }, rounds: { type: 'string', default: '200' }, serve: { type: 'boolean', default: false } } });
  dual = values.dual;
  const sizes = values.sizes.split(',').map(Number);
  const rounds = Number(values.rounds);
  if (sizes.some((s) => !Number.isInteger(s) || s < 0) || !Number.isInteger(rounds) || rounds <= 0) throw new Error('--sizes must be integers, --rounds positive');
  if (values.serve && sizes.length !== 1) throw new Error('--serve takes one size');
  const d = new Driver(values.records);
  setup(d);
  if (values.serve) return serve(d, sizes[0]!);
  let filled = 0;
  let fillMs = 0;
  // Measured tasks get ids above every fill id, so they never collide with the fill.
  let measuredId = 100_000_000;
  const out: SizeFigures[] = [];
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const t0 = performance.now();
    fill(d, filled, size);
    fillMs += performance.now() - t0;
    filled = size;
    if (d.sm.taskCount() !== size) throw new Error(`expected ${size} tasks, have ${d.sm.taskCount()}`);
    const timed = timeRounds(d, rounds, () => measuredId++);
    out.push(sizeFigures(size, timed, memoryAfterGc()));
  }
  process.stdout.write(JSON.stringify({ records: values.records, dual, sizes: out, fillSeconds: round(fillMs / 1000, 1), fillUsPerTask: round((fillMs * 1000) / Math.max(1, filled), 2) }) + '\n');
}

main();
