// The suite bites (issue 7, REFERENCE.md §6): the same chaos round against deliberately broken
// builds must report violations. Each build is a launcher in test/chaos/broken/ that patches the
// driver before the CLI loads (nothing in src/ or raft/ changes).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runChaos } from './run.js';

const seed = Number(process.env['CHAOS_SEED'] ?? 7);

t.test('consistent reads without ReadIndex (stale reads) are caught', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `vnetd-chaos-bites-seed-${seed}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const r = await runChaos({
    voters: 3, learners: 0, durationS: 20, clients: 6, seed, faults: ['partition'], dir,
    entry: fileURLToPath(new URL('./broken/stale-reads.js', import.meta.url)),
    log: (l) => lines.push(l),
  });
  t.comment(lines.filter((l) => !l.startsWith('VIOLATION')).join('\n'));
  t.comment(r.summary);
  t.ok(r.violations.length > 0, `violations reported: ${r.violations.length}`);
  t.ok(r.violations.some((v) => v.startsWith('not linearizable')), `a linearizability violation among them: ${r.violations.slice(0, 3).join(' || ').slice(0, 600)}`);
  t.notOk(r.violations.some((v) => v.startsWith('crash')), 'the broken build did not crash (only its reads are wrong)');
});

t.test('writes acknowledged before they commit are caught', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `vnetd-chaos-bites-ack-seed-${seed}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const r = await runChaos({
    voters: 3, learners: 0, durationS: 20, clients: 6, seed, faults: ['kill', 'partition'], dir,
    entry: fileURLToPath(new URL('./broken/ack-before-commit.js', import.meta.url)),
    log: (l) => lines.push(l),
  });
  t.comment(lines.filter((l) => !l.startsWith('VIOLATION')).join('\n'));
  t.comment(r.summary);
  t.ok(r.violations.length > 0, `violations reported: ${r.violations.length}: ${r.violations.slice(0, 3).join(' || ').slice(0, 600)}`);
});
