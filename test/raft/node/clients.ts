// Concurrent writers for the multi-process tests: each client writes its own keys in sequence to
// whichever node it believes leads (following not_leader hints) and records what was acknowledged.
// An acknowledged write must survive anything the tests do; a failed or timed-out one may or may
// not be applied (it is never counted as lost).

import type { Cluster } from './cluster.js';
import { sleep } from './cluster.js';

export interface Ack { readonly k: string; readonly v: string; readonly index: number }

export class Writers {
  readonly acked: Ack[] = [];
  readonly errors = new Map<string, number>();
  private running = true;
  private readonly done: Promise<void>[] = [];

  constructor(private readonly c: Cluster, clients: number, private readonly prefix = 'c') {
    for (let i = 0; i < clients; i++) this.done.push(this.client(i));
  }

  private async client(i: number): Promise<void> {
    let target = this.c.running()[i % this.c.running().length]!;
    for (let seq = 0; this.running; seq++) {
      const k = `${this.prefix}${i}-${seq}`;
      const v = `v${seq}`;
      const r = await this.c.call<{ index: number; value: string }>(target, 'POST', '/propose', { k, v }).catch(
        (e: unknown) => ({ ok: false as const, status: 0, err: { error: 'unreachable', message: String(e), leader: null } }),
      );
      if (r.ok) {
        this.acked.push({ k, v, index: r.value.index });
        continue;
      }
      this.errors.set(r.err.error, (this.errors.get(r.err.error) ?? 0) + 1);
      const hint = r.err.leader?.id;
      const live = this.c.running();
      target = hint !== undefined && live.includes(hint) ? hint : live[(live.indexOf(target) + 1) % live.length] ?? target;
      await sleep(hint !== undefined ? 10 : 100);
    }
  }

  /** Waits until `n` more writes are acknowledged (bounded). */
  async waitAcks(n: number, timeoutMs = 60_000): Promise<void> {
    const goal = this.acked.length + n;
    const end = Date.now() + timeoutMs;
    while (this.acked.length < goal) {
      if (Date.now() > end) throw new Error(`only ${this.acked.length}/${goal} writes acknowledged; errors ${JSON.stringify([...this.errors])}`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.done);
  }

  maxIndex(): number {
    return this.acked.reduce((m, a) => Math.max(m, a.index), 0);
  }
}

/** Every acknowledged write is in `history` at its acknowledged index; returns the missing ones. */
export function missingAcks(acked: readonly Ack[], history: readonly [number, string, string][]): Ack[] {
  const at = new Map(history.map(([i, k, v]) => [i, `${k}=${v}`] as const));
  return acked.filter((a) => at.get(a.index) !== `${a.k}=${a.v}`);
}
