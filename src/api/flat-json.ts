// JSON bodies that are one flat object of plain strings (`{"name":"web","framework":"marathon",
// "agent":"a1","network":"dcos"}`: most task allocations) are read by hand. V8's JSON.parse
// internalizes every string of up to 10 characters, values included, so each allocation put its
// fresh task name and id into the string table: on a leader under load, 2-2.5 µs per request went
// to string-table lookups and growth, against ~0.3 µs for this scan. Anything else (whitespace
// other than spaces, escapes, non-string values, nesting, a repeated or `__proto__` key) returns
// undefined and JSON.parse decides, so the result is always JSON.parse's (flat-json.test.ts holds
// it to that on random text).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
/** The last printable ASCII character: above it (or below SPACE) the scan leaves the text to JSON.parse. */
const PRINTABLE_LAST = 0x7e;

/** Keys per object read by hand; more go to JSON.parse (it also bounds the duplicate check). */
export const flatJsonKeysMax = 16;

/**
 * `JSON.parse(text)` for an object whose values are all strings of printable ASCII without escapes
 * (spaces allowed between tokens); undefined for any other text.
 */
export function parseFlatObject(text: string): Record<string, string> | undefined {
  const n = text.length;
  let i = skipSpaces(text, 0);
  if (text.charCodeAt(i) !== OPEN) return undefined;
  i = skipSpaces(text, i + 1);
  const out: Record<string, string> = {};
  let keys = 0;
  if (text.charCodeAt(i) === CLOSE) return skipSpaces(text, i + 1) === n ? out : undefined;
  for (;;) {
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const key = text.slice(i + 1, keyEnd);
    // JSON.parse makes "__proto__" an own property; an assignment would set the prototype.
    if (key === '__proto__' || keys === flatJsonKeysMax || Object.hasOwn(out, key)) return undefined;
    i = skipSpaces(text, keyEnd + 1);
    if (text.charCodeAt(i) !== COLON) return undefined;
    i = skipSpaces(text, i + 1);
    const valueEnd = stringEnd(text, i);
    if (valueEnd < 0) return undefined;
    keys++;
    out[key] = text.slice(i + 1, valueEnd);
    i = skipSpaces(text, valueEnd + 1);
    const c = text.charCodeAt(i);
    if (c === CLOSE) return skipSpaces(text, i + 1) === n ? out : undefined;
    if (c !== COMMA) return undefined;
    i = skipSpaces(text, i + 1);
  }
}

function skipSpaces(text: string, i: number): number {
  while (text.charCodeAt(i) === SPACE) i++;
  return i;
}

/** The index of the closing quote of a plain string starting at `i`, or -1 (not a quote, an escape, a character outside printable ASCII). */
function stringEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j;
    if (c === BACKSLASH || c < SPACE || c > PRINTABLE_LAST) return -1;
  }
  return -1;
}
