// Assertions for invariants inside dns/ (TIGER_STYLE). dns/ may not import raft/ or src/ (DESIGN.md
// §2: parts depend only downward), so it carries its own two-function copy. A failed assertion is a
// bug; expected conditions (bad input, a malformed packet) are DnsError or an rcode instead.

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

/** Throws an AssertionError carrying `message` (which should name the values) unless `cond`. */
export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new AssertionError(typeof message === 'string' ? message : message());
}

/** Ends every switch over a union: compiling proves it exhaustive, running it is a bug. */
export function assertNever(x: never): never {
  throw new AssertionError(`unexpected variant: ${JSON.stringify(x)}`);
}
