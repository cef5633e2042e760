// The end-of-run DNS comparison (dns-probe.ts compareDns) against fake DNS servers on loopback:
// a disagreement that resolves within its rounds is no violation (a follower learns of a new
// leader a heartbeat later), one that persists is, and a node that is down is reported at once
// without stretching the comparison (each later question asks it once).

import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import t from 'tap';
import type { NodeProcess } from '../util/cluster.js';
import { compareDns, dnsProbeLimits } from './dns-probe.js';

/** A UDP DNS server answering every A question with `addressOf(askedSoFar)` (no answer: undefined). */
async function fakeDns(addressOf: (asked: number) => string | undefined): Promise<{ port: number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  let asked = 0;
  socket.on('message', (msg, from) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (question === undefined) return;
    const ip = addressOf(++asked);
    if (ip === undefined) return;
    const reply = dnsPacket.encode({
      type: 'response', id: q.id ?? 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [question],
      answers: [{ type: 'A', name: question.name, ttl: 5, data: ip }],
    });
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

/** What compareDns reads of a node: its id and DNS address. */
const node = (id: string, port: number): NodeProcess => ({ id, addr: { id, raft: '', http: '', dns: `127.0.0.1:${port}` } }) as unknown as NodeProcess;

const leader = [{ name: 'leader.dcos.', type: 'A' }];

t.test('a disagreement that resolves within the rounds is noted, not reported', async (t) => {
  const a = await fakeDns(() => '10.0.0.1');
  const b = await fakeDns((n) => (n === 1 ? '10.0.0.2' : '10.0.0.1')); // an old leader, once
  t.teardown(() => (a.close(), b.close()));
  const notes: string[] = [];
  const problems = await compareDns([node('n1', a.port), node('n2', b.port)], leader, (l) => notes.push(l));
  t.same(problems, []);
  t.match(notes, [/leader\.dcos\. A agreed on round 2 \(first: n1=NOERROR 10\.0\.0\.1; n2=NOERROR 10\.0\.0\.2\)/]);
});

t.test('a disagreement that persists is a violation', async (t) => {
  const a = await fakeDns(() => '10.0.0.1');
  const b = await fakeDns(() => '10.0.0.2');
  t.teardown(() => (a.close(), b.close()));
  const problems = await compareDns([node('n1', a.port), node('n2', b.port)], leader);
  t.match(problems, [new RegExp(`leader\\.dcos\\. A differs \\(${dnsProbeLimits.compareRounds} rounds.*n1=NOERROR 10\\.0\\.0\\.1; n2=NOERROR 10\\.0\\.0\\.2`)]);
});

t.test('a node that is down is reported for each question, asked once after the first', async (t) => {
  const a = await fakeDns(() => '10.0.0.1');
  const down = await fakeDns(() => undefined);
  t.teardown(() => (a.close(), down.close()));
  const questions = Array.from({ length: 6 }, (_, i) => ({ name: `t${i}.f.containerip.dcos.`, type: 'A' }));
  const started = Date.now();
  const problems = await compareDns([node('n1', a.port), node('n3', down.port)], questions);
  const elapsedMs = Date.now() - started;
  t.equal(problems.filter((p) => /no answer from n3$/.test(p)).length, 6, 'every question reports n3');
  // First question: the stub attempts (1 + 2 + 3 timeouts); then one timeout per question.
  const boundMs = dnsProbeLimits.timeoutMs * (6 + 5) + 3_000;
  t.ok(elapsedMs < boundMs, `no re-asking of a node that is down: ${elapsedMs} ms < ${boundMs} ms`);
});
