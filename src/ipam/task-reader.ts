// The allocation command read straight from its msgpack bytes. Every replica decodes every task
// command it applies, and msgpackr's generic walk plus the validation after it cost ~1.1 µs per
// command here (0.7 of it the walk: key cache, string table lookups, an object per map), three
// times per write in a 3-node cluster (issue 4). This reader takes the common shape only: one map
// (a map16, as msgpackr writes it, or a fixmap) of ASCII fixstr keys, each field once, string
// values of printable ASCII, ports and labels absent or empty. It checks every rule
// `allocateTaskFast` (validate.ts) checks, on the bytes, and builds the same object with the same
// field order. Anything else returns undefined and takes the generic path, which also finds and
// names any problem; a test holds both paths to equal results.

import type { AllocateTaskCommand, Containerizer } from './types.js';
import { limits } from './limits.js';
import { checkNetworkName } from './validate.js';

const FIXMAP = 0x80;
const FIXMAP_END = 0x90;
const FIXARRAY_EMPTY = 0x90;
const FIXMAP_EMPTY = 0x80;
const MAP16 = 0xde;
const ARRAY16 = 0xdc;
const FIXSTR = 0xa0;
const FIXSTR_END = 0xc0;
const STR8 = 0xd9;
const STR16 = 0xda;
const LOW5 = 0x1f;

// Byte classes, each the pattern validate.ts holds that field to (ASCII only: anything else falls back).
const PRINTABLE_LO = 0x20; // name, framework: no control characters (0x00-0x1f, 0x7f)
const VISIBLE_LO = 0x21; // task id: visible ASCII
const VISIBLE_HI = 0x7e;
const SLASH = 0x2f; // agent id: visible ASCII but `/`

const enum Field { Type, Id, Name, Framework, Agent, Network, Containerizer, Ports, Labels }
const fieldNames = ['type', 'id', 'name', 'framework', 'agent', 'network', 'containerizer', 'ports', 'labels'];
const fieldBytes = fieldNames.map((n) => Buffer.from(n, 'latin1'));
const typeValue = Buffer.from('allocateTask', 'latin1');

/** The field a fixstr key at `at` (its bytes after the header) names, or -1. */
function fieldAt(b: Uint8Array, at: number, len: number): number {
  for (let f = 0; f < fieldBytes.length; f++) {
    const name = fieldBytes[f]!;
    if (name.length !== len) continue;
    let i = 0;
    while (i < len && b[at + i] === name[i]) i++;
    if (i === len) return f;
  }
  return -1;
}

/** True when every byte of b[from, to) is in [lo, VISIBLE_HI] and none is `skip`. */
function bytesIn(b: Uint8Array, from: number, to: number, lo: number, skip: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < lo || c > VISIBLE_HI || c === skip) return false;
  }
  return true;
}

/** The length of an empty array (fixarray or array16) at `at`, or 0 when there is none. */
function emptyArrayBytes(b: Uint8Array, at: number): number {
  if (b[at] === FIXARRAY_EMPTY) return 1;
  return b[at] === ARRAY16 && b[at + 1] === 0 && b[at + 2] === 0 ? 3 : 0;
}

/** The length of an empty map (fixmap or map16) at `at`, or 0 when there is none. */
function emptyMapBytes(b: Uint8Array, at: number): number {
  if (b[at] === FIXMAP_EMPTY) return 1;
  return b[at] === MAP16 && b[at + 1] === 0 && b[at + 2] === 0 ? 3 : 0;
}

/** Where each field's value lies in the bytes being read (-1: absent); one read at a time. */
const spanFrom = new Int32Array(fieldNames.length);
const spanTo = new Int32Array(fieldNames.length);

/** Arrays of each short length for String.fromCharCode.apply (a native slice call costs 2-3x). */
const SHORT_CHARS_MAX = 32;
const charScratch = Array.from({ length: SHORT_CHARS_MAX + 1 }, (_, n) => new Array<number>(n).fill(0));

/** The ASCII text of a field's bytes. */
function text(b: Uint8Array, f: Field): string {
  const from = spanFrom[f]!;
  const n = spanTo[f]! - from;
  if (n > SHORT_CHARS_MAX) return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1', from, from + n);
  const chars = charScratch[n]!;
  for (let i = 0; i < n; i++) chars[i] = b[from + i]!;
  return String.fromCharCode.apply(null, chars);
}

/**
 * The last text read for a field, kept with its bytes: tasks mostly name the same few networks
 * and frameworks, and the same string (its hash computed once) makes the lookups after cheaper.
 */
class LastText {
  private bytes = new Uint8Array(0);
  private value = '';

  /** The field's text when its bytes equal the last ones, or undefined. */
  same(b: Uint8Array, f: Field): string | undefined {
    const from = spanFrom[f]!;
    const n = spanTo[f]! - from;
    const last = this.bytes;
    if (n !== last.length || n === 0) return undefined;
    for (let i = 0; i < n; i++) if (b[from + i] !== last[i]) return undefined;
    return this.value;
  }

  remember(value: string): string {
    this.bytes = Buffer.from(value, 'latin1');
    this.value = value;
    return value;
  }
}

const lastNetwork = new LastText();
const lastFramework = new LastText();

/** A network name that passes checkNetworkName, or undefined. */
function networkName(b: Uint8Array): string | undefined {
  const known = lastNetwork.same(b, Field.Network);
  if (known !== undefined) return known;
  if (!bytesIn(b, spanFrom[Field.Network]!, spanTo[Field.Network]!, PRINTABLE_LO, -1)) return undefined;
  const name = text(b, Field.Network);
  return checkNetworkName(name, '/network').ok ? lastNetwork.remember(name) : undefined;
}

/**
 * The validated command in `bytes`, exactly as `validateCommand(unpack(bytes))` returns it, or
 * undefined when the bytes are not of the common shape (not an error: the caller decodes them the
 * generic way).
 */
export function readAllocateTask(bytes: Uint8Array): AllocateTaskCommand | undefined {
  if (bytes.length < 3) return undefined;
  const head = bytes[0]!;
  let count: number;
  let at: number;
  // msgpackr writes an object as a map16 whose count it fills in after the walk.
  if (head === MAP16) { count = (bytes[1]! << 8) | bytes[2]!; at = 3; }
  else if (head >= FIXMAP && head < FIXMAP_END) { count = head & 0x0f; at = 1; }
  else return undefined;
  if (count > fieldNames.length) return undefined;
  spanFrom.fill(-1);
  for (let k = 0; k < count; k++) {
    const kh = bytes[at];
    if (kh === undefined || kh < FIXSTR || kh >= FIXSTR_END) return undefined;
    const klen = kh & LOW5;
    if (at + 1 + klen > bytes.length) return undefined;
    const f = fieldAt(bytes, at + 1, klen);
    if (f < 0 || spanFrom[f] !== -1) return undefined; // unknown or repeated (msgpackr keeps the last)
    at += 1 + klen;
    const vh = bytes[at];
    if (vh === undefined) return undefined;
    if (f === Field.Ports || f === Field.Labels) {
      // Only empty: [] is a fixarray, {} a map16 (msgpackr) or a fixmap.
      const empty = f === Field.Ports ? emptyArrayBytes(bytes, at) : emptyMapBytes(bytes, at);
      if (empty === 0) return undefined;
      spanFrom[f] = spanTo[f] = at;
      at += empty;
      continue;
    }
    let len: number;
    if (vh >= FIXSTR && vh < FIXSTR_END) { len = vh & LOW5; at += 1; }
    else if (vh === STR8 && at + 1 < bytes.length) { len = bytes[at + 1]!; at += 2; }
    else if (vh === STR16 && at + 2 < bytes.length) { len = (bytes[at + 1]! << 8) | bytes[at + 2]!; at += 3; }
    else return undefined;
    if (at + len > bytes.length) return undefined;
    spanFrom[f] = at;
    spanTo[f] = at + len;
    at += len;
  }
  if (at !== bytes.length) return undefined;
  return commandOf(bytes);
}

/** Whether field f is present with 1..max bytes, each in [lo, VISIBLE_HI] and none `skip`. */
function textOk(b: Uint8Array, f: Field, lo: number, skip: number, max: number): boolean {
  const from = spanFrom[f]!;
  const n = spanTo[f]! - from;
  return from >= 0 && n > 0 && n <= max && bytesIn(b, from, from + n, lo, skip);
}

function commandOf(b: Uint8Array): AllocateTaskCommand | undefined {
  const typeAt = spanFrom[Field.Type]!;
  if (typeAt < 0 || spanTo[Field.Type]! - typeAt !== typeValue.length) return undefined;
  for (let i = 0; i < typeValue.length; i++) if (b[typeAt + i] !== typeValue[i]) return undefined;
  // The rules of validate.ts's patterns, on bytes (ASCII: one byte is one character).
  if (!textOk(b, Field.Id, VISIBLE_LO, -1, limits.idCharsMax) || !textOk(b, Field.Agent, VISIBLE_LO, SLASH, limits.idCharsMax)) return undefined;
  if (!textOk(b, Field.Name, PRINTABLE_LO, -1, limits.nameCharsMax) || !textOk(b, Field.Framework, PRINTABLE_LO, -1, limits.nameCharsMax)) return undefined;
  let network: string | undefined;
  if (spanFrom[Field.Network]! >= 0) {
    network = networkName(b);
    if (network === undefined) return undefined;
  }
  let containerizer: Containerizer | undefined;
  if (spanFrom[Field.Containerizer]! >= 0) {
    const c = text(b, Field.Containerizer);
    if (c !== 'mesos' && c !== 'docker') return undefined;
    containerizer = c;
  }
  // Fields in the order allocateTaskFast writes them.
  const cmd: { -readonly [K in keyof AllocateTaskCommand]: AllocateTaskCommand[K] } = {
    type: 'allocateTask', id: text(b, Field.Id), name: text(b, Field.Name), framework: lastFramework.same(b, Field.Framework) ?? lastFramework.remember(text(b, Field.Framework)), agent: text(b, Field.Agent),
  };
  if (network !== undefined) cmd.network = network;
  if (containerizer !== undefined) cmd.containerizer = containerizer;
  cmd.ports = [];
  cmd.labels = {};
  return cmd;
}
