// joinCluster (src/server.ts) against a stand-in member on loopback: a refusal that passes once
// the cluster settles (another membership change still committing, as when two nodes join at
// once: seen as "join refused" and a learner that never joined in the propagation bench) is
// retried; a final refusal (an id taken) ends the join at once.
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/log.js';
import { joinCluster, joinLimits } from '../../src/server.js';

/** A member that answers POST /v1/cluster/members with `answers` in turn (the last one repeats). */
async function member(t: { teardown: (f: () => unknown) => void }, answers: [number, object][]): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    const [status, body] = answers[Math.min(calls, answers.length - 1)]!;
    calls++;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}

function options(url: string, lines: string[]) {
  return {
    url, id: 'l9', role: 'learner' as const, token: null, joined: false, stopping: () => false, onMembers: () => {},
    self: { raft: '127.0.0.1:1', http: '127.0.0.1:2', dns: '127.0.0.1:3' },
    log: createLogger('info', (l) => lines.push(l)),
  };
}

t.test('409 change_pending is retried until the member adds us', async (t) => {
  const m = await member(t, [
    [409, { error: 'change_pending', message: 'membership change at index 4 is not committed yet' }],
    [201, { role: 'learner', members: [] }],
  ]);
  const lines: string[] = [];
  const started = Date.now();
  t.equal(await joinCluster(options(m.url, lines)), true);
  t.equal(m.calls(), 2);
  t.ok(Date.now() - started >= joinLimits.retryMs - 50, 'the retry waited retryMs');
  t.notOk(lines.some((l) => l.includes('join refused')), lines.join('\n'));
});

t.test('a final refusal (id taken) ends the join at once', async (t) => {
  const m = await member(t, [[409, { error: 'conflict', message: 'id l9 belongs to another address' }]]);
  const lines: string[] = [];
  t.equal(await joinCluster(options(m.url, lines)), false);
  t.equal(m.calls(), 1);
  t.ok(lines.some((l) => l.includes('join refused')));
});
