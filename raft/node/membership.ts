// Membership as the driver sees it: the configuration as of the applied index (for status, events
// and snapshots) and the peer addresses the transport needs. Pure functions, no I/O.

import type { ConfChange, Member, Membership, NodeId } from '../core/types.js';
import { assertNever } from '../core/assert.js';

/**
 * The membership after applying `change` to `m`. A change that names an unknown member, or adds an
 * existing one, leaves `m` unchanged: the core refuses such proposals, and replaying a log must
 * never throw (the core is the authority on validity, this is bookkeeping).
 */
export function applyConfChange(m: Membership, change: ConfChange): Membership {
  switch (change.type) {
    case 'addLearner':
      if (m.members.some((x) => x.id === change.id)) return m;
      return { members: [...m.members, { id: change.id, role: 'learner', context: change.context }] };
    case 'promote':
      return { members: m.members.map((x) => (x.id === change.id ? { ...x, role: 'voter' as const } : x)) };
    case 'remove':
      return { members: m.members.filter((x) => x.id !== change.id) };
    default:
      return assertNever(change);
  }
}

/** The addresses a member advertises: vnetd's member context is JSON text. */
export interface MemberAddresses {
  readonly raft: string | null;
  readonly http: string | null;
  readonly dns: string | null;
}

const hostPortRe = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Parses `{"raft":"host:port","http":"host:port","dns":"host:port"}`; a missing or malformed field is null. */
export function parseMemberContext(context: string): MemberAddresses {
  let parsed: unknown;
  try {
    parsed = JSON.parse(context);
  } catch {
    return { raft: null, http: null, dns: null };
  }
  const field = (name: string): string | null => {
    if (typeof parsed !== 'object' || parsed === null) return null;
    const v = (parsed as Record<string, unknown>)[name];
    if (typeof v !== 'string' || !hostPortRe.test(v)) return null;
    const port = Number(v.slice(v.lastIndexOf(':') + 1));
    return port > 0 && port < 65536 ? v : null;
  };
  return { raft: field('raft'), http: field('http'), dns: field('dns') };
}

/** The raft address of every member but `self`, in member order. Members without one are left out. */
export function peerAddresses(
  members: readonly Member[],
  self: NodeId,
  resolve: (m: Member) => string | null,
): Map<NodeId, string> {
  const out = new Map<NodeId, string>();
  for (const m of members) {
    if (m.id === self) continue;
    const addr = resolve(m);
    if (addr !== null) out.set(m.id, addr);
  }
  return out;
}

/** Members in either list (the first list wins on conflicts): used to keep peers reachable while a change is in flight. */
export function unionMembers(a: readonly Member[], b: readonly Member[]): Member[] {
  const out = [...a];
  for (const m of b) if (!out.some((x) => x.id === m.id)) out.push(m);
  return out;
}
