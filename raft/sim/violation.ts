// What a run can find. A checker that sees an invariant break throws a Violation; the simulator
// stops the run at the first one and reports it with the seed that replays it.

import { assertNever } from '../core/assert.js';

export type ViolationKind =
  | 'election-safety' // two leaders in one term (Raft §5.2)
  | 'double-vote' // a node granted votes to two candidates in one term (§5.2)
  | 'durability' // a leader committed an entry not yet on the synced disks of a majority (§5.3, DESIGN §4)
  | 'commit-rule' // a leader advanced its commit index to an entry of an earlier term (§5.4.2, Figure 8)
  | 'log-matching' // two logs agree on (index, term) but not on the entry or what precedes it (§5.3)
  | 'leader-completeness' // a leader lacks an entry committed in an earlier term, or a committed entry changed (§5.4)
  | 'state-machine-safety' // two nodes applied different entries at one index (§5.4.3)
  | 'monotonic' // a node's commit or applied index went backwards
  | 'read-linearizability' // a ReadIndex read missed a write acknowledged before it started
  | 'contract' // the core broke the Ready contract (raft/core/types.ts) in a way the driver can see
  | 'core-assertion' // the core threw an AssertionError: it detected a broken invariant itself
  | 'crash' // any other exception (a bug in the core or in the simulator)
  | 'liveness'; // the healed cluster did not converge within the bound

export class Violation extends Error {
  constructor(
    readonly kind: ViolationKind,
    message: string,
  ) {
    super(message);
    this.name = 'Violation';
  }
}

/** Process exit statuses of `npm run sim`, one per class of failure. */
export const EXIT = {
  ok: 0,
  crash: 1,
  safety: 2,
  liveness: 3,
  usage: 64,
} as const;

export function exitCodeOf(kind: ViolationKind): number {
  switch (kind) {
    case 'liveness':
      return EXIT.liveness;
    case 'crash':
      return EXIT.crash;
    case 'election-safety':
    case 'double-vote':
    case 'commit-rule':
    case 'durability':
    case 'log-matching':
    case 'leader-completeness':
    case 'state-machine-safety':
    case 'monotonic':
    case 'read-linearizability':
    case 'contract':
    case 'core-assertion':
      return EXIT.safety;
    default:
      return assertNever(kind);
  }
}
