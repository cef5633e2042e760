// A small driver for IPAM tests: applies commands through the real encode → apply path with
// increasing log indexes, and unwraps results.
import { IpamStateMachine, encodeCommand } from '../../src/ipam/index.js';
import type { AllocateTaskCommand, RegisterAgentCommand, ApplyResult, IpamCommand, IpamError, IpamCommandType, ResultValues } from '../../src/ipam/index.js';
import { logIndex } from '../../raft/core/types.js';

export class Harness {
  readonly sm = new IpamStateMachine();
  index = 0;

  apply(cmd: IpamCommand | Record<string, unknown>): ApplyResult {
    return this.sm.apply(encodeCommand(cmd as IpamCommand), logIndex(++this.index));
  }

  /** Applies and expects success; throws with the error otherwise. */
  ok<C extends IpamCommandType>(cmd: IpamCommand & { type: C }): ResultValues[C] {
    const r = this.apply(cmd);
    if (!r.ok) throw new Error(`${cmd.type} failed: ${JSON.stringify(r.error)}`);
    return r.value as ResultValues[C];
  }

  /** Applies and expects an error; throws if it succeeded. */
  err(cmd: IpamCommand | Record<string, unknown>): IpamError {
    const r = this.apply(cmd);
    if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
    return r.error;
  }
}

export const dcos = { type: 'createNetwork', name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 } as const;
export const dcos6 = { type: 'createNetwork', name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80 } as const;

export function agent(id: string, ip: string): RegisterAgentCommand {
  return { type: 'registerAgent', id, ip };
}

export function task(id: string, agentId: string, network?: string, containerizer?: 'mesos' | 'docker'): AllocateTaskCommand {
  return {
    type: 'allocateTask',
    id,
    name: `app-${id}`,
    framework: 'marathon',
    agent: agentId,
    ...(network !== undefined && { network }),
    ...(containerizer !== undefined && { containerizer }),
  };
}
