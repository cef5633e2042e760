// /v1/networks: create, list, read, enable/disable, delete, usage (DESIGN.md §3).

import type { CreateNetworkCommand } from '../../ipam/index.js';
import type { ApiContext } from '../context.js';
import { ApiError, invalid } from '../errors.js';
import type { Reply, Request, Route } from '../router.js';
import { leaderWrite, proposeIpam } from '../writes.js';
import { read } from './read.js';

function notFound(name: string): ApiError {
  return new ApiError('not_found', `no network ${name}`, { kind: 'network', id: name });
}

function create(ctx: ApiContext, req: Request): Promise<Reply> {
  const body = req.body as Omit<CreateNetworkCommand, 'type'>;
  // The schema checks each field; "at least one family" spans fields and gets its own message.
  if (body.subnet === undefined && body.subnet6 === undefined) {
    throw invalid('/subnet', 'a network needs a subnet (IPv4) with prefix, a subnet6 (IPv6) with prefix6, or both');
  }
  return leaderWrite(ctx, req, async () => ({ status: 201, body: await proposeIpam(ctx, { ...body, type: 'createNetwork' }) }));
}

export function networkRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'GET', pattern: '/v1/networks', access: 'read', params: 'none', query: 'read', handle: (req) => read(ctx, req, () => ({ networks: ctx.ipam.listNetworks() })) },
    { method: 'POST', pattern: '/v1/networks', access: 'write', params: 'none', query: 'none', body: 'createNetwork', handle: (req) => create(ctx, req) },
    {
      method: 'GET', pattern: '/v1/networks/{name}', access: 'read', params: 'network', query: 'read',
      handle: (req) => read(ctx, req, () => ctx.ipam.getNetwork(req.params['name']!) ?? notFound(req.params['name']!)),
    },
    {
      method: 'PATCH', pattern: '/v1/networks/{name}', access: 'write', params: 'network', query: 'none', body: 'patchNetwork',
      handle: (req) => leaderWrite(ctx, req, async () => ({
        status: 200,
        body: await proposeIpam(ctx, { type: 'patchNetwork', name: req.params['name']!, enabled: (req.body as { enabled: boolean }).enabled }),
      })),
    },
    {
      method: 'DELETE', pattern: '/v1/networks/{name}', access: 'write', params: 'network', query: 'force',
      handle: (req) => leaderWrite(ctx, req, async () => ({
        status: 200,
        body: await proposeIpam(ctx, { type: 'deleteNetwork', name: req.params['name']!, force: req.query['force'] === 'true' }),
      })),
    },
    {
      method: 'GET', pattern: '/v1/networks/{name}/usage', access: 'read', params: 'network', query: 'read',
      handle: (req) => read(ctx, req, () => ctx.ipam.networkUsage(req.params['name']!) ?? notFound(req.params['name']!)),
    },
  ];
}
