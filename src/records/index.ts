// The public surface of src/records (see README.md): the zone index to create, the listener that
// fills it from the IPAM state machine, and the naming functions the HTTP API shows.
export { DnsRecords, type Masters, type RecordsStats } from './builder.js';
export { createRecordsZone, type RecordsZoneIndex } from './zone.js';
export {
  taskDnsNames,
  mangleLabel,
  mangleFramework,
  reverseName,
  hostKinds,
  type HostKind,
  type TaskDnsNames,
} from './naming.js';
export { limits as recordsLimits } from './limits.js';
