// Reads are served from this node's applied state and say which index they reflect
// (X-Vnetd-Applied-Index); `?consistent=true` first passes a ReadIndex barrier, making the read
// linearizable (DESIGN.md §3).

import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { Reply, Request } from '../router.js';
import { appliedHeader, readBarrier } from '../writes.js';

/** Answers `view()` (an ApiError it returns is thrown, e.g. 404) with the applied-index header. */
export async function read(ctx: ApiContext, req: Request, view: () => unknown): Promise<Reply> {
  if (req.query['consistent'] === 'true') await readBarrier(ctx);
  const body = view();
  if (body instanceof ApiError) throw body;
  return { status: 200, body, headers: { [appliedHeader]: String(ctx.ipam.appliedIndex) } };
}
