// The checker on small hand-made histories whose verdicts can be worked out by hand (Herlihy &
// Wing 1990 §2 examples adapted to a register, and the task/agent models of models.ts).

import t from 'tap';
import { checkOperations, checkPartitioned } from './linearizability.js';
import type { Model, Operation } from './linearizability.js';
import { agentModel, taskModel } from './models.js';
import type { AgentInput, AgentOutput, TaskInput, TaskOutput } from './models.js';

// A read/write register: the classic example.
type RegIn = { f: 'w'; v: number } | { f: 'r' };
const register: Model<number, RegIn, number | null> = {
  init: 0,
  step: (s, i, o) => (i.f === 'w' ? [i.v] : o === s ? [s] : []),
  key: (s) => String(s),
};
const op = <I, O>(client: number, input: I, output: O, call: number, ret: number): Operation<I, O> => ({ client, input, output, call, ret });

t.test('register: sequential and concurrent histories', async (t) => {
  // w(1) then r→1: linearizable.
  t.equal(checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, 1), op(1, { f: 'r' }, 1, 2, 3)]).verdict, 'ok');
  // w(1) completes, then a later read still returns 0: a stale read.
  t.equal(checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, 1), op(1, { f: 'r' }, 0, 2, 3)]).verdict, 'violation');
  // The read overlaps the write: either value is fine.
  t.equal(checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, 10), op(1, { f: 'r' }, 0, 2, 3)]).verdict, 'ok');
  t.equal(checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, 10), op(1, { f: 'r' }, 1, 2, 3)]).verdict, 'ok');
  // Two reads during one write: once a read saw 1, a later read may not see 0 (no flicker).
  t.equal(
    checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, 10), op(1, { f: 'r' }, 1, 1, 2), op(2, { f: 'r' }, 0, 3, 4)]).verdict,
    'violation',
  );
  // Two concurrent writes, reads that pin the order w2 < w1 consistently.
  t.equal(
    checkOperations(register, [
      op(0, { f: 'w', v: 1 }, null, 0, 10),
      op(1, { f: 'w', v: 2 }, null, 0, 10),
      op(2, { f: 'r' }, 2, 1, 2),
      op(3, { f: 'r' }, 1, 11, 12),
    ]).verdict,
    'ok',
  );
  // ... and inconsistently: 2 then 1 then 2 again with no third write.
  t.equal(
    checkOperations(register, [
      op(0, { f: 'w', v: 1 }, null, 0, 10),
      op(1, { f: 'w', v: 2 }, null, 0, 10),
      op(2, { f: 'r' }, 2, 1, 2),
      op(3, { f: 'r' }, 1, 3, 4),
      op(4, { f: 'r' }, 2, 5, 6),
    ]).verdict,
    'violation',
  );
});

t.test('register: an operation with an unknown outcome may or may not take effect', async (t) => {
  // The write timed out (ret = Infinity): a later read of 0 (never happened) and of 1 (happened) are both fine.
  t.equal(checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, Infinity), op(1, { f: 'r' }, 0, 5, 6)]).verdict, 'ok');
  t.equal(checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, Infinity), op(1, { f: 'r' }, 1, 5, 6)]).verdict, 'ok');
  // ... but it cannot take effect before it was called.
  t.equal(checkOperations(register, [op(1, { f: 'r' }, 1, 0, 1), op(0, { f: 'w', v: 1 }, null, 2, Infinity)]).verdict, 'violation');
  // ... and once it is seen, it cannot be unseen.
  t.equal(
    checkOperations(register, [op(0, { f: 'w', v: 1 }, null, 0, Infinity), op(1, { f: 'r' }, 1, 5, 6), op(1, { f: 'r' }, 0, 7, 8)]).verdict,
    'violation',
  );
});

type TaskOp = Operation<TaskInput, TaskOutput>;
const alloc = (ip: string, call: number, ret: number): TaskOp => op(0, { f: 'alloc' }, { kind: 'ok', value: ip }, call, ret);
const allocUnknown = (call: number): TaskOp => op(0, { f: 'alloc' }, { kind: 'unknown' }, call, Infinity);
const allocRefused = (call: number, ret: number): TaskOp => op(0, { f: 'alloc' }, { kind: 'refused', code: 'exhausted' }, call, ret);
const release = (call: number, ret: number): TaskOp => op(1, { f: 'release' }, { kind: 'ok', value: null }, call, ret);
const releaseUnknown = (call: number): TaskOp => op(1, { f: 'release' }, { kind: 'unknown' }, call, Infinity);
const read = (ip: string | null, call: number, ret: number): TaskOp => op(2, { f: 'read' }, { kind: 'ok', value: ip }, call, ret);

t.test('task model: idempotent allocation, release, consistent reads', async (t) => {
  const ok = (h: TaskOp[], msg: string) => t.equal(checkOperations(taskModel, h).verdict, 'ok', msg);
  const bad = (h: TaskOp[], msg: string) => t.equal(checkOperations(taskModel, h).verdict, 'violation', msg);
  ok([alloc('9.0.0.2', 0, 1), alloc('9.0.0.2', 2, 3), read('9.0.0.2', 4, 5)], 'a retried allocation returns the same IP');
  bad([alloc('9.0.0.2', 0, 1), alloc('9.0.0.3', 2, 3)], 'a retry that returns another IP while the first is held');
  ok([alloc('9.0.0.2', 0, 1), release(2, 3), alloc('9.0.0.3', 4, 5)], 'after a release a new IP is fine');
  bad([alloc('9.0.0.2', 0, 1), read(null, 2, 3)], 'an acknowledged allocation read back as absent (lost write or stale read)');
  bad([alloc('9.0.0.2', 0, 1), release(2, 3), read('9.0.0.2', 4, 5)], 'a released task read back (stale read)');
  ok([alloc('9.0.0.2', 0, 1), release(2, 10), read('9.0.0.2', 4, 5), read(null, 11, 12)], 'a read during the release sees either');
  ok([allocUnknown(0), read(null, 5, 6)], 'a timed-out allocation may not have happened');
  ok([allocUnknown(0), read('9.0.0.7', 5, 6), read('9.0.0.7', 7, 8)], '... or may have, with an IP first seen later');
  bad([allocUnknown(0), read('9.0.0.7', 5, 6), read('9.0.0.8', 7, 8)], '... but then its IP is fixed');
  ok([allocUnknown(0), alloc('9.0.0.4', 1, 2), read('9.0.0.4', 3, 4)], 'a retry after a timeout returns what the first attempt took');
  ok([alloc('9.0.0.2', 0, 1), releaseUnknown(2), read(null, 5, 6)], 'a timed-out release may have happened');
  ok([alloc('9.0.0.2', 0, 1), releaseUnknown(2), read('9.0.0.2', 5, 6)], '... or not yet');
  bad([alloc('9.0.0.2', 0, 1), releaseUnknown(2), read(null, 5, 6), read('9.0.0.2', 7, 8)], '... but not both in that order');
  ok([allocRefused(0, 1), read(null, 2, 3)], 'a refused allocation leaves nothing');
  bad([alloc('9.0.0.2', 0, 1), allocRefused(2, 3)], 'exhaustion reported to a task that holds an IP');
  bad([allocRefused(0, 1), read('9.0.0.2', 2, 3)], 'a refused allocation that took an IP');
});

type AgentOp = Operation<AgentInput, AgentOutput>;
t.test('agent model: blocks never change while the agent exists (DESIGN.md §4)', async (t) => {
  const reg = (b: string, call: number, ret: number): AgentOp => op(0, { f: 'register' }, { kind: 'ok', value: b }, call, ret);
  const get = (b: string | null, call: number, ret: number): AgentOp => op(1, { f: 'read' }, { kind: 'ok', value: b }, call, ret);
  t.equal(checkOperations(agentModel, [reg('A', 0, 1), reg('A', 2, 3), get('A', 4, 5)]).verdict, 'ok');
  t.equal(checkOperations(agentModel, [reg('A', 0, 1), reg('B', 2, 3)]).verdict, 'violation');
  t.equal(checkOperations(agentModel, [get(null, 0, 1), reg('A', 2, 3), get('A', 4, 5)]).verdict, 'ok');
  t.equal(checkOperations(agentModel, [reg('A', 0, 1), get(null, 2, 3)]).verdict, 'violation');
  t.equal(checkOperations(agentModel, [op(0, { f: 'register' }, { kind: 'unknown' }, 0, Infinity), get('A', 4, 5), get('A', 6, 7)]).verdict, 'ok');
  t.equal(checkOperations(agentModel, [get('A', 0, 1)]).verdict, 'violation', 'a read of an agent nobody registered');
});

t.test('partitions are checked independently; a violation in one is reported for that key only', async (t) => {
  const h = [
    { ...alloc('9.0.0.2', 0, 1), input: { f: 'alloc' as const } },
    { ...read(null, 2, 3) },
    { ...alloc('9.0.0.3', 0, 1) },
  ];
  const keys = ['t1', 't1', 't2'];
  const results = checkPartitioned(taskModel, h, (o) => keys[h.indexOf(o)]!);
  t.equal(results.get('t1')?.verdict, 'violation');
  t.equal(results.get('t2')?.verdict, 'ok');
});

t.test('memoisation keeps a long overlapping history fast', async (t) => {
  // 6 fully concurrent allocations with the same answer, then 300 reads each overlapping its
  // 3 neighbours, then a read of nothing that no release explains. Without memoisation the
  // search would retry the 6! orders of the allocations, times the orders of every window of
  // reads, below the failing end; with it, each (set linearized, state) is visited once.
  const h: TaskOp[] = [];
  for (let i = 0; i < 6; i++) h.push(alloc('9.0.0.2', 0, 100));
  for (let i = 0; i < 300; i++) h.push(read('9.0.0.2', 50 + i, 53 + i));
  h.push(read(null, 1000, 1001));
  const started = Date.now();
  const r = checkOperations(taskModel, h);
  t.equal(r.verdict, 'violation', 'the final read of nothing has no release to explain it');
  t.ok(Date.now() - started < 10_000, `searched in ${Date.now() - started} ms, ${r.steps} steps`);
  t.equal(checkOperations(taskModel, h.slice(0, -1)).verdict, 'ok');
});

t.test('a history with a return before its call is refused', async (t) => {
  t.throws(() => checkOperations(register, [op(0, { f: 'r' }, 0, 5, 4)]), /returns/);
});
