// Authoritative answers for the forward zones: the origin (e.g. `dcos.`) and its aliases.
import { authoritative, storedKey } from '../authority/answer.js';
import type { Handler } from '../handler.js';

export const zoneAnswers: Handler = {
  name: 'zone-answers',
  handle(query, q, ctx) {
    const apex = ctx.apex();
    if (apex === undefined || apex.kind !== 'forward') return undefined;
    return authoritative(query, q, ctx, apex, ctx.zone.node(storedKey(q, apex)));
  },
};
