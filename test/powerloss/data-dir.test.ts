// The power-loss model over a node's WHOLE data directory, not only its LevelDB directory: the
// node file (node.json) and the cluster secret next to `raft/` must survive a power cut too, or
// the node cannot start again (DESIGN.md §6: durable means synced).
//
// This caught a real bug: src/server.ts wrote node.json (to node.json.tmp, renamed over node.json)
// and the generated cluster-secret without fsync, so a power cut after a start left both empty and
// `vnetd start` exited with "Unexpected end of JSON input". They now go through
// src/durable-file.ts (write, fsync, rename, fsync the directory).

import { join } from 'node:path';
import t from 'tap';
import { http } from '../chaos/chaos-cluster.js';
import { ProcessGroup } from '../util/cluster.js';
import { freePorts } from '../util/ports.js';
import { waitOwnReady } from './cluster.js';
import { powerCut, shimEnv, shimRoot } from './power-cut.js';
import type { Watched } from './power-cut.js';

const readyWaitMs = 30_000;

const { root, shim, cleanup } = shimRoot('vnetd-powerloss-datadir-');
t.teardown(cleanup);

t.test('a single node restarts with its data after a power cut of its whole data directory', async (t) => {
  const [raft, api, dns] = await freePorts(3);
  const group = new ProcessGroup(root);
  t.teardown(() => group.destroy());
  const dataDir = join(root, 'pldatadir1');
  const w: Watched = { dir: dataDir, journal: join(root, 'pldatadir1.powerloss-journal') };
  const n = group.add({ id: 'pldatadir1', raft: `127.0.0.1:${raft}`, http: `127.0.0.1:${api}`, dns: `127.0.0.1:${dns}` }, dataDir, ['--log-level', 'warn'], { env: shimEnv(shim, w) });
  n.start();
  t.equal(await waitOwnReady(n, readyWaitMs), 'ready', 'first start');
  t.equal((await http(n.url, 'PUT', '/v1/agents/ag0', { ip: '10.1.0.1' })).status, 201, 'an agent registered');
  // A graceful restart makes LevelDB's log durable (reopened into a synced table) and rewrites node.json.
  await n.stop();
  n.start();
  t.equal(await waitOwnReady(n, readyWaitMs), 'ready', 'graceful restart');

  const cuts = await powerCut([{ node: n, watched: w }]);
  t.comment(`cut: ${cuts.map((c) => `${c.path.slice(dataDir.length + 1)} ${c.size}->${c.to}`).join(', ')}`);
  n.start();
  const after = await waitOwnReady(n, readyWaitMs);
  if (after !== 'ready') t.comment(`after the cut: ${after}; log: ${n.logTail().split('\n').filter((l) => /cannot start|Error/.test(l)).slice(-2).join(' | ')}`);
  t.equal(after, 'ready', 'the node starts again after the power cut');
  if (after === 'ready') {
    const agent = await http(n.url, 'GET', '/v1/agents/ag0');
    t.equal(agent.status, 200, `with the agent (${agent.status} ${JSON.stringify(agent.body)}, pid ${n.pid})`);
  }
  t.same(group.crashes().filter((e) => e.code !== 1), [], 'no crash other than the refusal to start');
});
