// The thin-client subcommands of `vnetd` (DESIGN.md §3, issue 6): status, net, agent, task,
// member and leader, each one or two HTTP calls, printed as a human table or, with --json, as the
// API's JSON. Every command takes --url (default $VNETD_URL or http://127.0.0.1:62080) and
// --token (default $VNETD_TOKEN).

import { parseArgs } from 'node:util';
import type { ClientOptions } from './client.js';
import { request } from './client.js';

export const defaultUrl = 'http://127.0.0.1:62080';

type Values = Record<string, string | boolean | string[] | undefined>;
type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

const common: Options = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } };

export class UsageError extends Error {}

function parse(args: readonly string[], options: Options, positionals: readonly string[]): { values: Values; pos: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...common, ...options }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== positionals.length) {
    throw new UsageError(`expected ${positionals.length === 0 ? 'no arguments' : positionals.join(' ')}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}`);
  }
  return { values: parsed.values as Values, pos: parsed.positionals };
}

function client(v: Values): ClientOptions {
  const url = (v['url'] as string | undefined) ?? process.env['VNETD_URL'] ?? defaultUrl;
  const token = (v['token'] as string | undefined) ?? process.env['VNETD_TOKEN'] ?? null;
  return { url, token };
}

const str = (v: Values, k: string): string | undefined => v[k] as string | undefined;

function intOf(v: Values, k: string): number | undefined {
  const s = str(v, k);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new UsageError(`--${k} must be an integer, got ${JSON.stringify(s)}`);
  return Number(s);
}

/** Columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** A utilisation bar: `[#####.....]`. */
export function bar(used: number, capacity: number, width = 30): string {
  const filled = capacity === 0 ? 0 : Math.min(width, Math.round((used / capacity) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

const out = (s: string): void => void process.stdout.write(s);
const json = (x: unknown): void => out(JSON.stringify(x, null, 2) + '\n');

interface Member {
  id: string; role: string; raft: string | null; http: string | null; dns: string | null;
  matchIndex: number | null; lag: number | null; reachable: boolean;
}
interface Cluster { id: string; state: string; leader: string | null; term: number; commitIndex: number; appliedIndex: number; members: Member[] }

/** Each member's own view (term, indexes), asked in parallel; null when it does not answer. */
async function memberViews(c: ClientOptions, members: readonly Member[]): Promise<Map<string, Cluster | null>> {
  const views = await Promise.all(members.map(async (m) => {
    if (m.http === null) return [m.id, null] as const;
    const view = await request<Cluster>({ ...c, url: `http://${m.http}`, timeoutMs: statusMemberTimeoutMs }, 'GET', '/v1/cluster').catch(() => null);
    return [m.id, view] as const;
  }));
  return new Map(views);
}

const statusMemberTimeoutMs = 2_000;

async function status(args: readonly string[]): Promise<void> {
  const { values } = parse(args, {}, []);
  const c = client(values);
  let cluster = await request<Cluster>(c, 'GET', '/v1/cluster');
  // Match indexes and lag are known to the leader only: ask it when we asked someone else.
  const leaderHttp = cluster.members.find((m) => m.id === cluster.leader)?.http;
  if (cluster.state !== 'leader' && leaderHttp) {
    cluster = await request<Cluster>({ ...c, url: `http://${leaderHttp}` }, 'GET', '/v1/cluster').catch(() => cluster);
  }
  const views = await memberViews(c, cluster.members);
  if (values['json'] === true) {
    return json({ ...cluster, members: cluster.members.map((m) => {
      const v = views.get(m.id);
      return { ...m, state: v?.state ?? null, term: v?.term ?? null, commitIndex: v?.commitIndex ?? null, appliedIndex: v?.appliedIndex ?? null };
    }) });
  }
  out(`leader ${cluster.leader ?? '(none)'}  term ${cluster.term}  commit ${cluster.commitIndex}  applied ${cluster.appliedIndex}  (as seen by ${cluster.id})\n\n`);
  out(table(
    ['ID', 'ROLE', 'STATE', 'RAFT', 'HTTP', 'DNS', 'TERM', 'COMMIT', 'APPLIED', 'MATCH', 'LAG', 'REACHABLE'],
    cluster.members.map((m) => {
      const v = views.get(m.id);
      const state = v === null || v === undefined ? 'DOWN' : v.state === 'leader' ? 'leader *' : v.state;
      return [m.id, m.role, state, m.raft, m.http, m.dns, v?.term, v?.commitIndex, v?.appliedIndex, m.matchIndex, m.lag, m.reachable ? 'yes' : 'NO'];
    }),
  ));
}

interface Network { name: string; subnet?: string; prefix?: number; subnet6?: string; prefix6?: number; split: string; enabled: boolean }
interface PoolUsage { capacity: number; used: number; free: number }
interface Usage { network: string; capacity: number; used: number; free: number; agents: ({ agent: string } & Record<string, PoolUsage | string>)[] }

async function net(sub: string | undefined, args: readonly string[]): Promise<void> {
  switch (sub) {
    case 'create': {
      const { values, pos } = parse(args, { subnet: { type: 'string' }, prefix: { type: 'string' }, subnet6: { type: 'string' }, prefix6: { type: 'string' }, split: { type: 'string' }, disabled: { type: 'boolean' } }, ['NAME']);
      const body: Record<string, unknown> = { name: pos[0] };
      for (const k of ['subnet', 'subnet6', 'split']) if (str(values, k) !== undefined) body[k] = str(values, k);
      for (const k of ['prefix', 'prefix6']) if (intOf(values, k) !== undefined) body[k] = intOf(values, k);
      if (values['disabled'] === true) body['enabled'] = false;
      const n = await request<Network>(client(values), 'POST', '/v1/networks', body);
      return values['json'] === true ? json(n) : out(`created network ${n.name}\n`);
    }
    case 'ls': {
      const { values } = parse(args, {}, []);
      const r = await request<{ networks: Network[] }>(client(values), 'GET', '/v1/networks');
      if (values['json'] === true) return json(r);
      return out(table(['NAME', 'SUBNET', 'PREFIX', 'SUBNET6', 'PREFIX6', 'SPLIT', 'ENABLED'], r.networks.map((n) => [n.name, n.subnet, n.prefix, n.subnet6, n.prefix6, n.split, n.enabled])));
    }
    case 'rm': {
      const { values, pos } = parse(args, { force: { type: 'boolean' } }, ['NAME']);
      const r = await request<{ releasedTasks: number }>(client(values), 'DELETE', `/v1/networks/${encodeURIComponent(pos[0]!)}${values['force'] === true ? '?force=true' : ''}`);
      return values['json'] === true ? json(r) : out(`deleted network ${pos[0]} (released ${r.releasedTasks} tasks)\n`);
    }
    case 'enable':
    case 'disable': {
      const { values, pos } = parse(args, {}, ['NAME']);
      const n = await request<Network>(client(values), 'PATCH', `/v1/networks/${encodeURIComponent(pos[0]!)}`, { enabled: sub === 'enable' });
      return values['json'] === true ? json(n) : out(`network ${n.name} ${n.enabled ? 'enabled' : 'disabled'}\n`);
    }
    case 'usage': {
      const { values, pos } = parse(args, {}, ['NAME']);
      const u = await request<Usage>(client(values), 'GET', `/v1/networks/${encodeURIComponent(pos[0]!)}/usage`);
      return values['json'] === true ? json(u) : out(usageText(u));
    }
    default:
      throw new UsageError(`vnetd net create|ls|rm|enable|disable|usage, got ${JSON.stringify(sub ?? '')}`);
  }
}

export function usageText(u: Usage): string {
  const pct = (used: number, cap: number): string => (cap === 0 ? '-' : `${Math.round((used / cap) * 100)}%`);
  const rows: unknown[][] = [];
  for (const a of u.agents) {
    for (const pool of ['mesos', 'docker', 'shared']) {
      const p = a[pool];
      if (p === undefined || typeof p === 'string') continue;
      rows.push([a.agent, pool, bar(p.used, p.capacity), `${p.used}/${p.capacity}`, pct(p.used, p.capacity)]);
    }
  }
  return `network ${u.network}: ${u.used}/${u.capacity} addresses used (${pct(u.used, u.capacity)}), ${u.free} free\n\n` +
    table(['AGENT', 'POOL', 'USAGE', 'USED', '%'], rows);
}

interface Agent { id: string; ip: string; ip6?: string; vtepIp: string; vtepMac: string; blocks: { network: string; subnet?: string; subnet6?: string }[]; unallocated: string[] }

async function agent(sub: string | undefined, args: readonly string[]): Promise<void> {
  switch (sub) {
    case 'register': {
      const { values, pos } = parse(args, { ip: { type: 'string' }, ip6: { type: 'string' } }, ['ID']);
      if (str(values, 'ip') === undefined) throw new UsageError('--ip is required');
      const body = { ip: str(values, 'ip'), ...(str(values, 'ip6') === undefined ? {} : { ip6: str(values, 'ip6') }) };
      const a = await request<Agent>(client(values), 'PUT', `/v1/agents/${encodeURIComponent(pos[0]!)}`, body);
      if (values['json'] === true) return json(a);
      out(`agent ${a.id}: vtep ${a.vtepIp} ${a.vtepMac}\n`);
      return out(table(['NETWORK', 'SUBNET', 'SUBNET6'], [...a.blocks.map((b) => [b.network, b.subnet, b.subnet6]), ...a.unallocated.map((n) => [n, 'NO FREE BLOCK', ''])]));
    }
    case 'ls': {
      const { values } = parse(args, {}, []);
      const r = await request<{ agents: Agent[] }>(client(values), 'GET', '/v1/agents');
      if (values['json'] === true) return json(r);
      return out(table(['ID', 'IP', 'IP6', 'VTEP', 'BLOCKS'], r.agents.map((a) => [a.id, a.ip, a.ip6, a.vtepIp, a.blocks.map((b) => `${b.network}:${b.subnet ?? b.subnet6}`).join(' ')])));
    }
    case 'rm': {
      const { values, pos } = parse(args, { force: { type: 'boolean' } }, ['ID']);
      const r = await request<{ releasedTasks: number }>(client(values), 'DELETE', `/v1/agents/${encodeURIComponent(pos[0]!)}${values['force'] === true ? '?force=true' : ''}`);
      return values['json'] === true ? json(r) : out(`deleted agent ${pos[0]} (released ${r.releasedTasks} tasks)\n`);
    }
    default:
      throw new UsageError(`vnetd agent register|ls|rm, got ${JSON.stringify(sub ?? '')}`);
  }
}

/** `tcp:80`, `udp:53:5353`, `tcp:80:8080:http` = protocol:containerPort[:hostPort[:name]]. */
export function parsePort(text: string): Record<string, unknown> {
  const m = /^(tcp|udp):(\d+)(?::(\d*))?(?::(.+))?$/.exec(text);
  if (m === null) throw new UsageError(`--port must be PROTO:CONTAINER_PORT[:HOST_PORT[:NAME]], got ${JSON.stringify(text)}`);
  return { protocol: m[1], containerPort: Number(m[2]), ...(m[3] ? { hostPort: Number(m[3]) } : {}), ...(m[4] ? { name: m[4] } : {}) };
}

interface Task { id: string; name: string; framework: string; agent: string; network?: string; containerizer: string; ips: string[]; dns?: Record<string, string> }

async function task(sub: string | undefined, args: readonly string[]): Promise<void> {
  switch (sub) {
    case 'alloc': {
      const { values, pos } = parse(args, {
        name: { type: 'string' }, framework: { type: 'string' }, agent: { type: 'string' }, network: { type: 'string' },
        containerizer: { type: 'string' }, port: { type: 'string', multiple: true }, label: { type: 'string', multiple: true },
      }, ['ID']);
      for (const k of ['name', 'framework', 'agent']) if (str(values, k) === undefined) throw new UsageError(`--${k} is required`);
      const labels = Object.fromEntries(((values['label'] as string[] | undefined) ?? []).map((l) => {
        const eq = l.indexOf('=');
        if (eq < 1) throw new UsageError(`--label must be KEY=VALUE, got ${JSON.stringify(l)}`);
        return [l.slice(0, eq), l.slice(eq + 1)];
      }));
      const body: Record<string, unknown> = { name: str(values, 'name'), framework: str(values, 'framework'), agent: str(values, 'agent') };
      for (const k of ['network', 'containerizer']) if (str(values, k) !== undefined) body[k] = str(values, k);
      const ports = ((values['port'] as string[] | undefined) ?? []).map(parsePort);
      if (ports.length > 0) body['ports'] = ports;
      if (Object.keys(labels).length > 0) body['labels'] = labels;
      const t = await request<Task>(client(values), 'PUT', `/v1/tasks/${encodeURIComponent(pos[0]!)}`, body);
      return values['json'] === true ? json(t) : out(`task ${t.id}: ${t.ips.length === 0 ? 'host network' : t.ips.join(' ')}${t.dns ? `  ${t.dns['autoip']}` : ''}\n`);
    }
    case 'ls': {
      const { values } = parse(args, { agent: { type: 'string' }, network: { type: 'string' }, framework: { type: 'string' } }, []);
      const q = new URLSearchParams();
      for (const k of ['agent', 'network', 'framework']) if (str(values, k) !== undefined) q.set(k, str(values, k)!);
      const r = await request<{ tasks: Task[]; truncated: boolean }>(client(values), 'GET', `/v1/tasks${q.size > 0 ? `?${q}` : ''}`);
      if (values['json'] === true) return json(r);
      out(table(['ID', 'NAME', 'FRAMEWORK', 'AGENT', 'NETWORK', 'IPS'], r.tasks.map((t) => [t.id, t.name, t.framework, t.agent, t.network ?? 'host', t.ips.join(' ')])));
      return r.truncated ? out('(truncated)\n') : undefined;
    }
    case 'rm': {
      const { values, pos } = parse(args, {}, ['ID']);
      await request(client(values), 'DELETE', `/v1/tasks/${encodeURIComponent(pos[0]!)}`);
      return values['json'] === true ? json({ id: pos[0], released: true }) : out(`released task ${pos[0]}\n`);
    }
    default:
      throw new UsageError(`vnetd task alloc|ls|rm, got ${JSON.stringify(sub ?? '')}`);
  }
}

async function member(sub: string | undefined, args: readonly string[]): Promise<void> {
  switch (sub) {
    case 'add': {
      const { values, pos } = parse(args, { raft: { type: 'string' }, http: { type: 'string' }, dns: { type: 'string' }, role: { type: 'string' } }, ['ID']);
      for (const k of ['raft', 'http', 'dns']) if (str(values, k) === undefined) throw new UsageError(`--${k} is required`);
      const r = await request(client(values), 'POST', '/v1/cluster/members', { id: pos[0], raft: str(values, 'raft'), http: str(values, 'http'), dns: str(values, 'dns'), ...(str(values, 'role') === undefined ? {} : { role: str(values, 'role') }) });
      return json(r);
    }
    case 'remove':
    case 'rm': {
      const { values, pos } = parse(args, {}, ['ID']);
      const r = await request(client(values), 'DELETE', `/v1/cluster/members/${encodeURIComponent(pos[0]!)}`);
      return values['json'] === true ? json(r) : out(`removed member ${pos[0]}\n`);
    }
    default:
      throw new UsageError(`vnetd member add|remove, got ${JSON.stringify(sub ?? '')}`);
  }
}

async function leader(sub: string | undefined, args: readonly string[]): Promise<void> {
  if (sub !== 'transfer') throw new UsageError(`vnetd leader transfer ID, got ${JSON.stringify(sub ?? '')}`);
  const { values, pos } = parse(args, {}, ['ID']);
  const r = await request<{ leader: string }>(client(values), 'POST', '/v1/cluster/leadership', { to: pos[0] });
  return values['json'] === true ? json(r) : out(`leader is now ${r.leader}\n`);
}

/** Runs a client subcommand; false when `command` is not one. */
export async function runClientCommand(command: string, args: readonly string[]): Promise<boolean> {
  const [sub, ...rest] = args;
  switch (command) {
    case 'status':
      await status(args);
      return true;
    case 'net':
      await net(sub, rest);
      return true;
    case 'agent':
      await agent(sub, rest);
      return true;
    case 'task':
      await task(sub, rest);
      return true;
    case 'member':
      await member(sub, rest);
      return true;
    case 'leader':
      await leader(sub, rest);
      return true;
    default:
      return false;
  }
}

export const clientUsage = `
Client commands (any member; --url URL [default $VNETD_URL or ${defaultUrl}], --token TOKEN
[default $VNETD_TOKEN], --json for the API's JSON):
  vnetd status                                  members, roles, leader, term, indexes, lag
  vnetd net create NAME --subnet CIDR --prefix N [--subnet6 CIDR --prefix6 N] [--split shared] [--disabled]
  vnetd net ls | rm NAME [--force] | enable NAME | disable NAME | usage NAME
  vnetd agent register ID --ip IP [--ip6 IP6] | ls | rm ID [--force]
  vnetd task alloc ID --name N --framework F --agent A [--network NET] [--containerizer mesos|docker]
             [--port PROTO:CPORT[:HPORT[:NAME]]]... [--label K=V]...
  vnetd task ls [--agent A] [--network NET] [--framework F] | rm ID
  vnetd member add ID --raft H:P --http H:P --dns H:P [--role voter|learner] | remove ID
  vnetd leader transfer ID
`;
