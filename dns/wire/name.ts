// Domain names inside dns/ are "keys": the wire form (RFC 1035 §3.1: length-prefixed labels ending
// in a zero byte) with ASCII letters lowercased, held in a latin1 string (one char per byte). Keys
// compare case-insensitively for free, hash well in a Map, and are exactly what the question's
// bytes look like after folding, so the hot path never builds dotted text.
import { DnsError } from '../errors.js';
import { limits } from '../limits.js';

declare const brand: unique symbol;
/** A validated, lowercased wire-format name (see the file comment). */
export type NameKey = string & { readonly [brand]: 'NameKey' };

export const rootKey = '\0' as NameKey;

/**
 * A flat (sequential) copy of a string built by concatenation or slicing. Keys live long in Maps;
 * V8 represents `a + b` as a tree and `s.slice()` as a view that pins its parent, which cost more
 * memory per key and more time per hash or compare than one flat run of bytes.
 */
export function flat<S extends string>(s: S): S {
  if (s.length > flatScratch.length) return Buffer.from(s, 'latin1').toString('latin1') as S;
  const n = flatScratch.write(s, 0, 'latin1');
  return flatScratch.toString('latin1', 0, n) as S;
}

/** Reused by `flat` so that flattening allocates nothing but the string itself. */
const flatScratch = Buffer.alloc(limits.nameBytesMax + 2);

/**
 * Parses an absolute presentation name ("Web.Marathon.agentip.dcos." or without the final dot)
 * into a key. Only printable ASCII without backslash escapes is accepted: every name vnetd serves is
 * RFC 1123-mangled, and anything else would not round-trip through dns-packet (REFERENCE.md §5).
 *
 * Called for every zone write: a valid name costs one pass over its characters into a scratch
 * buffer and one string; the same name twice in a row (A, then AAAA, then the mark of one owner)
 * costs a comparison. Anything unusual takes the slow path, which names the problem.
 */
export function nameToKey(name: string): NameKey {
  if (typeof name !== 'string') throw new DnsError('bad-name', `name must be a string, got ${typeof name}`);
  if (name === lastName) return lastKey;
  const n = name.length - (name.endsWith('.') ? 1 : 0);
  if (n === 0) return rootKey;
  if (n + 2 > keyScratch.length) return slowNameToKey(name);
  let lengthAt = 0;
  let out = 1;
  let labelBytes = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (labelBytes === 0 || labelBytes > limits.labelBytesMax) return slowNameToKey(name);
      keyScratch[lengthAt] = labelBytes;
      lengthAt = out++;
      labelBytes = 0;
    } else if (c <= 0x20 || c >= 0x7f || c === 0x5c) {
      return slowNameToKey(name);
    } else {
      keyScratch[out++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      labelBytes++;
    }
  }
  if (labelBytes === 0 || labelBytes > limits.labelBytesMax) return slowNameToKey(name);
  keyScratch[lengthAt] = labelBytes;
  keyScratch[out++] = 0;
  if (out > limits.nameBytesMax) return slowNameToKey(name);
  lastKey = keyScratch.latin1Slice(0, out) as NameKey;
  lastName = name;
  return lastKey;
}

const keyScratch = Buffer.alloc(limits.nameBytesMax + 2) as Buffer & { latin1Slice(start: number, end: number): string };
let lastName = '';
let lastKey: NameKey = '\0' as NameKey;

/** The label-by-label parse: the reference for `nameToKey`, and what names its errors. */
export function slowNameToKey(name: string): NameKey {
  if (typeof name !== 'string') throw new DnsError('bad-name', `name must be a string, got ${typeof name}`);
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  if (text === '') return rootKey;
  let key = '';
  for (const label of text.split('.')) {
    if (label.length === 0) throw new DnsError('bad-name', `empty label in ${JSON.stringify(name)}`);
    if (label.length > limits.labelBytesMax) {
      throw new DnsError('bad-name', `label ${JSON.stringify(label)} is ${label.length} bytes, at most ${limits.labelBytesMax} allowed`);
    }
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (c <= 0x20 || c >= 0x7f || c === 0x5c) {
        throw new DnsError('bad-name', `name ${JSON.stringify(name)} has a character outside printable ASCII (or a backslash) at label ${JSON.stringify(label)}`);
      }
    }
    key += String.fromCharCode(label.length) + label.toLowerCase();
  }
  key += '\0';
  if (key.length > limits.nameBytesMax) {
    throw new DnsError('bad-name', `name ${JSON.stringify(name)} is ${key.length} bytes on the wire, at most ${limits.nameBytesMax} allowed`);
  }
  return flat(key) as NameKey;
}

/** The presentation form ("a.b.c.") of a key; bytes outside printable ASCII as \DDD (RFC 4343). */
export function keyToName(key: NameKey): string {
  if (key === rootKey) return '.';
  let out = '';
  let i = 0;
  while (i < key.length) {
    const len = key.charCodeAt(i);
    if (len === 0) break;
    for (let j = i + 1; j <= i + len; j++) {
      const c = key.charCodeAt(j);
      if (c === 0x2e || c === 0x5c) out += '\\' + String.fromCharCode(c);
      else if (c <= 0x20 || c >= 0x7f) out += '\\' + String(c).padStart(3, '0');
      else out += String.fromCharCode(c);
    }
    out += '.';
    i += len + 1;
  }
  return out;
}

/** The key of the parent name (one label stripped); the root's parent is undefined. */
export function parentKey(key: NameKey): NameKey | undefined {
  if (key === rootKey) return undefined;
  return flat(key.slice(key.charCodeAt(0) + 1)) as NameKey;
}

/**
 * Whether `key` is `apex` or lies under it, checking that the match starts on a label boundary (a
 * label may contain any byte, so a bare endsWith could match inside a label).
 */
export function isUnder(key: string, apex: string): boolean {
  if (!key.endsWith(apex)) return false;
  const boundary = key.length - apex.length;
  let i = 0;
  while (i < boundary) i += key.charCodeAt(i) + 1;
  return i === boundary;
}

/** Number of labels in a key (the root has none). */
export function labelCount(key: NameKey): number {
  let n = 0;
  let i = 0;
  while (key.charCodeAt(i) !== 0) {
    i += key.charCodeAt(i) + 1;
    n++;
  }
  return n;
}
