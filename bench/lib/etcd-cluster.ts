// etcd 3.4 (Debian etcd-server) as the write-path peer: 3 members on loopback, default settings
// (fsync on, default heartbeat/election), each with its own data directory. Writes go to its JSON
// gateway (`POST /v3/kv/put`) on the member that leads.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureTools, tools } from './install.js';
import { httpCall } from './http-load.js';
import { start, stopAll, waitFor } from './proc.js';
import type { Child } from './proc.js';
import { freePorts } from '../../test/util/ports.js';

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly child: Child;
}

interface StatusReply {
  readonly header?: { readonly member_id?: string };
  readonly leader?: string;
}

export class EtcdCluster {
  private constructor(readonly members: EtcdMember[]) {}

  static async start(workDir: string, size = 3): Promise<EtcdCluster> {
    ensureTools([tools.etcd]);
    const ports = await freePorts(size * 2);
    const names = Array.from({ length: size }, (_, i) => `e${i + 1}`);
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${ports[2 * i + 1]}`).join(',');
    const members: EtcdMember[] = [];
    const cluster = new EtcdCluster(members);
    try {
      for (const [i, name] of names.entries()) {
        const clientPort = ports[2 * i] as number;
        const peerPort = ports[2 * i + 1] as number;
        const dataDir = path.join(workDir, name);
        mkdirSync(dataDir, { recursive: true });
        const child = start(name, tools.etcd.binary, [
          '--name', name, '--data-dir', dataDir,
          '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
          '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
          '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `bench-${process.pid}`,
          '--log-level', 'warn',
        ], { logFile: path.join(workDir, `${name}.log`) });
        members.push({ name, clientPort, peerPort, child });
      }
      for (const m of members) {
        await waitFor(`etcd ${m.name} healthy`, async () => {
          const h = (await httpCall('127.0.0.1', m.clientPort, 'GET', '/health', undefined, [200])) as { health?: string };
          return h.health === 'true';
        }, m.child);
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The member whose own id is the leader id it reports. */
  async leader(): Promise<EtcdMember> {
    let found: EtcdMember | null = null;
    await waitFor('an etcd leader', async () => {
      for (const m of this.members) {
        const s = (await httpCall('127.0.0.1', m.clientPort, 'POST', '/v3/maintenance/status', {}, [200])) as StatusReply;
        if (s.leader !== undefined && s.header?.member_id === s.leader) {
          found = m;
          return true;
        }
      }
      return false;
    });
    if (found === null) throw new Error('no etcd leader');
    return found;
  }

  async stop(): Promise<void> {
    await stopAll(this.members.map((m) => m.child));
  }
}
