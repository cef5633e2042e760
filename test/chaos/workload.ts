// The clients of a chaos run: each sends one request at a time to its home node (voters and
// learners alike: writes to followers and learners are forwarded to the leader), and records
// every operation with its invoke and return time. A request whose outcome it cannot see
// (timeout, 5xx, connection lost after sending) is indeterminate and is retried with the same
// task id, which the API makes idempotent (DESIGN.md §3), on the next node.

import { performance } from 'node:perf_hooks';
import type { Prng } from '../../raft/sim/prng.js';
import type { HistoryOp, HistoryWriter, OpKind } from './history.js';
import type { Outcome } from './models.js';
import { http } from './chaos-cluster.js';

export const workloadLimits = {
  /** A request with no answer after this is indeterminate (writes wait up to 5 s for a leader, forwarding 10 s). */
  requestTimeoutMs: 12_000,
  /** Retries of an indeterminate write with the same id before moving on. */
  retriesMax: 3,
  /** After a failure, before the next request (no hammering of a cluster without a leader). */
  backoffMsMin: 50,
  backoffMsMax: 400,
} as const;

export interface TaskSpec {
  readonly id: string;
  readonly body: { readonly name: string; readonly framework: string; readonly agent: string; readonly network: string };
}

export interface AgentSpec {
  readonly id: string;
  readonly ip: string;
}

export interface WorkloadSpec {
  readonly tasks: readonly TaskSpec[];
  readonly agents: readonly AgentSpec[];
}

export interface Target {
  readonly id: string;
  readonly url: string;
}

/** Task ids t000.., spread over agents and networks; agents a0.. with distinct IPs. */
export function makeWorkload(tasks: number, agents: number, networks: readonly string[]): WorkloadSpec {
  const agentList = Array.from({ length: agents }, (_, i) => ({ id: `a${i}`, ip: `10.0.0.${10 + i}` }));
  const taskList = Array.from({ length: tasks }, (_, i) => {
    const id = `t${String(i).padStart(3, '0')}`;
    return { id, body: { name: `app${i}`, framework: 'chaos', agent: agentList[i % agents]!.id, network: networks[i % networks.length]! } };
  });
  return { tasks: taskList, agents: agentList };
}

type Answer = { readonly status: number; readonly body: unknown } | { readonly error: 'refused' | 'unknown'; readonly text: string };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One HTTP request; connection refused = certainly not sent, any other failure = unknown. */
async function request(url: string, method: string, path: string, body?: unknown): Promise<Answer> {
  try {
    const answer = await http(url, method, path, body, workloadLimits.requestTimeoutMs);
    return { status: answer.status, body: answer.body as unknown };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    return { error: code === 'ECONNREFUSED' ? 'refused' : 'unknown', text: code ?? (err as Error).name };
  }
}

const codeOf = (body: unknown): string => (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : 'error');
const ipOf = (body: unknown): string | null => (typeof body === 'object' && body !== null && typeof (body as { ip?: unknown }).ip === 'string' ? (body as { ip: string }).ip : null);

/** 2xx → ok(value), 4xx → refused (definite), else unknown. `notFoundIsValue`: a 404 read means "absent". */
function classify(a: Answer, value: (body: unknown) => unknown, notFoundIsValue: boolean): { outcome: Outcome<unknown>; detail: string } | null {
  if ('error' in a) return a.error === 'refused' ? null : { outcome: { kind: 'unknown' }, detail: a.text };
  if (a.status >= 200 && a.status < 300) return { outcome: { kind: 'ok', value: value(a.body) }, detail: String(a.status) };
  if (a.status === 404 && notFoundIsValue) return { outcome: { kind: 'ok', value: null }, detail: '404' };
  if (a.status >= 400 && a.status < 500) return { outcome: { kind: 'refused', code: codeOf(a.body) }, detail: `${a.status} ${codeOf(a.body)}` };
  return { outcome: { kind: 'unknown' }, detail: `${a.status} ${codeOf(a.body)}` };
}

/** The blocks of an agent answer as canonical text (they must never change while it exists). */
export function blocksText(body: unknown): string | null {
  const blocks = (body as { blocks?: unknown } | null)?.blocks;
  return blocks === undefined ? null : JSON.stringify(blocks);
}

/** A consistent task list as sorted [id, ip] pairs. */
export function listPairs(body: unknown): [string, string | null][] {
  const tasks = (body as { tasks?: { id: string; ip?: string }[] } | null)?.tasks ?? [];
  return tasks.map((t) => [t.id, t.ip ?? null] as [string, string | null]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

interface Planned {
  readonly kind: OpKind;
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly value: (body: unknown) => unknown;
  readonly notFoundIsValue: boolean;
  readonly write: boolean;
}

export class Client {
  private home: number;
  private readonly t0: number;

  constructor(
    readonly index: number,
    private readonly spec: WorkloadSpec,
    private readonly targets: () => readonly Target[],
    private readonly prng: Prng,
    private readonly history: HistoryWriter,
    t0: number,
  ) {
    this.home = index;
    this.t0 = t0;
  }

  private now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  private plan(): Planned {
    const r = this.prng.float();
    const task = this.prng.pick(this.spec.tasks);
    const agent = this.prng.pick(this.spec.agents);
    if (r < 0.35) return { kind: { kind: 'task', f: 'alloc' }, key: task.id, method: 'PUT', path: `/v1/tasks/${task.id}`, body: task.body, value: ipOf, notFoundIsValue: false, write: true };
    if (r < 0.55) return { kind: { kind: 'task', f: 'release' }, key: task.id, method: 'DELETE', path: `/v1/tasks/${task.id}`, value: () => null, notFoundIsValue: false, write: true };
    if (r < 0.8) return { kind: { kind: 'task', f: 'read' }, key: task.id, method: 'GET', path: `/v1/tasks/${task.id}?consistent=true`, value: ipOf, notFoundIsValue: true, write: false };
    if (r < 0.86) return { kind: { kind: 'agent', f: 'register' }, key: agent.id, method: 'PUT', path: `/v1/agents/${agent.id}`, body: { ip: agent.ip }, value: blocksText, notFoundIsValue: false, write: true };
    if (r < 0.95) return { kind: { kind: 'agent', f: 'read' }, key: agent.id, method: 'GET', path: `/v1/agents/${agent.id}?consistent=true`, value: blocksText, notFoundIsValue: true, write: false };
    return { kind: { kind: 'list', f: 'read' }, key: '*', method: 'GET', path: '/v1/tasks?consistent=true&framework=chaos', value: listPairs, notFoundIsValue: false, write: false };
  }

  private target(): Target | null {
    const list = this.targets();
    if (list.length === 0) return null;
    return list[this.home % list.length]!;
  }

  /** Runs one planned operation, with retries of an unknown write; returns false when the run is over. */
  private async once(p: Planned, stop: () => boolean): Promise<void> {
    for (let attempt = 0; attempt <= workloadLimits.retriesMax && !stop(); attempt++) {
      const target = this.target();
      if (target === null) return sleep(workloadLimits.backoffMsMax);
      const call = this.now();
      const answer = await request(target.url, p.method, p.path, p.body);
      const ret = this.now();
      const seen = classify(answer, p.value, p.notFoundIsValue);
      if (seen === null) {
        // Connection refused: the node is down and the request never left; try another node.
        this.home++;
        await sleep(workloadLimits.backoffMsMin);
        continue;
      }
      const unknown = seen.outcome.kind === 'unknown';
      const op = { ...p.kind, client: this.index, node: target.id, key: p.key, call, ret: unknown ? null : ret, outcome: seen.outcome, detail: seen.detail } as HistoryOp;
      this.history.add(op);
      if (!unknown) return;
      this.home++;
      await sleep(this.prng.between(workloadLimits.backoffMsMin, workloadLimits.backoffMsMax));
      if (!p.write) return;
    }
  }

  async run(stop: () => boolean): Promise<void> {
    while (!stop()) await this.once(this.plan(), stop);
  }
}
