// The write path's hot-path shortcuts give the same answers as the slow ways they replace
// (issue 4's throughput work): request targets split by hand vs the WHATWG URL parser, metrics
// counted in plain numbers vs the Prometheus text prom-client would print, and a node that led
// at its last write still forwarding once it no longer leads.

import t from 'tap';
import { Registry } from 'prom-client';
import { nodeId } from '../../raft/core/types.js';
import { splitTarget } from '../../src/api/server.js';
import { PlainCounter, PlainHistogram } from '../../src/api/plain-metrics.js';
import { mulberry32 } from '../util/prng.js';
import { serveFakePair } from './fake-node.js';

// WHATWG URL §4.4 (path state): dot segments are resolved, backslashes are slashes in special
// schemes, and characters outside the path percent-encode set are encoded. The alphabet mixes
// the characters that take the shortcut with every one of those that must not.
const alphabet = ['a', 'Z', '0', '-', '.', '_', '~', '%', '2', 'e', 'E', '/', '?', '=', '&', '+', ':', '@', '!', '$', "'", '(', '*', ',', ';', ' ', '\\', '#', '"', '<', '>', '`', '{', '}', '^', '|', '\t', 'é', '..'];

function randomTarget(rand: () => number): string {
  const n = Math.floor(rand() * 24);
  let s = '/';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

t.test('splitTarget: the same path and query as new URL() for any target', async (t) => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
  const rand = mulberry32(seed);
  const fixed = ['/v1/tasks/t1', '/v1/tasks/a%2Fb', '/v1/tasks?agent=a&limit=3', '/v1/../x', '/v1/%2E%2e/x', '/v1/tasks/..', '/v1/tasks/.', '/v1/./x', '/a b', '/x?a=b#c', '/x?a=%20+b', '/v1//x', '/v1\\x', '//v1/tasks', '//>{#~a'];
  let shortcut = 0;
  for (let i = 0; i < 20_000 + fixed.length; i++) {
    const target = fixed[i] ?? randomTarget(rand);
    let want: URL;
    try {
      want = new URL(target, 'http://vnetd.invalid');
    } catch {
      // `//` first names a host, and some hosts are invalid: the split must refuse those too.
      let refused = false;
      try {
        splitTarget(target);
      } catch {
        refused = true;
      }
      if (!refused) {
        t.fail(`seed ${seed}: ${JSON.stringify(target)} is not a URL, but splitTarget took it`);
        return;
      }
      continue;
    }
    const got = splitTarget(target);
    if (!(got instanceof URL)) shortcut++;
    if (got.pathname !== want.pathname || got.searchParams.toString() !== want.searchParams.toString()) {
      t.fail(`seed ${seed}: ${JSON.stringify(target)} split as ${got.pathname} ? ${got.searchParams} but URL says ${want.pathname} ? ${want.searchParams}`);
      return;
    }
  }
  t.ok(shortcut > 1000, `the shortcut was taken (${shortcut} times), so it was compared`);
});

t.test('PlainCounter and PlainHistogram print what prom-client would', async (t) => {
  const plain = new Registry();
  const reference = new Registry();
  const { Counter, Histogram } = await import('prom-client');
  const counter = new PlainCounter('x_requests_total', 'requests', ['method', 'status'], plain);
  const refCounter = new Counter({ name: 'x_requests_total', help: 'requests', labelNames: ['method', 'status'], registers: [reference] });
  const bounds = [0.001, 0.01, 0.1, 1];
  const histogram = new PlainHistogram('x_seconds', 'latency', ['route'], bounds, plain);
  const refHistogram = new Histogram({ name: 'x_seconds', help: 'latency', labelNames: ['route'], buckets: bounds, registers: [reference] });
  const bare = new PlainHistogram('y_seconds', 'no labels', [], bounds, plain);
  const refBare = new Histogram({ name: 'y_seconds', help: 'no labels', buckets: bounds, registers: [reference] });
  const rand = mulberry32(7);
  for (let i = 0; i < 500; i++) {
    const method = rand() < 0.5 ? 'GET' : 'PUT';
    const status = rand() < 0.9 ? '201' : '409';
    const route = rand() < 0.5 ? '/v1/tasks/{id}' : '/v1/agents/{id}';
    // Values on the bucket bounds too: Prometheus buckets are "less than or equal".
    const v = rand() < 0.2 ? (bounds[Math.floor(rand() * bounds.length)] as number) : rand() * 2;
    counter.inc([method, status]);
    refCounter.inc({ method, status });
    histogram.observe([route], v);
    refHistogram.observe({ route }, v);
    bare.observe([], v);
    refBare.observe(v);
  }
  const lines = async (r: Registry): Promise<string[]> => (await r.metrics()).split('\n').filter((l) => l !== '').sort();
  t.same(await lines(plain), await lines(reference));
  t.throws(() => counter.inc(['GET']), /1 label values for 2 labels/, 'a wrong number of label values is a bug');
});

t.test('a node that led at its last task write forwards the next one once another node leads', async (t) => {
  const { a, b, served } = await serveFakePair(t);
  const call = async (url: string, method: string, path: string, body: unknown): Promise<Response> =>
    fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  // Each believes it leads for the setup, so both state machines get the network and the agent.
  a.leader = a.id;
  b.leader = b.id;
  for (const s of served) {
    t.equal((await call(s.url, 'POST', '/v1/networks', { name: 'blue', subnet: '10.1.0.0/16', prefix: 24 })).status, 201);
    t.equal((await call(s.url, 'PUT', '/v1/agents/ag', { ip: '192.168.0.1' })).status, 201);
  }
  const put = (id: string, body: unknown): Promise<Response> => call(served[0]!.url, 'PUT', `/v1/tasks/${id}`, body);
  const task = { name: 'web', framework: 'marathon', agent: 'ag', network: 'blue' };
  t.equal((await put('t1', task)).status, 201, 'a leads: allocated on a');
  t.equal(a.proposals, 3);
  a.leader = b.leader = nodeId('b');
  const moved = await put('t2', task);
  t.equal(moved.status, 201, 'answered after leadership moved');
  t.equal(b.proposals, 3, 'proposed on the new leader b');
  t.ok(b.ipam.getTask('t2'), 'applied on b');
  t.notOk(a.ipam.getTask('t2'), 'not applied on a');
  t.ok(a.proposals <= 4, 'a tried at most once more (its guess), then forwarded');
});
