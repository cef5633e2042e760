// CNI spec versions this plugin speaks and the shape of an IPAM result in each (REFERENCE.md §2).
// 0.1.0/0.2.0 results have `ip4`/`ip6` objects; 0.3.x and 0.4.0 have `ips` whose entries carry
// `version`; 1.x drops `version`. IPAM results never carry `interfaces` (the main plugin adds them).

import { assert, assertNever } from '../../raft/core/assert.js';

export const supportedVersions = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof supportedVersions)[number];
/** What VERSION reports as ours when the caller did not say which version it speaks. */
export const newestVersion: CniVersion = '1.1.0';

export function isSupportedVersion(v: string): v is CniVersion {
  return (supportedVersions as readonly string[]).includes(v);
}

type ResultShape = 'legacy' | 'versioned' | 'current';

function shapeOf(v: CniVersion): ResultShape {
  switch (v) {
    case '0.1.0':
    case '0.2.0':
      return 'legacy';
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return 'versioned';
    case '1.0.0':
    case '1.1.0':
      return 'current';
    default:
      return assertNever(v);
  }
}

/** CHECK arrived in spec 0.4.0; GC and STATUS in 1.1.0. */
export function supportsCheck(v: CniVersion): boolean {
  return v !== '0.1.0' && v !== '0.2.0' && v !== '0.3.0' && v !== '0.3.1';
}
export function supportsGcAndStatus(v: CniVersion): boolean {
  return v === '1.1.0';
}

/** One family's address as vnetd allocated it. */
export interface FamilyAddress {
  /** Without a prefix length, e.g. `10.99.0.2`. */
  readonly ip: string;
  /** The half's (pool's) prefix length. */
  readonly prefixLength: number;
  readonly gateway: string;
}

export interface Allocation {
  readonly ip4?: FamilyAddress;
  readonly ip6?: FamilyAddress;
}

const defaultRoute = { 4: '0.0.0.0/0', 6: '::/0' } as const;

/** The ADD result for `version`: addresses with the half's prefix length, a default route per family. */
export function formatResult(version: CniVersion, a: Allocation): Record<string, unknown> {
  const families = [
    ...(a.ip4 === undefined ? [] : [{ v: 4 as const, x: a.ip4 }]),
    ...(a.ip6 === undefined ? [] : [{ v: 6 as const, x: a.ip6 }]),
  ];
  // An empty `ips` makes the bridge plugin fail with "IPAM plugin returned missing IP config".
  assert(families.length > 0, 'formatResult needs at least one address');
  const shape = shapeOf(version);
  switch (shape) {
    case 'legacy': {
      const out: Record<string, unknown> = { cniVersion: version };
      for (const { v, x } of families) out[`ip${v}`] = { ip: `${x.ip}/${x.prefixLength}`, gateway: x.gateway, routes: [{ dst: defaultRoute[v] }] };
      return { ...out, dns: {} };
    }
    case 'versioned':
    case 'current': {
      const ips = families.map(({ v, x }) => ({
        ...(shape === 'versioned' ? { version: String(v) } : {}),
        address: `${x.ip}/${x.prefixLength}`,
        gateway: x.gateway,
      }));
      return { cniVersion: version, ips, routes: families.map(({ v }) => ({ dst: defaultRoute[v] })), dns: {} };
    }
    default:
      return assertNever(shape);
  }
}

/** The addresses (without prefix length) a prevResult of any version lists; undefined if it has no readable shape. */
export function addressesOf(prevResult: unknown): string[] | undefined {
  if (typeof prevResult !== 'object' || prevResult === null) return undefined;
  const r = prevResult as { ips?: unknown; ip4?: { ip?: unknown }; ip6?: { ip?: unknown } };
  const out: string[] = [];
  if (Array.isArray(r.ips)) {
    for (const entry of r.ips as unknown[]) {
      const address = (entry as { address?: unknown } | null)?.address;
      if (typeof address !== 'string') return undefined;
      out.push(address.split('/')[0]!);
    }
    return out;
  }
  for (const fam of [r.ip4, r.ip6]) if (typeof fam?.ip === 'string') out.push(fam.ip.split('/')[0]!);
  return out.length === 0 ? undefined : out;
}
