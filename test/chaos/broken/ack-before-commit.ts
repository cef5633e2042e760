// A DELIBERATELY BROKEN vnetd for the "it bites" test (REFERENCE.md §6: acknowledging a write
// before its entry is committed). The leader answers every write as soon as it has proposed it,
// with the result computed on a copy of its applied state, instead of waiting for the entry to
// be committed and applied. Concurrent writes then see the same state (two tasks can be told the
// same IP), and a write acknowledged by a leader that dies or is cut off may never commit.
// Run it exactly like the CLI: node dist/test/chaos/broken/ack-before-commit.js start ...

import type { LogIndex } from '../../../raft/core/types.js';
import type { StateMachine } from '../../../raft/node/api.js';
import { RaftNode } from '../../../raft/node/index.js';
import { IpamStateMachine } from '../../../src/ipam/index.js';

const realPropose = RaftNode.prototype.propose;

RaftNode.prototype.propose = function ackBeforeCommit(this: RaftNode, command: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<unknown> {
  const self = this as unknown as { sm: StateMachine; appliedIndex: LogIndex };
  const committed = realPropose.call(this, command, options);
  return new Promise((resolve, reject) => {
    // A refusal at submission (not the leader) still goes back, so the write path forwards as usual.
    committed.catch(reject);
    setImmediate(() => {
      const shadow = new IpamStateMachine();
      shadow.restore(self.sm.snapshot(), self.appliedIndex);
      resolve(shadow.apply(command, (self.appliedIndex + 1) as LogIndex));
    });
  });
} as typeof RaftNode.prototype.propose;

await import('../../../src/cli.js');
