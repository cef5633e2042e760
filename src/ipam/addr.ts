// IPv4 and IPv6 address and prefix arithmetic. IPv4 addresses are unsigned 32-bit numbers, IPv6
// addresses are BigInts (128 bits do not fit a double). Parsers are the only place brands are
// created; they accept only canonical-enough text (no octal-looking IPv4 octets, no zone ids).

import type { Brand } from '../../raft/core/types.js';
import { assert } from '../../raft/core/assert.js';

export type Ipv4 = Brand<number, 'Ipv4'>;
export type Ipv6 = Brand<bigint, 'Ipv6'>;

export interface Cidr4 {
  readonly addr: Ipv4;
  readonly len: number;
}
export interface Cidr6 {
  readonly addr: Ipv6;
  readonly len: number;
}

/** Longest address text we bother parsing (a full IPv6 with embedded IPv4 is 45 chars). */
export const addressTextLengthMax = 64;
const ipv6Max = (1n << 128n) - 1n;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

// ----- IPv4 -----

const octetPattern = /^(0|[1-9][0-9]{0,2})$/;

/** Dotted quad, each octet 0..255 without leading zeros (which some parsers read as octal). */
export function parseIpv4(text: string): Ipv4 | undefined {
  if (text.length > addressTextLengthMax) return undefined;
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!octetPattern.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value as Ipv4;
}

export function formatIpv4(addr: Ipv4 | number): string {
  assert(Number.isInteger(addr) && addr >= 0 && addr <= 0xffffffff, () => `not an IPv4 value: ${addr}`);
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Number of addresses in a /len IPv4 prefix (2^(32-len)), exact as a double. */
export function size4(len: number): number {
  assert(Number.isInteger(len) && len >= 0 && len <= 32, () => `IPv4 prefix length ${len} outside 0..32`);
  return 2 ** (32 - len);
}

export function hostBits4(c: Cidr4): number {
  return c.addr % size4(c.len);
}

export function contains4(outer: Cidr4, inner: Cidr4): boolean {
  if (inner.len < outer.len) return false;
  return Math.floor(inner.addr / size4(outer.len)) === Math.floor(outer.addr / size4(outer.len));
}

/** Two aligned prefixes overlap exactly when one contains the other. */
export function overlap4(a: Cidr4, b: Cidr4): boolean {
  return contains4(a, b) || contains4(b, a);
}

export function formatCidr4(c: Cidr4): string {
  return `${formatIpv4(c.addr)}/${c.len}`;
}

export function ipv4At(base: Ipv4, offset: number): Ipv4 {
  const value = base + offset;
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, () => `IPv4 ${base}+${offset} out of range`);
  return value as Ipv4;
}

// ----- IPv6 -----

const hexGroupPattern = /^[0-9a-fA-F]{1,4}$/;

/** Parses the textual forms of RFC 4291 §2.2: full, `::`-compressed, and with a trailing IPv4. */
export function parseIpv6(text: string): Ipv6 | undefined {
  if (text.length === 0 || text.length > addressTextLengthMax) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const groups: number[] = [];
  const last = halves.length === 2 ? tail : head;
  const first = halves.length === 2 ? head : [];
  const lastGroups = parseGroups(last, true);
  const firstGroups = parseGroups(first, false);
  if (lastGroups === undefined || firstGroups === undefined) return undefined;
  if (halves.length === 2) {
    const missing = 8 - firstGroups.length - lastGroups.length;
    if (missing < 1) return undefined; // `::` stands for at least one group (RFC 4291 §2.2)
    groups.push(...firstGroups, ...new Array<number>(missing).fill(0), ...lastGroups);
  } else {
    if (lastGroups.length !== 8) return undefined;
    groups.push(...lastGroups);
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value as Ipv6;
}

/** Hex groups; the last one of the address may be a dotted IPv4 (two groups). */
function parseGroups(parts: readonly string[], mayEndWithIpv4: boolean): number[] | undefined {
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (mayEndWithIpv4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      if (!hexGroupPattern.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest (first) run of 2+ zero groups as `::`. */
export function formatIpv6(addr: Ipv6 | bigint): string {
  assert(addr >= 0n && addr <= ipv6Max, () => `not an IPv6 value: ${addr}`);
  // One BigInt-to-hex conversion, then plain string work: BigInt shifts per group are slow.
  const hex32 = addr.toString(16).padStart(32, '0');
  for (let i = 0; i < 8; i++) groupScratch[i] = parseInt(hex32.slice(4 * i, 4 * i + 4), 16);
  return formatGroups6(groupScratch);
}

/** The groups being formatted (formatting runs to completion synchronously). */
const groupScratch = new Uint16Array(8);

/** formatIpv6's text of eight 16-bit groups. */
function formatGroups6(groups: Uint16Array): string {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(groups[6]! * 0x10000 + groups[7]!)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}

const two32 = 2 ** 32;

/**
 * Texts of `base + offset` for offsets below 2^53 (pool offsets, pool.ts pool6OffsetMax) without
 * BigInt arithmetic per address: the base's groups are split once, the offset is added to its low
 * 64 bits as two 32-bit halves. A carry into the high 64 bits (a pool straddling a /64 boundary
 * near its end) takes formatIpv6. Every task view of a dual-stack task formats one (issue 4).
 */
export class Ipv6Texts {
  private readonly high: Uint16Array;
  private readonly lowHigh32: number;
  private readonly lowLow32: number;

  constructor(private readonly base: Ipv6) {
    const hex32 = base.toString(16).padStart(32, '0');
    this.high = new Uint16Array(4);
    for (let i = 0; i < 4; i++) this.high[i] = parseInt(hex32.slice(4 * i, 4 * i + 4), 16);
    this.lowHigh32 = parseInt(hex32.slice(16, 24), 16);
    this.lowLow32 = parseInt(hex32.slice(24, 32), 16);
  }

  at(offset: number): string {
    assert(Number.isSafeInteger(offset) && offset >= 0, () => `IPv6 offset ${offset} is not a safe non-negative integer`);
    const sumLow = this.lowLow32 + (offset % two32);
    const carry = sumLow >= two32 ? 1 : 0;
    const high32 = this.lowHigh32 + Math.floor(offset / two32) + carry;
    if (high32 >= two32) return formatIpv6(ipv6At(this.base, BigInt(offset)));
    const low32 = sumLow - carry * two32;
    const g = groupScratch;
    g.set(this.high);
    g[4] = Math.floor(high32 / 0x10000);
    g[5] = high32 % 0x10000;
    g[6] = Math.floor(low32 / 0x10000);
    g[7] = low32 % 0x10000;
    return formatGroups6(g);
  }
}

export function size6(len: number): bigint {
  assert(Number.isInteger(len) && len >= 0 && len <= 128, () => `IPv6 prefix length ${len} outside 0..128`);
  return 1n << BigInt(128 - len);
}

export function hostBits6(c: Cidr6): bigint {
  return c.addr & (size6(c.len) - 1n);
}

export function contains6(outer: Cidr6, inner: Cidr6): boolean {
  if (inner.len < outer.len) return false;
  const shift = BigInt(128 - outer.len);
  return inner.addr >> shift === outer.addr >> shift;
}

export function overlap6(a: Cidr6, b: Cidr6): boolean {
  return contains6(a, b) || contains6(b, a);
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIpv6(c.addr)}/${c.len}`;
}

export function ipv6At(base: Ipv6, offset: bigint): Ipv6 {
  const value = base + offset;
  assert(value >= 0n && value <= ipv6Max, () => `IPv6 ${base}+${offset} out of range`);
  return value as Ipv6;
}

// ----- CIDR text -----

const lengthPattern = /^(0|[1-9][0-9]{0,2})$/;

function splitCidr(text: string, maxLen: number): Parsed<{ addr: string; len: number }> {
  if (text.length > addressTextLengthMax) return { ok: false, message: 'is too long' };
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, message: `must be in CIDR form address/length, got "${text}"` };
  const lenText = text.slice(slash + 1);
  const len = Number(lenText);
  if (!lengthPattern.test(lenText) || len > maxLen) {
    return { ok: false, message: `prefix length "${lenText}" must be an integer 0..${maxLen}` };
  }
  return { ok: true, value: { addr: text.slice(0, slash), len } };
}

/** `a.b.c.d/len` with no host bits set. */
export function parseCidr4(text: string): Parsed<Cidr4> {
  const split = splitCidr(text, 32);
  if (!split.ok) return split;
  const addr = parseIpv4(split.value.addr);
  if (addr === undefined) return { ok: false, message: `"${split.value.addr}" is not an IPv4 address` };
  const cidr = { addr, len: split.value.len };
  if (hostBits4(cidr) !== 0) {
    const net = (addr - hostBits4(cidr)) as Ipv4;
    return { ok: false, message: `has host bits set: did you mean ${formatCidr4({ addr: net, len: cidr.len })}?` };
  }
  return { ok: true, value: cidr };
}

/** `x:y::z/len` with no host bits set. */
export function parseCidr6(text: string): Parsed<Cidr6> {
  const split = splitCidr(text, 128);
  if (!split.ok) return split;
  const addr = parseIpv6(split.value.addr);
  if (addr === undefined) return { ok: false, message: `"${split.value.addr}" is not an IPv6 address` };
  const cidr = { addr, len: split.value.len };
  if (hostBits6(cidr) !== 0n) {
    const net = (addr - hostBits6(cidr)) as Ipv6;
    return { ok: false, message: `has host bits set: did you mean ${formatCidr6({ addr: net, len: cidr.len })}?` };
  }
  return { ok: true, value: cidr };
}
