// A StateMachine decorator that times snapshot() (the encode half of a snapshot; the write half is
// TimedStorage.saveSnapshot) and counts applied commands, so that src/metrics/answerable.ts can
// tell a batch that changed the IPAM state from one that held only Raft no-ops and membership
// entries (those never reach the state machine).

import { performance } from 'node:perf_hooks';
import type { LogIndex } from '../../raft/core/types.js';
import type { StateMachine } from '../../raft/node/api.js';

export interface StateMachineTimingHooks {
  onSnapshot(seconds: number, bytes: number): void;
}

export class TimedStateMachine<Result> implements StateMachine<Result> {
  /** Commands applied since start; compared across 'applied' events. */
  applied = 0;

  constructor(
    private readonly inner: StateMachine<Result>,
    private readonly hooks: StateMachineTimingHooks,
  ) {}

  apply(command: Uint8Array, index: LogIndex): Result {
    const result = this.inner.apply(command, index);
    this.applied++;
    return result;
  }

  snapshot(): Uint8Array {
    const started = performance.now();
    const data = this.inner.snapshot();
    this.hooks.onSnapshot((performance.now() - started) / 1000, data.length);
    return data;
  }

  restore(data: Uint8Array, index: LogIndex): void {
    this.inner.restore(data, index);
    // A restored snapshot replaces the state wholesale: every name may have changed.
    this.applied++;
  }
}
