// Records synthesised per query rather than stored: SOA and NS of each apex (the serial changes
// with every applied entry, so pre-encoding them per name would mean re-encoding the zone), and
// the RFC 8482 HINFO for ANY. Each is written straight into the answer buffer; names are a label
// plus a compression pointer to the apex, which is a suffix of the question.
import { qclass, qtype } from '../wire/constants.js';
import type { ResolvedZoneConfig } from '../zone.js';

export class Synth {
  private readonly mname: Buffer;
  private readonly rname: Buffer;
  /** Size of the SOA and NS records written by `soa`/`ns`. */
  readonly soaBytes: number;
  readonly nsBytes: number;
  readonly hinfoBytes = 2 + 10 + 9;

  constructor(private readonly config: ResolvedZoneConfig) {
    this.mname = Buffer.from(String.fromCharCode(config.soa.mnameLabel.length) + config.soa.mnameLabel, 'latin1');
    this.rname = Buffer.from(String.fromCharCode(config.soa.rnameLabel.length) + config.soa.rnameLabel, 'latin1');
    this.soaBytes = 2 + 10 + this.mname.length + 2 + this.rname.length + 2 + 20;
    this.nsBytes = 2 + 10 + this.mname.length + 2;
  }

  /** RFC 2308 §5: negative answers are cached for min(SOA TTL, SOA minimum). */
  get negativeTtl(): number {
    return Math.min(this.config.soa.ttlSeconds, this.config.soa.minimumSeconds);
  }

  get soaTtl(): number {
    return this.config.soa.ttlSeconds;
  }

  private rrHeader(out: Buffer, at: number, apexAt: number, type: number, ttl: number, rdlength: number): number {
    out.writeUInt16BE(0xc000 | apexAt, at);
    out.writeUInt16BE(type, at + 2);
    out.writeUInt16BE(qclass.IN, at + 4);
    out.writeUInt32BE(ttl, at + 6);
    out.writeUInt16BE(rdlength, at + 10);
    return at + 12;
  }

  /** Writes the apex SOA (owner at `apexAt`) at `at`; returns the offset after it. */
  soa(out: Buffer, at: number, apexAt: number, ttl: number, serial: number): number {
    let p = this.rrHeader(out, at, apexAt, qtype.SOA, ttl, this.soaBytes - 12);
    p += this.mname.copy(out, p);
    out.writeUInt16BE(0xc000 | apexAt, p);
    p += 2;
    p += this.rname.copy(out, p);
    out.writeUInt16BE(0xc000 | apexAt, p);
    p += 2;
    const s = this.config.soa;
    out.writeUInt32BE(serial, p);
    out.writeUInt32BE(s.refreshSeconds, p + 4);
    out.writeUInt32BE(s.retrySeconds, p + 8);
    out.writeUInt32BE(s.expireSeconds, p + 12);
    out.writeUInt32BE(s.minimumSeconds, p + 16);
    return p + 20;
  }

  /** Writes the apex NS record ("<mname>.<apex>") at `at`. */
  ns(out: Buffer, at: number, apexAt: number): number {
    let p = this.rrHeader(out, at, apexAt, qtype.NS, this.config.ttlSeconds, this.nsBytes - 12);
    p += this.mname.copy(out, p);
    out.writeUInt16BE(0xc000 | apexAt, p);
    return p + 2;
  }

  /** RFC 8482 §4.2: one synthesised HINFO with CPU "RFC8482" and an empty OS. */
  hinfo(out: Buffer, at: number, ownerAt: number): number {
    const p = this.rrHeader(out, at, ownerAt, qtype.HINFO, this.config.ttlSeconds, 9);
    out[p] = 7;
    out.write('RFC8482', p + 1, 'latin1');
    out[p + 8] = 0;
    return p + 9;
  }
}
