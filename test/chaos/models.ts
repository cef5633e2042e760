// The sequential specifications the chaos history is checked against (DESIGN.md §3 HTTP API):
// one task id, and one agent id. Both are nondeterministic where the client could not see the
// outcome: an allocation that timed out may have taken an IP nobody has seen yet ('?'), which
// the next observation pins down.

import { assertNever } from '../../raft/core/assert.js';
import type { Model } from './linearizability.js';

/** What a client saw: a definite answer, a definite refusal (4xx), or nothing it can trust. */
export type Outcome<V> =
  | { readonly kind: 'ok'; readonly value: V }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'unknown' };

// ---- tasks -----------------------------------------------------------------------------------

/** PUT /v1/tasks/{id} (always with the same body per id), DELETE /v1/tasks/{id}, GET ?consistent=true. */
export type TaskInput = { readonly f: 'alloc' } | { readonly f: 'release' } | { readonly f: 'read' };
/** alloc/read: the IP (read: null = 404); release: null. */
export type TaskOutput = Outcome<string | null>;
/** null: no allocation; '?': allocated, IP not yet observed; otherwise the IP. */
export type TaskState = string | null;

export const unknownIp = '?';

function allocStep(s: TaskState, out: TaskOutput): readonly TaskState[] {
  switch (out.kind) {
    case 'ok':
      if (out.value === null) return [];
      return s === null || s === unknownIp || s === out.value ? [out.value] : [];
    case 'refused':
      // A refused allocation (exhausted, no block, unknown agent) only happens to a task that holds nothing.
      return s === null ? [null] : [];
    case 'unknown':
      return s === null ? [null, unknownIp] : [s];
    default:
      return assertNever(out);
  }
}

function releaseStep(s: TaskState, out: TaskOutput): readonly TaskState[] {
  switch (out.kind) {
    case 'ok':
      return [null];
    case 'refused':
      return [s];
    case 'unknown':
      return s === null ? [null] : [s, null];
    default:
      return assertNever(out);
  }
}

function readStep(s: TaskState, out: TaskOutput): readonly TaskState[] {
  switch (out.kind) {
    case 'ok':
      if (out.value === null) return s === null ? [null] : [];
      return s === out.value || s === unknownIp ? [out.value] : [];
    case 'refused':
    case 'unknown':
      return [s];
    default:
      return assertNever(out);
  }
}

export const taskModel: Model<TaskState, TaskInput, TaskOutput> = {
  init: null,
  step(s, input, out) {
    switch (input.f) {
      case 'alloc':
        return allocStep(s, out);
      case 'release':
        return releaseStep(s, out);
      case 'read':
        return readStep(s, out);
      default:
        return assertNever(input);
    }
  },
  key: (s) => (s === null ? '-' : s),
};

// ---- agents ----------------------------------------------------------------------------------

/** PUT /v1/agents/{id} (same IP per id), GET ?consistent=true. Agents are never deleted by the workload. */
export type AgentInput = { readonly f: 'register' } | { readonly f: 'read' };
/** The agent's blocks as canonical JSON (read: null = 404). */
export type AgentOutput = Outcome<string | null>;
export type AgentState = string | null;

export const unknownBlocks = '?';

export const agentModel: Model<AgentState, AgentInput, AgentOutput> = {
  init: null,
  step(s, input, out) {
    if (out.kind === 'unknown') return input.f === 'register' && s === null ? [null, unknownBlocks] : [s];
    if (out.kind === 'refused') return input.f === 'register' ? (s === null ? [null] : []) : [s];
    if (out.value === null) return input.f === 'read' && s === null ? [null] : [];
    // An agent's blocks never change while it exists (DESIGN.md §4).
    return s === null ? (input.f === 'register' ? [out.value] : []) : s === unknownBlocks || s === out.value ? [out.value] : [];
  },
  key: (s) => (s === null ? '-' : s),
};
