// Every limit of the HTTP layer, in one place, named with its unit (STYLE rule 6).

import { assert } from '../../raft/core/assert.js';
import { ipamLimits } from '../ipam/index.js';

export const apiLimits = {
  /** A request body above this is refused with 413 before it is buffered further. */
  bodyBytesMax: 1024 * 1024,
  /** Query strings (and path) above this are refused: nothing we accept needs more. */
  urlCharsMax: 4096,
  /** How long a write waits for a leader to appear (elections take ~1-2 s) before 503. */
  leaderWaitMs: 5_000,
  /** Poll period while waiting for a leader (there is no event for "a leader I can reach"). */
  leaderPollMs: 50,
  /** Deadline of one forwarded request to the leader. */
  forwardTimeoutMs: 10_000,
  /** Open connections to the leader for forwarded writes (more wait for a free one). */
  forwardSocketsMax: 256,
  /** A forwarded request may be forwarded again at most this many times (leader moved meanwhile). */
  forwardHopsMax: 2,
  /** Tasks returned by one GET /v1/tasks unless ?limit says otherwise, and the most it may say. */
  tasksPerListDefault: 10_000,
  tasksPerListMax: 100_000,
  /**
   * Per-agent IPAM gauges are exported for at most this many agents per network (the fullest
   * first): 2 gauges x 2 pools x 500 = 2,000 series per network keeps a scrape small.
   */
  agentGaugesPerNetworkMax: 500,
  /** A client must send its headers within this, and the whole request within requestMsMax (slow clients hold sockets). */
  headersMsMax: 10_000,
  requestMsMax: 30_000,
  /** Idle keep-alive connections are closed after this. */
  keepAliveMs: 5_000,
  /**
   * A request head (request line, headers, blank line) the lean path reads at most; a longer one
   * goes to node:http, whose limit (maxHeaderSize, 16 KiB by default) then answers 431.
   */
  headBytesMax: 16 * 1024,
  /** Header lines of one head the lean path reads at most (more: node:http reads them). */
  headerLinesMax: 64,
  /** Requests of one lean connection being answered at once (pipelining); more wait unread. */
  pipelinedRequestsMax: 16,
  /** How often the lean connections are checked against keepAliveMs, headersMsMax and requestMsMax. */
  timeoutSweepMs: 1_000,
  /** A learner is promoted only when connected, having acknowledged entries, within this many of the leader. */
  promoteLagEntriesMax: 64,
  /** Graceful stop: in-flight requests get this long before their connections are closed. */
  drainMs: 3_000,
} as const;

assert(apiLimits.bodyBytesMax >= ipamLimits.commandBytesMax, 'a body may carry the largest command');
assert(apiLimits.leaderPollMs < apiLimits.leaderWaitMs, 'the leader wait polls more than once');
assert(apiLimits.urlCharsMax < apiLimits.headBytesMax, 'a URL at its limit fits a lean head');
assert(apiLimits.timeoutSweepMs < apiLimits.keepAliveMs, 'the sweep runs more than once per keep-alive period');
assert(apiLimits.tasksPerListDefault <= apiLimits.tasksPerListMax, 'default list size within its max');
