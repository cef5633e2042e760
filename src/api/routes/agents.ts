// /v1/agents and /overlay-master/state. An agent is answered as its view (blocks, VTEP) plus
// `overlays` in the DC/OS `/overlay-agent/overlay` shape, so DC/OS tooling reading `{id, ip,
// overlays}` finds what it expects and vnetd clients get the rest.

import type { AgentView, DcosAgent } from '../../ipam/index.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { Route } from '../router.js';
import { leaderWrite, proposeIpam } from '../writes.js';
import { read } from './read.js';

function agentBody(agent: AgentView, overlay: DcosAgent | undefined): Record<string, unknown> {
  return { ...agent, overlays: overlay?.overlays ?? [] };
}

function getAgent(ctx: ApiContext, id: string): Record<string, unknown> | ApiError {
  const agent = ctx.ipam.getAgent(id);
  if (agent === undefined) return new ApiError('not_found', `no agent ${id}`, { kind: 'agent', id });
  return agentBody(agent, ctx.ipam.agentOverlay(id));
}

export function agentRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'PUT', pattern: '/v1/agents/{id}', access: 'write', params: 'id', query: 'none', body: 'registerAgent',
      handle: (req) => leaderWrite(ctx, req, async () => {
        const body = req.body as { ip: string; ip6?: string };
        const reg = await proposeIpam(ctx, { type: 'registerAgent', id: req.params['id']!, ...body });
        return { status: reg.created ? 201 : 200, body: agentBody(reg.agent, reg.overlay) };
      }),
    },
    {
      method: 'GET', pattern: '/v1/agents', access: 'read', params: 'none', query: 'read',
      handle: (req) => read(ctx, req, () => ({ agents: ctx.ipam.listAgents().map((a) => agentBody(a, ctx.ipam.agentOverlay(a.id))) })),
    },
    { method: 'GET', pattern: '/v1/agents/{id}', access: 'read', params: 'id', query: 'read', handle: (req) => read(ctx, req, () => getAgent(ctx, req.params['id']!)) },
    {
      method: 'DELETE', pattern: '/v1/agents/{id}', access: 'write', params: 'id', query: 'force',
      handle: (req) => leaderWrite(ctx, req, async () => ({
        status: 200,
        body: await proposeIpam(ctx, { type: 'deleteAgent', id: req.params['id']!, force: req.query['force'] === 'true' }),
      })),
    },
    { method: 'GET', pattern: '/overlay-master/state', access: 'read', params: 'none', query: 'read', handle: (req) => read(ctx, req, () => ctx.ipam.overlayMasterState()) },
  ];
}
