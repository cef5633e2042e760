// The power-loss model (journal.ts) and the shim's coverage: the journal replays into durable
// sizes, a cut shortens exactly the unsynced tails, malformed journals are refused, and the shim
// intercepts every file call the LevelDB binary imports (nm -D), so nothing durable escapes it.

import t from 'tap';
import { mulberry32 } from '../util/prng.js';
import { JournalError, durableSizes, planCut, randomPrefix } from './journal.js';
import { importedSymbols, interceptedCalls, levelBinaries, shimRoot, unmodelledCalls } from './power-cut.js';

const d = '/data/raft';

t.test('synced sizes: the last successful sync counts', async (t) => {
  const j = [`T\t${d}/000003.log`, `S\t124\t${d}/000003.log`, `S\t248\t${d}/000003.log`, ''].join('\n');
  t.same([...durableSizes(j)], [[`${d}/000003.log`, 248]]);
});

t.test('a reopen with truncation makes the file non-durable again', async (t) => {
  const j = [`S\t50\t${d}/LOG`, `T\t${d}/LOG`, ''].join('\n');
  t.equal(durableSizes(j).get(`${d}/LOG`), 0);
});

t.test('rename moves the durable size, replacing the target; unlink forgets it', async (t) => {
  // LevelDB's SetCurrentFile: write and sync NNNNNN.dbtmp, rename it over CURRENT.
  const j = [
    `S\t16\t${d}/000001.dbtmp`, `R\t${d}/000001.dbtmp\t${d}/CURRENT`,
    `T\t${d}/000002.dbtmp`, `R\t${d}/000002.dbtmp\t${d}/CURRENT`, // never synced: CURRENT holds nothing durable
    `S\t50\t${d}/MANIFEST-000002`, `U\t${d}/MANIFEST-000002`,
    `S\t9\t${d}/x`, `R\t${d}/x\t-`, // moved out of the watched directory
    `R\t-\t${d}/y`, // moved in: nothing known about it
    '',
  ].join('\n');
  t.same([...durableSizes(j)], [[`${d}/CURRENT`, 0]]);
});

t.test('a renamed directory takes the durable sizes of its files along', async (t) => {
  const j = [
    `S\t100\t${d}/000005.log`, `S\t16\t${d}/CURRENT`, `S\t7\t${d}x/other`,
    `R\t${d}\t${d}.before-force-1`,
    '',
  ].join('\n');
  t.same(new Map(durableSizes(j)), new Map([[`${d}.before-force-1/000005.log`, 100], [`${d}.before-force-1/CURRENT`, 16], [`${d}x/other`, 7]]), 'a sibling with the same prefix stays');
});

t.test('an unterminated last record is dropped (the model then loses more, never less)', async (t) => {
  t.same([...durableSizes(`S\t10\t${d}/a\nS\t20\t${d}/a`)], [[`${d}/a`, 10]]);
});

t.test('a malformed journal is refused with the line', async (t) => {
  const bad = [
    [`S\t-1\t${d}/a\n`, /line 1: size "-1"/],
    [`S\t1e3\t${d}/a\n`, /not a byte count/],
    [`S\t10\trelative\n`, /not an absolute path/],
    [`S\t10\n`, /record S has 1 fields, expected 2/],
    [`U\t${d}/a\t${d}/b\n`, /record U has 2 fields/],
    [`Q\t${d}/a\n`, /unknown record kind "Q"/],
    [`S\t1\t${d}/a\nX\tfd 70000 beyond 65536 for ${d}/b\n`, /line 2: the shim reported: fd 70000/],
  ] as const;
  for (const [text, re] of bad) t.throws(() => durableSizes(text), re, JSON.stringify(text));
  t.throws(() => durableSizes('Q\n'), JournalError);
});

t.test('a cut shortens each file to its durable size, never-synced files to 0', async (t) => {
  const durable = new Map([[`${d}/000005.log`, 300], [`${d}/000004.ldb`, 1000]]);
  const files = [
    { path: `${d}/000005.log`, size: 700 }, // 400 unsynced bytes
    { path: `${d}/000004.ldb`, size: 1000 }, // fully synced: untouched
    { path: `${d}/LOG`, size: 57 }, // never synced
    { path: `${d}/LOCK`, size: 0 }, // never synced, already empty: untouched
  ];
  t.same(planCut(files, durable), [
    { path: `${d}/000005.log`, size: 700, durable: 300, to: 300 },
    { path: `${d}/LOG`, size: 57, durable: 0, to: 0 },
  ]);
});

t.test('a random prefix of the unsynced tail may survive, never all of it, never synced bytes less', async (t) => {
  const seed = Number(process.env['POWERLOSS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay: POWERLOSS_SEED=${seed})`);
  const keep = randomPrefix(mulberry32(seed));
  for (let i = 0; i < 200; i++) {
    const size = 1 + i * 37;
    const synced = Math.floor(size / 3);
    const [cut] = planCut([{ path: `${d}/f`, size }], new Map([[`${d}/f`, synced]]), keep);
    if (cut === undefined || cut.to < synced || cut.to >= size) {
      t.fail(`seed ${seed}: size ${size}, synced ${synced}, cut to ${cut?.to}`);
      return;
    }
  }
  t.throws(() => planCut([{ path: `${d}/f`, size: 10 }], new Map(), () => 10), /expected an integer in \[0, 10\)/, 'a tail model may not keep everything');
});

t.test('a file shorter than its synced size means the model is wrong, not the program', async (t) => {
  t.throws(() => planCut([{ path: `${d}/a`, size: 5 }], new Map([[`${d}/a`, 6]])), /5 bytes but 6 were synced/);
});

t.test('the shim intercepts every file call the LevelDB binary imports', async (t) => {
  const binaries = levelBinaries();
  t.ok(binaries.length > 0, `classic-level ships a binary for ${process.platform}-${process.arch}`);
  for (const b of binaries) {
    const imports = importedSymbols(b);
    // If these are not imported the binary is not the stdio-based LevelDB the shim was written for.
    t.ok(imports.has('fdatasync') && (imports.has('fopen') || imports.has('fopen64')), `${b} writes through stdio and syncs with fdatasync`);
    const escaping = unmodelledCalls.filter((c) => imports.has(c));
    t.same(escaping, [], `${b} imports no file call the shim does not model`);
    const used = interceptedCalls.filter((c) => imports.has(c));
    t.ok(used.length >= 6, `${b} uses ${used.join(', ')}`);
  }
});

t.test('the built shim exports exactly the calls it claims to intercept', async (t) => {
  const { shim, cleanup } = shimRoot('vnetd-powerloss-nm-');
  t.teardown(cleanup);
  const exported = [...importedSymbols(shim, true)].filter((s) => /^[a-z_][a-z0-9_]*$/.test(s) && !s.startsWith('_'));
  t.same(exported.sort(), [...interceptedCalls].sort());
});
