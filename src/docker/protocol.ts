// The libnetwork remote IPAM protocol (REFERENCE.md §3): endpoint names, request shapes and the
// driver's one error type. Requests are parsed here, at the edge, into typed values; a bad
// request becomes a DockerIpamError naming the field, answered as a non-200 `{"Err": "..."}`.

export const endpoints = [
  '/Plugin.Activate',
  '/IpamDriver.GetCapabilities',
  '/IpamDriver.GetDefaultAddressSpaces',
  '/IpamDriver.RequestPool',
  '/IpamDriver.ReleasePool',
  '/IpamDriver.RequestAddress',
  '/IpamDriver.ReleaseAddress',
] as const;
export type Endpoint = (typeof endpoints)[number];

export function isEndpoint(path: string): path is Endpoint {
  return (endpoints as readonly string[]).includes(path);
}

/** libnetwork's option key marking the gateway request (netlabel.RequestAddressType). */
export const requestAddressType = 'RequestAddressType';
export const gatewayRequest = 'com.docker.network.gateway';
/** Pool data key through which libnetwork takes the gateway without asking for it (netlabel.Gateway). */
export const gatewayDataKey = 'com.docker.network.gateway';
/** The content type plugins answer with (docker/pkg/plugins). */
export const pluginContentType = 'application/vnd.docker.plugins.v1+json';

export const errorStatuses = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  exhausted: 409,
  unsupported: 400,
  unavailable: 503,
  internal: 500,
} as const;
export type DockerErrorKind = keyof typeof errorStatuses;

export class DockerIpamError extends Error {
  constructor(
    readonly kind: DockerErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DockerIpamError';
  }

  get status(): number {
    return errorStatuses[this.kind];
  }
}

export interface PoolRequest {
  readonly addressSpace: string;
  readonly pool: string;
  readonly subPool: string;
  readonly options: Readonly<Record<string, string>>;
  readonly v6: boolean;
}

export interface AddressRequest {
  readonly poolId: string;
  readonly address: string;
  readonly options: Readonly<Record<string, string>>;
}

export interface ReleaseAddressRequest {
  readonly poolId: string;
  readonly address: string;
}

type Body = Readonly<Record<string, unknown>>;

export function asBody(x: unknown): Body {
  if (x === undefined || x === null) return {};
  if (typeof x !== 'object' || Array.isArray(x)) throw new DockerIpamError('invalid', 'the request body must be a JSON object');
  return x as Body;
}

function str(b: Body, key: string, required: boolean): string {
  const v = b[key];
  if (v === undefined || v === null) {
    if (required) throw new DockerIpamError('invalid', `${key} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new DockerIpamError('invalid', `${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function options(b: Body, key: string): Record<string, string> {
  const v = b[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new DockerIpamError('invalid', `${key} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') throw new DockerIpamError('invalid', `${key}.${k} must be a string, got ${JSON.stringify(val)}`);
    out[k] = val;
  }
  return out;
}

export function parsePoolRequest(b: Body): PoolRequest {
  const v6 = b['V6'] ?? false;
  if (typeof v6 !== 'boolean') throw new DockerIpamError('invalid', `V6 must be true or false, got ${JSON.stringify(v6)}`);
  return { addressSpace: str(b, 'AddressSpace', false), pool: str(b, 'Pool', false), subPool: str(b, 'SubPool', false), options: options(b, 'Options'), v6 };
}

export function parseAddressRequest(b: Body): AddressRequest {
  return { poolId: str(b, 'PoolID', true), address: str(b, 'Address', false), options: options(b, 'Options') };
}

export function parseReleaseAddress(b: Body): ReleaseAddressRequest {
  return { poolId: str(b, 'PoolID', true), address: str(b, 'Address', true) };
}

export function parsePoolId(b: Body): string {
  return str(b, 'PoolID', true);
}
