// Real vnetd processes for the API and CLI tests: spawn `node dist/src/cli.js start ...` on
// loopback ports from freePorts, in a mkdtemp data directory, and kill every child and remove
// every directory in teardown, even when the test fails.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../util/ports.js';

/** dist/src/cli.js, located from this compiled file (dist/test/api/harness.js). */
export const cliPath = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface Proc {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/** Runs the CLI with `args`; the child is killed in teardown if still running. */
export function runCli(t: Teardown, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Proc {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (into: string[]) => {
    let partial = '';
    return (chunk: Buffer): void => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      into.push(...lines);
    };
  };
  child.stdout.on('data', collect(stdout));
  child.stderr.on('data', collect(stderr));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, stdout, stderr, exited };
}

export function tempDir(t: Teardown, prefix = 'vnetd-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, for at most `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === null ? '' : `: ${String(lastError)}`}`);
    await sleep(everyMs);
  }
}

export interface Answer {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  readonly text: string;
  readonly headers: Headers;
}

/** One HTTP request; `body` is sent as JSON (a string is sent as is). */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(15_000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export interface NodeSpec {
  readonly id: string;
  readonly raft: string;
  readonly http: string;
  readonly dns: string;
}

export interface VnetdNode extends NodeSpec {
  readonly url: string;
  readonly dataDir: string;
  proc: Proc;
}

/** Loopback addresses for `n` nodes (three ports each). */
export async function nodeSpecs(n: number, prefix = 'n'): Promise<NodeSpec[]> {
  const ports = await freePorts(3 * n);
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i + 1}`,
    raft: `127.0.0.1:${ports[3 * i]}`,
    http: `127.0.0.1:${ports[3 * i + 1]}`,
    dns: `127.0.0.1:${ports[3 * i + 2]}`,
  }));
}

export const peersFlag = (specs: readonly NodeSpec[]): string => specs.map((s) => `${s.id}=${s.raft}/${s.http}/${s.dns}`).join(',');

/** Fast elections for tests: 50 ms ticks, election after 10-20 ticks. */
export const fastRaft = ['--tick-ms', '50', '--log-level', 'warn'];

/** Starts `vnetd start` and resolves once its HTTP API answers /v1/health. */
export async function startNode(t: Teardown, spec: NodeSpec, dataDir: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<VnetdNode> {
  const args = ['start', '--id', spec.id, '--data-dir', dataDir, '--raft', spec.raft, '--http', spec.http, '--dns', spec.dns, ...fastRaft, ...extra];
  const node: VnetdNode = { ...spec, url: `http://${spec.http}`, dataDir, proc: runCli(t, args, env) };
  await waitHealthy(node);
  return node;
}

export async function waitHealthy(node: VnetdNode): Promise<void> {
  const exited = node.proc.exited.then((code) => {
    throw new Error(`vnetd ${node.id} exited with ${code}: ${node.proc.stderr.join('\n')}`);
  });
  await Promise.race([
    exited,
    waitFor(`${node.id} /v1/health`, async () => ((await call(node.url, 'GET', '/v1/health')).status === 200 ? true : undefined), 20_000),
  ]);
}

export async function waitReady(node: VnetdNode, timeoutMs = 20_000): Promise<void> {
  await waitFor(`${node.id} /v1/ready`, async () => ((await call(node.url, 'GET', '/v1/ready')).status === 200 ? true : undefined), timeoutMs);
}

/** Stops a node with SIGTERM and resolves with its exit code. */
export async function stopNode(node: VnetdNode): Promise<number | string> {
  node.proc.child.kill('SIGTERM');
  return node.proc.exited;
}

/** A cluster secret file shared by every voter of a test cluster. */
export function secretFile(t: Teardown): string {
  const dir = tempDir(t, 'vnetd-secret-');
  const path = join(dir, 'cluster-secret');
  writeFileSync(path, 'test-cluster-secret-0123456789abcdef\n', { mode: 0o600 });
  return path;
}

/** Three voters bootstrapped with --peers, all ready. */
export async function startCluster(t: Teardown, n = 3): Promise<{ nodes: VnetdNode[]; secret: string }> {
  const specs = await nodeSpecs(n);
  const secret = secretFile(t);
  const peers = peersFlag(specs);
  const nodes = await Promise.all(specs.map((s) => startNode(t, s, tempDir(t), ['--peers', peers, '--cluster-secret-file', secret])));
  for (const node of nodes) await waitReady(node);
  return { nodes, secret };
}

/** The leader's id as `node` sees it, once there is one. */
export async function leaderOf(node: VnetdNode): Promise<string> {
  return waitFor(`a leader seen by ${node.id}`, async () => {
    const c = await call(node.url, 'GET', '/v1/cluster');
    return typeof c.body?.leader === 'string' ? (c.body.leader as string) : undefined;
  });
}

/** One DNS query over UDP to `address` (host:port); resolves with the decoded answer. */
export interface DnsAnswer {
  readonly rcode: string;
  readonly answers: readonly { readonly type: string; readonly data: unknown }[];
}

export async function dnsQuery(address: string, name: string, type: 'A' | 'AAAA' | 'SRV' | 'PTR' | 'SOA'): Promise<DnsAnswer> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  const id = Math.floor(Math.random() * 65535);
  const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<DnsAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer from ${address} for ${name}`)), 3_000);
      socket.on('message', (msg) => {
        const p = dnsPacket.decode(msg);
        if (p.id !== id) return;
        clearTimeout(timer);
        const decoded = p as unknown as { rcode: string; answers?: { type: string; data: unknown }[] };
        resolve({ rcode: decoded.rcode, answers: decoded.answers ?? [] });
      });
      socket.send(query, port, host);
    });
  } finally {
    socket.close();
  }
}
