// The checks run on a finished history and the settled final state (DESIGN.md §4):
// linearizability per task and per agent, no IP held by two tasks in any consistent read or the
// final state, every acknowledged allocation present (or released afterwards), and every task's
// IP inside its agent's block. Each returns human-readable violation lines; pure functions.

import type { HistoryOp } from './history.js';
import { checkPartitioned } from './linearizability.js';
import type { Operation } from './linearizability.js';
import { agentModel, taskModel } from './models.js';
import type { AgentInput, AgentOutput, TaskInput, TaskOutput } from './models.js';

/** A node's final state as read after the cluster settled. */
export interface FinalState {
  readonly tasks: readonly { id: string; ip?: string; agent: string; network?: string; framework: string }[];
  readonly agents: readonly { id: string; blocks: readonly { network: string; pools: readonly { cidr?: string }[] }[] }[];
}

export interface LinearizabilityReport {
  readonly violations: string[];
  readonly unknownKeys: string[];
  readonly partitions: number;
}

const retOf = (op: HistoryOp): number => op.ret ?? Infinity;

/** The task operations, with every consistent list read split into one read per task id. */
export function taskOperations(ops: readonly HistoryOp[], taskIds: readonly string[]): (Operation<TaskInput, TaskOutput> & { key: string })[] {
  const out: (Operation<TaskInput, TaskOutput> & { key: string })[] = [];
  for (const op of ops) {
    if (op.kind === 'task') {
      if (op.f === 'read' && op.outcome.kind !== 'ok') continue; // a failed read observed nothing
      out.push({ key: op.key, client: op.client, input: { f: op.f }, output: op.outcome as TaskOutput, call: op.call, ret: retOf(op) });
    } else if (op.kind === 'list' && op.outcome.kind === 'ok') {
      const held = new Map(op.outcome.value as [string, string | null][]);
      for (const id of taskIds) {
        out.push({ key: id, client: op.client, input: { f: 'read' }, output: { kind: 'ok', value: held.get(id) ?? null }, call: op.call, ret: retOf(op) });
      }
    }
  }
  return out;
}

export function agentOperations(ops: readonly HistoryOp[]): (Operation<AgentInput, AgentOutput> & { key: string })[] {
  const out: (Operation<AgentInput, AgentOutput> & { key: string })[] = [];
  for (const op of ops) {
    if (op.kind !== 'agent') continue;
    if (op.f === 'read' && op.outcome.kind !== 'ok') continue;
    out.push({ key: op.key, client: op.client, input: { f: op.f }, output: op.outcome as AgentOutput, call: op.call, ret: retOf(op) });
  }
  return out;
}

function describe(op: { client: number; input: { f: string }; output: unknown; call: number; ret: number }): string {
  return `c${op.client} ${op.input.f} ${JSON.stringify(op.output)} [${op.call.toFixed(0)}, ${Number.isFinite(op.ret) ? op.ret.toFixed(0) : '∞'}]`;
}

/** Wing–Gong per task id and per agent id. */
export function checkLinearizable(ops: readonly HistoryOp[], taskIds: readonly string[]): LinearizabilityReport {
  const violations: string[] = [];
  const unknownKeys: string[] = [];
  const tasks = taskOperations(ops, taskIds);
  const agents = agentOperations(ops);
  const report = <I extends { f: string }, O>(kind: string, list: (Operation<I, O> & { key: string })[], results: Map<string, { verdict: string; longestPrefix: readonly number[] }>): void => {
    for (const [key, r] of results) {
      if (r.verdict === 'unknown') unknownKeys.push(`${kind} ${key}`);
      if (r.verdict !== 'violation') continue;
      const mine = list.filter((o) => o.key === key);
      const done = new Set(r.longestPrefix);
      const stuck = mine.filter((_, i) => !done.has(i)).slice(0, 3).map(describe);
      violations.push(`not linearizable: ${kind} ${key} (${mine.length} ops; first ops that fit no order: ${stuck.join(' | ')})`);
    }
  };
  report('task', tasks, checkPartitioned(taskModel, tasks, (o) => o.key));
  report('agent', agents, checkPartitioned(agentModel, agents, (o) => o.key));
  const partitions = new Set(tasks.map((o) => o.key)).size + new Set(agents.map((o) => o.key)).size;
  return { violations, unknownKeys, partitions };
}

/** No IP held by two tasks in one consistent list read (or the final state). */
export function checkNoDuplicateIps(pairs: readonly [string, string | null][], where: string): string[] {
  const owner = new Map<string, string>();
  const out: string[] = [];
  for (const [id, ip] of pairs) {
    if (ip === null) continue;
    const other = owner.get(ip);
    if (other !== undefined) out.push(`${ip} held by ${other} and ${id} in ${where}`);
    else owner.set(ip, id);
  }
  return out;
}

export function checkListReads(ops: readonly HistoryOp[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    if (op.kind === 'list' && op.outcome.kind === 'ok') out.push(...checkNoDuplicateIps(op.outcome.value as [string, string | null][], `the consistent list read by c${op.client} on ${op.node} at ${op.call.toFixed(0)} ms`));
  }
  return out;
}

/**
 * Every acknowledged allocation is in the final state with its IP, unless a release of that task
 * (acknowledged or with unknown outcome) may have taken effect after it: one that had not returned
 * when the allocation was invoked. A release invoked a moment *before* the allocation but still in
 * flight may linearize after it (the allocation answers "already held", then the release frees
 * it); the chaos round saw exactly that three times (release call 38116.1 ms, allocation call
 * 38116.6 ms, both acknowledged, final state without that IP), and the linearizability check
 * rightly accepted those histories.
 */
export function checkAcknowledgedPresent(ops: readonly HistoryOp[], final: FinalState): string[] {
  const finalIp = new Map(final.tasks.map((t) => [t.id, t.ip ?? null]));
  const lastReleaseRet = new Map<string, number>();
  for (const op of ops) {
    if (op.kind === 'task' && op.f === 'release' && op.outcome.kind !== 'refused') lastReleaseRet.set(op.key, Math.max(lastReleaseRet.get(op.key) ?? -Infinity, retOf(op)));
  }
  const out: string[] = [];
  for (const op of ops) {
    if (op.kind !== 'task' || op.f !== 'alloc' || op.outcome.kind !== 'ok') continue;
    if ((lastReleaseRet.get(op.key) ?? -Infinity) > op.call) continue;
    const ip = op.outcome.value as string;
    const now = finalIp.get(op.key) ?? null;
    if (now !== ip) out.push(`lost acknowledged allocation: ${op.key} got ${ip} (c${op.client} via ${op.node} at ${op.call.toFixed(0)} ms), final state has ${now ?? 'nothing'} and no release was in flight or came after`);
  }
  return out;
}

/** IPv4 `ip` inside `cidr`. */
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  if (base === undefined || bits === undefined || ip.includes(':')) return false;
  const size = 2 ** (32 - Number(bits));
  const start = n(base);
  return n(ip) >= start && n(ip) < start + size;
}

/** Every task's IP lies in one of its agent's pools of its network (DESIGN.md §4). */
export function checkIpsInBlocks(final: FinalState): string[] {
  const agents = new Map(final.agents.map((a) => [a.id, a]));
  const out: string[] = [];
  for (const t of final.tasks) {
    if (t.ip === undefined) continue;
    const block = agents.get(t.agent)?.blocks.find((b) => b.network === t.network);
    const cidrs = block?.pools.flatMap((p) => (p.cidr === undefined ? [] : [p.cidr])) ?? [];
    if (!cidrs.some((c) => inCidr(t.ip!, c))) out.push(`task ${t.id} has ${t.ip}, outside its agent ${t.agent}'s pools ${cidrs.join(',') || '(none)'} of ${t.network}`);
  }
  return out;
}
