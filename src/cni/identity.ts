// Who a container is, for vnetd's task record and its DNS names: the agent it runs on and its task
// name and framework. The runtime tells us through CNI_ARGS or Mesos network_info labels; the
// agent id comes from the ipam config (inline, an environment variable, or a file).

import { readFile } from 'node:fs/promises';
import type { AgentSource, NetConfig, TokenSource } from './config.js';
import { assertNever } from '../../raft/core/assert.js';
import { checkAgentId } from './config.js';
import { CniError } from './errors.js';
import { cniLimits } from './limits.js';

/**
 * Keys naming the task and framework, highest priority first within each source. CNI_ARGS are
 * read before Mesos labels (a runtime that sets both meant the explicit argument), and the
 * Kubernetes pod name and namespace stand in for task and framework when nothing else is given.
 */
export const nameKeys = { task: 'VNETD_TASK_NAME', framework: 'VNETD_FRAMEWORK', pod: 'K8S_POD_NAME', namespace: 'K8S_POD_NAMESPACE' } as const;
/** The framework recorded when the runtime names none (the task is still resolvable by name). */
export const fallbackFramework = 'cni';

export interface TaskIdentity {
  readonly name: string;
  readonly framework: string;
}

function checkName(value: string, where: string, kind: CniErrorKindForName): string {
  if (value.length === 0 || value.length > cniLimits.nameCharsMax || /[\x00-\x1f\x7f]/.test(value)) {
    throw new CniError(kind, `${where} ${JSON.stringify(value.slice(0, 80))} is not a task or framework name`, `expected 1..${cniLimits.nameCharsMax} characters without control characters`);
  }
  return value;
}
type CniErrorKindForName = 'invalidEnvironment' | 'invalidConfig';

function pick(args: ReadonlyMap<string, string>, labels: Readonly<Record<string, string>>, argKey: string, k8sKey: string): { value: string; where: string; kind: CniErrorKindForName } | undefined {
  const fromArgs = args.get(argKey);
  if (fromArgs !== undefined && fromArgs !== '') return { value: fromArgs, where: `CNI_ARGS ${argKey}`, kind: 'invalidEnvironment' };
  const fromLabels = labels[argKey];
  if (fromLabels !== undefined && fromLabels !== '') return { value: fromLabels, where: `Mesos network_info label ${argKey}`, kind: 'invalidConfig' };
  const fromK8s = args.get(k8sKey);
  if (fromK8s !== undefined && fromK8s !== '') return { value: fromK8s, where: `CNI_ARGS ${k8sKey}`, kind: 'invalidEnvironment' };
  return undefined;
}

/** Task name and framework; with nothing given, the container id and `cni`. */
export function taskIdentity(args: ReadonlyMap<string, string>, conf: NetConfig, containerId: string): TaskIdentity {
  const name = pick(args, conf.mesosLabels, nameKeys.task, nameKeys.pod);
  const framework = pick(args, conf.mesosLabels, nameKeys.framework, nameKeys.namespace);
  return {
    name: name === undefined ? containerId : checkName(name.value, name.where, name.kind),
    framework: framework === undefined ? fallbackFramework : checkName(framework.value, framework.where, framework.kind),
  };
}

async function readSmallFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CniError('ioFailure', `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  if (text.length > cniLimits.agentFileBytesMax) throw new CniError('invalidConfig', `${what} ${path} is larger than ${cniLimits.agentFileBytesMax} bytes`);
  return text.trim();
}

/** The agent id from its source; required by ADD, CHECK, GC and STATUS. */
export async function resolveAgent(source: AgentSource | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (source === undefined) throw new CniError('invalidConfig', 'the ipam config names no agent', 'set ipam.agent, ipam.agentEnv (a variable holding the id) or ipam.agentFile (a file holding it)');
  switch (source.kind) {
    case 'literal':
      return source.id;
    case 'env': {
      const id = env[source.variable];
      if (id === undefined || id === '') throw new CniError('invalidEnvironment', `ipam.agentEnv names ${source.variable}, which is not set`);
      return checkAgentId(id.trim(), `the agent id in ${source.variable}`);
    }
    case 'file':
      return checkAgentId(await readSmallFile(source.path, 'ipam.agentFile'), `the agent id in ${source.path}`);
    default:
      return assertNever(source);
  }
}

export async function resolveToken(source: TokenSource | undefined): Promise<string | undefined> {
  if (source === undefined) return undefined;
  return source.kind === 'literal' ? source.token : readSmallFile(source.path, 'ipam.tokenFile');
}
