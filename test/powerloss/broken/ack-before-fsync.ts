// A DELIBERATELY BROKEN vnetd, to show that powerloss.test.ts (fsync ON) catches a durability
// bug in the Ready loop, not only the --unsafe-no-fsync switch: the driver does not wait for
// storage.save() before it sends `messagesAfterPersist` and applies (Raft §5.1 / Figure 2: a node
// must persist before it answers). Every save still runs, synced, in order; only the waiting is
// gone, so followers acknowledge appends and the leader answers clients before anything is on
// disk, and a power cut right after an acknowledgement loses it on every node.
// Run it like the CLI: node dist/test/powerloss/broken/ack-before-fsync.js start ...
// Used by: POWERLOSS_ENTRY=ack-before-fsync npx tap dist/test/powerloss/powerloss.test.js (must FAIL).

import type { Ready } from '../../../raft/core/types.js';
import { RaftNode } from '../../../raft/node/index.js';

type Persist = (this: RaftNode, rd: Ready) => Promise<void>;
const proto = RaftNode.prototype as unknown as { persist: Persist };
const realPersist = proto.persist;

proto.persist = function persistWithoutWaiting(this: RaftNode, rd: Ready): Promise<void> {
  // A failed save still ends the process, as the real driver's failure would.
  realPersist.call(this, rd).catch((err: unknown) => {
    process.stderr.write(`ack-before-fsync: save failed: ${String(err)}\n`);
    process.exit(70);
  });
  return Promise.resolve();
};

await import('../../../src/cli.js');
