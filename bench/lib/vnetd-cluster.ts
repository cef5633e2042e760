// A vnetd cluster of separate `vnetd start` processes on loopback for the suites: voters bootstrap
// with --peers, learners join the first voter with --join --role learner (as `vnetd local-cluster`
// does). fsync stays on unless asked otherwise; the process logs go to the suite's work directory.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpCall, hostPort } from './http-load.js';
import { startNode, stopAll, waitFor } from './proc.js';
import type { Child } from './proc.js';
import { freePorts } from '../../test/util/ports.js';

export const vnetdCli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface VnetdNode {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  readonly http: string;
  readonly dns: string;
  readonly raft: string;
  readonly dataDir: string;
  child: Child;
  /** Extra start arguments, kept for restarts. */
  readonly args: readonly string[];
}

export interface VnetdClusterOptions {
  readonly voters: number;
  readonly learners?: number;
  readonly workDir: string;
  /** Passed to every node (e.g. ['--unsafe-no-fsync'] for a setup-only node). */
  readonly extraArgs?: readonly string[];
  /** taskset CPU list per node index (e.g. ['0']). */
  readonly cpus?: readonly (string | undefined)[];
  /** Node.js flags for every node (e.g. ['--cpu-prof', '--cpu-prof-dir=DIR'] to profile a run). */
  readonly nodeArgs?: readonly string[];
  /** The `vnetd` entry point to run (default: this checkout's dist/src/cli.js); another build's for an A/B run. */
  readonly cli?: string;
}

interface ClusterView {
  readonly leader: string | null;
  readonly members: readonly { id: string; role: string; http: string | null }[];
}

export class VnetdCluster {
  private constructor(readonly nodes: VnetdNode[]) {}

  static async start(o: VnetdClusterOptions): Promise<VnetdCluster> {
    const learners = o.learners ?? 0;
    const total = o.voters + learners;
    const ports = await freePorts(total * 3);
    mkdirSync(o.workDir, { recursive: true });
    const secretFile = path.join(o.workDir, 'cluster-secret');
    writeFileSync(secretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const plan = Array.from({ length: total }, (_, i) => ({
      id: i < o.voters ? `n${i + 1}` : `l${i - o.voters + 1}`,
      role: (i < o.voters ? 'voter' : 'learner') as 'voter' | 'learner',
      http: `127.0.0.1:${ports[3 * i]}`,
      dns: `127.0.0.1:${ports[3 * i + 1]}`,
      raft: `127.0.0.1:${ports[3 * i + 2]}`,
      dataDir: path.join(o.workDir, i < o.voters ? `n${i + 1}` : `l${i - o.voters + 1}`),
      cpus: o.cpus?.[i],
    }));
    const voters = plan.filter((p) => p.role === 'voter');
    const peers = voters.map((n) => `${n.id}=${n.raft}/${n.http}/${n.dns}`).join(',');
    const nodes: VnetdNode[] = [];
    const cluster = new VnetdCluster(nodes);
    try {
      for (const p of plan) {
        const roleArgs = p.role === 'voter' ? ['--peers', peers] : ['--join', `http://${voters[0]?.http}`, '--role', 'learner'];
        const args = [...roleArgs, '--cluster-secret-file', secretFile, '--log-level', 'warn', ...(o.extraArgs ?? [])];
        if (p.role === 'learner') await Promise.all(nodes.filter((n) => n.role === 'voter').map((n) => cluster.waitReady(n)));
        const child = startNode(p.id, o.cli ?? vnetdCli, ['start', '--id', p.id, '--data-dir', p.dataDir, '--http', p.http, '--dns', p.dns, '--raft', p.raft, ...args], {
          logFile: path.join(o.workDir, `${p.id}.log`),
          ...(p.cpus === undefined ? {} : { cpus: p.cpus }),
          ...(o.nodeArgs === undefined ? {} : { nodeArgs: o.nodeArgs }),
        });
        nodes.push({ id: p.id, role: p.role, http: p.http, dns: p.dns, raft: p.raft, dataDir: p.dataDir, child, args });
      }
      await Promise.all(nodes.map((n) => cluster.waitReady(n)));
      if (learners > 0) await cluster.waitMembers(total);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async waitReady(n: VnetdNode): Promise<void> {
    const { host, port } = hostPort(n.http);
    await waitFor(`${n.id} ready`, async () => {
      await httpCall(host, port, 'GET', '/v1/ready', undefined, [200]);
      return true;
    }, n.child);
  }

  /** Waits until the leader lists `count` members (learners joined). */
  private async waitMembers(count: number): Promise<void> {
    await waitFor(`${count} members`, async () => (await this.view()).members.length >= count);
  }

  async view(through: VnetdNode = this.nodes[0] as VnetdNode): Promise<ClusterView> {
    const { host, port } = hostPort(through.http);
    return (await httpCall(host, port, 'GET', '/v1/cluster', undefined, [200])) as ClusterView;
  }

  /** The node every running member agrees leads (asked of each running node until one knows). */
  async leader(): Promise<VnetdNode> {
    let found: VnetdNode | null = null;
    await waitFor('a vnetd leader', async () => {
      for (const n of this.nodes) {
        if (!n.child.running) continue;
        const v = await this.view(n).catch(() => null);
        const l = v?.leader === undefined || v.leader === null ? undefined : this.nodes.find((x) => x.id === v.leader && x.child.running);
        if (l !== undefined) {
          found = l;
          return true;
        }
      }
      return false;
    });
    if (found === null) throw new Error('no leader');
    return found;
  }

  /**
   * Voters plus learners when learners can join; otherwise (a learner process failed to join) the
   * voters alone, and `fallback` says why, so a suite can measure on followers and report it.
   */
  static async startWithLearners(o: VnetdClusterOptions): Promise<{ cluster: VnetdCluster; fallback: string | null }> {
    try {
      return { cluster: await VnetdCluster.start({ ...o, workDir: path.join(o.workDir, 'with-learners') }), fallback: null };
    } catch (err) {
      const text = (err as Error).message;
      const why = /"err":"([^"]+)"/.exec(text)?.[1] ?? text.slice(0, 300);
      const cluster = await VnetdCluster.start({ ...o, learners: 0, workDir: path.join(o.workDir, 'voters') });
      return { cluster, fallback: `a learner could not join (${why})` };
    }
  }

  get learners(): VnetdNode[] {
    return this.nodes.filter((n) => n.role === 'learner');
  }

  async stop(): Promise<void> {
    await stopAll(this.nodes.map((n) => n.child));
  }
}
