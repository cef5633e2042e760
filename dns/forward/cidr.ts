// allowRecursion: who may use us as a resolver. A small CIDR matcher for IPv4 and IPv6 (an
// IPv4-mapped IPv6 client, "::ffff:127.0.0.1" from a dual-stack socket, matches IPv4 ranges).
import { DnsError } from '../errors.js';
import { limits } from '../limits.js';
import { parseIpv4, parseIpv6 } from '../wire/ip.js';

interface Range {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export const defaultAllowRecursion: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** Parses "a.b.c.d/n" or "x::y/n" (a bare address means a single host); throws DnsError. */
export function parseCidr(text: string): Range {
  const [addr, len, extra] = text.split('/');
  const bytes = addr === undefined ? undefined : (parseIpv4(addr) ?? parseIpv6(addr));
  const max = bytes?.length === 4 ? 32 : 128;
  const prefix = len === undefined ? max : Number(len);
  if (bytes === undefined || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw new DnsError('bad-config', `allowRecursion entry ${JSON.stringify(text)} is not a CIDR like "10.0.0.0/8" or "fd00::/8"`);
  }
  return { bytes, prefix };
}

function within(addr: Uint8Array, range: Range): boolean {
  if (addr.length !== range.bytes.length) return false;
  const full = range.prefix >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== range.bytes[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[full]! & mask) === (range.bytes[full]! & mask);
}

function addressBytes(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/** A predicate over client address texts, with verdicts cached (bounded) per address. */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const ranges = cidrs.map(parseCidr);
  const verdicts = new Map<string, boolean>();
  return (address: string): boolean => {
    const cached = verdicts.get(address);
    if (cached !== undefined) return cached;
    const bytes = addressBytes(address);
    const verdict = bytes !== undefined && ranges.some((r) => within(bytes, r));
    if (verdicts.size >= limits.recursionVerdictsMax) verdicts.clear();
    verdicts.set(address, verdict);
    return verdict;
  };
}
