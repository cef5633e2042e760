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

/** Byte classes of the head (RFC 9110 §5.1, §5.5, §5.6.2; RFC 3986 §3.3, §3.4). */
const tokenByte = 1;
const valueByte = 2; // VCHAR, SP, HTAB: what a field value may hold (no obs-text)
const targetByte = 4;
const byteClass = ((): Uint8Array => {
  const c = new Uint8Array(256);
  const mark = (chars: string, bit: number): void => {
    for (let i = 0; i < chars.length; i++) c[chars.charCodeAt(i)]! |= bit;
  };
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  mark(alnum + "!#$%&'*+-.^_`|~", tokenByte);
  for (let b = 0x20; b <= 0x7e; b++) c[b]! |= valueByte;
  c[0x09]! |= valueByte;
  // A target in origin form with only characters that need no decision: unreserved, sub-delims,
  // `:@%/?`. Everything else (spaces, quotes, controls, non-ASCII, `#`, `\`) goes to node:http,
  // which knows its own leniencies.
  mark(alnum + "-._~!$&'()*+,;=:@%/?", targetByte);
  return c;
})();

const crlf2 = Buffer.from('\r\n\r\n', 'latin1');
const digits = /^[0-9]{1,9}$/;

/**
 * Parses the head at the start of `buf`. The head is read as latin1 (bytes as code units), as
 * node:http does; `other` for anything this parser does not take, `incomplete` if the blank line
 * has not arrived and the bytes so far could still be a lean head. One decode of the head, then
 * one pass over its characters with a class table: the regular expressions this replaced cost
 * 2.6 us a head, Buffer slicing per field 3.2 us (each a native call), this about 0.7 (measured).
 */
export function parseHead(buf: Buffer): HeadParse {
  const end = buf.indexOf(crlf2);
  if (end < 0) return buf.length >= apiLimits.headBytesMax || !couldBeLean(buf) ? other : incomplete;
  if (end + 4 > apiLimits.headBytesMax) return other;
  const text = buf.toString('latin1', 0, end + 2);
  const lineEnd = text.indexOf('\r\n');
  const start = requestLine(text, lineEnd);
  if (start === null) return other;
  const headers: Record<string, string> = {};
  let lines = 0;
  for (let at = lineEnd + 2; at < text.length; ) {
    const eol = text.indexOf('\r\n', at);
    if (++lines > apiLimits.headerLinesMax || !headerField(text, at, eol, headers)) return other;
    at = eol + 2;
  }
  return framing(start, headers, end + 4);
}

const classOf = (text: string, i: number): number => byteClass[text.charCodeAt(i)] ?? 0;

/** `METHOD SP target SP HTTP/1.1` in text[0, eol), or null. */
function requestLine(text: string, eol: number): { method: string; url: string } | null {
  const sp1 = text.indexOf(' ');
  if (sp1 < 0 || sp1 > eol) return null;
  const method = text.slice(0, sp1);
  if (!leanMethods.has(method) || text.charCodeAt(sp1 + 1) !== 0x2f) return null;
  let i = sp1 + 1;
  while (i < eol && (classOf(text, i) & targetByte) !== 0) i++;
  if (i - sp1 - 1 > apiLimits.urlCharsMax || eol - i !== 9 || !text.startsWith(' HTTP/1.1', i)) return null;
  return { method, url: text.slice(sp1 + 1, i) };
}

/**
 * One field line text[from, eol) into `headers` (RFC 9112 §5.1): a token, a colon, optional
 * whitespace, a value of visible ASCII with inner spaces and tabs, optional whitespace. false for
 * anything else (obs-fold, obs-text, a bare CR or LF, an empty name) and for a repeated name:
 * node:http joins some repeated headers and drops others, a repeat is its business.
 */
function headerField(text: string, from: number, eol: number, headers: Record<string, string>): boolean {
  let i = from;
  while (i < eol && (classOf(text, i) & tokenByte) !== 0) i++;
  if (i === from || i === eol || text.charCodeAt(i) !== 0x3a) return false;
  const name = text.slice(from, i).toLowerCase();
  if (name in headers) return false;
  i++;
  while (i < eol && isOws(text.charCodeAt(i))) i++;
  let last = eol;
  while (last > i && isOws(text.charCodeAt(last - 1))) last--;
  for (let j = i; j < last; j++) if ((classOf(text, j) & valueByte) === 0) return false;
  headers[name] = text.slice(i, last);
  return true;
}

const isOws = (c: number): boolean => c === 0x20 || c === 0x09;

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
