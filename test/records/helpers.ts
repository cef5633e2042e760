// A state machine wired to DnsRecords and a RecordsZoneIndex, with commands applied as the Raft
// driver would (encoded, consecutive indexes, onApplied after each), and questions answered by
// dns/'s pure responder read back with dns-packet.
import { IpamStateMachine, encodeCommand, type IpamCommand } from '../../src/ipam/index.js';
import type { ApplyResult } from '../../src/ipam/types.js';
import { createRecordsZone, DnsRecords, type RecordsZoneIndex } from '../../src/records/index.js';
import { respond } from '../../dns/respond.js';
import type { ZoneConfig } from '../../dns/zone.js';
import type { LogIndex } from '../../raft/core/types.js';
import { buildQuery, decodeReply, type Reply } from '../dns/helpers.js';
import { keyToName, nameToKey, type NameKey } from '../../dns/wire/name.js';
import type { MemoryZoneIndex } from '../../dns/zone-index.js';

/** The zone's write methods src/records calls: a spy on them sees every name it changes. */
export const zoneWriteMethods = ['setRRset', 'updateRRset', 'deleteRRset', 'deleteName', 'setNameExists', 'addDerivedName', 'removeDerivedName', 'addDerivedKey', 'removeDerivedKey'] as const;

/** The absolute, lowercased name a write method was called for (derived names also come as keys). */
export function writtenName(method: (typeof zoneWriteMethods)[number], nameOrKey: string): string {
  const name = method.endsWith('Key') ? keyToName(nameOrKey as NameKey) : nameOrKey;
  return name.toLowerCase().replace(/\.?$/, '.');
}

/** Whether `name` was made to exist without data (ZoneIndex.setNameExists). */
export function isMarked(zone: MemoryZoneIndex, name: string): boolean {
  return zone.node(nameToKey(name))?.marked === true;
}

export interface Harness {
  readonly sm: IpamStateMachine;
  readonly zone: RecordsZoneIndex;
  readonly records: DnsRecords;
  apply(cmd: IpamCommand): ApplyResult;
  /** Applies without calling onApplied (to test batching and the microtask flush). */
  applyOnly(cmd: IpamCommand): ApplyResult;
  ask(name: string, type: string): Reply;
  /** Answer data of `name`/`type`, sorted; [] for NODATA; undefined for NXDOMAIN. */
  data(name: string, type: string): string[] | undefined;
}

export function harness(config: Partial<ZoneConfig> = {}): Harness {
  const sm = new IpamStateMachine();
  const zone = createRecordsZone({ origin: 'dcos.', ...config });
  zone.setReady(true);
  const records = new DnsRecords(zone, sm);
  sm.addListener(records);
  let index = 0;
  const applyOnly = (cmd: IpamCommand): ApplyResult => sm.apply(encodeCommand(cmd), ++index as LogIndex);
  const h: Harness = {
    sm,
    zone,
    records,
    applyOnly,
    apply(cmd) {
      const r = applyOnly(cmd);
      records.onApplied(index);
      return r;
    },
    ask(name, type) {
      const o = respond(buildQuery(name, type), zone, { transport: 'tcp', client: '127.0.0.1' });
      if (o.kind !== 'answer') throw new Error(`no answer for ${name} ${type}: ${o.kind}`);
      return decodeReply(o.bytes);
    },
    data(name, type) {
      const r = h.ask(name, type);
      if (r.rcode === 'NXDOMAIN') return undefined;
      if (r.rcode !== 'NOERROR') throw new Error(`${name} ${type}: ${r.rcode}`);
      return r.answers.filter((a) => a.type === type).map((a) => a.data).sort();
    },
  };
  return h;
}

export const net4: IpamCommand = { type: 'createNetwork', name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 };
export const net6: IpamCommand = { type: 'createNetwork', name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80 };
export const dual: IpamCommand = { type: 'createNetwork', name: 'dual', subnet: '10.200.0.0/16', prefix: 24, subnet6: 'fd02::/64', prefix6: 80 };

/** Throws unless the result is ok; returns its value. */
export function ok<T>(r: ApplyResult): T {
  if (!r.ok) throw new Error(`command failed: ${JSON.stringify(r.error)}`);
  return r.value as T;
}
