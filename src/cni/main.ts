#!/usr/bin/env node
// `vnetd-cni`: the CNI IPAM plugin executable (src/cni/README.md). A runtime (or a main plugin
// such as `bridge`) runs it with CNI_* variables and the network config on stdin; it prints the
// result or a CNI error on stdout and exits 0 or 1. It imports only node:http and its own modules
// so that it starts in a few tens of milliseconds.

import { cniCodes } from './errors.js';
import { cniLimits } from './limits.js';
import { runPlugin } from './plugin.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY === true) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cniLimits.stdinBytesMax) throw new Error(`stdin is larger than ${cniLimits.stdinBytesMax} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function emit(text: string, code: number): void {
  process.exitCode = code;
  process.stdout.write(text);
}

async function main(): Promise<void> {
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (err) {
    // CNI SPEC code 5: an I/O failure (here, reading the config).
    emit(`${JSON.stringify({ cniVersion: '1.0.0', code: cniCodes.ioFailure, msg: `cannot read the network config: ${(err as Error).message}`, details: '' })}\n`, 1);
    return;
  }
  const outcome = await runPlugin({ env: process.env, stdin });
  emit(outcome.stdout, outcome.exitCode);
}

main().catch((err: unknown) => {
  // A bug, not an operating error: still answer in the CNI error shape so the runtime shows it.
  const msg = err instanceof Error ? err.message : String(err);
  emit(`${JSON.stringify({ cniVersion: '1.0.0', code: cniCodes.internal, msg: `vnetd-cni internal error: ${msg}`, details: err instanceof Error ? (err.stack ?? '') : '' })}\n`, 1);
});
