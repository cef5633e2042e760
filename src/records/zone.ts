// The zone index src/records fills. DESIGN.md §1 says `<task>.<framework>.containerip.dcos`
// answers "the tasks' container IPs (NODATA if none)": a host-network task's containerip name holds
// no RRset, yet must exist (RFC 8020: NXDOMAIN would tell resolvers the whole name is gone). dns/'s
// index supports that (a derived name without records is NODATA; stored names have
// `setNameExists`), so the records zone is dns/'s MemoryZoneIndex as is.
// These names stay so that the server has one place to create the zone it hands to both sides.
import { createZoneIndex, MemoryZoneIndex } from '../../dns/zone-index.js';
import type { ZoneConfig } from '../../dns/zone.js';

export type RecordsZoneIndex = MemoryZoneIndex;

/** Creates the zone index to hand to both DnsRecords and dns/'s server. Throws DnsError `bad-config`. */
export function createRecordsZone(config: ZoneConfig): RecordsZoneIndex {
  return createZoneIndex(config);
}
