// Smoke tests of the core through the in-memory network: election, replication, commit, restart.
import t from 'tap';
import { Network, bytes } from './network.js';

t.test('three nodes elect one leader and replicate a proposal to all', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 7 });
  net.elect('a');
  t.same(net.leaders(), ['a']);
  const res = net.core('a').propose(bytes('x=1'));
  t.ok(res.ok);
  net.stabilize();
  for (const id of ['a', 'b', 'c']) {
    t.same(net.appliedOf(id), ['x=1'], `${id} applied`);
    t.equal(net.core(id).status().commit, 2, `${id} commit`);
  }
});

t.test('a restarted follower recovers its log and catches up', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 3 });
  net.elect('a');
  net.core('a').propose(bytes('one'));
  net.stabilize();
  net.start(net.core('c').id);
  net.core('a').propose(bytes('two'));
  net.stabilize();
  net.tickAll(3);
  t.same(net.appliedOf('c'), ['one', 'two']);
});

t.test('elections happen by themselves with ticks', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c', 'd', 'e'], seed: 11, preVote: true, checkQuorum: true });
  net.tickAll(40);
  t.equal(net.leaders().length, 1);
  const leader = net.leaders()[0]!;
  t.ok(net.core(leader).propose(bytes('v')).ok);
  net.tickAll(2);
  for (const c of net.cores.values()) t.same(net.appliedOf(c.id), ['v']);
});

// raft/core/leader.ts, appendEntries: the quorum is recounted on append only for conf entries.
t.test('a removal that shrinks the quorum commits, at once, what a majority of the new membership holds', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c', 'd'], seed: 5 });
  net.elect('a');
  net.isolate('c', 'd');
  const x = net.core('a').propose(bytes('x'));
  t.ok(x.ok);
  net.stabilize();
  const leader = net.core('a');
  t.ok(x.ok && leader.status().commit < x.index, 'x on a and b only: 2 of 4 voters is no majority');
  t.ok(leader.proposeConfChange({ type: 'remove', id: leader.status().membership.members.find((m) => m.id === 'd')!.id }).ok);
  // {a, b, c}: a and b are a majority and both hold x, so x commits on append of the removal.
  t.ok(x.ok && leader.status().commit === x.index, `commit ${leader.status().commit} reached x`);
  net.stabilize();
  t.same(net.appliedOf('a'), ['x']);
});
