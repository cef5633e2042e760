// The rules of DESIGN.md §1 that turn the tasks of one owner name into that name's records. Pure
// functions of task views: the builder (builder.ts) decides WHICH names to recompute, this file
// says WHAT each holds.
import type { PortMapping, Protocol } from '../ipam/types.js';
import type { SrvData } from '../../dns/zone.js';
import { assertNever } from '../../raft/core/assert.js';
import type { HostKind } from './naming.js';
import { limits } from './limits.js';

/**
 * What the rules read of a task: a TaskView satisfies it, and so does builder.ts's compact entry
 * (which keeps these and nothing else, the agent's addresses shared by all its tasks).
 */
export interface TaskFacts {
  readonly agentIp: string;
  readonly agentIp6?: string | undefined;
  /** The container's addresses; both absent for host networking. */
  readonly ip?: string | undefined;
  readonly ip6?: string | undefined;
  /** Undefined for host networking. */
  readonly network?: string | undefined;
  readonly ports: readonly PortMapping[];
}

type TaskView = TaskFacts;

/** Whether the task has a container address (else it runs on the host network or got none). */
function hasContainerIp(task: TaskFacts): boolean {
  return task.ip !== undefined || task.ip6 !== undefined;
}

/** The A and AAAA data of a name. */
export interface Addresses {
  readonly a: string[];
  readonly aaaa: string[];
}

/** DESIGN.md §1 autoip: the agent's address if the task maps host ports, else its container
 * address, else (host networking) the agent's. */
export function autoipUsesAgent(task: TaskView): boolean {
  return hasHostPorts(task) || !hasContainerIp(task);
}

function hasHostPorts(task: TaskView): boolean {
  return task.ports.some((p) => p.hostPort !== undefined);
}

/** Whether a task's `kind` name answers its agent's addresses (else its container's). */
export function usesAgent(task: TaskView, kind: HostKind): boolean {
  switch (kind) {
    case 'agentip':
      return true;
    case 'containerip':
      return false;
    case 'autoip':
      return autoipUsesAgent(task);
    default:
      return assertNever(kind);
  }
}

/**
 * The A/AAAA records of a `<task>.<framework>.<kind>` name: each task's agent or container
 * addresses by the kind's rule, deduplicated (several tasks on one agent give one agentip record),
 * sorted so every replica builds the same RRset, and cut at the index's RRset limit.
 */
export function hostAddresses(kind: HostKind, tasks: Iterable<TaskView>): Addresses {
  const a = new Set<string>();
  const aaaa = new Set<string>();
  for (const t of tasks) {
    if (usesAgent(t, kind)) {
      a.add(t.agentIp);
      if (t.agentIp6 !== undefined) aaaa.add(t.agentIp6);
    } else {
      if (t.ip !== undefined) a.add(t.ip);
      if (t.ip6 !== undefined) aaaa.add(t.ip6);
    }
  }
  return { a: bounded(a), aaaa: bounded(aaaa) };
}

/** The A and AAAA address a task gives its `kind` name (undefined where it has none). */
export function taskAddresses(task: TaskView, kind: HostKind): { readonly a: string | undefined; readonly aaaa: string | undefined } {
  return usesAgent(task, kind) ? { a: task.agentIp, aaaa: task.agentIp6 } : { a: task.ip, aaaa: task.ip6 };
}

/** The records of a set too large for one RRset: sorted and cut, so every replica keeps the same. */
export function bounded(values: Iterable<string>): string[] {
  return [...values].sort().slice(0, limits.rrsetRecordsMax);
}

/**
 * The port an SRV record of `kind` announces for one port mapping, or undefined when the port is
 * not reachable at the kind's address: at the agent's address a port is reachable through its
 * host mapping, or directly for a host-network task (it listens on the agent); at the container's
 * address through the container port, if the task has a container address at all.
 */
export function srvPort(task: TaskView, port: PortMapping, kind: HostKind): number | undefined {
  if (usesAgent(task, kind)) {
    if (port.hostPort !== undefined) return port.hostPort;
    return task.network === undefined ? port.containerPort : undefined;
  }
  return hasContainerIp(task) ? port.containerPort : undefined;
}

/** Whether a task contributes at least one record to the SRV name of (kind, proto). */
export function hasSrv(task: TaskView, kind: HostKind, proto: Protocol): boolean {
  return task.ports.some((p) => p.protocol === proto && srvPort(task, p, kind) !== undefined);
}

/**
 * The SRV records of `_<task>._<proto>.<framework>.<kind>`: one per reachable task port, all
 * targeting the kind's A name (DESIGN.md §1). Priority and weight 0: RFC 2782 says to use weight
 * 0 when there is no server selection to do, and the responder shuffles the RRset per answer.
 */
export function srvRecords(kind: HostKind, proto: Protocol, target: string, tasks: Iterable<TaskView>): SrvData[] {
  const ports = new Set<number>();
  for (const t of tasks) {
    for (const p of t.ports) {
      if (p.protocol !== proto) continue;
      const port = srvPort(t, p, kind);
      if (port !== undefined) ports.add(port);
    }
  }
  return [...ports]
    .sort((x, y) => x - y)
    .slice(0, limits.rrsetRecordsMax)
    .map((port) => ({ priority: 0, weight: 0, port, target }));
}
