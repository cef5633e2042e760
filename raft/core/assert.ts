// Assertions for invariants in production code (TIGER_STYLE). A failed assertion is a bug: it
// throws an AssertionError that nothing below the top level catches. Expected conditions (not
// leader, exhausted, bad input) are typed results or typed errors instead, never assertions.

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
