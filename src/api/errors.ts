// The HTTP layer's one error type and the one exhaustive table from error code to status
// (STYLE rule 8). IPAM errors and Raft errors are translated here and nowhere else; the body is
// always `{"error": CODE, "message": TEXT, ...details}`.

import type { IpamError, IpamErrorCode } from '../ipam/index.js';
import type { RaftErrorCode } from '../../raft/node/api.js';
import { RaftError } from '../../raft/node/api.js';
import { assertNever } from '../../raft/core/assert.js';

/** Codes only the HTTP layer produces. */
export type HttpOnlyCode =
  | 'unauthorized' // missing or wrong bearer token
  | 'route_not_found' // no such path
  | 'method_not_allowed'
  | 'too_large' // body above httpBodyBytesMax, or a command above the entry size limit
  | 'unavailable' // no leader reachable within the wait, or the node is stopping
  | 'timeout' // the write may still be applied later: retry with the same id (writes are idempotent)
  | 'overloaded' // too many proposals pending
  | 'change_pending' // another membership change is in flight
  | 'not_ready' // this node has not caught up with the leader since start
  | 'internal'; // a bug: logged with details

export type ApiErrorCode = IpamErrorCode | HttpOnlyCode;

export const statusOf: { readonly [C in ApiErrorCode]: number } = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  exhausted: 409,
  in_use: 409,
  disabled: 409,
  no_block: 409,
  vtep_exhausted: 409,
  unauthorized: 401,
  route_not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  unavailable: 503,
  timeout: 503,
  overloaded: 503,
  change_pending: 409,
  not_ready: 503,
  internal: 500,
};

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return statusOf[this.code];
  }

  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }
}

export const invalid = (field: string, message: string): ApiError => new ApiError('invalid', message, { field });

/** An IPAM error as the API answers it: its code, and every detail field (field, network, capacity, ...). */
export function fromIpamError(e: IpamError): ApiError {
  const { code, message, ...details } = e;
  return new ApiError(code, message, details);
}

/**
 * A Raft error the write path could not resolve by retrying or forwarding. `not_leader` and
 * `transferring` reach here only once the leader wait ran out, so they mean "unavailable".
 */
export function fromRaftCode(code: RaftErrorCode, message: string): ApiError {
  switch (code) {
    case 'not_leader':
    case 'transferring':
    case 'stopped':
      return new ApiError('unavailable', message);
    case 'timeout':
      return new ApiError('timeout', message);
    case 'change_pending':
      return new ApiError('change_pending', message);
    case 'too_large':
      return new ApiError('too_large', message);
    case 'unknown_member':
      return new ApiError('not_found', message, { kind: 'member' });
    case 'overloaded':
      return new ApiError('overloaded', message);
    default:
      return assertNever(code);
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof RaftError) return fromRaftCode(err.code, err.message);
  return new ApiError('internal', 'internal error (logged)');
}
