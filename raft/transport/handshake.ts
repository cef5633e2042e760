// Mutual authentication with the shared cluster secret, once per connection, before any Raft
// message flows (DESIGN §6). Both sides contribute a random nonce and each proves knowledge of the
// secret with an HMAC-SHA256 over both nonces and both ids, with a different label per direction,
// so a proof can be neither replayed on another connection nor reflected back at its sender.
//
//   connector                                       acceptor
//   hello     {t, v, from, to, nonce: Nc}    ──▶    checks to == its id
//             ◀──  challenge {t, nonce: Ns, proof: HMAC(k, "S" Nc Ns from 0 to)}
//   checks proof, then
//   proof     {t, proof: HMAC(k, "C" Nc Ns from 0 to)}  ──▶  checks proof
//             ◀──  ok {t}
//   Raft message frames (connector → acceptor only)
//
// Each connection carries messages one way; every node keeps one outbound connection per peer.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../core/types.js';
import { isParseError, parseNodeId } from './parse-message.js';

export const HANDSHAKE_VERSION = 1;
export const NONCE_BYTES = 32;
const PROOF_BYTES = 32;

export const newNonce = (): Buffer => randomBytes(NONCE_BYTES);

export function proof(secret: Uint8Array, label: 'S' | 'C', connectorNonce: Uint8Array, acceptorNonce: Uint8Array, from: NodeId, to: NodeId): Buffer {
  return createHmac('sha256', secret)
    .update(label)
    .update(connectorNonce)
    .update(acceptorNonce)
    .update(from)
    .update(Uint8Array.of(0))
    .update(to)
    .digest();
}

export function proofMatches(expected: Buffer, actual: Uint8Array): boolean {
  return actual.length === expected.length && timingSafeEqual(expected, actual);
}

export interface Hello {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly nonce: Uint8Array;
}

function record(x: unknown): Record<string, unknown> | null {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array) ? (x as Record<string, unknown>) : null;
}

function bytesOf(x: unknown, length: number): Uint8Array | null {
  return x instanceof Uint8Array && x.length === length ? x : null;
}

export function parseHello(x: unknown): Hello | string {
  const o = record(x);
  if (o === null || o['t'] !== 'hello') return 'expected a hello frame';
  if (o['v'] !== HANDSHAKE_VERSION) return `unsupported handshake version ${String(o['v'])}, expected ${HANDSHAKE_VERSION}`;
  const from = parseNodeId(o['from'], 'from');
  if (isParseError(from)) return from.error;
  const to = parseNodeId(o['to'], 'to');
  if (isParseError(to)) return to.error;
  const nonce = bytesOf(o['nonce'], NONCE_BYTES);
  if (nonce === null) return `nonce: expected ${NONCE_BYTES} bytes`;
  return { from, to, nonce };
}

export function parseChallenge(x: unknown): { readonly nonce: Uint8Array; readonly proof: Uint8Array } | string {
  const o = record(x);
  if (o === null || o['t'] !== 'challenge') return 'expected a challenge frame';
  const nonce = bytesOf(o['nonce'], NONCE_BYTES);
  const p = bytesOf(o['proof'], PROOF_BYTES);
  if (nonce === null || p === null) return 'challenge: malformed nonce or proof';
  return { nonce, proof: p };
}

export function parseProof(x: unknown): Uint8Array | string {
  const o = record(x);
  if (o === null || o['t'] !== 'proof') return 'expected a proof frame';
  return bytesOf(o['proof'], PROOF_BYTES) ?? 'proof: expected 32 bytes';
}

export function isOk(x: unknown): boolean {
  return record(x)?.['t'] === 'ok';
}
