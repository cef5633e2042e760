// The Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
// extended version), §5.1 and §5.2: one test per rule, in the spirit of etcd's raft_paper_test.go.
// Pre-vote and check-quorum are off here: the paper's algorithm alone.
import t from 'tap';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';
import { drain, flushReady, makeCore, msg, ofType, tickUntil } from './helpers.js';

const three = ['a', 'b', 'c'];

// Raft §5.1: "When servers start up, they begin as followers."
t.test('§5.1 servers start as followers', async (t) => {
  const c = makeCore('a', { voters: three });
  t.equal(c.status().role, 'follower');
  t.equal(c.status().leader, null);
});

// Raft §5.1: "If a server's current term is smaller than the other's, it updates its current term
// to the larger value. If a candidate or leader discovers that its term is out of date, it
// immediately reverts to follower state." Checked for each role.
t.test('§5.1 a larger term makes any role update its term and become follower', async (t) => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    const c = makeCore('a', { voters: three, term: 1 });
    if (role !== 'follower') tickUntil(c, 'candidate');
    if (role === 'leader') {
      c.step(msg.voteResp('b', 'a', 2, false));
      drain(c);
      t.equal(c.status().role, 'leader', 'setup: leader');
    }
    c.step(msg.append('b', 'a', 5, 0, 0, [], 0));
    t.equal(c.status().term, 5, `${role}: term updated`);
    t.equal(c.status().role, 'follower', `${role}: reverted to follower`);
    t.equal(c.status().leader, 'b', `${role}: knows the new leader`);
  }
});

// Raft §5.1: "If a server receives a request with a stale term number, it rejects the request."
t.test('§5.1 a request with a stale term is rejected and changes nothing', async (t) => {
  const c = makeCore('a', { voters: three, term: 3, terms: [1, 2] });
  drain(c);
  c.step(msg.append('b', 'a', 2, 2, 2, [{ kind: 'normal', index: logIndex(3), term: term(2), data: new Uint8Array(1) }], 3));
  c.step(msg.vote('c', 'a', 2, 10, 2));
  const out = drain(c);
  t.equal(c.status().lastIndex, 2, 'no entry appended');
  t.equal(c.status().commit, 0, 'commit unchanged');
  t.equal(c.status().vote, null, 'no vote granted');
  t.equal(c.status().term, 3, 'term unchanged');
  t.notOk(out.some((m) => (m.type === 'voteResp' && !m.reject) || (m.type === 'appendResp' && !m.reject)), 'nothing acknowledged');
});

// Raft §5.2: "If a follower receives no communication over a period of time called the election
// timeout, then it ... begins an election ... increments its current term and transitions to
// candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of the
// other servers."
t.test('§5.2 a follower that hears nothing for an election timeout starts an election', async (t) => {
  const c = makeCore('a', { voters: three, term: 1, terms: [1] });
  const out = tickUntil(c, 'candidate', 20);
  t.equal(c.status().term, 2, 'term incremented');
  t.equal(c.status().vote, 'a', 'voted for itself');
  const votes = ofType(out, 'vote');
  t.same(votes.map((m) => m.to).sort(), ['b', 'c'], 'vote requests to every other server');
  for (const v of votes) {
    t.equal(v.term, 2);
    t.equal(v.lastLogIndex, 1);
    t.equal(v.lastLogTerm, 1);
  }
});

// Raft §5.2: "Leaders send periodic heartbeats ... to all followers in order to maintain their
// authority."
t.test('§5.2 a leader sends heartbeats to every follower each heartbeat interval', async (t) => {
  const c = makeCore('a', { voters: three, heartbeatTicks: 2 });
  tickUntil(c, 'candidate');
  c.step(msg.voteResp('b', 'a', 1, false));
  drain(c);
  t.equal(c.status().role, 'leader');
  c.tick();
  t.same(ofType(drain(c), 'heartbeat'), [], 'nothing before the interval');
  c.tick();
  const hb = ofType(drain(c), 'heartbeat');
  t.same(hb.map((m) => m.to).sort(), ['b', 'c']);
});

// Raft §5.2: "A candidate wins an election if it receives votes from a majority of the servers in
// the full cluster for the same term." Table over cluster sizes and vote outcomes.
t.test('§5.2 a candidate wins with a majority and only with a majority', async (t) => {
  const cases: { size: number; grants: number; rejects: number; role: string }[] = [
    { size: 1, grants: 0, rejects: 0, role: 'leader' },
    { size: 3, grants: 1, rejects: 0, role: 'leader' },
    { size: 3, grants: 0, rejects: 1, role: 'candidate' },
    { size: 3, grants: 0, rejects: 2, role: 'follower' },
    { size: 5, grants: 1, rejects: 0, role: 'candidate' },
    { size: 5, grants: 2, rejects: 0, role: 'leader' },
    { size: 5, grants: 1, rejects: 2, role: 'candidate' },
    { size: 5, grants: 1, rejects: 3, role: 'follower' },
  ];
  for (const k of cases) {
    const ids = ['a', 'b', 'c', 'd', 'e'].slice(0, k.size);
    const c = makeCore('a', { voters: ids });
    tickUntil(c, k.size === 1 ? 'leader' : 'candidate');
    const others = ids.slice(1);
    for (let g = 0; g < k.grants; g++) c.step(msg.voteResp(others[g]!, 'a', 1, false));
    for (let r = 0; r < k.rejects; r++) c.step(msg.voteResp(others[k.grants + r]!, 'a', 1, true));
    drain(c);
    t.equal(c.status().role, k.role, `${k.size} nodes, ${k.grants} granted, ${k.rejects} rejected`);
  }
});

// Raft §5.2: "Each server will vote for at most one candidate in a given term, on a
// first-come-first-served basis."
t.test('§5.2 a server votes for at most one candidate per term, first come first served', async (t) => {
  const cases = [
    { vote: undefined, from: 'b', granted: true },
    { vote: undefined, from: 'c', granted: true },
    { vote: 'b', from: 'b', granted: true },
    { vote: 'c', from: 'c', granted: true },
    { vote: 'b', from: 'c', granted: false },
    { vote: 'c', from: 'b', granted: false },
  ];
  for (const k of cases) {
    const c = makeCore('a', { voters: three, term: 1, ...(k.vote !== undefined ? { vote: k.vote } : {}) });
    c.step(msg.vote(k.from, 'a', 1, 0, 0));
    const resp = ofType(drain(c), 'voteResp');
    t.equal(resp.length, 1);
    t.equal(resp[0]?.reject, !k.granted, `voted ${k.vote ?? 'nobody'}, request from ${k.from}`);
    t.equal(c.status().vote, k.vote ?? k.from);
  }
});

// Raft §5.2: the vote must be durable before it is announced: the response leaves only after the
// Ready carrying the vote is persisted (Figure 2, "persistent state ... updated on stable storage
// before responding to RPCs").
t.test('§5.2 a vote response leaves only after the vote is persisted', async (t) => {
  const c = makeCore('a', { voters: three, term: 1 });
  c.step(msg.vote('b', 'a', 2, 0, 0));
  const rd = c.ready();
  t.same(rd.messages, [], 'nothing to send at once');
  t.equal(rd.messagesAfterPersist[0]?.type, 'voteResp', 'the response waits for persistence');
  t.same(rd.hardState, { term: 2, vote: 'b', commit: 0 }, 'the vote is in the hard state to persist');
  c.advance(rd);
});

// Raft §5.2: "While waiting for votes, a candidate may receive an AppendEntries RPC from another
// server claiming to be leader. If the leader's term ... is at least as large as the candidate's
// current term, then the candidate recognizes the leader as legitimate and returns to follower."
t.test('§5.2 a candidate that hears from a leader of its term returns to follower', async (t) => {
  const c = makeCore('a', { voters: three });
  tickUntil(c, 'candidate');
  c.step(msg.append('b', 'a', 1, 0, 0, [], 0));
  t.equal(c.status().role, 'follower');
  t.equal(c.status().term, 1);
  t.equal(c.status().leader, 'b');
});

// Raft §5.2: "If many followers become candidates at the same time, votes could be split ... each
// candidate will time out and start a new election by incrementing its term".
t.test('§5.2 a candidate that neither wins nor loses starts a new election in a higher term', async (t) => {
  const c = makeCore('a', { voters: three });
  tickUntil(c, 'candidate');
  t.equal(c.status().term, 1);
  let out: ReturnType<typeof drain> = [];
  for (let k = 0; k < 40 && c.status().term === 1; k++) {
    c.tick();
    out = drain(c);
  }
  t.equal(c.status().term, 2, 'a new term');
  t.equal(c.status().role, 'candidate');
  t.equal(ofType(out, 'vote').length, 2, 'new vote requests');
});

// Raft §5.2: "Raft uses randomized election timeouts ... chosen randomly from a fixed interval".
// Here [electionTicks, 2*electionTicks), drawn from the injected PRNG.
t.test('§5.2 election timeouts are randomised within [electionTicks, 2*electionTicks)', async (t) => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const c = makeCore('a', { voters: three, seed, electionTicks: 10 });
    let ticks = 0;
    while (c.status().role === 'follower' && ticks < 100) {
      c.tick();
      ticks++;
    }
    t.ok(ticks >= 10 && ticks < 20, `seed ${seed}: timeout ${ticks}`);
    seen.add(ticks);
  }
  t.ok(seen.size >= 8, `timeouts spread over the interval (${[...seen].sort((x, y) => x - y).join(',')})`);
});

// Raft §5.2: a follower that grants a vote resets its election timer (Figure 2: "If election
// timeout elapses without ... granting vote to candidate: convert to candidate").
t.test('§5.2 granting a vote resets the election timer', async (t) => {
  const c = makeCore('a', { voters: three, seed: 5, electionTicks: 10 });
  for (let k = 0; k < 9; k++) c.tick();
  c.step(msg.vote('b', 'a', 1, 0, 0));
  drain(c);
  for (let k = 0; k < 9; k++) c.tick();
  t.equal(c.status().role, 'follower', 'still a follower 18 ticks after start, 9 after the vote');
});

// Raft §5.2 with §5.4.1: the self-vote counts only once durable, so a one-node cluster becomes
// leader only after advance() (a crash before would otherwise allow a second vote in the term).
t.test('§5.2 a candidate counts its own vote only once it is persisted', async (t) => {
  const c = makeCore('a', { voters: ['a'] });
  for (let k = 0; k < 30 && c.status().role === 'follower'; k++) c.tick();
  t.equal(c.status().role, 'candidate', 'not leader before the vote is durable');
  const rd = c.ready();
  t.equal(c.status().role, 'candidate');
  c.advance(rd);
  t.equal(c.status().role, 'leader');
  t.ok(flushReady(c) !== null);
  t.same(c.status().vote, nodeId('a'));
});
