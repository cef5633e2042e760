// A small client of the HTTP API for the `vnetd` subcommands (status, net, agent, task, member):
// one JSON request with the bearer token, and the API's error envelope turned into a ClientError.

export interface ClientOptions {
  /** Base URL of any member, e.g. http://127.0.0.1:62080. */
  readonly url: string;
  readonly token: string | null;
  readonly timeoutMs?: number;
}

export class ClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export const clientTimeoutMsDefault = 15_000;

export async function request<T = unknown>(o: ClientOptions, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (o.token !== null) headers['authorization'] = `Bearer ${o.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(new URL(path, o.url), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(o.timeoutMs ?? clientTimeoutMsDefault),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new ClientError(0, 'unreachable', `cannot reach ${o.url}: ${cause}`, {});
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (res.ok) return parsed as T;
  const envelope = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { message: text };
  const code = typeof envelope['error'] === 'string' ? envelope['error'] : `http_${res.status}`;
  const field = typeof envelope['field'] === 'string' && envelope['field'] !== '' ? ` (field ${envelope['field']})` : '';
  throw new ClientError(res.status, code, `${code}: ${String(envelope['message'] ?? res.statusText)}${field}`, envelope);
}
