// Helpers of the vnetd-cni tests: running the plugin (and other commands) as real processes, a
// wrapper directory that puts `vnetd-cni` on CNI_PATH, and network namespaces that are removed in
// teardown even when a test fails.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Teardown } from '../api/harness.js';
import { tempDir } from '../api/harness.js';
import { runPlugin } from '../../src/cni/plugin.js';

/** dist/src/cni/main.js, located from this compiled file (dist/test/cni/helpers.js). */
export const pluginPath = fileURLToPath(new URL('../../src/cni/main.js', import.meta.url));

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const runTimeoutMs = 30_000;

/** Runs `cmd args` with `env` (nothing inherited but PATH) and `input` on stdin. */
export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? -1 : 128), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading everything
    child.stdin.end(input);
  });
}

/** Runs a command and throws with its output unless it exits 0. */
export async function must(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<Ran> {
  const r = await run(cmd, args, env, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Runs vnetd-cni (the compiled plugin) with CNI_* `env` and `config` on stdin; parses stdout. */
export async function cni(env: NodeJS.ProcessEnv, config: unknown): Promise<Ran & { json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  const r = await run(process.execPath, [pluginPath], env, typeof config === 'string' ? config : JSON.stringify(config));
  let json: unknown = undefined;
  try {
    json = r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

export const randomSuffix = (): string => randomBytes(3).toString('hex');

/**
 * A directory holding an executable `vnetd-cni` that runs the compiled plugin, for CNI_PATH. With
 * `netnsOf`, the wrapper first enters that process's network namespace (nsenter), so a main
 * plugin running inside a test namespace still reaches vnetd on this process's loopback.
 */
export function pluginDir(t: Teardown, netnsOf?: number): string {
  const dir = tempDir(t, 'vnetd-cni-bin-');
  const path = join(dir, 'vnetd-cni');
  const enter = netnsOf === undefined ? '' : `nsenter --net=/proc/${netnsOf}/ns/net `;
  writeFileSync(path, `#!/bin/sh\nexec ${enter}"${process.execPath}" "${pluginPath}" "$@"\n`);
  chmodSync(path, 0o755);
  return dir;
}

/** Why network namespaces cannot be used here, or undefined when they can (root, iproute2, netns). */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root: ip netns needs CAP_SYS_ADMIN';
  const name = `vnetd-probe-${randomSuffix()}`;
  try {
    const r = await run('ip', ['netns', 'add', name]);
    if (r.code !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
    await run('ip', ['netns', 'del', name]);
    // The plugin wrapper enters this process's namespace with nsenter (util-linux).
    if ((await run('nsenter', ['--version'])).code !== 0) return 'nsenter (util-linux) is not usable';
    return undefined;
  } catch (err) {
    return `cannot run ip: ${(err as Error).message}`;
  }
}

/** Namespaces this process made and has not deleted yet. */
const liveNamespaces = new Set<string>();
let exitHookInstalled = false;

/**
 * Last resort for a test process that dies before its teardowns run (an uncaught error): delete
 * what is left synchronously on exit, so no namespace, veth or bridge outlives the test.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of liveNamespaces) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

/** A new network namespace with loopback up, deleted in teardown (with every link inside it). */
export async function netns(t: Teardown, name: string): Promise<string> {
  installExitHook();
  await must('ip', ['netns', 'add', name]);
  liveNamespaces.add(name);
  t.teardown(async () => {
    await run('ip', ['netns', 'del', name]);
    liveNamespaces.delete(name);
  });
  await must('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return name;
}

/** `ip netns exec NS cmd args`. */
export function inNetns(ns: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<Ran> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], env, input);
}

/**
 * The same plugin run in this process (runPlugin is what main.ts calls), for the many cases whose
 * answer does not depend on being a separate process; the spawned `cni` covers the executable.
 */
export async function cniInProcess(env: NodeJS.ProcessEnv, config: unknown): Promise<Ran & { json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  const out = await runPlugin({ env, stdin: typeof config === 'string' ? config : JSON.stringify(config) });
  return { code: out.exitCode, stdout: out.stdout, stderr: '', json: out.stdout.trim() === '' ? undefined : JSON.parse(out.stdout) };
}
