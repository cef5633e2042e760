#!/usr/bin/env node
// Standalone runner of the Docker IPAM driver, for hosts where it runs beside vnetd rather than
// inside it (`vnetd start --docker-ipam-socket`):
//   node dist/src/docker/main.js --socket /run/docker/plugins/vnetd.sock --url http://127.0.0.1:62080 --agent ID
// Exit codes: 0 clean stop (SIGINT/SIGTERM), 1 cannot start, 2 bad usage.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startDockerIpamDriver } from './index.js';

const usage = `Usage: vnetd-docker-ipam --socket PATH --agent ID [--url URL] [--network NAME] [--token-file FILE]
  --socket PATH      unix socket to serve, e.g. /run/docker/plugins/vnetd.sock
  --agent ID         this host's vnetd agent id
  --url URL          vnetd HTTP API (default http://127.0.0.1:62080)
  --network NAME     network for pools without an ipam-opt network=NAME
  --token-file FILE  bearer token for a vnetd started with --api-token
`;

function fail(message: string, code: number): never {
  process.stderr.write(`vnetd-docker-ipam: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: { socket: { type: 'string' }, agent: { type: 'string' }, url: { type: 'string' }, network: { type: 'string' }, 'token-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (err) {
    fail(`${(err as Error).message}\n${usage}`, 2);
  }
  if (values['help'] === true) {
    process.stdout.write(usage);
    return;
  }
  const socketPath = values['socket'];
  const agent = values['agent'];
  if (typeof socketPath !== 'string' || typeof agent !== 'string') fail(`--socket and --agent are required\n${usage}`, 2);
  const tokenFile = values['token-file'];
  const token = typeof tokenFile === 'string' ? readFileSync(tokenFile, 'utf8').trim() : undefined;
  const network = values['network'];
  const driver = await startDockerIpamDriver({
    socketPath,
    agent,
    url: typeof values['url'] === 'string' ? values['url'] : 'http://127.0.0.1:62080',
    ...(token === undefined ? {} : { token }),
    ...(typeof network === 'string' ? { defaultNetwork: network } : {}),
    onError: (endpoint, err) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'docker ipam call failed', endpoint, err: err.message })}\n`),
  }).catch((err: unknown) => fail(`cannot start: ${err instanceof Error ? err.message : String(err)}`, 1));
  process.stdout.write(`vnetd-docker-ipam: serving ${driver.socketPath} for agent ${agent}\n`);
  const stop = (): void => {
    driver.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
