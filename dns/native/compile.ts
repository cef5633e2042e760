// Compiles one Node-API addon source file with the system C compiler and the headers of the Node.js
// running this (no node-gyp, nothing downloaded). Used by dns/native/build.ts and by the other
// addons' build scripts (src/malloc/build.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';

const headers = path.resolve(path.dirname(process.execPath), '../include/node');

/**
 * Builds `source` into `output` unless the output is newer (or `force`). Returns null when the
 * addon is there, else why it could not be built (no compiler, no headers, a compile error): the
 * caller prints it and goes on, its addon's users fall back to plain JavaScript.
 */
export function compileAddon(source: string, output: string, force: boolean): string | null {
  if (!existsSync(source)) return `${source} is missing`;
  if (!force && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) return null;
  if (!existsSync(path.join(headers, 'node_api.h'))) return `no Node.js headers at ${headers}`;
  const compiler = process.env['CC'] ?? 'cc';
  const temp = `${output}.${process.pid}.tmp`;
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', `-I${headers}`, '-o', temp, source];
  const r = spawnSync(compiler, args, { encoding: 'utf8' });
  if (r.error !== undefined) return `${compiler}: ${r.error.message}`;
  if (r.status !== 0) return `${compiler} ${args.join(' ')} failed:\n${r.stderr}`;
  renameSync(temp, output);
  return null;
}
