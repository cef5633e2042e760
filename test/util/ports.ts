// Free loopback ports for tests that must know a port before the server starts (peer lists).
// Each port is found by binding port 0 and closing; a range of recently returned ports is kept
// so two calls in one process never hand out the same port.
import net from 'node:net';

const handedOut = new Set<number>();

async function onePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/** `count` distinct free TCP ports on `host` (also free for UDP in practice on loopback). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await onePort(host);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}
