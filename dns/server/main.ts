// A standalone DNS server process over a zone index, for tests and trying things out:
//
//   node dist/dns/server/main.js --origin dcos. [--alias dcos.thisdcos.directory.] [--host 127.0.0.1]
//        [--port 0] [--upstream 127.0.0.1:5300] [--allow-recursion 127.0.0.0/8] [--ttl 5]
//
// It prints one JSON line {"port": N} once listening, then reads JSON lines on stdin, one change
// each, and acknowledges each with {"ok": true} or {"error": "..."}:
//   {"op":"set","name":"web.marathon.agentip.dcos.","type":"A","records":["9.0.0.2"]}
//   {"op":"delete","name":"...","type":"A"}   {"op":"serial","serial":7}   {"op":"ready","ready":true}
// It exits cleanly on SIGTERM/SIGINT or when stdin closes.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createZoneIndex, type MemoryZoneIndex } from '../zone-index.js';
import { startDnsServer } from './dns-server.js';

function apply(zone: MemoryZoneIndex, line: string): void {
  const c = JSON.parse(line) as Record<string, unknown>;
  switch (c['op']) {
    case 'set':
      zone.setRRset(c['name'] as string, c['type'] as 'A', c['records'] as string[]);
      return;
    case 'delete':
      zone.deleteRRset(c['name'] as string, c['type'] as 'A');
      return;
    case 'serial':
      zone.setSerial(c['serial'] as number);
      return;
    case 'ready':
      zone.setReady(c['ready'] === true);
      return;
    default:
      throw new Error(`unknown op ${JSON.stringify(c['op'])}; expected set, delete, serial or ready`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      origin: { type: 'string', default: 'dcos.' },
      alias: { type: 'string', multiple: true, default: [] },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      upstream: { type: 'string', multiple: true, default: [] },
      'allow-recursion': { type: 'string', multiple: true },
      ttl: { type: 'string', default: '5' },
    },
  });
  const zone = createZoneIndex({ origin: values.origin, aliases: values.alias, ttlSeconds: Number(values.ttl) });
  const server = await startDnsServer({
    zone,
    host: values.host,
    port: Number(values.port),
    upstreams: values.upstream,
    ...(values['allow-recursion'] !== undefined && { allowRecursion: values['allow-recursion'] }),
  });
  process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    try {
      apply(zone, line);
      process.stdout.write('{"ok":true}\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }) + '\n');
    }
  });
  lines.on('close', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`dns server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
