// src/config.ts in process: defaults (DESIGN.md §3), the merge order file < environment < flags,
// the --peers format, and error messages that name the source, the field and the expected value.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configKeys, defaults, envName, flagName, flagUsage, loadConfig, parsePeer } from '../../src/config.js';

function withFile(t: Tap, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnetd-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'vnetd.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
type Tap = { teardown(fn: () => void): void };

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no ConfigError');
}

t.test('defaults are the embedded single-node default of DESIGN.md §3', async (t) => {
  const { config, explicit } = loadConfig({});
  t.match(config, { dataDir: './data', http: '127.0.0.1:62080', dns: '127.0.0.1:8053', raft: '127.0.0.1:62090', peers: [], join: null, zone: 'dcos.', dnsTtl: 5 });
  t.same(config.defaultNetwork, { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 });
  t.same(config.allowRecursion, ['127.0.0.0/8', '::1/128']);
  t.equal(config.vtepSubnet, '44.128.0.0/20');
  t.equal(explicit.size, 0);
});

t.test('file < environment < flags', async (t) => {
  const file = withFile(t, { id: 'file', http: '127.0.0.1:1001', dns: '127.0.0.1:1002', zoneAliases: ['a.'], dnsTtl: 7 });
  const { config, explicit } = loadConfig({
    file,
    env: { VNETD_ID: 'env', VNETD_HTTP: '127.0.0.1:2001', VNETD_UPSTREAMS: '127.0.0.1:53, 127.0.0.2:53', VNETD_API_TOKEN_READS: 'yes', HOME: '/x' },
    flags: { id: 'flag', 'zone-aliases': ['b.', 'c.'] },
  });
  t.equal(config.id, 'flag');
  t.equal(config.http, '127.0.0.1:2001', 'env over file');
  t.equal(config.dns, '127.0.0.1:1002', 'file over default');
  t.same(config.zoneAliases, ['b.', 'c.'], 'repeated flags make a list');
  t.same(config.upstreams, ['127.0.0.1:53', '127.0.0.2:53'], 'a comma list in the environment');
  t.equal(config.apiTokenReads, true);
  t.equal(config.dnsTtl, 7);
  t.same([...explicit].sort(), ['apiTokenReads', 'dns', 'dnsTtl', 'http', 'id', 'upstreams', 'zoneAliases']);
  t.same(loadConfig({ flags: { 'no-default-network': true } }).config.defaultNetwork, null);
  t.same(loadConfig({ env: { VNETD_DEFAULT_NETWORK: '{"name":"ov","subnet6":"fd01:b::/64","prefix6":80}' } }).config.defaultNetwork, { name: 'ov', subnet6: 'fd01:b::/64', prefix6: 80 });
  t.same(loadConfig({ env: { VNETD_BOGUS: '1' } }).warnings, ['unknown environment variable VNETD_BOGUS ignored']);
});

t.test('--peers: ID=RAFT[/HTTP[/DNS]]', async (t) => {
  t.same(parsePeer('n1=127.0.0.1:1/127.0.0.1:2/127.0.0.1:3'), { id: 'n1', raft: '127.0.0.1:1', http: '127.0.0.1:2', dns: '127.0.0.1:3' });
  t.same(parsePeer('n1=[::1]:1'), { id: 'n1', raft: '[::1]:1' });
  t.equal(parsePeer('no-equals'), 'no-equals');
  const { config } = loadConfig({ flags: { peers: ['a=127.0.0.1:1/127.0.0.1:2/127.0.0.1:3,b=127.0.0.1:4'] } });
  t.same(config.peers, [{ id: 'a', raft: '127.0.0.1:1', http: '127.0.0.1:2', dns: '127.0.0.1:3' }, { id: 'b', raft: '127.0.0.1:4' }]);
  const file = withFile(t, { peers: [{ id: 'a', raft: '127.0.0.1:1' }] });
  t.same(loadConfig({ file }).config.peers, [{ id: 'a', raft: '127.0.0.1:1' }]);
});

t.test('errors name the source, the field and the expected value', async (t) => {
  const cases: [Parameters<typeof loadConfig>[0], RegExp, string][] = [
    [{ flags: { http: 'abc' } }, /^config: --http must be HOST:PORT, got "abc" \(in the command line\)$/, '/http'],
    [{ env: { VNETD_RAFT: '127.0.0.1:99999' } }, /^config: VNETD_RAFT must be HOST:PORT, got "127\.0\.0\.1:99999"/, '/raft'],
    [{ flags: { 'tick-ms': '0' } }, /--tick-ms must be an integer 1\.\.10000 \(milliseconds\), got 0/, '/tickMs'],
    [{ flags: { role: 'boss', join: 'http://127.0.0.1:1' } }, /--role must be voter or learner, got "boss"/, '/role'],
    [{ flags: { join: 'ftp://x' } }, /--join must be an http:\/\/ URL of a running member, got "ftp:\/\/x"/, '/join'],
    [{ flags: { 'vtep-subnet': '44.128.0.1/20' } }, /--vtep-subnet must be an IPv4 CIDR like 44\.128\.0\.0\/20, got "44\.128\.0\.1\/20"/, '/vtepSubnet'],
    [{ flags: { 'allow-recursion': ['10.0.0.0/8', 'everyone'] } }, /--allow-recursion must be a list of CIDRs .* \(at \/allowRecursion\/1: must be an IPv4 or IPv6 CIDR/, '/allowRecursion/1'],
    [{ flags: { 'cluster-secret': 'short' } }, /--cluster-secret must be a string of at least 16 characters/, '/clusterSecret'],
    [{ flags: { peers: ['a=127.0.0.1:1,a=127.0.0.1:2'] } }, /\/peers lists a twice/, '/peers'],
    [{ flags: { peers: ['a=127.0.0.1:1'], join: 'http://127.0.0.1:1' } }, /\/join and peers exclude each other/, '/join'],
    [{ flags: { role: 'voter' } }, /\/role only applies with join/, '/role'],
  ];
  for (const [sources, message, field] of cases) {
    const e = errorOf(() => loadConfig(sources));
    t.match(e.message, message, JSON.stringify(sources));
    t.equal(e.field, field);
  }
  const bad = withFile(t, { dnsTtl: 'five' });
  t.match(errorOf(() => loadConfig({ file: bad })).message, /^config: \/dnsTtl must be an integer 1\.\.86400 \(seconds\), got "five" \(in file .*vnetd\.json\)$/);
  t.match(errorOf(() => loadConfig({ file: withFile(t, '[1]') })).message, /must hold a JSON object of settings, got an array/);
  t.match(errorOf(() => loadConfig({ file: '/nonexistent/vnetd.json' })).message, /cannot read \/nonexistent\/vnetd\.json/);
});

t.test('every setting has a flag, an environment variable and a usage line', async (t) => {
  const usage = flagUsage().join('\n');
  for (const k of configKeys) {
    t.match(usage, `--${flagName(k)}`);
    t.match(usage, envName(k));
    t.ok(k in defaults, `${k} has a default`);
  }
  t.equal(envName('apiTokenReads'), 'VNETD_API_TOKEN_READS');
  t.equal(flagName('apiTokenReads'), 'api-token-reads');
});
