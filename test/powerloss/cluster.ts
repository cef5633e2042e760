// vnetd voters under the power-loss shim: real `vnetd start` processes (test/util/cluster.ts) on
// loopback, each with its own journal, which can be started, restarted gracefully and power-cut
// all at once.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, poll } from '../chaos/chaos-cluster.js';
import { ProcessGroup, peersArg } from '../util/cluster.js';
import type { Addresses, NodeProcess } from '../util/cluster.js';
import { freePorts } from '../util/ports.js';
import type { KeepUnsynced, Truncation } from './journal.js';
import { powerCut, shimEnv } from './power-cut.js';
import type { Watched } from './power-cut.js';

export const powerLossTiming = {
  /** Start, restart and election on a loaded 2-core machine. */
  readyWaitMs: 45_000,
  statusTimeoutMs: 3_000,
} as const;

/**
 * Waits until `n` answers ready AS ITSELF. Between a start and its bind (or its exit) the port is
 * free and another test's process may hold it, so a bare 200 from /v1/ready is not proof; the
 * node's id (unique to this folder's tests) in /v1/cluster is.
 */
export async function waitOwnReady(n: NodeProcess, timeoutMs: number = powerLossTiming.readyWaitMs): Promise<'ready' | 'exited' | 'timeout'> {
  const r = await poll(async () => {
    if (!n.running) return 'exited' as const;
    const c = await http(n.url, 'GET', '/v1/cluster', undefined, powerLossTiming.statusTimeoutMs);
    return c.status === 200 && c.body?.id === n.id && c.body?.ready === true && n.running ? ('ready' as const) : undefined;
  }, timeoutMs);
  return r ?? 'timeout';
}

/** The last lines of a node's log, for a failure message. */
export function lastLines(n: NodeProcess, count: number): string {
  return n.logTail().trimEnd().split('\n').slice(-count).map((l) => l.slice(0, 300)).join(' | ');
}

export class PowerLossCluster {
  readonly group: ProcessGroup;
  readonly watched = new Map<string, Watched>();

  private constructor(readonly root: string) {
    this.group = new ProcessGroup(root);
  }

  /**
   * `voters` nodes named `${prefix}1..` (not started), each watching its whole data directory: the
   * LevelDB files in `raft/`, and node.json and the cluster secret beside it (data-dir.test.ts).
   */
  static async create(o: { root: string; shim: string; voters: number; prefix: string; extraArgs: readonly string[]; entry?: string }): Promise<PowerLossCluster> {
    const c = new PowerLossCluster(o.root);
    const ports = await freePorts(3 * o.voters);
    const specs: Addresses[] = Array.from({ length: o.voters }, (_, i) => ({ id: `${o.prefix}${i + 1}`, raft: `127.0.0.1:${ports[3 * i]}`, http: `127.0.0.1:${ports[3 * i + 1]}`, dns: `127.0.0.1:${ports[3 * i + 2]}` }));
    const secret = join(o.root, 'cluster-secret');
    writeFileSync(secret, 'powerloss-cluster-secret-0123456789\n', { mode: 0o600 });
    const args = ['--peers', peersArg(specs), '--cluster-secret-file', secret, '--tick-ms', '100', '--election-ticks', '10', '--log-level', 'warn', ...o.extraArgs];
    for (const s of specs) {
      const dataDir = join(o.root, s.id);
      const w: Watched = { dir: dataDir, journal: join(o.root, `${s.id}.powerloss-journal`) };
      c.watched.set(s.id, w);
      c.group.add(s, dataDir, args, { env: shimEnv(o.shim, w), ...(o.entry === undefined ? {} : { entry: o.entry }) });
    }
    return c;
  }

  nodes(): NodeProcess[] {
    return [...this.group.nodes.values()];
  }

  async start(): Promise<void> {
    for (const n of this.nodes()) n.start();
    await Promise.all(this.nodes().map(async (n) => {
      const r = await waitOwnReady(n);
      if (r !== 'ready') {
        const exit = this.group.exits.filter((e) => e.id === n.id).pop();
        const how = exit === undefined ? '' : ` code ${exit.code} signal ${exit.signal}`;
        throw new Error(`${n.id} not ready (${r}${how}); log: ${lastLines(n, 4)}`);
      }
    }));
  }

  /** A graceful restart of every node (SIGTERM, start again). */
  async restart(): Promise<void> {
    await Promise.all(this.nodes().map((n) => n.stop()));
    await this.start();
  }

  /** Every node's power at once (power-cut.ts). */
  powerCut(keep?: KeepUnsynced): Promise<Truncation[]> {
    return powerCut(this.nodes().map((node) => ({ node, watched: this.watched.get(node.id)! })), keep);
  }
}
