// Builds malloc.c into dist/src/malloc/malloc.node (dns/native/compile.ts: the system C compiler and
// Node's own headers). Run by `npm run build`, `npm start` and `npm test` after tsc. Without a
// compiler it prints one line and exits 0: vnetd then runs without giving free malloc memory back.
//
//   node dist/src/malloc/build.js [--force]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAddon } from '../../dns/native/compile.js';
import { addonFile } from './malloc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const problem = compileAddon(path.resolve(here, '../../../src/malloc/malloc.c'), fileURLToPath(addonFile), process.argv.includes('--force'));
if (problem !== null) process.stderr.write(`vnetd: malloc trimming not built: ${problem}; free C heap memory stays with the process\n`);
