// Authoritative PTR answers for the reverse zones, falling through to forwarding for names we do
// not hold when the client may recurse (CoreDNS kubernetes `fallthrough in-addr.arpa ip6.arpa`):
// vnetd only knows its containers' addresses, not the rest of the reverse tree.
import { authoritative, storedKey } from '../authority/answer.js';
import type { Handler } from '../handler.js';

export const reverse: Handler = {
  name: 'reverse',
  handle(query, q, ctx) {
    const apex = ctx.apex();
    if (apex === undefined || apex.kind !== 'reverse') return undefined;
    const node = ctx.zone.node(storedKey(q, apex));
    const isApex = q.key.length === apex.key.length;
    if (node === undefined && !isApex && ctx.zone.ready && ctx.recursion()) return undefined;
    return authoritative(query, q, ctx, apex, node);
  },
};
