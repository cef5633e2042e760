// Every limit of the Docker IPAM driver, in one place, named with its unit (STYLE rule 6).

import { assert } from '../../raft/core/assert.js';

export const dockerLimits = {
  /** libnetwork's IPAM requests are a few hundred bytes; anything past this is not one. */
  requestBytesMax: 64 * 1024,
  /** Tasks listed to find the next free sequence number or an address to release. */
  tasksPerListMax: 100_000,
  /**
   * Attempts at a fresh task id per RequestAddress: an id we chose may already exist when another
   * writer raced us; each attempt moves past it.
   */
  allocateAttemptsMax: 8,
  /** Requests waiting their turn for the allocation queue; past this dockerd gets an error. */
  queuedRequestsMax: 1024,
  /** Idle keep-alive connections from dockerd are closed after this. */
  keepAliveMs: 5_000,
} as const;

assert(dockerLimits.allocateAttemptsMax >= 2, 'at least one retry after a lost race');
