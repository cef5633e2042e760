// The power-loss model, pure: what the shim's journal (shim/powerloss.c) says is durable, and what
// a power cut does to the files of a directory given that. No I/O here; power-cut.ts applies it.
//
// The model: after a power cut a file holds exactly the bytes it held at its last successful
// fsync/fdatasync; a file never synced holds nothing (its name survives, empty). Names (creates,
// renames, unlinks) are taken as durable when they happen. See README.md for what this does and
// does not cover.

/** Durable size in bytes of each file (absolute path) the journal knows. */
export type DurableSizes = ReadonlyMap<string, number>;

export class JournalError extends Error {
  constructor(message: string) {
    super(`powerloss journal: ${message}`);
    this.name = 'JournalError';
  }
}

/** Sizes above this are not a LevelDB file of a test run: the record is garbage. */
const fileBytesMax = 2 ** 40;

function parseSize(text: string, lineNo: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > fileBytesMax) throw new JournalError(`line ${lineNo}: size ${JSON.stringify(text)} is not a byte count`);
  return n;
}

function checkPath(p: string | undefined, lineNo: number, allowNone: boolean): string | null {
  if (allowNone && p === '-') return null;
  if (p === undefined || !p.startsWith('/')) throw new JournalError(`line ${lineNo}: ${JSON.stringify(p)} is not an absolute path`);
  return p;
}

/**
 * A rename moves the durable size of the file, or of every file under a renamed directory (as
 * `--force-new-cluster` does with `<data-dir>/raft`); whatever `to` named before is replaced.
 */
function renamed(sizes: Map<string, number>, from: string | null, to: string | null): void {
  const moved: [string, number][] = [];
  if (from !== null) {
    for (const [path, size] of sizes) {
      if (path === from) moved.push(['', size]);
      else if (path.startsWith(`${from}/`)) moved.push([path.slice(from.length), size]);
    }
    for (const [rest] of moved) sizes.delete(from + rest);
  }
  if (to === null) return;
  for (const path of [...sizes.keys()]) if (path === to || path.startsWith(`${to}/`)) sizes.delete(path);
  for (const [rest, size] of moved) sizes.set(to + rest, size);
}

/** Applies one record (the fields of one journal line) to `sizes`. */
function applyRecord(sizes: Map<string, number>, fields: readonly string[], lineNo: number): void {
  const [kind, a, b] = fields;
  const arity = (n: number): void => {
    if (fields.length !== n) throw new JournalError(`line ${lineNo}: record ${kind} has ${fields.length - 1} fields, expected ${n - 1}`);
  };
  switch (kind) {
    case 'S': // fsync/fdatasync succeeded at this size
      arity(3);
      sizes.set(checkPath(b, lineNo, false)!, parseSize(a!, lineNo));
      return;
    case 'T': // opened with truncation: nothing of it is durable until the next sync
      arity(2);
      sizes.set(checkPath(a, lineNo, false)!, 0);
      return;
    case 'R': // renamed: the durable size follows the file ('-' = outside the watched directory)
      arity(3);
      renamed(sizes, checkPath(a, lineNo, true), checkPath(b, lineNo, true));
      return;
    case 'U': // unlinked
      arity(2);
      sizes.delete(checkPath(a, lineNo, false)!);
      return;
    case 'X': // the shim lost track of a file: nothing it recorded can be trusted
      throw new JournalError(`line ${lineNo}: the shim reported: ${fields.slice(1).join(' ')}`);
    default:
      throw new JournalError(`line ${lineNo}: unknown record kind ${JSON.stringify(kind)}`);
  }
}

/**
 * Replays a journal into the durable size of every file it knows. A last line without its newline
 * is dropped (a record is one write(), so that only happens if the write itself was cut; dropping
 * it can only make the model lose more). Anything malformed throws JournalError.
 */
export function durableSizes(journal: string): DurableSizes {
  const sizes = new Map<string, number>();
  const lines = journal.split('\n');
  lines.pop(); // '' after the last newline, or an unterminated record
  lines.forEach((line, i) => applyRecord(sizes, line.split('\t'), i + 1));
  return sizes;
}

export interface FileState {
  readonly path: string;
  readonly size: number;
}

/** One file a power cut shortens. */
export interface Truncation {
  readonly path: string;
  readonly size: number;
  readonly durable: number;
  /** The size after the cut: `durable`, plus the unsynced bytes the tail model kept. */
  readonly to: number;
}

/**
 * How many of a file's `unsyncedBytes` survive the cut, kept as a prefix: 0 in the plain model. A
 * real crash may also have written some of them back; `randomPrefix` models that (README.md).
 */
export type KeepUnsynced = (unsyncedBytes: number) => number;

export const dropUnsynced: KeepUnsynced = () => 0;

/** A seeded uniform prefix of the unsynced bytes survives, 0..all-1 (byte-granular: torn records too). */
export function randomPrefix(random: () => number): KeepUnsynced {
  return (unsyncedBytes) => Math.floor(random() * unsyncedBytes);
}

/**
 * What a power cut does to `files` (every regular file of the watched directory): each is cut to
 * its durable size (0 when never synced) plus what `keep` keeps of the rest. A file shorter than
 * its durable size means the journal and the disk disagree (the model is broken, not the program
 * under test): JournalError.
 */
export function planCut(files: readonly FileState[], durable: DurableSizes, keep: KeepUnsynced = dropUnsynced): Truncation[] {
  const cuts: Truncation[] = [];
  for (const f of files) {
    const d = durable.get(f.path) ?? 0;
    if (f.size < d) throw new JournalError(`${f.path} has ${f.size} bytes but ${d} were synced: the journal does not describe this file`);
    if (f.size === d) continue;
    const kept = keep(f.size - d);
    if (!Number.isInteger(kept) || kept < 0 || kept >= f.size - d) throw new Error(`keepUnsynced gave ${kept} for ${f.size - d} unsynced bytes; expected an integer in [0, ${f.size - d})`);
    cuts.push({ path: f.path, size: f.size, durable: d, to: d + kept });
  }
  return cuts;
}
