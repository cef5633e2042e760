// A short chaos round against real processes (issue 7): 3 voters behind the fault proxies, one
// learner, every fault kind, a fixed seed. It must end with 0 violations; on failure the seed,
// the run directory (kept) and every violation are printed.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { faultKinds } from './faults.js';
import { runChaos } from './run.js';

const seed = Number(process.env['CHAOS_SEED'] ?? 20261127);
const durationS = Number(process.env['CHAOS_DURATION_S'] ?? 40);

t.test(`chaos round: seed ${seed}, ${durationS} s, 3 voters + 1 learner, all faults`, { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `vnetd-chaos-test-seed-${seed}-`));
  const lines: string[] = [];
  const r = await runChaos({ voters: 3, learners: 1, durationS, clients: 4, seed, faults: [...faultKinds], dir, log: (l) => lines.push(l) });
  t.comment(lines.join('\n'));
  t.comment(r.summary);
  if (r.violations.length === 0) rmSync(dir, { recursive: true, force: true });
  else {
    // The log and the violations go with the kept directory: a failure under `npm test` is
    // otherwise readable only in tap's output.
    writeFileSync(join(dir, 'result.txt'), [...lines, ...r.violations.map((v) => `VIOLATION ${v}`), r.summary, ''].join('\n'));
    t.comment(`seed ${seed}: run directory kept at ${dir}`);
  }
  t.ok(r.ops > 100, `the clients did work: ${r.ops} ops`);
  t.ok(r.ok > r.ops / 2, `most operations answered: ${r.ok} of ${r.ops}`);
  t.ok(new Set(r.events.map((e) => e.kind)).size >= 3, `several fault kinds were injected: ${[...new Set(r.events.map((e) => e.kind))].join(',')}`);
  t.ok(r.events.some((e) => e.kind === 'restart' && e.what.startsWith('kill -9 of all')), 'the all-nodes round ran');
  for (const s of r.learnersDns) t.ok(s.answered > s.asked / 2, `learner ${s.id} kept answering DNS: ${s.answered}/${s.asked}, longest gap ${s.longestGapMs} ms`);
  t.same(r.violations, [], `no violations (seed ${seed})`);
  t.match(r.summary, /^chaos: ops=\d+ ok=\d+ failed=\d+ indeterminate=\d+ violations=0$/);
});
