// The Docker remote IPAM driver's logic over vnetd's HTTP API (REFERENCE.md §3). A pool is this
// agent's Docker half (or shared block) of a vnetd network, for one address family; its PoolID is
// derived from the network and family, so identical RequestPool calls, and calls after a restart
// of the driver, get the same PoolID and the driver keeps no state of its own.
//
// Docker sends no container id to an IPAM driver, so each address Docker asks for is recorded in
// vnetd as a task with containerizer "docker" and a synthetic id `docker:<agent>:<network>:<n>`,
// n counting up per agent and network; ReleaseAddress finds the task by its address.

import { assert, assertNever } from '../../raft/core/assert.js';
import type { VnetdAnswer, VnetdClient, VnetdErrorBody } from '../cni/vnetd-client.js';
import { isErrorBody } from '../cni/vnetd-client.js';
import { isVnetdCode } from '../cni/errors.js';
import { dockerLimits } from './limits.js';
import type { AddressRequest, Endpoint, PoolRequest, ReleaseAddressRequest } from './protocol.js';
import {
  DockerIpamError, asBody, gatewayDataKey, gatewayRequest, parseAddressRequest, parsePoolId, parsePoolRequest, parseReleaseAddress, requestAddressType,
} from './protocol.js';

export const addressSpaces = { local: 'vnetd-local', global: 'vnetd-global' } as const;
/** The pool option naming the vnetd network (`docker network create --ipam-opt network=dcos`). */
export const networkOption = 'network';
/** Label on the tasks this driver makes, valued with the PoolID. */
export const poolLabel = 'vnetd-docker.pool';
export const dockerFramework = 'docker';

const networkNamePattern = /^[a-z0-9]([a-z0-9-]{0,11}[a-z0-9])?$/;

type Family = 4 | 6;
interface PoolKey {
  readonly network: string;
  readonly family: Family;
}

export const poolIdOf = (k: PoolKey): string => `vnetd:${k.network}:${k.family}`;

export function parsePoolKey(poolId: string): PoolKey {
  const m = /^vnetd:([a-z0-9-]{1,13}):([46])$/.exec(poolId);
  if (m === null) throw new DockerIpamError('not_found', `unknown PoolID ${JSON.stringify(poolId)}: this driver's pools look like vnetd:<network>:4`);
  return { network: m[1]!, family: m[2] === '6' ? 6 : 4 };
}

/** The agent's pool in a network, as GET /v1/agents/{id} lists it (src/ipam/types.ts PoolView). */
interface Half {
  readonly cidr: string;
  readonly gateway: string;
}

export interface DriverOptions {
  readonly client: VnetdClient;
  /** The vnetd agent id of the host dockerd runs on. */
  readonly agent: string;
  /** The network used when RequestPool names none (no `network` pool option). */
  readonly defaultNetwork?: string;
}

export class DockerIpamDriver {
  private readonly client: VnetdClient;
  private readonly agent: string;
  private readonly defaultNetwork: string | undefined;
  /** Allocations and releases run one at a time: the next sequence number depends on the last. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(o: DriverOptions) {
    this.client = o.client;
    this.agent = o.agent;
    this.defaultNetwork = o.defaultNetwork;
  }

  /** Answers one plugin call; throws DockerIpamError for an answer `{"Err": ...}`. */
  async handle(endpoint: Endpoint, body: unknown): Promise<Record<string, unknown>> {
    switch (endpoint) {
      case '/Plugin.Activate':
        return { Implements: ['IpamDriver'] };
      case '/IpamDriver.GetCapabilities':
        return { RequiresMACAddress: false, RequiresRequestReplay: false };
      case '/IpamDriver.GetDefaultAddressSpaces':
        return { LocalDefaultAddressSpace: addressSpaces.local, GlobalDefaultAddressSpace: addressSpaces.global };
      case '/IpamDriver.RequestPool':
        return this.requestPool(parsePoolRequest(asBody(body)));
      case '/IpamDriver.ReleasePool':
        parsePoolKey(parsePoolId(asBody(body)));
        return {};
      case '/IpamDriver.RequestAddress':
        return this.serially(() => this.requestAddress(parseAddressRequest(asBody(body))));
      case '/IpamDriver.ReleaseAddress':
        return this.serially(() => this.releaseAddress(parseReleaseAddress(asBody(body))));
      default:
        return assertNever(endpoint);
    }
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    if (this.queued >= dockerLimits.queuedRequestsMax) throw new DockerIpamError('unavailable', `more than ${dockerLimits.queuedRequestsMax} address requests are waiting; try again`);
    this.queued++;
    const run = this.queue.then(fn, fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.queued--;
    });
  }

  private async call(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<VnetdAnswer> {
    try {
      return await this.client.request(method, path, body);
    } catch (err) {
      throw new DockerIpamError('unavailable', err instanceof Error ? err.message : String(err));
    }
  }

  private async half(key: PoolKey): Promise<Half> {
    const answer = await this.call('GET', `/v1/agents/${encodeURIComponent(this.agent)}`);
    if (answer.status !== 200) throw vnetdFailure(answer, `read agent ${this.agent}`);
    const blocks = (answer.body as { blocks?: unknown }).blocks;
    const block = Array.isArray(blocks) ? (blocks as { network?: unknown; pools?: unknown }[]).find((b) => b.network === key.network) : undefined;
    if (block === undefined) throw new DockerIpamError('not_found', `agent ${this.agent} has no block in network ${key.network} (does the network exist, and did it have a free block?)`);
    const pools = Array.isArray(block.pools) ? (block.pools as Record<string, unknown>[]) : [];
    const pool = pools.find((p) => p['kind'] === 'docker') ?? pools.find((p) => p['kind'] === 'shared');
    const cidr = pool?.[key.family === 4 ? 'cidr' : 'cidr6'];
    const gateway = pool?.[key.family === 4 ? 'gateway' : 'gateway6'];
    if (typeof cidr !== 'string' || typeof gateway !== 'string') {
      throw new DockerIpamError('not_found', `network ${key.network} has no IPv${key.family} Docker pool on agent ${this.agent}`);
    }
    return { cidr, gateway };
  }

  private async requestPool(r: PoolRequest): Promise<Record<string, unknown>> {
    const network = r.options[networkOption] ?? this.defaultNetwork;
    if (network === undefined) throw new DockerIpamError('invalid', `name the vnetd network with the pool option "${networkOption}" (docker network create --ipam-opt ${networkOption}=dcos)`);
    if (!networkNamePattern.test(network)) throw new DockerIpamError('invalid', `pool option ${networkOption} ${JSON.stringify(network)} is not a vnetd network name`);
    const key: PoolKey = { network, family: r.v6 ? 6 : 4 };
    const half = await this.half(key);
    if (r.pool !== '' && r.pool !== half.cidr) {
      throw new DockerIpamError('conflict', `network ${network} gives agent ${this.agent} the Docker pool ${half.cidr}; the requested subnet ${r.pool} cannot be served (omit --subnet)`);
    }
    if (r.subPool !== '' && r.subPool !== half.cidr) {
      throw new DockerIpamError('unsupported', `sub-pools (--ip-range ${r.subPool}) are not supported: addresses come from the whole pool ${half.cidr}`);
    }
    const prefix = half.cidr.split('/')[1]!;
    return { PoolID: poolIdOf(key), Pool: half.cidr, Data: { [gatewayDataKey]: `${half.gateway}/${prefix}` } };
  }

  private async requestAddress(r: AddressRequest): Promise<Record<string, unknown>> {
    const key = parsePoolKey(r.poolId);
    const wanted = r.address.split('/')[0]!;
    if (r.options[requestAddressType] === gatewayRequest) {
      const half = await this.half(key);
      if (wanted !== '' && wanted !== half.gateway) {
        throw new DockerIpamError('conflict', `the gateway of pool ${half.cidr} is ${half.gateway}; ${wanted} cannot be the gateway (omit --gateway)`);
      }
      return { Address: `${half.gateway}/${half.cidr.split('/')[1]!}`, Data: {} };
    }
    if (wanted !== '') {
      // The vnetd API allocates the next free address itself and has no way to ask for one.
      throw new DockerIpamError('unsupported', `vnetd picks container addresses itself; the specific address ${wanted} cannot be requested (omit --ip)`);
    }
    return this.allocate(key, r.poolId);
  }

  private taskPrefix(key: PoolKey): string {
    return `docker:${this.agent}:${key.network}:`;
  }

  private async listOurs(key: PoolKey): Promise<Record<string, unknown>[]> {
    const query = `?agent=${encodeURIComponent(this.agent)}&network=${encodeURIComponent(key.network)}&limit=${dockerLimits.tasksPerListMax}`;
    const answer = await this.call('GET', `/v1/tasks${query}`);
    const tasks = (answer.body as { tasks?: unknown } | undefined)?.tasks;
    if (answer.status !== 200 || !Array.isArray(tasks)) throw vnetdFailure(answer, `list tasks of agent ${this.agent} in ${key.network}`);
    const prefix = this.taskPrefix(key);
    return (tasks as Record<string, unknown>[]).filter((t) => typeof t['id'] === 'string' && t['id'].startsWith(prefix));
  }

  private async nextSequence(key: PoolKey): Promise<number> {
    const prefix = this.taskPrefix(key);
    let max = 0;
    for (const t of await this.listOurs(key)) {
      const n = Number((t['id'] as string).slice(prefix.length));
      if (Number.isSafeInteger(n) && n > max) max = n;
    }
    return max + 1;
  }

  private async allocate(key: PoolKey, poolId: string): Promise<Record<string, unknown>> {
    let n = await this.nextSequence(key);
    assert(Number.isSafeInteger(n) && n >= 1, `next sequence ${n} is not a positive integer`);
    for (let attempt = 0; attempt < dockerLimits.allocateAttemptsMax; attempt++, n++) {
      const id = `${this.taskPrefix(key)}${n}`;
      const body = { name: `docker-${n}`, framework: dockerFramework, agent: this.agent, network: key.network, containerizer: 'docker', labels: { [poolLabel]: poolId } };
      const answer = await this.call('PUT', `/v1/tasks/${encodeURIComponent(id)}`, body);
      // 200 means the id already existed (another writer got there first): its address is not
      // ours to hand out, so move on to the next id. 409 conflict means the same.
      if (answer.status === 200 || (answer.status === 409 && isErrorBody(answer.body) && answer.body.error === 'conflict')) continue;
      if (answer.status !== 201) throw vnetdFailure(answer, `allocate ${id}`);
      const task = answer.body as Record<string, unknown>;
      const ip = task[key.family === 4 ? 'ip' : 'ip6'];
      const len = task[key.family === 4 ? 'prefixLength' : 'prefixLength6'];
      if (typeof ip !== 'string' || typeof len !== 'number') throw new DockerIpamError('internal', `vnetd gave ${id} no IPv${key.family} address: ${JSON.stringify(task).slice(0, 200)}`);
      return { Address: `${ip}/${len}`, Data: {} };
    }
    throw new DockerIpamError('conflict', `no unused task id for pool ${poolId} after ${dockerLimits.allocateAttemptsMax} attempts (is a second driver running for agent ${this.agent}?)`);
  }

  private async releaseAddress(r: ReleaseAddressRequest): Promise<Record<string, unknown>> {
    const key = parsePoolKey(r.poolId);
    const address = r.address.split('/')[0]!;
    const field = key.family === 4 ? 'ip' : 'ip6';
    const held = (await this.listOurs(key)).filter((t) => t[field] === address);
    for (const t of held) {
      const answer = await this.call('DELETE', `/v1/tasks/${encodeURIComponent(t['id'] as string)}`);
      if (answer.status !== 204 && answer.status !== 404) throw vnetdFailure(answer, `release ${String(t['id'])}`);
    }
    // Nothing held it (the gateway, or a release repeated): releasing is idempotent.
    return {};
  }
}

function vnetdFailure(answer: VnetdAnswer, doing: string): DockerIpamError {
  if (!isErrorBody(answer.body)) return new DockerIpamError('internal', `vnetd answered HTTP ${answer.status} to ${doing} without an error body`);
  return fromVnetd(answer.body, doing);
}

function fromVnetd(body: VnetdErrorBody, doing: string): DockerIpamError {
  const code = body.error;
  if (!isVnetdCode(code)) return new DockerIpamError('internal', `${doing}: vnetd answered ${code}: ${body.message}`);
  switch (code) {
    case 'exhausted':
      return new DockerIpamError('exhausted', `no free address: network ${String(body['network'])} on agent ${String(body['agent'])} (${String(body['containerizer'])} pool) has capacity ${String(body['capacity'])} and ${String(body['used'])} used`);
    case 'not_found':
      return new DockerIpamError('not_found', `${doing}: ${body.message}`);
    case 'conflict':
    case 'disabled':
    case 'no_block':
      return new DockerIpamError('conflict', `${doing}: ${body.message}`);
    case 'invalid':
    case 'unauthorized':
      return new DockerIpamError('invalid', `${doing}: ${body.message}`);
    case 'unavailable':
    case 'timeout':
    case 'overloaded':
    case 'not_ready':
    case 'change_pending':
      return new DockerIpamError('unavailable', `${doing}: ${body.message}`);
    case 'in_use':
    case 'vtep_exhausted':
    case 'route_not_found':
    case 'method_not_allowed':
    case 'too_large':
    case 'internal':
      return new DockerIpamError('internal', `${doing}: vnetd answered ${code}: ${body.message}`);
    default:
      return assertNever(code);
  }
}
