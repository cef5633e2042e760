// Durability across a process crash: what save() acknowledged must be on disk even if the process
// is killed with SIGKILL the moment after (DESIGN §4: an acknowledged write is on disk).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LevelStorage } from '../../../raft/storage/level-storage.js';
import { entries, plain, tempDir } from './helpers.js';

const writer = fileURLToPath(new URL('./fixtures/kill-writer.js', import.meta.url));

t.test('entries acknowledged by save() survive kill -9', async (t) => {
  const dir = tempDir(t, 'sigkill');
  const child = fork(writer, [dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const killAfter = 200 + Math.floor(Math.random() * 100);
  const acknowledged = await new Promise<number>((resolve, reject) => {
    child.on('message', (m) => {
      if (typeof m === 'number' && m >= killAfter) {
        child.kill('SIGKILL'); // immediately, inside the same callback that saw the ack
        resolve(m);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited early: code ${code} signal ${signal}`));
    });
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
  t.equal(child.signalCode, 'SIGKILL');
  const s = await LevelStorage.open({ dataDir: dir, log: () => undefined });
  t.teardown(() => s.close());
  const state = await s.load();
  t.ok(state !== null);
  t.ok(s.lastIndex() >= acknowledged, `last index ${s.lastIndex()} >= acknowledged ${acknowledged}`);
  t.ok(state!.hardState.commit >= acknowledged);
  t.same(plain(state!.entries.slice(0, acknowledged)), plain(entries(1, acknowledged, 1)));
});
