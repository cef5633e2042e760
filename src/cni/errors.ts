// The CNI plugin's one error type and its closed code set. Codes below 100 are the spec's
// (CNI SPEC "Error" section, REFERENCE.md §2); 100 and above are vnetd's own and are listed in
// src/cni/README.md. Every failure leaves the plugin as `{"cniVersion", "code", "msg",
// "details"}` on stdout and a non-zero exit status.

import { assertNever } from '../../raft/core/assert.js';
import type { ApiErrorCode } from '../api/errors.js';
import type { VnetdErrorBody } from './vnetd-client.js';

export const cniCodes = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** CNI 1.1.0 STATUS: the plugin cannot serve ADD now (vnetd unreachable, the half is full). */
  notAvailable: 50,
  /** The agent's half for this containerizer has no free address. */
  exhausted: 100,
  /** vnetd knows no such network or agent. */
  notFound: 101,
  /** The task id (container id and interface) holds an allocation elsewhere (another network or agent). */
  conflict: 102,
  /** The network is disabled: no new allocations. */
  disabled: 103,
  /** The agent has no block in the network (the network had none free for it). */
  noBlock: 104,
  /** CHECK: vnetd holds no allocation for this container and interface. */
  noAllocation: 105,
  /** CHECK: prevResult's addresses are not the ones vnetd holds for this container. */
  mismatch: 106,
  /** vnetd answered something this plugin does not understand (a bug, or an incompatible vnetd). */
  unexpectedAnswer: 107,
  /** A bug in vnetd-cni itself (reported with its stack in `details`). */
  internal: 199,
} as const;

export type CniErrorKind = keyof typeof cniCodes;

export class CniError extends Error {
  constructor(
    readonly kind: CniErrorKind,
    message: string,
    /** Longer context: vnetd's error body as JSON, the offending value, the remedy. */
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }

  get code(): number {
    return cniCodes[this.kind];
  }

  /** The spec's error object for `cniVersion`. */
  toJson(cniVersion: string): Record<string, unknown> {
    return { cniVersion, code: this.code, msg: this.message, details: this.details };
  }
}

/**
 * Every error code vnetd's API answers with. A type-only import (erased at run time, so the
 * plugin still loads nothing of the server): when the API gains a code, this table stops
 * compiling until the code is mapped below.
 */
const vnetdCodes = {
  invalid: true, not_found: true, conflict: true, exhausted: true, in_use: true, disabled: true, no_block: true,
  vtep_exhausted: true, unauthorized: true, route_not_found: true, method_not_allowed: true, too_large: true,
  unavailable: true, timeout: true, overloaded: true, change_pending: true, not_ready: true, internal: true,
} as const satisfies Record<ApiErrorCode, true>;
type VnetdCode = keyof typeof vnetdCodes;

export function isVnetdCode(s: string): s is ApiErrorCode {
  return Object.prototype.hasOwnProperty.call(vnetdCodes, s);
}

/** The CNI error for an error answer of vnetd; `doing` says what we asked, e.g. "allocate c1/eth0". */
export function fromVnetdError(body: VnetdErrorBody, status: number, doing: string): CniError {
  const details = JSON.stringify(body);
  const code = body.error;
  if (!isVnetdCode(code)) return new CniError('unexpectedAnswer', `vnetd answered HTTP ${status} "${code}" to ${doing}: ${body.message}`, details);
  const kind = kindOf(code);
  if (code === 'exhausted') return new CniError(kind, exhaustedMessage(body), details);
  return new CniError(kind, `${doing}: ${body.message}`, details);
}

function kindOf(code: VnetdCode): CniErrorKind {
  switch (code) {
    case 'exhausted':
      return 'exhausted';
    case 'not_found':
      return 'notFound';
    case 'conflict':
      return 'conflict';
    case 'disabled':
      return 'disabled';
    case 'no_block':
      return 'noBlock';
    case 'invalid':
    case 'unauthorized':
      return 'invalidConfig';
    case 'unavailable':
    case 'timeout':
    case 'overloaded':
    case 'not_ready':
    case 'change_pending':
      return 'tryAgainLater';
    case 'in_use':
    case 'vtep_exhausted':
    case 'route_not_found':
    case 'method_not_allowed':
    case 'too_large':
    case 'internal':
      return 'unexpectedAnswer';
    default:
      return assertNever(code);
  }
}

/** Exhaustion names the network, agent, pool, capacity and use, so an operator can act on it. */
function exhaustedMessage(body: VnetdErrorBody): string {
  const { network, agent, containerizer, capacity, used } = body;
  return `no free address: network ${String(network)} on agent ${String(agent)} (${String(containerizer)} pool) has capacity ${String(capacity)} and ${String(used)} used`;
}
