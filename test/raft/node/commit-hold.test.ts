// The driver's handling of entry-less messages in a Ready that applies entries (raft/node/node.ts,
// splitMessages): by default they leave at once; with commitHoldMs > 0 those to voters leave after
// the callers' answers, and a commit-only append to a voter is held for commitHoldMs and dropped
// when an append with entries to the same peer supersedes it. Learners get everything at once.

import t from 'tap';
import type { Entry, LogIndex, Member, Message, Ready } from '../../../raft/core/types.js';
import { logIndex, nodeId } from '../../../raft/core/types.js';
import type { StateMachine } from '../../../raft/node/api.js';
import { RaftNode } from '../../../raft/node/node.js';
import { FakeCore, RecordingStorage, RecordingTransport, waitFor } from './fakes.js';

const self = nodeId('n1');
const peer = nodeId('p2');
const learner = nodeId('l3');
const members: Member[] = [
  { id: self, role: 'voter', context: '{"raft":"127.0.0.1:1"}' },
  { id: learner, role: 'learner', context: '{"raft":"127.0.0.1:3"}' },
];
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

class Echo implements StateMachine<number> {
  apply(_c: Uint8Array, index: LogIndex): number { return index; }
  snapshot(): Uint8Array { return new Uint8Array(0); }
  restore(): void {}
}

/** The fake core, plus: a Ready that commits carries a commit-only append to `peer`; `withEntries` adds an append with entries. */
class CommitCore extends FakeCore {
  withEntries: Message[] = [];
  override hasReady(): boolean {
    return super.hasReady() || this.withEntries.length > 0;
  }
  override ready(): Ready {
    const rd = super.ready();
    const extra: Message[] = this.withEntries.splice(0);
    const last = rd.committed.at(-1);
    if (last !== undefined) extra.push(commitOnly(last.index), commitOnly(last.index, learner));
    return { ...rd, messages: [...rd.messages, ...extra] };
  }
}

function commitOnly(commit: LogIndex, to = peer): Message {
  return { type: 'append', from: self, to, term: 1 as never, prevLogIndex: commit, prevLogTerm: 1 as never, entries: [], commit };
}

const isCommitOnly = (m: Message): boolean => m.type === 'append' && m.to === peer && m.entries.length === 0;

async function setup(t: { teardown: (f: () => unknown) => void }, commitHoldMs: number) {
  const storage = new RecordingStorage();
  const transport = new RecordingTransport(storage);
  let core: CommitCore | null = null;
  const node = await RaftNode.open({
    id: self, storage, transport, stateMachine: new Echo(), bootstrap: { members }, tickMs: 10_000, commitHoldMs,
    logger: () => {}, onFatal: (e) => { throw e; },
    createCore: (c, r) => (core = new CommitCore(c, r)),
  });
  t.teardown(() => node.stop());
  await waitFor(() => node.status().leader === self);
  return { node, transport, core: core! as CommitCore };
}

t.test('with commitHoldMs 0 (the default) the commit-only append leaves with the Ready that committed', async (t) => {
  const { node, transport } = await setup(t, 0);
  const index = await node.propose(enc('a'));
  const sent = transport.sent.filter(isCommitOnly);
  t.equal(sent.length, 1, 'sent before the caller got its answer (followers and learners learn the commit at once)');
  const m = sent[0];
  t.equal(m?.type === 'append' ? m.commit : null, index, 'it carries the commit of the applied entry');
});

t.test('a held commit-only append goes out after commitHoldMs when no write follows', async (t) => {
  const { node, transport } = await setup(t, 30);
  const started = Date.now();
  await node.propose(enc('a'));
  await new Promise((r) => setImmediate(r));
  t.equal(transport.sent.filter(isCommitOnly).length, 0, 'still held one loop turn later');
  await waitFor(() => transport.sent.some(isCommitOnly));
  t.ok(Date.now() - started >= 25, `held about commitHoldMs (${Date.now() - started} ms)`);
});

t.test('an append with entries to the peer supersedes the held commit-only append', async (t) => {
  const { node, transport, core } = await setup(t, 1_000);
  await node.propose(enc('a'));
  const entry: Entry = { kind: 'normal', term: 1 as never, index: logIndex(99), data: enc('b') };
  core.withEntries.push({ type: 'append', from: self, to: peer, term: 1 as never, prevLogIndex: logIndex(98), prevLogTerm: 1 as never, entries: [entry], commit: logIndex(1) });
  await node.propose(enc('c'));
  await waitFor(() => transport.sent.some((m) => m.type === 'append' && m.entries.length > 0));
  const before = transport.sent.filter(isCommitOnly).length;
  t.equal(before, 0, 'nothing sent while held');
  await node.stop();
  // The first proposal's commit-only append was superseded; the second's is sent by stop().
  const sent = transport.sent.filter(isCommitOnly);
  t.equal(sent.length, 1, 'only the newest held append leaves, at stop()');
});

t.test('the hold is timed from the oldest append still held, not from one an append with entries superseded', async (t) => {
  const { node, transport, core } = await setup(t, 1_000);
  await node.propose(enc('a'));
  await new Promise((r) => setTimeout(r, 300));
  const entry: Entry = { kind: 'normal', term: 1 as never, index: logIndex(99), data: enc('b') };
  core.withEntries.push({ type: 'append', from: self, to: peer, term: 1 as never, prevLogIndex: logIndex(98), prevLogTerm: 1 as never, entries: [entry], commit: logIndex(1) });
  const c = await node.propose(enc('c'));
  const heldAt = Date.now();
  await waitFor(() => transport.sent.some(isCommitOnly), 5_000);
  const first = transport.sent.find(isCommitOnly);
  t.equal(first?.type === 'append' ? first.commit : null, c, 'the first commit-only append to leave is the newer one (the older was superseded)');
  // Timed from the first hold, it would have left about 700 ms after the newer one was held.
  t.ok(Date.now() - heldAt >= 950, `the newer append was held its own commitHoldMs (${Date.now() - heldAt} ms)`);
});

t.test('a learner\'s commit-only append leaves at once while a voter\'s is held', async (t) => {
  const { node, transport } = await setup(t, 1_000);
  const index = await node.propose(enc('a'));
  const toLearner = transport.sent.filter((m) => m.type === 'append' && m.to === learner && m.entries.length === 0);
  t.equal(toLearner.length, 1, 'sent to the learner before the caller got its answer');
  const m = toLearner[0];
  t.equal(m?.type === 'append' ? m.commit : null, index, 'it carries the commit of the applied entry');
  t.equal(transport.sent.filter(isCommitOnly).length, 0, 'the voter\'s is still held');
});

t.test('commitHoldMs out of range is a RangeError naming it', async (t) => {
  await t.rejects(
    RaftNode.open({ id: self, storage: new RecordingStorage(), transport: new RecordingTransport(), stateMachine: new Echo(), bootstrap: { members }, commitHoldMs: -1, logger: () => {} }),
    { name: 'RangeError', message: /commitHoldMs/ },
  );
});
