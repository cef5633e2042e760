// In-process checks of the API's pure parts: the error table (STYLE rule 8: every code has one
// status), Raft error translation, the router's 404/405/decoding, and schema errors naming the
// first offending field.

import t from 'tap';
import { ipamErrorCodes } from '../../src/ipam/index.js';
import { ApiError, fromIpamError, fromRaftCode, statusOf } from '../../src/api/errors.js';
import type { ApiErrorCode } from '../../src/api/errors.js';
import { Router } from '../../src/api/router.js';
import { checkBody, checkParams, checkQuery } from '../../src/api/schemas.js';
import type { RaftErrorCode } from '../../raft/node/api.js';

function apiErrorOf(f: () => unknown): ApiError {
  try {
    f();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('no ApiError');
}

t.test('every IPAM error code has a status: invalid 400, not_found 404, the rest 409', async (t) => {
  for (const code of ipamErrorCodes) {
    const expected = code === 'invalid' ? 400 : code === 'not_found' ? 404 : 409;
    t.equal(statusOf[code], expected, code);
  }
  const e = fromIpamError({ code: 'exhausted', message: 'full', network: 'n', agent: 'a', containerizer: 'mesos', capacity: 5, used: 5 });
  t.same(e.body(), { error: 'exhausted', message: 'full', network: 'n', agent: 'a', containerizer: 'mesos', capacity: 5, used: 5 });
  t.equal(e.status, 409);
});

t.test('Raft errors become 503 (or 409/413/404) with a code from the table', async (t) => {
  const expected: Record<RaftErrorCode, [ApiErrorCode, number]> = {
    not_leader: ['unavailable', 503],
    transferring: ['unavailable', 503],
    stopped: ['unavailable', 503],
    timeout: ['timeout', 503],
    overloaded: ['overloaded', 503],
    change_pending: ['change_pending', 409],
    too_large: ['too_large', 413],
    unknown_member: ['not_found', 404],
  };
  for (const [code, [api, status]] of Object.entries(expected)) {
    const e = fromRaftCode(code as RaftErrorCode, 'x');
    t.equal(e.code, api, code);
    t.equal(e.status, status, code);
  }
});

t.test('router: params, 404, 405, bad percent-encoding', async (t) => {
  const r = new Router();
  const route = { method: 'GET' as const, pattern: '/v1/tasks/{id}', access: 'read' as const, params: 'id' as const, query: 'read' as const, handle: () => ({ status: 200 }) };
  r.add(route);
  r.add({ ...route, method: 'DELETE' });
  t.same(r.match('GET', '/v1/tasks/web%2E1').params, { id: 'web.1' });
  t.equal(apiErrorOf(() => r.match('GET', '/v1/tasks')).code, 'route_not_found');
  const e405 = apiErrorOf(() => r.match('PUT', '/v1/tasks/x'));
  t.equal(e405.code, 'method_not_allowed');
  t.same(e405.details['allowed'], ['GET', 'DELETE']);
  const bad = apiErrorOf(() => r.match('GET', '/v1/tasks/%E0%A4%A'));
  t.same(bad.body()['field'], '{id}');
});

t.test('schemas name the first offending field', async (t) => {
  const cases: [() => void, string, RegExp][] = [
    [() => checkBody('allocateTask', { name: 'w', framework: 'f', agent: 'a', ports: [{ protocol: 'tcp', containerPort: 80 }, { protocol: 'tcp', containerPort: 80, hostPort: 0 }] }), '/ports/1/hostPort', /must be >= 1, got 0/],
    [() => checkBody('allocateTask', { name: 'w', framework: 'f', agent: 'a/b' }), '/agent', /visible ASCII without spaces or "\/"/],
    [() => checkBody('allocateTask', { name: 'w\n', framework: 'f', agent: 'a' }), '/name', /without control characters/],
    [() => checkBody('createNetwork', { name: 'n', subnet: '10.0.0.0/8', prefix: 24, subnet6: 'fd00::1/64', prefix6: 80 }), '/subnet6', /IPv6 CIDR/],
    [() => checkBody('createNetwork', { name: 'n', subnet6: 'fd00::/64' }), '/prefix6', /is required with subnet6/],
    [() => checkBody('createNetwork', { name: 'none', subnet: '10.0.0.0/8', prefix: 24 }), '/name', /reserved name/],
    [() => checkBody('createNetwork', { name: 'abcdefghijklmn', subnet: '10.0.0.0/8', prefix: 24 }), '/name', /must NOT have more than 13 characters/],
    [() => checkBody('registerAgent', { ip: 'fd00::1' }), '/ip', /IPv4 address/],
    [() => checkBody('registerAgent', null), '', /must be object/],
    [() => checkParams('network', { name: 'UPPER' }), '{name}', /lowercase letters/],
    [() => checkQuery('tasks', { limit: 'ten' }), '?limit', /decimal integer/],
    [() => checkQuery('force', { force: '1' }), '?force', /must be equal to one of the allowed values/],
  ];
  for (const [f, field, message] of cases) {
    const e = apiErrorOf(f);
    t.equal(e.code, 'invalid');
    t.equal(e.details['field'], field);
    t.match(e.message, message, field);
  }
});
