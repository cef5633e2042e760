// Scripted scenarios (STYLE rule 9, after etcd's interaction tests): each file in
// test/raft/core/scenarios/ is a script of commands ("> command") each followed by its expected
// transcript — the notable events the cores logged (role changes, campaigns, votes, step-downs,
// transfers, snapshots, membership changes) and what the command printed. A change in behaviour
// shows up as a reviewable diff. Regenerate after an intended change with
//   UPDATE_SCENARIOS=1 npx tap dist/test/raft/core/scripted.test.js
// and review `git diff test/raft/core/scenarios`.
import t from 'tap';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { ConfChange } from '../../../raft/core/types.js';
import { nodeId } from '../../../raft/core/types.js';
import type { NetOptions } from './network.js';
import { Network, bytes } from './network.js';

const dir = new URL('../../../../test/raft/core/scenarios/', import.meta.url);
const shownEvents = new Set(['role', 'campaign', 'vote', 'stepDown', 'transferStart', 'transferAborted', 'timeoutNow', 'confChange', 'snapshotSend', 'snapshotDone', 'snapshotRestored', 'snapshotRejected', 'readDropped', 'voteRejectedInLease', 'appendIgnored']);

interface Step {
  /** Comment lines ("# ...") just before the command: they explain it and survive a rewrite. */
  readonly comments: string[];
  readonly command: string;
  readonly expected: string[];
}

function parse(text: string): Step[] {
  const steps: Step[] = [];
  let comments: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) comments.push(line);
    else if (line.startsWith('> ')) {
      steps.push({ comments, command: line.slice(2).trim(), expected: [] });
      comments = [];
    } else if (steps.length > 0 && line !== '') steps.at(-1)?.expected.push(line);
  }
  return steps;
}

function netOptions(args: string[]): NetOptions {
  const o: Record<string, unknown> = { voters: [] as string[] };
  const limits: Record<string, number> = {};
  for (const a of args) {
    const [k = '', v] = a.split('=');
    if (k === 'voters' || k === 'learners' || k === 'joiners') o[k] = (v ?? '').split(',');
    else if (k.startsWith('limits.')) limits[k.slice('limits.'.length)] = Number(v);
    else if (v === undefined) o[k] = true;
    else o[k] = Number(v);
  }
  return { ...(o as unknown as NetOptions), limits };
}

function formatEvent(line: string): string {
  const space = line.indexOf(' ');
  const name = line.slice(0, space);
  const fields = JSON.parse(line.slice(space + 1)) as Record<string, unknown>;
  const { id, ...rest } = fields;
  const parts = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${String(id)}: ${name} ${parts.join(' ')}`.trimEnd();
}

function conf(kind: string, id: string): ConfChange {
  const target = nodeId(id);
  if (kind === 'addLearner') return { type: 'addLearner', id: target, context: '' };
  if (kind === 'promote') return { type: 'promote', id: target };
  if (kind === 'remove') return { type: 'remove', id: target };
  throw new Error(`unknown conf change ${kind}`);
}

/** Runs one command; returns what it printed (events are collected by the caller). */
function run(net: Network, cmd: string, args: string[]): string[] {
  const [a = '', b = '', c = ''] = args;
  switch (cmd) {
    case 'elect': net.elect(a); return [];
    case 'tick': net.tick(a, Number(b)); net.stabilize(); return [];
    case 'tick-all': net.tickAll(Number(a)); return [];
    case 'stabilize': net.stabilize(); return [];
    case 'isolate': net.isolate(...args); return [];
    case 'heal': net.heal(); return [];
    case 'compact': net.compact(a); return [`${a}: first index ${net.core(a).status().firstIndex}`];
    case 'propose': return [result(net.core(a).propose(bytes(b)))];
    case 'conf': return [result(net.core(a).proposeConfChange(conf(b, c)))];
    case 'transfer': return [result(net.core(a).transferLeadership(nodeId(b)))];
    case 'read': net.core(a).readIndex(b); return [];
    case 'reads': return args.map((id) => `${id}: reads ${JSON.stringify(net.readStates.get(nodeId(id)) ?? [])}`);
    case 'applied': return args.map((id) => `${id}: applied [${net.appliedOf(id).join(' ')}]`);
    case 'status': return args.map((id) => status(net, id));
    default: throw new Error(`unknown command ${cmd}`);
  }
}

function result(r: { ok: boolean } & Record<string, unknown>): string {
  return r.ok ? `ok${'index' in r ? ` index=${String(r['index'])} term=${String(r['term'])}` : ''}` : `refused ${String(r['code'])}: ${String(r['message'])}`;
}

function status(net: Network, id: string): string {
  const s = net.core(id).status();
  const members = s.membership.members.map((m) => `${m.id}${m.role === 'learner' ? '(learner)' : ''}`).join(',');
  return `${id}: ${s.role} term=${s.term} leader=${s.leader ?? '-'} commit=${s.commit} applied=${s.applied} log=[${s.firstIndex},${s.lastIndex}] members=${members}`;
}

function runScript(steps: Step[]): string[][] {
  let net: Network | null = null;
  return steps.map((step) => {
    const [cmd = '', ...args] = step.command.split(/\s+/);
    if (cmd === 'net') {
      net = new Network(netOptions(args));
      return [];
    }
    if (net === null) throw new Error('the first command must be "net"');
    const n: Network = net;
    const from = n.events.length;
    const printed = run(n, cmd, args);
    const events = n.events.slice(from).filter((e) => shownEvents.has(e.slice(0, e.indexOf(' ')))).map(formatEvent);
    return [...events, ...printed];
  });
}

const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
t.ok(files.length >= 4, `scenario files found: ${files.join(', ')}`);
for (const file of files) {
  t.test(`scenario ${file}`, async (t) => {
    const url = new URL(file, dir);
    const steps = parse(readFileSync(url, 'utf8'));
    const actual = runScript(steps);
    if (process.env['UPDATE_SCENARIOS'] === '1') {
      const body = steps.map((s, k) => [...s.comments, `> ${s.command}`, ...(actual[k] ?? [])].join('\n')).join('\n\n');
      writeFileSync(url, `${body}\n`);
      t.pass('transcript rewritten');
      return;
    }
    steps.forEach((s, k) => t.same(actual[k], s.expected, `> ${s.command}`));
  });
}
