// The RaftStorage contract (raft/storage/storage.ts), run against both LevelStorage and
// MemoryStorage so they cannot drift apart.
import t from 'tap';
import type { Test } from 'tap';
import { AssertionError } from '../../../raft/core/assert.js';
import { nodeId } from '../../../raft/core/types.js';
import { LevelStorage, MemoryStorage, type RaftStorage, StorageError } from '../../../raft/storage/index.js';
import { bootstrap, entries, hard, plain, tempDir } from './helpers.js';

interface Impl {
  readonly name: string;
  /** A fresh, empty store plus a way to "restart the process" and get the same store back. */
  create(t: Test): Promise<{ storage: RaftStorage; reopen: (s: RaftStorage) => Promise<RaftStorage> }>;
}

const impls: Impl[] = [
  {
    name: 'LevelStorage',
    async create(t) {
      const dataDir = tempDir(t, 'storage');
      const storage = await LevelStorage.open({ dataDir, log: () => undefined });
      t.teardown(() => storage.close());
      return {
        storage,
        reopen: async (s) => {
          await s.close();
          const again = await LevelStorage.open({ dataDir, log: () => undefined });
          t.teardown(() => again.close());
          return again;
        },
      };
    },
  },
  {
    name: 'MemoryStorage',
    async create() {
      const storage = new MemoryStorage();
      return { storage, reopen: async (s) => (s as MemoryStorage).reopen() };
    },
  },
];

for (const impl of impls) {
  t.test(`${impl.name}: an empty store loads as null, then round-trips everything`, async (t) => {
    const { storage, reopen } = await impl.create(t);
    t.equal(await storage.load(), null);
    await storage.save({ hardState: hard(0, 0), entries: [], snapshot: bootstrap() });
    await storage.save({ hardState: hard(2, 5, nodeId('n2')), entries: entries(1, 10, 2), snapshot: null });
    t.equal(storage.firstIndex(), 1);
    t.equal(storage.lastIndex(), 10);
    await storage.putMeta('cluster-id', Buffer.from('abc'));
    const again = await reopen(storage);
    const state = await again.load();
    t.same(plain(state), plain({ hardState: hard(2, 5, nodeId('n2')), snapshot: bootstrap(), entries: entries(1, 10, 2) }));
    t.equal(again.lastIndex(), 10);
    t.same(Buffer.from((await again.getMeta('cluster-id'))!).toString(), 'abc');
    t.equal(await again.getMeta('missing'), null);
  });

  // Raft §5.3: a follower deletes a conflicting entry and all that follow it.
  t.test(`${impl.name}: entries at or below the last index replace the conflicting suffix`, async (t) => {
    const { storage, reopen } = await impl.create(t);
    await storage.load();
    await storage.save({ hardState: hard(1, 0), entries: [], snapshot: bootstrap() });
    await storage.save({ hardState: null, entries: entries(1, 10, 1), snapshot: null });
    await storage.save({ hardState: hard(3, 5), entries: entries(6, 7, 3), snapshot: null });
    t.equal(storage.lastIndex(), 7);
    // Replacing without shortening: only index 7 changes.
    await storage.save({ hardState: null, entries: entries(7, 7, 3), snapshot: null });
    const state = await (await reopen(storage)).load();
    t.same(plain(state!.entries), plain([...entries(1, 5, 1), ...entries(6, 7, 3)]));
    t.same(plain(state!.hardState), plain(hard(3, 5)));
  });

  t.test(`${impl.name}: a saved snapshot replaces the whole log; entries after it follow`, async (t) => {
    const { storage, reopen } = await impl.create(t);
    await storage.load();
    await storage.save({ hardState: hard(1, 0), entries: entries(1, 20, 1), snapshot: bootstrap() });
    const snap = bootstrap(15, 4, Buffer.from('state at 15'));
    await storage.save({ hardState: hard(4, 15), entries: entries(16, 18, 4), snapshot: snap });
    t.equal(storage.firstIndex(), 16);
    t.equal(storage.lastIndex(), 18);
    const state = await (await reopen(storage)).load();
    t.same(plain(state), plain({ hardState: hard(4, 15), snapshot: snap, entries: entries(16, 18, 4) }));
  });

  t.test(`${impl.name}: saveSnapshot compacts entries <= index and keeps the rest`, async (t) => {
    const { storage, reopen } = await impl.create(t);
    await storage.load();
    await storage.save({ hardState: hard(1, 30), entries: entries(1, 30, 1), snapshot: bootstrap() });
    const snap = bootstrap(20, 1, Buffer.from('state at 20'));
    await storage.saveSnapshot(snap);
    t.equal(storage.firstIndex(), 21);
    t.equal(storage.lastIndex(), 30);
    // An older snapshot arriving late is ignored.
    await storage.saveSnapshot(bootstrap(10, 1, Buffer.from('state at 10')));
    const again = await reopen(storage);
    const state = await again.load();
    t.same(plain(state), plain({ hardState: hard(1, 30), snapshot: snap, entries: entries(21, 30, 1) }));
    t.equal(again.firstIndex(), 21);
  });

  t.test(`${impl.name}: a save that would leave a gap is a bug and changes nothing`, async (t) => {
    const { storage, reopen } = await impl.create(t);
    await storage.load();
    await storage.save({ hardState: hard(1, 0), entries: entries(1, 5, 1), snapshot: bootstrap() });
    await t.rejects(storage.save({ hardState: hard(9, 0), entries: entries(7, 8, 1), snapshot: null }), AssertionError);
    await t.rejects(storage.save({ hardState: null, entries: [...entries(6, 6, 1), ...entries(8, 8, 1)], snapshot: null }), AssertionError);
    t.equal(storage.lastIndex(), 5);
    const state = await (await reopen(storage)).load();
    t.same(plain(state), plain({ hardState: hard(1, 0), snapshot: bootstrap(), entries: entries(1, 5, 1) }));
  });

  t.test(`${impl.name}: the first save must bootstrap; closed stores refuse work`, async (t) => {
    const { storage } = await impl.create(t);
    await storage.load();
    await t.rejects(storage.save({ hardState: hard(1, 0), entries: entries(1, 1, 1), snapshot: null }), AssertionError);
    await storage.close();
    await t.rejects(storage.save({ hardState: hard(1, 0), entries: [], snapshot: bootstrap() }), StorageError);
    await t.rejects(storage.getMeta('x'), StorageError);
  });

  t.test(`${impl.name}: metadata keys and values are bounded`, async (t) => {
    const { storage } = await impl.create(t);
    await t.rejects(storage.putMeta('', Buffer.from('x')), { code: 'invalid_argument' });
    await t.rejects(storage.putMeta('k'.repeat(201), Buffer.from('x')), { code: 'invalid_argument' });
    await t.rejects(storage.putMeta('k', new Uint8Array(64 * 1024 + 1)), { code: 'invalid_argument' });
    t.equal(await storage.getMeta('k'), null);
  });
}

for (const impl of impls) {
  t.test(`${impl.name}: load() reports commit >= the snapshot index`, async (t) => {
    const { storage, reopen } = await impl.create(t);
    await storage.load();
    await storage.save({ hardState: hard(1, 2), entries: entries(1, 9, 1), snapshot: bootstrap() });
    await storage.saveSnapshot(bootstrap(5, 1));
    const state = await (await reopen(storage)).load();
    t.equal(state!.hardState.commit, 5);
  });
}

for (const impl of impls) {
  t.test(`${impl.name}: an empty update costs no batch (no fsync)`, async (t) => {
    const { storage } = await impl.create(t);
    await storage.load();
    await storage.save({ hardState: hard(1, 0), entries: entries(1, 3, 1), snapshot: bootstrap() });
    const before = storage.stats().batches;
    await storage.save({ hardState: null, entries: [], snapshot: null });
    t.equal(storage.stats().batches, before);
    t.equal(storage.stats().entriesWritten, 3);
  });
}
