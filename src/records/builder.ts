// DnsRecords: the IpamListener that keeps the zone index in step with the IPAM state machine.
//
// The cost rule (issue 5): a change touches only the names of the tasks it concerns, never the
// whole zone. For each owner name we keep the set of tasks contributing to it; an event adds or
// removes a task from the sets of its names and marks those names dirty; `flush()` recomputes
// each dirty name once from its tasks (O(tasks sharing that name)) and sets or deletes its RRsets.
// Marking first and recomputing at the end of a batch makes a forced delete of a thousand tasks
// sharing one name cost one recomputation of that name, not a thousand.
//
// When records become visible: `flush()` runs from `onApplied(index)` (the server calls it after
// each applied batch; it also raises the SOA serial) and, as a safety net, from a microtask queued
// by the first change of a batch. Raft applies a batch synchronously, so no DNS query is answered
// between an entry's apply and the flush: answers at serial i always reflect the state at i.
import type { AgentView, IpamListener, IpamQueries, TaskView } from '../ipam/types.js';
import type { RecordDataByType, RecordType, ZoneIndex } from '../../dns/zone.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../ipam/addr.js';
import { assert, assertNever } from '../../raft/core/assert.js';
import { apexChild, hostKinds, hostName, reverseName, srvName, taskLabels, zoneLabels, type HostKind } from './naming.js';
import { bounded, hasSrv, hostAddresses, srvPort, srvRecords, taskAddresses } from './records.js';
import { limits } from './limits.js';

type SrvRole = { readonly kind: 'srv'; readonly hostKind: HostKind; readonly proto: 'tcp' | 'udp'; readonly target: string };

type Role = { readonly kind: 'host'; readonly hostKind: HostKind } | SrvRole | { readonly kind: 'ptr' };

interface Owner {
  readonly name: string;
  readonly role: Role;
  /**
   * The tasks contributing records to this name. An array, not a Set: almost every name has one
   * task, and a Set per name costs far more memory and garbage (removal is a scan, O(tasks of the
   * name), which recomputing the name costs anyway).
   */
  readonly members: Tracked[];
  /**
   * What the zone holds for this name, per record type (records joined; '' = none) and whether it
   * is marked existing: a recomputation that changes nothing writes nothing (a task joining a
   * name on an agent already listed leaves the agentip RRset, and its encoded answers, alone).
   */
  readonly published: Published;
  marked: boolean;
  /** Host names with many tasks: their addresses counted (see limits.countedOwnerTasksMin). */
  counts: Counts | undefined;
  /** SRV names with many tasks: their ports counted (port as decimal text → tasks giving it). */
  srvCounts: Counted | undefined;
}

/** The address multiset of a host name, per record type. */
interface Counts {
  readonly A: Counted;
  readonly AAAA: Counted;
}

interface Counted {
  /** Address → tasks giving it. */
  readonly tasks: Map<string, number>;
  /** Addresses that came or went since the RRset was last written → whether it held them then. */
  pending: Map<string, boolean> | undefined;
  /** Write the whole RRset next time (just counted, or cut at the RRset limit last time). */
  whole: boolean;
}

/** What `published` holds for a counted RRset: no join of addresses can equal it. */
const countedSignature = '\0counted';

/** Per record type, the signature of what the zone holds ('' = nothing). */
type Published = { -readonly [T in RecordType]: string };

const recordTypeList = ['A', 'AAAA', 'SRV', 'PTR'] as const satisfies readonly RecordType[];

interface Tracked {
  view: TaskView;
  /** The owner names this task contributes to (fixed for the task's life, see `ownersOf`). */
  readonly owners: readonly string[];
}

/** Which Raft members `leader.<zone>` and `master.<zone>` name, by their advertised addresses. */
export interface Masters {
  /** The current leader's id, or null while unknown (then `leader.<zone>` does not exist). */
  readonly leader: string | null;
  /** Every voter with the IP address clients should use (IPv4 or IPv6 text; others skipped). */
  readonly voters: readonly { readonly id: string; readonly ip: string }[];
}

export interface RecordsStats {
  readonly tasks: number;
  /** Tasks without names: their name or framework mangles to nothing, or a name is too long. */
  readonly unnamedTasks: number;
  readonly owners: number;
  /** Owner names recomputed since start (each a handful of setRRset/deleteRRset calls). */
  readonly recomputed: number;
}

export class DnsRecords implements IpamListener {
  private readonly zoneLabels: readonly string[];
  private readonly tasks = new Map<string, Tracked>();
  private readonly owners = new Map<string, Owner>();
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private unnamed = 0;
  private recomputed = 0;

  private readonly countedMin: number;

  /** `options.countedOwnerTasksMin` overrides limits.countedOwnerTasksMin (tests use 1 or 2). */
  constructor(
    private readonly zone: ZoneIndex,
    private readonly queries: IpamQueries,
    options: { readonly countedOwnerTasksMin?: number } = {},
  ) {
    this.zoneLabels = zoneLabels(zone.config.origin);
    this.countedMin = options.countedOwnerTasksMin ?? limits.countedOwnerTasksMin;
    assert(Number.isSafeInteger(this.countedMin) && this.countedMin >= 1, () => `countedOwnerTasksMin must be an integer >= 1, got ${this.countedMin}`);
  }

  // ----- IpamListener -----

  taskUpserted(task: TaskView): void {
    // The state machine calls this only for new tasks; a repeat with another view is replaced.
    this.detach(task.id);
    this.attach(task);
    this.queueFlush();
  }

  taskRemoved(task: TaskView): void {
    this.detach(task.id);
    this.queueFlush();
  }

  /** Re-reads the agent's tasks (their agentIp changed) and recomputes their agentip/autoip names. */
  agentChanged(agent: AgentView): void {
    for (const view of this.queries.listTasks({ agent: agent.id })) {
      const tracked = this.tasks.get(view.id);
      if (tracked === undefined) continue;
      tracked.view = view;
      for (const name of tracked.owners) {
        const owner = this.owners.get(name);
        const role = owner?.role;
        if (role?.kind !== 'host' || role.hostKind === 'containerip') continue;
        // The counts hold the old addresses: rebuilt from the tasks on the next recompute.
        owner!.counts = undefined;
        this.dirty.add(name);
      }
    }
    this.queueFlush();
  }

  agentRemoved(_agent: AgentView): void {
    // Its tasks were removed (taskRemoved) before this event; agents hold no names of their own.
  }

  /** The only full rebuild: after a snapshot restore, drop every task record and re-read them all. */
  reset(): void {
    for (const owner of this.owners.values()) this.clearOwner(owner);
    this.owners.clear();
    this.tasks.clear();
    this.dirty.clear();
    this.unnamed = 0;
    for (const view of this.queries.listTasks()) this.attach(view);
    this.flush();
  }

  // ----- driving -----

  /**
   * Call after each applied batch (raft node's `applied` event, `index` = Raft's applied index):
   * publishes the batch's records and sets the SOA serial.
   *
   * The serial is the state machine's applied index (`IpamQueries.appliedIndex`, the index of the
   * last IPAM command, which the HTTP API reports as X-Vnetd-Applied-Index), not `index`: Raft's
   * no-op and membership entries never reach the state machine and change no record, so the state
   * an answer reflects was built by the last IPAM command. Using the same index as the HTTP
   * reads lets a client correlate the two, and replicas at the same index answer identically.
   */
  onApplied(index: number): void {
    assert(index >= this.queries.appliedIndex, () => `applied event ${index} behind the state machine's ${this.queries.appliedIndex}`);
    this.flush();
  }

  /** Recomputes every dirty name and raises the serial to the state machine's applied index. */
  flush(): void {
    for (const name of this.dirty) {
      const owner = this.owners.get(name);
      if (owner !== undefined) this.recompute(owner);
    }
    this.dirty.clear();
    const applied = this.queries.appliedIndex;
    if (applied > this.zone.serial) this.zone.setSerial(applied);
  }

  /** Sets `leader.<zone>` and `master.<zone>` (call on every leader or membership change). */
  setMasters(m: Masters): void {
    const leader = m.voters.filter((v) => v.id === m.leader).map((v) => v.ip);
    this.setAddresses(apexChild('leader', this.zoneLabels), leader);
    this.setAddresses(apexChild('master', this.zoneLabels), m.voters.map((v) => v.ip));
  }

  stats(): RecordsStats {
    return { tasks: this.tasks.size, unnamedTasks: this.unnamed, owners: this.owners.size, recomputed: this.recomputed };
  }

  // ----- bookkeeping -----

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private attach(view: TaskView): void {
    const owners = this.ownersOf(view);
    if (owners.length === 0) this.unnamed++;
    const tracked: Tracked = { view, owners: owners.map((o) => o.name) };
    this.tasks.set(view.id, tracked);
    for (const { name, role } of owners) {
      let owner = this.owners.get(name);
      if (owner === undefined) {
        owner = { name, role, members: [], published: { A: '', AAAA: '', SRV: '', PTR: '' }, marked: false, counts: undefined, srvCounts: undefined };
        this.owners.set(name, owner);
      }
      assert(sameRole(owner.role, role), () => `owner ${name} has role ${JSON.stringify(owner.role)}, task ${view.id} wants ${JSON.stringify(role)}`);
      owner.members.push(tracked);
      if (owner.counts !== undefined && role.kind === 'host') count(owner.counts, view, role.hostKind, 1);
      if (owner.srvCounts !== undefined && role.kind === 'srv') countPorts(owner.srvCounts, view, role, 1);
      this.dirty.add(name);
    }
  }

  private detach(id: string): void {
    const tracked = this.tasks.get(id);
    if (tracked === undefined) return;
    if (tracked.owners.length === 0) this.unnamed--;
    this.tasks.delete(id);
    for (const name of tracked.owners) {
      const owner = this.owners.get(name);
      const at = owner === undefined ? -1 : owner.members.indexOf(tracked);
      assert(owner !== undefined && at >= 0, () => `task ${id} missing from owner ${name}`);
      owner.members[at] = owner.members[owner.members.length - 1]!;
      owner.members.pop();
      if (owner.counts !== undefined && owner.role.kind === 'host') count(owner.counts, tracked.view, owner.role.hostKind, -1);
      if (owner.srvCounts !== undefined && owner.role.kind === 'srv') countPorts(owner.srvCounts, tracked.view, owner.role, -1);
      this.dirty.add(name);
    }
  }

  /**
   * Every name a task contributes to. Fixed for the task's life: it depends on the task's name,
   * framework, ports and container IPs, which never change (a changed body is a new allocation);
   * only agent addresses change, and they change records, not names.
   */
  private ownersOf(view: TaskView): { name: string; role: Role }[] {
    const l = taskLabels(view);
    if (l === undefined) return [];
    const hosts = hostKinds.map((k) => hostName(l, k, this.zoneLabels));
    if (hosts.some((h) => h === undefined)) return [];
    const out: { name: string; role: Role }[] = [];
    hostKinds.forEach((hostKind, i) => {
      const target = hosts[i]!;
      out.push({ name: target, role: { kind: 'host', hostKind } });
      for (const proto of ['tcp', 'udp'] as const) {
        const name = hasSrv(view, hostKind, proto) ? srvName(l, proto, hostKind, this.zoneLabels) : undefined;
        if (name !== undefined) out.push({ name, role: { kind: 'srv', hostKind, proto, target } });
      }
    });
    for (const ip of view.ips) {
      const name = reverseName(ip);
      if (name !== undefined && this.inReverseZone(name)) out.push({ name, role: { kind: 'ptr' } });
    }
    return out;
  }

  private inReverseZone(name: string): boolean {
    return this.zone.config.reverseZones.some((z) => name === z || name.endsWith('.' + z));
  }

  private viewsOf(owner: Owner): TaskView[] {
    return owner.members.map((t) => t.view);
  }

  /** Sets the RRsets of one name from its tasks, or removes the name when none are left. */
  private recompute(owner: Owner): void {
    this.recomputed++;
    if (owner.members.length === 0) {
      this.clearOwner(owner);
      this.owners.delete(owner.name);
      return;
    }
    const role = owner.role;
    switch (role.kind) {
      case 'host': {
        if (owner.counts === undefined && owner.members.length >= this.countedMin) owner.counts = countsOf(role.hostKind, owner.members);
        if (owner.counts !== undefined) return this.publishCounted(owner, owner.counts);
        const { a, aaaa } = hostAddresses(role.hostKind, this.viewsOf(owner));
        this.publish(owner, 'A', a, a.join(' '));
        this.publish(owner, 'AAAA', aaaa, aaaa.join(' '));
        // DESIGN.md §1: a containerip name whose tasks have no container IP is NODATA, not NXDOMAIN.
        this.mark(owner, a.length + aaaa.length === 0);
        return;
      }
      case 'srv': {
        if (owner.srvCounts === undefined && owner.members.length >= this.countedMin) owner.srvCounts = portCountsOf(role, owner.members);
        if (owner.srvCounts !== undefined) {
          const target = role.target;
          return this.publishSet(owner, 'SRV', owner.srvCounts, (ports) => ports.map((port) => ({ priority: 0, weight: 0, port: Number(port), target })));
        }
        const srv = srvRecords(role.hostKind, role.proto, role.target, this.viewsOf(owner));
        // Priority, weight and target are the same for every record of this owner: ports say all.
        this.publish(owner, 'SRV', srv, srv.map((r) => r.port).join(' '));
        return;
      }
      case 'ptr': {
        const ptr = ptrTargets(this.viewsOf(owner), this.zoneLabels);
        this.publish(owner, 'PTR', ptr, ptr.join(' '));
        return;
      }
      default:
        assertNever(role);
    }
  }

  /** Writes one RRset of `owner` unless the zone already holds exactly that (`signature`). */
  private publish<T extends RecordType>(owner: Owner, type: T, records: readonly RecordDataByType[T][], signature: string): void {
    if (owner.published[type] === signature) return;
    this.zone.setRRset(owner.name, type, records);
    owner.published[type] = signature;
  }

  /** A counted host name: writes only the addresses that came or went (ZoneIndex.updateRRset). */
  private publishCounted(owner: Owner, c: Counts): void {
    this.publishSet(owner, 'A', c.A, asAddresses);
    this.publishSet(owner, 'AAAA', c.AAAA, asAddresses);
    this.mark(owner, c.A.tasks.size + c.AAAA.tasks.size === 0);
  }

  /** Writes a counted RRset: whole, or only the records that came or went (`records` makes them). */
  private publishSet<T extends 'A' | 'AAAA' | 'SRV'>(owner: Owner, type: T, c: Counted, records: (keys: readonly string[]) => RecordDataByType[T][]): void {
    const pending = c.pending;
    c.pending = undefined;
    const cut = c.tasks.size > limits.rrsetRecordsMax;
    if (c.whole || cut) {
      // Cut as the recomputing path cuts (sorted, first kept), so every replica keeps the same.
      const keys = !cut ? [...c.tasks.keys()] : type === 'SRV' ? [...c.tasks.keys()].sort((x, y) => Number(x) - Number(y)).slice(0, limits.rrsetRecordsMax) : bounded(c.tasks.keys());
      this.zone.setRRset(owner.name, type, records(keys));
      c.whole = cut;
    } else if (pending !== undefined) {
      const add: string[] = [];
      const remove: string[] = [];
      for (const [address, held] of pending) {
        const holds = c.tasks.has(address);
        if (holds && !held) add.push(address);
        else if (!holds && held) remove.push(address);
      }
      if (add.length + remove.length > 0) this.zone.updateRRset(owner.name, type, records(add), records(remove));
    } else {
      return;
    }
    owner.published[type] = c.tasks.size === 0 ? '' : countedSignature;
  }

  private mark(owner: Owner, exists: boolean): void {
    if (owner.marked === exists) return;
    this.zone.setNameExists(owner.name, exists);
    owner.marked = exists;
  }

  private clearOwner(owner: Owner): void {
    for (const type of recordTypeList) {
      if (owner.published[type] === '') continue;
      this.zone.deleteRRset(owner.name, type);
      owner.published[type] = '';
    }
    this.mark(owner, false);
  }

  /** A/AAAA of a fixed name from address texts; hostnames and unspecified addresses are skipped. */
  private setAddresses(name: string, ips: readonly string[]): void {
    const a = new Set<string>();
    const aaaa = new Set<string>();
    for (const ip of ips) {
      const v4 = parseIpv4(ip);
      const v6 = v4 === undefined ? parseIpv6(ip) : undefined;
      if (v4 !== undefined && v4 !== 0) a.add(formatIpv4(v4));
      else if (v6 !== undefined && v6 !== 0n) aaaa.add(formatIpv6(v6));
    }
    this.zone.setRRset(name, 'A', [...a].sort());
    this.zone.setRRset(name, 'AAAA', [...aaaa].sort());
  }
}

/** Addresses are their own records. */
const asAddresses = (keys: readonly string[]): string[] => [...keys];

function newCounted(): Counted {
  return { tasks: new Map(), pending: undefined, whole: true };
}

/** Counts of every port the tasks give an SRV name; to be written whole. */
function portCountsOf(role: SrvRole, members: readonly Tracked[]): Counted {
  const c = newCounted();
  for (const t of members) countPorts(c, t.view, role, 1);
  return c;
}

/** Adds (+1) or removes (-1) the ports one task gives an SRV name (records.ts `srvRecords`). */
function countPorts(c: Counted, view: TaskView, role: SrvRole, delta: 1 | -1): void {
  for (const p of view.ports) {
    if (p.protocol !== role.proto) continue;
    const port = srvPort(view, p, role.hostKind);
    if (port !== undefined) bump(c, String(port), delta);
  }
}

/** Counts of every address the tasks give a host name; both marked changed (to be written). */
function countsOf(kind: HostKind, members: readonly Tracked[]): Counts {
  const c: Counts = { A: newCounted(), AAAA: newCounted() };
  for (const t of members) count(c, t.view, kind, 1);
  return c;
}

/** Adds (+1) or removes (-1) one task's addresses; notes when an address appears or goes. */
function count(c: Counts, view: TaskView, kind: HostKind, delta: 1 | -1): void {
  const { a, aaaa } = taskAddresses(view, kind);
  if (a !== undefined) bump(c.A, a, delta);
  if (aaaa !== undefined) bump(c.AAAA, aaaa, delta);
}

/** Counts one task's address in or out; an address that came (0 → 1) or went (1 → 0) is pending. */
function bump(c: Counted, address: string, delta: 1 | -1): void {
  const n = (c.tasks.get(address) ?? 0) + delta;
  assert(n >= 0, () => `address ${address} counted below zero`);
  if (n === 0) c.tasks.delete(address);
  else c.tasks.set(address, n);
  if (n === 0 || (n === 1 && delta === 1)) {
    c.pending ??= new Map();
    // The first change since the last write says what the zone holds: it went, so it was there.
    if (!c.pending.has(address)) c.pending.set(address, n === 0);
  }
}

function sameRole(a: Role, b: Role): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'ptr' || b.kind === 'ptr') return true;
  if (a.hostKind !== b.hostKind) return false;
  if (a.kind === 'host' || b.kind === 'host') return true;
  return a.proto === b.proto && a.target === b.target;
}

/** PTR data: the containerip names of the tasks holding the address (RFC 1035 §3.5). */
function ptrTargets(views: readonly TaskView[], zone: readonly string[]): string[] {
  const names = new Set<string>();
  for (const v of views) {
    const l = taskLabels(v);
    const name = l === undefined ? undefined : hostName(l, 'containerip', zone);
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}
