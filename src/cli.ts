#!/usr/bin/env node
// The `vnetd` command line (DESIGN.md §3). `vnetd start` runs a node; with no flags it is the
// embedded single-node default (data in ./data, HTTP 127.0.0.1:62080, DNS 127.0.0.1:8053, Raft
// 127.0.0.1:62090, network dcos 9.0.0.0/8 with /24 per agent). Exit codes: 0 clean stop,
// 1 runtime failure, 2 bad usage or configuration.

import { parseArgs } from 'node:util';
import { ConfigError, flagOptions, flagUsage, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { readFileSync } from 'node:fs';
import { writeFileDurably } from './durable-file.js';
import type { RunningServer, ServerExtension } from './server.js';
import type { Config } from './config.js';
import { UsageError, clientUsage, defaultUrl, runClientCommand } from './api/commands.js';
import { ClientError } from './api/client.js';
import { localCluster, localClusterUsage } from './api/local-cluster.js';

const exitUsage = 2;

const peersHelp = `
Multi-node:
  --peers lists the initial voters, this node included, as ID=RAFT[/HTTP[/DNS]] items separated by
  commas, e.g.
    --peers n1=127.0.0.1:7001/127.0.0.1:8001/127.0.0.1:5301,n2=127.0.0.1:7002/127.0.0.1:8002/127.0.0.1:5302,...
  Give all three addresses of every peer: a follower forwards writes to the leader's HTTP address,
  and leader.<zone>/master.<zone> answer the voters' HTTP hosts. This node's own entry sets its
  --raft/--http/--dns, so every voter can be started with the same --peers and its own --id. A node
  listening on 0.0.0.0 names its reachable addresses with --advertise-raft/--advertise-http/--advertise-dns
  (and the --peers entries give those).
  Voters of one cluster share a secret: --cluster-secret-file FILE (or --cluster-secret). A single
  node generates one into DATA_DIR/cluster-secret on its first start; hand that file to the others.
  --join URL adds this node to a running cluster through any member's HTTP URL, as a learner, or
  with --role voter as a learner that is promoted once it has caught up (it needs the secret too).
  A restarted node needs only --data-dir: DATA_DIR/node.json remembers its id, addresses and settings.
`;

const usage = `vnetd: Raft-replicated IPAM and DNS for container clusters

Usage:
  vnetd start [--config FILE] [--id ID] [--data-dir DIR] [--http HOST:PORT] [--dns HOST:PORT]
              [--raft HOST:PORT] [--peers ID=RAFT[/HTTP[/DNS]],...] [--join URL --role voter|learner] ...
  vnetd local-cluster --nodes N [--learners M] [--base-port P] [--data-dir DIR]
  vnetd status | net ... | agent ... | task ... | member ... | leader ...   (see below)
  vnetd snapshot save FILE [--url URL] [--token TOKEN] [--consistent]
  vnetd snapshot restore FILE --data-dir DIR [start options: --id, --http, --dns, --raft, ...]
  vnetd help

With no flags, \`vnetd start\` runs the embedded single-node default: data in ./data, HTTP API on
127.0.0.1:62080, DNS on 127.0.0.1:8053 (UDP and TCP), Raft on 127.0.0.1:62090, and on first start
the network dcos (9.0.0.0/8, a /24 per agent). Settings come from, lowest first: defaults, the data
directory (node.json), --config FILE (JSON, keys as below in camelCase), VNETD_* environment
variables, flags.

Options of start:
  --config FILE                      JSON settings file
  --no-default-network               do not create the default network on a new cluster
  --force-new-cluster                recovery from a lost quorum: restart this node (its --data-dir)
                                     as a single-member cluster holding its state (see below)
${flagUsage().join('\n')}
${peersHelp}
Backups and recovery:
  \`snapshot save\` writes the state of the member at --url (the leader's state with --consistent).
  \`snapshot restore\` makes DIR a new single-member cluster holding that state; start it with
  \`vnetd start --data-dir DIR\` and add members back with --join. Recovery from a lost quorum:
  save a snapshot from a survivor (without --consistent: there is no leader), stop the survivors,
  restore it into a new directory on one of them, start it, then join the others with fresh data
  directories. Or, in place: stop the survivor with the most recent data (highest applied index in
  \`vnetd status\`) and run \`vnetd start --data-dir DIR --force-new-cluster\` once: it keeps the
  state, the old Raft directory is moved to DIR/raft.before-force-TIME, and the node is alone in
  the membership. Join the others back with fresh data directories; never restart them with their
  old data.
${clientUsage}${localClusterUsage}`;

function fail(message: string, code: number): never {
  process.stderr.write(`vnetd: ${message}\n`);
  process.exit(code);
}

/** What `vnetd start` serves next to the API, per the configuration. */
function extensions(config: Config): ServerExtension[] {
  const socketPath = config.dockerIpamSocket;
  const agent = config.dockerIpamAgent;
  if (socketPath === null || agent === null) return [];
  const docker: ServerExtension = async (running, log) => {
    const { startDockerIpamDriver } = await import('./docker/index.js');
    const token = running.config.apiToken ?? (running.config.apiTokenFile === null ? null : readFileSync(running.config.apiTokenFile, 'utf8').trim());
    const driver = await startDockerIpamDriver({
      socketPath,
      url: `http://${running.http}`,
      agent,
      ...(token === null ? {} : { token }),
      ...(config.dockerIpamNetwork === null ? {} : { defaultNetwork: config.dockerIpamNetwork }),
      onError: (endpoint, err) => log.warn('docker ipam call failed', { endpoint, err: err.message }),
    });
    return { stop: () => driver.close() };
  };
  return [docker];
}

function printListeners(s: RunningServer): void {
  const out = (line: string): boolean => process.stdout.write(`vnetd ${s.id}: ${line}\n`);
  out(`HTTP API on http://${s.http}`);
  out(`DNS on ${s.dns} (UDP and TCP), zone ${s.config.zone}`);
  out(`Raft on ${s.raft}`);
  if (s.config.dockerIpamSocket !== null) out(`Docker IPAM driver on unix:${s.config.dockerIpamSocket} for agent ${s.config.dockerIpamAgent}`);
  out(`data in ${s.config.dataDir}`);
}

async function start(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args, options: { ...flagOptions(), config: { type: 'string' }, 'force-new-cluster': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    fail(`${(err as Error).message}\nsee: vnetd start --help`, exitUsage);
  }
  if (values['help'] === true) {
    process.stdout.write(usage);
    return;
  }
  let loaded;
  try {
    const file = values['config'];
    loaded = loadConfig({ ...(typeof file === 'string' ? { file } : {}), env: process.env, flags: values });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, exitUsage);
    throw err;
  }
  const forceNewCluster = values['force-new-cluster'] === true;
  if (forceNewCluster && (loaded.config.join !== null || loaded.config.peers.length > 0)) {
    fail('--force-new-cluster makes this node a cluster of its own: it excludes --join and --peers (add members afterwards with --join)', exitUsage);
  }
  const log = createLogger(loaded.config.logLevel);
  for (const w of loaded.warnings) log.warn(w);
  // The server (Raft, storage, DNS) is loaded only by the commands that run one, so that the
  // client commands start quickly.
  const { serverLimits, startServer } = await import('./server.js');
  let server: RunningServer;
  try {
    server = await startServer(loaded, log, extensions(loaded.config), { forceNewCluster });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, exitUsage);
    fail(`cannot start: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
  printListeners(server);
  log.info('listening', { id: server.id, http: server.http, dns: server.dns, raft: server.raft });
  let signalled = false;
  const onSignal = (signal: string): void => {
    if (signalled) process.exit(1); // a second Ctrl-C: stop waiting
    signalled = true;
    log.info('signal received, stopping', { signal });
    const timer = setTimeout(() => {
      log.error('stop took too long; exiting', { ms: serverLimits.stopMs });
      process.exit(1);
    }, serverLimits.stopMs);
    timer.unref();
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('stop failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

async function snapshotSave(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { url: { type: 'string' }, token: { type: 'string' }, consistent: { type: 'boolean' } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('vnetd snapshot save FILE');
  const url = values.url ?? process.env['VNETD_URL'] ?? defaultUrl;
  const token = values.token ?? process.env['VNETD_TOKEN'];
  const res = await fetch(new URL(`/v1/snapshot${values.consistent === true ? '?consistent=true' : ''}`, url), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }).catch((err: unknown) => {
    throw new ClientError(0, 'unreachable', `cannot reach ${url}: ${(err as Error).message}`, {});
  });
  if (!res.ok) throw new ClientError(res.status, `http_${res.status}`, `snapshot refused: ${res.status} ${await res.text()}`, {});
  const index = Number(res.headers.get('x-vnetd-applied-index'));
  const data = new Uint8Array(await res.arrayBuffer());
  const { encodeSnapshotFile } = await import('./server.js');
  writeFileDurably(positionals[0]!, encodeSnapshotFile(index, data));
  process.stdout.write(`saved the state at index ${index} (${data.length} bytes) to ${positionals[0]}\n`);
}

async function snapshotRestore(args: string[]): Promise<void> {
  const parsed = parseArgs({ args, options: { ...flagOptions(), config: { type: 'string' } }, strict: true, allowPositionals: true });
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const positionals = parsed.positionals;
  if (positionals.length !== 1 || values['data-dir'] === undefined) throw new UsageError('vnetd snapshot restore FILE --data-dir DIR');
  const file = values['config'];
  const loaded = loadConfig({ ...(typeof file === 'string' ? { file } : {}), env: process.env, flags: values });
  const log = createLogger(loaded.config.logLevel);
  const { restoreSnapshot } = await import('./server.js');
  const r = await restoreSnapshot(loaded, readFileSync(positionals[0]!), log);
  process.stdout.write(`restored index ${r.index} (${r.tasks} tasks) into ${loaded.config.dataDir} as a single-member cluster of ${loaded.config.id}; start it with: vnetd start --data-dir ${loaded.config.dataDir}\n`);
}

async function snapshot(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'save') return await snapshotSave(rest);
    if (sub === 'restore') return await snapshotRestore(rest);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, exitUsage);
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(err.message);
    if (err instanceof Error && !(err instanceof UsageError) && !(err instanceof ClientError)) fail(err.message, 1);
    throw err;
  }
  throw new UsageError(`vnetd snapshot save|restore, got ${JSON.stringify(sub ?? '')}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return;
    case 'local-cluster':
      return localCluster(rest);
    case 'snapshot':
      return snapshot(rest);
    default:
      if (await runClientCommand(command, rest)) return;
      fail(`unknown command ${JSON.stringify(command)}\n\n${usage}`, exitUsage);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) fail(`${err.message}\nsee: vnetd help`, exitUsage);
  if (err instanceof ClientError) fail(err.message, 1);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
