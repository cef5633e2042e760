// Names outside our zones (and reverse names we do not hold) go upstream, but only for clients
// inside allowRecursion: everyone else falls off the chain and gets REFUSED (no open resolver).
import type { Handler } from '../handler.js';

export const forward: Handler = {
  name: 'forward',
  handle(_query, q, ctx) {
    if (!ctx.recursion()) return undefined;
    return { kind: 'forward', query: q, limitBytes: ctx.limitBytes };
  },
};
