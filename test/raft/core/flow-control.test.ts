// Flow control (etcd's progress tracking): probe until the logs agree, then pipeline appends
// within inflightMessagesMax and inflightBytesMax, many entries per message within
// entriesPerAppendMax and appendBytesMax; and determinism of the whole core.
import t from 'tap';
import type { RaftCore } from '../../../raft/core/raft.js';
import type { Message } from '../../../raft/core/types.js';
import { drain, makeCore, msg, ofType, tickUntil } from './helpers.js';
import { Network, bytes } from './network.js';

function leaderWith(limits: Record<string, number>): RaftCore {
  const c = makeCore('a', { voters: ['a', 'b', 'c'], limits });
  tickUntil(c, 'candidate');
  c.step(msg.voteResp('b', 'a', 1, false));
  drain(c);
  return c;
}

t.test('a follower in probe state gets one append at a time', async (t) => {
  const c = leaderWith({});
  for (let k = 0; k < 5; k++) {
    c.propose(bytes(`p${k}`));
    const toB = ofType(drain(c), 'append').filter((m) => m.to === 'b');
    t.equal(toB.length, 0, `proposal ${k}: nothing more while the first probe is unanswered`);
  }
  t.equal(c.status().progress.find((p) => p.id === 'b')?.state, 'probe');
});

t.test('replicate state pipelines appends up to inflightMessagesMax', async (t) => {
  const c = leaderWith({ inflightMessagesMax: 3, entriesPerAppendMax: 1 });
  c.step(msg.appendResp('b', 'a', 1, 1)); // probe answered: b switches to replicate
  drain(c);
  t.equal(c.status().progress.find((p) => p.id === 'b')?.state, 'replicate');
  for (let k = 0; k < 10; k++) c.propose(bytes(`p${k}`));
  const toB = ofType(drain(c), 'append').filter((m) => m.to === 'b' && m.entries.length > 0);
  t.equal(toB.length, 3, 'three appends in flight, no more');
  c.step(msg.appendResp('b', 'a', 1, 3)); // acknowledges the first two
  const more = ofType(drain(c), 'append').filter((m) => m.to === 'b' && m.entries.length > 0);
  t.same(more.map((m) => m.entries[0]?.index), [5, 6], 'two slots freed, two more sent');
});

t.test('inflightBytesMax bounds the bytes in flight', async (t) => {
  const c = leaderWith({ inflightBytesMax: 100, appendBytesMax: 50, entriesPerAppendMax: 100 });
  c.step(msg.appendResp('b', 'a', 1, 1));
  drain(c);
  for (let k = 0; k < 10; k++) c.propose(new Uint8Array(30)); // 46 bytes each with overhead
  const toB = ofType(drain(c), 'append').filter((m) => m.to === 'b' && m.entries.length > 0);
  t.equal(toB.length, 3, 'stops once 100 bytes are in flight');
  t.same(toB.map((m) => m.entries.length), [1, 1, 1], 'appendBytesMax 50 allows one 46-byte entry per message');
});

t.test('many entries travel in one append, up to entriesPerAppendMax', async (t) => {
  const c = leaderWith({ entriesPerAppendMax: 64 });
  c.step(msg.appendResp('b', 'a', 1, 1));
  drain(c);
  for (let k = 0; k < 100; k++) c.propose(bytes(`p${k}`));
  const toB = ofType(drain(c), 'append').filter((m) => m.to === 'b' && m.entries.length > 0);
  t.same(toB.map((m) => m.entries.length), [64, 36], 'proposals made before the Ready is taken are batched');
});

t.test('a lost append in replicate state is detected and repaired', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 4, limits: { inflightMessagesMax: 2 } });
  net.elect('a');
  let lost = 0;
  net.drop = (m: Message) => {
    if (m.type !== 'append' || m.to !== 'c' || m.entries.length === 0 || lost >= 2) return false;
    lost++;
    return true;
  };
  for (let k = 0; k < 6; k++) {
    net.core('a').propose(bytes(`v${k}`));
    net.stabilize();
  }
  net.tickAll(5);
  t.equal(lost, 2);
  t.same(net.appliedOf('c'), ['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
});

t.test('oversized and overloading proposals are refused with their codes', async (t) => {
  const c = leaderWith({ entryBytesMax: 10, uncommittedEntriesMax: 3 });
  const big = c.propose(new Uint8Array(11));
  t.equal(big.ok ? '' : big.code, 'too_large');
  t.ok(c.propose(bytes('1')).ok);
  t.ok(c.propose(bytes('2')).ok);
  const over = c.propose(bytes('3')); // the empty entry and two proposals are uncommitted
  t.equal(over.ok ? '' : over.code, 'overloaded');
  const f = makeCore('b', { voters: ['a', 'b', 'c'] });
  const notLeader = f.propose(bytes('x'));
  t.same(notLeader.ok ? null : [notLeader.code, notLeader.leader], ['not_leader', null]);
});

// Determinism: the same configuration, restored state, PRNG seed and call sequence give the same
// outputs byte for byte.
t.test('the same seed and calls give identical outputs', async (t) => {
  const trace = (seed: number): string => {
    const net = new Network({ voters: ['a', 'b', 'c', 'd', 'e'], seed, preVote: true, checkQuorum: true });
    const out: string[] = [];
    for (let k = 0; k < 60; k++) {
      for (const c of net.cores.values()) c.tick();
      out.push(JSON.stringify(net.queue, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
      net.stabilize();
      const leader = net.leaders()[0];
      if (leader !== undefined && k % 7 === 0) net.core(leader).propose(bytes(`k${k}`));
    }
    return out.join('\n') + net.events.join('\n');
  };
  t.equal(trace(99), trace(99));
  t.not(trace(99), trace(100), 'and a different seed gives a different run');
});
