// The options every suite takes, parsed one way: --seconds (each measured run), --repeats (runs
// per figure; figures are their medians), --warmup (seconds before the first measured run).
import { parseArgs } from 'node:util';

export interface CommonArgs {
  readonly seconds: number;
  readonly repeats: number;
  readonly warmupSeconds: number;
}

export interface SuiteArgs<E extends string, F extends string = never> extends CommonArgs {
  readonly extra: Record<E, string | undefined>;
  /** Options that take no value (`--skip-apply`): true when given. */
  readonly flags: Record<F, boolean>;
}

/** `--name`'s value as a positive number (an integer if asked), or an error naming the option. */
export function positive(name: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Parses the common options, `extra` string options (their values are returned unparsed) and `flags` without a value. */
export function parseSuiteArgs<E extends string, F extends string = never>(
  args: readonly string[],
  defaults: CommonArgs,
  extra: readonly E[] = [],
  flags: readonly F[] = [],
): SuiteArgs<E, F> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { seconds: { type: 'string' }, repeats: { type: 'string' }, warmup: { type: 'string' } };
  for (const e of extra) options[e] = { type: 'string' };
  for (const f of flags) options[f] = { type: 'boolean' };
  const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  const v = values as Record<string, string | undefined>;
  const given = values as Record<string, string | boolean | undefined>;
  const seconds = v['seconds'] === undefined ? defaults.seconds : positive('seconds', v['seconds'], false);
  const repeats = v['repeats'] === undefined ? defaults.repeats : positive('repeats', v['repeats'], true);
  const warmupSeconds = v['warmup'] === undefined ? Math.min(defaults.warmupSeconds, seconds) : positive('warmup', v['warmup'], false);
  const out = {} as Record<E, string | undefined>;
  for (const e of extra) out[e] = v[e];
  const set = {} as Record<F, boolean>;
  for (const f of flags) set[f] = given[f] === true;
  return { seconds, repeats, warmupSeconds, extra: out, flags: set };
}
