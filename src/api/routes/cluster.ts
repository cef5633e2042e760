// Health, readiness, cluster status and membership (DESIGN.md §3). Membership changes run on the
// leader (forwarded like any write). A node joins as a learner; asking again with role "voter"
// promotes it once it has caught up, so the joiner drives its own promotion by repeating the
// request until it answers role "voter" (etcd's learner-then-promote, without an operator).

import { nodeId } from '../../../raft/core/types.js';
import type { NodeId } from '../../../raft/core/types.js';
import { RaftError } from '../../../raft/node/api.js';
import { parseMemberContext } from '../../../raft/node/index.js';
import type { ApiContext } from '../context.js';
import { encodeMemberContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { Reply, Request, Route } from '../router.js';
import { appliedHeader, leaderWrite } from '../writes.js';
import { apiLimits } from '../limits.js';

export function clusterStatus(ctx: ApiContext): Record<string, unknown> {
  const s = ctx.node.status();
  const leaderMatch = s.members.find((m) => m.id === s.id)?.matchIndex ?? null;
  return {
    id: s.id,
    state: s.role,
    leader: s.leader,
    term: s.term,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    ready: ctx.ready(),
    members: s.members.map((m) => {
      const a = parseMemberContext(m.context);
      return {
        id: m.id,
        role: m.role,
        raft: a.raft,
        http: a.http,
        dns: a.dns,
        matchIndex: m.matchIndex,
        lag: m.matchIndex === null || leaderMatch === null ? null : Math.max(0, leaderMatch - m.matchIndex),
        reachable: m.reachable,
      };
    }),
  };
}

interface AddMemberBody {
  readonly id: string;
  readonly raft: string;
  readonly http: string;
  readonly dns: string;
  readonly role?: 'voter' | 'learner';
}

/**
 * The answer to a joiner: its role, and every member's addresses. A joiner starts with an empty
 * membership, so it learns here where to send its replies until the log tells it the same.
 */
function joinAnswer(ctx: ApiContext, id: NodeId, role: string): Record<string, unknown> {
  const members = ctx.node.status().members.map((m) => ({ id: m.id, role: m.role, ...parseMemberContext(m.context) }));
  return { id, role, members };
}

/** Adds a learner, or promotes an existing learner when asked for a voter; idempotent. */
async function addMember(ctx: ApiContext, body: AddMemberBody): Promise<Reply> {
  const id: NodeId = nodeId(body.id);
  const want = body.role ?? 'learner';
  let member = ctx.node.status().members.find((m) => m.id === id);
  let status = 200;
  if (member === undefined) {
    await ctx.node.addLearner(id, encodeMemberContext(body));
    ctx.log.info('member added as learner', { member: id, raft: body.raft, http: body.http });
    status = 201;
  } else if (parseMemberContext(member.context).raft !== body.raft) {
    throw new ApiError('conflict', `member ${id} exists with raft address ${parseMemberContext(member.context).raft}, not ${body.raft}`, { field: '/raft' });
  }
  member = ctx.node.status().members.find((m) => m.id === id);
  if (want === 'voter' && member?.role === 'learner') {
    // Raft's own check (match within a lag bound of the last index) passes trivially on a short
    // log, even for a learner that never answered: a dead voter would then count against the
    // quorum. Promote only a learner that is connected and has acknowledged part of the log.
    const leaderMatch = ctx.node.status().members.find((m) => m.id === ctx.node.id)?.matchIndex ?? null;
    const behind = member.matchIndex === null || leaderMatch === null ? Infinity : leaderMatch - member.matchIndex;
    if (!member.reachable || member.matchIndex === null || member.matchIndex === 0 || behind > apiLimits.promoteLagEntriesMax) {
      return { status: 202, body: { ...joinAnswer(ctx, id, 'learner'), promotion: 'pending', message: `learner ${id} has not caught up yet (match ${member.matchIndex ?? 'unknown'}${member.reachable ? '' : ', unreachable'}): ask again` } };
    }
    try {
      await ctx.node.promote(id);
      ctx.log.info('member promoted to voter', { member: id });
    } catch (err) {
      // Not caught up yet: answer the learner state; the joiner asks again.
      if (!(err instanceof RaftError) || err.code !== 'timeout') throw err;
      return { status: 202, body: { ...joinAnswer(ctx, id, 'learner'), promotion: 'pending', message: err.message } };
    }
  }
  return { status, body: joinAnswer(ctx, id, ctx.node.status().members.find((m) => m.id === id)?.role ?? 'learner') };
}

function removeMember(ctx: ApiContext, req: Request): Promise<Reply> {
  return leaderWrite(ctx, req, async () => {
    const id = nodeId(req.params['id']!);
    if (!ctx.node.status().members.some((m) => m.id === id)) throw new ApiError('not_found', `no member ${id}`, { kind: 'member', id });
    await ctx.node.removeMember(id);
    ctx.log.info('member removed', { member: id });
    return { status: 200, body: { id, removed: true } };
  });
}

export function clusterRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'GET', pattern: '/v1/health', access: 'open', params: 'none', query: 'none', handle: () => ({ status: 200, body: { status: 'ok', id: ctx.node.id } }) },
    {
      method: 'GET', pattern: '/v1/ready', access: 'open', params: 'none', query: 'none',
      handle: () => {
        if (!ctx.ready()) throw new ApiError('not_ready', 'not caught up with the leader since start');
        return { status: 200, body: { ready: true, appliedIndex: ctx.ipam.appliedIndex }, headers: { [appliedHeader]: String(ctx.ipam.appliedIndex) } };
      },
    },
    { method: 'GET', pattern: '/v1/cluster', access: 'read', params: 'none', query: 'none', handle: () => ({ status: 200, body: clusterStatus(ctx) }) },
    {
      method: 'POST', pattern: '/v1/cluster/members', access: 'write', params: 'none', query: 'none', body: 'addMember',
      handle: (req) => leaderWrite(ctx, req, () => addMember(ctx, req.body as AddMemberBody)),
    },
    { method: 'DELETE', pattern: '/v1/cluster/members/{id}', access: 'write', params: 'member', query: 'none', handle: (req) => removeMember(ctx, req) },
    {
      method: 'POST', pattern: '/v1/cluster/leadership', access: 'write', params: 'none', query: 'none', body: 'transferLeadership',
      handle: (req) => leaderWrite(ctx, req, async () => {
        const to = nodeId((req.body as { to: string }).to);
        if (to !== ctx.node.id) await ctx.node.transferLeadership(to);
        return { status: 200, body: { leader: to } };
      }),
    },
  ];
}
