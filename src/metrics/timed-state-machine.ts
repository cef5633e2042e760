// A StateMachine decorator that times snapshot() (the encode half of a snapshot; the write half is
// TimedStorage.saveSnapshot) and reports each command reaching the state machine, so that
// src/metrics/answerable.ts knows when a batch started to apply and can tell a batch that changed
// the IPAM state from one that held only Raft no-ops and membership entries (those never reach
// the state machine).

import { performance } from 'node:perf_hooks';
import type { LogIndex } from '../../raft/core/types.js';
import type { StateMachine } from '../../raft/node/api.js';

export interface StateMachineTimingHooks {
  onSnapshot(seconds: number, bytes: number): void;
  /** A command was applied, or a snapshot restored (performance.now() milliseconds, before it ran). */
  onCommand(atMs: number): void;
}

export class TimedStateMachine<Result> implements StateMachine<Result> {
  constructor(
    private readonly inner: StateMachine<Result>,
    private readonly hooks: StateMachineTimingHooks,
  ) {}

  apply(command: Uint8Array, index: LogIndex): Result {
    this.hooks.onCommand(performance.now());
    return this.inner.apply(command, index);
  }

  snapshot(): Uint8Array {
    const started = performance.now();
    const data = this.inner.snapshot();
    this.hooks.onSnapshot((performance.now() - started) / 1000, data.length);
    return data;
  }

  restore(data: Uint8Array, index: LogIndex): void {
    // A restored snapshot replaces the state wholesale: every name may have changed.
    this.hooks.onCommand(performance.now());
    this.inner.restore(data, index);
  }
}
