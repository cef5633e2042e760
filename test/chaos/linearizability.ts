// A linearizability checker in the style of Porcupine (Athalye) and Knossos (Kingsbury): the
// Wing–Gong search over a history of call and return events, with Lowe's memoisation (a
// configuration = the set of operations linearized so far + the model state, each visited once).
//
// Why it looks like this:
// - Histories are checked per key (P-compositionality, Herlihy & Wing 1990 §3.3): a history is
//   linearizable iff each per-object sub-history is, so callers partition by task id and agent id
//   and each search stays small.
// - An operation whose outcome is unknown (the client timed out) returns at +Infinity: it may be
//   linearized at any point after its call, including after everything else, which is the same as
//   "never happened" for every later observation (Porcupine's convention for timed-out calls).
// - Models may be nondeterministic (`step` returns every possible next state): an allocation that
//   timed out may have taken an IP we never saw, which a later read pins down.
// - The search is iterative (STYLE rule 7: no recursion on input-controlled depth) and bounded by
//   `searchStepsMax`; a search that runs out answers 'unknown', never a false verdict.

export interface Operation<I, O> {
  /** Who issued it (for reports only). */
  readonly client: number;
  readonly input: I;
  readonly output: O;
  /** Invoke time, ms. */
  readonly call: number;
  /** Return time, ms; +Infinity when the outcome is unknown. */
  readonly ret: number;
}

export interface Model<S, I, O> {
  readonly init: S;
  /** Every state the object may be in after `input` answered `output` in `state`; [] if impossible. */
  step(state: S, input: I, output: O): readonly S[];
  /** A string that identifies the state (for memoisation). */
  key(state: S): string;
}

export const linearizabilityLimits = {
  /** Search steps (call entries tried) per partition before answering 'unknown'. */
  searchStepsMax: 2_000_000,
  /** Operations per partition; more would make the bitset keys and the search impractical. */
  operationsPerPartitionMax: 5_000,
} as const;

export type Verdict = 'ok' | 'violation' | 'unknown';

export interface CheckResult {
  readonly verdict: Verdict;
  /** When not linearizable: the longest prefix of operations (by index) the search could linearize. */
  readonly longestPrefix: readonly number[];
  readonly steps: number;
}

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/** The doubly linked list of events: calls before returns at equal times (more overlap = more permissive). */
function buildEntries<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((o, i) => {
    if (!(o.ret >= o.call)) throw new RangeError(`operation ${i} returns (${o.ret}) before its call (${o.call})`);
    const call: Entry = { op: i, isCall: true, time: o.call, match: null, prev: null, next: null };
    const ret: Entry = { op: i, isCall: false, time: o.ret, match: null, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Removes a call and its return from the list. */
function lift(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next !== null) e.next.prev = e.prev;
  const r = e.match!;
  r.prev!.next = r.next;
  if (r.next !== null) r.next.prev = r.prev;
}

/** Puts them back (in the reverse order of lift). */
function unlift(e: Entry): void {
  const r = e.match!;
  r.prev!.next = r;
  if (r.next !== null) r.next.prev = r;
  e.prev!.next = e;
  if (e.next !== null) e.next.prev = e;
}

class Bits {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return Array.from(this.words, (w) => w.toString(36)).join('.');
  }
  members(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.words.length * 32; i++) if ((this.words[i >>> 5]! >>> (i & 31)) & 1) out.push(i);
    return out;
  }
}

interface Frame<S> {
  readonly entry: Entry;
  readonly before: S;
  readonly choices: readonly S[];
  choice: number;
}

/** Checks one partition (the operations of one object). */
export function checkOperations<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): CheckResult {
  if (ops.length > linearizabilityLimits.operationsPerPartitionMax) {
    throw new RangeError(`${ops.length} operations in one partition; at most ${linearizabilityLimits.operationsPerPartitionMax}`);
  }
  const head = buildEntries(ops);
  const linearized = new Bits(ops.length);
  const seen = new Set<string>();
  const stack: Frame<S>[] = [];
  let state = model.init;
  let entry: Entry | null = head.next;
  let steps = 0;
  let longest: number[] = [];
  // Tries the choices of a call entry from `from`; on success descends and returns true.
  const descend = (e: Entry, before: S, choices: readonly S[], from: number): boolean => {
    for (let c = from; c < choices.length; c++) {
      linearized.set(e.op);
      const k = `${linearized.key()}|${model.key(choices[c]!)}`;
      if (!seen.has(k)) {
        seen.add(k);
        stack.push({ entry: e, before, choices, choice: c });
        state = choices[c]!;
        lift(e);
        return true;
      }
      linearized.clear(e.op);
    }
    return false;
  };
  while (head.next !== null) {
    if (++steps > linearizabilityLimits.searchStepsMax) return { verdict: 'unknown', longestPrefix: longest, steps };
    if (entry !== null && entry.isCall) {
      const o = ops[entry.op]!;
      const choices = model.step(state, o.input, o.output);
      if (descend(entry, state, choices, 0)) {
        if (stack.length > longest.length) longest = linearized.members();
        entry = head.next;
      } else entry = entry.next;
      continue;
    }
    // A return entry (or the end): the operation it closes was not linearized in time; backtrack.
    for (;;) {
      const top = stack.pop();
      if (top === undefined) return { verdict: 'violation', longestPrefix: longest, steps };
      unlift(top.entry);
      linearized.clear(top.entry.op);
      state = top.before;
      if (descend(top.entry, top.before, top.choices, top.choice + 1)) {
        entry = head.next;
        break;
      }
      entry = top.entry.next;
      if (entry !== null) break;
    }
  }
  return { verdict: 'ok', longestPrefix: longest, steps };
}

/** Partitions operations by `keyOf` and checks each partition. */
export function checkPartitioned<S, I, O, Op extends Operation<I, O>>(
  model: Model<S, I, O>,
  ops: readonly Op[],
  keyOf: (op: Op) => string,
): Map<string, CheckResult> {
  const parts = new Map<string, Op[]>();
  for (const o of ops) {
    const k = keyOf(o);
    const list = parts.get(k);
    if (list === undefined) parts.set(k, [o]);
    else list.push(o);
  }
  const out = new Map<string, CheckResult>();
  for (const [k, list] of parts) out.set(k, checkOperations(model, list));
  return out;
}
