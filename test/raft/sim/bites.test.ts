// The simulator must prove that it bites: with a deliberately broken core (CoreConfig.unsafe) or a
// broken driver, it reports a safety violation within a bounded number of seeds — on a seed that the
// correct core and driver pass, so the violation is the broken variant's doing.
import t from 'tap';
import type { Checks, DriverBug, UnsafeFlag } from '../../../raft/sim/options.js';
import { runSeed } from '../../../raft/sim/simulator.js';
import { EXIT } from '../../../raft/sim/violation.js';

const SEEDS_MAX = 200;
const steps = 2000;

interface Variant {
  readonly name: string;
  readonly unsafe?: readonly UnsafeFlag[];
  readonly driverBugs?: readonly DriverBug[];
  readonly checks?: Checks;
  readonly why: string;
}

const variants: readonly Variant[] = [
  { name: 'ackBeforeSync', unsafe: ['ackBeforeSync'], why: 'acknowledges entries and votes before they are durable (Raft §5.1: persist before responding)' },
  { name: 'commitOldTermByCount', unsafe: ['commitOldTermByCount'], why: 'commits an old-term entry by counting replicas (Raft §5.4.2, Figure 8)' },
  { name: 'forgetVote', unsafe: ['forgetVote'], why: 'never persists its vote, so it can vote twice in a term after a crash (Raft §5.2)' },
  // The same broken cores with only the paper's properties checked (no vote-uniqueness, no
  // commit-rule check): the bug must still surface as two leaders in a term or a lost commit.
  { name: 'forgetVote (paper checks)', unsafe: ['forgetVote'], checks: 'paper', why: 'shows up as two leaders in one term' },
  { name: 'commitOldTermByCount (paper checks)', unsafe: ['commitOldTermByCount'], checks: 'paper', why: 'shows up as a committed entry missing from a later leader' },
  { name: 'ackBeforeSync (paper checks)', unsafe: ['ackBeforeSync'], checks: 'paper', why: 'shows up as a lost committed entry or two leaders' },
  { name: 'driver sendBeforePersist', driverBugs: ['sendBeforePersist'], why: 'the driver sends messagesAfterPersist before the fsync' },
  { name: 'driver leaderReads', driverBugs: ['leaderReads'], why: 'a node that believes it leads serves reads without confirming it still does (stale reads from a deposed leader)' },
  { name: 'driver localReads', driverBugs: ['localReads'], why: 'the driver serves reads from local state without ReadIndex (Raft §6.4)' },
];

for (const v of variants) {
  t.test(`${v.name} is caught within ${SEEDS_MAX} seeds: ${v.why}`, async (t) => {
    for (let seed = 1; seed <= SEEDS_MAX; seed++) {
      const broken = runSeed({ seed, steps, unsafe: v.unsafe ?? [], driverBugs: v.driverBugs ?? [], checks: v.checks ?? 'all' });
      if (broken.exitCode !== EXIT.safety) continue;
      const correct = runSeed({ seed, steps });
      if (correct.violation !== null) continue; // the correct build fails this seed too: not evidence
      t.pass(`seed ${seed}: ${broken.violation?.kind}: ${broken.violation?.message}`);
      return;
    }
    t.fail(`no safety violation in ${SEEDS_MAX} seeds`);
  });
}

t.test('the liveness phase bites: a driver that never sends its acknowledgements converges nowhere', async (t) => {
  for (const seed of [1, 2, 3]) {
    const r = runSeed({ seed, steps, driverBugs: ['dropAcks'] });
    t.equal(r.violation?.kind, 'liveness', `seed ${seed}: ${r.violation?.message ?? 'no violation'}`);
    t.equal(r.exitCode, EXIT.liveness);
  }
});
