// The simulated network: each message gets its own delay (so messages reorder), may be dropped or
// duplicated, may be held back much longer (a slow path), and is lost on a cut link. Links are cut
// by partitions: symmetric (both directions) or one-way. Each cut has an id and is healed on its
// own; a link is open when no cut covers it. A cut link loses messages both when they are sent and
// when they would arrive, so a partition also swallows what was in flight.

import type { NodeId } from '../core/types.js';
import type { NetOptions } from './options.js';
import type { Prng } from './prng.js';

export class SimNetwork {
  private readonly cutCount = new Map<string, number>();
  private readonly cuts = new Map<number, readonly string[]>();
  private nextCut = 1;
  /** Once set (the liveness phase), no message is dropped, duplicated or held back. */
  reliable = false;
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly rng: Prng,
    private readonly opts: NetOptions,
  ) {}

  /**
   * The delays after which copies of a message arrive: none (lost), one, or more (duplicated).
   * A `replayable` message (the read path's heartbeat responses and ReadIndex traffic) may also be
   * replayed much later, one to three election timeouts on, which is how a stale heartbeat response
   * or a duplicated ReadIndex request reaches a leader in a later read round or a later term.
   */
  route(from: NodeId, to: NodeId, replayable: boolean): number[] {
    this.sent++;
    if (this.isCut(from, to) || (!this.reliable && this.rng.chance(this.opts.dropRate))) {
      this.dropped++;
      return [];
    }
    const delays = [this.delay()];
    if (this.reliable) return delays;
    if (this.rng.chance(this.opts.dupRate)) delays.push(this.delay());
    if (replayable && this.rng.chance(this.opts.replayRate)) delays.push(this.rng.between(this.opts.replayMinUs, 3 * this.opts.replayMinUs));
    this.duplicated += delays.length - 1;
    return delays;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cutCount.has(linkKey(from, to));
  }

  /** Cuts every link from a node in `a` to a node in `b` (and back, when symmetric). */
  cut(a: readonly NodeId[], b: readonly NodeId[], symmetric: boolean): number {
    const links: string[] = [];
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        links.push(linkKey(x, y));
        if (symmetric) links.push(linkKey(y, x));
      }
    }
    for (const l of links) this.cutCount.set(l, (this.cutCount.get(l) ?? 0) + 1);
    const id = this.nextCut++;
    this.cuts.set(id, links);
    return id;
  }

  heal(id: number): void {
    const links = this.cuts.get(id);
    if (links === undefined) return;
    this.cuts.delete(id);
    for (const l of links) {
      const n = (this.cutCount.get(l) ?? 0) - 1;
      if (n <= 0) this.cutCount.delete(l);
      else this.cutCount.set(l, n);
    }
  }

  healAll(): void {
    for (const id of [...this.cuts.keys()]) this.heal(id);
  }

  get activeCuts(): number {
    return this.cuts.size;
  }

  private delay(): number {
    const o = this.opts;
    let d = o.delayMinUs + this.rng.int(Math.max(1, o.delayMaxUs - o.delayMinUs + 1));
    if (!this.reliable && this.rng.chance(o.slowRate)) d += this.rng.int(o.slowMaxUs + 1);
    return d;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return from + '>' + to;
}
