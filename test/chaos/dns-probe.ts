// DNS during and after a chaos run: a prober that keeps asking the learners for a name that
// exists all along (learners answer from their applied state and must keep doing so whatever
// happens to the voters), and the end-of-run comparison of every node's answers.

import { buildQuery, decodeReply, udpExchange } from '../dns/helpers.js';
import type { NodeProcess } from '../util/cluster.js';

export const dnsProbeLimits = {
  everyMs: 250,
  timeoutMs: 1_000,
  /** The end-of-run comparison asks like a stub resolver (RFC 1536 §1): a datagram lost or late on
   * a loaded machine is asked again (timeout × attempt) before it counts as "no answer". */
  compareAttempts: 3,
  /** A question the nodes answer differently is asked again this many times, `compareRetryMs`
   * apart, before it counts: `leader.dcos.` is each node's own view of the Raft leader, not
   * replicated state, and a follower may learn of a new leader a heartbeat later. A real
   * divergence (a node at the same applied index answering wrongly) persists and is reported. */
  compareRounds: 4,
  compareRetryMs: 1_000,
  /** Re-asking stops this long after the comparison began, so that a node that is down (it
   * answers nothing: reported at once, then asked once per question) or many disagreements
   * cannot stretch the end of a run past the test's timeout. */
  compareRetryBudgetMs: 30_000,
} as const;

export interface LearnerDnsStats {
  readonly id: string;
  asked: number;
  answered: number;
  /** Longest time between two answers while the learner was running, ms. */
  longestGapMs: number;
}

const portOf = (n: NodeProcess): number => Number(n.addr.dns.split(':').pop());

/** One question; the rcode and the sorted answer data ('timeout' when no attempt got an answer). */
export async function askA(port: number, name: string, type = 'A', attempts = 1): Promise<{ rcode: string; data: string[] }> {
  const query = buildQuery(name, type);
  let reply: Buffer | undefined;
  for (let attempt = 1; attempt <= attempts && reply === undefined; attempt++) reply = await udpExchange(port, query, dnsProbeLimits.timeoutMs * attempt);
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

/** Every node's answer to one question, as `rcode data` text; nodes in `silent` get one attempt. */
async function askAll(nodes: readonly NodeProcess[], q: { name: string; type: string }, silent: Set<string>): Promise<{ id: string; text: string; timedOut: boolean }[]> {
  return Promise.all(nodes.map(async (n) => {
    const a = await askA(portOf(n), q.name, q.type, silent.has(n.id) ? 1 : dnsProbeLimits.compareAttempts);
    if (a.rcode === 'timeout') silent.add(n.id);
    return { id: n.id, text: `${a.rcode} ${a.data.join(',')}`, timedOut: a.rcode === 'timeout' };
  }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Asks every node the same questions; returns one line per disagreement that outlasted
 * `compareRounds` rounds (and calls `note` for each one that resolved on a later round).
 */
export async function compareDns(nodes: readonly NodeProcess[], questions: readonly { name: string; type: string }[], note: (line: string) => void = () => {}): Promise<string[]> {
  const problems: string[] = [];
  const silent = new Set<string>();
  const retryUntil = Date.now() + dnsProbeLimits.compareRetryBudgetMs;
  for (const q of questions) {
    let answers = await askAll(nodes, q, silent);
    const first = answers;
    let round = 1;
    const agree = (): boolean => new Set(answers.map((x) => x.text)).size === 1 && !answers.some((x) => x.timedOut);
    // A node that answered nothing after its attempts is down, not late: no point asking again.
    const retry = (): boolean => !agree() && !answers.some((x) => x.timedOut) && Date.now() < retryUntil;
    for (; round < dnsProbeLimits.compareRounds && retry(); round++) {
      await sleep(dnsProbeLimits.compareRetryMs);
      answers = await askAll(nodes, q, silent);
    }
    const listed = (xs: typeof answers): string => xs.map((x) => `${x.id}=${x.text}`).join('; ');
    if (agree()) {
      if (round > 1) note(`DNS ${q.name} ${q.type} agreed on round ${round} (first: ${listed(first)})`);
      continue;
    }
    if (new Set(answers.map((x) => x.text)).size > 1) problems.push(`DNS ${q.name} ${q.type} differs (${round} rounds, ${dnsProbeLimits.compareRetryMs} ms apart): ${listed(answers)}`);
    if (answers.some((x) => x.timedOut)) problems.push(`DNS ${q.name} ${q.type}: no answer from ${answers.filter((x) => x.timedOut).map((x) => x.id).join(',')}`);
  }
  return problems;
}
