// All invariant checkers of a run, fed by the simulator as it observes the cores.

import { CommitRuleChecker } from './commit-rule.js';
import { DurabilityChecker } from './durability.js';
import { ElectionSafetyChecker } from './election-safety.js';
import { LeaderCompletenessChecker } from './leader-completeness.js';
import { LogMatchingChecker } from './log-matching.js';
import { MonotonicChecker } from './monotonic.js';
import { ReadLinearizabilityChecker } from './read-linearizability.js';
import { StateMachineSafetyChecker } from './state-machine-safety.js';
import { VoteUniquenessChecker } from './vote-uniqueness.js';

export class Checkers {
  readonly election = new ElectionSafetyChecker();
  readonly votes = new VoteUniquenessChecker();
  readonly commitRule = new CommitRuleChecker();
  readonly durability = new DurabilityChecker();
  readonly logMatching = new LogMatchingChecker();
  readonly completeness = new LeaderCompletenessChecker();
  readonly stateMachine = new StateMachineSafetyChecker();
  readonly monotonic = new MonotonicChecker();
  readonly reads = new ReadLinearizabilityChecker();
}

export {
  CommitRuleChecker,
  DurabilityChecker,
  ElectionSafetyChecker,
  LeaderCompletenessChecker,
  LogMatchingChecker,
  MonotonicChecker,
  ReadLinearizabilityChecker,
  StateMachineSafetyChecker,
  VoteUniquenessChecker,
};
