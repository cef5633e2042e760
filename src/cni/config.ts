// Parsing what a runtime hands the plugin: the CNI_* environment and the network config on stdin
// (REFERENCE.md §2). Everything is checked here, at the edge, and turned into plain typed values;
// a problem becomes a CniError with the spec's code (4 environment, 6 decode, 1 version, 7 config,
// 2 unknown field) naming the variable or field and what would be right.

import { assert } from '../../raft/core/assert.js';
import { CniError } from './errors.js';
import { cniLimits } from './limits.js';
import type { CniVersion } from './versions.js';
import { isSupportedVersion, supportedVersions } from './versions.js';

export const commands = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type CniCommand = (typeof commands)[number];
export type Containerizer = 'mesos' | 'docker';

/** Where the agent id comes from: the config itself, an environment variable, or a file. */
export type AgentSource =
  | { readonly kind: 'literal'; readonly id: string }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'file'; readonly path: string };

/** The bearer token for a vnetd started with `--api-token`: given inline or read from a file. */
export type TokenSource = { readonly kind: 'literal'; readonly token: string } | { readonly kind: 'file'; readonly path: string };

export interface IpamConfig {
  readonly url: string;
  readonly token?: TokenSource;
  readonly network: string;
  readonly agent?: AgentSource;
  readonly containerizer: Containerizer;
}

export interface NetConfig {
  readonly cniVersion: CniVersion;
  /** The network config's `name` (the CNI network, e.g. `dcos`). */
  readonly name: string;
  readonly ipam: IpamConfig;
  /** Mesos `args.org.apache.mesos.network_info.labels.labels` as key → value. */
  readonly mesosLabels: Readonly<Record<string, string>>;
  readonly prevResult?: unknown;
  /** GC (1.1.0): `cni.dev/valid-attachments`. */
  readonly validAttachments?: readonly { readonly containerId: string; readonly ifname: string }[];
}

/** The vnetd URL when the config names none (DESIGN.md §3 default HTTP address). */
export const defaultUrl = 'http://127.0.0.1:62080';
const ipamKeys = ['type', 'url', 'token', 'tokenFile', 'network', 'agent', 'agentEnv', 'agentFile', 'containerizer'] as const;
/** vnetd task ids: visible ASCII (src/ipam/validate.ts taskIdPattern). */
export const idPattern = /^[\x21-\x7e]+$/;
/** CNI SPEC "Parameters": container ids are alphanumerics then `_`, `.`, `-`. */
const containerIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const networkNamePattern = /^[a-z0-9]([a-z0-9-]{0,11}[a-z0-9])?$/;

export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const c = env['CNI_COMMAND'];
  if (c === undefined || c === '') throw new CniError('invalidEnvironment', 'CNI_COMMAND is not set', `expected one of ${commands.join(', ')}`);
  if (!(commands as readonly string[]).includes(c)) throw new CniError('invalidEnvironment', `CNI_COMMAND ${JSON.stringify(c)} is not a CNI command`, `expected one of ${commands.join(', ')}`);
  return c as CniCommand;
}

export interface Attachment {
  readonly containerId: string;
  readonly ifname: string;
}

/** CNI_CONTAINERID and CNI_IFNAME, required by ADD, DEL and CHECK. */
export function parseAttachment(env: NodeJS.ProcessEnv): Attachment {
  const containerId = env['CNI_CONTAINERID'] ?? '';
  const ifname = env['CNI_IFNAME'] ?? '';
  if (containerId === '') throw new CniError('invalidEnvironment', 'CNI_CONTAINERID is not set');
  if (!containerIdPattern.test(containerId)) {
    throw new CniError('invalidEnvironment', `CNI_CONTAINERID ${JSON.stringify(containerId)} is not a container id`, 'expected an alphanumeric start, then letters, digits, "_", "." or "-"');
  }
  if (ifname === '') throw new CniError('invalidEnvironment', 'CNI_IFNAME is not set');
  if (ifname.length > 15 || ifname === '.' || ifname === '..' || /[/:\s]/.test(ifname)) {
    throw new CniError('invalidEnvironment', `CNI_IFNAME ${JSON.stringify(ifname)} is not an interface name`, 'expected at most 15 characters, no "/", ":" or whitespace, not "." or ".."');
  }
  return { containerId, ifname };
}

/**
 * The vnetd task id of an attachment: `<container id>/<ifname>` (issue 8). A container id may not
 * contain "/" (checked above) and an interface name never does, so the pair is recoverable from
 * the id and two attachments never share one. Clients percent-encode it as one path segment.
 */
export function taskIdOf(a: Attachment): string {
  const id = `${a.containerId}/${a.ifname}`;
  assert(idPattern.test(id), `task id ${JSON.stringify(id)} built from a checked attachment is not a vnetd id`);
  if (id.length > cniLimits.taskIdCharsMax) {
    throw new CniError('invalidEnvironment', `CNI_CONTAINERID is too long: the task id ${id.slice(0, 40)}... has ${id.length} characters`, `vnetd task ids are at most ${cniLimits.taskIdCharsMax}`);
  }
  return id;
}

/** CNI_ARGS: `K=V;K=V` (keys the plugin does not use are ignored, as IgnoreUnknown says). */
export function parseCniArgs(env: NodeJS.ProcessEnv): Map<string, string> {
  const raw = env['CNI_ARGS'] ?? '';
  const out = new Map<string, string>();
  if (raw === '') return out;
  const pairs = raw.split(';');
  if (pairs.length > cniLimits.argsPairsMax) throw new CniError('invalidEnvironment', `CNI_ARGS has ${pairs.length} pairs, at most ${cniLimits.argsPairsMax} are accepted`);
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError('invalidEnvironment', `CNI_ARGS item ${JSON.stringify(pair)} is not KEY=VALUE`, `CNI_ARGS=${raw}`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** Decodes stdin as a JSON object (code 6 otherwise). */
export function decodeConfig(stdin: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (err) {
    throw new CniError('decodeFailure', 'the network config on stdin is not JSON', (err as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CniError('decodeFailure', 'the network config on stdin is not a JSON object');
  return parsed as Record<string, unknown>;
}

/** The config's cniVersion, checked against the versions we speak (code 1 when foreign). */
export function versionOf(conf: Record<string, unknown>): CniVersion {
  const v = conf['cniVersion'];
  if (typeof v !== 'string' || v === '') throw new CniError('invalidConfig', 'cniVersion is required in the network config', `got ${JSON.stringify(v)}`);
  if (!isSupportedVersion(v)) throw new CniError('incompatibleVersion', `cniVersion ${v} is not supported`, `supported: ${supportedVersions.join(', ')}`);
  return v;
}

function optionalString(ipam: Record<string, unknown>, key: string): string | undefined {
  const v = ipam[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new CniError('invalidConfig', `ipam.${key} must be a non-empty string`, `got ${JSON.stringify(v)}`);
  return v;
}

function parseUrl(raw: string | undefined): string {
  const url = raw ?? defaultUrl;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CniError('invalidConfig', `ipam.url ${JSON.stringify(url)} is not a URL`, 'expected e.g. http://127.0.0.1:62080');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CniError('invalidConfig', `ipam.url ${JSON.stringify(url)} is not http:// or https://`);
  return url;
}

function parseAgentSource(ipam: Record<string, unknown>): AgentSource | undefined {
  const given = (['agent', 'agentEnv', 'agentFile'] as const).filter((k) => ipam[k] !== undefined);
  if (given.length > 1) throw new CniError('invalidConfig', `ipam.${given.join(' and ipam.')} exclude each other`, 'give the agent id one way');
  const id = optionalString(ipam, 'agent');
  if (id !== undefined) return { kind: 'literal', id: checkAgentId(id, 'ipam.agent') };
  const variable = optionalString(ipam, 'agentEnv');
  if (variable !== undefined) return { kind: 'env', variable };
  const path = optionalString(ipam, 'agentFile');
  return path === undefined ? undefined : { kind: 'file', path };
}

export function checkAgentId(id: string, where: string): string {
  if (id.length > cniLimits.taskIdCharsMax || !idPattern.test(id)) {
    throw new CniError('invalidConfig', `${where} ${JSON.stringify(id.slice(0, 80))} is not a vnetd agent id`, `expected 1..${cniLimits.taskIdCharsMax} visible ASCII characters without spaces or "/"`);
  }
  return id;
}

function parseContainerizer(ipam: Record<string, unknown>): Containerizer {
  const c = ipam['containerizer'] ?? 'mesos';
  if (c !== 'mesos' && c !== 'docker') throw new CniError('invalidConfig', `ipam.containerizer must be "mesos" or "docker"`, `got ${JSON.stringify(c)}`);
  return c;
}

/** The `ipam` section. `network` defaults to the network config's name; `url` to vnetd's default. */
export function parseIpam(conf: Record<string, unknown>, netName: string): IpamConfig {
  const ipam = conf['ipam'];
  if (typeof ipam !== 'object' || ipam === null || Array.isArray(ipam)) throw new CniError('invalidConfig', 'the network config has no "ipam" object');
  const section = ipam as Record<string, unknown>;
  for (const key of Object.keys(section)) {
    if (!(ipamKeys as readonly string[]).includes(key)) {
      throw new CniError('unsupportedField', `ipam.${key} is not a vnetd-cni setting (value ${JSON.stringify(section[key])?.slice(0, 80)})`, `known: ${ipamKeys.join(', ')}`);
    }
  }
  const network = optionalString(section, 'network') ?? netName;
  if (!networkNamePattern.test(network)) {
    throw new CniError('invalidConfig', `ipam.network ${JSON.stringify(network)} is not a vnetd network name`, 'expected 1..13 of [a-z0-9-], not starting or ending with "-" (set ipam.network when the CNI network name differs)');
  }
  if (section['token'] !== undefined && section['tokenFile'] !== undefined) throw new CniError('invalidConfig', 'ipam.token and ipam.tokenFile exclude each other');
  const token = optionalString(section, 'token');
  const tokenFile = optionalString(section, 'tokenFile');
  const agent = parseAgentSource(section);
  return {
    url: parseUrl(optionalString(section, 'url')),
    network,
    containerizer: parseContainerizer(section),
    ...(token === undefined ? {} : { token: { kind: 'literal', token } }),
    ...(tokenFile === undefined ? {} : { token: { kind: 'file', path: tokenFile } }),
    ...(agent === undefined ? {} : { agent }),
  };
}

/** Mesos's `args.org.apache.mesos.network_info.labels.labels` (REFERENCE.md §2) as key → value. */
export function mesosLabelsOf(conf: Record<string, unknown>): Record<string, string> {
  const args = conf['args'] as { 'org.apache.mesos'?: { network_info?: { labels?: { labels?: unknown } } } } | undefined;
  const list = typeof args === 'object' && args !== null ? args['org.apache.mesos']?.network_info?.labels?.labels : undefined;
  const out: Record<string, string> = {};
  if (list === undefined) return out;
  if (!Array.isArray(list)) throw new CniError('invalidConfig', 'args.org.apache.mesos.network_info.labels.labels must be a list of {key, value}');
  for (const item of list as unknown[]) {
    const { key, value } = (item ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string') throw new CniError('invalidConfig', `a Mesos network_info label has no string key: ${JSON.stringify(item)?.slice(0, 80)}`);
    if (value !== undefined && typeof value !== 'string') throw new CniError('invalidConfig', `Mesos network_info label ${key} has a value that is not a string`);
    out[key] = value ?? '';
  }
  return out;
}

/** GC's `cni.dev/valid-attachments` (CNI 1.1.0): the attachments the runtime still uses. */
function validAttachmentsOf(conf: Record<string, unknown>): Attachment[] | undefined {
  const list = conf['cni.dev/valid-attachments'];
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new CniError('invalidConfig', 'cni.dev/valid-attachments must be a list of {containerID, ifname}');
  return (list as unknown[]).map((item) => {
    const { containerID, ifname } = (item ?? {}) as { containerID?: unknown; ifname?: unknown };
    if (typeof containerID !== 'string' || typeof ifname !== 'string') {
      throw new CniError('invalidConfig', `a cni.dev/valid-attachments item is not {containerID, ifname}: ${JSON.stringify(item)?.slice(0, 80)}`);
    }
    return { containerId: containerID, ifname };
  });
}

/** The whole network config: version, name, ipam section, Mesos labels, prevResult, GC list. */
export function parseNetConfig(conf: Record<string, unknown>): NetConfig {
  const cniVersion = versionOf(conf);
  const name = conf['name'];
  if (typeof name !== 'string' || name === '') throw new CniError('invalidConfig', 'the network config has no "name"', `got ${JSON.stringify(name)}`);
  const valid = validAttachmentsOf(conf);
  return {
    cniVersion,
    name,
    ipam: parseIpam(conf, name),
    mesosLabels: mesosLabelsOf(conf),
    ...(conf['prevResult'] === undefined ? {} : { prevResult: conf['prevResult'] }),
    ...(valid === undefined ? {} : { validAttachments: valid }),
  };
}
