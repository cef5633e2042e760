// A sample of simulator seeds against the real core: every invariant after every step, then the
// liveness phase. SIM_SEED_BASE and SIM_SEEDS pick other seeds (the default is fixed, so that CI is
// reproducible); a failure prints the command that replays the seed.
import t from 'tap';
import { runSeed } from '../../../raft/sim/simulator.js';

const base = Number(process.env['SIM_SEED_BASE'] ?? 1);
const count = Number(process.env['SIM_SEEDS'] ?? 300);
const steps = 2000;

t.test(`${count} seeds from ${base}, ${steps} steps each: no violation`, async (t) => {
  let failures = 0;
  let liveness = 0;
  for (let seed = base; seed < base + count; seed++) {
    const r = runSeed({ seed, steps });
    liveness += r.livenessEvents;
    if (r.violation === null) continue;
    failures++;
    t.fail(`seed ${seed}: ${r.violation.kind}: ${r.violation.message}`, {
      replay: `npm run sim -- --seed ${seed} --steps ${steps} --nodes ${r.options.voters}`,
    });
  }
  t.equal(failures, 0, `${count} seeds, ${failures} failing`);
  t.ok(liveness > 0, 'the liveness phase ran');
});

t.test('both cluster sizes and the interesting options come up in the sample', async (t) => {
  const seen = { 3: 0, 5: 0, learners: 0, snapshots: 0, confChanges: 0, transfers: 0, reads: 0, crashes: 0, lostWrites: 0, entriesTaken: 0 };
  for (let seed = base; seed < base + 40; seed++) {
    const r = runSeed({ seed, steps });
    if (r.options.voters === 3) seen[3]++;
    if (r.options.voters === 5) seen[5]++;
    if (r.options.learners > 0) seen.learners++;
    if (r.stats.snapshotsInstalled > 0) seen.snapshots++;
    if (r.stats.confChanges > 0) seen.confChanges++;
    if (r.stats.transfers > 0) seen.transfers++;
    if (r.stats.readsServed > 0) seen.reads++;
    if (r.stats.crashes > 0) seen.crashes++;
    if (r.stats.lostWrites > 0) seen.lostWrites++;
    if (r.stats.entriesTaken > 0) seen.entriesTaken++;
  }
  for (const [what, n] of Object.entries(seen)) t.ok(n > 0, `${what}: ${n} of 40 seeds`);
});
