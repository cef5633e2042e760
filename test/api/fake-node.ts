// A minimal in-process RaftNodeApi for the HTTP layer's own tests: proposals are applied at once
// to a real IpamStateMachine, and the test decides who leads and what propose() answers. It lets
// the write path's waiting, retrying and forwarding be tested deterministically.

import type { LogIndex, NodeId, Term } from '../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../raft/core/types.js';
import type { NodeStatus, PeerStatus, RaftNodeApi, RaftNodeEvents } from '../../raft/node/api.js';
import { RaftError } from '../../raft/node/api.js';
import { IpamStateMachine } from '../../src/ipam/index.js';
import type { ApiContext } from '../../src/api/context.js';
import { ApiMetrics } from '../../src/api/metrics.js';
import { createApiServer } from '../../src/api/server.js';
import type { ApiServer } from '../../src/api/server.js';
import { silentLogger } from '../../src/log.js';

export class FakeNode implements RaftNodeApi {
  readonly id: NodeId;
  leader: NodeId | null = null;
  /** Contexts of the members, by id (the write path reads the leader's http from here). */
  contexts = new Map<string, string>();
  /** Errors the next proposals reject with, in order (then proposals apply). */
  failNext: RaftError[] = [];
  proposals = 0;
  private index = 0;
  private readonly listeners = new Map<string, Set<(...a: never[]) => void>>();

  constructor(
    id: string,
    readonly ipam: IpamStateMachine = new IpamStateMachine(),
  ) {
    this.id = nodeId(id);
  }

  async propose(command: Uint8Array): Promise<unknown> {
    this.proposals++;
    const fail = this.failNext.shift();
    if (fail !== undefined) throw fail;
    if (this.leader !== this.id) throw new RaftError('not_leader', 'fake: not the leader');
    return this.ipam.apply(command, logIndex(++this.index));
  }

  async read(): Promise<LogIndex> {
    if (this.leader === null) throw new RaftError('not_leader', 'fake: no leader');
    return logIndex(this.index);
  }

  status(): NodeStatus {
    const members: PeerStatus[] = [...this.contexts].map(([id, context]) => ({ id: nodeId(id), role: 'voter', context, matchIndex: null, reachable: true }));
    return {
      id: this.id,
      role: this.leader === this.id ? 'leader' : 'follower',
      term: term(1) as Term,
      leader: this.leader,
      commitIndex: logIndex(this.index),
      appliedIndex: logIndex(this.index),
      members,
    };
  }

  async addLearner(): Promise<void> {}
  async promote(): Promise<void> {}
  async removeMember(): Promise<void> {}
  async transferLeadership(): Promise<void> {}
  on<E extends keyof RaftNodeEvents>(event: E, listener: RaftNodeEvents[E]): void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (...a: never[]) => void);
    this.listeners.set(event, set);
  }
  off<E extends keyof RaftNodeEvents>(event: E, listener: RaftNodeEvents[E]): void {
    this.listeners.get(event)?.delete(listener as (...a: never[]) => void);
  }
  async stop(): Promise<void> {}
}

/** An API server on an ephemeral loopback port in front of `node`. */
export async function serveFake(node: FakeNode, token: string | null = null): Promise<{ api: ApiServer; url: string; address: string }> {
  const api = createApiServer();
  const ctx: ApiContext = {
    node,
    ipam: node.ipam,
    log: silentLogger,
    metrics: new ApiMetrics({ node, ipam: node.ipam }),
    zone: 'dcos.',
    token,
    tokenReads: false,
    ready: () => true,
  };
  api.attach(ctx);
  const port = await api.listen('127.0.0.1', 0);
  return { api, url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}` };
}

/**
 * Two fake nodes 'a' and 'b', each behind its own API server, that know each other's advertised
 * addresses (forwarding between them works); servers close on teardown.
 */
export async function serveFakePair(t: { teardown: (f: () => unknown) => void }): Promise<{ a: FakeNode; b: FakeNode; served: Array<{ api: ApiServer; url: string; address: string }> }> {
  const a = new FakeNode('a');
  const b = new FakeNode('b');
  const served = [await serveFake(a), await serveFake(b)];
  t.teardown(() => Promise.all(served.map((s) => s.api.close())));
  a.contexts = b.contexts = new Map([
    ['a', JSON.stringify({ raft: '127.0.0.1:1', http: served[0]!.address, dns: '127.0.0.1:2' })],
    ['b', JSON.stringify({ raft: '127.0.0.1:3', http: served[1]!.address, dns: '127.0.0.1:4' })],
  ]);
  return { a, b, served };
}
