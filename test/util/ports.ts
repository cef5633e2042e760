// Free loopback ports for tests that must know a port before the server starts (peer lists).
//
// Why not "bind port 0, close, hand it out": the kernel gives the same ephemeral range to every
// process for port-0 binds and outbound connections, so between the close and the server's own
// bind another test process (tap runs files in parallel) may take the port — seen as
// EADDRINUSE in CI-like runs. Ports here come from below the ephemeral range instead
// (/proc/sys/net/ipv4/ip_local_port_range starts at 32768 by default), where the kernel never
// assigns on its own; each process starts at a pid-derived offset so parallel test processes
// usually walk different stretches, and every port is checked free for TCP and UDP (DNS listens
// on both).
//
// "Free now" is not enough between test processes: a port is handed out long before its server
// binds it, and a chaos run kills and restarts nodes on the same ports, leaving them unbound for
// seconds. Two processes whose pids fell on the same stretch (pid % 20 equal: 1 in 20 pairs) got
// the same ports: a chaos round and the fuzz round beside it each ran nodes on 31410-31412, the
// fuzzer's n1 died with EADDRINUSE and its n2/n3 answered with the chaos cluster's tasks. So each
// port handed out is also claimed in a lock file, `TMPDIR/vnetd-test-ports/PORT` holding the
// owner's pid (created exclusively), and skipped by every other process while that pid lives.
// The claims are removed when the process exits; a claim whose pid is gone (a SIGKILLed test
// process) is taken over. A port is claimed before it is probed: the probe's brief bind of a port
// another process holds would make that process's restarting node fail with EADDRINUSE.
import dgram from 'node:dgram';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rangeStart = 20_000;
const rangeEnd = 32_000; // exclusive; below the default ephemeral range
const stretch = 600; // ports a process walks before it may meet another process's stretch

/** Where the per-port claims live: shared by every test process of this machine. */
export const portClaimDir = join(tmpdir(), 'vnetd-test-ports');

const handedOut = new Set<number>();
let cursor = rangeStart + ((process.pid * stretch) % (rangeEnd - rangeStart));

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.unref();
    socket.once('error', () => resolve(false));
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

function nextCandidate(): number {
  cursor++;
  if (cursor >= rangeEnd) cursor = rangeStart;
  return cursor;
}

/** Whether process `pid` exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Creates the claim file exclusively; false when it exists. */
function create(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Moves a dead owner's claim aside and creates ours. Two processes may find the same dead claim:
 * the rename lets one of them move it; if what was moved is not the dead owner's claim (the other
 * process already replaced it with its own), it is linked back and the port left to that process.
 */
function takeOver(path: string, deadPid: string): boolean {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if (errno(err) === 'ENOENT') return create(path);
    throw err;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== deadPid) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone claimed the path meanwhile: their claim stands, and so does the one moved back.
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return create(path);
}

const claimed: string[] = [];
let cleanupInstalled = false;

/** Claims `port` for this process across test processes; false when a live process holds it. */
function claim(port: number): boolean {
  mkdirSync(portClaimDir, { recursive: true });
  const path = join(portClaimDir, String(port));
  let ok = create(path);
  if (!ok) {
    let owner: string;
    try {
      owner = readFileSync(path, 'utf8');
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
      owner = '';
    }
    const pid = Number(owner);
    if (owner === '') ok = create(path);
    else if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) ok = takeOver(path, owner);
  }
  if (!ok) return false;
  claimed.push(path);
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', releaseClaims);
  }
  return true;
}

/** Gives back a claim this process made but did not hand out (the port was busy). */
function unclaim(port: number): void {
  const path = join(portClaimDir, String(port));
  const at = claimed.indexOf(path);
  if (at >= 0) claimed.splice(at, 1);
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Removes this process's claims (at exit; the ports' servers are gone by then). */
export function releaseClaims(): void {
  for (const path of claimed.splice(0)) {
    try {
      if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}

/**
 * `count` distinct ports on `host`, free for both TCP and UDP when returned, and claimed for this
 * process until it exits (no other test process using freePorts is handed them meanwhile).
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > rangeEnd - rangeStart) throw new Error(`freePorts: no ${count} free ports in ${rangeStart}-${rangeEnd} on ${host}`);
    const port = nextCandidate();
    if (handedOut.has(port)) continue;
    // Claim first, probe second: the probe binds the port for a moment, which must not happen to
    // a port another test process holds (its node restarting just then would get EADDRINUSE).
    if (!claim(port)) continue;
    if (!(await tcpFree(port, host)) || !(await udpFree(port, host))) {
      unclaim(port);
      continue;
    }
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

/**
 * A block of `span` consecutive ports starting at the returned base, every one free for TCP and UDP
 * and claimed like freePorts' (for programs that derive their ports from one base, such as
 * `vnetd local-cluster --base-port`).
 */
export async function freePortBlock(span: number, host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < (rangeEnd - rangeStart) / span; tries++) {
    let base = nextCandidate();
    if (base + span > rangeEnd) base = cursor = rangeStart;
    cursor = base + span - 1;
    const taken: number[] = [];
    let ok = true;
    for (let port = base; port < base + span && ok; port++) {
      ok = !handedOut.has(port) && claim(port);
      if (ok) taken.push(port);
      ok = ok && (await tcpFree(port, host)) && (await udpFree(port, host));
    }
    if (ok) {
      for (const port of taken) handedOut.add(port);
      return base;
    }
    for (const port of taken) unclaim(port);
  }
  throw new Error(`freePortBlock: no ${span} consecutive free ports in ${rangeStart}-${rangeEnd} on ${host}`);
}
