// A DELIBERATELY BROKEN vnetd for the "it bites" test (REFERENCE.md §6: stale reads from a node
// that served reads without confirming leadership). `?consistent=true` reads skip the ReadIndex
// barrier and answer from whatever this node has applied, so a follower, a learner or a deposed
// leader returns state older than writes already acknowledged. Run it exactly like the CLI:
//   node dist/test/chaos/broken/stale-reads.js start ...
// Nothing in src/ or raft/ changes: the launcher patches the driver before the CLI loads.

import { RaftNode } from '../../../raft/node/index.js';

RaftNode.prototype.read = function staleRead(this: RaftNode): Promise<never> {
  return Promise.resolve((this as unknown as { appliedIndex: never }).appliedIndex);
};

await import('../../../src/cli.js');
