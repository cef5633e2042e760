// The write path (DESIGN.md §3): on the leader a write is proposed and answered from its applied
// result; on a follower or learner it is forwarded to the leader's HTTP address (from the leader's
// member context) and answered exactly as the leader answered. While no leader is known, or the
// known one cannot be reached, the write waits and retries up to leaderWaitMs, then answers 503.
//
// Retrying is safe: a proposal is only retried when Raft refused it at submission or reports that
// its entry was overwritten by a new leader (`not_leader`: never applied). A `timeout` is not
// retried, because the entry may still be applied; the caller can repeat the request, every
// vnetd write being idempotent per id.

import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { NodeId } from '../../raft/core/types.js';
import { RaftError } from '../../raft/node/api.js';
import type { RaftNodeApi } from '../../raft/node/api.js';
import { parseMemberContext } from '../../raft/node/index.js';
import { encodeCommand, ipamLimits } from '../ipam/index.js';
import type { ApplyResult, IpamCommand, IpamCommandType, ResultValues } from '../ipam/index.js';
import type { ApiContext } from './context.js';
import { ApiError, fromIpamError } from './errors.js';
import { apiLimits } from './limits.js';
import type { Reply, Request } from './router.js';
import { splitHostPort } from './formats.js';

export const forwardedHeader = 'x-vnetd-forwarded';
export const appliedHeader = 'X-Vnetd-Applied-Index';

/** Forwarded writes reuse connections to the leader: a TCP handshake per write would cost more than the write. */
const forwardAgent = new http.Agent({ keepAlive: true, maxSockets: apiLimits.forwardSocketsMax });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Proposes an IPAM command on this (leader) node; an IPAM error becomes the ApiError to answer. */
export async function proposeIpam<C extends IpamCommandType>(ctx: ApiContext, cmd: IpamCommand & { type: C }): Promise<ResultValues[C]> {
  const bytes = encodeCommand(cmd);
  if (bytes.length > ipamLimits.commandBytesMax) {
    throw new ApiError('too_large', `the command is ${bytes.length} bytes; at most ${ipamLimits.commandBytesMax}`);
  }
  const started = performance.now();
  let result: ApplyResult;
  try {
    result = (await ctx.node.propose(bytes)) as ApplyResult;
  } catch (err) {
    ctx.metrics.proposals.inc([err instanceof RaftError ? err.code : 'error']);
    throw err;
  }
  ctx.metrics.proposals.inc(['applied']);
  ctx.metrics.proposalSeconds.observe([], (performance.now() - started) / 1000);
  if (!result.ok) {
    if (cmd.type === 'allocateTask') ctx.metrics.allocationFailures.inc([result.error.code]);
    throw fromIpamError(result.error);
  }
  return result.value as ResultValues[C];
}

/** The leader's HTTP address from its member context, or null when unknown. */
function leaderHttp(ctx: ApiContext, leader: NodeId): string | null {
  const member = ctx.node.status().members.find((m) => m.id === leader);
  return member === undefined ? null : parseMemberContext(member.context).http;
}

/**
 * Nodes whose last write found them leading. Their next `proposesFirst` write is proposed at once
 * instead of first asking status() (which builds every member's view: about 8 us per write on the
 * leader, profiled). That is safe only for a `local` whose first effect is propose(): propose()
 * refuses with not_leader on a node that does not lead, and that refusal drops the node from here
 * and sends the write down the forwarding path.
 */
const ledLastWrite = new WeakSet<RaftNodeApi>();

/**
 * Runs `local` if this node leads, else forwards the request to the leader; retries while an
 * election runs or the leader moves, for at most leaderWaitMs. `proposesFirst`: `local` calls
 * propose() before anything else (see ledLastWrite).
 */
export async function leaderWrite(ctx: ApiContext, req: Request, local: () => Promise<Reply>, o: { readonly proposesFirst?: boolean } = {}): Promise<Reply> {
  const deadline = Date.now() + apiLimits.leaderWaitMs;
  const hops = Number(req.raw.headers[forwardedHeader] ?? 0) || 0;
  let lastProblem = 'no leader known';
  for (;;) {
    const guessed = o.proposesFirst === true && ledLastWrite.has(ctx.node);
    const leader = guessed ? ctx.node.id : ctx.node.status().leader;
    if (leader === ctx.node.id) {
      ledLastWrite.add(ctx.node);
      try {
        return await local();
      } catch (err) {
        if (!(err instanceof RaftError) || (err.code !== 'not_leader' && err.code !== 'transferring')) throw err;
        ledLastWrite.delete(ctx.node);
        lastProblem = err.message;
        // The guess was stale: ask status() at once (it may name a leader to forward to).
        if (guessed) continue;
      }
    } else if (leader !== null && hops < apiLimits.forwardHopsMax) {
      const address = leaderHttp(ctx, leader);
      if (address === null) lastProblem = `the leader ${leader} advertises no HTTP address`;
      else {
        const reply = await forward(req, address, hops + 1).catch((err: unknown) => {
          lastProblem = `forwarding to the leader ${leader} at ${address} failed: ${(err as Error).message}`;
          return null;
        });
        ctx.metrics.forwarded.inc([reply === null ? 'failed' : 'answered']);
        if (reply !== null) return reply;
      }
    } else if (leader !== null) {
      lastProblem = `the request was already forwarded ${hops} times`;
    }
    if (Date.now() + apiLimits.leaderPollMs > deadline) break;
    await sleep(apiLimits.leaderPollMs);
  }
  throw new ApiError('unavailable', `no leader reachable within ${apiLimits.leaderWaitMs} ms: ${lastProblem}`);
}

/** Sends the request to the leader unchanged (method, path, query, body, token) and relays its answer. */
function forward(req: Request, address: string, hops: number): Promise<Reply> {
  const { host, port } = splitHostPort(address);
  const headers: Record<string, string> = { 'content-type': 'application/json', [forwardedHeader]: String(hops) };
  const auth = req.raw.headers['authorization'];
  if (auth !== undefined) headers['authorization'] = auth;
  if (req.rawBody.length > 0) headers['content-length'] = String(req.rawBody.length);
  return new Promise((resolve, reject) => {
    const out = http.request({ host, port, method: req.method, path: req.raw.url, headers, agent: forwardAgent, timeout: apiLimits.forwardTimeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        const relayed: Record<string, string> = {};
        const applied = res.headers[appliedHeader.toLowerCase()];
        if (typeof applied === 'string') relayed[appliedHeader] = applied;
        const contentType = res.headers['content-type'] ?? 'application/json';
        resolve({ status: res.statusCode ?? 502, raw: { contentType, data }, headers: relayed });
      });
    });
    out.on('timeout', () => out.destroy(new Error(`no answer within ${apiLimits.forwardTimeoutMs} ms`)));
    out.on('error', reject);
    out.end(req.rawBody);
  });
}

/** For `?consistent=true`: a ReadIndex barrier, retried while no leader is known. */
export async function readBarrier(ctx: ApiContext): Promise<void> {
  const deadline = Date.now() + apiLimits.leaderWaitMs;
  for (;;) {
    try {
      await ctx.node.read();
      return;
    } catch (err) {
      if (!(err instanceof RaftError) || err.code !== 'not_leader' || Date.now() + apiLimits.leaderPollMs > deadline) throw err;
    }
    await sleep(apiLimits.leaderPollMs);
  }
}
