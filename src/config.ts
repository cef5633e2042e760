// The configuration of one vnetd node: every setting with its default, the JSON schema of the
// config file, and the merge of the three sources, file < environment (VNETD_*) < flags. Each
// source is validated on its own before the merge, so an error names the source, the field and
// the expected value: `config: /http must be HOST:PORT, got "abc" (in file vnetd.json)`.

import { readFileSync } from 'node:fs';
import { defaultVtepMacOui, defaultVtepSubnet } from './ipam/index.js';
import { firstError, isHostPort, newAjv, valueAt } from './api/formats.js';
import { logLevels } from './log.js';
import type { LogLevel } from './log.js';

export type JoinRole = 'voter' | 'learner';

/** One initial voter: its raft address and, so that writes can be forwarded to it, its HTTP and DNS addresses. */
export interface PeerSpec {
  readonly id: string;
  readonly raft: string;
  readonly http?: string;
  readonly dns?: string;
}

/** The network created on the first start of a new cluster (DC/OS's `dcos`). */
export interface DefaultNetworkSpec {
  readonly name: string;
  readonly subnet?: string;
  readonly prefix?: number;
  readonly subnet6?: string;
  readonly prefix6?: number;
  readonly split?: 'halves' | 'shared';
}

export interface Config {
  readonly id: string;
  readonly dataDir: string;
  readonly http: string;
  readonly dns: string;
  readonly raft: string;
  readonly peers: readonly PeerSpec[];
  readonly join: string | null;
  readonly role: JoinRole;
  readonly clusterSecret: string | null;
  readonly clusterSecretFile: string | null;
  readonly apiToken: string | null;
  readonly apiTokenFile: string | null;
  readonly apiTokenReads: boolean;
  readonly zone: string;
  readonly zoneAliases: readonly string[];
  readonly dnsTtl: number;
  readonly upstreams: readonly string[];
  readonly allowRecursion: readonly string[];
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEntries: number;
  readonly snapshotIdleMs: number;
  readonly commitHoldMs: number;
  readonly proposalTimeoutMs: number;
  readonly defaultNetwork: DefaultNetworkSpec | null;
  readonly vtepSubnet: string;
  readonly vtepMacOui: string;
  readonly logLevel: LogLevel;
  readonly unsafeNoFsync: boolean;
  readonly dockerIpamSocket: string | null;
  readonly dockerIpamAgent: string | null;
  readonly dockerIpamNetwork: string | null;
  readonly advertiseHttp: string | null;
  readonly advertiseDns: string | null;
  readonly advertiseRaft: string | null;
}

/** DESIGN.md §3: the embedded single-node default. */
export const defaults: Config = {
  id: 'node1',
  dataDir: './data',
  http: '127.0.0.1:62080',
  dns: '127.0.0.1:8053',
  raft: '127.0.0.1:62090',
  peers: [],
  join: null,
  role: 'learner',
  clusterSecret: null,
  clusterSecretFile: null,
  apiToken: null,
  apiTokenFile: null,
  apiTokenReads: false,
  zone: 'dcos.',
  zoneAliases: ['dcos.thisdcos.directory.'],
  dnsTtl: 5,
  upstreams: [],
  allowRecursion: ['127.0.0.0/8', '::1/128'],
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  // etcd's default snapshot count: a snapshot pauses the node's main thread (~0.6 µs per task,
  // ~2 µs before tasks kept their link order), so it is taken rarely (at 10,000 the pauses made the
  // ipam bench's p99 at 256 in flight ~0.9 s).
  snapshotEntries: 100_000,
  // A due snapshot waits for a moment without writes (up to 2 × snapshotEntries): taken under
  // load, its encoding (then ~0.3 s at 300,000 tasks, cold; ~0.12 s since) stalled every write of
  // the ipam bench (p99 at 256 in flight 330 ms against 53 ms without snapshots).
  snapshotIdleMs: 250,
  // A follower (voter) learns a new commit index from the next write's append rather than from a
  // frame of its own, at most this much later: waking it costs the leader CPU on every write
  // (raft/node README, commitHoldMs). Learners, the agents' DNS servers, are never held.
  commitHoldMs: 2,
  proposalTimeoutMs: 5_000,
  defaultNetwork: { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
  vtepSubnet: defaultVtepSubnet,
  vtepMacOui: defaultVtepMacOui,
  logLevel: 'info',
  unsafeNoFsync: false,
  dockerIpamSocket: null,
  dockerIpamAgent: null,
  dockerIpamNetwork: null,
  advertiseHttp: null,
  advertiseDns: null,
  advertiseRaft: null,
};

export type ConfigKey = keyof Config;

/** How a flag or environment string becomes a value of the field. */
type Kind = 'string' | 'nullable' | 'int' | 'bool' | 'list' | 'peers' | 'network';

interface FieldSpec {
  readonly kind: Kind;
  readonly schema: Record<string, unknown>;
  /** What a valid value looks like, for error messages. */
  readonly expected: string;
  readonly help: string;
  /** A flag value name for the usage text (boolean flags have none). */
  readonly arg?: string;
}

const nodeId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' };
const hostPort = { type: 'string', format: 'hostport' };
const peerObject = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'raft'],
  properties: { id: nodeId, raft: hostPort, http: hostPort, dns: hostPort },
};
const networkObject = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,11}[a-z0-9])?$' },
    subnet: { type: 'string', format: 'cidr4' },
    prefix: { type: 'integer', minimum: 0, maximum: 32 },
    subnet6: { type: 'string', format: 'cidr6' },
    prefix6: { type: 'integer', minimum: 0, maximum: 128 },
    split: { enum: ['halves', 'shared'] },
  },
};
const positive = (max: number): Record<string, unknown> => ({ type: 'integer', minimum: 1, maximum: max });

/** Every setting. The flag is `--kebab-case` of the key, the environment variable `VNETD_SNAKE_CASE`. */
export const fields: { readonly [K in ConfigKey]: FieldSpec } = {
  id: { kind: 'string', schema: nodeId, expected: 'a node id of letters, digits, ".", "_" or "-" (1..63 chars)', help: 'this node\'s id, unique in the cluster', arg: 'ID' },
  dataDir: { kind: 'string', schema: { type: 'string', minLength: 1 }, expected: 'a directory path', help: 'where the Raft log, snapshots, node identity and cluster secret live', arg: 'DIR' },
  http: { kind: 'string', schema: hostPort, expected: 'HOST:PORT', help: 'HTTP API listen (and advertised) address', arg: 'HOST:PORT' },
  dns: { kind: 'string', schema: hostPort, expected: 'HOST:PORT', help: 'DNS listen address, UDP and TCP', arg: 'HOST:PORT' },
  raft: { kind: 'string', schema: hostPort, expected: 'HOST:PORT', help: 'Raft peer listen (and advertised) address', arg: 'HOST:PORT' },
  peers: {
    kind: 'peers',
    schema: { type: 'array', maxItems: 64, items: peerObject },
    expected: 'a list of ID=RAFT_HOST:PORT[/HTTP_HOST:PORT[/DNS_HOST:PORT]] (in a file: [{id, raft, http?, dns?}])',
    help: 'initial voters of a new cluster, this node included',
    arg: 'LIST',
  },
  join: { kind: 'nullable', schema: { type: ['string', 'null'], format: 'url' }, expected: 'an http:// URL of a running member', help: 'join a running cluster through this member', arg: 'URL' },
  role: { kind: 'string', schema: { enum: ['voter', 'learner'] }, expected: 'voter or learner', help: 'role when joining (a voter joins as a learner, promoted once caught up)', arg: 'ROLE' },
  clusterSecret: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 16 }, expected: 'a string of at least 16 characters', help: 'shared secret peers authenticate with (default: generated on single-node bootstrap)', arg: 'SECRET' },
  clusterSecretFile: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 1 }, expected: 'a file path', help: 'read the cluster secret from this file (e.g. another member\'s DATA_DIR/cluster-secret)', arg: 'FILE' },
  apiToken: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 8 }, expected: 'a string of at least 8 characters', help: 'bearer token required for HTTP writes', arg: 'TOKEN' },
  apiTokenFile: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 1 }, expected: 'a file path', help: 'read the API token from this file', arg: 'FILE' },
  apiTokenReads: { kind: 'bool', schema: { type: 'boolean' }, expected: 'true or false', help: 'require the token for reads too (not /v1/health)' },
  zone: { kind: 'string', schema: { type: 'string', format: 'zone' }, expected: 'a DNS zone name like dcos.', help: 'DNS zone served', arg: 'NAME' },
  zoneAliases: { kind: 'list', schema: { type: 'array', maxItems: 16, items: { type: 'string', format: 'zone' } }, expected: 'a list of DNS zone names', help: 'zones answering the same names', arg: 'LIST' },
  dnsTtl: { kind: 'int', schema: positive(86_400), expected: 'an integer 1..86400 (seconds)', help: 'TTL of DNS answers, seconds', arg: 'SECONDS' },
  upstreams: { kind: 'list', schema: { type: 'array', maxItems: 8, items: hostPort }, expected: 'a list of HOST:PORT', help: 'resolvers for names outside the zone (none: REFUSED)', arg: 'LIST' },
  allowRecursion: { kind: 'list', schema: { type: 'array', maxItems: 64, items: { type: 'string', format: 'cidr' } }, expected: 'a list of CIDRs like 127.0.0.0/8', help: 'clients allowed to use the upstreams', arg: 'LIST' },
  tickMs: { kind: 'int', schema: positive(10_000), expected: 'an integer 1..10000 (milliseconds)', help: 'Raft tick period', arg: 'MS' },
  electionTicks: { kind: 'int', schema: { type: 'integer', minimum: 2, maximum: 1000 }, expected: 'an integer 2..1000', help: 'election timeout in ticks', arg: 'N' },
  heartbeatTicks: { kind: 'int', schema: positive(999), expected: 'an integer 1..999, below electionTicks', help: 'heartbeat period in ticks', arg: 'N' },
  snapshotEntries: { kind: 'int', schema: positive(100_000_000), expected: 'a positive integer', help: 'snapshot and compact every N applied entries', arg: 'N' },
  commitHoldMs: { kind: 'int', schema: { type: 'integer', minimum: 0, maximum: 1000 }, expected: 'an integer 0..1000 (milliseconds)', help: 'the leader holds an append carrying only a new commit index to a voter this long, for the next write\'s append to carry; 0: never (learners never wait)', arg: 'MS' },
  snapshotIdleMs: { kind: 'int', schema: { type: 'integer', minimum: 0, maximum: 1000 }, expected: 'an integer 0..1000 (milliseconds)', help: 'a due snapshot waits until nothing was applied for this long (at most 2 x snapshotEntries); 0: at once', arg: 'MS' },
  proposalTimeoutMs: { kind: 'int', schema: positive(600_000), expected: 'an integer 1..600000 (milliseconds)', help: 'deadline of a write', arg: 'MS' },
  defaultNetwork: {
    kind: 'network',
    schema: { anyOf: [{ type: 'null' }, networkObject] },
    expected: 'null or {name, subnet, prefix, subnet6?, prefix6?, split?} (flag/env: "none" or that JSON)',
    help: 'network created on a new cluster\'s first start ("none" to skip)',
    arg: 'JSON|none',
  },
  vtepSubnet: { kind: 'string', schema: { type: 'string', format: 'cidr4' }, expected: 'an IPv4 CIDR like 44.128.0.0/20', help: 'VTEP addresses of agents (set on a new cluster)', arg: 'CIDR' },
  vtepMacOui: { kind: 'string', schema: { type: 'string', pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){2}(:00:00:00)?$' }, expected: 'a three-byte OUI like 70:b3:d5', help: 'VTEP MAC prefix (set on a new cluster)', arg: 'OUI' },
  logLevel: { kind: 'string', schema: { enum: [...logLevels] }, expected: logLevels.join(', '), help: 'log threshold', arg: 'LEVEL' },
  unsafeNoFsync: { kind: 'bool', schema: { type: 'boolean' }, expected: 'true or false', help: 'BENCHMARKS ONLY: do not fsync (loses acknowledged writes on a crash)' },
  dockerIpamSocket: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 1 }, expected: 'a unix socket path', help: 'also serve the Docker remote IPAM driver here (src/docker), e.g. /run/docker/plugins/vnetd.sock', arg: 'PATH' },
  dockerIpamAgent: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 1, maxLength: 255 }, expected: 'an agent id', help: 'the vnetd agent id of this host, for the Docker IPAM driver', arg: 'ID' },
  advertiseHttp: { kind: 'nullable', schema: { type: ['string', 'null'], format: 'hostport' }, expected: 'HOST:PORT', help: 'HTTP address other members use (default: --http; needed when listening on 0.0.0.0)', arg: 'HOST:PORT' },
  advertiseDns: { kind: 'nullable', schema: { type: ['string', 'null'], format: 'hostport' }, expected: 'HOST:PORT', help: 'DNS address advertised to members (default: --dns)', arg: 'HOST:PORT' },
  advertiseRaft: { kind: 'nullable', schema: { type: ['string', 'null'], format: 'hostport' }, expected: 'HOST:PORT', help: 'Raft address peers connect to (default: --raft)', arg: 'HOST:PORT' },
  dockerIpamNetwork: { kind: 'nullable', schema: { type: ['string', 'null'], minLength: 1, maxLength: 13 }, expected: 'a network name', help: 'the Docker IPAM driver\'s network when a pool names none', arg: 'NAME' },
};

export const configKeys = Object.keys(fields) as ConfigKey[];

export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (key: string): string => `VNETD_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** A bad setting; `field` is a JSON pointer (`/http`), `source` says where it came from. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ajv = newAjv();
const validateLayer = ajv.compile({
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(configKeys.map((k) => [k, fields[k].schema])),
});

export type ConfigLayer = Partial<Record<ConfigKey, unknown>>;

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** Validates one source's settings; throws ConfigError naming the field, the expectation and the source. */
export function checkLayer(layer: ConfigLayer, source: string, fieldLabel: (key: string) => string = (k) => `/${k}`): void {
  if (validateLayer(layer)) return;
  const { field, problem } = firstError(validateLayer.errors);
  const key = field.split('/')[1] ?? '';
  const spec = (fields as Record<string, FieldSpec | undefined>)[key];
  if (spec === undefined) {
    throw new ConfigError(field, source, `config: ${fieldLabel(key)} is not a known setting (in ${source}); known: ${configKeys.join(', ')}`);
  }
  const sub = field === `/${key}` ? '' : ` (at ${field}: ${problem})`;
  const label = fieldLabel(key);
  throw new ConfigError(field, source, `config: ${label} must be ${spec.expected}, got ${describe(valueAt(layer, `/${key}`))}${sub} (in ${source})`);
}

// ---- strings (flags, environment) to values ---------------------------------------------------

const peerText = /^([^=]+)=([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

/** `ID=RAFT[/HTTP[/DNS]]`; a malformed item is kept as text so the schema reports it. */
export function parsePeer(text: string): PeerSpec | string {
  const m = peerText.exec(text.trim());
  if (m === null) return text;
  const [, id, raft, http, dns] = m;
  return { id: id!, raft: raft!, ...(http === undefined ? {} : { http }), ...(dns === undefined ? {} : { dns }) };
}

function fromText(kind: Kind, text: string): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'nullable':
      return text === '' ? null : text;
    case 'int':
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'bool': {
      const t = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      return text;
    }
    case 'list':
      return text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
    case 'peers':
      return text.trim() === '' ? [] : text.split(',').map(parsePeer);
    case 'network':
      if (text.trim() === 'none' || text.trim() === 'null') return null;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
  }
}

/** The settings given as VNETD_* variables (unknown VNETD_* names are returned for a warning). */
export function envLayer(env: NodeJS.ProcessEnv): { layer: ConfigLayer; unknown: string[] } {
  const layer: ConfigLayer = {};
  const known = new Map(configKeys.map((k) => [envName(k), k]));
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('VNETD_') || value === undefined) continue;
    const key = known.get(name);
    if (key === undefined) unknown.push(name);
    else layer[key] = fromText(fields[key].kind, value);
  }
  return { layer, unknown };
}

/** Settings from parsed flags (`node:util` parseArgs values, keyed by flag name). */
export function flagLayer(values: Readonly<Record<string, string | boolean | string[] | undefined>>): ConfigLayer {
  const layer: ConfigLayer = {};
  for (const key of configKeys) {
    const v = values[flagName(key)];
    if (v === undefined) continue;
    const spec = fields[key];
    if (typeof v === 'boolean') layer[key] = v;
    else if (Array.isArray(v)) layer[key] = spec.kind === 'list' || spec.kind === 'peers' ? v.flatMap((s) => fromText(spec.kind, s) as unknown[]) : fromText(spec.kind, v.at(-1) ?? '');
    else layer[key] = fromText(spec.kind, v);
  }
  if (values['no-default-network'] === true) layer.defaultNetwork = null;
  return layer;
}

/** The config file's settings (JSON object). */
export function fileLayer(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('', `file ${path}`, `config: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('', `file ${path}`, `config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('', `file ${path}`, `config: ${path} must hold a JSON object of settings, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  return parsed as ConfigLayer;
}

export interface ConfigSources {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly flags?: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Keys set by some source (not defaulted): a restarted node keeps its stored identity for the others. */
  readonly explicit: ReadonlySet<ConfigKey>;
  readonly warnings: readonly string[];
}

/** Merges file < environment < flags over the defaults, validating each source and then the whole. */
export function loadConfig(sources: ConfigSources): LoadedConfig {
  const layers: ConfigLayer[] = [];
  const warnings: string[] = [];
  if (sources.file !== undefined) {
    const file = fileLayer(sources.file);
    checkLayer(file, `file ${sources.file}`);
    layers.push(file);
  }
  if (sources.env !== undefined) {
    const { layer, unknown } = envLayer(sources.env);
    for (const name of unknown) if (name !== 'VNETD_URL' && name !== 'VNETD_TOKEN') warnings.push(`unknown environment variable ${name} ignored`);
    checkLayer(layer, 'the environment', envName);
    layers.push(layer);
  }
  if (sources.flags !== undefined) {
    const flags = flagLayer(sources.flags);
    checkLayer(flags, 'the command line', (k) => `--${flagName(k)}`);
    layers.push(flags);
  }
  const merged = Object.assign({}, defaults, ...layers) as Config;
  const explicit = new Set<ConfigKey>(layers.flatMap((l) => Object.keys(l) as ConfigKey[]));
  checkWhole(merged, explicit);
  return { config: merged, explicit, warnings };
}

/** Rules across fields, checked once the sources are merged. */
function checkWhole(c: Config, explicit: ReadonlySet<ConfigKey>): void {
  const fail = (key: ConfigKey, message: string): never => {
    throw new ConfigError(`/${key}`, 'the merged configuration', `config: /${key} ${message}`);
  };
  if (c.heartbeatTicks >= c.electionTicks) fail('heartbeatTicks', `must be below electionTicks (${c.electionTicks}), got ${c.heartbeatTicks}`);
  if (c.join !== null && c.peers.length > 0) fail('join', 'and peers exclude each other: peers bootstrap a new cluster, join enters a running one');
  if (explicit.has('role') && c.join === null) fail('role', 'only applies with join');
  if (c.clusterSecret !== null && c.clusterSecretFile !== null) fail('clusterSecret', 'and clusterSecretFile exclude each other');
  if (c.apiToken !== null && c.apiTokenFile !== null) fail('apiToken', 'and apiTokenFile exclude each other');
  if ((c.dockerIpamSocket === null) !== (c.dockerIpamAgent === null)) fail('dockerIpamAgent', 'and dockerIpamSocket go together: the driver serves one agent on one socket');
  const ids = new Set<string>();
  for (const [i, p] of c.peers.entries()) {
    if (ids.has(p.id)) fail('peers', `lists ${p.id} twice (item ${i})`);
    ids.add(p.id);
  }
  for (const key of ['http', 'dns', 'raft'] as const) if (!isHostPort(c[key])) fail(key, `must be HOST:PORT, got ${JSON.stringify(c[key])}`);
  for (const key of ['advertiseHttp', 'advertiseDns', 'advertiseRaft'] as const) {
    const a = c[key];
    if (a !== null && /^(0\.0\.0\.0|\[::\]):/.test(a)) fail(key, `must be an address others can reach, got ${a}`);
  }
}

/** The usage lines of every setting's flag, for `vnetd start --help`. */
export function flagUsage(): string[] {
  return configKeys.map((k) => {
    const spec = fields[k];
    const flag = `--${flagName(k)}${spec.arg === undefined ? '' : ` ${spec.arg}`}`;
    const def = JSON.stringify(defaults[k]);
    return `  ${flag.padEnd(34)} ${spec.help} [${envName(k)}; default ${def}]`;
  });
}

/** parseArgs option table for every setting's flag. */
export function flagOptions(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const k of configKeys) {
    const kind = fields[k].kind;
    out[flagName(k)] = kind === 'bool' ? { type: 'boolean' } : kind === 'list' || kind === 'peers' ? { type: 'string', multiple: true } : { type: 'string' };
  }
  out['no-default-network'] = { type: 'boolean' };
  return out;
}

/**
 * The configuration reference as a Markdown table (README.md "Configuration" holds it between
 * `<!-- config-table -->` markers; test/cli/readme.test.ts checks it is current). Generated from
 * the same field table as the schema, the flags and the environment names, so it cannot drift.
 */
export function configTableMarkdown(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = configKeys.map((k) => {
    const spec = fields[k];
    const flag = `\`--${flagName(k)}${spec.arg === undefined ? '' : ` ${spec.arg}`}\``;
    return `| \`${k}\` | ${cell(flag)} | \`${envName(k)}\` | \`${cell(JSON.stringify(defaults[k]))}\` | ${cell(spec.help)} |`;
  });
  return ['| config key | flag | environment | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
