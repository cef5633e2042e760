// The effects of the power-loss model (journal.ts is the pure part): building the LD_PRELOAD shim,
// the environment a watched process runs with, and the power cut itself: SIGKILL, then every file
// of the watched directory truncated to what its journal says was synced.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeProcess } from '../util/cluster.js';
import { type FileState, type KeepUnsynced, type Truncation, dropUnsynced, durableSizes, planCut } from './journal.js';

/** The repository root, from this compiled file (dist/test/powerloss/power-cut.js). */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const shimSource = join(repoRoot, 'test/powerloss/shim/powerloss.c');

export const powerLossLimits = {
  /** Compiling the shim; gcc takes well under a second even on a loaded machine. */
  compileMsMax: 60_000,
  nmMsMax: 10_000,
  /** Directory levels walked under a watched directory (LevelDB keeps one flat directory). */
  walkDepthMax: 4,
} as const;

/** The libc file calls the shim intercepts (shim/powerloss.c). */
export const interceptedCalls = ['open', 'open64', 'fopen', 'fopen64', 'fclose', 'close', 'fsync', 'fdatasync', 'rename', 'unlink'] as const;

/**
 * Calls that would move data or names past the shim unseen: another way to open or duplicate a
 * descriptor, to make data durable, to rename or delete, or to change a file other than by
 * appending. If LevelDB ever imports one of these, the model no longer describes it.
 */
export const unmodelledCalls = [
  'openat', 'openat64', 'creat', 'creat64', 'fdopen', 'freopen', 'freopen64', 'dup', 'dup2', 'dup3',
  'sync_file_range', 'msync', 'syncfs', 'sync', 'renameat', 'renameat2', 'unlinkat',
  'ftruncate', 'ftruncate64', 'truncate', 'truncate64', 'fallocate', 'fallocate64', 'posix_fallocate', 'posix_fallocate64',
  'pwrite', 'pwrite64', 'pwritev', 'pwritev2',
] as const;

/**
 * A temp directory for one test file (real path: the shim compares path prefixes), removed by the
 * returned cleanup unless POWERLOSS_KEEP=1 (then its path is printed, for the node logs).
 */
export function tempRoot(prefix: string): { root: string; cleanup: () => void } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const cleanup = (): void => {
    if (process.env['POWERLOSS_KEEP'] === '1') process.stderr.write(`powerloss: kept ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  };
  return { root, cleanup };
}

/** tempRoot plus the shim built into it; nothing is left behind when the build fails. */
export function shimRoot(prefix: string): { root: string; shim: string; cleanup: () => void } {
  const { root, cleanup } = tempRoot(prefix);
  try {
    return { root, shim: buildShim(root), cleanup };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** What one watched process's power cut works on. */
export interface Watched {
  /** Absolute directory whose files lose what was not synced (a node's data directory). */
  readonly dir: string;
  /** The shim's journal, outside `dir`. */
  readonly journal: string;
}

function missingTool(err: unknown, tool: string, why: string): Error | null {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(`${tool} not found on PATH: ${why}`) : null;
}

/** Compiles shim/powerloss.c into `outDir`; throws (never skips) when there is no C compiler. */
export function buildShim(outDir: string): string {
  const out = join(outDir, 'powerloss.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, shimSource, '-ldl'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: powerLossLimits.compileMsMax });
  } catch (err) {
    throw missingTool(err, 'cc', `the power-loss test needs a C compiler (gcc) to build ${shimSource}`)
      ?? new Error(`cc failed on ${shimSource}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message)}`);
  }
  return out;
}

/** The environment of a process whose writes under `w.dir` are journalled. */
export function shimEnv(shim: string, w: Watched): NodeJS.ProcessEnv {
  return { LD_PRELOAD: shim, POWERLOSS_DIR: w.dir, POWERLOSS_JOURNAL: w.journal };
}

/** The LevelDB binaries classic-level may load on this platform (prebuilt, or built locally). */
export function levelBinaries(): string[] {
  const pkg = join(repoRoot, 'node_modules/classic-level');
  const dirs = [join(pkg, `prebuilds/${process.platform}-${process.arch}`), join(pkg, 'build/Release')];
  return dirs.filter((d) => existsSync(d)).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.node')).map((f) => join(d, f)));
}

/** The undefined (or, with `defined`, the defined) dynamic symbols of `binary` (`nm -D`), without version suffixes. */
export function importedSymbols(binary: string, defined = false): Set<string> {
  let out: string;
  try {
    out = execFileSync('nm', ['-D', defined ? '--defined-only' : '--undefined-only', binary], { encoding: 'utf8', timeout: powerLossLimits.nmMsMax });
  } catch (err) {
    throw missingTool(err, 'nm', 'binutils are needed to check which file calls LevelDB makes') ?? err;
  }
  const names = out.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').map((s) => s.replace(/@.*$/, ''));
  return new Set(names.filter((s) => s !== ''));
}

/** Every regular file under `dir` with its size ([] when `dir` does not exist). */
export function listFiles(dir: string): FileState[] {
  const files: FileState[] = [];
  const pending: { dir: string; depth: number }[] = [{ dir, depth: 0 }];
  while (pending.length > 0) {
    const cur = pending.pop()!;
    if (!existsSync(cur.dir)) continue;
    for (const e of readdirSync(cur.dir, { withFileTypes: true })) {
      const path = join(cur.dir, e.name);
      if (e.isFile()) files.push({ path, size: statSync(path).size });
      else if (e.isDirectory()) {
        if (cur.depth + 1 > powerLossLimits.walkDepthMax) throw new Error(`${path}: deeper than ${powerLossLimits.walkDepthMax} levels under ${dir}`);
        pending.push({ dir: path, depth: cur.depth + 1 });
      }
    }
  }
  return files;
}

/**
 * Truncates every file under `w.dir` to its journalled durable size (plus what `keep` keeps of the
 * unsynced tail). The process must be dead.
 */
export function cutFiles(w: Watched, keep: KeepUnsynced = dropUnsynced): Truncation[] {
  const journal = existsSync(w.journal) ? readFileSync(w.journal, 'utf8') : '';
  const cuts = planCut(listFiles(w.dir), durableSizes(journal), keep);
  for (const c of cuts) truncateSync(c.path, c.to);
  return cuts;
}

/**
 * A power cut of several machines at once: every process is SIGKILLed (together, so none sees
 * another's death first), then each one's files lose what was not synced.
 */
export async function powerCut(targets: readonly { readonly node: NodeProcess; readonly watched: Watched }[], keep: KeepUnsynced = dropUnsynced): Promise<Truncation[]> {
  await Promise.all(targets.map((x) => x.node.kill9()));
  return targets.flatMap((x) => cutFiles(x.watched, keep));
}
