// Virtual time: a binary min-heap of events ordered by (time, seq). `seq` is the insertion order,
// so events scheduled for the same instant run in the order they were scheduled — deterministic,
// and independent of how the heap happens to arrange equal keys.

import { assert } from '../core/assert.js';

export interface Timed {
  /** Virtual microseconds since the start of the run. */
  readonly time: number;
  /** Assigned by the queue. */
  seq: number;
}

export class EventQueue<E extends Timed> {
  private readonly heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: E): void {
    assert(Number.isFinite(event.time) && event.time >= 0, `event time ${event.time} not a finite virtual time`);
    event.seq = this.nextSeq++;
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as E;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  /** The earliest event, or undefined when the queue is empty. */
  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(heap[r] as E, heap[l] as E)) c = r;
      const child = heap[c] as E;
      if (!before(child, last)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
    return top;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
