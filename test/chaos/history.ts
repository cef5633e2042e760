// The recorded history of a chaos run: one JSON line per client operation with its invoke and
// return time and what the client saw. Times are milliseconds since the run started; an
// operation whose outcome the client could not see has ret = null in the file (Infinity in the
// checker: it may take effect at any time after its call, or never).

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { Outcome } from './models.js';

export type OpKind =
  | { readonly kind: 'task'; readonly f: 'alloc' | 'release' | 'read' }
  | { readonly kind: 'agent'; readonly f: 'register' | 'read' }
  /** A consistent list of every task: value = [[taskId, ip], ...]. */
  | { readonly kind: 'list'; readonly f: 'read' };

export type HistoryOp = OpKind & {
  readonly client: number;
  /** The node the request was sent to. */
  readonly node: string;
  /** Task or agent id ('*' for lists). */
  readonly key: string;
  readonly call: number;
  /** null: unknown outcome (timeout, 5xx, connection lost after sending). */
  readonly ret: number | null;
  readonly outcome: Outcome<unknown>;
  /** HTTP status or error text, for reading the file. */
  readonly detail: string;
};

/** Appends operations to a JSON-lines file as they complete (a crash of the harness keeps what was seen). */
export class HistoryWriter {
  readonly ops: HistoryOp[] = [];
  private pending: string[] = [];

  constructor(readonly path: string, header: Record<string, unknown>) {
    writeFileSync(path, JSON.stringify({ header }) + '\n');
  }

  add(op: HistoryOp): void {
    this.ops.push(op);
    this.pending.push(JSON.stringify(op));
    if (this.pending.length >= 256) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    appendFileSync(this.path, this.pending.join('\n') + '\n');
    this.pending = [];
  }
}

/** Reads a history file back (for replaying the checks on a kept run). */
export function readHistory(path: string): { header: Record<string, unknown>; ops: HistoryOp[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const first = JSON.parse(lines[0] ?? '{}') as { header?: Record<string, unknown> };
  return { header: first.header ?? {}, ops: lines.slice(1).map((l) => JSON.parse(l) as HistoryOp) };
}
