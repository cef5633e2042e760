// Randomised safety check of the core on its own (the full simulator lives in raft/sim): random
// ticks, reordered, dropped and duplicated messages, partitions, restarts, proposals, compactions,
// transfers, reads and membership changes, with election safety, log matching of applied state and
// monotonic commit checked after every step. Seeds replay: FUZZ_SEED=n runs one seed.
import t from 'tap';
import type { RaftCore } from '../../../raft/core/raft.js';
import type { NodeId } from '../../../raft/core/types.js';
import { nodeId } from '../../../raft/core/types.js';
import { Network, bytes } from './network.js';

const seedsDefault = 60;
const stepsPerSeed = 1500;

/** FUZZ_UNSAFE=forgetVote (etc.) switches on a broken variant, to see the checks bite. */
function unsafeFromEnv(): { unsafe: Record<string, boolean> } | Record<string, never> {
  const name = process.env['FUZZ_UNSAFE'];
  return name === undefined ? {} : { unsafe: { [name]: true } };
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  const x = xs[Math.floor(rnd() * xs.length)];
  if (x === undefined) throw new Error('pick from empty');
  return x;
}

export const fuzzStats = { applied: 0, leaders: 0, snapshots: 0 };

function runSeed(seed: number): string | null {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const net = new Network({ voters: ['a', 'b', 'c'], joiners: ['d', 'e'], seed, preVote: seed % 2 === 0, checkQuorum: seed % 3 !== 0, electionTicks: 6, limits: { snapshotChunkBytes: 8, entriesPerAppendMax: 3, inflightMessagesMax: 4 }, ...unsafeFromEnv() });
  const rnd = net.random;
  const leaderOfTerm = new Map<number, NodeId>();
  const lastCommit = new Map<NodeId, number>();
  let proposals = 0;
  for (let step = 0; step < stepsPerSeed; step++) {
    const r = rnd();
    const id = pick(rnd, ids);
    const core = net.core(id);
    if (r < 0.3) core.tick();
    else if (r < 0.75 && net.queue.length > 0) {
      const k = Math.floor(rnd() * net.queue.length);
      const [m] = net.queue.splice(k, 1);
      if (m !== undefined) {
        if (rnd() < 0.1) net.queue.push(m); // duplicate
        if (rnd() > 0.1) net.deliver(m); // else drop
      }
    } else if (r < 0.85) core.propose(bytes(`p${proposals++}`));
    else if (r < 0.87) {
      net.start(core.id); // crash and restart: nothing unsynced is lost in this network
      lastCommit.delete(core.id);
    } else if (r < 0.89) {
      if (core.status().applied > core.status().firstIndex + 2) net.compact(id);
    } else if (r < 0.9) core.transferLeadership(nodeId(pick(rnd, ids)));
    else if (r < 0.92) core.readIndex(`r${step}`);
    else if (r < 0.94) {
      const target = nodeId(pick(rnd, ids));
      const kind = rnd();
      core.proposeConfChange(kind < 0.4 ? { type: 'addLearner', id: target, context: '' } : kind < 0.8 ? { type: 'promote', id: target } : { type: 'remove', id: target });
    } else if (r < 0.97) net.isolate(pick(rnd, ids));
    else net.heal();
    net.drainReady();
    const problem = check(net, leaderOfTerm, lastCommit);
    if (problem !== null) return `step ${step}: ${problem}`;
  }
  fuzzStats.applied += Math.max(...ids.map((id) => net.appliedOf(id).length));
  fuzzStats.leaders += leaderOfTerm.size;
  fuzzStats.snapshots += net.events.filter((e) => e.startsWith('snapshotRestored')).length;
  return null;
}

function check(net: Network, leaderOfTerm: Map<number, NodeId>, lastCommit: Map<NodeId, number>): string | null {
  for (const c of net.cores.values()) {
    const s = c.status();
    if (s.role === 'leader') {
      const prev = leaderOfTerm.get(s.term);
      if (prev !== undefined && prev !== c.id) return `two leaders in term ${s.term}: ${prev} and ${c.id}`;
      leaderOfTerm.set(s.term, c.id);
    }
    const before = lastCommit.get(c.id) ?? 0;
    if (s.commit < before) return `${c.id} commit went back from ${before} to ${s.commit}`;
    lastCommit.set(c.id, s.commit);
  }
  const states = [...net.cores.values()].map((c: RaftCore) => ({ id: c.id, applied: net.appliedOf(c.id) }));
  for (const x of states) {
    for (const y of states) {
      const n = Math.min(x.applied.length, y.applied.length);
      for (let i = 0; i < n; i++) {
        if (x.applied[i] !== y.applied[i]) return `state machines differ at ${i}: ${x.id}=${x.applied[i]} ${y.id}=${y.applied[i]}`;
      }
    }
  }
  return null;
}

t.test('random schedules keep the Raft safety properties', async (t) => {
  const only = process.env['FUZZ_SEED'];
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: seedsDefault }, (_, k) => k + 1);
  for (const seed of seeds) {
    let problem: string | null;
    try {
      problem = runSeed(seed);
    } catch (e) {
      problem = `threw: ${(e as Error).stack ?? String(e)}`;
    }
    if (problem !== null) {
      t.fail(`seed ${seed}: ${problem} (replay: FUZZ_SEED=${seed} npx tap dist/test/raft/core/fuzz.test.js)`);
      return;
    }
  }
  t.comment(JSON.stringify(fuzzStats));
  // The schedules must make progress, or the safety checks above prove nothing.
  t.ok(fuzzStats.applied > seeds.length * 10, `entries applied: ${fuzzStats.applied}`);
  t.ok(fuzzStats.leaders > seeds.length, `leaders elected: ${fuzzStats.leaders}`);
  t.pass(`${seeds.length} seeds of ${stepsPerSeed} steps`);
});
