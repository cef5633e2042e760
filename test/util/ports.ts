// Free loopback ports for tests that must know a port before the server starts (peer lists).
//
// Why not "bind port 0, close, hand it out": the kernel gives the same ephemeral range to every
// process for port-0 binds and outbound connections, so between the close and the server's own
// bind another test process (tap runs files in parallel) may take the port — seen as
// EADDRINUSE in CI-like runs. Ports here come from below the ephemeral range instead
// (/proc/sys/net/ipv4/ip_local_port_range starts at 32768 by default), where the kernel never
// assigns on its own; each process starts at a pid-derived offset so parallel test processes walk
// different stretches, and every port is checked free for TCP and UDP (DNS listens on both).
import dgram from 'node:dgram';
import net from 'node:net';

const rangeStart = 20_000;
const rangeEnd = 32_000; // exclusive; below the default ephemeral range
const stretch = 600; // ports a process walks before it may meet another process's stretch

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

/** `count` distinct ports on `host`, free for both TCP and UDP when returned. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > rangeEnd - rangeStart) throw new Error(`freePorts: no ${count} free ports in ${rangeStart}-${rangeEnd} on ${host}`);
    const port = nextCandidate();
    if (handedOut.has(port)) continue;
    if (!(await tcpFree(port, host)) || !(await udpFree(port, host))) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}
