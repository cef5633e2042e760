// Every limit of the CNI plugin and its vnetd client, in one place, named with its unit (STYLE
// rule 6). The plugin is a short-lived process a runtime waits for, so each bound is also a bound
// on how long a container start can hang on us.

import { assert } from '../../raft/core/assert.js';

export const cniLimits = {
  /** The network config on stdin (the runtime sends the whole config, prevResult included). */
  stdinBytesMax: 1024 * 1024,
  /** One answer from vnetd; a task list for one agent and network is the largest we read. */
  responseBytesMax: 32 * 1024 * 1024,
  /**
   * One HTTP request to vnetd, connect to last byte. vnetd itself waits up to 5 s for a leader
   * before answering 503 (src/api/limits.ts leaderWaitMs), so this must be longer than that.
   */
  requestTimeoutMs: 15_000,
  /** CNI_ARGS pairs (`K=V;K=V`); runtimes send a handful. */
  argsPairsMax: 64,
  /** A file named by `agentFile` holds one agent id; anything larger is not one. */
  agentFileBytesMax: 4096,
  /** Task ids are at most this long in vnetd (src/ipam/limits.ts idCharsMax). */
  taskIdCharsMax: 255,
  /** Task names and framework names (src/ipam/limits.ts nameCharsMax). */
  nameCharsMax: 255,
  /** Tasks listed by one GC (the API's tasksPerListMax). */
  gcTasksMax: 100_000,
} as const;

assert(cniLimits.requestTimeoutMs > 5_000, 'the client outwaits vnetd\'s leader wait');
assert(cniLimits.stdinBytesMax <= cniLimits.responseBytesMax, 'sizes are sane');
