// A small router: routes are `METHOD /v1/tasks/{id}` patterns matched segment by segment, each with
// the schemas of its path parameters, query and body, so no handler ever sees unchecked input.

import type { IncomingHttpHeaders } from 'node:http';
import type { BodySchema, ParamsSchema, QuerySchema } from './schemas.js';
import { ApiError } from './errors.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** What a handler answers: a status, an optional JSON body and extra headers. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Pre-rendered bytes instead of JSON (Prometheus text, a leader's relayed answer). */
  readonly raw?: { readonly contentType: string; readonly data: string | Buffer };
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the API reads of a request's head: node:http's IncomingMessage, or the lean path's parse. */
export interface RawRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

export interface Request {
  readonly method: Method;
  /** The route pattern matched, e.g. `/v1/tasks/{id}` (the metrics label). */
  readonly route: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed, schema-checked JSON body (undefined for routes without one). */
  readonly body: unknown;
  /** The raw body bytes as received (forwarded to the leader unchanged). */
  readonly rawBody: Buffer;
  readonly raw: RawRequest;
}

export type Access = 'open' | 'read' | 'write';

export interface Route {
  readonly method: Method;
  readonly pattern: string;
  readonly access: Access;
  readonly params: ParamsSchema;
  readonly query: QuerySchema;
  readonly body?: BodySchema;
  readonly handle: (req: Request) => Promise<Reply> | Reply;
}

interface Compiled {
  readonly route: Route;
  /** Literal segments, or `{name}` placeholders. */
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string })[];
}

export interface Match {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export class Router {
  private readonly compiled: Compiled[] = [];

  add(route: Route): void {
    const segments = route.pattern
      .split('/')
      .slice(1)
      .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s }));
    this.compiled.push({ route, segments });
  }

  /** The route for `method path`: 404 when no pattern matches, 405 when only other methods do. */
  match(method: string, path: string): Match {
    const parts = path.split('/').slice(1);
    let pathMatched = false;
    for (const c of this.compiled) {
      const params = matchSegments(c.segments, parts);
      if (params === undefined) continue;
      pathMatched = true;
      if (c.route.method === method) return { route: c.route, params };
    }
    if (pathMatched) {
      const allowed = this.compiled.filter((c) => matchSegments(c.segments, parts) !== undefined).map((c) => c.route.method);
      throw new ApiError('method_not_allowed', `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, { allowed });
    }
    throw new ApiError('route_not_found', `no endpoint ${path}`);
  }
}

/**
 * The parameters of `parts` for a route's segments, or undefined when it is another route. Literals
 * are compared before anything is allocated: most routes fail there (the router tries them all).
 */
function matchSegments(segments: Compiled['segments'], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if ('literal' in seg && seg.literal !== parts[i]) return undefined;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if ('literal' in seg) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(parts[i]!);
    } catch {
      throw new ApiError('invalid', `{${seg.param}} is not valid percent-encoding`, { field: `{${seg.param}}` });
    }
    params[seg.param] = decoded;
  }
  return params;
}
