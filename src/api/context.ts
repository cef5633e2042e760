// What the handlers need from the node they run on. server.ts builds one per process; tests may
// build one around a fake RaftNodeApi.

import type { RaftNodeApi } from '../../raft/node/api.js';
import type { IpamQueries } from '../ipam/index.js';
import type { Logger } from '../log.js';
import type { ApiMetrics } from './metrics.js';

/** The addresses a member advertises (its Raft member context, as JSON text). */
export interface MemberContext {
  readonly raft: string;
  readonly http: string;
  readonly dns: string;
}

export interface ApiContext {
  readonly node: RaftNodeApi;
  /** The state machine's queries, and its snapshot for backups. */
  readonly ipam: IpamQueries & { snapshot(): Uint8Array };
  readonly log: Logger;
  readonly metrics: ApiMetrics;
  /** The zone task DNS names are shown under (e.g. "dcos."). */
  readonly zone: string;
  /** Bearer token for writes (and reads when `tokenReads`); null = open. */
  readonly token: string | null;
  readonly tokenReads: boolean;
  /** True once this node caught up with the leader after start (/v1/ready). */
  ready(): boolean;
}

export function encodeMemberContext(c: MemberContext): string {
  return JSON.stringify({ raft: c.raft, http: c.http, dns: c.dns });
}
