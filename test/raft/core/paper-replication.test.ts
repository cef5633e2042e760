// The Raft paper (extended version), §5.3 and §5.4: one test per rule, including Figure 7 (log
// repair from every follower state a–f) and Figure 8 (no commit of an earlier term's entry by
// counting replicas).
import t from 'tap';
import type { RaftCore } from '../../../raft/core/raft.js';
import type { Message } from '../../../raft/core/types.js';
import { logIndex, nodeId } from '../../../raft/core/types.js';
import { drain, entries, logTerms, makeCore, msg, ofType, tickUntil } from './helpers.js';
import { Network, bytes, text } from './network.js';

const three = ['a', 'b', 'c'];

/** A leader of term 1 in a 3-node cluster, its empty entry at index 1 already sent. */
function leader(ids: readonly string[] = three): RaftCore {
  const c = makeCore('a', { voters: ids });
  tickUntil(c, 'candidate');
  for (const id of ids.slice(1)) c.step(msg.voteResp(id, 'a', 1, false));
  drain(c);
  return c;
}

// Raft §5.3: "The leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers to replicate the entry."
t.test('§5.3 the leader appends a proposal to its log and sends it to every follower', async (t) => {
  const c = leader();
  c.step(msg.appendResp('b', 'a', 1, 1));
  c.step(msg.appendResp('c', 'a', 1, 1));
  drain(c);
  const res = c.propose(bytes('x'));
  t.same(res, { ok: true, index: 2, term: 1 });
  t.equal(c.status().lastIndex, 2);
  const apps = ofType(drain(c), 'append').filter((m) => m.entries.length > 0);
  t.same(apps.map((m) => m.to).sort(), ['b', 'c']);
  for (const m of apps) {
    t.equal(m.prevLogIndex, 1);
    t.equal(m.prevLogTerm, 1);
    t.same(m.entries.map((e) => e.index), [2]);
  }
});

// Raft §5.3: "A log entry is committed once the leader that created the entry has replicated it on
// a majority of the servers". Table over acknowledgements in a 3- and 5-node cluster.
t.test('§5.3 an entry commits once a majority holds it, and not before', async (t) => {
  const cases = [
    { ids: three, acks: ['b'], commits: true },
    { ids: three, acks: [], commits: false },
    { ids: ['a', 'b', 'c', 'd', 'e'], acks: ['b'], commits: false },
    { ids: ['a', 'b', 'c', 'd', 'e'], acks: ['b', 'e'], commits: true },
  ];
  for (const k of cases) {
    const c = leader(k.ids);
    c.propose(bytes('x'));
    drain(c);
    for (const id of k.acks) c.step(msg.appendResp(id, 'a', 1, 2));
    drain(c);
    t.equal(c.status().commit, k.commits ? 2 : 0, `${k.ids.length} nodes, acks from [${k.acks.join(',')}]`);
  }
});

// Raft §5.3: "This also commits all preceding entries in the leader's log".
t.test('§5.3 committing an entry commits every entry before it', async (t) => {
  const c = makeCore('a', { voters: three, terms: [1, 1, 2], term: 2 });
  tickUntil(c, 'candidate');
  c.step(msg.voteResp('b', 'a', 3, false));
  drain(c);
  c.propose(bytes('y'));
  drain(c);
  c.step(msg.appendResp('b', 'a', 3, 5));
  const rd = c.ready();
  t.same(rd.committed.map((e) => e.index), [1, 2, 3, 4, 5]);
  c.advance(rd);
});

// Raft §5.3: "Once a follower learns that a log entry is committed, it applies the entry to its
// local state machine (in log order)."
t.test('§5.3 a follower applies what the leader says is committed, in log order', async (t) => {
  const c = makeCore('b', { voters: three, term: 1 });
  c.step(msg.append('a', 'b', 1, 0, 0, entries([1, 1, 1]), 2));
  const rd = c.ready();
  t.same(rd.committed.map((e) => e.index), [1, 2], 'applies up to the leader commit');
  c.advance(rd);
  c.step(msg.heartbeat('a', 'b', 1, 3));
  t.same(c.ready().committed.map((e) => e.index), [3]);
});

// Raft §5.3 consistency check: "If the follower does not find an entry in its log with the same
// index and term, then it refuses the new entries."
t.test('§5.3 a follower refuses an append whose previous entry it does not hold', async (t) => {
  const cases = [
    { prevIndex: 0, prevTerm: 0, reject: false },
    { prevIndex: 2, prevTerm: 2, reject: false },
    { prevIndex: 2, prevTerm: 1, reject: true },
    { prevIndex: 3, prevTerm: 2, reject: true },
  ];
  for (const k of cases) {
    const c = makeCore('b', { voters: three, terms: [1, 2], term: 2 });
    c.step(msg.append('a', 'b', 2, k.prevIndex, k.prevTerm, [], 0));
    const resp = ofType(drain(c), 'appendResp');
    t.equal(resp[0]?.reject, k.reject, `prev (${k.prevIndex}, ${k.prevTerm})`);
  }
});

// Raft §5.3: "If an existing entry conflicts with a new one (same index but different terms),
// delete the existing entry and all that follow it; append any new entries not already in the
// log" (Figure 2, AppendEntries receiver steps 3 and 4).
t.test('§5.3 a follower deletes conflicting entries and appends the new ones', async (t) => {
  const cases = [
    { prev: [2, 2], ents: [3], want: [1, 2, 3] },
    { prev: [1, 1], ents: [3, 4], want: [1, 3, 4] },
    { prev: [0, 0], ents: [1], want: [1, 2] },
    { prev: [0, 0], ents: [3], want: [3] },
  ];
  for (const k of cases) {
    const c = makeCore('b', { voters: three, terms: [1, 2], term: 4 });
    const first = k.prev[0]! + 1;
    c.step(msg.append('a', 'b', 4, k.prev[0]!, k.prev[1]!, entries(k.ents, first), 0));
    const rd = c.ready();
    t.same(logTerms(c), k.want, `append after (${k.prev.join(',')}) of terms [${k.ents.join(',')}]`);
    if (k.want.join() !== '1,2') t.equal(rd.entries[0]?.index, first, 'the Ready rewrites from the first new entry');
    c.advance(rd);
  }
});

// Raft §5.3, Figure 7: the leader (term 8) brings each of the followers (a)–(f) to exactly its log,
// deleting extraneous entries and filling in missing ones.
t.test('§5.3 Figure 7: the leader repairs every follower log shown (a)–(f)', async (t) => {
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, log] of Object.entries(followers)) {
    const net = new Network({ voters: ['l', 'f', 'x'], seed: 8 });
    net.setLog('l', leaderLog, 7);
    net.setLog('f', log, 7);
    net.setLog('x', [], 7);
    net.elect('l');
    t.equal(net.core('l').status().term, 8, `(${name}) leader of term 8`);
    const want = [...leaderLog, 8];
    t.same(logTerms(net.core('f')), want, `(${name}) follower log repaired to the leader's`);
    t.equal(net.core('f').status().commit, 11, `(${name}) and committed`);
    const disk = net.disks.get(nodeId('f'))!.entries.map((e) => e.term);
    t.same(disk, want, `(${name}) the follower's disk matches`);
  }
});

// Raft §5.3, last paragraph: with the rejection hint the leader skips back over a whole
// conflicting term per round trip instead of one index at a time.
t.test('§5.3 a rejected append carries a hint that skips a whole term', async (t) => {
  const net = new Network({ voters: ['l', 'f', 'x'], seed: 8 });
  net.setLog('l', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 7);
  net.setLog('f', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], 7);
  net.setLog('x', [], 7);
  let rejects = 0;
  net.drop = (m) => {
    if (m.type === 'appendResp' && m.reject && m.from === 'f') rejects++;
    return false;
  };
  net.elect('l');
  t.same(logTerms(net.core('f')), [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8]);
  t.ok(rejects <= 3, `follower (f) repaired with ${rejects} rejections (one index at a time would take 8)`);
});

// Raft §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
// candidate ... If the logs have last entries with different terms, then the log with the later
// term is more up-to-date. If the logs end with the same term, then whichever log is longer is
// more up-to-date."
t.test('§5.4.1 a voter denies its vote to a candidate whose log is less up to date', async (t) => {
  const cases = [
    { index: 2, logTerm: 2, granted: true }, // same last term, same length
    { index: 3, logTerm: 2, granted: true }, // same last term, longer
    { index: 1, logTerm: 2, granted: false }, // same last term, shorter
    { index: 1, logTerm: 3, granted: true }, // later last term, shorter
    { index: 5, logTerm: 1, granted: false }, // earlier last term, longer
  ];
  for (const k of cases) {
    const c = makeCore('a', { voters: three, terms: [1, 2], term: 2 });
    c.step(msg.vote('b', 'a', 3, k.index, k.logTerm));
    const resp = ofType(drain(c), 'voteResp');
    t.equal(resp[0]?.reject, !k.granted, `candidate log ends (${k.index}, ${k.logTerm}), ours (2, 2)`);
  }
});

// Raft §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only log
// entries from the leader's current term are committed by counting replicas".
t.test('§5.4.2 a leader never commits an earlier-term entry by counting replicas', async (t) => {
  for (const unsafe of [false, true]) {
    const c = makeCore('a', { voters: three, terms: [1, 2], term: 2, ...(unsafe ? { unsafe: { commitOldTermByCount: true } } : {}) });
    tickUntil(c, 'candidate');
    c.step(msg.voteResp('b', 'a', 3, false));
    drain(c);
    c.step(msg.appendResp('b', 'a', 3, 2)); // b holds index 2 (term 2): a majority with a
    drain(c);
    t.equal(c.status().commit, unsafe ? 2 : 0, unsafe ? 'the broken variant commits it (the test bites)' : 'index 2 of term 2 is not committed');
    c.step(msg.appendResp('b', 'a', 3, 3)); // b holds index 3 (term 3, the leader's empty entry)
    drain(c);
    t.equal(c.status().commit, 3, 'an entry of the current term commits it and everything before');
  }
});

// Raft §5.4.2, Figure 8: the scenario (a)–(e) with five servers. In (c) the term-2 entry at index 2
// is on a majority but must not count as committed, because in (d) S5 can still be elected and
// replace it. With the broken variant S1 applies it and then the cluster applies another entry at
// the same index: the state machine safety violation Figure 8 warns about.
t.test('§5.4.2 Figure 8: an old-term entry on a majority can still be replaced', async (t) => {
  for (const unsafe of [false, true]) {
    // One entry per append, so that index 2 can travel without the term-4 entry after it.
    const net = new Network({ voters: ['s1', 's2', 's3', 's4', 's5'], seed: 2, limits: { entriesPerAppendMax: 1 }, ...(unsafe ? { unsafe: { commitOldTermByCount: true } } : {}) });
    // State (b) after S5 led term 3: S1 and S2 hold (2, t2), S5 holds (2, t3).
    net.setLog('s1', [1, 2], 3, 1);
    net.setLog('s2', [1, 2], 3, 1);
    net.setLog('s3', [1], 3, 1);
    net.setLog('s4', [1], 3, 1);
    net.setLog('s5', [1, 3], 3, 1);
    // (c) S1 leads term 4 and copies index 2 to S3, but its own term-4 entry reaches nobody.
    // (Appends carrying it are dropped where they would be accepted; a probe that will be
    // rejected still gets through, so the leader finds where each log ends.)
    const carriesTerm4 = (m: Message) => m.type === 'append' && m.entries.some((e) => e.term === 4) && net.core(m.to).log.lastIndex() >= m.prevLogIndex;
    net.drop = (m) => m.from === 's5' || m.to === 's5' || carriesTerm4(m);
    net.elect('s1');
    t.same(logTerms(net.core('s3')), [1, 2], 'index 2 of term 2 is on S1, S2, S3');
    t.equal(net.core('s1').status().commit, unsafe ? 2 : 1, unsafe ? 'broken: S1 counts replicas and commits it' : 'S1 does not commit it');
    // (d) S1 crashes; S5 is elected with votes from S2, S3, S4 and overwrites index 2.
    net.heal();
    net.drop = (m) => m.from === 's1' || m.to === 's1';
    net.elect('s5');
    t.equal(net.core('s3').log.term(2), 3, 'S5 replaced index 2 with its term-3 entry');
    const s5 = net.core('s5').log.entry(2);
    const s1 = net.core('s1').log.entry(2);
    const applied1 = net.appliedOf('s1');
    const applied5 = net.appliedOf('s5');
    if (unsafe) {
      t.same(applied1, ['e1t1', 'e2t2'], 'broken: S1 applied the term-2 entry at index 2');
      t.same(applied5, ['e1t1', 'e2t3'], 'and S5 applied a different one at index 2: state machine safety broken');
    } else {
      t.same(applied1, ['e1t1'], 'S1 applied nothing at index 2');
      t.same(applied5, ['e1t1', 'e2t3'], 'S5 commits its entry at index 2; nobody ever applied another');
    }
    t.ok(s5 !== undefined && s1 !== undefined && s5.kind === 'normal' && s1.kind === 'normal' && text(s5.data) !== text(s1.data));
  }
});

// Raft §5.4.3 (Leader Completeness): a candidate missing a committed entry cannot win, so every
// leader holds every committed entry.
t.test('§5.4.3 a node missing committed entries cannot become leader', async (t) => {
  const net = new Network({ voters: ['a', 'b', 'c'], seed: 4 });
  net.elect('a');
  net.isolate('c');
  net.core('a').propose(bytes('committed'));
  net.stabilize();
  t.equal(net.core('a').status().commit, 2);
  net.heal();
  net.isolate('a');
  // c lacks index 2: b refuses it, so c cannot win; b can.
  for (let k = 0; k < 30; k++) net.tick('c');
  net.stabilize();
  t.not(net.core('c').status().role, 'leader', 'c (missing the committed entry) is not elected');
  net.elect('b');
  t.same(net.appliedOf('b'), ['committed']);
  t.ok(net.core('b').log.term(2) === 1, 'the new leader holds the committed entry');
  t.equal(logIndex(net.core('c').status().commit) >= 2, true, 'and brings c up to date');
});
