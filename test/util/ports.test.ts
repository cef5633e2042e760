// freePorts across test processes (test/util/ports.ts): a port claimed by a live process is never
// handed out, a dead process's claim is taken over, and a process's claims go when it exits.
// Regression: a chaos round and the fuzz round beside it (pids on the same stretch) were both
// handed 31410-31412; the fuzzer's n1 died with EADDRINUSE and its other nodes answered with the
// chaos cluster's state.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePortBlock, freePorts, portClaimDir } from './ports.js';

const portsModule = fileURLToPath(new URL('./ports.js', import.meta.url));
const claimPath = (port: number): string => join(portClaimDir, String(port));

/** A pid that is certainly dead: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

t.test('a live process\'s claims are skipped, a dead one\'s taken over', async (t) => {
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.teardown(() => {
    sleeper.kill('SIGKILL');
  });
  const [first] = await freePorts(1);
  t.ok(first !== undefined && existsSync(claimPath(first)), 'the port handed out is claimed');
  t.equal(readFileSync(claimPath(first!), 'utf8'), String(process.pid), 'by this process');
  // The next candidates are first+1, first+2, ...: the live sleeper holds five of them, a dead
  // process the sixth.
  const held = [1, 2, 3, 4, 5].map((d) => first! + d);
  const dead = first! + 6;
  const written = [...held, dead].filter((p) => !existsSync(claimPath(p)));
  t.teardown(() => {
    for (const p of written) rmSync(claimPath(p), { force: true });
  });
  t.equal(written.length, 6, 'no other process had claimed the next six ports');
  for (const p of held) writeFileSync(claimPath(p), String(sleeper.pid));
  writeFileSync(claimPath(dead), String(deadPid()));
  const [next] = await freePorts(1);
  t.notOk(held.includes(next!), `a port claimed by a live process is not handed out (got ${next})`);
  t.ok(next! > first! + 5, 'the walk went past the live claims');
  if (next === dead) t.equal(readFileSync(claimPath(dead), 'utf8'), String(process.pid), 'the dead process\'s claim is now ours');
  for (const p of held) t.equal(readFileSync(claimPath(p), 'utf8'), String(sleeper.pid), `the live claim of ${p} is untouched`);
});

t.test('a process\'s claims are removed when it exits', async (t) => {
  const script = `import { freePorts } from ${JSON.stringify(portsModule)}; console.log(JSON.stringify(await freePorts(3)));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, `the child ran: ${r.stderr}`);
  const ports = JSON.parse(r.stdout) as number[];
  t.equal(ports.length, 3);
  for (const p of ports) t.notOk(existsSync(claimPath(p)), `claim of ${p} removed at exit`);
});

t.test('freePortBlock claims a run of consecutive ports that freePorts then avoids', async (t) => {
  const span = 30;
  const base = await freePortBlock(span);
  for (let port = base; port < base + span; port++) t.equal(readFileSync(claimPath(port), 'utf8'), String(process.pid), `port ${port} of the block is claimed by this process`);
  const others = await freePorts(span * 3);
  t.equal(others.filter((p) => p >= base && p < base + span).length, 0, 'no port of the block is handed out again');
  const next = await freePortBlock(span);
  t.ok(next >= base + span || next + span <= base, 'a second block does not overlap the first');
});
