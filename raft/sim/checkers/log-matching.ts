// Log Matching (Raft §5.3, Figure 3): if two logs contain an entry with the same index and term,
// the logs are identical in all entries up through that index.
//
// Incremental form: every (index, term) ever written anywhere must always denote the same entry
// content AND the same term at index - 1. By induction on the index this is equivalent to the
// property (two logs agreeing at (i, t) agree on the entry at i and on the term at i - 1, hence, by
// the same rule, on everything below), and it costs O(1) per appended entry instead of a rescan.
// Also checked: terms never decrease along a log (a consequence of §5.3 that a leader relies on).

import type { Entry, NodeId } from '../../core/types.js';
import { entryHash, hashEqual, type Hash64 } from '../hash.js';
import { Violation } from '../violation.js';

interface Seen {
  readonly hash: Hash64;
  readonly prevTerm: number;
  readonly node: NodeId;
}

const TERM_LIMIT = 1 << 20; // terms above this would not fit the packed key; a run never gets close

export class LogMatchingChecker {
  private readonly seen = new Map<number, Seen>();

  /** `node` wrote `entries`; `prevTerm` is its log's term just before the first of them. */
  onAppend(node: NodeId, prevTerm: number, entries: readonly Entry[]): void {
    let prev = prevTerm;
    for (const e of entries) {
      if (e.term < prev) {
        throw new Violation('log-matching', `${node}: term goes down along the log: ${prev} then ${e.term} at ${e.index}`);
      }
      if (e.term >= TERM_LIMIT) throw new Violation('crash', `term ${e.term} beyond the checker's limit ${TERM_LIMIT}`);
      const key = e.index * TERM_LIMIT + e.term;
      const hash = entryHash(e);
      const earlier = this.seen.get(key);
      if (earlier === undefined) {
        this.seen.set(key, { hash, prevTerm: prev, node });
      } else if (!hashEqual(earlier.hash, hash)) {
        throw new Violation('log-matching', `${node} and ${earlier.node} hold different entries at index ${e.index} term ${e.term}`);
      } else if (earlier.prevTerm !== prev) {
        throw new Violation(
          'log-matching',
          `${node} and ${earlier.node} agree at index ${e.index} term ${e.term} but not before it ` +
            `(terms ${prev} and ${earlier.prevTerm} at ${e.index - 1})`,
        );
      }
      prev = e.term;
    }
  }
}
