// The CNI commands over vnetd's HTTP API (REFERENCE.md §2). `runPlugin` takes the environment and
// stdin and returns what to print and the exit status, so tests can drive it in-process; main.ts
// only wires it to the real process.
//
//   ADD    PUT /v1/tasks/<container id>%2F<ifname>, idempotent: a retried ADD gets the same address
//   DEL    DELETE /v1/tasks/<id>, idempotent: nothing to release is success
//   CHECK  GET /v1/tasks/<id>, compared with the config and prevResult
//   GC     (1.1.0) releases this network's CNI tasks on the agent that are not valid attachments
//   STATUS (1.1.0) vnetd reachable and the agent's pool has a free address

import { assertNever } from '../../raft/core/assert.js';
import type { Attachment, CniCommand, NetConfig } from './config.js';
import { decodeConfig, parseAttachment, parseCniArgs, parseCommand, parseNetConfig, taskIdOf } from './config.js';
import { CniError, fromVnetdError } from './errors.js';
import { resolveAgent, resolveToken, taskIdentity } from './identity.js';
import { cniLimits } from './limits.js';
import type { Allocation, CniVersion, FamilyAddress } from './versions.js';
import { addressesOf, formatResult, isSupportedVersion, newestVersion, supportedVersions, supportsCheck, supportsGcAndStatus } from './versions.js';
import type { VnetdAnswer } from './vnetd-client.js';
import { VnetdClient, VnetdUnreachable, isErrorBody } from './vnetd-client.js';

/** The label marking tasks this plugin made, valued with the CNI network name (GC finds them by it). */
export const cniNetworkLabel = 'vnetd-cni.network';

export interface PluginIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: string;
}

export interface PluginOutcome {
  readonly stdout: string;
  readonly exitCode: number;
}

/** The version errors are reported in when the config's own cannot be used. */
const fallbackErrorVersion = '1.0.0';

export async function runPlugin(io: PluginIo): Promise<PluginOutcome> {
  let version: string = fallbackErrorVersion;
  try {
    const command = parseCommand(io.env);
    if (command === 'VERSION') return { stdout: versionInfo(io.stdin), exitCode: 0 };
    const raw = decodeConfig(io.stdin);
    if (typeof raw['cniVersion'] === 'string' && isSupportedVersion(raw['cniVersion'])) version = raw['cniVersion'];
    const conf = parseNetConfig(raw);
    const out = await dispatch(command, conf, io.env);
    return { stdout: out === undefined ? '' : `${JSON.stringify(out)}\n`, exitCode: 0 };
  } catch (err) {
    const e = err instanceof CniError ? err : err instanceof VnetdUnreachable ? unreachable(err) : undefined;
    if (e === undefined) throw err; // a bug: main.ts reports it with code 199 (internal)
    return { stdout: `${JSON.stringify(e.toJson(version))}\n`, exitCode: 1 };
  }
}

function unreachable(err: VnetdUnreachable): CniError {
  return new CniError('tryAgainLater', err.message, 'is vnetd running, and is ipam.url its HTTP API address?');
}

/** VERSION: our versions, reported in the caller's version when it sent one we speak. */
function versionInfo(stdin: string): string {
  let asked: unknown;
  try {
    asked = stdin.trim() === '' ? undefined : (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
  } catch {
    asked = undefined;
  }
  const cniVersion = typeof asked === 'string' && isSupportedVersion(asked) ? asked : newestVersion;
  return `${JSON.stringify({ cniVersion, supportedVersions })}\n`;
}

async function clientFor(conf: NetConfig): Promise<VnetdClient> {
  const token = await resolveToken(conf.ipam.token);
  return new VnetdClient({ url: conf.ipam.url, ...(token === undefined ? {} : { token }) });
}

async function dispatch(command: Exclude<CniCommand, 'VERSION'>, conf: NetConfig, env: NodeJS.ProcessEnv): Promise<unknown> {
  switch (command) {
    case 'ADD':
      return add(conf, env, parseAttachment(env));
    case 'DEL':
      return del(conf, parseAttachment(env));
    case 'CHECK':
      requireVersion(conf.cniVersion, supportsCheck(conf.cniVersion), 'CHECK', '0.4.0');
      return check(conf, env, parseAttachment(env));
    case 'GC':
      requireVersion(conf.cniVersion, supportsGcAndStatus(conf.cniVersion), 'GC', '1.1.0');
      return gc(conf, env);
    case 'STATUS':
      requireVersion(conf.cniVersion, supportsGcAndStatus(conf.cniVersion), 'STATUS', '1.1.0');
      return status(conf, env);
    default:
      return assertNever(command);
  }
}

function requireVersion(v: CniVersion, ok: boolean, command: string, since: string): void {
  if (!ok) throw new CniError('incompatibleVersion', `${command} needs cniVersion ${since} or later, the config says ${v}`);
}

const taskPath = (id: string): string => `/v1/tasks/${encodeURIComponent(id)}`;

function failure(answer: VnetdAnswer, doing: string): CniError {
  if (isErrorBody(answer.body)) return fromVnetdError(answer.body, answer.status, doing);
  return new CniError('unexpectedAnswer', `vnetd answered HTTP ${answer.status} to ${doing} without an error body`, JSON.stringify(answer.body ?? null).slice(0, 200));
}

async function add(conf: NetConfig, env: NodeJS.ProcessEnv, at: Attachment): Promise<unknown> {
  const id = taskIdOf(at);
  const agent = await resolveAgent(conf.ipam.agent, env);
  const { name, framework } = taskIdentity(parseCniArgs(env), conf, at.containerId);
  const body = { name, framework, agent, network: conf.ipam.network, containerizer: conf.ipam.containerizer, labels: { [cniNetworkLabel]: conf.name } };
  const client = await clientFor(conf);
  const answer = await client.request('PUT', taskPath(id), body);
  if (answer.status === 200 || answer.status === 201) return formatResult(conf.cniVersion, allocationOf(answer.body, id));
  // A retried ADD whose CNI_ARGS changed (a new pod name, say) is a different body for the same
  // id: vnetd says conflict, but the container and its address are the same, so answer with them.
  if (isErrorBody(answer.body) && answer.body.error === 'conflict') {
    const held = await existingTask(client, id);
    if (held !== undefined && sameAttachment(held, conf, agent)) return formatResult(conf.cniVersion, allocationOf(held, id));
  }
  throw failure(answer, `allocate ${id} on network ${conf.ipam.network}, agent ${agent}`);
}

async function existingTask(client: VnetdClient, id: string): Promise<Record<string, unknown> | undefined> {
  const answer = await client.request('GET', taskPath(id));
  if (answer.status === 404) return undefined;
  if (answer.status !== 200 || typeof answer.body !== 'object' || answer.body === null) throw failure(answer, `read task ${id}`);
  return answer.body as Record<string, unknown>;
}

function sameAttachment(task: Record<string, unknown>, conf: NetConfig, agent: string): boolean {
  return task['agent'] === agent && task['network'] === conf.ipam.network && task['containerizer'] === conf.ipam.containerizer;
}

function family(task: Record<string, unknown>, ipKey: string, gwKey: string, lenKey: string): FamilyAddress | undefined {
  const ip = task[ipKey];
  if (ip === undefined) return undefined;
  const gateway = task[gwKey];
  const prefixLength = task[lenKey];
  if (typeof ip !== 'string' || typeof gateway !== 'string' || typeof prefixLength !== 'number') return undefined;
  return { ip, gateway, prefixLength };
}

/** The addresses of a task view (src/ipam/types.ts TaskView). */
export function allocationOf(view: unknown, id: string): Allocation {
  const task = (typeof view === 'object' && view !== null ? view : {}) as Record<string, unknown>;
  const ip4 = family(task, 'ip', 'gateway', 'prefixLength');
  const ip6 = family(task, 'ip6', 'gateway6', 'prefixLength6');
  if (ip4 === undefined && ip6 === undefined) {
    throw new CniError('unexpectedAnswer', `vnetd gave task ${id} no address with a gateway and prefix length`, JSON.stringify(view ?? null).slice(0, 300));
  }
  return { ...(ip4 === undefined ? {} : { ip4 }), ...(ip6 === undefined ? {} : { ip6 }) };
}

async function del(conf: NetConfig, at: Attachment): Promise<undefined> {
  const id = taskIdOf(at);
  const answer = await (await clientFor(conf)).request('DELETE', taskPath(id));
  if (answer.status === 204 || answer.status === 200 || answer.status === 404) return undefined;
  throw failure(answer, `release ${id}`);
}

async function check(conf: NetConfig, env: NodeJS.ProcessEnv, at: Attachment): Promise<undefined> {
  const id = taskIdOf(at);
  const agent = await resolveAgent(conf.ipam.agent, env);
  const task = await existingTask(await clientFor(conf), id);
  if (task === undefined) throw new CniError('noAllocation', `vnetd holds no allocation for ${id}`, `network ${conf.ipam.network}, agent ${agent}`);
  if (!sameAttachment(task, conf, agent)) {
    throw new CniError('mismatch', `vnetd's allocation for ${id} is on network ${String(task['network'])}, agent ${String(task['agent'])}, ${String(task['containerizer'])}; the config says ${conf.ipam.network}, ${agent}, ${conf.ipam.containerizer}`);
  }
  const held = Array.isArray(task['ips']) ? (task['ips'] as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  if (conf.prevResult !== undefined) {
    const prev = addressesOf(conf.prevResult);
    if (prev === undefined) throw new CniError('invalidConfig', 'prevResult lists no addresses in a known shape');
    const missing = held.filter((ip) => !prev.includes(ip));
    if (missing.length > 0) throw new CniError('mismatch', `prevResult lacks ${missing.join(', ')}, which vnetd holds for ${id}`, `prevResult has ${prev.join(', ') || 'none'}`);
  }
  return undefined;
}

async function gc(conf: NetConfig, env: NodeJS.ProcessEnv): Promise<undefined> {
  const agent = await resolveAgent(conf.ipam.agent, env);
  const client = await clientFor(conf);
  const query = `?agent=${encodeURIComponent(agent)}&network=${encodeURIComponent(conf.ipam.network)}&limit=${cniLimits.gcTasksMax}`;
  const answer = await client.request('GET', `/v1/tasks${query}`);
  const tasks = (answer.body as { tasks?: unknown } | undefined)?.tasks;
  if (answer.status !== 200 || !Array.isArray(tasks)) throw failure(answer, `list tasks of agent ${agent} on ${conf.ipam.network}`);
  const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerId}/${a.ifname}`));
  for (const task of tasks as Record<string, unknown>[]) {
    const labels = (task['labels'] ?? {}) as Record<string, unknown>;
    if (labels[cniNetworkLabel] !== conf.name || task['containerizer'] !== conf.ipam.containerizer) continue;
    const id = String(task['id']);
    if (valid.has(id)) continue;
    const released = await client.request('DELETE', taskPath(id));
    if (released.status !== 204 && released.status !== 404) throw failure(released, `release ${id}`);
  }
  return undefined;
}

async function status(conf: NetConfig, env: NodeJS.ProcessEnv): Promise<undefined> {
  const agent = await resolveAgent(conf.ipam.agent, env);
  let answer: VnetdAnswer;
  try {
    answer = await (await clientFor(conf)).request('GET', `/v1/networks/${encodeURIComponent(conf.ipam.network)}/usage`);
  } catch (err) {
    if (err instanceof VnetdUnreachable) throw new CniError('notAvailable', err.message);
    throw err;
  }
  if (answer.status !== 200) throw failure(answer, `read the usage of network ${conf.ipam.network}`);
  const agents = (answer.body as { agents?: unknown }).agents;
  const usage = Array.isArray(agents) ? (agents as Record<string, unknown>[]).find((a) => a['agent'] === agent) : undefined;
  if (usage === undefined) throw new CniError('notAvailable', `agent ${agent} has no block in network ${conf.ipam.network}`);
  const pool = (usage[conf.ipam.containerizer] ?? usage['shared']) as { capacity?: number; used?: number; free?: number } | undefined;
  if (pool !== undefined && pool.free === 0) {
    throw new CniError('notAvailable', `no free address: network ${conf.ipam.network} on agent ${agent} (${conf.ipam.containerizer} pool) has capacity ${pool.capacity} and ${pool.used} used`);
  }
  return undefined;
}
