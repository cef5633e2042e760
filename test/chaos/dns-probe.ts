// DNS during and after a chaos run: a prober that keeps asking the learners for a name that
// exists all along (learners answer from their applied state and must keep doing so whatever
// happens to the voters), and the end-of-run comparison of every node's answers.

import { buildQuery, decodeReply, udpExchange } from '../dns/helpers.js';
import type { NodeProcess } from '../util/cluster.js';

export const dnsProbeLimits = {
  everyMs: 250,
  timeoutMs: 1_000,
} as const;

export interface LearnerDnsStats {
  readonly id: string;
  asked: number;
  answered: number;
  /** Longest time between two answers while the learner was running, ms. */
  longestGapMs: number;
}

const portOf = (n: NodeProcess): number => Number(n.addr.dns.split(':').pop());

/** One A question; the rcode and the sorted answer data ('timeout' when nothing came back). */
export async function askA(port: number, name: string, type = 'A'): Promise<{ rcode: string; data: string[] }> {
  const reply = await udpExchange(port, buildQuery(name, type), dnsProbeLimits.timeoutMs);
  if (reply === undefined) return { rcode: 'timeout', data: [] };
  const r = decodeReply(reply);
  // dns/server answers an internal error with a bare header (no question); "not caught up yet" keeps the question.
  if (r.rcode === 'SERVFAIL') return { rcode: r.question === undefined ? 'SERVFAIL(internal error)' : 'SERVFAIL(not ready)', data: [] };
  return { rcode: r.rcode, data: r.answers.filter((a) => a.type === type).map((a) => a.data).sort() };
}

export class LearnerProbe {
  readonly stats: LearnerDnsStats[];
  private lastOk = new Map<string, number>();

  constructor(private readonly learners: readonly NodeProcess[], private readonly name: string) {
    this.stats = learners.map((l) => ({ id: l.id, asked: 0, answered: 0, longestGapMs: 0 }));
  }

  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      await Promise.all(this.learners.map((l, i) => this.probe(l, this.stats[i]!)));
      await new Promise((r) => setTimeout(r, dnsProbeLimits.everyMs));
    }
  }

  private async probe(l: NodeProcess, s: LearnerDnsStats): Promise<void> {
    // A learner that is down (the all-nodes round) is not asked; its gap restarts when it is back.
    if (!l.running) {
      this.lastOk.delete(l.id);
      return;
    }
    const now = Date.now();
    s.asked++;
    const r = await askA(portOf(l), this.name).catch(() => ({ rcode: 'error', data: [] as string[] }));
    if (r.rcode === 'NOERROR' && r.data.length > 0) {
      s.answered++;
      const last = this.lastOk.get(l.id);
      if (last !== undefined) s.longestGapMs = Math.max(s.longestGapMs, now - last);
      this.lastOk.set(l.id, now);
    } else if (!this.lastOk.has(l.id)) {
      this.lastOk.set(l.id, now);
    }
  }
}

/** Asks every node the same questions; returns one line per disagreement. */
export async function compareDns(nodes: readonly NodeProcess[], questions: readonly { name: string; type: string }[]): Promise<string[]> {
  const problems: string[] = [];
  for (const q of questions) {
    const answers = await Promise.all(nodes.map(async (n) => ({ id: n.id, a: await askA(portOf(n), q.name, q.type) })));
    const texts = answers.map((x) => `${x.a.rcode} ${x.a.data.join(',')}`);
    if (new Set(texts).size > 1) problems.push(`DNS ${q.name} ${q.type} differs: ${answers.map((x, i) => `${x.id}=${texts[i]}`).join('; ')}`);
    if (answers.some((x) => x.a.rcode === 'timeout')) problems.push(`DNS ${q.name} ${q.type}: no answer from ${answers.filter((x) => x.a.rcode === 'timeout').map((x) => x.id).join(',')}`);
  }
  return problems;
}
