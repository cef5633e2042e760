// EDNS options are hop-by-hop (RFC 6891 §6.1.2; cookies, RFC 7873 §5, are between one client and
// one server): a forwarder that passed them through would hand one client's cookie to the
// upstream and, from the cache, the upstream's cookie echo to another client, which then reports a
// cookie mismatch. So options are removed from queries going up and from replies coming down.
import { qtype } from '../wire/constants.js';
import { headerBytes, skipName } from '../wire/query.js';

/**
 * `msg` without the options of its OPT record, when that record is the last one (where every
 * implementation puts it); otherwise `msg` itself. A copy is made only when something is removed.
 * Removing bytes from the last record moves no compression target, so nothing else changes.
 */
export function withoutEdnsOptions(msg: Buffer): Buffer {
  if (msg.length < headerBytes) return msg;
  const total = msg.readUInt16BE(4) + msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  let off = headerBytes;
  for (let i = 0; i < msg.readUInt16BE(4); i++) {
    off = skipName(msg, off);
    if (off < 0 || off + 4 > msg.length) return msg;
    off += 4;
  }
  for (let i = msg.readUInt16BE(4); i < total; i++) {
    const start = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return msg;
    const rdlength = msg.readUInt16BE(off + 8);
    const end = off + 10 + rdlength;
    if (end > msg.length) return msg;
    const last = i === total - 1 && end === msg.length;
    if (last && msg.readUInt16BE(off) === qtype.OPT && off === start + 1 && rdlength > 0) {
      const out = Buffer.from(msg.subarray(0, off + 10));
      out.writeUInt16BE(0, off + 8);
      return out;
    }
    off = end;
  }
  return msg;
}
