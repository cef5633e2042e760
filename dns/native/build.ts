// Builds udp-batch.c into dist/dns/native/udp-batch.node (compile.ts: the system C compiler and
// Node's own headers). Run by `npm run build`, `npm start` and `npm test` after tsc. A machine
// without a compiler or headers gets a one-line notice and exit 0: the DNS server then uses
// node:dgram (slower, same answers). Skips the compile when the output is newer than the source.
//
//   node dist/dns/native/build.js [--force]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAddon } from './compile.js';
import { addonFile } from './udp-batch.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const problem = compileAddon(path.resolve(here, '../../../dns/native/udp-batch.c'), fileURLToPath(addonFile), process.argv.includes('--force'));
if (problem !== null) process.stderr.write(`vnetd: native UDP batching not built: ${problem}; DNS will use node:dgram\n`);
