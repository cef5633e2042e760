// A small reader of the Prometheus text exposition format (enough for prom-client's output), so
// the tests can compare figures between two scrapes.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Scrape {
  readonly samples: readonly Sample[];
  /** `# TYPE` of every family. */
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      help.set(rest.slice(0, sp), rest.slice(sp + 1));
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = sampleLine.exec(line);
    if (m === null) throw new Error(`unreadable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(labelPair)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types, help };
}

/** The sum of the samples named `name` whose labels include `match`. */
export function value(s: Scrape, name: string, match: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  let found = false;
  for (const x of s.samples) {
    if (x.name !== name) continue;
    if (!Object.entries(match).every(([k, v]) => x.labels[k] === v)) continue;
    sum += x.value;
    found = true;
  }
  return found ? sum : Number.NaN;
}

/** Samples of `name` (with labels including `match`). */
export function series(s: Scrape, name: string, match: Readonly<Record<string, string>> = {}): Sample[] {
  return s.samples.filter((x) => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v));
}
