// Shared builders for the storage tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import type { ConfChange, Entry, HardState, Membership, NodeId, Snapshot } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';

export const membership: Membership = {
  members: [
    { id: nodeId('n1'), role: 'voter', context: '{"raft":"127.0.0.1:1"}' },
    { id: nodeId('n2'), role: 'voter', context: '{"raft":"127.0.0.1:2"}' },
    { id: nodeId('n3'), role: 'learner', context: '' },
  ],
};

export function bootstrap(index = 0, t = 0, data: Uint8Array = new Uint8Array(0)): Snapshot {
  return { meta: { index: logIndex(index), term: term(t), membership }, data };
}

export function hard(t: number, commit: number, vote: NodeId | null = null): HardState {
  return { term: term(t), vote, commit: logIndex(commit) };
}

/** Entries [from, to] in term `t`; every 7th one is a conf change so both kinds are covered. */
export function entries(from: number, to: number, t: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    if (i % 7 === 0) {
      const change: ConfChange = { type: 'addLearner', id: nodeId(`n${i}`), context: `ctx-${i}` };
      out.push({ kind: 'conf', term: term(t), index: logIndex(i), change });
    } else {
      out.push({ kind: 'normal', term: term(t), index: logIndex(i), data: Buffer.from(`cmd ${i} term ${t}`) });
    }
  }
  return out;
}

/** Plain-data form for deep comparison (Buffer vs Uint8Array would otherwise differ). */
export function plain(x: unknown): unknown {
  return JSON.parse(
    JSON.stringify(x, (_k, v: unknown) => {
      if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
      if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
        return { bytes: Buffer.from((v as { data: number[] }).data).toString('hex') };
      }
      return v;
    }),
  );
}

export function tempDir(t: Test, name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `vnetd-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
