// All invariant checkers of a run, fed by the simulator as it observes the cores.

import { ElectionSafetyChecker } from './election-safety.js';
import { LeaderCompletenessChecker } from './leader-completeness.js';
import { LogMatchingChecker } from './log-matching.js';
import { MonotonicChecker } from './monotonic.js';
import { ReadLinearizabilityChecker } from './read-linearizability.js';
import { StateMachineSafetyChecker } from './state-machine-safety.js';

export class Checkers {
  readonly election = new ElectionSafetyChecker();
  readonly logMatching = new LogMatchingChecker();
  readonly completeness = new LeaderCompletenessChecker();
  readonly stateMachine = new StateMachineSafetyChecker();
  readonly monotonic = new MonotonicChecker();
  readonly reads = new ReadLinearizabilityChecker();
}

export {
  ElectionSafetyChecker,
  LeaderCompletenessChecker,
  LogMatchingChecker,
  MonotonicChecker,
  ReadLinearizabilityChecker,
  StateMachineSafetyChecker,
};
