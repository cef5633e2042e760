// The documentation cannot drift from the code (issue 6, "README"): the configuration table in
// README.md is the one generated from the config schema, the two-command quick start is at the
// top, every relative link points at a file that exists, and every metric family a node
// registers is listed in src/metrics/README.md.

import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { configKeys, configTableMarkdown, envName, flagName } from '../../src/config.js';
import { ApiMetrics } from '../../src/api/metrics.js';
import { RaftIoMetrics } from '../../src/metrics/index.js';
import { MemoryStorage } from '../../raft/storage/index.js';
import { nodeId, term, logIndex } from '../../raft/core/types.js';
import type { RaftNodeApi } from '../../raft/node/api.js';
import type { IpamQueries } from '../../src/ipam/index.js';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

t.test('the configuration table is generated from the schema', async (t) => {
  const m = /<!-- config-table -->\n([\s\S]*?)\n<!-- \/config-table -->/.exec(readme);
  t.ok(m, 'README.md has the config-table markers');
  const expected = configTableMarkdown();
  t.equal(m?.[1], expected, 'regenerate with: node -e "import(\'./dist/src/config.js\').then(m => console.log(m.configTableMarkdown()))"');
  for (const k of configKeys) {
    t.ok(readme.includes(`\`${k}\``) && readme.includes(`--${flagName(k)}`) && readme.includes(envName(k)), `${k} documented with its flag and variable`);
  }
});

t.test('the quick start is the two commands, at the top', async (t) => {
  const top = readme.split('\n').slice(0, 20).join('\n');
  t.match(top, /^npm ci && npm start\b/m);
  t.match(top, /^npm test\b/m);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  t.match(pkg.scripts['start'], /cli\.js start$/, 'npm start runs vnetd start with no flags');
  t.equal(pkg.bin['vnetd'], 'dist/src/cli.js');
});

t.test('relative links point at files that exist', async (t) => {
  const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  t.ok(links.length >= 5, `${links.length} links`);
  for (const l of links) t.ok(existsSync(new URL(l, root)), `${l} exists`);
});

/** Metric names a README mentions: literal names, `a_{b,c}` brace lists, and `a_*_total` wildcards. */
function documented(text: string): { names: Set<string>; patterns: RegExp[] } {
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const [token] of text.matchAll(/vnetd_[a-z0-9_{},*]+/g)) {
    const brace = /^(.*)\{([a-z0-9_,]+)\}(.*)$/.exec(token);
    const expanded = brace === null ? [token] : brace[2]!.split(',').map((x) => `${brace[1]}${x}${brace[3]}`);
    for (const name of expanded) {
      if (name.includes('*')) patterns.push(new RegExp(`^${name.replace(/\*/g, '[a-z0-9_]+')}$`));
      else names.add(name.replace(/_+$/, ''));
    }
  }
  return { names, patterns };
}

t.test('every registered metric family is documented in src/metrics/README.md', async (t) => {
  const doc = documented(readFileSync(new URL('src/metrics/README.md', root), 'utf8'));
  const registry = new Registry();
  new RaftIoMetrics(registry).instrument(new MemoryStorage(), { onMessage: () => undefined } as never, { apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => undefined });
  const status = { id: nodeId('a'), role: 'leader' as const, term: term(1), leader: nodeId('a'), commitIndex: logIndex(1), appliedIndex: logIndex(1), members: [] };
  const node = { id: nodeId('a'), status: () => status, on: () => undefined, off: () => undefined } as unknown as RaftNodeApi;
  const ipam = { taskCount: () => 0, listNetworks: () => [] } as unknown as IpamQueries;
  const stats = { batches: 0, entriesWritten: 0, bytesWritten: 0, batchMsTotal: 0, truncatedOnLoad: 0, dirSyncs: 0 };
  new ApiMetrics({ node, ipam, registry, storage: () => stats, transport: () => ({ framesSent: 0, framesReceived: 0, dropped: 0, authFailures: 0 }) as never, nodeStats: () => ({ saves: 0, entriesSaved: 0 }) as never });
  const families = (await registry.getMetricsAsJSON()).map((m) => m.name);
  t.ok(families.length > 30, `${families.length} families`);
  for (const f of families) {
    const ok = doc.names.has(f) || doc.patterns.some((p) => p.test(f));
    t.ok(ok, `${f} is documented`);
  }
});
