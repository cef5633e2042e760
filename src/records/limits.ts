// Every limit of src/records in one place, named with its unit (STYLE.md rule 6).
import { assert } from '../../raft/core/assert.js';
import { limits as dnsLimits } from '../../dns/limits.js';
import { limits as ipamLimits } from '../ipam/limits.js';

export const limits = {
  /** RFC 1035 §2.3.4 (and Mesos-DNS's RFC1123 cut). */
  labelCharsMax: dnsLimits.labelBytesMax,
  nameBytesMax: dnsLimits.nameBytesMax,
  /** Task and framework names longer than IPAM accepts are cut before mangling (defence only). */
  nameInputCharsMax: ipamLimits.nameCharsMax,
  /** Records per RRset the zone index accepts: larger RRsets are cut (sorted, first kept). */
  rrsetRecordsMax: dnsLimits.rrsetRecordsMax,
  /** Framework texts whose mangled form builder.ts keeps (cleared when full: clients choose them). */
  frameworksCachedMax: 4096,
} as const;

assert(limits.labelCharsMax === 63, `labels are at most 63 bytes, got ${limits.labelCharsMax}`);
assert(limits.nameBytesMax === 255, `names are at most 255 bytes, got ${limits.nameBytesMax}`);
