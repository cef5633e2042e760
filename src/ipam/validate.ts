// Defensive shape validation of commands decoded from the log. The HTTP layer checks bodies with
// ajv before proposing, but the state machine trusts nothing: every field is checked here, unknown
// fields are rejected, and a fresh object holding only known fields is returned. Rules that need
// the state (duplicates, overlaps) live in the state machine; rules about one value live here.

import type {
  AllocateTaskCommand,
  ConfigureCommand,
  CreateNetworkCommand,
  IpamCommand,
  IpamError,
  IpamResult,
  PortMapping,
  RegisterAgentCommand,
} from './types.js';
import { limits } from './limits.js';
import { parseCidr4, parseCidr6, parseIpv4, parseIpv6 } from './addr.js';

type Fields = Record<string, unknown>;
type Check<T> = IpamResult<T>;

const reservedNetworkNames: ReadonlySet<string> = new Set(['host', 'bridge', 'default', 'none']);
const networkNamePattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Agent ids: visible ASCII except `/` (an agent id names a host, and appears in task paths). */
const idPattern = /^[\x21-\x2e\x30-\x7e]+$/;
/** Task ids: any visible ASCII. The CNI plugin keys tasks by `CNI_CONTAINERID/CNI_IFNAME`
 * (issue 8); HTTP clients percent-encode the id as one path segment. */
const taskIdPattern = /^[\x21-\x7e]+$/;
// eslint-disable-next-line no-control-regex
const controlPattern = /[\x00-\x1f\x7f]/;
const ouiPattern = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})(:00:00:00)?$/;

export function invalid(field: string, message: string): { ok: false; error: IpamError } {
  return { ok: false, error: { code: 'invalid', field, message } };
}

function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

function isRecord(x: unknown): x is Fields {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Rejects fields outside `allowed` (an `undefined` value counts as absent). */
function onlyFields(x: Fields, allowed: readonly string[], at: string): Check<null> {
  for (const key of Object.keys(x)) {
    if (!allowed.includes(key) && x[key] !== undefined) {
      return invalid(`${at}/${key}`, `unknown field "${key}"; allowed: ${allowed.join(', ')}`);
    }
  }
  return ok(null);
}

function text(x: unknown, field: string, maxChars: number): Check<string> {
  if (typeof x !== 'string') return invalid(field, `must be a string`);
  if (x.length === 0) return invalid(field, `must not be empty`);
  if (x.length > maxChars) return invalid(field, `must be at most ${maxChars} characters, got ${x.length}`);
  if (controlPattern.test(x)) return invalid(field, `must not contain control characters`);
  return ok(x);
}

function id(x: unknown, field: string): Check<string> {
  const t = text(x, field, limits.idCharsMax);
  if (!t.ok) return t;
  if (!idPattern.test(t.value)) return invalid(field, `must be visible ASCII without spaces or "/"`);
  return t;
}

function taskId(x: unknown, field: string): Check<string> {
  const t = text(x, field, limits.idCharsMax);
  if (!t.ok) return t;
  if (!taskIdPattern.test(t.value)) return invalid(field, `must be visible ASCII without spaces`);
  return t;
}

/**
 * A decoded value as error text, without throwing: msgpack decodes 64-bit integers as bigints,
 * which JSON.stringify refuses, and an apply that throws stops the node (a log entry with a
 * 64-bit `type` or `prefix` did).
 */
function shown(x: unknown): string {
  if (typeof x === 'bigint') return `${x}n`;
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}

function int(x: unknown, field: string, min: number, max: number): Check<number> {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    return invalid(field, `must be an integer ${min}..${max}, got ${shown(x)}`);
  }
  return ok(x);
}

function bool(x: unknown, field: string): Check<boolean> {
  return typeof x === 'boolean' ? ok(x) : invalid(field, 'must be true or false');
}

function oneOf<T extends string>(x: unknown, field: string, values: readonly T[]): Check<T> {
  const found = values.find((v) => v === x);
  return found === undefined ? invalid(field, `must be one of ${values.join(', ')}`) : ok(found);
}

/** DC/OS naming rules (DESIGN.md §1): the bridges `m-<name>`/`d-<name>` must be Linux device names. */
export function checkNetworkName(x: unknown, field: string): Check<string> {
  if (typeof x !== 'string') return invalid(field, 'must be a string');
  if (x.length < 1 || x.length > limits.networkNameCharsMax) {
    return invalid(field, `must be 1..${limits.networkNameCharsMax} characters (bridge names m-<name> fit 15), got ${x.length}`);
  }
  if (!networkNamePattern.test(x)) {
    return invalid(field, `must be lowercase letters, digits and "-", not starting or ending with "-"`);
  }
  if (reservedNetworkNames.has(x)) return invalid(field, `"${x}" is reserved (host, bridge, default, none)`);
  return ok(x);
}

export function checkIpv4(x: unknown, field: string): Check<string> {
  if (typeof x !== 'string' || parseIpv4(x) === undefined) return invalid(field, 'must be an IPv4 address like 10.0.0.1');
  return ok(x);
}

export function checkIpv6(x: unknown, field: string): Check<string> {
  if (typeof x !== 'string' || parseIpv6(x) === undefined) return invalid(field, 'must be an IPv6 address like fd00::1');
  return ok(x);
}

function configure(x: Fields): Check<ConfigureCommand> {
  const only = onlyFields(x, ['type', 'vtepSubnet', 'vtepMacOui'], '');
  if (!only.ok) return only;
  if (typeof x['vtepSubnet'] !== 'string') return invalid('/vtepSubnet', 'must be an IPv4 CIDR string');
  const subnet = parseCidr4(x['vtepSubnet']);
  if (!subnet.ok) return invalid('/vtepSubnet', `${subnet.message}`);
  if (subnet.value.len < limits.vtepPrefixLenMin || subnet.value.len > limits.vtepPrefixLenMax) {
    return invalid('/vtepSubnet', `prefix length must be ${limits.vtepPrefixLenMin}..${limits.vtepPrefixLenMax} (the VTEP MAC holds the low 24 bits of the VTEP IP)`);
  }
  const oui = typeof x['vtepMacOui'] === 'string' ? ouiPattern.exec(x['vtepMacOui']) : null;
  if (oui === null) return invalid('/vtepMacOui', 'must be a three-byte OUI like 70:b3:d5 (or 70:B3:D5:00:00:00)');
  return ok({ type: 'configure', vtepSubnet: x['vtepSubnet'], vtepMacOui: `${oui[1]}:${oui[2]}:${oui[3]}`.toLowerCase() });
}

/** The per-network rules that need no state: names, CIDRs, prefix bounds (DESIGN.md §1). */
function createNetwork(x: Fields): Check<CreateNetworkCommand> {
  const only = onlyFields(x, ['type', 'name', 'subnet', 'prefix', 'subnet6', 'prefix6', 'split', 'enabled'], '');
  if (!only.ok) return only;
  const name = checkNetworkName(x['name'], '/name');
  if (!name.ok) return name;
  const split = x['split'] === undefined ? ok('halves' as const) : oneOf(x['split'], '/split', ['halves', 'shared'] as const);
  if (!split.ok) return split;
  const enabled = x['enabled'] === undefined ? ok(true) : bool(x['enabled'], '/enabled');
  if (!enabled.ok) return enabled;
  const poolBits = split.value === 'halves' ? 1 : 0;
  const v4 = family(x, 'subnet', 'prefix', 32, limits.ipv4PoolPrefixLenMax - poolBits, (s) => parseCidr4(s));
  if (!v4.ok) return v4;
  const v6 = family(x, 'subnet6', 'prefix6', 128, limits.ipv6PoolPrefixLenMax - poolBits, (s) => parseCidr6(s));
  if (!v6.ok) return v6;
  if (x['subnet'] === undefined && x['subnet6'] === undefined) {
    return invalid('/subnet', 'a network needs a subnet (IPv4), a subnet6 (IPv6), or both');
  }
  return ok({ type: 'createNetwork', name: name.value, ...v4.value, ...v6.value, split: split.value, enabled: enabled.value });
}

function family<K extends 'subnet' | 'subnet6', P extends 'prefix' | 'prefix6'>(
  x: Fields,
  subnetKey: K,
  prefixKey: P,
  bits: number,
  prefixMax: number,
  parse: (s: string) => { ok: true; value: { len: number } } | { ok: false; message: string },
): Check<Partial<Record<K, string> & Record<P, number>>> {
  const subnet = x[subnetKey];
  const prefix = x[prefixKey];
  if (subnet === undefined && prefix === undefined) return ok({});
  if (subnet === undefined) return invalid(`/${subnetKey}`, `${prefixKey} needs ${subnetKey}`);
  if (prefix === undefined) return invalid(`/${prefixKey}`, `${subnetKey} needs ${prefixKey} (the per-agent block length)`);
  if (typeof subnet !== 'string') return invalid(`/${subnetKey}`, 'must be a CIDR string');
  const cidr = parse(subnet);
  if (!cidr.ok) return invalid(`/${subnetKey}`, cidr.message);
  const p = int(prefix, `/${prefixKey}`, 0, bits);
  if (!p.ok) return p;
  if (p.value < cidr.value.len) {
    return invalid(`/${prefixKey}`, `must be at least the subnet's length /${cidr.value.len}, got ${p.value}`);
  }
  if (p.value > prefixMax) {
    return invalid(`/${prefixKey}`, `must be at most ${prefixMax} so that each pool keeps usable addresses, got ${p.value}`);
  }
  return ok({ [subnetKey]: subnet, [prefixKey]: p.value } as Record<K, string> & Record<P, number>);
}

function registerAgent(x: Fields): Check<RegisterAgentCommand> {
  const only = onlyFields(x, ['type', 'id', 'ip', 'ip6'], '');
  if (!only.ok) return only;
  const agentId = id(x['id'], '/id');
  if (!agentId.ok) return agentId;
  const ip = checkIpv4(x['ip'], '/ip');
  if (!ip.ok) return ip;
  if (x['ip6'] === undefined) return ok({ type: 'registerAgent', id: agentId.value, ip: ip.value });
  const ip6 = checkIpv6(x['ip6'], '/ip6');
  if (!ip6.ok) return ip6;
  return ok({ type: 'registerAgent', id: agentId.value, ip: ip.value, ip6: ip6.value });
}

function port(x: unknown, at: string): Check<PortMapping> {
  if (!isRecord(x)) return invalid(at, 'must be an object {name?, protocol, containerPort, hostPort?}');
  const only = onlyFields(x, ['name', 'protocol', 'containerPort', 'hostPort'], at);
  if (!only.ok) return only;
  const protocol = oneOf(x['protocol'], `${at}/protocol`, ['tcp', 'udp'] as const);
  if (!protocol.ok) return protocol;
  const containerPort = int(x['containerPort'], `${at}/containerPort`, 1, 65535);
  if (!containerPort.ok) return containerPort;
  const hostPort = x['hostPort'] === undefined ? ok(undefined) : int(x['hostPort'], `${at}/hostPort`, 1, 65535);
  if (!hostPort.ok) return hostPort;
  const name = x['name'] === undefined ? ok(undefined) : text(x['name'], `${at}/name`, limits.portNameCharsMax);
  if (!name.ok) return name;
  return ok({
    ...(name.value === undefined ? {} : { name: name.value }),
    protocol: protocol.value,
    containerPort: containerPort.value,
    ...(hostPort.value === undefined ? {} : { hostPort: hostPort.value }),
  });
}

function ports(x: unknown): Check<PortMapping[]> {
  if (!Array.isArray(x)) return invalid('/ports', 'must be an array');
  if (x.length > limits.portsPerTaskMax) return invalid('/ports', `at most ${limits.portsPerTaskMax} ports, got ${x.length}`);
  const out: PortMapping[] = [];
  for (let i = 0; i < x.length; i++) {
    const p = port(x[i], `/ports/${i}`);
    if (!p.ok) return p;
    out.push(p.value);
  }
  return ok(out);
}

function labels(x: unknown): Check<Record<string, string>> {
  if (!isRecord(x)) return invalid('/labels', 'must be an object of string values');
  const keys = Object.keys(x);
  if (keys.length > limits.labelsPerTaskMax) return invalid('/labels', `at most ${limits.labelsPerTaskMax} labels, got ${keys.length}`);
  const pairs: [string, string][] = [];
  for (const key of keys.sort()) {
    const k = text(key, `/labels`, limits.labelKeyCharsMax);
    if (!k.ok) return invalid('/labels', `label key: ${k.error.message}`);
    const v = x[key];
    if (typeof v !== 'string' || v.length > limits.labelValueCharsMax) {
      return invalid(`/labels/${key}`, `must be a string of at most ${limits.labelValueCharsMax} characters`);
    }
    pairs.push([key, v]);
  }
  // fromEntries defines own properties, so a key like "__proto__" stays a plain label.
  return ok(Object.fromEntries(pairs));
}

const allocateFields = ['type', 'id', 'name', 'framework', 'agent', 'network', 'containerizer', 'ports', 'labels'];
const allocateFieldSet: ReadonlySet<string> = new Set(allocateFields);

function isText(x: unknown, maxChars: number): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= maxChars && !controlPattern.test(x);
}

/**
 * The allocation every replica applies for every task (issue 4's apply cost): the same checks as
 * `allocateTask` below as plain predicates, building the command once, without a result object per
 * field or object spreads. Undefined when anything fails or is unusual: `allocateTask` then finds
 * and names the problem, so errors stay exactly what they were.
 */
function allocateTaskFast(x: Fields): AllocateTaskCommand | undefined {
  for (const key of Object.keys(x)) if (!allocateFieldSet.has(key) && x[key] !== undefined) return undefined;
  const id = x['id'];
  const name = x['name'];
  const framework = x['framework'];
  const agent = x['agent'];
  const network = x['network'];
  const containerizer = x['containerizer'];
  // The id patterns admit visible ASCII only, so they also rule out control characters and empty text.
  if (typeof id !== 'string' || id.length > limits.idCharsMax || !taskIdPattern.test(id)) return undefined;
  if (typeof agent !== 'string' || agent.length > limits.idCharsMax || !idPattern.test(agent)) return undefined;
  if (!isText(name, limits.nameCharsMax) || !isText(framework, limits.nameCharsMax)) return undefined;
  if (network !== undefined && !checkNetworkName(network, '/network').ok) return undefined;
  if (containerizer !== undefined && containerizer !== 'mesos' && containerizer !== 'docker') return undefined;
  let portList: PortMapping[] = [];
  if (x['ports'] !== undefined) {
    const p = ports(x['ports']);
    if (!p.ok) return undefined;
    portList = p.value;
  }
  let labelMap: Record<string, string> = {};
  if (x['labels'] !== undefined) {
    const l = labels(x['labels']);
    if (!l.ok) return undefined;
    labelMap = l.value;
  }
  // Fields in the order the full check writes them.
  const cmd: { -readonly [K in keyof AllocateTaskCommand]: AllocateTaskCommand[K] } = { type: 'allocateTask', id, name, framework, agent };
  if (network !== undefined) cmd.network = network as string;
  if (containerizer !== undefined) cmd.containerizer = containerizer;
  cmd.ports = portList;
  cmd.labels = labelMap;
  return cmd;
}

function allocateTask(x: Fields): Check<AllocateTaskCommand> {
  const fast = allocateTaskFast(x);
  return fast !== undefined ? ok(fast) : checkAllocateTask(x);
}

/** Every check of an allocation, naming the first field that fails (exported for the test that holds the fast path to it). */
export function checkAllocateTask(x: Fields): Check<AllocateTaskCommand> {
  const allowed = allocateFields;
  const only = onlyFields(x, allowed, '');
  if (!only.ok) return only;
  const task = taskId(x['id'], '/id');
  if (!task.ok) return task;
  const name = text(x['name'], '/name', limits.nameCharsMax);
  if (!name.ok) return name;
  const framework = text(x['framework'], '/framework', limits.nameCharsMax);
  if (!framework.ok) return framework;
  const agent = id(x['agent'], '/agent');
  if (!agent.ok) return agent;
  const network = x['network'] === undefined ? ok(undefined) : checkNetworkName(x['network'], '/network');
  if (!network.ok) return network;
  const containerizer =
    x['containerizer'] === undefined ? ok(undefined) : oneOf(x['containerizer'], '/containerizer', ['mesos', 'docker'] as const);
  if (!containerizer.ok) return containerizer;
  const p = x['ports'] === undefined ? ok([]) : ports(x['ports']);
  if (!p.ok) return p;
  const l = x['labels'] === undefined ? ok({}) : labels(x['labels']);
  if (!l.ok) return l;
  return ok({
    type: 'allocateTask',
    id: task.value,
    name: name.value,
    framework: framework.value,
    agent: agent.value,
    ...(network.value === undefined ? {} : { network: network.value }),
    ...(containerizer.value === undefined ? {} : { containerizer: containerizer.value }),
    ports: p.value,
    labels: l.value,
  });
}

/** Checks a decoded command; returns a fresh, normalised copy or an `invalid` error naming the field. */
export function validateCommand(x: unknown): Check<IpamCommand> {
  if (!isRecord(x)) return invalid('', 'a command must be a map with a "type"');
  const type = x['type'];
  switch (type) {
    case 'configure':
      return configure(x);
    case 'createNetwork':
      return createNetwork(x);
    case 'patchNetwork': {
      const only = onlyFields(x, ['type', 'name', 'enabled'], '');
      if (!only.ok) return only;
      const name = checkNetworkName(x['name'], '/name');
      if (!name.ok) return name;
      const enabled = bool(x['enabled'], '/enabled');
      return enabled.ok ? ok({ type, name: name.value, enabled: enabled.value }) : enabled;
    }
    case 'deleteNetwork': {
      const only = onlyFields(x, ['type', 'name', 'force'], '');
      if (!only.ok) return only;
      const name = checkNetworkName(x['name'], '/name');
      if (!name.ok) return name;
      const force = x['force'] === undefined ? ok(false) : bool(x['force'], '/force');
      return force.ok ? ok({ type, name: name.value, force: force.value }) : force;
    }
    case 'registerAgent':
      return registerAgent(x);
    case 'deleteAgent': {
      const only = onlyFields(x, ['type', 'id', 'force'], '');
      if (!only.ok) return only;
      const agentId = id(x['id'], '/id');
      if (!agentId.ok) return agentId;
      const force = x['force'] === undefined ? ok(false) : bool(x['force'], '/force');
      return force.ok ? ok({ type, id: agentId.value, force: force.value }) : force;
    }
    case 'allocateTask':
      return allocateTask(x);
    case 'releaseTask': {
      const only = onlyFields(x, ['type', 'id'], '');
      if (!only.ok) return only;
      const task = taskId(x['id'], '/id');
      return task.ok ? ok({ type, id: task.value }) : task;
    }
    default:
      return invalid('/type', `unknown command type ${shown(type)}`);
  }
}
