// String formats shared by the HTTP schemas and the configuration schema. Addresses are checked
// by the IPAM layer's own parsers, so "valid at the edge" and "valid in apply" never disagree.
// (ajv-formats is not a dependency; these are the only formats vnetd needs.)

import AjvModule from 'ajv';
import type { Options } from 'ajv';
import { parseCidr4, parseCidr6, parseIpv4, parseIpv6 } from '../ipam/index.js';

// ajv is CommonJS: under NodeNext its default export arrives as the module object.
type AjvClass = typeof AjvModule.default;
export const Ajv: AjvClass = ((AjvModule as unknown as { default?: AjvClass }).default ?? AjvModule) as AjvClass;
export type AjvInstance = InstanceType<AjvClass>;

const hostPortPattern = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `host:port` or `[v6]:port`, port 0..65535 (0 = any free port, for listeners only). */
export function isHostPort(s: string): boolean {
  const m = hostPortPattern.exec(s);
  return m !== null && Number(m[2]) <= 65535;
}

/** Splits a validated `host:port` into host (brackets removed) and port. */
export function splitHostPort(s: string): { host: string; port: number } {
  const colon = s.lastIndexOf(':');
  return { host: s.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(colon + 1)) };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/** A DNS zone apex like `dcos.` or `dcos.thisdcos.directory` (labels 1..63, LDH). */
function isZoneName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

export const formats = {
  hostport: isHostPort,
  ipv4: (s: string) => parseIpv4(s) !== undefined,
  ipv6: (s: string) => parseIpv6(s) !== undefined,
  cidr4: (s: string) => parseCidr4(s).ok,
  cidr6: (s: string) => parseCidr6(s).ok,
  cidr: (s: string) => parseCidr4(s).ok || parseCidr6(s).ok || parseIpv4(s) !== undefined || parseIpv6(s) !== undefined,
  url: isHttpUrl,
  zone: isZoneName,
} as const;

export function newAjv(extra: Options = {}): AjvInstance {
  const ajv = new Ajv({ allErrors: false, strict: true, ...extra });
  for (const [name, validate] of Object.entries(formats)) ajv.addFormat(name, { type: 'string', validate });
  return ajv;
}

/** The first ajv error as a JSON pointer to the offending field and a sentence about it. */
export function firstError(
  errors: readonly { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }[] | null | undefined,
): { field: string; problem: string } {
  const e = errors?.[0];
  if (e === undefined) return { field: '', problem: 'is invalid' };
  switch (e.keyword) {
    case 'additionalProperties':
      return { field: `${e.instancePath}/${String(e.params['additionalProperty'])}`, problem: 'is not a known field' };
    case 'required':
      return { field: `${e.instancePath}/${String(e.params['missingProperty'])}`, problem: 'is required' };
    case 'dependencies':
      return { field: `${e.instancePath}/${String(e.params['missingProperty'])}`, problem: `is required with ${String(e.params['property'])}` };
    case 'not':
      return { field: e.instancePath, problem: 'must not be a reserved name (host, bridge, default, none)' };
    case 'pattern': {
      const pattern = String(e.params['pattern']);
      return { field: e.instancePath, problem: `must be ${patternNames[pattern] ?? `text matching ${pattern}`}` };
    }
    case 'format':
      return { field: e.instancePath, problem: `must be ${formatNames[String(e.params['format'])] ?? String(e.params['format'])}` };
    default:
      return { field: e.instancePath, problem: e.message ?? 'is invalid' };
  }
}

/** Readable names of the patterns the schemas use (ajv would print the regular expression). */
const patternNames: Readonly<Record<string, string>> = {
  '^[\\x21-\\x2e\\x30-\\x7e]+$': 'visible ASCII without spaces or "/"',
  '^[^\\x00-\\x1f\\x7f]+$': 'text without control characters',
  '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$': 'lowercase letters, digits and "-", not starting or ending with "-"',
  '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$': 'a node id of letters, digits, ".", "_" or "-" (1..63 chars)',
  '^[0-9]{1,6}$': 'a decimal integer',
};

const formatNames: Readonly<Record<string, string>> = {
  hostport: 'HOST:PORT',
  ipv4: 'an IPv4 address like 10.0.0.1',
  ipv6: 'an IPv6 address like fd00::1',
  cidr4: 'an IPv4 CIDR like 9.0.0.0/8 (no host bits set)',
  cidr6: 'an IPv6 CIDR like fd01:b::/64 (no host bits set)',
  cidr: 'an IPv4 or IPv6 CIDR like 127.0.0.0/8',
  url: 'an http:// or https:// URL',
  zone: 'a DNS zone name like dcos.',
};

/** The value at a JSON pointer (for "got ..." in messages); undefined when absent. */
export function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof cur !== 'object' || cur === null || !Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
