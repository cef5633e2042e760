// HTTP/1.1 framing for the lean connection (lean-connection.ts): a parser for request heads that
// takes only the plainest well-formed requests and says "other" for everything else, and the
// encoder of an answer's status line and headers. "Other" is not an error: such a connection is
// handed to node:http, whose parser answers it as it always did (400, 411, 413, 431, HEAD,
// 100-continue, chunked bodies, HTTP/1.0). So this parser may be strict and small: whatever it
// accepts, node:http would accept and read the same way (RFC 9112 §3, §5, §6.3).

import { STATUS_CODES } from 'node:http';
import { assert } from '../../raft/core/assert.js';
import { apiLimits } from './limits.js';

/** A request head the lean path serves, with node:http's view of it (lower-case header names). */
export interface LeanHead {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** Bytes of the head including the blank line that ends it. */
  readonly headBytes: number;
  /** The body's length from Content-Length (0 when absent). */
  readonly bodyBytes: number;
  /** The client asked to close after this answer (`Connection: close`). */
  readonly close: boolean;
}

/** Not enough bytes yet for a head. */
export const incomplete = 'incomplete';
/** Not for the lean path: node:http takes the connection from here. */
export const other = 'other';

export type HeadParse = LeanHead | typeof incomplete | typeof other;

/** The methods the API routes (HEAD and anything else go to node:http). */
const leanMethods: ReadonlySet<string> = new Set(['GET', 'PUT', 'POST', 'PATCH', 'DELETE']);

/**
 * A request target in origin form with only characters that need no decision: unreserved,
 * sub-delims, `:@%/?` (RFC 3986 §3.3/§3.4). Everything else (spaces, quotes, controls, non-ASCII,
 * `#`, `\`) goes to node:http, which knows its own leniencies.
 */
const plainTarget = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;

/**
 * One header line, RFC 9110 §5.1 and §5.5: a token, a colon, optional whitespace, a value of
 * visible ASCII and inner spaces/tabs, optional whitespace. obs-fold, obs-text, bare CR or LF and
 * empty names fail it.
 */
const headerLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*$/;
const digits = /^[0-9]{1,9}$/;

/**
 * Parses the head at the start of `buf`. The head is read as latin1 (bytes as code units), as
 * node:http does; `other` for anything this parser does not take, `incomplete` if the blank line
 * has not arrived and the bytes so far could still be a lean head.
 */
export function parseHead(buf: Buffer): HeadParse {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= apiLimits.headBytesMax || !couldBeLean(buf) ? other : incomplete;
  if (end + 4 > apiLimits.headBytesMax) return other;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  if (lines.length - 1 > apiLimits.headerLinesMax) return other;
  const start = requestLine(lines[0] as string);
  if (start === null) return other;
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const m = headerLine.exec(lines[i] as string);
    if (m === null) return other;
    const name = (m[1] as string).toLowerCase();
    // node:http joins some repeated headers and drops others: a repeat is its business.
    if (name in headers) return other;
    headers[name] = m[2] as string;
  }
  return framing(start, headers, end + 4);
}

/** `METHOD SP target SP HTTP/1.1`, or null. */
function requestLine(line: string): { method: string; url: string } | null {
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 < 0 || sp2 < 0 || line.slice(sp2 + 1) !== 'HTTP/1.1') return null;
  const method = line.slice(0, sp1);
  const url = line.slice(sp1 + 1, sp2);
  if (!leanMethods.has(method) || url.length > apiLimits.urlCharsMax || !plainTarget.test(url)) return null;
  return { method, url };
}

/**
 * How the message is framed (RFC 9112 §6.3): only Content-Length (or no body) is lean; a
 * Transfer-Encoding, Expect, Upgrade, a body above the limit (413 comes from the usual path with
 * its connection close), a missing Host (400), or a Connection other than keep-alive/close is not.
 */
function framing(start: { method: string; url: string }, headers: Record<string, string>, headBytes: number): HeadParse {
  if (headers['host'] === undefined || 'transfer-encoding' in headers || 'expect' in headers || 'upgrade' in headers) return other;
  const length = headers['content-length'];
  let bodyBytes = 0;
  if (length !== undefined) {
    if (!digits.test(length)) return other;
    bodyBytes = Number(length);
    if (bodyBytes > apiLimits.bodyBytesMax) return other;
  }
  const connection = headers['connection']?.toLowerCase();
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') return other;
  return { method: start.method, url: start.url, headers, headBytes, bodyBytes, close: connection === 'close' };
}

/** Whether a partial head can still turn out lean: its method is one we take, so far. */
function couldBeLean(buf: Buffer): boolean {
  const sp = buf.indexOf(0x20);
  const method = buf.toString('latin1', 0, sp < 0 ? Math.min(buf.length, 7) : sp);
  if (sp >= 0) return leanMethods.has(method);
  for (const m of leanMethods) if (m.startsWith(method)) return true;
  return false;
}

const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e]*$/;

/**
 * The status line and headers of an answer, ending in the blank line. `date` is the cached
 * IMF-fixdate (RFC 9110 §6.6.1: an origin server with a clock sends Date); `bodyBytes` null for
 * statuses without content (204, 304: RFC 9110 §8.6 forbids Content-Length there).
 */
export function encodeHead(status: number, headers: Readonly<Record<string, string>>, bodyBytes: number | null, date: string, close: boolean): string {
  assert(status >= 200 && status <= 599, () => `status ${status} is not a final status`);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name in headers) {
    const value = headers[name] as string;
    // node:http's writeHead refuses these with ERR_INVALID_CHAR; here they would split the answer.
    assert(headerName.test(name) && headerValue.test(value), () => `invalid answer header ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
    head += `${name}: ${value}\r\n`;
  }
  head += `Date: ${date}\r\n`;
  head += close ? 'Connection: close\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${apiLimits.keepAliveMs / 1000}\r\n`;
  if (bodyBytes !== null) head += `Content-Length: ${bodyBytes}\r\n`;
  return head + '\r\n';
}
