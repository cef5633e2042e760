// Readiness and the first-start setup (src/server.ts, Lifecycle.waitSetup): a new cluster's leader
// is ready only once its setup ran (the default network exists), so a client that waits for
// /v1/ready can use `dcos` at once; other nodes and initialized data directories do not wait.
import t from 'tap';
import { Lifecycle } from '../../src/server.js';
import type { NodeFile } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import type { RaftNode } from '../../raft/node/node.js';
import type { IpamStateMachine } from '../../src/ipam/index.js';
import { silentLogger } from '../../src/log.js';

const network = { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 };

function lifecycle(o: { leader: string; hasNetwork: () => boolean; join?: string | null }) {
  const config = { join: o.join ?? null, defaultNetwork: network } as unknown as Config;
  const node = { id: 'n1', status: () => ({ leader: o.leader }) } as unknown as RaftNode;
  const ipam = { appliedIndex: 3, getNetwork: (name: string) => (name === network.name && o.hasNetwork() ? network : undefined) } as unknown as IpamStateMachine;
  return new Lifecycle(config, node, ipam, silentLogger, () => false);
}

const fresh = { initialized: false } as NodeFile;
const settledWithin = async (p: Promise<void>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

t.test('the leader of a new cluster waits until the default network exists', async (t) => {
  let created = false;
  const waiting = lifecycle({ leader: 'n1', hasNetwork: () => created }).waitSetup(fresh);
  t.notOk(await settledWithin(waiting, 100), 'not ready while the setup has not run');
  created = true;
  t.ok(await settledWithin(waiting, 1_000), 'ready once the network is there');
});

t.test('a follower, a joiner and an initialized data directory do not wait', async (t) => {
  t.ok(await settledWithin(lifecycle({ leader: 'n2', hasNetwork: () => false }).waitSetup(fresh), 200), 'follower');
  t.ok(await settledWithin(lifecycle({ leader: 'n1', hasNetwork: () => false, join: 'http://127.0.0.1:1' }).waitSetup(fresh), 200), 'joiner');
  t.ok(await settledWithin(lifecycle({ leader: 'n1', hasNetwork: () => false }).waitSetup({ initialized: true } as NodeFile), 200), 'initialized');
});
