// Counters and histograms for the per-request hot path: counting is a Map lookup per label and an add on
// plain numbers; Prometheus text is produced only when /metrics is scraped. prom-client's own
// Counter.inc and Histogram.observe hash a labels object (sorting its keys) on every call, which
// profiled at about 9 us per HTTP write on the leader (issue 4's write-path profile).
//
// Both register with a prom-client Registry as ordinary metrics (they implement the `get()` the
// registry reads), so /metrics and the families' names, labels and types are unchanged.

import type { Registry } from 'prom-client';
import { assert } from '../../raft/core/assert.js';

interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

interface CounterCell {
  readonly labels: Record<string, string>;
  n: number;
}

interface HistogramCell {
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** Cells by label values, one level per label: a lookup hashes each value (cached in the strings the callers keep), never a joined key. */
type CellTree<C> = Map<string, CellTree<C> | C>;

abstract class PlainMetric<C> {
  readonly aggregator = 'sum';
  /** Every cell, in creation order (what get() prints). */
  protected readonly cells: C[] = [];
  private tree: CellTree<C> = new Map();

  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The registry only reads name, help, type, get() and reset(); see prom-client's Registry.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The cell for these label values (in labelNames order), created on first use. */
  protected cell(values: readonly string[], create: (labels: Record<string, string>) => C): C {
    // The message is built only on failure: a template literal per call cost more than the count.
    assert(values.length === this.labelNames.length, () => `${this.name}: ${values.length} label values for ${this.labelNames.length} labels`);
    if (values.length === 0) return this.cells[0] ?? this.created(values, create);
    let level = this.tree;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i] as string) as CellTree<C> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(values[i] as string, next);
      }
      level = next;
    }
    const c = level.get(values[last] as string) as C | undefined;
    if (c !== undefined) return c;
    const made = this.created(values, create);
    level.set(values[last] as string, made);
    return made;
  }

  private created(values: readonly string[], create: (labels: Record<string, string>) => C): C {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((n, i) => (labels[n] = values[i] as string));
    const c = create(labels);
    this.cells.push(c);
    return c;
  }

  reset(): void {
    this.cells.length = 0;
    this.tree = new Map();
  }
}

export class PlainCounter extends PlainMetric<CounterCell> {
  readonly type = 'counter';

  /** Adds `by` to the series with these label values (in the order of the label names). */
  inc(values: readonly string[], by = 1): void {
    this.cell(values, (labels) => ({ labels, n: 0 })).n += by;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values = this.cells.map((c) => ({ value: c.n, labels: c.labels }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class PlainHistogram extends PlainMetric<HistogramCell> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
    for (let i = 1; i < bounds.length; i++) assert((bounds[i] as number) > (bounds[i - 1] as number), () => `${name}: bucket bounds must rise`);
  }

  observe(values: readonly string[], v: number): void {
    const c = this.cell(values, (labels) => ({ labels, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    let i = 0;
    while (i < this.bounds.length && v > (this.bounds[i] as number)) i++;
    (c.buckets as Float64Array)[i]! += 1;
    c.sum += v;
    c.count += 1;
  }

  /** Prometheus histogram series: cumulative `_bucket{le}`, then `_sum` and `_count`, per label set. */
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const c of this.cells) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += c.buckets[i] as number;
        const le = i < this.bounds.length ? (this.bounds[i] as number) : '+Inf';
        values.push({ value: cumulative, labels: { le, ...c.labels }, metricName: `${this.name}_bucket` });
      }
      values.push({ value: c.sum, labels: c.labels, metricName: `${this.name}_sum` });
      values.push({ value: c.count, labels: c.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
