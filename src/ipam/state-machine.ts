// The IPAM state machine (skeleton: the public surface; implementation follows).
import type { StateMachine } from '../../raft/node/api.js';
import type { LogIndex } from '../../raft/core/types.js';
import type {
  ApplyResult, ClusterConfigView, DcosAgent, DcosMasterState, IpamListener, IpamQueries, NetworkUsage,
  NetworkView, AgentView, TaskFilter, TaskView,
} from './types.js';

export class IpamStateMachine implements StateMachine<ApplyResult>, IpamQueries {
  appliedIndex = 0;
  addListener(listener: IpamListener): void { void listener; throw new Error('not implemented'); }
  removeListener(listener: IpamListener): void { void listener; throw new Error('not implemented'); }
  apply(command: Uint8Array, index: LogIndex): ApplyResult { void command; void index; throw new Error('not implemented'); }
  snapshot(): Uint8Array { throw new Error('not implemented'); }
  restore(data: Uint8Array, index: LogIndex): void { void data; void index; throw new Error('not implemented'); }
  config(): ClusterConfigView { throw new Error('not implemented'); }
  getNetwork(name: string): NetworkView | undefined { void name; throw new Error('not implemented'); }
  listNetworks(): NetworkView[] { throw new Error('not implemented'); }
  networkUsage(name: string): NetworkUsage | undefined { void name; throw new Error('not implemented'); }
  getAgent(id: string): AgentView | undefined { void id; throw new Error('not implemented'); }
  listAgents(): AgentView[] { throw new Error('not implemented'); }
  agentOverlay(id: string): DcosAgent | undefined { void id; throw new Error('not implemented'); }
  overlayMasterState(): DcosMasterState { throw new Error('not implemented'); }
  getTask(id: string): TaskView | undefined { void id; throw new Error('not implemented'); }
  listTasks(filter?: TaskFilter): TaskView[] { void filter; throw new Error('not implemented'); }
  taskCount(): number { throw new Error('not implemented'); }
}
