// The options of a run. Everything not fixed on the command line is drawn from the run's seed, so
// one seed names one complete configuration; the options are printed with every failure and a seed
// replays exactly. Virtual time is in microseconds.

import type { CoreLimits } from '../core/raft.js';
import type { Prng } from './prng.js';

/** Broken core variants (CoreConfig.unsafe) the simulator must catch. */
export const UNSAFE_FLAGS = ['ackBeforeSync', 'commitOldTermByCount', 'forgetVote'] as const;
export type UnsafeFlag = (typeof UNSAFE_FLAGS)[number];

/**
 * Broken drivers: the core is correct but the simulated node breaks the Ready contract.
 *  - sendBeforePersist: messagesAfterPersist leave before the disk write is durable.
 *  - localReads: reads are served from the local state machine without ReadIndex.
 *  - leaderReads: a node that believes it leads serves reads at its own commit index without
 *    confirming leadership (the deposed-leader stale read); others use ReadIndex.
 *  - dropAcks: messagesAfterPersist are never sent. Safe but never makes progress: it proves the
 *    liveness phase bites.
 */
export const DRIVER_BUGS = ['sendBeforePersist', 'localReads', 'leaderReads', 'dropAcks'] as const;
export type DriverBug = (typeof DRIVER_BUGS)[number];

/** What the command line fixes; the rest comes from the seed. */
export interface SimArgs {
  readonly seed: number;
  /** Events processed in the safety phase. */
  readonly steps: number;
  /** Initial voters (3 or 5); drawn from the seed when absent. */
  readonly nodes?: number;
  readonly unsafe?: readonly UnsafeFlag[];
  readonly driverBugs?: readonly DriverBug[];
  /** 'paper' checks only the Figure 3 properties and the read and monotonicity rules, leaving out
   *  the direct rule checks (one vote per term, the Figure 8 commit rule, durability on a majority
   *  at commit) that catch bugs earliest. */
  readonly checks?: Checks;
}

export type Checks = 'all' | 'paper';

export interface NetOptions {
  readonly delayMinUs: number;
  readonly delayMaxUs: number;
  /** Probability that a message is lost. */
  readonly dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  readonly dupRate: number;
  /** Probability that a message is held back by up to slowMaxUs more (reordering it). */
  readonly slowRate: number;
  readonly slowMaxUs: number;
  /** Probability that a read-path message (heartbeatResp, readIndex, readIndexResp) is replayed later. */
  readonly replayRate: number;
  /** Replays arrive between this and three times this (one election timeout) after the original. */
  readonly replayMinUs: number;
}

export interface DiskOptions {
  readonly syncMinUs: number;
  readonly syncMaxUs: number;
  /** Probability that an fsync stalls for up to slowMaxUs. */
  readonly slowRate: number;
  readonly slowMaxUs: number;
}

export interface WorkloadOptions {
  /** Mean virtual time between client operations (exponential). */
  readonly meanIntervalUs: number;
  /** Relative weights of the operations. */
  readonly propose: number;
  readonly read: number;
  readonly confChange: number;
  readonly transfer: number;
  readonly compact: number;
}

export interface FaultOptions {
  /** Mean virtual time between scheduled faults (exponential). */
  readonly meanIntervalUs: number;
  /** Relative weights of the scheduled faults. */
  readonly crash: number;
  readonly crashLeader: number;
  readonly partition: number;
  readonly isolateLeader: number;
  readonly oneWay: number;
  readonly pause: number;
  /** Probabilities of the targeted faults, each at the moment that makes a bug visible. */
  readonly crashAfterVote: number; // the voter crashes just after granting a vote (forgetVote)
  readonly crashAfterAck: number; // a follower crashes just after acknowledging entries; its leader may be cut off too
  readonly crashWithUnsynced: number; // per fault: crash a node whose disk holds unsynced writes
  readonly isolateOnAppend: number; // a leader is cut off right after appending entries (Figure 8)
  readonly crashLeaderOnCommit: number; // a leader crashes right after advancing its commit index
  readonly figure8: boolean; // the scripted Figure 8 sequence (figure8.ts) runs now and then
  readonly downMinUs: number;
  readonly downMaxUs: number;
  readonly partitionMinUs: number;
  readonly partitionMaxUs: number;
}

export interface SimOptions {
  readonly seed: number;
  readonly steps: number;
  readonly voters: number;
  /** Learners in the bootstrap membership. */
  readonly learners: number;
  /** Extra node ids that may join (as learners, then perhaps be promoted). */
  readonly spares: number;
  readonly tickUs: number;
  /** Each node's clock runs at 1 ± up to this fraction of real time (drawn per node). */
  readonly clockDrift: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly limits: Partial<CoreLimits>;
  readonly net: NetOptions;
  readonly disk: DiskOptions;
  readonly workload: WorkloadOptions;
  readonly faults: FaultOptions;
  /** Virtual time the healed cluster gets to converge in the liveness phase. */
  readonly livenessBoundUs: number;
  readonly unsafe: readonly UnsafeFlag[];
  readonly driverBugs: readonly DriverBug[];
  readonly checks: Checks;
}

export const STEPS_DEFAULT = 2000;
const TICK_US = 10_000;

/** Draws the options of a run from its seed's generator (called first, before anything else). */
export function deriveOptions(rng: Prng, args: SimArgs): SimOptions {
  const voters = args.nodes ?? (rng.chance(0.5) ? 3 : 5);
  const electionTicks = rng.between(4, 12);
  const delayMaxUs = rng.between(500, 2 * TICK_US);
  return {
    seed: args.seed,
    steps: args.steps,
    voters,
    learners: rng.int(3),
    spares: rng.between(1, 3),
    tickUs: TICK_US,
    clockDrift: pickRate(rng, [0, 0.05, 0.2]),
    electionTicks,
    heartbeatTicks: rng.between(1, Math.max(1, Math.floor(electionTicks / 3))),
    preVote: rng.chance(0.5),
    checkQuorum: rng.chance(0.5),
    limits: deriveLimits(rng),
    net: {
      delayMinUs: rng.between(50, 500),
      delayMaxUs,
      dropRate: pickRate(rng, [0, 0.01, 0.05, 0.15]),
      dupRate: pickRate(rng, [0, 0.01, 0.05, 0.1]),
      slowRate: pickRate(rng, [0, 0.02, 0.1]),
      slowMaxUs: rng.between(1, 3 * electionTicks) * TICK_US,
      replayRate: pickRate(rng, [0, 0.05, 0.2]),
      replayMinUs: electionTicks * TICK_US,
    },
    disk: {
      syncMinUs: rng.between(20, 500),
      syncMaxUs: rng.between(500, 2 * TICK_US),
      slowRate: pickRate(rng, [0, 0.02, 0.1]),
      slowMaxUs: rng.between(1, 2 * electionTicks) * TICK_US,
    },
    workload: {
      meanIntervalUs: rng.between(2, 30) * 1000,
      propose: 10,
      read: rng.between(2, 8),
      confChange: rng.between(0, 5),
      transfer: rng.between(0, 4),
      compact: rng.between(0, 3),
    },
    faults: deriveFaults(rng, electionTicks),
    livenessBoundUs: 60 * electionTicks * TICK_US,
    unsafe: args.unsafe ?? [],
    driverBugs: args.driverBugs ?? [],
    checks: args.checks ?? 'all',
  };
}

function deriveLimits(rng: Prng): Partial<CoreLimits> {
  // Small limits so that batching, flow control and chunked snapshots are exercised by short runs.
  return {
    inflightMessagesMax: rng.pick([1, 2, 4, 16, 256]),
    entriesPerAppendMax: rng.pick([1, 2, 8, 64, 4096]),
    appendBytesMax: rng.pick([64, 256, 4096, 1 << 20]),
    inflightBytesMax: 32 << 20,
    snapshotChunkBytes: rng.pick([8, 32, 1024]),
    uncommittedEntriesMax: rng.pick([16, 1000]),
  };
}

function deriveFaults(rng: Prng, electionTicks: number): FaultOptions {
  const electionUs = electionTicks * TICK_US;
  return {
    meanIntervalUs: rng.between(1, 6) * electionUs,
    crash: rng.between(1, 4),
    crashLeader: rng.between(0, 3),
    partition: rng.between(0, 3),
    isolateLeader: rng.between(0, 3),
    oneWay: rng.between(0, 2),
    pause: rng.between(0, 2),
    crashAfterVote: pickRate(rng, [0, 0.2, 0.5]),
    crashAfterAck: pickRate(rng, [0, 0.005, 0.02]),
    crashWithUnsynced: pickRate(rng, [0.2, 0.6]),
    isolateOnAppend: pickRate(rng, [0, 0.01, 0.05]),
    crashLeaderOnCommit: pickRate(rng, [0, 0.01, 0.05]),
    figure8: rng.chance(0.5),
    downMinUs: rng.between(1, 1000),
    downMaxUs: rng.between(1, 4) * electionUs,
    partitionMinUs: electionUs,
    partitionMaxUs: rng.between(2, 8) * electionUs,
  };
}

function pickRate(rng: Prng, rates: readonly number[]): number {
  return rng.pick(rates);
}

/** One line naming every option, printed with each failure. */
export function formatOptions(o: SimOptions): string {
  return JSON.stringify(o);
}
