// A Transport decorator that notes when the leader's commit index reaches this node: appends and
// heartbeats carry it (Raft §5.3: "the leader keeps track of the highest index it knows to be
// committed, and it includes that index in future AppendEntries RPCs"). On a follower or learner
// that is the moment it learns a commit, the start of src/metrics/answerable.ts's interval.

import { performance } from 'node:perf_hooks';
import type { Message, NodeId } from '../../raft/core/types.js';
import type { PeerAddress, Transport, TransportStats } from '../../raft/transport/index.js';

export class TimedTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly onCommitSeen: (commit: number, atMs: number) => void,
  ) {}

  start(): Promise<void> {
    return this.inner.start();
  }

  address(): PeerAddress {
    return this.inner.address();
  }

  send(msg: Message): void {
    this.inner.send(msg);
  }

  setPeer(id: NodeId, address: PeerAddress): void {
    this.inner.setPeer(id, address);
  }

  removePeer(id: NodeId): void {
    this.inner.removePeer(id);
  }

  onMessage(handler: (msg: Message) => void): void {
    this.inner.onMessage((msg) => {
      if (msg.type === 'append' || msg.type === 'heartbeat') this.onCommitSeen(msg.commit, performance.now());
      handler(msg);
    });
  }

  isReachable(id: NodeId): boolean {
    return this.inner.isReachable(id);
  }

  stats(): TransportStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
