// A short fuzz round (issue 7, DESIGN.md §6): bad HTTP requests, peer frames and DNS packets
// against a 3-voter cluster while a valid workload runs. No crash, bounded RSS growth, a 4xx for
// every bad request, and the state of a reference node that saw only the valid operations.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runFuzz } from './fuzz.js';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261127);

t.test(`fuzz round: seed ${seed}, 20 s`, { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `vnetd-fuzz-test-seed-${seed}-`));
  const lines: string[] = [];
  const r = await runFuzz({ seed, durationS: 20, dir, log: (l) => lines.push(l) });
  t.comment(lines.join('\n'));
  t.comment(r.summary);
  if (r.violations.length === 0) rmSync(dir, { recursive: true, force: true });
  else t.comment(`seed ${seed}: run directory kept at ${dir}`);
  t.ok(r.http > 100, `bad HTTP requests sent: ${r.http}`);
  t.ok(r.dns > 50, `bad DNS packets sent: ${r.dns}`);
  t.ok(r.peer > 10, `bad peer connections: ${r.peer}`);
  t.ok(r.valid > 20, `valid operations applied meanwhile: ${r.valid}`);
  t.same([...new Set(r.violations)], [], `no violations (seed ${seed})`);
});
