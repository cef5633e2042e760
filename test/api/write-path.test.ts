// The write path against fake Raft nodes (DESIGN.md §3 "Writes sent to a follower or learner are
// forwarded to the leader"): waiting for an election, retrying a proposal Raft refused, relaying
// the leader's answer unchanged, bounded forwarding, and 503 when no leader appears.

import t from 'tap';
import { RaftError } from '../../raft/node/api.js';
import { nodeId } from '../../raft/core/types.js';
import { call } from './harness.js';
import { FakeNode, serveFake, serveFakePair } from './fake-node.js';

const network = { name: 'blue', subnet: '10.60.0.0/16', prefix: 24 };

t.test('a write waits for an election, then runs on the new leader', async (t) => {
  const node = new FakeNode('a');
  const { api, url } = await serveFake(node);
  t.teardown(() => api.close());
  setTimeout(() => (node.leader = node.id), 400);
  const started = Date.now();
  const r = await call(url, 'POST', '/v1/networks', network);
  t.equal(r.status, 201, r.text);
  t.ok(Date.now() - started >= 350, 'it waited for the leader');
  t.equal(r.headers.get('x-vnetd-applied-index'), '1');
});

t.test('a proposal refused with not_leader (entry overwritten) is retried; a timeout is not', async (t) => {
  const node = new FakeNode('a');
  node.leader = node.id;
  const { api, url } = await serveFake(node);
  t.teardown(() => api.close());
  node.failNext = [new RaftError('not_leader', 'entry 7 was overwritten by a later term')];
  const r = await call(url, 'POST', '/v1/networks', network);
  t.equal(r.status, 201);
  t.equal(node.proposals, 2, 'proposed again');
  node.failNext = [new RaftError('timeout', 'not applied within its deadline')];
  const timedOut = await call(url, 'PATCH', '/v1/networks/blue', { enabled: false });
  t.equal(timedOut.status, 503);
  t.equal(timedOut.body.error, 'timeout');
  t.equal(node.proposals, 3, 'a timeout may still apply: not retried');
  node.failNext = [new RaftError('overloaded', 'too many pending')];
  t.equal((await call(url, 'PATCH', '/v1/networks/blue', { enabled: false })).body.error, 'overloaded');
});

t.test('a follower forwards to the leader and relays its answer, errors included', async (t) => {
  const leader = new FakeNode('b');
  const follower = new FakeNode('a');
  const served = await Promise.all([serveFake(follower), serveFake(leader)]);
  t.teardown(() => Promise.all(served.map((s) => s.api.close())));
  const [f, l] = served as [(typeof served)[0], (typeof served)[0]];
  const contexts = new Map([
    ['a', JSON.stringify({ raft: '127.0.0.1:1', http: f.address, dns: '127.0.0.1:2' })],
    ['b', JSON.stringify({ raft: '127.0.0.1:3', http: l.address, dns: '127.0.0.1:4' })],
  ]);
  for (const n of [leader, follower]) {
    n.contexts = contexts;
    n.leader = nodeId('b');
  }
  const created = await call(f.url, 'POST', '/v1/networks', network);
  t.equal(created.status, 201);
  t.same(created.body, { ...network, split: 'halves', enabled: true });
  t.equal(follower.proposals, 0, 'nothing proposed on the follower');
  t.ok(leader.ipam.getNetwork('blue'), 'applied on the leader');
  t.equal(created.headers.get('x-vnetd-applied-index'), '1', "the leader's applied index");
  const dup = await call(f.url, 'POST', '/v1/networks', network);
  t.equal(dup.status, 409, 'the leader\'s error, relayed');
  t.equal(dup.body.error, 'conflict');
  t.equal(dup.body.field, '/name');
  const invalid = await call(f.url, 'POST', '/v1/networks', { ...network, colour: 'red' });
  t.equal(invalid.status, 400, 'schema errors are answered before forwarding');
  t.equal(leader.proposals, 2);
});

t.test('a token is checked on the follower and passed on to the leader', async (t) => {
  const leader = new FakeNode('b');
  const follower = new FakeNode('a');
  const token = 'shared-token-123';
  const served = [await serveFake(follower, token), await serveFake(leader, token)];
  t.teardown(() => Promise.all(served.map((s) => s.api.close())));
  const contexts = new Map([['b', JSON.stringify({ raft: '127.0.0.1:3', http: served[1]!.address, dns: '127.0.0.1:4' })]]);
  for (const n of [leader, follower]) {
    n.contexts = contexts;
    n.leader = nodeId('b');
  }
  t.equal((await call(served[0]!.url, 'POST', '/v1/networks', network)).status, 401);
  t.equal((await call(served[0]!.url, 'POST', '/v1/networks', network, { authorization: `Bearer ${token}` })).status, 201);
});

t.test('without a reachable leader: 503 unavailable after a bounded wait', async (t) => {
  const { a, b, served } = await serveFakePair(t);
  // Each believes the other leads: forwarding must stop after forwardHopsMax, not loop.
  a.leader = nodeId('b');
  b.leader = nodeId('a');
  const started = Date.now();
  const r = await call(served[0]!.url, 'PUT', '/v1/agents/x', { ip: '10.0.0.1' });
  t.equal(r.status, 503);
  t.equal(r.body.error, 'unavailable');
  t.match(r.body.message, /no leader reachable within 5000 ms/);
  t.ok(Date.now() - started < 12_000, 'bounded');
  t.equal(a.proposals + b.proposals, 0);
});

t.test('a leader whose HTTP address does not answer: retried, then 503', async (t) => {
  const follower = new FakeNode('a');
  const { api, url } = await serveFake(follower);
  t.teardown(() => api.close());
  follower.contexts = new Map([['b', JSON.stringify({ raft: '127.0.0.1:3', http: '127.0.0.1:1', dns: '127.0.0.1:4' })]]);
  follower.leader = nodeId('b');
  const r = await call(url, 'DELETE', '/v1/tasks/x');
  t.equal(r.status, 503);
  t.match(r.body.message, /forwarding to the leader b at 127\.0\.0\.1:1 failed/);
});
