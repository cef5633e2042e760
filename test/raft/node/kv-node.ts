// A test process: one RaftNode (LevelDB storage, TCP transport) with a small key-value state
// machine, controlled over HTTP on 127.0.0.1 (port 0). Started by the multi-process tests
// (test/raft/node/cluster.ts) as `node dist/test/raft/node/kv-node.js '<json config>'`; prints one
// line `{"ready":true,"http":PORT,"raft":PORT}` on stdout once serving, and JSON log lines on stderr.
//
// Control API (JSON in, JSON out; errors as {"error": RaftErrorCode, "message", "leader"} with 503):
//   POST /propose {k, v, timeoutMs?}  -> {index, value}   the state machine's apply() result
//   POST /read                         -> {index}          a linearizable barrier, then the index
//   GET  /status                       -> NodeStatus
//   GET  /dump                         -> {applied, kv, history}  (history: [index, k, v] per command)
//   GET  /stats                        -> NodeStats
//   POST /addLearner {id, context} | /promote {id} | /remove {id} | /transfer {to}
//   POST /stop                         -> graceful stop, then the process exits 0

import http from 'node:http';
import type { LogIndex, Member } from '../../../raft/core/types.js';
import { nodeId } from '../../../raft/core/types.js';
import type { StateMachine } from '../../../raft/node/api.js';
import { RaftError } from '../../../raft/node/api.js';
import { RaftNode } from '../../../raft/node/node.js';
import { LevelStorage } from '../../../raft/storage/index.js';
import { TcpTransport } from '../../../raft/transport/index.js';
import type { KvNodeConfig } from './kv-config.js';
import { memberContext } from './kv-config.js';

interface KvState {
  kv: Record<string, string>;
  /** Every applied command by index: lets a test compare logs across nodes (Raft §5.3, Log Matching). */
  history: [number, string, string][];
}

/** Commands are JSON {k, v}; a malformed command is an error result, never a throw (api.ts). */
class KvMachine implements StateMachine<{ index: number; value: string } | { error: string }> {
  state: KvState = { kv: {}, history: [] };
  apply(command: Uint8Array, index: LogIndex) {
    let c: unknown;
    try {
      c = JSON.parse(new TextDecoder().decode(command));
    } catch {
      return { error: 'command is not JSON' };
    }
    const { k, v } = (c ?? {}) as { k?: unknown; v?: unknown };
    if (typeof k !== 'string' || typeof v !== 'string') return { error: 'command needs string k and v' };
    this.state.kv[k] = v;
    this.state.history.push([index, k, v]);
    return { index, value: v };
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.state));
  }
  restore(data: Uint8Array): void {
    this.state = JSON.parse(new TextDecoder().decode(data)) as KvState;
  }
}

const bodyBytesMax = 64 * 1024;

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > bodyBytesMax) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function route(node: RaftNode, sm: KvMachine, transport: TcpTransport, stop: () => void) {
  return async (method: string, path: string, body: Record<string, unknown>): Promise<unknown> => {
    const s = (name: string) => String(body[name]);
    switch (`${method} ${path}`) {
      case 'POST /propose': {
        const cmd = new TextEncoder().encode(JSON.stringify({ k: body.k, v: body.v }));
        const opts = typeof body.timeoutMs === 'number' ? { timeoutMs: body.timeoutMs } : undefined;
        return node.propose(cmd, opts);
      }
      case 'POST /read': return { index: await node.read() };
      case 'GET /status': return node.status();
      case 'GET /dump': return { applied: node.status().appliedIndex, ...sm.state };
      case 'GET /stats': return node.stats();
      case 'GET /transport': return transport.stats();
      case 'POST /addLearner': await node.addLearner(nodeId(s('id')), s('context')); return {};
      case 'POST /promote': await node.promote(nodeId(s('id'))); return {};
      case 'POST /remove': await node.removeMember(nodeId(s('id'))); return {};
      case 'POST /transfer': await node.transferLeadership(nodeId(s('to'))); return {};
      case 'POST /stop': stop(); return {};
      default: throw new NotFound(`${method} ${path}`);
    }
  };
}

class NotFound extends Error {}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as KvNodeConfig;
  const log = (line: object) => process.stderr.write(JSON.stringify({ t: Date.now(), node: config.id, ...line }) + '\n');
  const id = nodeId(config.id);
  const storage = await LevelStorage.open({ dataDir: config.dataDir, log: (event, f) => log({ msg: event, ...f }) });
  const transport = new TcpTransport({
    id, listen: { host: '127.0.0.1', port: config.raftPort }, secret: config.secret,
    log: (event, f) => log({ msg: event, ...f }),
  });
  await transport.start();
  const members: Member[] | null = config.bootstrap === 'join' ? null
    : Object.entries(config.bootstrap).map(([m, port]) => ({ id: nodeId(m), role: 'voter' as const, context: memberContext(port) }));
  const sm = new KvMachine();
  const node = await RaftNode.open({
    id, storage, transport, stateMachine: sm, bootstrap: members === null ? 'join' : { members },
    knownPeers: Object.entries(config.knownPeers ?? {}).map(([m, port]) => ({ id: nodeId(m), role: 'voter' as const, context: memberContext(port) })),
    tickMs: config.tickMs, electionTicks: config.electionTicks, snapshotEntries: config.snapshotEntries,
    proposalTimeoutMs: config.proposalTimeoutMs, logger: (l) => { if (l.level !== 'debug') log(l); },
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Exit as soon as the node has stopped: server.close() would wait for the harness's idle
    // keep-alive connections.
    void node.stop().then(() => process.exit(0));
  };
  const handle = route(node, sm, transport, stop);
  const server = http.createServer((req, res) => {
    const send = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    readBody(req)
      .then((body) => handle(req.method ?? 'GET', req.url ?? '/', body))
      .then((v) => send(200, v ?? {}), (err: unknown) => {
        if (err instanceof RaftError) send(503, { error: err.code, message: err.message, leader: err.leader });
        else if (err instanceof NotFound) send(404, { error: 'not_found', message: err.message });
        else send(400, { error: 'bad_request', message: String(err) });
      });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  process.on('SIGTERM', stop);
  process.stdout.write(JSON.stringify({ ready: true, http: port, raft: transport.address().port }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`kv-node: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
