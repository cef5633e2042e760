// DnsRecords: the IpamListener that keeps the DNS names of DESIGN.md §1 in step with the IPAM
// state machine, and the DerivedSource the zone index asks for them.
//
// Memory (issue 4: a node with 1,000,000 tasks under 1 GB): a task has up to nine forward names
// (agentip/containerip/autoip, each with SRV names per protocol) and two reverse names. Storing
// them as names → RRsets cost ~5-11 KB per task. Instead every name of a task derives from one
// entry per (task label, framework) group — the group key is the wire-format labels the names
// share — plus an IP-keyed map for PTR. A query for a name parses it into its group and kind, and
// the zone index builds the answer from the group's tasks (the rules of records.ts), caching it
// while the group's version stands (dns/zone-index.ts `derivedCacheNamesMax` bounds that cache).
// Per task that is one compact holder (the group itself when the name has one task, else an
// entry of the group), one group table slot (shared by tasks of the same name) and a PTR table slot
// per address: ~200 bytes (issue 4).
//
// The cost rule (issue 5): an event touches only its task's group and addresses, O(1) (a release
// finds its holder through the PTR table, or for a task without a reverse address through a small
// table of those by id), plus O(labels) in the zone for a name that appears or disappears (its
// empty non-terminals). A changed group's names that the zone has cached (recently asked) are rebuilt
// and encoded once at the end of the batch (`flush`); any other name is derived and encoded on its
// next query.
//
// When records become visible: at once (the zone asks the groups on each query). Raft applies a
// batch synchronously, so no DNS query is answered between an entry's apply and the serial update
// in `onApplied` (a microtask also raises it after the first change of a batch): answers at serial
// i reflect the state at i.
import type { AgentView, IpamListener, IpamQueries, PortMapping, TaskView } from '../ipam/types.js';
import type { DerivedName, DerivedSource, ZoneIndex } from '../../dns/zone.js';
import { flat, type NameKey } from '../../dns/wire/name.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../ipam/addr.js';
import { assert } from '../../raft/core/assert.js';
import { KeyedTable, SeededTable } from '../ipam/task-table.js';
import { apexChild, hostKinds, mangleFramework, mangleLabel, reverseKey, reverseName, zoneLabels } from './naming.js';
import { hasSrv, hostAddresses, srvRecords, type TaskFacts } from './records.js';
import { limits } from './limits.js';

/** An agent's addresses, shared by the entries of all its tasks (re-registration updates them). */
interface AgentAddresses {
  ip: string;
  ip6: string | undefined;
}

/** A framework's mangled labels, shared by its groups. */
interface Framework {
  /** The labels joined by dots (names are built from it). */
  readonly text: string;
  /** Wire-format labels (the tail of every group key of the framework). */
  readonly wire: string;
  /**
   * Per kind, `.<framework>.<kind>.<zone>.`: every host and SRV name of the framework ends with
   * one, so a new group's names cost one concatenation each instead of a template of five parts.
   */
  readonly suffixes: readonly string[];
  /** The same suffixes as name keys (dns/wire/name.ts), for the zone's per-name bookkeeping. */
  readonly suffixKeys: readonly NameKey[];
}

/**
 * What builder.ts keeps of a task: the facts the rules read, nothing else. Ports are packed in a
 * latin1 string (`packPorts`, ~24 bytes instead of ~100 for an array of objects); a task on a
 * network always has a container address (IPAM), so "host networking" is "no container address".
 * Two kinds hold them: a TaskEntry (a member of a group of several tasks) and a Group with one task,
 * which holds its task itself (below).
 */
abstract class TaskHolder implements TaskFacts {
  constructor(
    public id: string,
    public agent: AgentAddresses,
    /**
     * The IPv4 address as a signed 32-bit integer, 0 for none (IPAM never hands out 0.0.0.0, a
     * network address): a small integer lives in the field, where its text was a ~32-byte string
     * per task (issue 4, a node's memory at 1,000,000 tasks). Formatted when a query reads it.
     */
    protected ip4: number,
    public ip6: string | undefined,
    protected packedPorts: string,
  ) {}

  /** The group whose names the task gives records to. */
  abstract get group(): Group;

  get ip(): string | undefined {
    return this.ip4 === 0 ? undefined : formatIpv4(this.ip4 >>> 0);
  }

  get agentIp(): string {
    return this.agent.ip;
  }

  get agentIp6(): string | undefined {
    return this.agent.ip6;
  }

  get network(): string | undefined {
    return this.ip4 === 0 && this.ip6 === undefined ? undefined : 'network';
  }

  get ports(): readonly PortMapping[] {
    return unpackPorts(this.packedPorts);
  }

  get hasPorts(): boolean {
    return this.packedPorts.length > 0;
  }
}

/** The facts of a new task, as attach() reads them from its view. */
interface TaskInit {
  readonly id: string;
  readonly agent: AgentAddresses;
  readonly ip4: number;
  readonly ip6: string | undefined;
  readonly packedPorts: string;
}

/** A task of a group of several. */
class TaskEntry extends TaskHolder {
  /** Its index in `group.members` (so leaving the group is O(1)). */
  at = 0;

  constructor(
    t: TaskInit,
    private readonly owner: Group,
  ) {
    super(t.id, t.agent, t.ip4, t.ip6, t.packedPorts);
  }

  get group(): Group {
    return this.owner;
  }
}

/** Bytes per port in a packed port string: flags (udp, has host port), container port, host port. */
const packedPortChars = 5;
const udpFlag = 1;
const hostPortFlag = 2;

function packPorts(ports: readonly PortMapping[]): string {
  let out = '';
  for (const p of ports) {
    const flags = (p.protocol === 'udp' ? udpFlag : 0) | (p.hostPort !== undefined ? hostPortFlag : 0);
    const host = p.hostPort ?? 0;
    out += String.fromCharCode(flags, p.containerPort >> 8, p.containerPort & 0xff, host >> 8, host & 0xff);
  }
  return out;
}

function unpackPorts(packed: string): PortMapping[] {
  const out: PortMapping[] = [];
  for (let i = 0; i < packed.length; i += packedPortChars) {
    const flags = packed.charCodeAt(i);
    const protocol = (flags & udpFlag) !== 0 ? 'udp' : 'tcp';
    const containerPort = (packed.charCodeAt(i + 1) << 8) | packed.charCodeAt(i + 2);
    const hostPort = (packed.charCodeAt(i + 3) << 8) | packed.charCodeAt(i + 4);
    out.push((flags & hostPortFlag) !== 0 ? { protocol, containerPort, hostPort } : { protocol, containerPort });
  }
  return out;
}

const protos = ['tcp', 'udp'] as const;
/** SRV slots of a group: kind index * 2 + proto index. */
const srvSlots = hostKinds.length * protos.length;

/** No agent: the holder fields of a group that has members (its first task moved into an entry). */
const noAgent: AgentAddresses = { ip: '', ip6: undefined };

/**
 * The tasks of one (task label, framework): every forward name they own derives from it.
 *
 * A group of one task holds that task itself (its TaskHolder fields; `members` undefined): most
 * names have one task (each task of a load named for its id has its own), and an entry object
 * besides the group cost ~80 bytes per task (issue 4: a node's memory at 1,000,000 tasks). When a
 * second task comes, the first moves into an entry and the group keeps `members`, an array, until
 * its last task leaves.
 */
class Group extends TaskHolder {
  /** Changes whenever a derived answer of the group may change (the zone caches by it); -1 once gone. */
  version = 0;
  /** The tasks of a group that has had several; undefined while it holds its one task itself. */
  members: TaskEntry[] | undefined = undefined;
  /** Groups with members: per SRV slot, the members giving that name at least one record. */
  srv: number[] | undefined = undefined;

  constructor(
    /**
     * The task label: the task name's own string when it is a label already (shared with IPAM's
     * task), so a group keeps no key string of its own (~32 bytes per task, issue 4); its key is
     * `groupKey(task, framework)`.
     */
    readonly task: string,
    readonly framework: Framework,
    /** Bit per kind: whether its SRV names fit the name limits (a 63-character task label has none). */
    readonly srvValid: number,
    first: TaskInit,
  ) {
    super(first.id, first.agent, first.ip4, first.ip6, first.packedPorts);
  }

  get group(): Group {
    return this;
  }

  list(): readonly TaskHolder[] {
    return this.members ?? [this];
  }

  /** An entry holding the same task as this one-task group (to take its place in the tables). */
  soloEntry(): TaskEntry {
    assert(this.members === undefined, () => `group of ${this.id} has members already`);
    return new TaskEntry({ id: this.id, agent: this.agent, ip4: this.ip4, ip6: this.ip6, packedPorts: this.packedPorts }, this);
  }

  /** From now on the group's tasks are entries, `first` (from soloEntry) the first of them. */
  becomeMembers(first: TaskEntry): void {
    assert(this.members === undefined && first.id === this.id, () => `group of ${this.id} cannot take ${first.id} as its first member`);
    first.at = 0;
    this.members = [first];
    this.id = '';
    this.agent = noAgent;
    this.ip4 = 0;
    this.ip6 = undefined;
    this.packedPorts = '';
  }
}

/**
 * Groups by key. A Map of a million groups made every attach slower as the zone grew (issue 4:
 * with dual-stack tasks 1.86x the apply cost at 1,000,000 tasks vs 1,000, from the group and PTR
 * Map probes, ~1 -> 6 µs); the seeded open-addressing table of the IPAM id index does not (see
 * src/ipam/task-table.ts).
 */
class GroupTable extends SeededTable<Group> {
  /** Whether `key` is `groupKey(group.task, group.framework)`, without building that string. */
  protected matches(group: Group, key: string): boolean {
    const { task, framework } = group;
    return key.length === 1 + task.length + framework.wire.length && key.charCodeAt(0) === task.length && key.startsWith(task, 1) && key.endsWith(framework.wire);
  }

  /** Adds `group` under `key`, its key (the caller has just built it to look the group up). */
  add(key: string, group: Group): boolean {
    return this.insert(key, group);
  }
}

/**
 * Container address text -> the task holding it (PTR), an entry stored under each of its
 * addresses. One task per address: IPAM never hands an address to two live tasks (DESIGN.md §4),
 * and it reports a release before the allocation that may reuse the address.
 */
class PtrTable extends SeededTable<TaskHolder> {
  protected matches(holder: TaskHolder, ip: string): boolean {
    return holder.ip === ip || holder.ip6 === ip;
  }

  add(ip: string, holder: TaskHolder): boolean {
    return this.insert(ip, holder);
  }
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
  /** (task label, framework) groups: each owns that name's agentip/containerip/autoip/SRV names. */
  readonly owners: number;
  /** Container addresses with a PTR name. */
  readonly addresses: number;
  /** Names derived for the zone since start (each a query that found no cached answer). */
  readonly derived: number;
}

const label = (text: string): string => String.fromCharCode(text.length) + text;
/** A group's key: its task label and its framework's labels, in wire format. */
const groupKey = (task: string, framework: Framework): string => label(task) + framework.wire;
/** Wire bytes of the `containerip` label (the longest kind) and of `_tcp`/`_udp`. */
const containeripLabelBytes = 'containerip'.length + 1;
const protoLabelBytes = '_tcp'.length + 1;
/** `_tcp` and `_udp` as key labels, in the order of `protos`. */
const srvProtoKeys = protos.map((p) => label(`_${p}`));
const kindIndex = new Map<string, number>(hostKinds.map((k, i) => [k, i]));
const containeripKind = hostKinds.indexOf('containerip');
/** Label start offsets while parsing a key (lookups run to completion synchronously). */
const starts: number[] = [];

export class DnsRecords implements IpamListener, DerivedSource {
  private readonly zoneLabels: readonly string[];
  /** "dcos." — names end with it. */
  private readonly zoneText: string;
  /** The origin as a key suffix (see dns/wire/name.ts). */
  private readonly originKey: string;
  private readonly groups = new GroupTable();
  /** Frameworks by the text tasks give (null: mangles to nothing), so a task event mangles only its name. */
  private readonly frameworks = new Map<string, Framework | null>();
  private readonly agents = new Map<string, AgentAddresses>();
  /** Container address text → the task holding it (PTR). */
  private readonly ptr = new PtrTable();
  /**
   * Entries without a PTR slot (host networking, or no address in a reverse zone) by task id, so
   * that a release finds every entry in O(1): through its PTR slot, else here. Only such tasks pay
   * for a slot in it.
   */
  private readonly unaddressed = new KeyedTable<TaskHolder>();
  /** Version of every PTR answer: any address coming or going (the zone caches by it). */
  private readonly ptrStamp = { version: 0 };
  private readonly reverse4: boolean;
  private readonly reverse6: boolean;
  private taskCount = 0;
  private unnamed = 0;
  private derivedCount = 0;
  private flushQueued = false;
  /** Groups changed in this batch whose names the zone has cached: rebuilt and encoded at the flush. */
  private readonly changed = new Set<Group>();

  constructor(
    private readonly zone: ZoneIndex,
    private readonly queries: IpamQueries,
  ) {
    this.zoneLabels = zoneLabels(zone.config.origin);
    this.zoneText = this.zoneLabels.map((l) => l + '.').join('');
    this.originKey = this.zoneLabels.map(label).join('') + '\0';
    this.reverse4 = zone.config.reverseZones.includes('in-addr.arpa.');
    this.reverse6 = zone.config.reverseZones.includes('ip6.arpa.');
    zone.setDerivedSource(this);
  }

  // ----- IpamListener -----

  taskUpserted(task: TaskView): void {
    // The state machine calls this only for new tasks (a repeat of an id is idempotent there).
    this.attach(task);
    this.queueFlush();
  }

  taskRemoved(task: TaskView): void {
    this.detach(task);
    this.queueFlush();
  }

  /** The agent's addresses changed: every entry shares them; its tasks' groups change version. */
  agentChanged(agent: AgentView): void {
    this.refreshAgent(agent.id, agent.ip, agent.ip6);
  }

  /** Sets an agent's shared addresses and invalidates the answers of its tasks' groups. */
  private refreshAgent(id: string, ip: string, ip6: string | undefined): void {
    const addresses = this.agents.get(id);
    if (addresses === undefined) return; // no task of ours on it
    addresses.ip = ip;
    addresses.ip6 = ip6;
    for (const view of this.queries.listTasks({ agent: id })) {
      const group = this.groups.get(this.groupKeyOf(view) ?? '');
      if (group !== undefined) this.touch(group);
    }
  }

  agentRemoved(agent: AgentView): void {
    // Its tasks were removed (taskRemoved) before this event.
    this.agents.delete(agent.id);
  }

  /** The only full rebuild: after a snapshot restore, drop every task and re-read them all. */
  reset(): void {
    for (const group of this.groups.values()) {
      this.hostNamesChanged(group, -1);
      this.srvNamesChanged(group, this.srvMask(group), 0);
      for (const entry of group.list()) {
        for (const ip of [entry.ip, entry.ip6]) if (ip !== undefined && this.ptr.get(ip) === entry) this.zone.removeDerivedKey(reverseKey(ip)!);
      }
      group.version = -1;
    }
    this.ptrStamp.version++;
    this.changed.clear();
    this.groups.clear();
    this.frameworks.clear();
    this.agents.clear();
    this.ptr.clear();
    this.unaddressed.clear();
    this.taskCount = 0;
    this.unnamed = 0;
    for (const view of this.queries.listTasks()) this.attach(view);
    this.flush();
  }

  // ----- driving -----

  /**
   * Call after each applied batch (raft node's `applied` event, `index` = Raft's applied index):
   * sets the SOA serial.
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

  /**
   * Rebuilds and encodes the cached answers of the groups changed since the last flush (once per
   * group however many of its tasks changed), and raises the serial to the state machine's applied
   * index. Records are visible at once; this makes the next query of a hot name a copy.
   */
  flush(): void {
    for (const group of this.changed) this.zone.refreshDerived(group);
    this.changed.clear();
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
    return { tasks: this.taskCount, unnamedTasks: this.unnamed, owners: this.groups.size, addresses: this.ptr.size, derived: this.derivedCount };
  }

  // ----- DerivedSource -----

  lookup(key: string): DerivedName | undefined {
    this.derivedCount++;
    return key.endsWith(this.originKey) ? this.lookupForward(key) : this.lookupReverse(key);
  }

  /** `<task>.<framework>.<kind>` or `_<task>._<proto>.<framework>.<kind>` under the origin. */
  private lookupForward(key: string): DerivedName | undefined {
    const end = key.length - this.originKey.length;
    let n = 0;
    for (let i = 0; i < end; i += key.charCodeAt(i) + 1) starts[n++] = i;
    if (n < 3) return undefined;
    const kindAt = starts[n - 1]!;
    const kind = kindIndex.get(key.slice(kindAt + 1, end));
    if (kind === undefined) return undefined;
    const first = key.charCodeAt(0);
    if (key.charCodeAt(1) !== 0x5f) {
      const group = this.groups.get(key.slice(0, kindAt));
      if (group === undefined) return undefined;
      const { a, aaaa } = hostAddresses(hostKinds[kind]!, group.list());
      return { stamp: group, version: group.version, A: a, AAAA: aaaa };
    }
    // SRV: `_<task>` then `_tcp`/`_udp`, then at least one framework label.
    if (n < 4 || first < 2 || key.charCodeAt(first + 1) !== 4) return undefined;
    const protoLabel = key.slice(first + 2, first + 6);
    const p: number = protoLabel === '_tcp' ? 0 : protoLabel === '_udp' ? 1 : -1;
    if (p < 0) return undefined;
    const group = this.groups.get(String.fromCharCode(first - 1) + key.slice(2, 1 + first) + key.slice(starts[2], kindAt));
    if (group === undefined || (this.srvMask(group) & (1 << (kind * 2 + p))) === 0) return undefined;
    const hostKind = hostKinds[kind]!;
    const srv = srvRecords(hostKind, protos[p === 0 ? 0 : 1], this.hostName(group, kind), group.list());
    assert(srv.length > 0, () => `SRV slot of ${key} counted but without records`);
    return { stamp: group, version: group.version, SRV: srv };
  }

  /** `d.c.b.a.in-addr.arpa` or 32 nibbles under `ip6.arpa`: the PTR of a container address. */
  private lookupReverse(key: string): DerivedName | undefined {
    const ip = addressOf(key);
    const holder = ip === undefined ? undefined : this.ptr.get(ip);
    if (holder === undefined) return undefined;
    return { stamp: this.ptrStamp, version: this.ptrStamp.version, PTR: [this.hostName(holder.group, containeripKind)] };
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

  /**
   * The task label and framework of a task's names, or undefined when it has none: its name or
   * framework mangles to nothing (naming.ts `taskLabels`), or a name would exceed 255 bytes.
   * Mangled labels are 1-63 characters, so only the length is left to check: containerip, the
   * longest kind, decides.
   */
  private namesOf(view: { readonly name: string; readonly framework: string }): { readonly task: string; readonly framework: Framework } | undefined {
    const framework = this.frameworkOf(view.framework);
    const task = framework === null ? '' : mangleLabel(view.name);
    if (framework === null || task === '') return undefined;
    if (task.length + 1 + framework.wire.length + containeripLabelBytes + this.originKey.length > limits.nameBytesMax) return undefined;
    return { task, framework };
  }

  /** The group key of a task's names, or undefined when it has none (`namesOf`). */
  private groupKeyOf(view: { readonly name: string; readonly framework: string }): string | undefined {
    const names = this.namesOf(view);
    return names === undefined ? undefined : groupKey(names.task, names.framework);
  }

  /** `_<task>._<proto>.<framework>.<kind>.<zone>` fits 255 bytes and `_<task>` 63 (wire lengths). */
  private srvValidity(task: string, framework: Framework): number {
    if (task.length + 1 > limits.labelCharsMax) return 0;
    let valid = 0;
    for (let i = 0; i < hostKinds.length; i++) {
      const bytes = task.length + 2 + protoLabelBytes + framework.wire.length + hostKinds[i]!.length + 1 + this.originKey.length;
      if (bytes <= limits.nameBytesMax) valid |= 1 << i;
    }
    return valid;
  }

  private attach(view: TaskView): void {
    this.taskCount++;
    const names = this.namesOf(view);
    if (names === undefined) {
      this.unnamed++;
      return;
    }
    const key = groupKey(names.task, names.framework);
    assert(view.network === undefined || view.ip !== undefined || view.ip6 !== undefined, () => `task ${view.id} on a network without an address`);
    const task: TaskInit = { id: view.id, agent: this.agentOf(view), ip4: view.ip === undefined ? 0 : ipv4Int(view.ip), ip6: view.ip6, packedPorts: view.ports.length === 0 ? '' : packPorts(view.ports) };
    let group = this.groups.get(key);
    let holder: TaskHolder;
    let before: number;
    let slots: number;
    if (group === undefined) {
      group = new Group(names.task, names.framework, this.srvValidity(names.task, names.framework), task);
      this.groups.add(key, group);
      holder = group;
      before = 0;
      slots = this.slotsOf(group, group);
      // Nothing of a new group is cached yet: only its version and its names to report.
      group.version++;
      this.hostNamesChanged(group, 1);
    } else {
      before = this.srvMask(group);
      const members = group.members ?? this.toMembers(group);
      const entry = new TaskEntry(task, group);
      slots = this.slotsOf(group, entry);
      entry.at = members.length;
      members.push(entry);
      this.countSlots(group, slots, 1);
      holder = entry;
      this.touch(group);
    }
    this.srvNamesChanged(group, before, before | slots);
    const addressed = this.addPtr(holder, view.ip);
    if (!this.addPtr(holder, view.ip6) && !addressed) assert(this.unaddressed.add(holder), () => `task ${holder.id} attached twice`);
  }

  /**
   * A one-task group gets a second task: the first moves into an entry, which takes the group's
   * place in the PTR table (or among the tasks without one) and in the SRV counts. Returns the
   * group's members.
   */
  private toMembers(group: Group): TaskEntry[] {
    const first = group.soloEntry();
    const slots = this.slotsOf(group, group);
    let tabled = false;
    for (const ip of [first.ip, first.ip6]) if (ip !== undefined && this.ptr.replace(ip, first)) tabled = true;
    if (!tabled) assert(this.unaddressed.replace(first.id, first), () => `task ${first.id} in no table`);
    group.becomeMembers(first);
    this.countSlots(group, slots, 1);
    return group.members!;
  }

  /** The PTR of one of a new task's addresses (none outside the reverse zones); whether it has one. */
  private addPtr(holder: TaskHolder, ip: string | undefined): boolean {
    if (ip === undefined || !this.inReverseZone(ip)) return false;
    assert(this.ptr.add(ip, holder), () => `address ${ip} of task ${holder.id} already held by task ${this.ptr.get(ip)?.id}`);
    this.zone.addDerivedKey(reverseKey(ip)!);
    this.ptrStamp.version++;
    return true;
  }

  private removePtr(holder: TaskHolder, ip: string | undefined): void {
    if (ip === undefined || this.ptr.get(ip) !== holder) return;
    this.ptr.delete(ip);
    this.zone.removeDerivedKey(reverseKey(ip)!);
    this.ptrStamp.version++;
  }

  /** A released view's holder, O(1): through its PTR slot, else taken out of the tasks without one. */
  private takeHolder(view: TaskView): TaskHolder | undefined {
    let held = view.ip === undefined ? undefined : this.ptr.get(view.ip);
    if (held === undefined && view.ip6 !== undefined) held = this.ptr.get(view.ip6);
    return held !== undefined && held.id === view.id ? held : this.unaddressed.delete(view.id);
  }

  private detach(view: TaskView): void {
    const key = this.groupKeyOf(view);
    this.taskCount--;
    if (key === undefined) {
      this.unnamed--;
      return;
    }
    const group = this.groups.get(key);
    const holder = this.takeHolder(view);
    assert(group !== undefined && holder !== undefined && holder.group === group, () => `task ${view.id} missing from its group`);
    const before = this.srvMask(group);
    const members = group.members;
    if (members !== undefined) {
      // A group with members holds no task itself: the holder is one of its entries.
      const entry = holder as TaskEntry;
      assert(holder !== group && members[entry.at] === entry, () => `task ${view.id} not at its index ${entry.at} in its group`);
      const last = members.pop()!;
      if (last !== entry) {
        members[entry.at] = last;
        last.at = entry.at;
      }
      this.countSlots(group, this.slotsOf(group, entry), -1);
    }
    const gone = members === undefined || members.length === 0;
    this.touch(group);
    this.srvNamesChanged(group, before, gone ? 0 : this.srvMask(group));
    this.removePtr(holder, view.ip);
    this.removePtr(holder, view.ip6);
    if (!gone) return;
    this.hostNamesChanged(group, -1);
    group.version = -1;
    this.groups.delete(key);
  }

  /** A group's answers changed: its version moves; cached ones are rebuilt at the flush. */
  private touch(group: Group): void {
    group.version++;
    if (this.zone.derivedCached(group)) this.changed.add(group);
  }

  /** The SRV slots (bit kind * 2 + proto) a task gives records to, where the group's name is valid. */
  private slotsOf(group: Group, task: TaskHolder): number {
    if (!task.hasPorts) return 0;
    const facts: TaskFacts = { agentIp: task.agentIp, agentIp6: task.agentIp6, ip: task.ip, ip6: task.ip6, network: task.network, ports: task.ports };
    let slots = 0;
    hostKinds.forEach((kind, k) => {
      if ((group.srvValid & (1 << k)) === 0) return;
      protos.forEach((proto, p) => {
        if (hasSrv(facts, kind, proto)) slots |= 1 << (k * 2 + p);
      });
    });
    return slots;
  }

  /** Counts a member's slots in (+1) or out (-1) of a group of several tasks. */
  private countSlots(group: Group, slots: number, delta: 1 | -1): void {
    if (slots === 0) return;
    const counts = (group.srv ??= new Array<number>(srvSlots).fill(0));
    for (let slot = 0; slot < srvSlots; slot++) if ((slots & (1 << slot)) !== 0) counts[slot]! += delta;
  }

  /** The SRV slots with at least one task giving records: the group's SRV names that exist. */
  private srvMask(group: Group): number {
    if (group.members === undefined) return this.slotsOf(group, group);
    let mask = 0;
    group.srv?.forEach((n, slot) => {
      if (n > 0) mask |= 1 << slot;
    });
    return mask;
  }

  /** Tells the zone which SRV names appeared and which went. */
  private srvNamesChanged(group: Group, before: number, after: number): void {
    for (let slot = 0; slot < srvSlots; slot++) {
      const bit = 1 << slot;
      if ((before & bit) === (after & bit)) continue;
      if ((after & bit) !== 0) this.zone.addDerivedKey(this.srvKey(group, slot));
      else this.zone.removeDerivedKey(this.srvKey(group, slot));
    }
  }

  /** The mangled framework of a task's framework text (cached; the cache is bounded). */
  private frameworkOf(text: string): Framework | null {
    const cached = this.frameworks.get(text);
    if (cached !== undefined) return cached;
    const labels = mangleFramework(text);
    const joined = labels.join('.');
    const wire = labels.map(label).join('');
    const f = labels.length === 0 ? null : {
      text: joined,
      wire,
      suffixes: hostKinds.map((k) => `.${joined}.${k}.${this.zoneText}`),
      suffixKeys: hostKinds.map((k) => flat(wire + label(k) + this.originKey) as NameKey),
    };
    if (this.frameworks.size >= limits.frameworksCachedMax) this.frameworks.clear();
    this.frameworks.set(text, f);
    return f;
  }

  /** The shared addresses of a view's agent (updated in place if the view shows newer ones). */
  private agentOf(view: TaskView): AgentAddresses {
    let a = this.agents.get(view.agent);
    if (a === undefined) this.agents.set(view.agent, (a = { ip: view.agentIp, ip6: view.agentIp6 }));
    else if (a.ip !== view.agentIp || a.ip6 !== view.agentIp6) this.refreshAgent(view.agent, view.agentIp, view.agentIp6);
    return a;
  }

  private inReverseZone(ip: string): boolean {
    if (ip.includes(':') ? this.reverse6 : this.reverse4) return true;
    const name = reverseName(ip);
    return name !== undefined && this.zone.config.reverseZones.some((z) => name === z || name.endsWith('.' + z));
  }

  /** `<task>.<framework>.<kind>.<zone>.` */
  private hostName(group: Group, kind: number): string {
    return group.task + group.framework.suffixes[kind]!;
  }

  /**
   * Tells the zone a group's three host names appeared (1) or went (-1), as keys: a new group's
   * names are the hottest zone writes (every task of its own name makes one), and a key from the
   * label and the framework's suffix key skips parsing three presentation names.
   */
  private hostNamesChanged(group: Group, change: 1 | -1): void {
    const taskKey = label(group.task);
    for (const suffixKey of group.framework.suffixKeys) {
      const key = (taskKey + suffixKey) as NameKey;
      if (change === 1) this.zone.addDerivedKey(key);
      else this.zone.removeDerivedKey(key);
    }
  }

  /** The key of `_<task>._<proto>.<framework>.<kind>.<zone>.`, an SRV slot's name (see hostNamesChanged). */
  private srvKey(group: Group, slot: number): NameKey {
    return (label(`_${group.task}`) + srvProtoKeys[slot % 2]! + group.framework.suffixKeys[slot >> 1]!) as NameKey;
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

/**
 * A dotted quad as IPAM formats it (canonical: four decimal octets) as a signed 32-bit integer:
 * by hand, once per allocation, where parseIpv4 splits and matches a pattern per octet.
 */
function ipv4Int(text: string): number {
  let value = 0;
  let octet = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      value = (value << 8) | octet;
      octet = 0;
      dots++;
    } else {
      assert(c >= 0x30 && c <= 0x39, () => `not an IPv4 address: ${text}`);
      octet = octet * 10 + (c - 0x30);
      assert(octet <= 255, () => `not an IPv4 address: ${text}`);
    }
  }
  const v = (value << 8) | octet;
  // 0 means "none" in a TaskEntry; IPAM never hands out 0.0.0.0 (a network's own address).
  assert(dots === 3 && v !== 0, () => `not a task's IPv4 address: ${text}`);
  return v;
}

const in4 = '\x07in-addr\x04arpa\0';
const in6 = '\x03ip6\x04arpa\0';

/** The address text (as TaskView formats it) a reverse key names, or undefined. */
function addressOf(key: string): string | undefined {
  if (key.endsWith(in4)) {
    const parts: string[] = [];
    let i = 0;
    for (; i < key.length - in4.length && parts.length < 5; i += key.charCodeAt(i) + 1) parts.push(key.slice(i + 1, i + 1 + key.charCodeAt(i)));
    if (parts.length !== 4 || i !== key.length - in4.length) return undefined;
    if (!parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (key.endsWith(in6)) {
    if (key.length !== 64 + in6.length) return undefined;
    let hex = '';
    for (let i = 62; i >= 0; i -= 2) {
      if (key.charCodeAt(i) !== 1) return undefined;
      const c = key[i + 1]!;
      if (!/[0-9a-f]/.test(c)) return undefined;
      hex += c;
    }
    return formatIpv6(BigInt('0x' + hex));
  }
  return undefined;
}
