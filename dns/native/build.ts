// Builds udp-batch.c into dist/dns/native/udp-batch.node with the system C compiler and Node's own
// headers (no node-gyp, no download). Run by `npm run build`, `npm start` and `npm test` after tsc.
// A machine without a compiler or headers gets a one-line notice and exit 0: the DNS server then
// uses node:dgram (slower, same answers). Skips the compile when the output is newer than the source.
//
//   node dist/dns/native/build.js [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonFile } from './udp-batch.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.resolve(here, '../../../dns/native/udp-batch.c');
const output = fileURLToPath(addonFile);
const headers = path.resolve(path.dirname(process.execPath), '../include/node');
const compiler = process.env['CC'] ?? 'cc';

function notice(message: string): never {
  process.stderr.write(`vnetd: native UDP batching not built: ${message}; DNS will use node:dgram\n`);
  process.exit(0);
}

function main(): void {
  const force = process.argv.includes('--force');
  if (!existsSync(source)) notice(`${source} is missing`);
  if (!force && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) return;
  if (!existsSync(path.join(headers, 'node_api.h'))) notice(`no Node.js headers at ${headers}`);
  const temp = `${output}.${process.pid}.tmp`;
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', `-I${headers}`, '-o', temp, source];
  const r = spawnSync(compiler, args, { encoding: 'utf8' });
  if (r.error !== undefined) notice(`${compiler}: ${r.error.message}`);
  if (r.status !== 0) notice(`${compiler} ${args.join(' ')} failed:\n${r.stderr}`);
  renameSync(temp, output);
}

main();
