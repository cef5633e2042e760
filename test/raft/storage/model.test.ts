// Randomised model test: a seeded sequence of appends (with suffix truncation), snapshot installs,
// compactions and restarts is applied to LevelStorage, MemoryStorage and a plain array model; after
// every restart all three must agree. Replay a failure with STORAGE_SEED=<seed>.
import t from 'tap';
import type { Entry } from '../../../raft/core/types.js';
import { LevelStorage, MemoryStorage, type RaftStorage } from '../../../raft/storage/index.js';
import { bootstrap, entries, hard, plain, tempDir } from './helpers.js';
import { mulberry32 } from '../../util/prng.js';


const seed = process.env['STORAGE_SEED'] !== undefined ? Number(process.env['STORAGE_SEED']) : Math.floor(Math.random() * 2 ** 31);
const STEPS = 300;

t.test(`storage model, seed ${seed} (replay: STORAGE_SEED=${seed})`, async (t) => {
  const random = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const dir = tempDir(t, 'model');
  let level: RaftStorage = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  let memory: RaftStorage = new MemoryStorage();
  t.teardown(() => level.close());
  await level.load();
  await memory.load();
  // The model.
  let snap = bootstrap();
  let log: Entry[] = [];
  let currentTerm = 1;
  let commit = 0;
  let savedTerm = 1; // the term in the last saved hard state
  const both = async (f: (s: RaftStorage) => Promise<void>): Promise<void> => {
    await f(level);
    await f(memory);
  };
  await both((s) => s.save({ hardState: hard(1, 0), entries: [], snapshot: snap }));
  const last = (): number => snap.meta.index + log.length;
  let failed = false;
  for (let step = 0; step < STEPS && !failed; step++) {
    const op = random();
    if (random() < 0.2) currentTerm += 1;
    if (op < 0.6) {
      const start = int(Math.max(snap.meta.index, commit) + 1, last() + 1);
      const news = entries(start, start + int(0, 6), currentTerm);
      log = [...log.slice(0, start - snap.meta.index - 1), ...news];
      commit = Math.max(commit, int(commit, last()));
      await both((s) => s.save({ hardState: hard(currentTerm, commit), entries: news, snapshot: null }));
      savedTerm = currentTerm;
    } else if (op < 0.7) {
      const index = int(Math.max(commit, snap.meta.index + 1), last() + 5);
      snap = bootstrap(index, currentTerm, Buffer.from(`installed ${index}`));
      const news = entries(index + 1, index + int(0, 3), currentTerm);
      log = news;
      commit = index;
      await both((s) => s.save({ hardState: hard(currentTerm, commit), entries: news, snapshot: snap }));
      savedTerm = currentTerm;
    } else if (op < 0.85) {
      if (commit <= snap.meta.index) continue;
      const index = int(snap.meta.index + 1, commit);
      const term = log[index - snap.meta.index - 1]!.term;
      log = log.slice(index - snap.meta.index);
      snap = bootstrap(index, term, Buffer.from(`compacted ${index}`));
      await both((s) => s.saveSnapshot(snap));
    } else {
      await level.close();
      level = await LevelStorage.open({ dataDir: dir, log: () => undefined });
      memory = (memory as MemoryStorage).reopen();
      const expected = plain({ hardState: hard(savedTerm, commit), snapshot: snap, entries: log });
      const [a, b] = [plain(await level.load()), plain(await memory.load())];
      failed = !t.same(a, expected, `LevelStorage after restart at step ${step}`) || !t.same(b, expected, `MemoryStorage at step ${step}`);
    }
    if (!failed) {
      failed = !t.equal(level.lastIndex(), last(), `lastIndex at step ${step}`) || !t.equal(memory.firstIndex(), snap.meta.index + 1);
    }
  }
  if (failed) t.comment(`replay with STORAGE_SEED=${seed}`);
});
