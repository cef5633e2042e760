// DNS names of tasks: Mesos-DNS label mangling (REFERENCE.md §1, DESIGN.md §1) and the builders
// of every owner name src/records sets. Pure functions of their arguments.
//
// Mangling follows Mesos-DNS `labels.RFC1123` and `labels.DomainFrag` (mesos-dns labels/labels.go)
// byte for byte, with one deliberate difference: Mesos-DNS refills a label that lost trailing
// hyphens at the 63-character cut from the characters after the cut, and that refill can itself end
// in a hyphen (an invalid RFC 1123 label); we trim that hyphen too.
import type { NameKey } from '../../dns/wire/name.js';
import { parseIpv6 } from '../ipam/addr.js';
import { limits } from './limits.js';

/** The three address kinds of DESIGN.md §1, in the order the names are listed there. */
export const hostKinds = ['agentip', 'containerip', 'autoip'] as const;
export type HostKind = (typeof hostKinds)[number];

/** Maps one character code to its label character, or '' when Mesos-DNS drops it. */
function mapChar(c: number): string {
  if (c >= 0x41 && c <= 0x5a) return String.fromCharCode(c + 0x20); // A-Z → a-z
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) return String.fromCharCode(c);
  if (c === 0x2d || c === 0x2e || c === 0x5f) return '-'; // '-', '.', '_'
  return '';
}

function trimLeftHyphens(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 0x2d) i++;
  return s.slice(i);
}

function trimRightHyphens(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x2d) end--;
  return s.slice(0, end);
}

/** Whether `text` is already a mangled label: 1-63 of `[a-z0-9-]`, no `-` at either end (most task names). */
function isLabel(text: string): boolean {
  const n = text.length;
  if (n === 0 || n > limits.labelCharsMax || text.charCodeAt(0) === 0x2d || text.charCodeAt(n - 1) === 0x2d) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) return false;
  }
  return true;
}

/**
 * One RFC 1123 label from any text, as Mesos-DNS `labels.RFC1123` makes it: lowercase; `.`, `_`
 * and `-` become `-`; every other character is dropped; leading hyphens trimmed; cut at 63
 * characters; trailing hyphens trimmed, the characters they took refilled from after the cut.
 * May return '' (nothing usable in the input). Input longer than `nameInputCharsMax` is cut first.
 */
export function mangleLabel(text: string): string {
  if (isLabel(text)) return text;
  let mapped = '';
  const n = Math.min(text.length, limits.nameInputCharsMax);
  for (let i = 0; i < n; i++) mapped += mapChar(text.charCodeAt(i));
  const trimmed = trimLeftHyphens(mapped);
  const size = Math.min(trimmed.length, limits.labelCharsMax);
  const head = trimRightHyphens(trimmed.slice(0, size));
  if (head.length === size) return head;
  const tail = trimLeftHyphens(trimmed.slice(size));
  // Mesos-DNS stops here; the refill may end in '-', which RFC 1123 forbids, so trim once more.
  return trimRightHyphens(head + tail.slice(0, size - head.length));
}

/**
 * A framework name as a domain fragment (Mesos-DNS `labels.DomainFrag` with `.`): split on dots,
 * each part mangled by `mangleLabel`, empty parts dropped. `marathon-0.6.0-dev` →
 * `marathon-0.6.0-dev` as three labels. Returns the labels (possibly none).
 */
export function mangleFramework(text: string): string[] {
  const parts = text.slice(0, limits.nameInputCharsMax).split('.');
  const labels: string[] = [];
  for (const part of parts) {
    const label = mangleLabel(part);
    if (label !== '') labels.push(label);
  }
  return labels;
}

/** Bytes of a dotted absolute name on the wire (RFC 1035 §3.1): a length byte per label + root. */
export function wireLength(labels: readonly string[]): number {
  let n = 1;
  for (const l of labels) n += l.length + 1;
  return n;
}

/** Whether every label fits 1..63 bytes and the whole name fits 255 bytes (RFC 1035 §2.3.4). */
export function validLabels(labels: readonly string[]): boolean {
  for (const l of labels) if (l.length === 0 || l.length > limits.labelCharsMax) return false;
  return wireLength(labels) <= limits.nameBytesMax;
}

/** Labels of a zone apex ("dcos." → ["dcos"]), lowercased. */
export function zoneLabels(zone: string): string[] {
  const text = zone.endsWith('.') ? zone.slice(0, -1) : zone;
  return text === '' ? [] : text.toLowerCase().split('.');
}

/** The mangled labels a task's names are built from; undefined when a part mangles to nothing. */
export interface TaskLabels {
  readonly task: string;
  readonly framework: readonly string[];
}

export function taskLabels(task: { readonly name: string; readonly framework: string }): TaskLabels | undefined {
  const label = mangleLabel(task.name);
  const framework = mangleFramework(task.framework);
  // Mesos-DNS would build `.marathon.mesos` or `web..mesos` here; such a task has no names.
  if (label === '' || framework.length === 0) return undefined;
  return { task: label, framework };
}

const absolute = (labels: readonly string[]): string => labels.join('.') + '.';

/** `<task>.<framework>.<kind>.<zone>.` or undefined when it would exceed 255 bytes. */
export function hostName(l: TaskLabels, kind: HostKind, zone: readonly string[]): string | undefined {
  const labels = [l.task, ...l.framework, kind, ...zone];
  return validLabels(labels) ? absolute(labels) : undefined;
}

/**
 * `_<task>._<proto>.<framework>.<kind>.<zone>.` (Mesos-DNS SRV names), or undefined when invalid:
 * a 63-character task label gets no SRV name, as `_` makes it 64.
 */
export function srvName(l: TaskLabels, proto: 'tcp' | 'udp', kind: HostKind, zone: readonly string[]): string | undefined {
  const labels = ['_' + l.task, '_' + proto, ...l.framework, kind, ...zone];
  return validLabels(labels) ? absolute(labels) : undefined;
}

/** A fixed name directly under the zone, e.g. `leader.dcos.`. */
export function apexChild(label: string, zone: readonly string[]): string {
  return absolute([label, ...zone]);
}

/** RFC 1035 §3.5: `d.c.b.a.in-addr.arpa.` for a.b.c.d; undefined for text that is no IPv4. */
export function reverseName4(ip: string): string | undefined {
  const dots = dots4(ip);
  if (dots === undefined) return undefined;
  return `${ip.slice(dots[3]! + 1)}.${ip.slice(dots[2]! + 1, dots[3])}.${ip.slice(dots[1]! + 1, dots[2])}.${ip.slice(0, dots[1])}.in-addr.arpa.`;
}

/**
 * Where the dots of an IPv4 text are (-1, three dots, length), or undefined for text that is no
 * IPv4. By hand, not split/regex: every allocation with records builds a reverse name (issue 4's
 * apply cost).
 */
function dots4(ip: string): readonly number[] | undefined {
  const dots = [-1, 0, 0, 0, ip.length];
  let n = 1;
  let octet = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i === ip.length ? 0x2e : ip.charCodeAt(i);
    if (c === 0x2e) {
      const start = dots[n - 1]! + 1;
      // 1-3 digits, no leading zero (which some parsers read as octal), at most 255.
      if (i === start || i - start > 3 || (i - start > 1 && ip.charCodeAt(start) === 0x30) || octet > 255) return undefined;
      if (i < ip.length) {
        if (n === 4) return undefined;
        dots[n++] = i;
      }
      octet = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
    } else {
      return undefined;
    }
  }
  return n === 4 ? dots : undefined;
}

/** RFC 3596 §2.5: 32 reversed nibbles under `ip6.arpa.`; undefined for text that is no IPv6. */
export function reverseName6(ip: string): string | undefined {
  return reversedNibbles(ip, nibbleDot, 'ip6.arpa.');
}

/** The 32 nibbles of an IPv6 text, last first, each as `table` writes it, then `tail`; undefined for text that is no IPv6. */
function reversedNibbles(ip: string, table: readonly string[], tail: string): string | undefined {
  const groups = groups6(ip) ?? slowGroups6(ip);
  if (groups === undefined) return undefined;
  let out = '';
  for (let g = 7; g >= 0; g--) {
    const v = groups[g]!;
    out += table[v & 15]! + table[(v >> 4) & 15]! + table[(v >> 8) & 15]! + table[v >> 12]!;
  }
  return out + tail;
}

const nibbleDot = Array.from({ length: 16 }, (_, i) => i.toString(16) + '.');
/** The groups of the address being converted (reverse names are built one at a time, synchronously). */
const groupScratch = new Uint16Array(8);

/**
 * The eight groups of an IPv6 text in one pass, by hand: hex groups with at most one `::` (what
 * IPAM's formatIpv6 writes for task addresses; no BigInt, split or regex per allocation). Undefined
 * for anything else (a dotted tail, a stray character, a long text): parseIpv6 then decides.
 */
function groups6(ip: string): Uint16Array | undefined {
  const n = ip.length;
  if (n < 2 || n > ipv6TextCharsMax) return undefined;
  const out = groupScratch;
  let count = 0;
  let gap = -1;
  let value = 0;
  let digits = 0;
  let i = 0;
  if (ip.charCodeAt(0) === 0x3a) {
    if (ip.charCodeAt(1) !== 0x3a) return undefined;
    gap = 0;
    i = 2;
  }
  for (; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x3a) {
      if (digits === 0 || count === 8) return undefined;
      out[count++] = value;
      value = 0;
      digits = 0;
      if (ip.charCodeAt(i + 1) === 0x3a) {
        if (gap >= 0) return undefined;
        gap = count;
        i++;
      }
      continue;
    }
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0 || digits === 4) return undefined;
    value = value * 16 + d;
    digits++;
  }
  if (digits > 0) {
    if (count === 8) return undefined;
    out[count++] = value;
  } else if (gap !== count) {
    return undefined; // a trailing single `:`
  }
  if (gap < 0) return count === 8 ? out : undefined;
  if (count > 7) return undefined;
  // Move the groups after `::` to the end, zeros in between.
  const tail = count - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[count - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return out;
}

/** Full text of eight groups with colons: the longest IPv6 text without a dotted tail. */
const ipv6TextCharsMax = 39;

function slowGroups6(ip: string): Uint16Array | undefined {
  const value = parseIpv6(ip);
  if (value === undefined) return undefined;
  const hex = value.toString(16).padStart(32, '0');
  for (let g = 0; g < 8; g++) groupScratch[g] = parseInt(hex.slice(4 * g, 4 * g + 4), 16);
  return groupScratch;
}

/** The reverse name of an IPv4 or IPv6 address text. */
export function reverseName(ip: string): string | undefined {
  return ip.includes(':') ? reverseName6(ip) : reverseName4(ip);
}

/**
 * `reverseName(ip)` as a name key (dns/wire/name.ts), built directly: the records builder hands
 * every task address's PTR name to the zone, which would otherwise parse the text it was just
 * given. Equal to `nameToKey(reverseName(ip))` (naming.test.ts holds it to that).
 */
export function reverseKey(ip: string): NameKey | undefined {
  if (ip.includes(':')) return reversedNibbles(ip, nibbleKey, ip6ArpaKey) as NameKey | undefined;
  const dots = dots4(ip);
  if (dots === undefined) return undefined;
  const octet = (from: number, to: number): string => String.fromCharCode(to - from) + ip.slice(from, to);
  return (octet(dots[3]! + 1, ip.length) + octet(dots[2]! + 1, dots[3]!) + octet(dots[1]! + 1, dots[2]!) + octet(0, dots[1]!) + inAddrArpaKey) as NameKey;
}

const nibbleKey = Array.from({ length: 16 }, (_, i) => '\x01' + i.toString(16));
const inAddrArpaKey = '\x07in-addr\x04arpa\x00';
const ip6ArpaKey = '\x03ip6\x04arpa\x00';

/** A task's A/AAAA names, as the HTTP API shows them (no trailing dot). */
export interface TaskDnsNames {
  readonly agentip: string;
  readonly containerip: string;
  readonly autoip: string;
}

/** What the names of one (framework, zone) end in: nearly every write repeats the last pair. */
interface NameTail {
  readonly framework: string;
  readonly zone: string;
  /** `<framework labels>.` and `.<zone labels>` ('' for the root zone); null when the framework mangles to nothing. */
  readonly fw: string | null;
  readonly z: string;
  readonly zoneValid: boolean;
}
let lastTail: NameTail | null = null;

function nameTail(framework: string, zone: string): NameTail {
  if (lastTail !== null && lastTail.framework === framework && lastTail.zone === zone) return lastTail;
  const labels = mangleFramework(framework);
  const z = zoneLabels(zone);
  lastTail = {
    framework, zone,
    fw: labels.length === 0 ? null : labels.join('.') + '.',
    z: z.length === 0 ? '' : '.' + z.join('.'),
    zoneValid: validLabels(z),
  };
  return lastTail;
}

/**
 * The `agentip`, `containerip` and `autoip` names of a task under `zone` (e.g. "dcos" or
 * "dcos.thisdcos.directory."), without the trailing dot; undefined when the task has no names
 * (its name or framework mangles to nothing, or a name would exceed 255 bytes). Every write's
 * answer shows them, so they are three concatenations, not label arrays joined (2 KB of garbage
 * per write on the leader before).
 */
export function taskDnsNames(task: { readonly name: string; readonly framework: string }, zone: string): TaskDnsNames | undefined {
  const label = mangleLabel(task.name);
  const tail = nameTail(task.framework, zone);
  if (label === '' || tail.fw === null || !tail.zoneValid) return undefined;
  const head = label + '.' + tail.fw;
  // The text's length + 2 is its wire length (a length byte per label, the root); containerip is the longest.
  if (head.length + 'containerip'.length + tail.z.length + 2 > limits.nameBytesMax) return undefined;
  return { agentip: head + 'agentip' + tail.z, containerip: head + 'containerip' + tail.z, autoip: head + 'autoip' + tail.z };
}
