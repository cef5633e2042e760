// GET /v1/openapi.json: an OpenAPI 3.1 document generated from the route table and the same
// schemas the server validates with, so the reference cannot drift from what is enforced.

import type { Route } from './router.js';
import { bodies, params, queries } from './schemas.js';
import { statusOf } from './errors.js';

const summaries: Readonly<Record<string, string>> = {
  'GET /v1/health': 'Process alive',
  'GET /v1/ready': '200 once caught up with the leader since start, else 503',
  'GET /v1/cluster': 'Cluster status: leader, term, indexes, members with addresses, match index, lag',
  'POST /v1/cluster/members': 'Add a learner; role voter promotes it once caught up (repeat until role is voter)',
  'DELETE /v1/cluster/members/{id}': 'Remove a member',
  'POST /v1/cluster/leadership': 'Transfer leadership',
  'GET /v1/snapshot': 'The state machine snapshot (backup), as of X-Vnetd-Applied-Index',
  'GET /v1/networks': 'List networks',
  'POST /v1/networks': 'Create a network',
  'GET /v1/networks/{name}': 'Read a network',
  'PATCH /v1/networks/{name}': 'Enable or disable a network',
  'DELETE /v1/networks/{name}': 'Delete a network (409 in_use while tasks hold addresses, unless force=true)',
  'GET /v1/networks/{name}/usage': 'Capacity, used and free addresses per agent and pool',
  'PUT /v1/agents/{id}': 'Register an agent (idempotent): blocks per network in the DC/OS overlay shape',
  'GET /v1/agents': 'List agents',
  'GET /v1/agents/{id}': 'Read an agent',
  'DELETE /v1/agents/{id}': 'Delete an agent, freeing its blocks (409 in_use while it has tasks, unless force=true)',
  'PUT /v1/tasks/{id}': 'Allocate (or return the existing allocation); same id with another body is 409',
  'GET /v1/tasks/{id}': 'Read a task',
  'GET /v1/tasks': 'List tasks, filtered by agent, network, framework',
  'DELETE /v1/tasks/{id}': 'Release (idempotent, 204)',
  'GET /overlay-master/state': 'The DC/OS overlay master state',
  'GET /metrics': 'Prometheus metrics',
  'GET /v1/openapi.json': 'This document',
};

function parameters(route: Route): unknown[] {
  const out: unknown[] = [];
  const p = params[route.params] as { properties?: Record<string, unknown> };
  for (const [name, schema] of Object.entries(p.properties ?? {})) out.push({ name, in: 'path', required: true, schema });
  const q = queries[route.query] as { properties?: Record<string, unknown> };
  for (const [name, schema] of Object.entries(q.properties ?? {})) out.push({ name, in: 'query', required: false, schema });
  return out;
}

export function openApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      summary: summaries[`${r.method} ${r.pattern}`] ?? '',
      parameters: parameters(r),
      responses: { default: { description: 'JSON; errors are {"error": CODE, "message": TEXT, ...details}' } },
      ...(r.access === 'open' ? { security: [] } : {}),
      'x-vnetd-access': r.access,
    };
    if (r.body !== undefined) op['requestBody'] = { required: true, content: { 'application/json': { schema: bodies[r.body] } } };
    (paths[r.pattern] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'vnetd', version: '1', description: 'Raft-replicated IPAM and DNS for container clusters. Writes to any member are forwarded to the leader.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      'x-vnetd-error-status': statusOf,
    },
    security: [{ bearer: [] }],
  };
}
