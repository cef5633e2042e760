// The configuration a kv-node test process takes as its one argument (JSON), shared with the harness.

export interface KvNodeConfig {
  readonly id: string;
  readonly dataDir: string;
  readonly raftPort: number;
  readonly secret: string;
  /** Initial voters (id -> raft port) for a new cluster, or 'join'. */
  readonly bootstrap: Readonly<Record<string, number>> | 'join';
  /** For 'join': existing members (id -> raft port), so the joiner can answer the leader. */
  readonly knownPeers?: Readonly<Record<string, number>>;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries: number;
  readonly proposalTimeoutMs: number;
}

export const memberContext = (raftPort: number): string => JSON.stringify({ raft: `127.0.0.1:${raftPort}` });

