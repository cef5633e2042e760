// IP address text → bytes, for A/AAAA rdata, PTR names and CIDR matching. Strict: what
// `net.isIP` accepts, without zone ids; anything else is undefined (the caller names the problem).
import { isIPv4, isIPv6 } from 'node:net';

export function parseIpv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  const parts = text.split('.');
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

/** Parses an IPv6 text (with "::" and an embedded dotted quad allowed) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    // An embedded dotted quad ("::ffff:1.2.3.4") becomes two hex groups.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + ((v4[0]! << 8) | v4[1]!).toString(16) + ':' + ((v4[2]! << 8) | v4[3]!).toString(16);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((h) => parseInt(h, 16));
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!(g >= 0 && g <= 0xffff)) return undefined;
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

/** Canonical text of an IPv6 address (RFC 5952: lowercase, longest zero run as "::"). */
export function formatIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return hex.slice(0, bestAt).join(':') + '::' + hex.slice(bestAt + bestLen).join(':');
}
