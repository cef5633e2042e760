// The metric decorators and bounds of src/metrics and src/api/metrics.ts without processes: what
// TimedStorage and TimedTransport report, when AnswerableClock observes, and the cardinality bounds
// (agents per network, DNS types and rcodes).

import t from 'tap';
import { EventEmitter } from 'node:events';
import { MemoryStorage } from '../../raft/storage/index.js';
import { logIndex, nodeId, term } from '../../raft/core/types.js';
import type { Entry, LogIndex, Message } from '../../raft/core/types.js';
import type { RaftNodeApi } from '../../raft/node/api.js';
import type { IpamQueries } from '../../src/ipam/index.js';
import { AnswerableClock, TimedStateMachine, TimedStorage, TimedTransport, answerableLimits } from '../../src/metrics/index.js';
import type { Transport } from '../../raft/transport/index.js';
import { ApiMetrics } from '../../src/api/metrics.js';
import { apiLimits } from '../../src/api/limits.js';
import { parseMetrics, series, value } from './scrape.js';

const entry = (i: number): Entry => ({ kind: 'normal', term: term(1), index: logIndex(i), data: new Uint8Array([i]) });
const snapshot0 = { meta: { index: logIndex(0), term: term(0), membership: { members: [{ id: nodeId('a'), role: 'voter' as const, context: '{}' }] } }, data: new Uint8Array(7) };

t.test('TimedStorage reports each save, its entries, installed snapshots and commit advances', async (t) => {
  const saves: [number, number | null][] = [];
  const commits: number[] = [];
  const compactions: number[] = [];
  const s = new TimedStorage(new MemoryStorage(), {
    onSave: (seconds, entries, installed) => {
      t.ok(seconds >= 0);
      saves.push([entries, installed]);
    },
    onSaveSnapshot: (_s, bytes) => compactions.push(bytes),
    onCommitKnown: (commit) => commits.push(commit),
  });
  t.equal(await s.load(), null);
  await s.save({ hardState: { term: term(1), vote: null, commit: logIndex(0) }, entries: [], snapshot: snapshot0 });
  await s.save({ hardState: null, entries: [entry(1), entry(2), entry(3)], snapshot: null });
  await s.save({ hardState: { term: term(1), vote: null, commit: logIndex(2) }, entries: [], snapshot: null });
  await s.save({ hardState: { term: term(2), vote: null, commit: logIndex(2) }, entries: [entry(4)], snapshot: null });
  await s.saveSnapshot({ meta: { ...snapshot0.meta, index: logIndex(2), term: term(1) }, data: new Uint8Array(11) });
  t.same(saves, [[0, 7], [3, null], [0, null], [1, null]], 'entries and installed snapshot bytes per save');
  t.same(commits, [2], 'only a rising commit index is news (a term change alone is not)');
  t.same(compactions, [11]);
  t.equal(s.lastIndex(), 4, 'delegates reads');
  t.equal(s.stats().entriesWritten, 4, 'delegates stats');
  await s.close();
});

t.test('AnswerableClock: from the earliest sign of the commit to the zone answering, one observation per IPAM batch', async (t) => {
  const seen: number[] = [];
  const clock = new AnswerableClock((s) => seen.push(s));
  const now = performance.now();
  // A follower hears commit 5 from the leader 40 ms ago; the batch applies 10 ms ago.
  clock.commitKnown(5, now - 40);
  clock.commandApplied(now - 10);
  clock.answerable(4);
  t.equal(seen.length, 1, 'the batch up to 4 is observed');
  t.ok(seen[0]! >= 0.01 && seen[0]! < 0.04, `from its first command (commit 5 is not covered yet): ${seen[0]}`);
  clock.commandApplied(performance.now());
  clock.answerable(5);
  t.equal(seen.length, 2);
  t.ok(seen[1]! >= 0.04 && seen[1]! < 5, `commit 5 counted from when it was heard: ${seen[1]}`);
  clock.commitKnown(5, performance.now());
  clock.commitKnown(3, performance.now());
  clock.commitKnown(6, performance.now());
  clock.answerable(6);
  t.equal(seen.length, 2, 'a batch that applied no command (no-op, membership) is not observed');
  clock.commitKnown(6, performance.now() - 1_000);
  clock.commandApplied(performance.now());
  clock.answerable(7);
  t.ok(seen[2]! < 0.5, 'a commit already answerable (a deferred hard state saved later) is not news');
  for (let i = 0; i < answerableLimits.pendingCommitsMax + 10; i++) clock.commitKnown(100 + i, performance.now());
  clock.commandApplied(performance.now());
  clock.answerable(1_000_000);
  t.equal(seen.length, 4, 'one observation per batch, and pending marks stay bounded');
});

t.test('TimedStateMachine reports commands and times snapshots', async (t) => {
  const snaps: number[] = [];
  let commands = 0;
  const sm = new TimedStateMachine({ apply: (c: Uint8Array) => c.length, snapshot: () => new Uint8Array(42), restore: () => undefined }, { onSnapshot: (_s, bytes) => snaps.push(bytes), onCommand: () => commands++ });
  t.equal(sm.apply(new Uint8Array(3), logIndex(1) as LogIndex), 3, 'the result passes through');
  t.equal(sm.snapshot().length, 42);
  sm.restore(new Uint8Array(1), logIndex(9));
  t.equal(commands, 2, 'an apply and a restore both change the state');
  t.same(snaps, [42]);
});

t.test('TimedTransport reports the commit index of appends and heartbeats', async (t) => {
  let handler: ((m: Message) => void) | null = null;
  const inner = { onMessage: (h: (m: Message) => void) => (handler = h) } as unknown as Transport;
  const seen: number[] = [];
  const delivered: string[] = [];
  new TimedTransport(inner, (c) => seen.push(c)).onMessage((m) => delivered.push(m.type));
  const base = { from: nodeId('l'), to: nodeId('f'), term: term(2) };
  handler!({ ...base, type: 'heartbeat', commit: logIndex(7), context: '' } as Message);
  handler!({ ...base, type: 'append', prevLogIndex: logIndex(7), prevLogTerm: term(2), entries: [], commit: logIndex(8) } as Message);
  handler!({ ...base, type: 'voteResp', reject: false } as Message);
  t.same(seen, [7, 8]);
  t.same(delivered, ['heartbeat', 'append', 'voteResp'], 'every message reaches the node');
});

function fakeNode(): RaftNodeApi {
  const events = new EventEmitter();
  const status = { id: nodeId('a'), role: 'leader' as const, term: term(3), leader: nodeId('a'), commitIndex: logIndex(9), appliedIndex: logIndex(9), members: [] };
  return { id: nodeId('a'), status: () => status, on: (e: string, l: (...a: unknown[]) => void) => events.on(e, l), off: () => undefined } as unknown as RaftNodeApi;
}

t.test('per-agent IPAM series are bounded per network, fullest agents first', async (t) => {
  const agents = Array.from({ length: apiLimits.agentGaugesPerNetworkMax + 100 }, (_, i) => ({
    agent: `ag${String(i).padStart(4, '0')}`,
    // Agent i holds i % 7 of 10 in its docker half; the 100 beyond the bound must be the emptiest.
    mesos: { capacity: 10, used: 0, free: 10 },
    docker: { capacity: 10, used: i % 7, free: 10 - (i % 7) },
  }));
  const ipam = {
    taskCount: () => 0,
    listNetworks: () => [{ name: 'big' }],
    networkUsage: () => ({ network: 'big', capacity: 20 * agents.length, used: 0, free: 0, agents }),
  } as unknown as IpamQueries;
  const m = new ApiMetrics({ node: fakeNode(), ipam });
  const s = parseMetrics(await m.registry.metrics());
  const exported = new Set(series(s, 'vnetd_ipam_agent_used', { pool: 'docker' }).map((x) => x.labels['agent']));
  t.equal(exported.size, apiLimits.agentGaugesPerNetworkMax);
  t.equal(value(s, 'vnetd_ipam_network_agents', { network: 'big' }), agents.length, 'the total still says how many there are');
  const dropped = agents.filter((a) => !exported.has(a.agent));
  const minExported = Math.min(...agents.filter((a) => exported.has(a.agent)).map((a) => a.docker.used));
  t.ok(dropped.every((a) => a.docker.used <= minExported), 'the agents left out are never fuller than those exported');
});

t.test('DNS label values are bounded', async (t) => {
  const m = new ApiMetrics({ node: fakeNode(), ipam: { taskCount: () => 0, listNetworks: () => [] } as unknown as IpamQueries });
  for (let qtype = 0; qtype < 300; qtype++) m.onDnsQuery({ transport: 'udp', qtype, rcode: qtype % 24, seconds: 0.0001, forwarded: false });
  m.onDnsQuery({ transport: 'tcp', qtype: -1, rcode: 1, seconds: 0.0001, forwarded: false });
  const s = parseMetrics(await m.registry.metrics());
  const types = new Set(series(s, 'vnetd_dns_queries_total').map((x) => x.labels['type']));
  const rcodes = new Set(series(s, 'vnetd_dns_queries_total').map((x) => x.labels['rcode']));
  t.ok(types.size <= 16, `types: ${[...types].join(' ')}`);
  t.ok(types.has('other') && types.has('SRV') && types.has('unreadable'));
  t.same([...rcodes].sort(), ['BADVERS', 'FORMERR', 'NOERROR', 'NOTIMP', 'NXDOMAIN', 'REFUSED', 'SERVFAIL', 'other']);
  t.equal(value(s, 'vnetd_dns_queries_total'), 301, 'every query counted');
});
