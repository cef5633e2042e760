// The hot path: a query whose (name, type) has an RRset is answered with one table lookup and a
// copy of its encoded answer (cached; built on the first query after a change), before any zone
// matching. Everything else (negative answers, SOA/NS at the apex, ANY, zone not ready) passes to
// the zone handlers, which would have built the same answer from the same bytes.
import { positive } from '../authority/answer.js';
import type { Handler } from '../handler.js';

export const answers: Handler = {
  name: 'answers',
  handle(query, q, ctx) {
    if (!ctx.zone.ready) return undefined;
    const entry = ctx.zone.answerOf(q.key, q.qtype);
    if (entry === undefined) return undefined;
    return positive(query, q, ctx, ctx.zone.encoded(entry, q.key));
  },
};
