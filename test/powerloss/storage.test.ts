// The power-loss model on one LevelStorage (raft/storage) in a child process: what save()
// acknowledged survives a power cut when it syncs, and is lost with unsafeNoFsync (DESIGN.md §6:
// "the fault tests must catch it losing data"). kill -9 alone would not tell the two apart: the
// kernel keeps what the process wrote (test/raft/storage/sigkill.test.ts covers that case).

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LevelStorage } from '../../raft/storage/level-storage.js';
import { snapshotFileName } from '../../raft/storage/snapshot-file.js';
import { snapshotData } from './fixtures/snapshot-data.js';
import { entries, plain } from '../raft/storage/helpers.js';
import { mulberry32 } from '../util/prng.js';
import { type KeepUnsynced, dropUnsynced, randomPrefix } from './journal.js';
import { cutFiles, shimEnv, shimRoot } from './power-cut.js';
import type { Watched } from './power-cut.js';

const writer = fileURLToPath(new URL('./fixtures/storage-writer.js', import.meta.url));
/** Entries acknowledged before the cut (one synced save each: slow on a busy disk). */
const appendsBeforeCut = 80;
/** Local snapshots acknowledged before the cut, in the snapshot case (one every 10 entries). */
const snapshotsBeforeCut = 3;

const { root, shim, cleanup } = shimRoot('vnetd-powerloss-storage-');
t.teardown(cleanup);

function run(w: Watched, mode: 'sync' | 'nosync', phase: 'bootstrap' | 'append' | 'snapshots'): ChildProcess {
  const child = fork(writer, [w.dir, mode, phase], { env: { PATH: process.env['PATH'] ?? '', ...shimEnv(shim, w) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

const exited = (c: ChildProcess): Promise<void> =>
  new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));

/**
 * Bootstraps, reopens, appends until `appendsBeforeCut` are acknowledged (with `snapshots`, also
 * local snapshots every few entries, until `snapshotsBeforeCut` of them are), cuts the power, reloads.
 */
async function cutAfterAppends(
  mode: 'sync' | 'nosync',
  keep: KeepUnsynced = dropUnsynced,
  name: string = mode,
  phase: 'append' | 'snapshots' = 'append',
): Promise<{ acknowledged: number; reported: number; snapshotAcknowledged: number; lastIndex: number | null; restored: Awaited<ReturnType<LevelStorage['load']>>; dir: string }> {
  const dir = join(root, name);
  mkdirSync(dir);
  const w: Watched = { dir: join(dir, 'raft'), journal: join(dir, 'journal') };
  const boot = run(w, mode, 'bootstrap');
  await exited(boot);
  if (boot.exitCode !== 0) throw new Error(`bootstrap writer exited with ${boot.exitCode ?? boot.signalCode}`);
  const child = run(w, mode, phase);
  let snapshotAcknowledged = 0;
  let snapshots = 0;
  // Every index the child reported, also after the parent decided to cut: the child runs on while
  // the SIGKILL is on its way, so more than `acknowledged` can be in the log (most of all when it
  // does not fsync), but never more than one save past the last report.
  let reported = 0;
  const channelClosed = new Promise<void>((resolve) => (child.connected ? child.once('disconnect', () => resolve()) : resolve()));
  const acknowledged = await new Promise<number>((resolve, reject) => {
    child.on('message', (m) => {
      if (typeof m === 'number') reported = Math.max(reported, m);
      if (typeof m === 'object' && m !== null && typeof (m as { snapshot?: unknown }).snapshot === 'number') {
        snapshotAcknowledged = Math.max(snapshotAcknowledged, (m as { snapshot: number }).snapshot);
        snapshots++;
        return;
      }
      if (typeof m === 'number' && m >= appendsBeforeCut && (phase === 'append' || snapshots >= snapshotsBeforeCut)) {
        child.kill('SIGKILL'); // in the callback that saw the ack: nothing more is acknowledged
        resolve(m);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited early: code ${code} signal ${signal}`));
    });
  });
  await exited(child);
  await channelClosed;
  cutFiles(w, keep);
  const s = await LevelStorage.open({ dataDir: w.dir, log: () => undefined });
  try {
    const restored = await s.load();
    return { acknowledged, reported, snapshotAcknowledged, lastIndex: restored === null ? null : s.lastIndex(), restored, dir: w.dir };
  } finally {
    await s.close();
  }
}

t.test('fsync on: every entry save() acknowledged survives a power cut', async (t) => {
  const r = await cutAfterAppends('sync');
  t.ok(r.restored !== null, 'the store is still there');
  t.ok(r.lastIndex! >= r.acknowledged, `last index ${r.lastIndex} >= acknowledged ${r.acknowledged}`);
  t.ok(r.restored!.hardState.commit >= r.acknowledged, 'the hard state too');
  t.same(plain(r.restored!.entries.slice(0, r.acknowledged)), plain(entries(1, r.acknowledged, 1)), 'byte for byte');
});

t.test('--unsafe-no-fsync: the power cut loses acknowledged entries, and the test sees it', async (t) => {
  const r = await cutAfterAppends('nosync');
  // The bootstrap became durable when LevelDB reopened (it writes the old log into a synced
  // table); every later save() went only into the unsynced log, so all of them are gone.
  t.ok(r.restored !== null, 'the bootstrap, made durable by the reopen, is there');
  t.ok(r.lastIndex! < r.acknowledged, `acknowledged up to ${r.acknowledged}, only ${r.lastIndex} survived`);
  t.equal(r.lastIndex, 0, 'nothing appended after the reopen was synced');
});

t.test('--unsafe-no-fsync, part of the unsynced tail kept (torn records too): what is left is a clean prefix', async (t) => {
  const seed = Number(process.env['POWERLOSS_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay: POWERLOSS_SEED=${seed})`);
  const r = await cutAfterAppends('nosync', randomPrefix(mulberry32(seed)), 'nosync-prefix');
  // LevelDB drops a torn last record of its log; raft/storage then sees whole batches only.
  t.ok(r.restored !== null, `seed ${seed}: the store loads`);
  const last = r.lastIndex!;
  t.ok(last <= r.reported + 1, `seed ${seed}: ${last} of ${r.reported} (+1 in flight) entries written kept`);
  t.same(plain(r.restored!.entries), plain(last === 0 ? [] : entries(1, last, 1)), `seed ${seed}: entries 1..${last}, byte for byte`);
  t.ok(r.restored!.hardState.commit <= last, `seed ${seed}: commit ${r.restored!.hardState.commit} within the log`);
});

t.test('fsync on: a snapshot saveSnapshot() acknowledged survives a power cut, its file byte for byte, and no other file is left', async (t) => {
  const r = await cutAfterAppends('sync', dropUnsynced, 'sync-snapshots', 'snapshots');
  t.ok(r.restored !== null, 'the store is still there');
  const snap = r.restored!.snapshot;
  t.ok(snap.meta.index >= r.snapshotAcknowledged, `snapshot ${snap.meta.index} >= acknowledged ${r.snapshotAcknowledged}`);
  t.ok(Buffer.from(snap.data).equals(snapshotData(snap.meta.index)), 'its data byte for byte');
  t.ok(r.lastIndex! >= r.acknowledged, `entries: last index ${r.lastIndex} >= acknowledged ${r.acknowledged}`);
  t.same(plain(r.restored!.entries), plain(entries(snap.meta.index + 1, r.lastIndex!, 1)), 'the entries after it');
  t.same(readdirSync(r.dir).filter((f) => f.startsWith('snapshot-')), [snapshotFileName(snap.meta)], 'one snapshot file: load() removed the rest');
});
