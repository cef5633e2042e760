// DESIGN.md §2: "Each part depends only downward: raft and dns never import src or each other."
// Checked on the sources, so a stray import fails here before it couples the layers.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../dns/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

t.test('DESIGN.md §2: dns/ imports nothing from src/ or raft/, and only node: builtins and dns-packet from outside dns/', async (t) => {
  const files = sources(root);
  t.ok(files.length > 10, `${files.length} source files found under ${root}`);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'/g)) {
      const spec = m[1]!;
      const ok = spec.startsWith('node:') || spec === 'dns-packet' || (spec.startsWith('.') && resolve(dirname(file), spec).startsWith(root));
      t.ok(ok, `${file.slice(root.length)} imports ${spec}`);
    }
  }
});
