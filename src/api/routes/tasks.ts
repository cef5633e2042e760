// /v1/tasks: allocate (idempotent per id), read, list with filters, release (idempotent, 204).
// A task is answered as its view plus `dns`, the names it resolves under (src/records naming).

import type { AllocateTaskCommand, TaskFilter, TaskView } from '../../ipam/index.js';
import { taskDnsNames } from '../../records/naming.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { Route } from '../router.js';
import { listLimit } from '../schemas.js';
import { leaderWrite, proposeIpam } from '../writes.js';
import { read } from './read.js';

/**
 * The view and its `dns`, copied property by property: `{ ...task, dns }` made a new hidden class
 * and descriptor array on every answer in this V8 (Node 20), long-lived garbage on a busy leader
 * (issue 4; raft/transport/parse-message.ts has the figures).
 */
function taskBody(ctx: ApiContext, task: TaskView): Record<string, unknown> {
  const dns = taskDnsNames(task, ctx.zone);
  const out: Record<string, unknown> = {};
  for (const key in task) out[key] = task[key as keyof TaskView];
  if (dns !== undefined) out['dns'] = dns;
  return out;
}

function listTasks(ctx: ApiContext, q: Readonly<Record<string, string>>): Record<string, unknown> {
  const limit = listLimit(q);
  const filter: TaskFilter = {
    ...(q['agent'] === undefined ? {} : { agent: q['agent'] }),
    ...(q['network'] === undefined ? {} : { network: q['network'] }),
    ...(q['framework'] === undefined ? {} : { framework: q['framework'] }),
  };
  const all = ctx.ipam.listTasks(filter);
  return { tasks: all.slice(0, limit).map((t) => taskBody(ctx, t)), truncated: all.length > limit };
}

export function taskRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'PUT', pattern: '/v1/tasks/{id}', access: 'write', params: 'taskId', query: 'none', body: 'allocateTask',
      handle: (req) => leaderWrite(ctx, req, async () => {
        // The parsed body is this request's own: it becomes the command (no spread, see taskBody).
        const cmd = req.body as Record<string, unknown>;
        cmd['type'] = 'allocateTask';
        cmd['id'] = req.params['id']!;
        const alloc = await proposeIpam(ctx, cmd as unknown as AllocateTaskCommand);
        return { status: alloc.created ? 201 : 200, body: taskBody(ctx, alloc.task) };
      }, { proposesFirst: true }),
    },
    {
      method: 'GET', pattern: '/v1/tasks/{id}', access: 'read', params: 'taskId', query: 'read',
      handle: (req) => read(ctx, req, () => {
        const task = ctx.ipam.getTask(req.params['id']!);
        return task === undefined ? new ApiError('not_found', `no task ${req.params['id']}`, { kind: 'task', id: req.params['id'] }) : taskBody(ctx, task);
      }),
    },
    { method: 'GET', pattern: '/v1/tasks', access: 'read', params: 'none', query: 'tasks', handle: (req) => read(ctx, req, () => listTasks(ctx, req.query)) },
    {
      method: 'DELETE', pattern: '/v1/tasks/{id}', access: 'write', params: 'taskId', query: 'none',
      handle: (req) => leaderWrite(ctx, req, async () => {
        await proposeIpam(ctx, { type: 'releaseTask', id: req.params['id']! });
        return { status: 204 };
      }, { proposesFirst: true }),
    },
  ];
}
